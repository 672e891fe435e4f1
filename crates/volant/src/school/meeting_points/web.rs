//! The school's meeting points pages: the list on a map, and the form that
//! places one (address, or a pin on the map).

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::service::{self, MeetingPoint, MeetingPointInput};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::geo::{self, LocationStatus, MapPoint, MapView};
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n;
use crate::platform::web::{FormErrors, PageCtx, WebResult, form_flow, redirect_with_flash, refusal_to_flash};

pub fn routes() -> Routes {
    vec![
        ("/school/meeting-points", get(list_page).post(create)),
        ("/school/meeting-points/new", get(new_form)),
        ("/school/meeting-points/{id}", get(edit_form).post(update)),
        ("/school/meeting-points/{id}/delete", post(delete)),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "school/meeting_points/list.html")]
struct ListPage {
    page: PageCtx,
    map: MapView,
    points: Vec<MapPoint>,
    rows: Vec<(MeetingPoint, &'static str)>,
    /// Where lessons at no named point are forecast: the first located point.
    default_id: Option<i64>,
}

async fn list_page(caller: Caller, page: PageCtx) -> WebResult<ListPage> {
    let map = MapView::of(&caller.config);
    let all = service::list(&caller.db, caller.org).await?;
    let points = all
        .iter()
        .filter_map(|p| {
            p.point().map(|at| MapPoint::new(&p.name, &p.address, format!("/school/meeting-points/{}", p.id), at))
        })
        .collect();
    let default_id = all.iter().filter(|p| p.point().is_some()).map(|p| p.id).min();
    let rows = all.into_iter().map(|p| (map.status_key(p.location_status), p)).map(|(key, p)| (p, key)).collect();
    Ok(ListPage { page, map, points, rows, default_id })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct PointForm {
    name: String,
    address: String,
    latitude: String,
    longitude: String,
}

impl PointForm {
    fn of(point: &MeetingPoint) -> Self {
        let pinned = (point.location_status == LocationStatus::Pinned).then_some(()).and(point.point());
        Self {
            name: point.name.clone(),
            address: point.address.clone(),
            latitude: pinned.map(|(lat, _)| lat.to_string()).unwrap_or_default(),
            longitude: pinned.map(|(_, lon)| lon.to_string()).unwrap_or_default(),
        }
    }

    fn to_input(&self) -> Result<MeetingPointInput, AppError> {
        let (latitude, longitude) = geo::form_coordinates(&self.latitude, &self.longitude)?;
        Ok(MeetingPointInput {
            name: Some(self.name.clone()),
            address: Some(self.address.clone()),
            latitude,
            longitude,
            unpin: false,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/meeting_points/form.html")]
struct FormPage {
    page: PageCtx,
    map: MapView,
    /// Where the point is now, when found from its address (a pin is in the form).
    points: Vec<MapPoint>,
    /// `None` for a new point.
    point: Option<MeetingPoint>,
    status: Option<&'static str>,
    form: PointForm,
    errors: FormErrors,
}

impl FormPage {
    fn new(page: PageCtx, map: MapView, point: Option<MeetingPoint>, form: PointForm, errors: FormErrors) -> Self {
        let pinned = !form.latitude.trim().is_empty();
        let points = point
            .as_ref()
            .filter(|_| !pinned)
            .and_then(|p| p.point().map(|at| MapPoint::new(&p.name, &p.address, String::new(), at)))
            .into_iter()
            .collect();
        let status = point.as_ref().map(|p| map.status_key(p.location_status));
        Self { page, map, points, point, status, form, errors }
    }
}

async fn new_form(caller: Caller, page: PageCtx) -> FormPage {
    FormPage::new(page, MapView::of(&caller.config), None, PointForm::default(), FormErrors::default())
}

async fn create(caller: Caller, page: PageCtx, FormBody(form): FormBody<PointForm>) -> WebResult<Response> {
    let result = match form.to_input() {
        Ok(input) => service::create(&caller.db, &caller.actor, &input).await,
        Err(err) => Err(err),
    };
    let done = |point: MeetingPoint| {
        let message = i18n::current().format("meeting_point.created", &[("name", &point.name)]);
        redirect_with_flash("/school/meeting-points", "success", &message)
    };
    let map = MapView::of(&caller.config);
    form_flow(result, done, async |errors| Ok(FormPage::new(page, map, None, form, errors))).await
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FormPage> {
    let point = service::get(&caller.db, caller.org, id).await?;
    let form = PointForm::of(&point);
    Ok(FormPage::new(page, MapView::of(&caller.config), Some(point), form, FormErrors::default()))
}

async fn update(caller: Caller, page: PageCtx, Id(id): Id, FormBody(form): FormBody<PointForm>) -> WebResult<Response> {
    let current = service::get(&caller.db, caller.org, id).await?;
    let result = match form.to_input() {
        Ok(mut input) => {
            let pinned_at = current.point().filter(|_| current.location_status == LocationStatus::Pinned);
            let moved = form.address.trim() != current.address;
            let (pin, unpin) = geo::form_pin(input.latitude.zip(input.longitude), pinned_at, moved);
            (input.latitude, input.longitude, input.unpin) = (pin.map(|p| p.0), pin.map(|p| p.1), unpin);
            service::replace(&caller.db, &caller.actor, id, &input).await
        }
        Err(err) => Err(err),
    };
    let done = |point: MeetingPoint| {
        let message = i18n::current().format("meeting_point.updated", &[("name", &point.name)]);
        redirect_with_flash("/school/meeting-points", "success", &message)
    };
    form_flow(result, done, async |errors| {
        let point = service::get(&caller.db, caller.org, id).await?;
        Ok(FormPage::new(page, MapView::of(&caller.config), Some(point), form, errors))
    })
    .await
}

async fn delete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let point = service::get(&caller.db, caller.org, id).await?;
    match service::delete(&caller.db, &caller.actor, id).await {
        Ok(()) => {
            let message = i18n::current().format("meeting_point.deleted", &[("name", &point.name)]);
            Ok(redirect_with_flash("/school/meeting-points", "success", &message))
        }
        Err(err) => refusal_to_flash(&format!("/school/meeting-points/{id}"), err),
    }
}
