//! `GET /api/v1/dashboard`: the dashboard's figures as JSON.

use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Dashboard, Period};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiQuery, id_filter};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dashboard))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// First day (`YYYY-MM-DD`); the last twelve months by default.
    #[param(pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`); today by default.
    #[param(pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
    pub to: Option<String>,
    /// Only this garage's vehicles.
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub garage_id: Option<String>,
}

impl DashboardQuery {
    pub fn period(&self, today: NaiveDate) -> AppResult<(Period, Option<i64>)> {
        let date = |name: &str, raw: Option<&str>| -> AppResult<Option<NaiveDate>> {
            match raw.filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(Some).map_err(|_| {
                    AppError::invalid_parameter(name, format!("{name} must be a date such as 2026-01-31"))
                }),
            }
        };
        let default = Period::last_twelve_months(today);
        let from = date("from", self.from.as_deref())?.unwrap_or(default.from);
        let to = date("to", self.to.as_deref())?.unwrap_or(default.to);
        Ok((Period::new(from, to)?, id_filter("garage_id", self.garage_id.as_deref())?))
    }
}

/// KPIs over a period and, optionally, one garage: vehicles per garage, quotes
/// issued/accepted (rate, amount), alerts by kind, month by month figures, top clients.
#[utoipa::path(get, path = "/dashboard", security(("bearer" = ["workshop.read"])), tag = "dashboard", params(DashboardQuery),
    responses((status = 200, body = Dashboard), (status = 404, body = Problem, description = "`garage_id` names no garage of the organization (`not_found`)."), (status = 422, body = Problem)))]
async fn dashboard(caller: Caller, ApiQuery(query): ApiQuery<DashboardQuery>) -> AppResult<Json<Dashboard>> {
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let (period, garage_id) = query.period(today)?;
    Ok(Json(service::compute(&caller.replica, caller.org, period, garage_id, today).await?))
}
