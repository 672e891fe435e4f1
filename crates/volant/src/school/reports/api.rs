//! JSON API for reports: a report's table now, or its file produced in the background.

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, ReportFile, ReportKind, ReportRequest, TableView};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_data))
        .routes(routes!(list_reports, request_report))
        .routes(routes!(get_report))
        .routes(routes!(download_report))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (default: 1 January of this year).
    pub from: Option<NaiveDate>,
    /// Last day, included (default: today); at most 366 days.
    pub to: Option<NaiveDate>,
}

impl PeriodQuery {
    pub fn period(&self) -> (NaiveDate, NaiveDate) {
        let to = self.to.unwrap_or_else(|| Utc::now().date_naive());
        let from = self.from.unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
        (from, to)
    }
}

/// A report's table: `pass_rates`, `candidate_hours`, `instructor_utilisation`, `vehicle_utilisation` or `revenue`.
#[utoipa::path(get, path = "/school/report-data/{kind}", security(("bearer" = ["school.read"])), tag = "school reports",
    params(("kind" = String, Path), PeriodQuery),
    responses((status = 200, body = TableView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn report_data(
    caller: Caller,
    Path(kind): Path<String>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> AppResult<Json<TableView>> {
    let kind = ReportKind::parse(&kind).ok_or(AppError::NotFound)?;
    let (from, to) = query.period();
    let table = service::build(&caller.replica, caller.org, kind, from, to, crate::platform::i18n::current()).await?;
    Ok(Json(TableView::from(&table)))
}

/// The latest report files (50), newest first.
#[utoipa::path(get, path = "/school/reports", security(("bearer" = ["school.read"])), tag = "school reports",
    responses((status = 200, body = [ReportFile])))]
async fn list_reports(caller: Caller) -> AppResult<Json<Vec<ReportFile>>> {
    Ok(Json(service::list(&caller.db, caller.org).await?))
}

/// Ask for a report file (CSV, XLSX or PDF): 202, produced in the background;
/// its `status` becomes `ready` (or `failed`).
#[utoipa::path(post, path = "/school/reports", security(("bearer" = ["school.write"])), tag = "school reports", request_body = ReportRequest,
    responses((status = 202, body = ReportFile, headers(("Location" = String))), (status = 422, body = Problem)))]
async fn request_report(caller: Caller, ApiJson(input): ApiJson<ReportRequest>) -> AppResult<Response> {
    let file = service::request(&caller.db, &caller.actor, &input).await?;
    let mut response = (StatusCode::ACCEPTED, Json(&file)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("/api/v1/school/reports/{}", file.id)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/school/reports/{id}", security(("bearer" = ["school.read"])), tag = "school reports", params(("id" = i64, Path)),
    responses((status = 200, body = ReportFile), (status = 404, body = Problem)))]
async fn get_report(caller: Caller, Id(id): Id) -> AppResult<Json<ReportFile>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// The report's file once ready (409 `report_not_ready` before, `report_failed` after a failure).
#[utoipa::path(get, path = "/school/reports/{id}/file", security(("bearer" = ["school.read"])), tag = "school reports", params(("id" = i64, Path)),
    responses((status = 200, description = "The file"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn download_report(caller: Caller, Id(id): Id) -> AppResult<Response> {
    let (name, content_type, bytes) = service::download(&caller.db, &caller.files, caller.org, id).await?;
    Ok(crate::platform::http::respond::download(&name, &content_type, bytes))
}
