//! Vehicle pages (French UI): search, detail, create, edit, move, delete.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::model::FuelType;
use super::service::{self, Vehicle, VehicleFilter, VehicleInput, VehicleSort};
use super::view::VehicleRow;
use crate::fleet::garages::service as garages;
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::search::search_term;
use crate::platform::web::{
    FormErrors, FormTarget, Listing, PageCtx, Sorting, WebResult, fragment_or_page, options, redirect_with_flash,
    refusal_to_flash, respond, submit, unprocessable,
};

/// Temporary: the school's pages still import it from here until they move.
use crate::platform::web::SelectOption;

pub fn routes() -> Routes {
    vec![("/vehicles", get(index).post(create)), ("/vehicles/{id}", get(show))]
}

/// The form pages: only for those who may send them (`FleetWrite` to open them too).
pub fn form_routes() -> Routes {
    vec![
        ("/vehicles/new", get(new_form)),
        ("/vehicles/{id}/edit", get(edit_form).post(update)),
        ("/vehicles/{id}/move", get(move_form).post(move_vehicle)),
        ("/vehicles/{id}/delete", get(confirm_delete).post(delete)),
    ]
}

/// The results table alone, for htmx's live search.
#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/results.html")]
pub struct VehicleResults {
    pub page: PageCtx,
    pub q: String,
    pub vehicles: Vec<VehicleRow>,
    pub sorting: Sorting,
    /// What the search finds ("12 correspondant(s)"), swapped into the page's
    /// heading; empty where the heading counts nothing.
    pub total: String,
    pub next_url: Option<String>,
    pub previous_url: Option<String>,
    pub show_garage: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/list.html")]
struct ListPage {
    page: PageCtx,
    search_action: String,
    q: String,
    vehicles: Vec<VehicleRow>,
    sorting: Sorting,
    next_url: Option<String>,
    previous_url: Option<String>,
    show_garage: bool,
    total: String,
}

/// A vehicles table's sortable headings and choices (the fleet's list, a garage's).
pub fn vehicle_sorting(listing: &Listing, sort: VehicleSort, tr: &i18n::Tr) -> Sorting {
    listing.sorting(
        sort,
        &[("plate", tr.t("vehicle.license_plate"), false), ("year", tr.t("vehicle.year"), true)],
        &[
            ("id", tr.t("list.sort.oldest")),
            ("-id", tr.t("list.sort.newest")),
            ("plate", tr.t("vehicles.sort.plate")),
            ("-year", tr.t("vehicles.sort.newest_year")),
            ("year", tr.t("vehicles.sort.oldest_year")),
        ],
    )
}

async fn index(caller: Caller, page: PageCtx, listing: Listing) -> WebResult<Response> {
    let q = listing.q.clone();
    let sort = listing.sort(VehicleSort::default());
    let filter = VehicleFilter { garage_id: None, q: Some(q.clone()), sort };
    let found = service::list(&caller.db, caller.org, &filter, listing.request.clone()).await?;
    let ids = found.items.iter().map(|v| v.garage_id).collect();
    let names = garages::names(&caller.db, caller.org, ids).await?;
    let next_url = listing.next_url(found.next_cursor.as_deref());
    let rows = found
        .items
        .into_iter()
        .map(|v| {
            let name = names.get(&v.garage_id).cloned().unwrap_or_default();
            VehicleRow::new(v, name)
        })
        .collect();
    let previous_url = listing.previous_url();
    // Unsearched, the garages keep the count: no count over a million vehicles per page.
    let total = if search_term(&q).is_empty() {
        Listing::total_of(garages::fleet_size(&caller.db, caller.org).await?)
    } else {
        Listing::matching_of(service::count(&caller.db, caller.org, &filter).await?)
    };
    let sorting = vehicle_sorting(&listing, sort, &page.tr);
    let results = VehicleResults { page, q, vehicles: rows, sorting, total, next_url, previous_url, show_garage: true };
    Ok(fragment_or_page(results.page.htmx, results, |r| ListPage {
        page: r.page,
        search_action: "/vehicles".into(),
        q: r.q,
        vehicles: r.vehicles,
        sorting: r.sorting,
        next_url: r.next_url,
        previous_url: r.previous_url,
        show_garage: true,
        total: r.total,
    }))
}

async fn load_row(caller: &Caller, id: i64) -> Result<VehicleRow, AppError> {
    let vehicle = service::get(&caller.db, caller.org, id).await?;
    let garage = garages::get(&caller.db, caller.org, vehicle.garage_id).await?;
    Ok(VehicleRow::new(vehicle, garage.name))
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/show.html")]
struct ShowPage {
    page: PageCtx,
    v: VehicleRow,
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ShowPage> {
    Ok(ShowPage { page, v: load_row(&caller, id).await? })
}

/// The form as typed: every field a string, so any input can be shown back.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VehicleForm {
    pub garage_id: String,
    pub license_plate: String,
    pub brand: String,
    pub model: String,
    pub year: String,
    pub mileage_km: String,
    pub fuel_type: String,
    pub color: String,
    pub vin: String,
}

impl VehicleForm {
    fn from_vehicle(v: &Vehicle) -> Self {
        Self {
            garage_id: v.garage_id.to_string(),
            license_plate: v.license_plate.clone(),
            brand: v.brand.clone(),
            model: v.model.clone(),
            year: v.year.to_string(),
            mileage_km: v.mileage_km.map(|km| km.to_string()).unwrap_or_default(),
            fuel_type: v.fuel_type.map(|f| f.as_str().to_owned()).unwrap_or_default(),
            color: v.color.clone().unwrap_or_default(),
            vin: v.vin.clone().unwrap_or_default(),
        }
    }

    /// The service input, or the errors of fields that are not even numbers.
    pub fn parse(&self) -> Result<VehicleInput, FormErrors> {
        let mut errors = FormErrors::default();
        let locale = i18n::current();
        let mut number = |field: &str, raw: &str| -> Option<i64> {
            let cleaned: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
            if cleaned.is_empty() {
                return None;
            }
            cleaned.parse::<i64>().ok().or_else(|| {
                errors.add(field, Msg::new("field.not_a_number").render(locale));
                None
            })
        };
        let garage_id = number("garage_id", &self.garage_id);
        let year = number("year", &self.year).map(|y| i32::try_from(y).unwrap_or(i32::MAX));
        let mileage_km = number("mileage_km", &self.mileage_km);
        let fuel_type = FuelType::parse(self.fuel_type.trim());
        if fuel_type.is_none() && !self.fuel_type.trim().is_empty() {
            errors.add("fuel_type", Msg::new("vehicle.fuel_invalid").render(locale));
        }
        let input = VehicleInput {
            garage_id,
            brand: Some(self.brand.clone()),
            model: Some(self.model.clone()),
            year,
            license_plate: Some(self.license_plate.clone()),
            vin: Some(self.vin.clone()),
            mileage_km,
            fuel_type,
            color: Some(self.color.clone()),
        };
        if errors.is_empty() { Ok(input) } else { Err(errors) }
    }
}

pub async fn garage_options(caller: &Caller, selected: &str, placeholder: bool) -> Result<Vec<SelectOption>, AppError> {
    let choices = garages::choices(&caller.db, caller.org).await?;
    if choices.is_empty() {
        return Ok(Vec::new());
    }
    let blank = placeholder.then(|| i18n::current().text("vehicle.choose_garage"));
    Ok(options(blank, selected, choices.into_iter().map(|(id, name)| (id.to_string(), name))))
}

fn fuel_options(selected: &str) -> Vec<SelectOption> {
    let tr = i18n::current();
    options(
        Some("—"),
        selected,
        FuelType::ALL.into_iter().map(|f| (f.as_str().to_owned(), tr.text(f.label_key()).to_owned())),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/form.html")]
struct FormPage {
    page: PageCtx,
    target: FormTarget,
    form: VehicleForm,
    garages: Vec<SelectOption>,
    fuels: Vec<SelectOption>,
    errors: FormErrors,
}

impl FormPage {
    async fn build(
        caller: &Caller,
        page: PageCtx,
        target: FormTarget,
        form: VehicleForm,
        errors: FormErrors,
    ) -> Result<Self, AppError> {
        let garages = garage_options(caller, &form.garage_id, true).await?;
        let fuels = fuel_options(&form.fuel_type);
        Ok(Self { page, target, form, garages, fuels, errors })
    }
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    garage_id: Option<String>,
}

async fn new_form(caller: Caller, page: PageCtx, ApiQuery(query): ApiQuery<NewQuery>) -> WebResult<FormPage> {
    let garage_id = query.garage_id.unwrap_or_default();
    let cancel_url = if garage_id.is_empty() { "/vehicles".to_owned() } else { format!("/garages/{garage_id}") };
    let form = VehicleForm { garage_id, ..Default::default() };
    let target = FormTarget::new(page.tr.t("vehicles.new").to_owned(), "/vehicles", cancel_url);
    Ok(FormPage::build(&caller, page, target, form, FormErrors::default()).await?)
}

async fn create(caller: Caller, page: PageCtx, FormBody(form): FormBody<VehicleForm>) -> WebResult<Response> {
    let submitted =
        submit(form.parse(), async |input| service::create(&caller.db, &caller.actor, &input).await).await?;
    let done = |vehicle: Vehicle| {
        let message = i18n::current().format("vehicles.created", &[("plate", &vehicle.license_plate)]);
        redirect_with_flash(&format!("/vehicles/{}", vehicle.id), "success", &message)
    };
    respond(submitted, done, async |errors| {
        let target = FormTarget::creating(page.tr.t("vehicles.new").to_owned(), "/vehicles");
        FormPage::build(&caller, page, target, form, errors).await
    })
    .await
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FormPage> {
    let vehicle = service::get(&caller.db, caller.org, id).await?;
    let target = FormTarget::editing(page.tr.f("vehicles.edit", "plate", &vehicle.license_plate), "/vehicles", id);
    let form = VehicleForm::from_vehicle(&vehicle);
    Ok(FormPage::build(&caller, page, target, form, FormErrors::default()).await?)
}

async fn update(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<VehicleForm>,
) -> WebResult<Response> {
    let submitted =
        submit(form.parse(), async |input| service::replace(&caller.db, &caller.actor, id, &input).await).await?;
    let done = |vehicle: Vehicle| {
        let message = i18n::current().format("vehicles.updated", &[("plate", &vehicle.license_plate)]);
        redirect_with_flash(&format!("/vehicles/{id}"), "success", &message)
    };
    respond(submitted, done, async |errors| {
        let target = FormTarget::editing(page.tr.f("vehicles.edit", "plate", &form.license_plate), "/vehicles", id);
        FormPage::build(&caller, page, target, form, errors).await
    })
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/move.html")]
struct MovePage {
    page: PageCtx,
    v: VehicleRow,
    garages: Vec<SelectOption>,
    errors: FormErrors,
}

async fn move_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<MovePage> {
    let v = load_row(&caller, id).await?;
    let garages = garage_options(&caller, &v.garage_id.to_string(), false).await?;
    Ok(MovePage { page, v, garages, errors: FormErrors::default() })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MoveForm {
    garage_id: String,
}

async fn move_vehicle(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<MoveForm>,
) -> WebResult<Response> {
    let result = match form.garage_id.trim().parse::<i64>() {
        Ok(garage_id) => service::move_to(&caller.db, &caller.actor, id, garage_id).await,
        Err(_) => Err(AppError::validation("garage_id", Msg::new("vehicle.garage_unknown"))),
    };
    match result {
        Ok(vehicle) => {
            let garage = garages::get(&caller.db, caller.org, vehicle.garage_id).await?;
            let message = i18n::current()
                .format("vehicles.moved", &[("plate", &vehicle.license_plate), ("garage", &garage.name)]);
            Ok(redirect_with_flash(&format!("/vehicles/{id}"), "success", &message))
        }
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let v = load_row(&caller, id).await?;
            let garages = garage_options(&caller, &form.garage_id, false).await?;
            Ok(unprocessable(MovePage { page, v, garages, errors }))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/delete.html")]
struct DeletePage {
    page: PageCtx,
    v: VehicleRow,
}

async fn confirm_delete(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<DeletePage> {
    Ok(DeletePage { page, v: load_row(&caller, id).await? })
}

async fn delete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let vehicle = service::get(&caller.db, caller.org, id).await?;
    if let Err(err) = service::delete(&caller.db, &caller.actor, id).await {
        return refusal_to_flash(&format!("/vehicles/{id}"), err);
    }
    let message = i18n::current().format("vehicles.deleted", &[("plate", &vehicle.license_plate)]);
    Ok(redirect_with_flash(&format!("/garages/{}", vehicle.garage_id), "success", &message))
}
