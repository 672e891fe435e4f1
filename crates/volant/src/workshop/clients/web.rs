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
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id, IdPair};
use crate::platform::i18n::{self, Msg};
use crate::platform::pagination::PageRequest;
use crate::platform::search::search_term;
use crate::platform::web::{
    FormErrors, FormTarget, Listing, PageCtx, Sorting, WebResult, form_flow, fragment_or_page, redirect_with_flash,
    refusal_to_flash, unprocessable,
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
    first_url: Option<String>,
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
    first_url: Option<String>,
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
    let results = Results { page, q, clients, sorting, total, next_url, first_url: listing.first_url() };
    Ok(fragment_or_page(results.page.htmx, results, |r| ListPage {
        export_query: listing.query_without_cursor(),
        page: r.page,
        q: r.q,
        clients: r.clients,
        sorting: r.sorting,
        next_url: r.next_url,
        first_url: r.first_url,
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
    let today = chrono::Utc::now().date_naive();
    let snooze_default = today.checked_add_days(chrono::Days::new(14)).unwrap_or(today).to_string();
    let back = format!("/clients/{id}");
    Ok(ShowPage {
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
}

impl ClientForm {
    fn from_client(c: &Client) -> Self {
        Self {
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
}

impl FormPage {
    fn creating(page: PageCtx, form: ClientForm, errors: FormErrors) -> Self {
        let target = FormTarget::creating(page.tr.t("clients.new").to_owned(), "/clients");
        Self { page, target, form, errors }
    }

    fn editing(page: PageCtx, id: i64, name: &str, form: ClientForm, errors: FormErrors) -> Self {
        let target = FormTarget::editing(page.tr.f("clients.edit", "name", name), "/clients", id);
        Self { page, target, form, errors }
    }
}

async fn new_form(page: PageCtx) -> FormPage {
    FormPage::creating(page, ClientForm::default(), FormErrors::default())
}

async fn create(caller: Caller, page: PageCtx, FormBody(form): FormBody<ClientForm>) -> WebResult<Response> {
    let result = service::create(&caller.db, &caller.actor, &form.to_input()).await;
    let done = |client: Client| {
        let message = i18n::current().format("clients.created", &[("name", client.display_name())]);
        redirect_with_flash(&format!("/clients/{}", client.id), "success", &message)
    };
    form_flow(result, done, async |errors| Ok(FormPage::creating(page, form, errors))).await
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
