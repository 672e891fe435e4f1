//! The intervention's page (its check-in, its documents) and the check-in form:
//! made for a phone in the workshop's yard (the camera, a finger signing).

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::service::{self, Checkin, ZONES};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormWithFiles, Id, UPLOAD_LIMIT};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::workshop::clients::service as clients;
use crate::workshop::history::service as history;

/// The intervention's page, for whoever sees the workshop.
pub fn routes() -> Routes {
    vec![("/interventions/{id}", get(show))]
}

/// The check-in form: only for those who record work.
pub fn form_routes() -> Routes {
    vec![(
        "/interventions/{id}/checkin",
        get(form).post(record).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
    )]
}

/// What the intervention's page says of the vehicle and its customer.
struct Heading {
    vehicle_id: i64,
    plate: String,
    vehicle: String,
    client: Option<(i64, String, Option<String>)>,
}

async fn heading(caller: &Caller, intervention: &history::Intervention) -> Result<Heading, AppError> {
    let vehicle = vehicles::get(&caller.db, caller.org, intervention.vehicle_id).await?;
    let client = match intervention.client_id {
        Some(id) => Some(clients::get(&caller.db, caller.org, id).await?),
        None => clients::current_owner(&caller.db, caller.org, intervention.vehicle_id).await?,
    };
    Ok(Heading {
        vehicle_id: vehicle.id,
        plate: vehicle.license_plate.clone(),
        vehicle: format!("{} {} ({})", vehicle.brand, vehicle.model, vehicle.year),
        client: client.map(|c| (c.id, c.name, c.email)),
    })
}

/// A check-in as the page tells it.
struct CheckinView {
    mileage: String,
    fuel: String,
    damages: Vec<String>,
    notes: String,
    signed_by: String,
    signed_at: String,
    emailed_to: Option<String>,
    report_id: Option<i64>,
}

fn view(c: &Checkin, tr: &i18n::Tr, zone: chrono_tz::Tz) -> CheckinView {
    CheckinView {
        mileage: c
            .mileage_km
            .map_or_else(|| "—".to_owned(), |km| format!("{} km", crate::platform::money::group_thousands(km))),
        fuel: c.fuel_eighths.map_or_else(|| "—".to_owned(), |f| format!("{f}/8")),
        damages: c.damages.iter().map(|z| tr.t(&format!("checkin.zone.{z}")).to_owned()).collect(),
        notes: c.notes.clone().unwrap_or_default(),
        signed_by: c.signed_by.clone(),
        signed_at: i18n::current().date_time_in(zone, c.created_at),
        emailed_to: c.emailed_to.clone(),
        report_id: c.report_document_id,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/checkins/intervention.html")]
struct InterventionPage {
    page: PageCtx,
    id: i64,
    heading: Heading,
    performed_on: String,
    description: String,
    technician: String,
    in_progress: bool,
    checkin: Option<CheckinView>,
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<InterventionPage> {
    let intervention = history::get(&caller.db, caller.org, id).await?;
    let heading = heading(&caller, &intervention).await?;
    let zone = crate::identity::organizations::service::get(&caller.db, caller.org).await?.zone()?;
    let checkin = service::of_intervention(&caller.db, caller.org, id).await?.map(|c| view(&c, &page.tr, zone));
    Ok(InterventionPage {
        id,
        heading,
        performed_on: i18n::date(intervention.performed_on),
        technician: intervention.technician.clone().unwrap_or_default(),
        in_progress: intervention.in_progress,
        description: intervention.description,
        checkin,
        page,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/checkins/form.html")]
struct CheckinPage {
    page: PageCtx,
    id: i64,
    heading: Heading,
    zones: Vec<(&'static str, String, bool)>,
    mileage_km: String,
    fuel_eighths: String,
    notes: String,
    signed_by: String,
    email: bool,
    /// The signature already drawn (a data URL), drawn again when the form comes back.
    signature: String,
    errors: FormErrors,
}

async fn form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<Response> {
    let intervention = history::get(&caller.db, caller.org, id).await?;
    if service::of_intervention(&caller.db, caller.org, id).await?.is_some() {
        let message = Msg::new("checkin.exists").render(i18n::current());
        return Ok(redirect_with_flash(&format!("/interventions/{id}"), "info", &message));
    }
    let heading = heading(&caller, &intervention).await?;
    let tr = page.tr;
    let signed_by = heading.client.as_ref().map(|(_, name, _)| name.clone()).unwrap_or_default();
    let email = heading.client.as_ref().is_some_and(|(_, _, email)| email.is_some());
    Ok(CheckinPage {
        id,
        zones: ZONES.iter().map(|z| (*z, tr.t(&format!("checkin.zone.{z}")).to_owned(), false)).collect(),
        mileage_km: intervention.mileage_km.map(|km| km.to_string()).unwrap_or_default(),
        fuel_eighths: String::new(),
        notes: String::new(),
        signed_by,
        email,
        signature: String::new(),
        errors: FormErrors::default(),
        heading,
        page,
    }
    .into_response())
}

async fn record(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    form: FormWithFiles<Vec<(String, String)>>,
) -> WebResult<Response> {
    let input = service::CheckinInput::from_pairs(&form.form);
    match super::api::record(&caller, id, form).await {
        Ok(recorded) => {
            let tr = i18n::current();
            let message = match &recorded.emailed_to {
                Some(to) => Msg::new("checkin.recorded_emailed").arg("email", to).render(tr),
                None => Msg::new("checkin.recorded").render(tr),
            };
            Ok(redirect_with_flash(&format!("/interventions/{id}"), "success", &message))
        }
        // Refused (invalid input, a conflict): the form again, as typed, saying why.
        Err(err @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let intervention = history::get(&caller.db, caller.org, id).await?;
            let heading = heading(&caller, &intervention).await?;
            let tr = page.tr;
            let errors = match err {
                AppError::Validation(fields) => FormErrors::from_fields(&fields),
                AppError::Conflict { message, .. } => FormErrors::one("form", &message),
                _ => FormErrors::default(),
            };
            let zones = ZONES
                .iter()
                .map(|z| (*z, tr.t(&format!("checkin.zone.{z}")).to_owned(), input.damages.iter().any(|d| d == z)))
                .collect();
            Ok(unprocessable(CheckinPage {
                id,
                heading,
                zones,
                mileage_km: input.mileage_km,
                fuel_eighths: input.fuel_eighths,
                notes: input.notes,
                signed_by: input.signed_by,
                email: input.email,
                signature: String::from_utf8(input.signature)
                    .ok()
                    .filter(|s| s.starts_with("data:image/png;base64,"))
                    .unwrap_or_default(),
                errors,
                page,
            }))
        }
        Err(err) => crate::platform::web::refusal_to_flash(&format!("/interventions/{id}"), err),
    }
}
