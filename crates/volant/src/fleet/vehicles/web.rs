//! Vehicle pages (French UI): search, detail, create, edit, move, delete.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::model::FuelType;
use super::service::{self, Vehicle, VehicleFilter, VehicleInput};
use crate::fleet::garages::service as garages;
use crate::identity::Tenant;
use crate::identity::audit::Actor;
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::pagination::{PageRequest, with_cursor};
use crate::platform::tenant::OrgId;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

pub fn routes() -> Routes {
    vec![
        ("/vehicles", get(index).post(create)),
        ("/vehicles/new", get(new_form)),
        ("/vehicles/{id}", get(show)),
        ("/vehicles/{id}/edit", get(edit_form).post(update)),
        ("/vehicles/{id}/move", get(move_form).post(move_vehicle)),
        ("/vehicles/{id}/delete", get(confirm_delete).post(delete)),
    ]
}

/// A vehicle as a page shows it: numbers and dates in French formats.
#[derive(Debug, Clone)]
pub struct VehicleRow {
    pub id: i64,
    pub garage_id: i64,
    pub garage_name: String,
    pub license_plate: String,
    pub brand: String,
    pub model: String,
    pub year: i32,
    pub mileage: String,
    pub fuel: String,
    pub color: String,
    pub vin: String,
    pub updated_at: String,
}

impl VehicleRow {
    pub fn new(v: Vehicle, garage_name: String) -> Self {
        let tr = i18n::current();
        Self {
            id: v.id,
            garage_id: v.garage_id,
            garage_name,
            license_plate: v.license_plate,
            brand: v.brand,
            model: v.model,
            year: v.year,
            mileage: v.mileage_km.map_or_else(|| "—".to_owned(), |km| format!("{} km", group_thousands(km))),
            fuel: v.fuel_type.map_or_else(|| "—".to_owned(), |f| tr.text(f.label_key()).to_owned()),
            color: v.color.unwrap_or_else(|| "—".to_owned()),
            vin: v.vin.unwrap_or_else(|| "—".to_owned()),
            updated_at: i18n::local_time(v.updated_at, "%d/%m/%Y %H:%M"),
        }
    }
}

/// `84000` → `84 000` with the narrow no-break space French typography uses.
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The results table alone, for htmx's live search.
#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/results.html")]
pub struct VehicleResults {
    pub page: PageCtx,
    pub q: String,
    pub vehicles: Vec<VehicleRow>,
    pub next_url: Option<String>,
    pub show_garage: bool,
}

/// The fragment for an htmx search, the whole page otherwise.
pub fn results_or_page<P: IntoResponse>(results: VehicleResults, full: impl FnOnce(VehicleResults) -> P) -> Response {
    if results.page.htmx { results.into_response() } else { full(results).into_response() }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/list.html")]
struct ListPage {
    page: PageCtx,
    search_action: String,
    q: String,
    vehicles: Vec<VehicleRow>,
    next_url: Option<String>,
    show_garage: bool,
}

async fn index(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    page: PageCtx,
    ApiQuery(query): ApiQuery<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> WebResult<Response> {
    let request = PageRequest::parse(None, query.cursor.as_deref())?;
    let q = query.q.unwrap_or_default();
    let found = service::list(&state.db, org, &VehicleFilter { garage_id: None, q: Some(q.clone()) }, request).await?;
    let ids = found.items.iter().map(|v| v.garage_id).collect();
    let names = garages::names(&state.db, org, ids).await?;
    let next_url = found.next_cursor.as_deref().map(|c| with_cursor(&uri, c));
    let rows = found
        .items
        .into_iter()
        .map(|v| {
            let name = names.get(&v.garage_id).cloned().unwrap_or_default();
            VehicleRow::new(v, name)
        })
        .collect();
    let results = VehicleResults { page, q, vehicles: rows, next_url, show_garage: true };
    Ok(results_or_page(results, |r| ListPage {
        page: r.page,
        search_action: "/vehicles".into(),
        q: r.q,
        vehicles: r.vehicles,
        next_url: r.next_url,
        show_garage: true,
    }))
}

async fn load_row(state: &AppState, org: OrgId, id: i64) -> Result<VehicleRow, AppError> {
    let vehicle = service::get(&state.db, org, id).await?;
    let garage = garages::get(&state.db, org, vehicle.garage_id).await?;
    Ok(VehicleRow::new(vehicle, garage.name))
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/show.html")]
struct ShowPage {
    page: PageCtx,
    v: VehicleRow,
}

async fn show(State(state): State<AppState>, Tenant(org): Tenant, page: PageCtx, Id(id): Id) -> WebResult<ShowPage> {
    Ok(ShowPage { page, v: load_row(&state, org, id).await? })
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

    /// The service input, and the errors of fields that are not even numbers.
    fn to_input(&self) -> (VehicleInput, FormErrors) {
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
        (input, errors)
    }
}

/// An option of a `<select>`.
#[derive(Debug, Clone)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

async fn garage_options(
    state: &AppState,
    org: OrgId,
    selected: &str,
    placeholder: bool,
) -> Result<Vec<SelectOption>, AppError> {
    let tr = i18n::current();
    let choices = garages::choices(&state.db, org).await?;
    if choices.is_empty() {
        return Ok(Vec::new());
    }
    let mut options = Vec::with_capacity(choices.len() + 1);
    if placeholder {
        options.push(SelectOption {
            value: String::new(),
            label: tr.text("vehicle.choose_garage").to_owned(),
            selected: selected.is_empty(),
        });
    }
    options.extend(choices.into_iter().map(|(id, name)| {
        let value = id.to_string();
        SelectOption { selected: value == selected, value, label: name }
    }));
    Ok(options)
}

fn fuel_options(selected: &str) -> Vec<SelectOption> {
    let tr = i18n::current();
    std::iter::once(SelectOption { value: String::new(), label: "—".into(), selected: selected.is_empty() })
        .chain(FuelType::ALL.into_iter().map(|f| SelectOption {
            value: f.as_str().to_owned(),
            label: tr.text(f.label_key()).to_owned(),
            selected: f.as_str() == selected,
        }))
        .collect()
}

/// Where a vehicle form posts, and what it is called.
struct FormTarget {
    heading: String,
    action: String,
    cancel_url: String,
}

impl FormTarget {
    fn new(heading: String, action: impl Into<String>, cancel_url: impl Into<String>) -> Self {
        Self { heading, action: action.into(), cancel_url: cancel_url.into() }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/form.html")]
struct FormPage {
    page: PageCtx,
    heading: String,
    action: String,
    cancel_url: String,
    form: VehicleForm,
    garages: Vec<SelectOption>,
    fuels: Vec<SelectOption>,
    errors: FormErrors,
}

impl FormPage {
    async fn build(
        state: &AppState,
        org: OrgId,
        page: PageCtx,
        target: FormTarget,
        form: VehicleForm,
        errors: FormErrors,
    ) -> Result<Self, AppError> {
        let garages = garage_options(state, org, &form.garage_id, true).await?;
        let fuels = fuel_options(&form.fuel_type);
        let FormTarget { heading, action, cancel_url } = target;
        Ok(Self { page, heading, action, cancel_url, form, garages, fuels, errors })
    }
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    garage_id: Option<String>,
}

async fn new_form(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    page: PageCtx,
    ApiQuery(query): ApiQuery<NewQuery>,
) -> WebResult<FormPage> {
    let garage_id = query.garage_id.unwrap_or_default();
    let cancel_url = if garage_id.is_empty() { "/vehicles".to_owned() } else { format!("/garages/{garage_id}") };
    let form = VehicleForm { garage_id, ..Default::default() };
    let heading = page.tr.t("vehicles.new").to_owned();
    Ok(FormPage::build(
        &state,
        org,
        page,
        FormTarget::new(heading, "/vehicles", cancel_url),
        form,
        FormErrors::default(),
    )
    .await?)
}

/// Runs `write` unless a field is not even a number; turns refusals into field errors.
async fn submit<F, Fut>(form: &VehicleForm, write: F) -> Result<Result<Vehicle, FormErrors>, AppError>
where
    F: FnOnce(VehicleInput) -> Fut,
    Fut: Future<Output = Result<Vehicle, AppError>>,
{
    let (input, parse_errors) = form.to_input();
    if !parse_errors.is_empty() {
        return Ok(Err(parse_errors));
    }
    match write(input).await {
        Ok(vehicle) => Ok(Ok(vehicle)),
        Err(err) => FormErrors::from_app_error(err).map(Err),
    }
}

async fn create(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    actor: Actor,
    page: PageCtx,
    FormBody(form): FormBody<VehicleForm>,
) -> WebResult<Response> {
    let db = &state.db;
    let actor = &actor;
    match submit(&form, |input| async move { service::create(db, actor, &input).await }).await? {
        Ok(vehicle) => {
            let message = i18n::current().format("vehicles.created", &[("plate", &vehicle.license_plate)]);
            Ok(redirect_with_flash(&format!("/vehicles/{}", vehicle.id), "success", &message))
        }
        Err(errors) => {
            let heading = page.tr.t("vehicles.new").to_owned();
            let cancel_url = "/vehicles".to_owned();
            Ok(unprocessable(
                FormPage::build(&state, org, page, FormTarget::new(heading, "/vehicles", cancel_url), form, errors)
                    .await?,
            ))
        }
    }
}

async fn edit_form(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    page: PageCtx,
    Id(id): Id,
) -> WebResult<FormPage> {
    let vehicle = service::get(&state.db, org, id).await?;
    let heading = page.tr.f("vehicles.edit", "plate", &vehicle.license_plate);
    let form = VehicleForm::from_vehicle(&vehicle);
    Ok(FormPage::build(
        &state,
        org,
        page,
        FormTarget::new(heading, format!("/vehicles/{id}/edit"), format!("/vehicles/{id}")),
        form,
        FormErrors::default(),
    )
    .await?)
}

async fn update(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    actor: Actor,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<VehicleForm>,
) -> WebResult<Response> {
    let db = &state.db;
    let actor = &actor;
    match submit(&form, |input| async move { service::replace(db, actor, id, &input).await }).await? {
        Ok(vehicle) => {
            let message = i18n::current().format("vehicles.updated", &[("plate", &vehicle.license_plate)]);
            Ok(redirect_with_flash(&format!("/vehicles/{id}"), "success", &message))
        }
        Err(errors) => {
            let heading = page.tr.f("vehicles.edit", "plate", &form.license_plate);
            let page = FormPage::build(
                &state,
                org,
                page,
                FormTarget::new(heading, format!("/vehicles/{id}/edit"), format!("/vehicles/{id}")),
                form,
                errors,
            )
            .await?;
            Ok(unprocessable(page))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/vehicles/move.html")]
struct MovePage {
    page: PageCtx,
    v: VehicleRow,
    garages: Vec<SelectOption>,
    errors: FormErrors,
}

async fn move_form(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    page: PageCtx,
    Id(id): Id,
) -> WebResult<MovePage> {
    let v = load_row(&state, org, id).await?;
    let garages = garage_options(&state, org, &v.garage_id.to_string(), false).await?;
    Ok(MovePage { page, v, garages, errors: FormErrors::default() })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MoveForm {
    garage_id: String,
}

async fn move_vehicle(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    actor: Actor,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<MoveForm>,
) -> WebResult<Response> {
    let result = match form.garage_id.trim().parse::<i64>() {
        Ok(garage_id) => service::move_to(&state.db, &actor, id, garage_id).await,
        Err(_) => Err(AppError::validation("garage_id", Msg::new("vehicle.garage_unknown"))),
    };
    match result {
        Ok(vehicle) => {
            let garage = garages::get(&state.db, org, vehicle.garage_id).await?;
            let message = i18n::current()
                .format("vehicles.moved", &[("plate", &vehicle.license_plate), ("garage", &garage.name)]);
            Ok(redirect_with_flash(&format!("/vehicles/{id}"), "success", &message))
        }
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let v = load_row(&state, org, id).await?;
            let garages = garage_options(&state, org, &form.garage_id, false).await?;
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

async fn confirm_delete(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    page: PageCtx,
    Id(id): Id,
) -> WebResult<DeletePage> {
    Ok(DeletePage { page, v: load_row(&state, org, id).await? })
}

async fn delete(State(state): State<AppState>, Tenant(org): Tenant, actor: Actor, Id(id): Id) -> WebResult<Response> {
    let vehicle = service::get(&state.db, org, id).await?;
    match service::delete(&state.db, &actor, id).await {
        Ok(()) => {}
        Err(err @ AppError::Conflict { .. }) => {
            return Ok(redirect_with_flash(&format!("/vehicles/{id}"), "error", &err.detail(i18n::current())));
        }
        Err(err) => return Err(err.into()),
    }
    let message = i18n::current().format("vehicles.deleted", &[("plate", &vehicle.license_plate)]);
    Ok(redirect_with_flash(&format!("/garages/{}", vehicle.garage_id), "success", &message))
}

#[cfg(test)]
mod tests {
    use super::group_thousands;

    #[test]
    fn thousands_use_french_spacing() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(84_000), "84\u{202f}000");
        assert_eq!(group_thousands(1_234_567), "1\u{202f}234\u{202f}567");
    }
}
