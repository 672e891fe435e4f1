//! List pages: the search (`?q=`), where the page starts (`?cursor=`), the link
//! to the next one, and the fragment an htmx request (a live search, "more")
//! wants instead of the whole page.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::Uri;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::platform::error::{AppError, AppResult};
use crate::platform::pagination::{PageRequest, Sort, SortField, TRAIL, query_without_cursor};
use crate::platform::tenant::{self, OrgId};
use crate::platform::web::options::{SelectOption, options};

/// The page of a list a request asks for (its `cursor`; 50 rows unless the
/// handler says otherwise), the text of its search box, and the address the next
/// page's link is built on.
#[derive(Debug, Clone)]
pub struct Listing {
    pub request: PageRequest,
    /// The search box's text (`?q=`), empty when there is none.
    pub q: String,
    /// The order asked for (`?sort=`), as written.
    sort: String,
    /// This page's cursor as written (empty on the first page)…
    cursor: String,
    /// …and those of the pages before it, the first page's empty (`?back=`).
    trail: Vec<String>,
    uri: Uri,
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
    sort: Option<String>,
    back: Option<String>,
}

/// Most characters of cursors a list's links carry back (text cursors are long:
/// a proxy refuses request lines over a few kilobytes); the oldest go first.
const MAX_TRAIL: usize = 2000;

impl<S: Send + Sync> FromRequestParts<S> for Listing {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(OriginalUri(uri)) = OriginalUri::from_request_parts(parts, state).await;
        let query: ListQuery = serde_urlencoded::from_str(uri.query().unwrap_or_default())
            .map_err(|e| AppError::BadRequest(format!("query string: {e}")))?;
        let request = PageRequest::parse(None, query.cursor.as_deref())?;
        let trail: Vec<String> = match query.back.as_deref() {
            None | Some("") if request.after.is_none() => Vec::new(),
            // Arrived on a later page without its trail: the way back is to the start.
            None => vec![String::new()],
            Some(back) => back.split(',').map(str::to_owned).collect(),
        };
        let (q, sort, cursor) =
            (query.q.unwrap_or_default(), query.sort.unwrap_or_default(), query.cursor.unwrap_or_default());
        Ok(Self { request, q, sort, cursor, trail, uri })
    }
}

impl Listing {
    /// Pages of `limit` rows.
    #[must_use]
    pub fn limit(self, limit: u64) -> Self {
        Self { request: self.request.with_limit(limit), ..self }
    }

    /// The link to the page after this one, when one follows: it remembers the
    /// way back to this one.
    pub fn next_url(&self, next_cursor: Option<&str>) -> Option<String> {
        next_cursor.map(|cursor| {
            let mut trail = self.trail.clone();
            trail.push(self.cursor.clone());
            let mut skip = 0;
            while trail[skip..].iter().map(|c| c.len() + 1).sum::<usize>() > MAX_TRAIL && skip + 1 < trail.len() {
                skip += 1;
            }
            self.page_url(Some(cursor), &trail[skip..])
        })
    }

    /// The link to the page before this one, when this one is not the first.
    pub fn previous_url(&self) -> Option<String> {
        self.request.after?;
        let mut trail = self.trail.clone();
        let previous = trail.pop().unwrap_or_default();
        Some(self.page_url(Some(previous.as_str()).filter(|c| !c.is_empty()), &trail))
    }

    /// This list (its filters and order) at `cursor`, with `trail` as the way back.
    fn page_url(&self, cursor: Option<&str>, trail: &[String]) -> String {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(self.uri.query().unwrap_or_default()).unwrap_or_default();
        pairs.retain(|(key, _)| key != "cursor" && key != TRAIL);
        if let Some(cursor) = cursor {
            pairs.push(("cursor".to_owned(), cursor.to_owned()));
        }
        if !trail.is_empty() {
            pairs.push((TRAIL.to_owned(), trail.join(",")));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() { self.uri.path().to_owned() } else { format!("{}?{query}", self.uri.path()) }
    }

    /// "1 234 au total": how many rows of `E` the organization has.
    pub async fn total<E: tenant::Owned>(&self, db: &impl sea_orm::ConnectionTrait, org: OrgId) -> AppResult<String>
    where
        E::Model: Sync,
    {
        let count = tenant::count::<E>(db, org).await?;
        Ok(Self::total_of(i64::try_from(count).unwrap_or(i64::MAX)))
    }

    /// "1 234 au total", for a total the caller already knows.
    pub fn total_of(count: i64) -> String {
        let shown = crate::platform::money::group_thousands(count);
        crate::platform::i18n::current().format("list.total", &[("count", &shown)])
    }

    /// "12 correspondant(s)": how many rows a filtered list keeps.
    pub fn matching_of(count: u64) -> String {
        let shown = crate::platform::money::group_thousands(i64::try_from(count).unwrap_or(i64::MAX));
        crate::platform::i18n::current().format("list.matching", &[("count", &shown)])
    }

    /// The query string without its cursor: the same filters from the start (for
    /// an export of what the page lists).
    pub fn query_without_cursor(&self) -> String {
        query_without_cursor(&self.uri)
    }

    /// The order the page asked for; `default` when it names none the list has
    /// (a page forgives what the API refuses).
    pub fn sort<F: SortField>(&self, default: Sort<F>) -> Sort<F> {
        Sort::parse(&self.sort).unwrap_or(default)
    }

    /// A sorted list's headings, `columns` as (field, label, whether read highest
    /// or latest first), and its "Sort by" choices as (`sort=` value, label).
    pub fn sorting<F: SortField>(
        &self,
        sort: Sort<F>,
        columns: &[(&str, &str, bool)],
        choices: &[(&str, &str)],
    ) -> Sorting {
        let current = sort.as_param();
        let headers = columns
            .iter()
            .map(|(field, label, descending_first)| {
                ((*field).to_owned(), self.sort_header(&current, field, label, *descending_first))
            })
            .collect();
        let mut choices: Vec<(String, String)> =
            choices.iter().map(|(value, label)| ((*value).to_owned(), (*label).to_owned())).collect();
        // An order reached from a heading but not offered as a choice (a column
        // the other way round) is offered too: the search form keeps it.
        if !choices.iter().any(|(value, _)| *value == current) {
            let field = current.trim_start_matches('-');
            let arrow = if current.starts_with('-') { "↓" } else { "↑" };
            let label = columns.iter().find(|(name, ..)| *name == field).map_or(field, |(_, label, _)| *label);
            choices.push((current.clone(), format!("{label} {arrow}")));
        }
        let choices = options(None, &current, choices);
        Sorting { headers, choices, current }
    }

    /// A column heading that sorts the list by `field` (as `sort=` names it; `-`
    /// before it runs the other way): its link to this list from the start,
    /// filters kept, in the other direction when it is already the sort.
    /// `current` is the list's sort as a parameter; `descending_first` for
    /// columns people read highest or latest first (amounts, dates).
    pub fn sort_header(&self, current: &str, field: &str, label: &str, descending_first: bool) -> SortHeader {
        let descending = format!("-{field}");
        let (next, aria_sort) = if current == field {
            (descending.as_str(), "ascending")
        } else if current == descending {
            (field, "descending")
        } else if descending_first {
            (descending.as_str(), "none")
        } else {
            (field, "none")
        };
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(self.uri.query().unwrap_or_default()).unwrap_or_default();
        pairs.retain(|(key, _)| key != "cursor" && key != "sort" && key != TRAIL);
        pairs.push(("sort".to_owned(), next.to_owned()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        SortHeader { label: label.to_owned(), href: format!("{}?{query}", self.uri.path()), aria_sort }
    }

    /// This page's address, to come back to after a form posted from it.
    pub fn here(&self) -> String {
        self.uri.path_and_query().map_or_else(|| self.uri.path().to_owned(), |p| p.as_str().to_owned())
    }
}

/// The `fragment` alone for an htmx request, the `full` page around it otherwise.
pub fn fragment_or_page<F: IntoResponse, P: IntoResponse>(
    htmx: bool,
    fragment: F,
    full: impl FnOnce(F) -> P,
) -> Response {
    if htmx { fragment.into_response() } else { full(fragment).into_response() }
}

/// A sorted list's headings and its "Sort by" choices: the headings are hidden
/// on a phone, where the choices are the way to sort.
#[derive(Debug, Clone, Default)]
pub struct Sorting {
    headers: Vec<(String, SortHeader)>,
    pub choices: Vec<SelectOption>,
    /// The list's order as `sort=` names it.
    pub current: String,
}

impl Sorting {
    /// The heading of the column sorting by `field`.
    pub fn th(&self, field: &str) -> SortHeader {
        self.headers.iter().find(|(name, _)| name == field).map_or_else(
            || SortHeader { label: field.to_owned(), href: String::new(), aria_sort: "none" },
            |(_, header)| header.clone(),
        )
    }
}

/// A sortable column's heading: `aria-sort` tells screen readers the order.
#[derive(Debug, Clone)]
pub struct SortHeader {
    pub label: String,
    pub href: String,
    /// `ascending`, `descending` or `none`.
    pub aria_sort: &'static str,
}

impl SortHeader {
    /// The arrow shown beside a sorted column's label.
    pub fn arrow(&self) -> &'static str {
        match self.aria_sort {
            "ascending" => "↑",
            "descending" => "↓",
            _ => "",
        }
    }
}
