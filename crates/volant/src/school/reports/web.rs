//! The reports page (staff): a report's table with its chart, and files asked
//! for in the background, downloadable when ready.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;

use super::service::{self as reports, FileFormat, ReportKind, ReportRequest, ReportStatus};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::charts;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n;
use crate::platform::web::SelectOption;
use crate::platform::web::refusal_to_flash;
use crate::platform::web::{PageCtx, WebResult, redirect_with_flash};

pub fn routes() -> Routes {
    vec![
        ("/school/reports", get(index)),
        ("/school/reports/files", post(request_file)),
        ("/school/reports/files/{id}", get(download)),
    ]
}

#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: i64,
    pub label: String,
    pub status: String,
    pub ready: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/reports/index.html")]
struct ReportsPage {
    page: PageCtx,
    kinds: Vec<SelectOption>,
    kind: String,
    from: String,
    to: String,
    headings: Vec<String>,
    rows: Vec<Vec<String>>,
    chart: String,
    files: Vec<FileRow>,
}

#[derive(Debug, Default, Deserialize)]
struct ReportQuery {
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn period(from: Option<&str>, to: Option<&str>) -> (NaiveDate, NaiveDate) {
    let to = to.and_then(|t| t.parse().ok()).unwrap_or_else(|| Utc::now().date_naive());
    let from =
        from.and_then(|f| f.parse().ok()).unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    (from, to)
}

async fn index(caller: Caller, page: PageCtx, ApiQuery(query): ApiQuery<ReportQuery>) -> WebResult<ReportsPage> {
    let tr = page.tr;
    let kind = query.kind.as_deref().and_then(ReportKind::parse).unwrap_or(ReportKind::PassRates);
    let (from, to) = period(query.from.as_deref(), query.to.as_deref());
    let table = reports::build(&caller.db, caller.org, kind, from, to, i18n::current()).await?;
    let chart_labels: Vec<String> = table.chart.iter().map(|(l, _)| l.clone()).collect();
    let chart_values: Vec<i64> = table.chart.iter().map(|(_, v)| *v).collect();
    let chart = if table.chart.is_empty() {
        String::new()
    } else {
        let money = kind == ReportKind::Revenue;
        charts::bars(tr.t(kind.label_key()), &chart_labels, &[(tr.t(kind.label_key()), chart_values)], move |v| {
            if money {
                format!("{},{:02}", v / 100, v % 100)
            } else if matches!(kind, ReportKind::CandidateHours | ReportKind::MonthlyHours) {
                format!("{v} h")
            } else {
                format!("{v} %")
            }
        })
    };
    let rows =
        table.rows.iter().map(|r| r.iter().map(|c| reports::display_cell(c, i18n::current())).collect()).collect();
    let kinds = ReportKind::ALL
        .into_iter()
        .map(|k| SelectOption {
            value: k.as_str().to_owned(),
            label: tr.t(k.label_key()).to_owned(),
            selected: k == kind,
        })
        .collect();
    let files = reports::list(&caller.db, caller.org)
        .await?
        .into_iter()
        .map(|f| FileRow {
            id: f.id,
            label: format!(
                "{} · {} → {} · {}",
                tr.t(f.kind.label_key()),
                i18n::date(f.from),
                i18n::date(f.to),
                f.format.as_str().to_uppercase()
            ),
            ready: f.status == ReportStatus::Ready,
            status: tr.t(f.status.label_key()).to_owned(),
        })
        .collect();
    Ok(ReportsPage {
        page,
        kinds,
        kind: kind.as_str().to_owned(),
        from: from.to_string(),
        to: to.to_string(),
        headings: table.headings,
        rows,
        chart,
        files,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileForm {
    kind: String,
    format: String,
    from: String,
    to: String,
}

async fn request_file(caller: Caller, FormBody(form): FormBody<FileForm>) -> WebResult<Response> {
    let (from, to) = period(Some(&form.from), Some(&form.to));
    let input = ReportRequest {
        kind: ReportKind::parse(&form.kind),
        format: FileFormat::parse(&form.format),
        from: Some(from),
        to: Some(to),
    };
    let kind = ReportKind::parse(&form.kind).unwrap_or(ReportKind::PassRates);
    let back = format!("/school/reports?kind={}&from={from}&to={to}", kind.as_str());
    match reports::request(&caller.db, &caller.actor, &input).await {
        Ok(_) => Ok(redirect_with_flash(&back, "success", i18n::current().text("report.requested"))),
        Err(err) => refusal_to_flash(&back, err),
    }
}

async fn download(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let (name, content_type, bytes) = reports::download(&caller.db, &caller.files, caller.org, id).await?;
    Ok(crate::platform::http::respond::download(&name, &content_type, bytes))
}
