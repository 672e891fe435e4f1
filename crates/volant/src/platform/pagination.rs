//! Keyset pagination: `limit` and an opaque `cursor`, the next page announced
//! in a `Link: <…>; rel="next"` header (RFC 8288). Never OFFSET: a page is
//! "the rows after this key", so concurrent inserts cannot shift or repeat rows.

use axum::http::{HeaderValue, Uri, header};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::platform::error::AppError;
use crate::platform::i18n::Msg;
use crate::platform::proxy::ClientContext;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

/// Where a page starts and how long it is, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    /// Rows strictly after this id…
    pub after: Option<i64>,
    /// …and, for a list sorted by something else than its ids, that row's sort
    /// key (see [`Page::from_rows_keyed`]): a number (a date is its day number)…
    pub after_key: Option<i64>,
    /// …or a text (see [`Page::from_rows_sorted`]).
    pub after_text: Option<String>,
}

impl PageRequest {
    pub fn first(limit: u64) -> Self {
        Self { limit, after: None, after_key: None, after_text: None }
    }

    /// The page after `id`, in id order.
    pub fn after_id(limit: u64, after: Option<i64>) -> Self {
        Self { limit, after, after_key: None, after_text: None }
    }

    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, AppError> {
        // Strict: an empty or spaced `limit` is not a number (the document says integer).
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(raw) => raw.parse::<u64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                AppError::validation("limit", Msg::new("pagination.limit_invalid").arg("max", MAX_LIMIT))
            })?,
        };
        let (after, key) = match cursor.map(str::trim).filter(|s| !s.is_empty()) {
            None => (None, None),
            Some(raw) => {
                let (id, key) = decode_cursor(raw).ok_or_else(cursor_invalid)?;
                (Some(id), key)
            }
        };
        let (after_key, after_text) = match key {
            None => (None, None),
            Some(CursorKey::Number(n)) => (Some(n), None),
            Some(CursorKey::Text(text)) => (None, Some(text)),
        };
        Ok(Self { limit, after, after_key, after_text })
    }

    #[must_use]
    pub fn with_limit(self, limit: u64) -> Self {
        Self { limit, ..self }
    }

    pub fn from_params(params: &PageParams) -> Result<Self, AppError> {
        Self::parse(params.limit.as_deref(), params.cursor.as_deref())
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch_limit(&self) -> u64 {
        self.limit + 1
    }

    /// The page of `query`'s rows after the cursor, in `order` of their `id`
    /// column (a newest-first page goes down from the cursor).
    pub async fn fetch<E: EntityTrait>(
        self,
        db: &impl ConnectionTrait,
        query: Select<E>,
        id: E::Column,
        order: Order,
        id_of: impl Fn(&E::Model) -> i64,
    ) -> Result<Page<E::Model>, AppError> {
        Ok(Page::from_rows(self.keyset(query, id, order).all(db).await?, &self, id_of))
    }

    /// The page of `query`'s rows after the cursor in `sort`'s order.
    pub async fn fetch_sorted<E: EntityTrait, F: SortBy<E>>(
        self,
        db: &impl ConnectionTrait,
        query: Select<E>,
        id: E::Column,
        sort: Sort<F>,
    ) -> Result<Page<E::Model>, AppError> {
        let rows = self.keyset_sorted(query, id, sort.field.key(), sort.direction)?.all(db).await?;
        Ok(Page::from_rows_sorted(rows, &self, |row| sort.field.place(row)))
    }

    /// `query` narrowed to this page: the rows after the cursor in `order` of
    /// their `id` column, one more than the page.
    pub fn keyset<E: EntityTrait>(&self, query: Select<E>, id: E::Column, order: Order) -> Select<E> {
        let query = match self.after {
            Some(cursor) if order == Order::Desc => query.filter(id.lt(cursor)),
            Some(cursor) => query.filter(id.gt(cursor)),
            None => query,
        };
        query.order_by(id, order).limit(self.fetch_limit())
    }

    /// `query` narrowed to this page in the order of a `key` column then `id`,
    /// both in `order`: the rows after the cursor's (key, id). `bound` turns the
    /// cursor's key back into the column's value (a day number into a date); a
    /// cursor without a key, or with one that means nothing, is a 400.
    pub fn keyset_by<E: EntityTrait>(
        &self,
        query: Select<E>,
        columns: (E::Column, E::Column),
        order: Order,
        bound: impl FnOnce(i64) -> Option<sea_orm::Value>,
    ) -> Result<Select<E>, AppError> {
        let value = self.after_key.and_then(bound);
        self.keyset_after(query, columns, order, value)
    }

    /// [`keyset_by`](Self::keyset_by) for a text `key` column, the cursor carrying
    /// the last row's text.
    fn keyset_by_text<E: EntityTrait>(
        &self,
        query: Select<E>,
        columns: (E::Column, E::Column),
        order: Order,
    ) -> Result<Select<E>, AppError> {
        let value = self.after_text.clone().map(Into::into);
        self.keyset_after(query, columns, order, value)
    }

    /// The rows after the cursor's (key `value`, id) in `order` of both columns.
    fn keyset_after<E: EntityTrait>(
        &self,
        query: Select<E>,
        (key, id): (E::Column, E::Column),
        order: Order,
        value: Option<sea_orm::Value>,
    ) -> Result<Select<E>, AppError> {
        let query = match self.after {
            None => query,
            Some(after) => {
                let value = value.ok_or_else(cursor_invalid)?;
                let (beyond, beyond_id) = match order {
                    Order::Desc => (key.lt(value.clone()), id.lt(after)),
                    _ => (key.gt(value.clone()), id.gt(after)),
                };
                let tie = sea_orm::Condition::all().add(key.eq(value)).add(beyond_id);
                query.filter(sea_orm::Condition::any().add(beyond).add(tie))
            }
        };
        Ok(query.order_by(key, order.clone()).order_by(id, order).limit(self.fetch_limit()))
    }

    /// The page of `query`'s rows after the cursor in `sort`'s order: by id, or by
    /// a number, date or text column then id.
    pub fn keyset_sorted<E: EntityTrait>(
        &self,
        query: Select<E>,
        id: E::Column,
        key: SortKey<E::Column>,
        direction: Direction,
    ) -> Result<Select<E>, AppError> {
        let order = direction.order();
        match key {
            SortKey::Id => Ok(self.keyset(query, id, order)),
            SortKey::Number(column) => self.keyset_by(query, (column, id), order, |n| Some(n.into())),
            SortKey::Date(column) => self.keyset_by(query, (column, id), order, date_of_day),
            SortKey::Text(column) => self.keyset_by_text(query, (column, id), order),
        }
    }
}

/// What a sorted list's rows are ordered by before their id.
#[derive(Debug, Clone, Copy)]
pub enum SortKey<C> {
    Id,
    Number(C),
    /// A date column, carried by cursors as its day number.
    Date(C),
    Text(C),
}

/// A row's place in a sorted list, as its page's cursor carries it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum CursorKey {
    Number(i64),
    Text(String),
}

impl CursorKey {
    /// A date as a cursor carries it: its day number.
    pub fn day(date: chrono::NaiveDate) -> Self {
        Self::Number(i64::from(chrono::Datelike::num_days_from_ce(&date)))
    }
}

/// A cursor's day number back into a date.
pub fn date_of_day(day: i64) -> Option<sea_orm::Value> {
    let day = i32::try_from(day).ok()?;
    chrono::NaiveDate::from_num_days_from_ce_opt(day).map(Into::into)
}

/// Which way a sorted list runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

impl Direction {
    pub fn order(self) -> Order {
        match self {
            Self::Ascending => Order::Asc,
            Self::Descending => Order::Desc,
        }
    }
}

/// The fields a list can be sorted by, as `sort=` names them.
pub trait SortField: Copy + Eq + 'static {
    /// Every field with its name (`-name` sorts the other way).
    const ALL: &'static [(&'static str, Self)];
}

/// How a list's sort fields map onto its table.
pub trait SortBy<E: EntityTrait>: SortField {
    /// The column the field sorts by.
    fn key(self) -> SortKey<E::Column>;
    /// A row's id and key, as the next page's cursor carries them (no key for
    /// [`SortKey::Id`]).
    fn place(self, row: &E::Model) -> (i64, Option<CursorKey>);
}

impl<F> Sort<F> {
    /// Compares two rows' places in this order (key, then id), for rows gathered
    /// by several queries and merged.
    pub fn compare(&self, a: &(i64, Option<CursorKey>), b: &(i64, Option<CursorKey>)) -> std::cmp::Ordering {
        let ascending = (&a.1, a.0).cmp(&(&b.1, b.0));
        match self.direction {
            Direction::Ascending => ascending,
            Direction::Descending => ascending.reverse(),
        }
    }
}

/// A list's order: a field and a direction, written `name` or `-name` in `sort=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<F> {
    pub field: F,
    pub direction: Direction,
}

impl<F: SortField> Sort<F> {
    pub fn ascending(field: F) -> Self {
        Self { field, direction: Direction::Ascending }
    }

    /// `name`, `-name`…; `None` for a field the list does not have.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (direction, name) = match raw.strip_prefix('-') {
            Some(name) => (Direction::Descending, name),
            None => (Direction::Ascending, raw),
        };
        F::ALL.iter().find(|(known, _)| *known == name).map(|(_, field)| Self { field: *field, direction })
    }

    /// `sort=` as a query gives it: `default` when absent, a 400 naming the
    /// choices when unknown.
    pub fn from_query(raw: Option<&str>, default: Self) -> Result<Self, AppError> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(raw) => Self::parse(raw).ok_or_else(|| {
                let names: Vec<&str> = F::ALL.iter().map(|(name, _)| *name).collect();
                let message = Msg::new("pagination.sort_invalid").arg("sort", raw).arg("choices", names.join(", "));
                AppError::validation("sort", message)
            }),
        }
    }

    /// As `sort=` names it.
    pub fn as_param(self) -> String {
        let name = F::ALL.iter().find(|(_, field)| *field == self.field).map_or("", |(name, _)| *name);
        match self.direction {
            Direction::Descending => format!("-{name}"),
            Direction::Ascending => name.to_owned(),
        }
    }
}

/// One page of rows and the cursor of the next, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `fetch_limit()` rows ordered by id.
    pub fn from_rows(rows: Vec<T>, request: &PageRequest, id_of: impl Fn(&T) -> i64) -> Self {
        Self::from_rows_sorted(rows, request, |row| (id_of(row), None))
    }

    /// Builds a page from `fetch_limit()` rows in the order of a sort key then id:
    /// the next cursor carries both (`key_of` gives a row's id and key).
    pub fn from_rows_keyed(rows: Vec<T>, request: &PageRequest, key_of: impl Fn(&T) -> (i64, i64)) -> Self {
        Self::from_rows_sorted(rows, request, |row| {
            let (id, key) = key_of(row);
            (id, Some(CursorKey::Number(key)))
        })
    }

    /// Builds a page from `fetch_limit()` rows in a sorted list's order: `key_of`
    /// gives a row's id and its sort key (`None` when the list is in id order).
    pub fn from_rows_sorted(
        mut rows: Vec<T>,
        request: &PageRequest,
        key_of: impl Fn(&T) -> (i64, Option<CursorKey>),
    ) -> Self {
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|row| match key_of(row) {
                (id, None) => encode_cursor(id),
                (id, Some(CursorKey::Number(key))) => format!("k{id}.{key}"),
                (id, Some(CursorKey::Text(text))) => format!("t{id}.{}", hex::encode(text)),
            })
        } else {
            None
        };
        Self { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// Cursors are opaque to clients; they carry the last id seen (`i42`), and for a
/// list sorted by something else, that row's sort key too: a number
/// (`k42.739951`) or a text, hex-encoded (`t42.6d617274696e`).
pub fn encode_cursor(id: i64) -> String {
    format!("i{id}")
}

fn decode_cursor(raw: &str) -> Option<(i64, Option<CursorKey>)> {
    let id = |digits: &str| digits.parse::<i64>().ok().filter(|id| *id >= 0);
    if let Some(digits) = raw.strip_prefix('i') {
        return Some((id(digits)?, None));
    }
    if let Some(rest) = raw.strip_prefix('t') {
        let (digits, key) = rest.split_once('.')?;
        // The text goes into a query: valid UTF-8 without NUL (PostgreSQL refuses it).
        let text = String::from_utf8(hex::decode(key).ok()?).ok().filter(|t| !t.contains('\0'))?;
        return Some((id(digits)?, Some(CursorKey::Text(text))));
    }
    let (digits, key) = raw.strip_prefix('k')?.split_once('.')?;
    Some((id(digits)?, Some(CursorKey::Number(key.parse().ok()?))))
}

/// The query parameter of a list page holding the cursors of the pages before it
/// (`,`-separated, empty for the first page): its way back, page by page.
pub const TRAIL: &str = "back";

/// The same URL with `cursor` set, keeping every other query parameter.
pub fn with_cursor(uri: &Uri, cursor: &str) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    pairs.retain(|(key, _)| key != "cursor");
    pairs.push(("cursor".to_owned(), cursor.to_owned()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{}?{query}", uri.path())
}

/// The request's query string without its cursor (nor the pages' trail back): the
/// same filters, from the start (for a link to an export of what the page lists).
pub fn query_without_cursor(uri: &Uri) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    pairs.retain(|(key, _)| key != "cursor" && key != TRAIL);
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// `Link: <absolute URL>; rel="next"` when another page follows. The URL is absolute
/// (the scheme and host the client asked for, as trusted proxies tell) so a front end
/// served elsewhere can follow it.
pub fn link_header(
    client: &ClientContext,
    uri: &Uri,
    next_cursor: Option<&str>,
) -> Option<(header::HeaderName, HeaderValue)> {
    let cursor = next_cursor?;
    let host = client.host.as_deref().unwrap_or("localhost");
    let value = format!("<{}://{host}{}>; rel=\"next\"", client.scheme(), with_cursor(uri, cursor));
    HeaderValue::from_str(&value).ok().map(|v| (header::LINK, v))
}

/// A cursor that is not one of ours (typed by hand, or cut short).
fn cursor_invalid() -> AppError {
    AppError::validation("cursor", Msg::new("pagination.cursor_invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors_are_validated() {
        assert_eq!(PageRequest::parse(None, None).ok(), Some(PageRequest::first(50)));
        assert_eq!(PageRequest::parse(Some("200"), Some("i42")).ok(), Some(PageRequest::after_id(200, Some(42))));
        let keyed = PageRequest::parse(None, Some("k42.-739951")).expect("keyed cursor");
        assert_eq!((keyed.after, keyed.after_key), (Some(42), Some(-739_951)));
        for bad in ["0", "201", "-1", "abc"] {
            assert!(PageRequest::parse(Some(bad), None).is_err(), "{bad}");
        }
        let texted = PageRequest::parse(None, Some("t7.c3a96d696c65")).expect("text cursor");
        assert_eq!((texted.after, texted.after_text.as_deref()), (Some(7), Some("émile")));
        for bad in
            ["42", "i", "i-3", "ix", "k", "k42", "k42.", "kx.739951", "k42.2026-12-01", "t7.zz", "t7.ff", "t7.00"]
        {
            assert!(PageRequest::parse(None, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn with_cursor_replaces_only_the_cursor() {
        let uri: Uri = "/api/v1/vehicles?q=clio&cursor=i3&limit=2".parse().expect("uri");
        assert_eq!(with_cursor(&uri, "i9"), "/api/v1/vehicles?q=clio&limit=2&cursor=i9");
    }

    #[test]
    fn page_knows_whether_more_rows_follow() {
        let request = PageRequest::first(2);
        let page = Page::from_rows(vec![1_i64, 2, 3], &request, |id| *id);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("i2"));
        let last = Page::from_rows(vec![1_i64, 2], &request, |id| *id);
        assert_eq!(last.next_cursor, None);
        let keyed = Page::from_rows_keyed(vec![(5_i64, 1_i64), (3, 2), (9, 2)], &request, |row| *row);
        assert_eq!(keyed.next_cursor.as_deref(), Some("k3.2"));
        let texted = Page::from_rows_sorted(vec![(5_i64, "b"), (3, "é"), (9, "z")], &request, |row| {
            (row.0, Some(CursorKey::Text(row.1.to_owned())))
        });
        assert_eq!(texted.next_cursor.as_deref(), Some("t3.c3a9"));
    }
}
