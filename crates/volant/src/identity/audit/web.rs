//! The audit trail for administrators: a filterable page and a CSV export.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::OriginalUri;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::service::{AuditEntry, AuditQuery, list};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::error::AppError;
use crate::platform::http::extract::ApiQuery;
use crate::platform::pagination::{MAX_LIMIT, PageRequest, with_cursor};
use crate::platform::tabular::{CsvDialect, CsvWriter};
use crate::platform::web::{PageCtx, WebResult};

pub fn routes() -> Routes {
    vec![("/admin/audit", get(page)), ("/admin/audit.csv", get(export))]
}

/// A record as the page shows it.
pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub changes: String,
    pub ip: String,
}

impl From<AuditEntry> for AuditRow {
    fn from(e: AuditEntry) -> Self {
        Self {
            when: crate::platform::i18n::current().local_timestamp(e.occurred_at),
            actor: e.actor_user_id.map_or_else(|| "—".to_owned(), |id| format!("#{id}")),
            action: e.action,
            entity: match (e.entity_type, e.entity_id) {
                (Some(kind), Some(id)) => format!("{kind} #{id}"),
                _ => "—".to_owned(),
            },
            changes: e.changes.map(|c| c.to_string()).unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
        }
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
}

async fn page(
    caller: Caller,
    page: PageCtx,
    ApiQuery(query): ApiQuery<AuditQuery>,
    OriginalUri(uri): OriginalUri,
) -> WebResult<AuditPage> {
    let request = PageRequest::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let found = list(&caller.db, caller.org, &query.filter()?, request).await?;
    let next_url = found.next_cursor.as_deref().map(|c| with_cursor(&uri, c));
    let csv_url = format!("/admin/audit.csv?{}", uri.query().unwrap_or_default());
    Ok(AuditPage { page, query, rows: found.items.into_iter().map(AuditRow::from).collect(), next_url, csv_url })
}

/// Every matching record (newest first), as CSV, a page of the database at a time.
async fn export(caller: Caller, ApiQuery(query): ApiQuery<AuditQuery>) -> WebResult<Response> {
    let filter = query.filter()?;
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
