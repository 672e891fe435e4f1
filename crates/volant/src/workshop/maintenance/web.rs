//! Maintenance pages (French UI): the alerts list with its filters and actions,
//! a vehicle's maintenance (rules, readings, history, service information), and
//! the organization's rules.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;

use super::rules::{Rule, Urgency};
use super::service::{self, AlertAction, AlertStatus};
use crate::fleet::garages::service as garages;
use crate::fleet::vehicles::service as vehicles;
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::{AppError, AppResult};
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Tr};
use crate::platform::money::group_thousands;
use crate::platform::pagination::PageRequest;
use crate::platform::web::{
    FormErrors, Listing, PageCtx, SelectOption, WebResult, options, redirect_with_flash, refusal_to_flash,
};
use crate::workshop::history::service::{self as history, ServiceInfo};
use crate::workshop::maintenance::api::AlertsQuery;

pub fn routes() -> Routes {
    vec![
        ("/alerts", get(index)),
        ("/alerts/{id}", post(act)),
        ("/alerts/bulk", post(act_on_many)),
        ("/vehicles/{id}/maintenance", get(vehicle_page)),
        ("/vehicles/{id}/summary", get(vehicle_summary)),
        ("/vehicles/{id}/service-info", post(save_service_info)),
        ("/vehicles/{id}/maintenance/rules", post(save_vehicle_rule)),
        ("/vehicles/{id}/maintenance/rules/reset", post(reset_vehicle_rule)),
    ]
}

/// The rules page is a form: only for those who may change the rules.
pub fn form_routes() -> Routes {
    vec![("/maintenance/rules", get(rules_page).post(save_rule))]
}

/// A kind's name: the organization's rule name, else the kind itself.
fn kind_names(rules: &[Rule]) -> HashMap<String, String> {
    rules.iter().map(|r| (r.kind.clone(), r.name.clone())).collect()
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(i18n::date).unwrap_or_default()
}

fn km(k: Option<i64>) -> String {
    k.map(|k| format!("{} km", group_thousands(k))).unwrap_or_default()
}

/// An alert as the list shows it.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub id: i64,
    pub vehicle_id: i64,
    pub plate: String,
    pub garage: String,
    pub name: String,
    pub due_on: String,
    pub due_km: String,
    pub overdue: bool,
    /// Never done here: a guess to check with the owner, not "overdue".
    pub to_check: bool,
    pub owner: Option<OwnerCell>,
    pub status: &'static str,
    pub status_label: String,
    pub open: bool,
    pub resolved: bool,
}

/// Who to call about an alert's vehicle.
#[derive(Debug, Clone)]
pub struct OwnerCell {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
}

/// Rows for alerts: their vehicles, garages and owners in a query or two each.
pub async fn alert_rows(caller: &Caller, alerts: Vec<service::Alert>, tr: Tr) -> AppResult<Vec<AlertRow>> {
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let names = kind_names(&service::organization_rules(&caller.db, caller.org).await?);
    let ids: Vec<i64> = alerts.iter().map(|a| a.vehicle_id).collect();
    let found: HashMap<i64, vehicles::Vehicle> =
        vehicles::get_many(&caller.db, caller.org, &ids).await?.into_iter().map(|v| (v.id, v)).collect();
    let garage_names = garages::names(&caller.db, caller.org, found.values().map(|v| v.garage_id).collect()).await?;
    let owners = crate::workshop::clients::service::current_owners(&caller.db, caller.org, &ids).await?;
    Ok(alerts
        .into_iter()
        .map(|a| {
            let vehicle = found.get(&a.vehicle_id);
            AlertRow {
                id: a.id,
                vehicle_id: a.vehicle_id,
                plate: vehicle.map(|v| v.license_plate.clone()).unwrap_or_default(),
                garage: vehicle.and_then(|v| garage_names.get(&v.garage_id).cloned()).unwrap_or_default(),
                name: names.get(&a.kind).cloned().unwrap_or_else(|| a.kind.clone()),
                due_on: date(a.due_on),
                due_km: km(a.due_km),
                overdue: !a.to_check && a.due_on.is_some_and(|d| d <= today),
                to_check: a.to_check,
                owner: owners.get(&a.vehicle_id).map(|c| OwnerCell {
                    id: c.id,
                    name: c.display_name().to_owned(),
                    phone: c.phone.clone(),
                }),
                status: a.status.as_str(),
                status_label: tr.t(a.status.label_key()).to_owned(),
                open: matches!(a.status, AlertStatus::Open | AlertStatus::Snoozed),
                resolved: a.status == AlertStatus::Resolved,
            }
        })
        .collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/maintenance/alerts.html")]
struct AlertsPage {
    page: PageCtx,
    /// (parameter, label key, options) of each filter.
    filters: Vec<(&'static str, &'static str, Vec<SelectOption>)>,
    alerts: Vec<AlertRow>,
    next_url: Option<String>,
    previous_url: Option<String>,
    snooze_default: String,
    back: String,
    export_query: String,
    /// The alerts page: owners shown, rows selectable for bulk actions.
    alerts_page: bool,
}

async fn index(
    caller: Caller,
    page: PageCtx,
    ApiQuery(query): ApiQuery<AlertsQuery>,
    listing: Listing,
) -> WebResult<AlertsPage> {
    let filter = query.filter()?;
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let found = service::list(&caller.db, caller.org, &filter, listing.request.clone(), today).await?;
    let next_url = listing.next_url(found.next_cursor.as_deref());
    let alerts = alert_rows(&caller, found.items, page.tr).await?;
    let rules = service::organization_rules(&caller.db, caller.org).await?;
    let all = page.tr.t("alerts.all").to_owned();
    let kind = query.kind.clone().unwrap_or_default();
    let kinds = options(Some(&all), &kind, rules.into_iter().map(|r| (r.kind, r.name)));
    let garage = query.garage_id.clone().unwrap_or_default();
    let garages = options(
        Some(&all),
        &garage,
        garages::choices(&caller.db, caller.org).await?.into_iter().map(|(id, name)| (id.to_string(), name)),
    );
    let status = query.status.clone().unwrap_or_default();
    let statuses = options(
        Some(page.tr.t("alerts.not_resolved")),
        &status,
        AlertStatus::ALL.into_iter().map(|s| (s.as_str().to_owned(), page.tr.t(s.label_key()).to_owned())),
    );
    let window = query.window.clone().unwrap_or_default();
    let windows = options(
        Some(&all),
        &window,
        [("overdue", "alerts.overdue"), ("upcoming", "alerts.upcoming"), ("to_check", "alerts.to_check")]
            .into_iter()
            .map(|(v, k)| (v.to_owned(), page.tr.t(k).to_owned())),
    );
    let snooze_default = today.checked_add_days(chrono::Days::new(14)).unwrap_or(today).to_string();
    let back = listing.here();
    let filters = vec![
        ("kind", "alerts.kind", kinds),
        ("garage_id", "vehicle.garage", garages),
        ("status", "quote.status", statuses),
        ("window", "alerts.window", windows),
    ];
    let export_query = listing.query_without_cursor();
    let previous_url = listing.previous_url();
    Ok(AlertsPage {
        page,
        filters,
        alerts,
        next_url,
        previous_url,
        snooze_default,
        back,
        export_query,
        alerts_page: true,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActForm {
    action: String,
    until: String,
    back: String,
}

async fn act(caller: Caller, Id(id): Id, FormBody(form): FormBody<ActForm>) -> WebResult<Response> {
    // Only this site's own pages are places to come back to.
    let back = crate::platform::web::safe_redirect_target(&form.back).unwrap_or("/alerts").to_owned();
    let action = match form.action.as_str() {
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        "reopen" => AlertAction::Reopen,
        "snooze" => match NaiveDate::parse_from_str(form.until.trim(), "%Y-%m-%d") {
            Ok(until) => AlertAction::Snooze { until },
            Err(_) => return Ok(redirect_with_flash(&back, "error", i18n::current().text("alert.snooze_past"))),
        },
        _ => return Err(AppError::BadRequest("unknown action".to_owned()).into()),
    };
    match service::act(&caller.db, &caller.actor, id, action).await {
        Ok(_) => Ok(redirect_with_flash(&back, "success", i18n::current().text("alerts.updated"))),
        Err(err) => refusal_to_flash(&back, err),
    }
}

/// What the alerts page does to the alerts ticked.
async fn act_on_many(caller: Caller, FormBody(pairs): FormBody<Vec<(String, String)>>) -> WebResult<Response> {
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or_default();
    let back = crate::platform::web::safe_redirect_target(field("back")).unwrap_or("/alerts").to_owned();
    let locale = i18n::current();
    let mut ids: Vec<i64> =
        pairs.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| v.trim().parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(redirect_with_flash(&back, "error", locale.text("alerts.choose_some")));
    }
    if ids.len() > 200 {
        return Err(AppError::BadRequest("at most 200 alerts at once".to_owned()).into());
    }
    // All or none: an id that is not one of ours refuses the whole action before any change.
    service::ensure_all_exist(&caller.db, caller.org, &ids).await?;
    let action = match field("action") {
        "remind" => return remind(&caller, &ids, &back).await,
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        "snooze" => match NaiveDate::parse_from_str(field("until"), "%Y-%m-%d") {
            Ok(until) => AlertAction::Snooze { until },
            Err(_) => return Ok(redirect_with_flash(&back, "error", locale.text("alert.snooze_past"))),
        },
        _ => return Err(AppError::BadRequest("unknown action".to_owned()).into()),
    };
    // Each alert moves on its own: one already in the wanted state is counted apart.
    let (mut done, mut refused) = (0, 0);
    for id in ids {
        match service::act(&caller.db, &caller.actor, id, action).await {
            Ok(_) => done += 1,
            Err(AppError::Conflict { .. }) => refused += 1,
            Err(err @ AppError::Validation(_)) => return refusal_to_flash(&back, err),
            Err(err) => return Err(err.into()),
        }
    }
    let mut message = locale.format("alerts.bulk_done", &[("count", &done.to_string())]);
    if refused > 0 {
        message.push(' ');
        message.push_str(&locale.format("alerts.bulk_refused", &[("count", &refused.to_string())]));
    }
    Ok(redirect_with_flash(&back, if refused > 0 { "warning" } else { "success" }, &message))
}

/// Reminders to the owners of the alerts ticked, and what became of them, in words.
async fn remind(caller: &Caller, ids: &[i64], back: &str) -> WebResult<Response> {
    let locale = i18n::current();
    let outcome = match service::remind_owners(&caller.db, &caller.actor, ids).await {
        Ok(outcome) => outcome,
        Err(err) => return refusal_to_flash(back, err),
    };
    // One e-mail per vehicle: count owners, not alerts.
    let mut emailed: Vec<i64> = outcome.iter().filter(|r| r.emailed).map(|r| r.vehicle_id).collect();
    emailed.sort_unstable();
    emailed.dedup();
    let delivers = crate::notify::mail_settings::delivers_email(&caller.db, &caller.config.notify, caller.org).await?;
    // Without a sending server the e-mails are saved, not sent: said so from the first word.
    let said = if delivers || emailed.is_empty() { "alerts.reminded" } else { "alerts.reminded_saved" };
    let mut parts = vec![locale.format(said, &[("count", &emailed.len().to_string())])];
    for skip in service::ReminderSkip::ALL {
        let mut vehicles: Vec<i64> = outcome.iter().filter(|r| r.skipped == Some(skip)).map(|r| r.vehicle_id).collect();
        vehicles.sort_unstable();
        vehicles.dedup();
        if !vehicles.is_empty() {
            parts.push(locale.format(skip.label_key(), &[("count", &vehicles.len().to_string())]));
        }
    }
    if !emailed.is_empty() && !delivers {
        parts.push(locale.text("alerts.reminders_saved").to_owned());
    }
    let kind = if emailed.is_empty() || !delivers { "warning" } else { "success" };
    Ok(redirect_with_flash(back, kind, &parts.join(" ")))
}

/// A rule's standing as the vehicle page shows it.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub name: String,
    pub last_done: String,
    pub due_on: String,
    pub due_km: String,
    pub expected_on: String,
    pub urgency: &'static str,
    pub urgency_label: String,
}

#[derive(Debug, Clone)]
pub struct ReadingRow {
    pub read_on: String,
    pub km: String,
    pub correction: bool,
}

#[derive(Debug, Clone)]
pub struct InterventionRow {
    pub performed_on: String,
    pub mileage: String,
    pub description: String,
    pub technician: String,
    pub services: String,
    pub total: String,
    pub quote_id: Option<i64>,
    pub id: i64,
    /// Under way: the vehicle is in the workshop.
    pub in_progress: bool,
    /// Completed, priced and with a client: billing can invoice it.
    pub invoiceable: bool,
}

/// Interventions as the pages list them.
pub fn intervention_rows(items: Vec<history::Intervention>, names: &HashMap<String, String>) -> Vec<InterventionRow> {
    items
        .into_iter()
        .map(|i| InterventionRow {
            performed_on: i18n::date(i.performed_on),
            mileage: km(i.mileage_km),
            technician: i.technician.clone().unwrap_or_default(),
            services: i
                .services
                .iter()
                .map(|s| names.get(s).cloned().unwrap_or_else(|| s.clone()))
                .collect::<Vec<_>>()
                .join(", "),
            // Work recorded without its lines (parts and labour) has no amount to show, not 0,00 €.
            total: if i.lines.is_empty() { "—".to_owned() } else { i.currency.format(i.total_excl_tax) },
            quote_id: i.quote_id,
            id: i.id,
            in_progress: i.in_progress,
            invoiceable: !i.in_progress && !i.lines.is_empty() && i.client_id.is_some(),
            description: i.description,
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/maintenance/vehicle.html")]
pub struct VehiclePage {
    page: PageCtx,
    vehicle: vehicles::Vehicle,
    owner: Option<(i64, String)>,
    current_km: String,
    km_per_day: String,
    first_registration: String,
    insurance_expiry: String,
    rules: Vec<RuleRow>,
    /// The rules as they apply to this vehicle, for its override forms.
    own_rules: Vec<service::VehicleRule>,
    readings: Vec<ReadingRow>,
    interventions: Vec<InterventionRow>,
    alerts: Vec<AlertRow>,
    /// Shared alerts table: the owner is on this page, no bulk selection here.
    alerts_page: bool,
    /// The vehicle's latest quotes.
    quotes: Vec<crate::workshop::quotes::web::QuoteRow>,
    /// The shared quotes table's sortable headings (none here: a short list).
    sorting: Option<crate::workshop::quotes::web::QuoteSorting>,
    today: String,
    snooze_default: String,
    back: String,
    errors: FormErrors,
}

pub async fn vehicle_page_for(caller: &Caller, page: PageCtx, id: i64, errors: FormErrors) -> AppResult<VehiclePage> {
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let vehicle = vehicles::get(&caller.db, caller.org, id).await?;
    let status = service::vehicle_status(&caller.db, caller.org, id, today).await?;
    let owner = crate::workshop::clients::service::current_owner(&caller.db, caller.org, id)
        .await?
        .map(|c| (c.id, c.display_name().to_owned()));
    let rules = status
        .rules
        .iter()
        .map(|r| {
            let urgency = r.urgency.unwrap_or(Urgency::Later);
            let (code, key) = match (r.next.is_some(), urgency) {
                (false, _) => ("unknown", "maintenance.urgency.unknown"),
                (true, Urgency::Overdue) => ("overdue", "maintenance.urgency.overdue"),
                (true, Urgency::Upcoming) => ("upcoming", "maintenance.urgency.upcoming"),
                (true, Urgency::Later) => ("later", "maintenance.urgency.later"),
            };
            RuleRow {
                name: r.name.clone(),
                last_done: match (r.last_done_on, r.last_done_km) {
                    (Some(on), Some(k)) => format!("{} · {}", date(Some(on)), km(Some(k))),
                    (Some(on), None) => date(Some(on)),
                    _ => page.tr.t("maintenance.never").to_owned(),
                },
                due_on: date(r.next.as_ref().and_then(|d| d.due_on)),
                due_km: km(r.next.as_ref().and_then(|d| d.due_km)),
                expected_on: date(r.next.as_ref().and_then(|d| d.expected_on)),
                urgency: code,
                urgency_label: page.tr.t(key).to_owned(),
            }
        })
        .collect();
    let readings = history::readings(&caller.db, caller.org, id)
        .await?
        .into_iter()
        .rev()
        .take(20)
        .map(|r| ReadingRow { read_on: date(Some(r.read_on)), km: km(Some(r.mileage_km)), correction: r.is_correction })
        .collect();
    let names = kind_names(&service::organization_rules(&caller.db, caller.org).await?);
    let interventions = intervention_rows(history::of_vehicle(&caller.db, caller.org, id).await?, &names);
    let own_rules = service::vehicle_rules(&caller.db, caller.org, id).await?;
    let filter = service::AlertFilter { vehicle_ids: Some(vec![id]), ..Default::default() };
    let open = service::list(&caller.db, caller.org, &filter, PageRequest::first(50), today).await?;
    let alerts = alert_rows(caller, open.items, page.tr).await?;
    let filter = crate::workshop::quotes::service::QuoteFilter { vehicle_id: Some(id), ..Default::default() };
    let quoted =
        crate::workshop::quotes::service::list(&caller.db, caller.org, &filter, PageRequest::first(10)).await?;
    let quotes = crate::workshop::quotes::web::quote_rows(&caller.db, caller.org, quoted.items).await?;
    Ok(VehiclePage {
        current_km: km(status.current_km),
        km_per_day: status.km_per_day.map(|k| format!("{k} km")).unwrap_or_default(),
        first_registration: status.first_registration.map(|d| d.to_string()).unwrap_or_default(),
        insurance_expiry: status.insurance_expiry.map(|d| d.to_string()).unwrap_or_default(),
        page,
        vehicle,
        owner,
        rules,
        own_rules,
        readings,
        interventions,
        alerts,
        alerts_page: false,
        quotes,
        sorting: None,
        today: today.to_string(),
        snooze_default: today.checked_add_days(chrono::Days::new(14)).unwrap_or(today).to_string(),
        back: format!("/vehicles/{id}/maintenance"),
        errors,
    })
}

async fn vehicle_page(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<VehiclePage> {
    Ok(vehicle_page_for(&caller, page, id, FormErrors::default()).await?)
}

/// What the workshop knows of a vehicle, at a glance on the vehicle's own page
/// (loaded into it; the fleet's page knows nothing of clients or alerts).
#[derive(Template, WebTemplate)]
#[template(path = "workshop/maintenance/summary.html")]
struct VehicleSummary {
    page: PageCtx,
    id: i64,
    owner: Option<(i64, String)>,
    /// Open alerts, the most urgent first (a few).
    alerts: Vec<AlertRow>,
    more_alerts: bool,
    last_service: Option<InterventionRow>,
}

/// Alerts the vehicle's page lists before pointing to the rest.
const SUMMARY_ALERTS: u64 = 3;

async fn vehicle_summary(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<VehicleSummary> {
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    vehicles::get(&caller.db, caller.org, id).await?;
    let owner = crate::workshop::clients::service::current_owner(&caller.db, caller.org, id)
        .await?
        .map(|c| (c.id, c.display_name().to_owned()));
    let filter = service::AlertFilter { vehicle_ids: Some(vec![id]), ..Default::default() };
    let open = service::list(&caller.db, caller.org, &filter, PageRequest::first(SUMMARY_ALERTS), today).await?;
    let more_alerts = open.next_cursor.is_some();
    let alerts = alert_rows(&caller, open.items, page.tr).await?;
    let names = kind_names(&service::organization_rules(&caller.db, caller.org).await?);
    let last = history::of_vehicle(&caller.db, caller.org, id).await?.into_iter().next();
    let last_service = intervention_rows(last.into_iter().collect(), &names).into_iter().next();
    Ok(VehicleSummary { page, id, owner, alerts, more_alerts, last_service })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InfoForm {
    first_registration: String,
    insurance_expiry: String,
}

async fn save_service_info(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<InfoForm>,
) -> WebResult<Response> {
    let mut errors = FormErrors::default();
    let mut parse = |field: &str, raw: &str| -> Option<NaiveDate> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().or_else(|| {
            errors.add(field, i18n::current().text("quote.date_invalid").to_owned());
            None
        })
    };
    let info = ServiceInfo {
        first_registration: parse("first_registration", &form.first_registration),
        insurance_expiry: parse("insurance_expiry", &form.insurance_expiry),
    };
    let result = if errors.is_empty() {
        history::set_service_info(&caller.db, &caller.actor, id, &info).await.map(|_| ())
    } else {
        Ok(())
    };
    if let Err(err) = result {
        errors = FormErrors::from_app_error(err)?;
    }
    if errors.is_empty() {
        return Ok(redirect_with_flash(
            &format!("/vehicles/{id}/maintenance"),
            "success",
            i18n::current().text("maintenance.info_saved"),
        ));
    }
    Ok(crate::platform::web::unprocessable(vehicle_page_for(&caller, page, id, errors).await?))
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/maintenance/rules.html")]
struct RulesPage {
    page: PageCtx,
    rules: Vec<Rule>,
}

async fn rules_page(caller: Caller, page: PageCtx) -> WebResult<RulesPage> {
    Ok(RulesPage { page, rules: service::organization_rules(&caller.db, caller.org).await? })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RuleForm {
    kind: String,
    name: String,
    interval_km: String,
    interval_months: String,
    first_after_months: String,
    due_on: String,
    due_km: String,
    active: Option<String>,
}

impl RuleForm {
    fn rule(&self) -> Rule {
        let number = |raw: &str| raw.trim().replace([' ', '\u{202f}'], "").parse::<i64>().ok();
        let months = |raw: &str| number(raw).and_then(|n| i32::try_from(n).ok());
        Rule {
            kind: self.kind.trim().to_owned(),
            name: self.name.clone(),
            interval_km: number(&self.interval_km),
            interval_months: months(&self.interval_months),
            first_after_months: months(&self.first_after_months),
            due_on: NaiveDate::parse_from_str(self.due_on.trim(), "%Y-%m-%d").ok(),
            due_km: number(&self.due_km),
            active: self.active.is_some(),
        }
    }
}

/// Saves a rule (the organization's, or a vehicle's override) and comes back to `back`.
async fn store_rule(caller: &Caller, vehicle_id: Option<i64>, form: &RuleForm, back: &str) -> WebResult<Response> {
    match service::set_rule(&caller.db, &caller.actor, vehicle_id, &form.rule()).await {
        Ok(saved) => {
            let message = i18n::current().format("maintenance.rule_saved", &[("name", &saved.name)]);
            Ok(redirect_with_flash(back, "success", &message))
        }
        Err(err) => refusal_to_flash(back, err),
    }
}

async fn save_rule(caller: Caller, FormBody(form): FormBody<RuleForm>) -> WebResult<Response> {
    store_rule(&caller, None, &form, "/maintenance/rules").await
}

async fn save_vehicle_rule(caller: Caller, Id(id): Id, FormBody(form): FormBody<RuleForm>) -> WebResult<Response> {
    store_rule(&caller, Some(id), &form, &format!("/vehicles/{id}/maintenance")).await
}

async fn reset_vehicle_rule(caller: Caller, Id(id): Id, FormBody(form): FormBody<RuleForm>) -> WebResult<Response> {
    service::reset_vehicle_rule(&caller.db, &caller.actor, id, form.kind.trim()).await?;
    let message = i18n::current().text("maintenance.rule_reset");
    Ok(redirect_with_flash(&format!("/vehicles/{id}/maintenance"), "success", message))
}

/// The alerts of a client's vehicles (for the client page).
pub async fn client_alerts(caller: &Caller, vehicle_ids: Vec<i64>, tr: Tr) -> AppResult<Vec<AlertRow>> {
    if vehicle_ids.is_empty() {
        return Ok(Vec::new());
    }
    let filter = service::AlertFilter { vehicle_ids: Some(vehicle_ids), ..Default::default() };
    let found = service::list(
        &caller.db,
        caller.org,
        &filter,
        PageRequest::first(50),
        crate::identity::organizations::service::today(&caller.db, caller.org).await?,
    )
    .await?;
    alert_rows(caller, found.items, tr).await
}
