//! Client pages (French UI): search, contact card with vehicles and quotes,
//! create, edit, delete, and which vehicles the client owns.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::service::{self, Client, ClientField, ClientInput, ClientKind, ClientSort};
use crate::fleet::vehicles::service as vehicles;
use crate::fleet::vehicles::view::VehicleRow;
use crate::fleet::vehicles::web::{VehicleForm, garage_options};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::db;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id, IdPair};
use crate::platform::i18n::{self, Msg};
use crate::platform::pagination::PageRequest;
use crate::platform::search::search_term;
use crate::platform::web::{
    FormErrors, FormTarget, Listing, PageCtx, SelectOption, Sorting, WebResult, form_flow, fragment_or_page,
    redirect_with_flash, refusal_to_flash, unprocessable,
};
use crate::workshop::history::service as history;
use crate::workshop::maintenance::web::{AlertRow, InterventionRow, client_alerts, intervention_rows};
use crate::workshop::quotes::service::{self as quotes, QuoteFilter};
use crate::workshop::quotes::web::{QuoteRow, quote_rows};

pub fn routes() -> Routes {
    vec![
        ("/clients", get(index).post(create)),
        ("/clients/{id}", get(show)),
        ("/clients/{id}/vehicles", post(assign_vehicle)),
        ("/clients/{id}/vehicles/{vehicle_id}/release", post(release_vehicle)),
    ]
}

/// The form pages: only for those who may send them (`WorkshopWrite` to open them too).
pub fn form_routes() -> Routes {
    vec![
        ("/clients/new", get(new_form)),
        ("/clients/{id}/edit", get(edit_form).post(update)),
        ("/clients/{id}/delete", get(confirm_delete).post(delete)),
    ]
}

/// A client as lists show it.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub contact: String,
    pub email: String,
    pub phone: String,
}

impl From<&Client> for ClientRow {
    fn from(c: &Client) -> Self {
        Self {
            id: c.id,
            name: c.display_name().to_owned(),
            contact: if c.company_name.is_some() { c.name.clone() } else { String::new() },
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/clients/results.html")]
struct Results {
    page: PageCtx,
    q: String,
    clients: Vec<ClientRow>,
    sorting: Sorting,
    /// How many the search finds, swapped into the page's heading.
    total: String,
    next_url: Option<String>,
    previous_url: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/clients/list.html")]
struct ListPage {
    page: PageCtx,
    export_query: String,
    q: String,
    clients: Vec<ClientRow>,
    sorting: Sorting,
    next_url: Option<String>,
    previous_url: Option<String>,
    total: String,
}

async fn index(caller: Caller, page: PageCtx, listing: Listing) -> WebResult<Response> {
    let q = listing.q.clone();
    // A garage finds its clients by name.
    let sort = listing.sort(ClientSort::ascending(ClientField::Name));
    let found = service::list_sorted(&caller.db, caller.org, Some(&q), sort, listing.request.clone()).await?;
    let next_url = listing.next_url(found.next_cursor.as_deref());
    let clients = found.items.iter().map(ClientRow::from).collect();
    let total = if search_term(&q).is_empty() {
        listing.total::<crate::workshop::clients::entity::client::Entity>(&caller.db, caller.org).await?
    } else {
        Listing::matching_of(service::count(&caller.db, caller.org, &q).await?)
    };
    let tr = &page.tr;
    let sorting = listing.sorting(
        sort,
        &[("name", tr.t("client.name"), false)],
        &[
            ("name", tr.t("list.sort.name")),
            ("-name", tr.t("list.sort.name_desc")),
            ("-id", tr.t("list.sort.newest")),
            ("id", tr.t("list.sort.oldest")),
        ],
    );
    let results = Results { page, q, clients, sorting, total, next_url, previous_url: listing.previous_url() };
    Ok(fragment_or_page(results.page.htmx, results, |r| ListPage {
        export_query: listing.query_without_cursor(),
        page: r.page,
        q: r.q,
        clients: r.clients,
        sorting: r.sorting,
        next_url: r.next_url,
        previous_url: r.previous_url,
        total: r.total,
    }))
}

/// An ownership as the client page shows it.
#[derive(Debug, Clone)]
pub struct OwnedVehicle {
    pub row: VehicleRow,
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/clients/show.html")]
struct ShowPage {
    page: PageCtx,
    c: Client,
    kind_label: String,
    vehicles: Vec<OwnedVehicle>,
    quotes: Vec<QuoteRow>,
    /// The shared quotes table's sortable headings (none here: a short list).
    sorting: Option<crate::workshop::quotes::web::QuoteSorting>,
    alerts: Vec<AlertRow>,
    interventions: Vec<InterventionRow>,
    snooze_default: String,
    back: String,
    errors: FormErrors,
    plate: String,
    /// Shared alerts table: the owner is this client, no bulk selection here.
    alerts_page: bool,
    /// The nearest garages (at most five), or why there are none.
    nearest: Vec<(service::GarageDistance, String)>,
    location_note: Option<&'static str>,
    /// Who found the client's place from the address.
    geocoder_credit: Option<String>,
}

async fn show_page(
    caller: &Caller,
    page: PageCtx,
    id: i64,
    errors: FormErrors,
    plate: String,
) -> Result<ShowPage, AppError> {
    let c = service::get(&caller.db, caller.org, id).await?;
    let owned = service::vehicles_of(&caller.db, caller.org, id).await?;
    let vehicle_ids: Vec<i64> = owned.iter().map(|v| v.id).collect();
    let alerts = client_alerts(caller, vehicle_ids, page.tr).await?;
    let names = crate::workshop::maintenance::service::organization_rules(&caller.db, caller.org)
        .await?
        .into_iter()
        .map(|r| (r.kind, r.name))
        .collect();
    let interventions = intervention_rows(history::of_client(&caller.db, caller.org, id, 20).await?, &names);
    let garage_ids = owned.iter().map(|v| v.garage_id).collect();
    let names = crate::fleet::garages::service::names(&caller.db, caller.org, garage_ids).await?;
    let vehicles = owned
        .into_iter()
        .map(|v| {
            let garage = names.get(&v.garage_id).cloned().unwrap_or_default();
            OwnedVehicle { row: VehicleRow::new(v, garage) }
        })
        .collect();
    let filter = QuoteFilter { client_id: Some(id), ..Default::default() };
    let found = quotes::list(&caller.db, caller.org, &filter, PageRequest::first(20)).await?;
    let quotes = quote_rows(&caller.db, caller.org, found.items).await?;
    let kind_label = page.tr.t(c.kind.label_key()).to_owned();
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let snooze_default = today.checked_add_days(chrono::Days::new(14)).unwrap_or(today).to_string();
    let back = format!("/clients/{id}");
    let distances = service::distances(&caller.db, caller.org, id).await?;
    let map = crate::platform::geo::MapView::of(&caller.config);
    // A client has no pin: what stands in the way is said for a client.
    let location_note = match &distances.location {
        Some(location) if location.point().is_none() => Some(match location.status {
            _ if !map.geocoder => "client.no_geocoder",
            crate::platform::geo::LocationStatus::NotFound => "client.address_not_found",
            other => other.label_key(),
        }),
        _ => None,
    };
    let nearest = distances
        .garages
        .into_iter()
        .take(5)
        .map(|g| {
            let km = crate::platform::geo::format_km(g.distance_km);
            (g, km)
        })
        .collect();
    Ok(ShowPage {
        geocoder_credit: map.geocoder_credit,
        nearest,
        location_note,
        page,
        c,
        kind_label,
        vehicles,
        quotes,
        sorting: None,
        alerts,
        interventions,
        snooze_default,
        back,
        errors,
        plate,
        alerts_page: false,
    })
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ShowPage> {
    Ok(show_page(&caller, page, id, FormErrors::default(), String::new()).await?)
}

/// The form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClientForm {
    pub kind: String,
    pub name: String,
    pub company_name: String,
    pub tax_id: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub notes: String,
    pub consent_marketing: Option<String>,
    pub consent_notifications: Option<String>,
    /// The client's vehicle, entered with them (a walk-in customer: one screen).
    pub vehicle_garage_id: String,
    pub vehicle_license_plate: String,
    pub vehicle_brand: String,
    pub vehicle_model: String,
    pub vehicle_year: String,
    pub vehicle_mileage_km: String,
}

/// What a vehicle's fields are called in the client form.
const VEHICLE_PREFIX: &str = "vehicle_";

impl ClientForm {
    /// The vehicle typed with a new client, if any of its fields was.
    fn vehicle(&self) -> Option<VehicleForm> {
        let typed = [&self.vehicle_license_plate, &self.vehicle_brand, &self.vehicle_model, &self.vehicle_year];
        typed.iter().any(|field| !field.trim().is_empty()).then(|| VehicleForm {
            garage_id: self.vehicle_garage_id.clone(),
            license_plate: self.vehicle_license_plate.clone(),
            brand: self.vehicle_brand.clone(),
            model: self.vehicle_model.clone(),
            year: self.vehicle_year.clone(),
            mileage_km: self.vehicle_mileage_km.clone(),
            ..VehicleForm::default()
        })
    }

    fn from_client(c: &Client) -> Self {
        Self {
            vehicle_garage_id: String::new(),
            vehicle_license_plate: String::new(),
            vehicle_brand: String::new(),
            vehicle_model: String::new(),
            vehicle_year: String::new(),
            vehicle_mileage_km: String::new(),
            kind: c.kind.as_str().to_owned(),
            name: c.name.clone(),
            company_name: c.company_name.clone().unwrap_or_default(),
            tax_id: c.tax_id.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            address: c.address.clone().unwrap_or_default(),
            notes: c.notes.clone().unwrap_or_default(),
            consent_marketing: c.consent_marketing.then(|| "on".to_owned()),
            consent_notifications: c.consent_notifications.then(|| "on".to_owned()),
        }
    }

    fn to_input(&self) -> ClientInput {
        ClientInput {
            kind: Some(ClientKind::parse(self.kind.trim()).unwrap_or(ClientKind::Individual)),
            name: Some(self.name.clone()),
            company_name: Some(self.company_name.clone()),
            tax_id: Some(self.tax_id.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            address: Some(self.address.clone()),
            notes: Some(self.notes.clone()),
            consent_marketing: Some(self.consent_marketing.is_some()),
            consent_notifications: Some(self.consent_notifications.is_some()),
        }
    }

    pub fn is_company(&self) -> bool {
        self.kind == "company"
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/clients/form.html")]
struct FormPage {
    page: PageCtx,
    target: FormTarget,
    form: ClientForm,
    errors: FormErrors,
    /// A new client's vehicle may be entered with them: the garages to put it in
    /// (none when editing, or when the organization has no garage).
    vehicle_garages: Vec<SelectOption>,
}

impl FormPage {
    async fn creating(caller: &Caller, page: PageCtx, form: ClientForm, errors: FormErrors) -> Result<Self, AppError> {
        let target = FormTarget::creating(page.tr.t("clients.new").to_owned(), "/clients");
        let vehicle_garages = garage_options(caller, &form.vehicle_garage_id, false).await?;
        Ok(Self { page, target, form, errors, vehicle_garages })
    }

    fn editing(page: PageCtx, id: i64, name: &str, form: ClientForm, errors: FormErrors) -> Self {
        let target = FormTarget::editing(page.tr.f("clients.edit", "name", name), "/clients", id);
        Self { page, target, form, errors, vehicle_garages: Vec::new() }
    }
}

async fn new_form(caller: Caller, page: PageCtx) -> WebResult<FormPage> {
    Ok(FormPage::creating(&caller, page, ClientForm::default(), FormErrors::default()).await?)
}

/// Why a client (and their vehicle) was not created: mistakes to show beside
/// the form's fields, or another error.
enum Refused {
    Form(FormErrors),
    Other(AppError),
}

impl From<sea_orm::DbErr> for Refused {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Other(err.into())
    }
}

impl Refused {
    /// `err` as the form shows it, its fields named with `prefix`.
    fn of(err: AppError, prefix: &str) -> Self {
        match FormErrors::from_app_error(err) {
            Ok(errors) => Self::Form(errors.prefixed(prefix)),
            Err(other) => Self::Other(other),
        }
    }
}

/// A new client, and with them their vehicle when one was typed: both or
/// neither, every mistake of both shown at once.
async fn create(caller: Caller, page: PageCtx, FormBody(form): FormBody<ClientForm>) -> WebResult<Response> {
    let vehicle = match form.vehicle().map(|v| v.parse()) {
        None => None,
        Some(Ok(input)) => Some(input),
        Some(Err(errors)) => {
            let page = FormPage::creating(&caller, page, form, errors.prefixed(VEHICLE_PREFIX)).await?;
            return Ok(unprocessable(page));
        }
    };
    let actor = &caller.actor;
    let created = db::write(&caller.db, async |txn| {
        let client = service::create(txn, actor, &form.to_input()).await.map_err(|e| Refused::of(e, ""));
        let Some(input) = &vehicle else { return client };
        let car = vehicles::create(txn, actor, input).await.map_err(|e| Refused::of(e, VEHICLE_PREFIX));
        match (client, car) {
            (Ok(client), Ok(car)) => {
                service::assign_vehicle(txn, actor, client.id, car.id).await.map_err(Refused::Other)?;
                Ok(client)
            }
            (Err(Refused::Form(mut first)), Err(Refused::Form(second))) => {
                first.extend(second);
                Err(Refused::Form(first))
            }
            (Err(err), _) | (_, Err(err)) => Err(err),
        }
    })
    .await;
    match created {
        Ok(client) => {
            let message = i18n::current().format("clients.created", &[("name", client.display_name())]);
            Ok(redirect_with_flash(&format!("/clients/{}", client.id), "success", &message))
        }
        Err(Refused::Form(errors)) => Ok(unprocessable(FormPage::creating(&caller, page, form, errors).await?)),
        Err(Refused::Other(err)) => Err(err.into()),
    }
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FormPage> {
    let client = service::get(&caller.db, caller.org, id).await?;
    Ok(FormPage::editing(page, id, client.display_name(), ClientForm::from_client(&client), FormErrors::default()))
}

async fn update(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<ClientForm>,
) -> WebResult<Response> {
    let result = service::replace(&caller.db, &caller.actor, id, &form.to_input()).await;
    let done = |client: Client| {
        let message = i18n::current().format("clients.updated", &[("name", client.display_name())]);
        redirect_with_flash(&format!("/clients/{id}"), "success", &message)
    };
    form_flow(result, done, async |errors| {
        let name = form.name.clone();
        Ok(FormPage::editing(page, id, &name, form, errors))
    })
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/clients/delete.html")]
struct DeletePage {
    page: PageCtx,
    c: Client,
}

async fn confirm_delete(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<DeletePage> {
    Ok(DeletePage { page, c: service::get(&caller.db, caller.org, id).await? })
}

async fn delete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let client = service::get(&caller.db, caller.org, id).await?;
    match service::delete(&caller.db, &caller.actor, id).await {
        Ok(()) => {
            let message = i18n::current().format("clients.deleted", &[("name", client.display_name())]);
            Ok(redirect_with_flash("/clients", "success", &message))
        }
        Err(err) => refusal_to_flash(&format!("/clients/{id}"), err),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AssignForm {
    plate: String,
}

async fn assign_vehicle(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<AssignForm>,
) -> WebResult<Response> {
    let result = match vehicles::find_by_plate(&caller.db, caller.org, &form.plate).await? {
        Some(vehicle) => service::assign_vehicle(&caller.db, &caller.actor, id, vehicle.id).await.map(|_| vehicle),
        None => Err(AppError::validation("plate", Msg::new("client.plate_unknown").arg("plate", form.plate.trim()))),
    };
    match result {
        Ok(vehicle) => {
            let message = i18n::current().format("clients.vehicle_assigned", &[("plate", &vehicle.license_plate)]);
            Ok(redirect_with_flash(&format!("/clients/{id}"), "success", &message))
        }
        Err(err) => {
            let mut errors = FormErrors::from_app_error(err)?;
            if let Some(message) = errors.get("vehicle_id").map(str::to_owned) {
                errors.add("plate", message);
            }
            Ok(unprocessable(show_page(&caller, page, id, errors, form.plate).await?))
        }
    }
}

async fn release_vehicle(caller: Caller, IdPair(id, vehicle_id): IdPair) -> WebResult<Response> {
    service::release_vehicle(&caller.db, &caller.actor, id, vehicle_id).await?;
    let message = i18n::current().text("clients.vehicle_released").to_owned();
    Ok(redirect_with_flash(&format!("/clients/{id}"), "success", &message))
}

/// Who owns a vehicle, and who may become its owner: the hub's "change".
pub fn owner_routes() -> Routes {
    vec![("/vehicles/{id}/owner", get(owner_page).post(choose_owner)), ("/vehicles/{id}/owner/new", post(new_owner))]
}

/// Most clients a search offers as the new owner.
const OWNER_CHOICES: u64 = 20;

#[derive(Template, WebTemplate)]
#[template(path = "workshop/clients/owner.html")]
struct OwnerPage {
    page: PageCtx,
    vehicle: vehicles::Vehicle,
    current: Option<Client>,
    q: String,
    /// Clients the search found (by name), the current owner left out.
    found: Vec<ClientRow>,
    /// The new client's form, as typed.
    form: ClientForm,
    errors: FormErrors,
}

async fn owner_page_of(
    caller: &Caller,
    page: PageCtx,
    id: i64,
    q: String,
    form: ClientForm,
    errors: FormErrors,
) -> Result<OwnerPage, AppError> {
    let vehicle = vehicles::get(&caller.db, caller.org, id).await?;
    let current = service::current_owner(&caller.db, caller.org, id).await?;
    let found = if search_term(&q).is_empty() {
        Vec::new()
    } else {
        let sort = ClientSort::ascending(ClientField::Name);
        let page = PageRequest::first(OWNER_CHOICES);
        let clients = service::list_sorted(&caller.db, caller.org, Some(&q), sort, page).await?.items;
        let owner = current.as_ref().map(|c| c.id);
        clients.iter().filter(|c| Some(c.id) != owner).map(ClientRow::from).collect()
    };
    Ok(OwnerPage { page, vehicle, current, q, found, form, errors })
}

async fn owner_page(caller: Caller, page: PageCtx, Id(id): Id, listing: Listing) -> WebResult<OwnerPage> {
    let q = listing.q.clone();
    Ok(owner_page_of(&caller, page, id, q, ClientForm::default(), FormErrors::default()).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OwnerChoice {
    client_id: String,
}

/// An existing client becomes the owner (the previous one's period ends).
async fn choose_owner(caller: Caller, Id(id): Id, FormBody(choice): FormBody<OwnerChoice>) -> WebResult<Response> {
    let client_id = choice.client_id.trim().parse::<i64>().map_err(|_| AppError::BadRequest("client_id".into()))?;
    let hub = format!("/vehicles/{id}/maintenance");
    match service::assign_vehicle(&caller.db, &caller.actor, client_id, id).await {
        Ok(ownership) => {
            let message = i18n::current().format("clients.owner_changed", &[("name", &ownership.client_name)]);
            Ok(redirect_with_flash(&hub, "success", &message))
        }
        Err(err) => refusal_to_flash(&hub, err),
    }
}

/// A new client, created as the owner in the same step.
async fn new_owner(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<ClientForm>,
) -> WebResult<Response> {
    let actor = &caller.actor;
    let created = db::write(&caller.db, async |txn| {
        let client = service::create(txn, actor, &form.to_input()).await?;
        service::assign_vehicle(txn, actor, client.id, id).await?;
        Ok::<_, AppError>(client)
    })
    .await;
    match created {
        Ok(client) => {
            let message = i18n::current().format("clients.owner_changed", &[("name", client.display_name())]);
            Ok(redirect_with_flash(&format!("/vehicles/{id}/maintenance"), "success", &message))
        }
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(owner_page_of(&caller, page, id, String::new(), form, errors).await?))
        }
    }
}
