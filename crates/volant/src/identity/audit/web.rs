//! The audit trail for administrators: a filterable page and a CSV export.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::OriginalUri;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use std::collections::HashMap;

use super::Action;
use super::service::{AuditEntry, AuditQuery, list};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::users::service as users;
use crate::platform::error::AppError;
use crate::platform::http::extract::ApiQuery;
use crate::platform::i18n::Locale;
use crate::platform::pagination::{MAX_LIMIT, PageRequest, with_cursor};
use crate::platform::tabular::{CsvDialect, CsvWriter};
use crate::platform::web::{PageCtx, SelectOption, WebResult, options};

pub fn routes() -> Routes {
    vec![("/admin/audit", get(page)), ("/admin/audit.csv", get(export))]
}

/// The page of each kind of record, where it has one (the trail links to it).
const PAGES: &[(&str, &str)] = &[
    ("garage", "/garages/"),
    ("vehicle", "/vehicles/"),
    ("client", "/clients/"),
    ("quote", "/quotes/"),
    ("user", "/admin/users/"),
    ("candidate", "/school/candidates/"),
    ("instructor", "/school/instructors/"),
    ("lesson", "/school/lessons/"),
    ("exam_session", "/school/exams/sessions/"),
];

/// Fields that name a record, in the order they are looked for in its changes.
const NAMING_FIELDS: &[&str] =
    &["license_plate", "number", "name", "display_name", "email", "last_name", "title", "description"];

/// One changed field, as a person reads it.
pub struct ChangeRow {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// A record as the page shows it.
pub struct AuditRow {
    pub when: String,
    /// (user id, name); `None` for the system.
    pub actor: Option<(i64, String)>,
    pub action: String,
    pub kind: String,
    /// What the record was about: its name when the trail holds it, else its number.
    pub subject: String,
    pub href: Option<String>,
    pub changes: Vec<ChangeRow>,
    pub ip: String,
}

/// A value in words: text as written, yes/no, nothing as absent.
fn shown(value: &serde_json::Value, locale: Locale) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(locale.text(if *b { "audit.yes" } else { "audit.no" }).to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            Some(items.iter().filter_map(|i| shown(i, locale)).collect::<Vec<_>>().join(", "))
        }
        other => Some(other.to_string()),
    }
}

/// A label for a code, from the catalogs (`prefix` + code), or the code itself.
fn label(locale: Locale, prefix: &str, code: &str) -> String {
    locale.text_if_any(&format!("{prefix}{code}")).map_or_else(|| code.replace('_', " "), str::to_owned)
}

fn row(e: AuditEntry, names: &HashMap<i64, String>, locale: Locale) -> AuditRow {
    let changes: Vec<(String, serde_json::Value, serde_json::Value)> = match &e.changes {
        Some(serde_json::Value::Object(fields)) => fields
            .iter()
            .map(|(field, pair)| match pair.as_array().map(Vec::as_slice) {
                Some([old, new]) => (field.clone(), old.clone(), new.clone()),
                _ => (field.clone(), serde_json::Value::Null, pair.clone()),
            })
            .collect(),
        _ => Vec::new(),
    };
    let kind = e.entity_type.clone().unwrap_or_default();
    let id = e.entity_id.clone().unwrap_or_default();
    let name = NAMING_FIELDS.iter().find_map(|wanted| {
        changes
            .iter()
            .find(|(field, ..)| field == wanted)
            .and_then(|(_, old, new)| shown(new, locale).or_else(|| shown(old, locale)))
    });
    let subject = match (name, id.is_empty()) {
        (Some(name), _) => name,
        (None, false) => locale.format("audit.number", &[("id", &id)]),
        (None, true) => String::new(),
    };
    let href = PAGES
        .iter()
        .find(|(k, _)| *k == kind)
        .filter(|_| e.action != "delete" && id.parse::<i64>().is_ok())
        .map(|(_, path)| format!("{path}{id}"));
    AuditRow {
        when: locale.local_timestamp(e.occurred_at),
        actor: e.actor_user_id.map(|id| (id, names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")))),
        action: label(locale, "audit.action.", &e.action),
        kind: if kind.is_empty() { String::new() } else { label(locale, "audit.entity.", &kind) },
        subject,
        href,
        changes: changes
            .iter()
            .map(|(field, old, new)| ChangeRow {
                field: label(locale, "audit.field.", field),
                old: shown(old, locale),
                new: shown(new, locale),
            })
            .collect(),
        ip: e.ip.unwrap_or_default(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/audit.html")]
struct AuditPage {
    page: PageCtx,
    query: AuditQuery,
    rows: Vec<AuditRow>,
    next_url: Option<String>,
    csv_url: String,
    /// (parameter, label key, choices) of each drop-down filter.
    filters: Vec<(&'static str, &'static str, Vec<SelectOption>)>,
}

async fn page(
    caller: Caller,
    page: PageCtx,
    ApiQuery(query): ApiQuery<AuditQuery>,
    OriginalUri(uri): OriginalUri,
) -> WebResult<AuditPage> {
    let locale = crate::platform::i18n::current();
    let zone = crate::identity::organizations::service::zone(&caller.db, caller.org).await?;
    let request = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let found = list(&caller.db, caller.org, &query.filter(zone)?, request).await?;
    let next_url = found.next_cursor.as_deref().map(|c| with_cursor(&uri, c));
    let csv_url = format!("/admin/audit.csv?{}", uri.query().unwrap_or_default());
    let mut ids: Vec<i64> = found.items.iter().filter_map(|e| e.actor_user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = users::names_of(&caller.db, caller.org, &ids).await?;
    let rows = found.items.into_iter().map(|e| row(e, &names, locale)).collect();
    let any = page.tr.t("audit.any").to_owned();
    let chosen = |v: &Option<String>| v.clone().unwrap_or_default();
    let actors = options(
        Some(&any),
        &chosen(&query.actor),
        users::choices(&caller.db, caller.org).await?.into_iter().map(|(id, name)| (id.to_string(), name)),
    );
    let kinds = options(
        Some(&any),
        &chosen(&query.entity_type),
        PAGES.iter().map(|(kind, _)| ((*kind).to_owned(), label(locale, "audit.entity.", kind))),
    );
    let actions = options(
        Some(&any),
        &chosen(&query.action),
        Action::ALL.into_iter().map(|a| (a.as_str().to_owned(), label(locale, "audit.action.", a.as_str()))),
    );
    let filters = vec![
        ("actor", "audit.actor", actors),
        ("entity_type", "audit.entity_type", kinds),
        ("action", "audit.action", actions),
    ];
    Ok(AuditPage { page, query, rows, next_url, csv_url, filters })
}

/// Every matching record (newest first), as CSV, a page of the database at a time.
async fn export(caller: Caller, ApiQuery(query): ApiQuery<AuditQuery>) -> WebResult<Response> {
    let zone = crate::identity::organizations::service::zone(&caller.db, caller.org).await?;
    let filter = query.filter(zone)?;
    let mut writer = CsvWriter::new(false, CsvDialect::for_locale(crate::platform::i18n::current()));
    let header = [
        "id",
        "occurred_at",
        "actor_user_id",
        "action",
        "entity_type",
        "entity_id",
        "changes",
        "ip",
        "user_agent",
        "request_id",
    ];
    writer.text_row(header).map_err(csv_error)?;
    let mut request = PageRequest::first(MAX_LIMIT);
    loop {
        let page = list(&caller.db, caller.org, &filter, request).await?;
        for e in page.items {
            writer
                .text_row([
                    e.id.to_string(),
                    e.occurred_at.to_rfc3339(),
                    e.actor_user_id.map(|id| id.to_string()).unwrap_or_default(),
                    e.action,
                    e.entity_type.unwrap_or_default(),
                    e.entity_id.unwrap_or_default(),
                    e.changes.map(|c| c.to_string()).unwrap_or_default(),
                    e.ip.unwrap_or_default(),
                    e.user_agent.unwrap_or_default(),
                    e.request_id.unwrap_or_default(),
                ])
                .map_err(csv_error)?;
        }
        match page.next_cursor {
            Some(cursor) => request = PageRequest::parse(None, Some(&cursor))?.with_limit(MAX_LIMIT),
            None => break,
        }
    }
    let body = writer.into_bytes().map_err(csv_error)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"journal-audit.csv\""),
        ],
        body,
    )
        .into_response())
}

#[allow(clippy::needless_pass_by_value)] // Shaped for `map_err`.
fn csv_error(err: String) -> AppError {
    AppError::Internal(format!("csv: {err}"))
}
