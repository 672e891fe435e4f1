//! The training vehicles' page (staff): flagging a fleet vehicle for the school.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::service::{self as vehicles, TrainingVehicle, TrainingVehicleInput};
use crate::fleet::vehicles::service as fleet_vehicles;
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

pub fn routes() -> Routes {
    vec![("/school/vehicles", get(vehicles_page).post(flag_vehicle))]
}

#[derive(Template, WebTemplate)]
#[template(path = "school/cars/list.html")]
struct VehiclesPage {
    page: PageCtx,
    vehicles: Vec<TrainingVehicle>,
    errors: FormErrors,
    plate: String,
}

async fn vehicles_page(caller: Caller, page: PageCtx) -> WebResult<VehiclesPage> {
    Ok(VehiclesPage {
        vehicles: vehicles::list(&caller.db, caller.org).await?,
        page,
        errors: FormErrors::default(),
        plate: String::new(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VehicleForm {
    plate: String,
    category: String,
    dual_controls: Option<String>,
    active: Option<String>,
}

async fn flag_vehicle(caller: Caller, page: PageCtx, FormBody(form): FormBody<VehicleForm>) -> WebResult<Response> {
    let tr = i18n::current();
    let mut errors = FormErrors::default();
    match fleet_vehicles::find_by_plate(&caller.db, caller.org, form.plate.trim()).await? {
        Some(vehicle) => {
            let input = TrainingVehicleInput {
                category: Some(form.category.clone()),
                dual_controls: form.dual_controls.is_some(),
                active: Some(form.active.is_some()),
            };
            match vehicles::set(&caller.db, &caller.actor, vehicle.id, &input).await {
                Ok(v) => {
                    return Ok(redirect_with_flash(
                        "/school/vehicles",
                        "success",
                        &tr.format("school_vehicles.saved", &[("vehicle", &v.label())]),
                    ));
                }
                Err(err) => errors = FormErrors::from_app_error(err)?,
            }
        }
        None => errors.add("plate", Msg::new("school_vehicles.plate_unknown").render(tr)),
    }
    let vehicles = vehicles::list(&caller.db, caller.org).await?;
    Ok(unprocessable(VehiclesPage { page, vehicles, errors, plate: form.plate }))
}
