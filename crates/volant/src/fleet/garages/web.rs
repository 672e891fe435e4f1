//! Garage pages (French UI): list, page with its vehicles, create, edit, delete.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::service::{self, Garage, GarageField, GarageInput, GarageSort};
use crate::fleet::vehicles::service as vehicles;
use crate::fleet::vehicles::view::VehicleRow;
use crate::fleet::vehicles::web::{VehicleResults, vehicle_sorting};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::geo::{self, MapPoint, MapView};
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{
    FormErrors, FormTarget, Listing, PageCtx, Sorting, WebResult, form_flow, fragment_or_page, redirect_with_flash,
    refusal_to_flash,
};

pub fn routes() -> Routes {
    vec![("/garages", get(index).post(create)), ("/garages/map", get(map_page)), ("/garages/{id}", get(show))]
}

/// The form pages: only for those who may send them (`FleetWrite` to open them too).
pub fn form_routes() -> Routes {
    vec![
        ("/garages/new", get(new_form)),
        ("/garages/{id}/edit", get(edit_form).post(update)),
        ("/garages/{id}/delete", get(confirm_delete).post(delete)),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/garages/list.html")]
struct ListPage {
    page: PageCtx,
    garages: Vec<Garage>,
    sorting: Sorting,
    next_url: Option<String>,
    previous_url: Option<String>,
    total: String,
}

async fn index(caller: Caller, page: PageCtx, listing: Listing) -> WebResult<ListPage> {
    // A network's garages are looked up by name.
    let sort = listing.sort(GarageSort::ascending(GarageField::Name));
    let garages = service::list(&caller.db, caller.org, sort, listing.request.clone()).await?;
    let next_url = listing.next_url(garages.next_cursor.as_deref());
    let total = listing.total::<super::entity::Entity>(&caller.db, caller.org).await?;
    let tr = &page.tr;
    let sorting = listing.sorting(
        sort,
        &[("name", tr.t("garage.name"), false), ("vehicles", tr.t("garages.vehicle_count"), true)],
        &[
            ("name", tr.t("list.sort.name")),
            ("-name", tr.t("list.sort.name_desc")),
            ("-vehicles", tr.t("garages.sort.most_vehicles")),
            ("-id", tr.t("list.sort.newest")),
            ("id", tr.t("list.sort.oldest")),
        ],
    );
    Ok(ListPage { page, garages: garages.items, sorting, next_url, previous_url: listing.previous_url(), total })
}

/// The network's garages on a map, with the list of their addresses (what stays
/// when the map cannot show).
#[derive(Template, WebTemplate)]
#[template(path = "fleet/garages/map.html")]
struct MapPage {
    page: PageCtx,
    map: MapView,
    points: Vec<MapPoint>,
    garages: Vec<(Garage, &'static str)>,
}

async fn map_page(caller: Caller, page: PageCtx) -> WebResult<MapPage> {
    let map = MapView::of(&caller.config);
    let garages = service::all_with_locations(&caller.db, caller.org).await?;
    let points = garages
        .iter()
        .filter_map(|g| g.point().map(|at| MapPoint::new(&g.name, &g.full_address(), format!("/garages/{}", g.id), at)))
        .collect();
    let garages =
        garages.into_iter().map(|g| (map.status_key(g.location_status), g)).map(|(key, g)| (g, key)).collect();
    Ok(MapPage { page, map, points, garages })
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/garages/show.html")]
struct ShowPage {
    page: PageCtx,
    map: MapView,
    points: Vec<MapPoint>,
    location: &'static str,
    garage: Garage,
    search_action: String,
    q: String,
    vehicles: Vec<VehicleRow>,
    sorting: Sorting,
    next_url: Option<String>,
    previous_url: Option<String>,
    show_garage: bool,
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id, listing: Listing) -> WebResult<Response> {
    let garage = service::get(&caller.db, caller.org, id).await?;
    let q = listing.q.clone();
    let sort = listing.sort(vehicles::VehicleSort::default());
    let found =
        vehicles::list_in_garage(&caller.db, caller.org, id, Some(q.clone()), sort, listing.request.clone()).await?;
    let next_url = listing.next_url(found.next_cursor.as_deref());
    let rows = found.items.into_iter().map(|v| VehicleRow::new(v, garage.name.clone())).collect();
    let previous_url = listing.previous_url();
    let sorting = vehicle_sorting(&listing, sort, &page.tr);
    let total = String::new();
    let map = MapView::of(&caller.config);
    let location = map.status_key(garage.location_status);
    let points: Vec<MapPoint> = garage
        .point()
        .map(|at| MapPoint::new(&garage.name, &garage.full_address(), String::new(), at))
        .into_iter()
        .collect();
    let results =
        VehicleResults { page, q, vehicles: rows, sorting, total, next_url, previous_url, show_garage: false };
    Ok(fragment_or_page(results.page.htmx, results, |r| ShowPage {
        page: r.page,
        map,
        points,
        location,
        search_action: format!("/garages/{}", garage.id),
        garage,
        q: r.q,
        vehicles: r.vehicles,
        sorting: r.sorting,
        next_url: r.next_url,
        previous_url: r.previous_url,
        show_garage: false,
    }))
}

/// The form as typed, re-shown with errors beside the fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GarageForm {
    pub name: String,
    pub address: String,
    pub city: String,
    pub postal_code: String,
    pub phone: String,
    /// A pin placed on the map (or typed); blank: located from the address.
    pub latitude: String,
    pub longitude: String,
}

impl GarageForm {
    fn from_garage(g: &Garage) -> Self {
        // Only a pin is the form's: a position found from the address follows it.
        let pinned = (g.location_status == geo::LocationStatus::Pinned).then_some(()).and(g.point());
        Self {
            latitude: pinned.map(|(lat, _)| lat.to_string()).unwrap_or_default(),
            longitude: pinned.map(|(_, lon)| lon.to_string()).unwrap_or_default(),
            name: g.name.clone(),
            address: g.address.clone(),
            city: g.city.clone().unwrap_or_default(),
            postal_code: g.postal_code.clone().unwrap_or_default(),
            phone: g.phone.clone().unwrap_or_default(),
        }
    }

    /// The input, or the coordinate fields that cannot be read.
    fn to_input(&self) -> Result<GarageInput, crate::platform::error::AppError> {
        let (latitude, longitude) = geo::form_coordinates(&self.latitude, &self.longitude)?;
        Ok(GarageInput {
            name: Some(self.name.clone()),
            address: Some(self.address.clone()),
            city: Some(self.city.clone()),
            postal_code: Some(self.postal_code.clone()),
            phone: Some(self.phone.clone()),
            latitude,
            longitude,
            unpin: false,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/garages/form.html")]
struct FormPage {
    page: PageCtx,
    map: MapView,
    points: Vec<MapPoint>,
    target: FormTarget,
    form: GarageForm,
    errors: FormErrors,
}

impl FormPage {
    fn creating(page: PageCtx, map: MapView, form: GarageForm, errors: FormErrors) -> Self {
        let target = FormTarget::creating(page.tr.t("garages.new").to_owned(), "/garages");
        Self { page, map, points: Vec::new(), target, form, errors }
    }

    /// Editing shows where the garage is now (found or pinned) beside the pin.
    fn editing(page: PageCtx, map: MapView, garage: &Garage, form: GarageForm, errors: FormErrors) -> Self {
        let target = FormTarget::editing(page.tr.f("garages.edit", "name", &garage.name), "/garages", garage.id);
        let pinned = !form.latitude.trim().is_empty();
        let points = garage
            .point()
            .filter(|_| !pinned)
            .map(|at| MapPoint::new(&garage.name, &garage.full_address(), String::new(), at))
            .into_iter()
            .collect();
        Self { page, map, points, target, form, errors }
    }
}

async fn new_form(caller: Caller, page: PageCtx) -> FormPage {
    FormPage::creating(page, MapView::of(&caller.config), GarageForm::default(), FormErrors::default())
}

async fn create(caller: Caller, page: PageCtx, FormBody(form): FormBody<GarageForm>) -> WebResult<Response> {
    let result = match form.to_input() {
        Ok(input) => service::create(&caller.db, &caller.actor, &input).await,
        Err(err) => Err(err),
    };
    let map = MapView::of(&caller.config);
    let done = |garage: Garage| {
        let message = i18n::current().format("garages.created", &[("name", &garage.name)]);
        redirect_with_flash(&format!("/garages/{}", garage.id), "success", &message)
    };
    form_flow(result, done, async |errors| Ok(FormPage::creating(page, map, form, errors))).await
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FormPage> {
    let garage = service::get(&caller.db, caller.org, id).await?;
    let form = GarageForm::from_garage(&garage);
    Ok(FormPage::editing(page, MapView::of(&caller.config), &garage, form, FormErrors::default()))
}

async fn update(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<GarageForm>,
) -> WebResult<Response> {
    let current = service::get(&caller.db, caller.org, id).await?;
    let result = match form.to_input() {
        Ok(mut input) => {
            let pinned_at = current.point().filter(|_| current.location_status == geo::LocationStatus::Pinned);
            let moved = (form.address.trim(), form.postal_code.trim(), form.city.trim())
                != (
                    current.address.as_str(),
                    current.postal_code.as_deref().unwrap_or(""),
                    current.city.as_deref().unwrap_or(""),
                );
            let (pin, unpin) = geo::form_pin(input.latitude.zip(input.longitude), pinned_at, moved);
            (input.latitude, input.longitude, input.unpin) = (pin.map(|p| p.0), pin.map(|p| p.1), unpin);
            service::replace(&caller.db, &caller.actor, id, &input).await
        }
        Err(err) => Err(err),
    };
    let done = |garage: Garage| {
        let message = i18n::current().format("garages.updated", &[("name", &garage.name)]);
        redirect_with_flash(&format!("/garages/{id}"), "success", &message)
    };
    form_flow(result, done, async |errors| {
        let garage = service::get(&caller.db, caller.org, id).await?;
        Ok(FormPage::editing(page, MapView::of(&caller.config), &garage, form, errors))
    })
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "fleet/garages/delete.html")]
struct DeletePage {
    page: PageCtx,
    garage: Garage,
    blocked_message: String,
}

async fn confirm_delete(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<DeletePage> {
    let garage = service::get(&caller.db, caller.org, id).await?;
    let blocked_message = Msg::new("garage.has_vehicles").arg("count", garage.vehicle_count).render(i18n::current());
    Ok(DeletePage { page, garage, blocked_message })
}

async fn delete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let garage = service::get(&caller.db, caller.org, id).await?;
    match service::delete(&caller.db, &caller.actor, id).await {
        Ok(()) => {
            let message = i18n::current().format("garages.deleted", &[("name", &garage.name)]);
            Ok(redirect_with_flash("/garages", "success", &message))
        }
        Err(err) => refusal_to_flash(&format!("/garages/{id}"), err),
    }
}
