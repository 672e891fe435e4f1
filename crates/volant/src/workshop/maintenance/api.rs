//! JSON API for maintenance: rules, each vehicle's standing, alerts.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::rules::Rule;
use super::service::{
    self, Alert, AlertAction, AlertFilter, AlertStatus, OwnerReminder, VehicleMaintenance, VehicleRule, Window,
};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id, id_filter};
use crate::platform::http::respond::Paged;
use crate::workshop::history::service::{self as history, ServiceInfo};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_alerts))
        .routes(routes!(act_on_alert))
        .routes(routes!(remind_owners))
        .routes(routes!(organization_rules))
        .routes(routes!(set_organization_rule))
        .routes(routes!(vehicle_maintenance))
        .routes(routes!(vehicle_rules))
        .routes(routes!(set_vehicle_rule, reset_vehicle_rule))
        .routes(routes!(set_service_info))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// `oil_service`, `inspection`, `insurance`, `tyres`, `brakes` or a custom kind.
    pub kind: Option<String>,
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub garage_id: Option<String>,
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub vehicle_id: Option<String>,
    /// `open`, `acknowledged`, `snoozed` or `resolved`; all but resolved by default.
    pub status: Option<String>,
    /// `overdue` or `upcoming` (counted from a service on record), or `to_check`
    /// (never done here: the due point is a guess).
    pub window: Option<String>,
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl AlertsQuery {
    pub fn filter(&self) -> AppResult<AlertFilter> {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let status = match text(&self.status) {
            None => None,
            Some(raw) => Some(
                AlertStatus::parse(&raw)
                    .ok_or_else(|| AppError::invalid_parameter("status", format!("unknown status `{raw}`")))?,
            ),
        };
        let window = match text(&self.window) {
            None => None,
            Some(raw) => Some(
                Window::parse(&raw)
                    .ok_or_else(|| AppError::invalid_parameter("window", format!("unknown window `{raw}`")))?,
            ),
        };
        let kind = text(&self.kind);
        if let Some(kind) = &kind
            && !super::rules::is_kind_code(kind)
        {
            return Err(AppError::invalid_parameter("kind", format!("unknown kind `{}`", kind.escape_debug())));
        }
        Ok(AlertFilter {
            kind,
            garage_id: id_filter("garage_id", self.garage_id.as_deref())?,
            vehicle_ids: id_filter("vehicle_id", self.vehicle_id.as_deref())?.map(|id| vec![id]),
            status,
            window,
        })
    }
}

/// Maintenance alerts (a bare array; `Link: rel="next"` while more remain).
#[utoipa::path(get, path = "/alerts", security(("bearer" = ["workshop.read"])), tag = "maintenance", params(AlertsQuery),
    responses((status = 200, body = [Alert]), (status = 400, body = Problem)))]
async fn list_alerts(caller: Caller, ApiQuery(query): ApiQuery<AlertsQuery>, paged: Paged) -> AppResult<Response> {
    let page = service::list(
        &caller.db,
        caller.org,
        &query.filter()?,
        paged.request.clone(),
        crate::identity::organizations::service::today(&caller.db, caller.org).await?,
    )
    .await?;
    Ok(paged.respond(page))
}

/// Acknowledge, resolve, snooze until a date, or reopen an alert (illegal moves are 409).
#[utoipa::path(post, path = "/alerts/{id}", security(("bearer" = ["workshop.write"])), tag = "maintenance", params(("id" = i64, Path)), request_body = AlertAction,
    responses((status = 200, body = Alert), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn act_on_alert(caller: Caller, Id(id): Id, ApiJson(action): ApiJson<AlertAction>) -> AppResult<Json<Alert>> {
    Ok(Json(service::act(&caller.db, &caller.actor, id, action).await?))
}

/// The alerts whose owners to remind.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct ReminderRequest {
    /// 1 to 200 alert ids; one e-mail per vehicle lists its alerts.
    #[schema(min_items = 1, max_items = 200)]
    pub alert_ids: Vec<i64>,
}

/// E-mail the owners of these alerts' vehicles a maintenance reminder (those with an
/// address who accept service e-mails); says for each alert whether its owner was e-mailed, or why not.
#[utoipa::path(post, path = "/alerts/reminders", security(("bearer" = ["workshop.write"])), tag = "maintenance", request_body = ReminderRequest,
    responses((status = 200, body = [OwnerReminder]), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn remind_owners(
    caller: Caller,
    ApiJson(request): ApiJson<ReminderRequest>,
) -> AppResult<Json<Vec<OwnerReminder>>> {
    if request.alert_ids.is_empty() || request.alert_ids.len() > 200 {
        return Err(AppError::validation("alert_ids", crate::platform::i18n::Msg::new("alerts.choose_some")));
    }
    Ok(Json(service::remind_owners(&caller.db, &caller.actor, &request.alert_ids).await?))
}

/// The organization's maintenance rules (built-in defaults as changed, and custom rules).
#[utoipa::path(get, path = "/maintenance/rules", security(("bearer" = ["workshop.read"])), tag = "maintenance", responses((status = 200, body = [Rule])))]
async fn organization_rules(caller: Caller) -> AppResult<Json<Vec<Rule>>> {
    Ok(Json(service::organization_rules(&caller.db, caller.org).await?))
}

/// Change an organization rule, or add a custom one (`custom_…`).
#[utoipa::path(put, path = "/maintenance/rules/{kind}", security(("bearer" = ["workshop.write"])), tag = "maintenance", params(("kind" = String, Path)), request_body = Rule,
    responses((status = 200, body = Rule), (status = 422, body = Problem)))]
async fn set_organization_rule(
    caller: Caller,
    Path(kind): Path<String>,
    ApiJson(mut rule): ApiJson<Rule>,
) -> AppResult<Json<Rule>> {
    rule.kind = kind;
    Ok(Json(service::set_rule(&caller.db, &caller.actor, None, &rule).await?))
}

/// Where each maintenance rule stands on the vehicle: last done, next due (date, mileage, expected date).
#[utoipa::path(get, path = "/vehicles/{id}/maintenance", security(("bearer" = ["workshop.read"])), tag = "maintenance", params(("id" = i64, Path)),
    responses((status = 200, body = VehicleMaintenance), (status = 404, body = Problem)))]
async fn vehicle_maintenance(caller: Caller, Id(id): Id) -> AppResult<Json<VehicleMaintenance>> {
    Ok(Json(
        service::vehicle_status(
            &caller.db,
            caller.org,
            id,
            crate::identity::organizations::service::today(&caller.db, caller.org).await?,
        )
        .await?,
    ))
}

/// The rules that apply to the vehicle, its overrides marked.
#[utoipa::path(get, path = "/vehicles/{id}/maintenance/rules", security(("bearer" = ["workshop.read"])), tag = "maintenance", params(("id" = i64, Path)),
    responses((status = 200, body = [VehicleRule]), (status = 404, body = Problem)))]
async fn vehicle_rules(caller: Caller, Id(id): Id) -> AppResult<Json<Vec<VehicleRule>>> {
    Ok(Json(service::vehicle_rules(&caller.db, caller.org, id).await?))
}

fn vehicle_and_kind((id, kind): (String, String)) -> AppResult<(i64, String)> {
    let id = id.parse::<i64>().ok().filter(|id| *id > 0).ok_or(AppError::NotFound)?;
    Ok((id, kind))
}

/// Override a rule for this vehicle (e.g. its insurance date, a shorter oil interval).
#[utoipa::path(put, path = "/vehicles/{id}/maintenance/rules/{kind}", security(("bearer" = ["workshop.write"])), tag = "maintenance",
    params(("id" = i64, Path), ("kind" = String, Path)), request_body = Rule,
    responses((status = 200, body = Rule), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_vehicle_rule(
    caller: Caller,
    Path(params): Path<(String, String)>,
    ApiJson(mut rule): ApiJson<Rule>,
) -> AppResult<Json<Rule>> {
    let (id, kind) = vehicle_and_kind(params)?;
    rule.kind = kind;
    Ok(Json(service::set_rule(&caller.db, &caller.actor, Some(id), &rule).await?))
}

/// Remove the vehicle's override: the organization's rule applies again.
#[utoipa::path(delete, path = "/vehicles/{id}/maintenance/rules/{kind}", security(("bearer" = ["workshop.write"])), tag = "maintenance",
    params(("id" = i64, Path), ("kind" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn reset_vehicle_rule(caller: Caller, Path(params): Path<(String, String)>) -> AppResult<StatusCode> {
    let (id, kind) = vehicle_and_kind(params)?;
    service::reset_vehicle_rule(&caller.db, &caller.actor, id, &kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The vehicle's first registration (for the technical inspection) and insurance expiry.
#[utoipa::path(put, path = "/vehicles/{id}/service-info", security(("bearer" = ["workshop.write"])), tag = "maintenance", params(("id" = i64, Path)), request_body = ServiceInfo,
    responses((status = 200, body = ServiceInfo), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_service_info(
    caller: Caller,
    Id(id): Id,
    ApiJson(info): ApiJson<ServiceInfo>,
) -> AppResult<Json<ServiceInfo>> {
    Ok(Json(history::set_service_info(&caller.db, &caller.actor, id, &info).await?))
}
