//! Recording work (French UI): a new intervention with its lines and the
//! maintenance it performed, a mileage reading, and carrying out an accepted quote.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::NaiveDate;

use super::service::{self, FromQuoteInput, InterventionInput, ReadingInput};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
#[allow(unused_imports)] // used by the templates
use crate::identity::roles::Permission;
use crate::platform::error::AppResult;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{
    FormErrors, PageCtx, WebResult, redirect_with_flash, refusal_to_flash, respond, submit, unprocessable,
};
use crate::workshop::maintenance::service as maintenance;
use crate::workshop::maintenance::web::vehicle_page_for;
use crate::workshop::quotes::web::{LineEditor, LineForm, LineRow, RunningTotals};

pub fn routes() -> Routes {
    vec![
        ("/interventions", get(under_way)),
        ("/vehicles/{id}/interventions/new", get(new_form)),
        ("/vehicles/{id}/interventions", post(create)),
        ("/vehicles/{id}/mileage", post(record_reading)),
        ("/quotes/{id}/intervention", post(from_quote)),
        ("/interventions/{id}/complete", post(complete)),
    ]
}

/// The most vehicles the workshop page lists (more would not fit in a workshop).
const UNDER_WAY_SHOWN: u64 = 200;

/// A vehicle in the workshop, as the mechanic's page lists it.
#[derive(Debug, Clone)]
pub struct UnderWay {
    pub id: i64,
    pub vehicle_id: i64,
    pub plate: String,
    pub vehicle: String,
    pub client: Option<String>,
    pub since: String,
    pub description: String,
    pub technician: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/history/under_way.html")]
struct UnderWayPage {
    page: PageCtx,
    rows: Vec<UnderWay>,
    more: bool,
}

/// The vehicles in the workshop and their work under way: the mechanic's page,
/// kept on the phone for reading offline with each intervention and vehicle.
async fn under_way(caller: Caller, page: PageCtx) -> WebResult<UnderWayPage> {
    let mut work = service::under_way(&caller.db, caller.org, UNDER_WAY_SHOWN + 1).await?;
    let more = work.len() as u64 > UNDER_WAY_SHOWN;
    work.truncate(usize::try_from(UNDER_WAY_SHOWN).unwrap_or(usize::MAX));
    let vehicle_ids: Vec<i64> = work.iter().map(|w| w.vehicle_id).collect();
    let found: std::collections::HashMap<i64, _> =
        vehicles::get_many(&caller.db, caller.org, &vehicle_ids).await?.into_iter().map(|v| (v.id, v)).collect();
    let client_ids: Vec<i64> = work.iter().filter_map(|w| w.client_id).collect();
    let clients = crate::workshop::clients::service::get_many(&caller.db, caller.org, &client_ids).await?;
    let rows = work
        .into_iter()
        .map(|w| {
            let vehicle = found.get(&w.vehicle_id);
            UnderWay {
                id: w.id,
                vehicle_id: w.vehicle_id,
                plate: vehicle.map(|v| v.license_plate.clone()).unwrap_or_default(),
                vehicle: vehicle.map(|v| format!("{} {}", v.brand, v.model)).unwrap_or_default(),
                client: w.client_id.and_then(|id| clients.get(&id)).map(|c| c.name.clone()),
                since: i18n::date(w.performed_on),
                description: w.description,
                technician: w.technician.unwrap_or_default(),
            }
        })
        .collect();
    Ok(UnderWayPage { page, rows, more })
}

/// The vehicle leaves the workshop: its intervention under way is complete.
async fn complete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let done = service::complete(&caller.db, &caller.actor, id).await?;
    let message = i18n::current().text("history.completed").to_owned();
    Ok(redirect_with_flash(&format!("/vehicles/{}/maintenance", done.vehicle_id), "success", &message))
}

/// A maintenance kind offered as a checkbox.
#[derive(Debug, Clone)]
pub struct ServiceChoice {
    pub kind: String,
    pub name: String,
    pub checked: bool,
}

#[derive(Debug, Clone, Default)]
pub struct InterventionForm {
    pub performed_on: String,
    pub mileage_km: String,
    pub description: String,
    pub technician: String,
    pub services: Vec<String>,
    pub lines: Vec<LineForm>,
    pub in_progress: bool,
}

impl InterventionForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = Self { lines: LineForm::rows_from_pairs(pairs), ..Default::default() };
        for (key, value) in pairs {
            match key.as_str() {
                "performed_on" => form.performed_on.clone_from(value),
                "mileage_km" => form.mileage_km.clone_from(value),
                "intervention_description" => form.description.clone_from(value),
                "technician" => form.technician.clone_from(value),
                "service" => form.services.push(value.clone()),
                "in_progress" => form.in_progress = true,
                _ => {}
            }
        }
        form
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/history/form.html")]
struct FormPage {
    page: PageCtx,
    vehicle: vehicles::Vehicle,
    form: InterventionForm,
    services: Vec<ServiceChoice>,
    rows: Vec<LineRow>,
    totals: RunningTotals,
    errors: FormErrors,
}

async fn form_page(
    caller: &Caller,
    page: PageCtx,
    id: i64,
    form: InterventionForm,
    errors: FormErrors,
) -> AppResult<FormPage> {
    let vehicle = vehicles::get(&caller.db, caller.org, id).await?;
    let services = maintenance::organization_rules(&caller.db, caller.org)
        .await?
        .into_iter()
        .filter(|r| r.active)
        .map(|r| ServiceChoice { checked: form.services.contains(&r.kind), kind: r.kind, name: r.name })
        .collect();
    let LineEditor { rows, totals } = LineForm::editor(&form.lines, &page, &errors);
    Ok(FormPage { page, vehicle, form, services, rows, totals, errors })
}

async fn new_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FormPage> {
    let form = InterventionForm {
        performed_on: crate::identity::organizations::service::today(&caller.db, caller.org).await?.to_string(),
        ..Default::default()
    };
    Ok(form_page(&caller, page, id, form, FormErrors::default()).await?)
}

async fn create(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = InterventionForm::from_pairs(&pairs);
    let mut errors = FormErrors::default();
    let locale = i18n::current();
    let performed_on = errors.read_date("performed_on", &form.performed_on);
    let mileage_km = match form.mileage_km.trim().replace([' ', '\u{202f}'], "").as_str() {
        "" => None,
        raw => raw.parse::<i64>().ok().or_else(|| {
            errors.add("mileage_km", Msg::new("field.not_a_number").render(locale));
            None
        }),
    };
    let lines = LineForm::inputs(&form.lines, &mut errors);
    if errors.is_empty() {
        let input = InterventionInput {
            vehicle_id: Some(id),
            performed_on,
            mileage_km,
            description: Some(form.description.clone()),
            technician: Some(form.technician.clone()),
            services: form.services.clone(),
            lines,
            in_progress: form.in_progress,
        };
        match service::record(&caller.db, &caller.actor, &input).await {
            Ok(_) => {
                let message = locale.text("history.recorded").to_owned();
                return Ok(redirect_with_flash(&format!("/vehicles/{id}/maintenance"), "success", &message));
            }
            Err(err) => {
                errors = FormErrors::from_app_error(err)?;
                // The form names the description differently from the lines' descriptions.
                if let Some(message) = errors.get("description").map(str::to_owned) {
                    errors.add("intervention_description", message);
                }
            }
        }
    }
    Ok(unprocessable(form_page(&caller, page, id, form, errors).await?))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ReadingForm {
    mileage_km: String,
    read_on: String,
    is_correction: Option<String>,
}

async fn record_reading(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<ReadingForm>,
) -> WebResult<Response> {
    let read_on = NaiveDate::parse_from_str(form.read_on.trim(), "%Y-%m-%d").ok();
    let parsed = match form.mileage_km.trim().replace([' ', '\u{202f}'], "").parse::<i64>() {
        Ok(km) => Ok(ReadingInput { read_on, mileage_km: Some(km), is_correction: form.is_correction.is_some() }),
        Err(_) => Err(FormErrors::one("mileage_km", &Msg::new("field.not_a_number"))),
    };
    let submitted =
        submit(parsed, async |input| service::record_reading(&caller.db, &caller.actor, id, &input).await).await?;
    let done = |_| {
        let message = i18n::current().text("history.reading_recorded");
        redirect_with_flash(&format!("/vehicles/{id}/maintenance"), "success", message)
    };
    respond(submitted, done, async |errors| vehicle_page_for(&caller, page, id, errors).await).await
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct FromQuoteForm {
    mileage_km: String,
}

async fn from_quote(
    caller: Caller,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let field =
        |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let form = FromQuoteForm { mileage_km: field("mileage_km") };
    let input = FromQuoteInput {
        performed_on: None,
        mileage_km: form.mileage_km.replace([' ', '\u{202f}'], "").parse().ok(),
        technician: Some(field("technician")).filter(|t| !t.is_empty()),
        // The boxes the person left ticked, none included.
        services: Some(pairs.iter().filter(|(k, _)| k == "service").map(|(_, v)| v.clone()).collect()),
    };
    match service::record_from_quote(&caller.db, &caller.actor, id, &input).await {
        Ok(done) => {
            let message = i18n::current().text("history.recorded").to_owned();
            Ok(redirect_with_flash(&format!("/vehicles/{}/maintenance", done.vehicle_id), "success", &message))
        }
        Err(err) => refusal_to_flash(&format!("/quotes/{id}"), err),
    }
}
