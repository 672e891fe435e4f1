//! The school's set-up (staff): instructors with their week and days off,
//! training vehicles, and the school's rules.

use std::str::FromStr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::fleet::vehicles::service as fleet_vehicles;
use crate::identity::Tenant;
use crate::identity::audit::Actor;
use crate::identity::auth::web_pages::Routes;
use crate::identity::users::service as users;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::tenant::OrgId;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::school::people::CATEGORIES;
use crate::school::people::instructors::{self, Availability, DayOff, Instructor, InstructorInput, WeeklySlot};
use crate::school::people::settings::{self, SchoolSettings};
use crate::school::people::vehicles::{self, TrainingVehicle, TrainingVehicleInput};

pub fn routes() -> Routes {
    vec![
        ("/school/instructors", get(instructors_page).post(create_instructor)),
        ("/school/instructors/{id}", get(edit_instructor).post(update_instructor)),
        ("/school/vehicles", get(vehicles_page).post(flag_vehicle)),
        ("/school/settings", get(settings_page).post(save_settings)),
    ]
}

/// The instructor form as typed: identity, categories ticked, one or two windows a day, days off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InstructorForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub licence_number: String,
    pub account_email: String,
    pub active: Option<String>,
    #[serde(flatten)]
    pub rest: std::collections::HashMap<String, String>,
}

/// A day of the week as the form shows it: its number, name, and two windows.
#[derive(Debug, Clone)]
pub struct DayRow {
    pub weekday: i16,
    pub name: String,
    pub windows: [(String, String); 2],
}

impl InstructorForm {
    fn field(&self, name: &str) -> &str {
        self.rest.get(name).map_or("", String::as_str)
    }

    fn categories(&self) -> Vec<String> {
        CATEGORIES.iter().filter(|c| self.rest.contains_key(&format!("cat_{c}"))).map(|c| (*c).to_owned()).collect()
    }

    fn week(&self) -> Vec<WeeklySlot> {
        let mut slots = Vec::new();
        for weekday in 1..=7_i16 {
            for n in 1..=2 {
                let start = self.field(&format!("d{weekday}_s{n}")).trim();
                let end = self.field(&format!("d{weekday}_e{n}")).trim();
                if !start.is_empty() || !end.is_empty() {
                    slots.push(WeeklySlot { weekday, start: start.to_owned(), end: end.to_owned() });
                }
            }
        }
        slots
    }

    fn days_off(&self, errors: &mut FormErrors) -> Vec<DayOff> {
        let mut days = Vec::new();
        for line in self.field("days_off").lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (date, reason) = line.split_once(' ').unwrap_or((line, ""));
            match date.parse::<NaiveDate>() {
                Ok(day) => days.push(DayOff { day, reason: Some(reason.trim().to_owned()).filter(|r| !r.is_empty()) }),
                Err(_) => errors.add("days_off", Msg::new("field.date_invalid").render(i18n::current())),
            }
        }
        days
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/instructors.html")]
struct InstructorsPage {
    page: PageCtx,
    instructors: Vec<Instructor>,
    heading: String,
    action: String,
    form: InstructorForm,
    days: Vec<DayRow>,
    days_off: String,
    checked: Vec<(String, bool)>,
    errors: FormErrors,
}

fn day_rows(tr: &i18n::Tr, week: &[WeeklySlot]) -> Vec<DayRow> {
    let names = ["day.mon", "day.tue", "day.wed", "day.thu", "day.fri", "day.sat", "day.sun"];
    (1..=7_i16)
        .map(|weekday| {
            let mine: Vec<&WeeklySlot> = week.iter().filter(|s| s.weekday == weekday).collect();
            let window =
                |i: usize| mine.get(i).map_or((String::new(), String::new()), |s| (s.start.clone(), s.end.clone()));
            DayRow {
                weekday,
                name: tr.t(names[usize::try_from(weekday - 1).unwrap_or(0)]).to_owned(),
                windows: [window(0), window(1)],
            }
        })
        .collect()
}

async fn page(
    state: &AppState,
    org: OrgId,
    page: PageCtx,
    editing: Option<(&Instructor, &Availability, String)>,
    posted: Option<(InstructorForm, FormErrors)>,
) -> Result<InstructorsPage, AppError> {
    let tr = page.tr;
    let list = instructors::list(&state.db, org).await?;
    let editing_target = editing.as_ref().map(|(i, _, _)| (i.full_name(), i.id));
    let (heading, action, form, week, days_off, categories) = match (editing, posted) {
        (_, Some((form, _))) => {
            let (heading, action) = match editing_target {
                Some((name, id)) => (tr.f("instructors.edit", "name", &name), format!("/school/instructors/{id}")),
                None => (tr.t("instructors.new").to_owned(), "/school/instructors".to_owned()),
            };
            let week = form.week();
            let days_off = form.field("days_off").to_owned();
            let categories = form.categories();
            (heading, action, form, week, days_off, categories)
        }
        (Some((i, availability, account)), None) => {
            let form = InstructorForm {
                first_name: i.first_name.clone(),
                last_name: i.last_name.clone(),
                email: i.email.clone().unwrap_or_default(),
                phone: i.phone.clone().unwrap_or_default(),
                licence_number: i.licence_number.clone(),
                account_email: account,
                active: i.active.then(|| "on".to_owned()),
                rest: Default::default(),
            };
            let days_off = availability
                .days_off
                .iter()
                .map(|d| format!("{} {}", d.day, d.reason.clone().unwrap_or_default()).trim().to_owned())
                .collect::<Vec<_>>()
                .join("\n");
            (
                tr.f("instructors.edit", "name", &i.full_name()),
                format!("/school/instructors/{}", i.id),
                form,
                availability.weekly.clone(),
                days_off,
                i.categories.clone(),
            )
        }
        (None, None) => (
            tr.t("instructors.new").to_owned(),
            "/school/instructors".to_owned(),
            InstructorForm { active: Some("on".to_owned()), ..InstructorForm::default() },
            Vec::new(),
            String::new(),
            vec!["B".to_owned()],
        ),
    };
    let checked = CATEGORIES.iter().map(|c| ((*c).to_owned(), categories.iter().any(|x| x == c))).collect();
    let errors = FormErrors::default();
    Ok(InstructorsPage {
        page,
        instructors: list,
        heading,
        action,
        form,
        days: day_rows(&tr, &week),
        days_off,
        checked,
        errors,
    })
}

async fn instructors_page(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    page_ctx: PageCtx,
) -> WebResult<InstructorsPage> {
    Ok(page(&state, org, page_ctx, None, None).await?)
}

async fn edit_instructor(
    State(state): State<AppState>,
    Tenant(org): Tenant,
    page_ctx: PageCtx,
    Id(id): Id,
) -> WebResult<InstructorsPage> {
    let instructor = instructors::get(&state.db, org, id).await?;
    let availability = instructors::availability(&state.db, org, id).await?;
    let account = match instructor.user_id {
        Some(user) => users::get(&state.db, org, user).await.map(|u| u.email).unwrap_or_default(),
        None => String::new(),
    };
    Ok(page(&state, org, page_ctx, Some((&instructor, &availability, account)), None).await?)
}

async fn save_instructor(
    state: &AppState,
    actor: &Actor,
    id: Option<i64>,
    form: &InstructorForm,
) -> Result<Result<Instructor, FormErrors>, AppError> {
    let mut errors = FormErrors::default();
    let user_id = super::linked_account(state, actor.org, &form.account_email, &mut errors).await?;
    let days_off = form.days_off(&mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let input = InstructorInput {
        user_id,
        first_name: Some(form.first_name.clone()),
        last_name: Some(form.last_name.clone()),
        email: Some(form.email.clone()),
        phone: Some(form.phone.clone()),
        licence_number: Some(form.licence_number.clone()),
        categories: form.categories(),
        active: Some(form.active.is_some()),
    };
    let saved = match id {
        Some(id) => instructors::update(&state.db, actor, id, &input).await,
        None => instructors::create(&state.db, actor, &input).await,
    };
    let instructor = match saved {
        Ok(instructor) => instructor,
        Err(err) => return Ok(Err(FormErrors::from_app_error(err)?)),
    };
    let availability = Availability { weekly: form.week(), days_off };
    match instructors::set_availability(&state.db, actor, instructor.id, &availability).await {
        Ok(_) => Ok(Ok(instructor)),
        Err(err) => Ok(Err(FormErrors::from_app_error(err)?)),
    }
}

async fn create_instructor(
    State(state): State<AppState>,
    actor: Actor,
    page_ctx: PageCtx,
    FormBody(form): FormBody<InstructorForm>,
) -> WebResult<Response> {
    match save_instructor(&state, &actor, None, &form).await? {
        Ok(i) => Ok(redirect_with_flash(
            &format!("/school/instructors/{}", i.id),
            "success",
            i18n::current().text("instructors.saved"),
        )),
        Err(errors) => {
            let mut rendered = page(&state, actor.org, page_ctx, None, Some((form, FormErrors::default()))).await?;
            rendered.errors = errors;
            Ok(unprocessable(rendered))
        }
    }
}

async fn update_instructor(
    State(state): State<AppState>,
    actor: Actor,
    page_ctx: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<InstructorForm>,
) -> WebResult<Response> {
    match save_instructor(&state, &actor, Some(id), &form).await? {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/school/instructors/{id}"),
            "success",
            i18n::current().text("instructors.saved"),
        )),
        Err(errors) => {
            let instructor = instructors::get(&state.db, actor.org, id).await?;
            let availability = instructors::availability(&state.db, actor.org, id).await?;
            let mut rendered = page(
                &state,
                actor.org,
                page_ctx,
                Some((&instructor, &availability, String::new())),
                Some((form, FormErrors::default())),
            )
            .await?;
            rendered.errors = errors;
            Ok(unprocessable(rendered))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/vehicles.html")]
struct VehiclesPage {
    page: PageCtx,
    vehicles: Vec<TrainingVehicle>,
    errors: FormErrors,
    plate: String,
}

async fn vehicles_page(State(state): State<AppState>, Tenant(org): Tenant, page: PageCtx) -> WebResult<VehiclesPage> {
    Ok(VehiclesPage {
        vehicles: vehicles::list(&state.db, org).await?,
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

async fn flag_vehicle(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    FormBody(form): FormBody<VehicleForm>,
) -> WebResult<Response> {
    let tr = i18n::current();
    let mut errors = FormErrors::default();
    match fleet_vehicles::find_by_plate(&state.db, actor.org, form.plate.trim()).await? {
        Some(vehicle) => {
            let input = TrainingVehicleInput {
                category: Some(form.category.clone()),
                dual_controls: form.dual_controls.is_some(),
                active: Some(form.active.is_some()),
            };
            match vehicles::set(&state.db, &actor, vehicle.id, &input).await {
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
    let vehicles = vehicles::list(&state.db, actor.org).await?;
    Ok(unprocessable(VehiclesPage { page, vehicles, errors, plate: form.plate }))
}

#[derive(Template, WebTemplate)]
#[template(path = "school/settings.html")]
struct SettingsPage {
    page: PageCtx,
    s: SchoolSettings,
    errors: FormErrors,
}

async fn settings_page(State(state): State<AppState>, Tenant(org): Tenant, page: PageCtx) -> WebResult<SettingsPage> {
    Ok(SettingsPage { s: settings::get(&state.db, org).await?, page, errors: FormErrors::default() })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    daily_limit_hours: String,
    cancellation_notice_hours: String,
    min_driving_hours_for_exam: String,
    hour_price: String,
    four_eyes: Option<String>,
    candidates_may_book: Option<String>,
}

fn minutes_of(text: &str) -> Option<i32> {
    use rust_decimal::prelude::ToPrimitive;
    Decimal::from_str(&text.trim().replace(',', ".")).ok().and_then(|h| (h * Decimal::from(60)).round().to_i32())
}

async fn save_settings(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    FormBody(form): FormBody<SettingsForm>,
) -> WebResult<Response> {
    let tr = i18n::current();
    let mut errors = FormErrors::default();
    let mut number = |field: &str, value: Option<i32>| {
        if value.is_none() {
            errors.add(field, Msg::new("field.not_a_number").render(tr));
        }
        value.unwrap_or(-1)
    };
    let input = SchoolSettings {
        daily_limit_minutes: number("daily_limit_hours", minutes_of(&form.daily_limit_hours)),
        cancellation_notice_hours: number(
            "cancellation_notice_hours",
            form.cancellation_notice_hours.trim().parse().ok(),
        ),
        min_driving_minutes_for_exam: number(
            "min_driving_hours_for_exam",
            minutes_of(&form.min_driving_hours_for_exam),
        ),
        four_eyes: form.four_eyes.is_some(),
        candidates_may_book: form.candidates_may_book.is_some(),
        hour_price: Decimal::from_str(&form.hour_price.trim().replace(',', ".")).unwrap_or(Decimal::NEGATIVE_ONE),
    };
    if errors.is_empty() {
        match settings::update(&state.db, &actor, &input).await {
            Ok(_) => return Ok(redirect_with_flash("/school/settings", "success", tr.text("school_settings.saved"))),
            Err(err) => errors = FormErrors::from_app_error(err)?,
        }
    }
    Ok(unprocessable(SettingsPage { page, s: input, errors }))
}
