//! The instructors' pages (staff): each instructor with their week and days off.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;

use super::service::{self as instructors, Availability, DayOff, Instructor, InstructorInput, WeeklySlot};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::passwords::service::Purpose;
use crate::identity::passwords::web::link_made;
use crate::identity::roles::Permission;
use crate::identity::users::service as users;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::proxy::ClientContext;
use crate::platform::web::refusal_to_flash;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::school::model::CATEGORIES;
use crate::school::web::linked_account;

pub fn routes() -> Routes {
    vec![
        ("/school/instructors", get(instructors_page).post(create_instructor)),
        ("/school/instructors/{id}", get(edit_instructor).post(update_instructor)),
        ("/school/instructors/{id}/invite", axum::routing::post(invite)),
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
#[template(path = "school/instructors/list.html")]
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
    /// The instructor edited, when their file has an e-mail and no account yet.
    invite: Option<i64>,
    /// The instructor edited: their documents (teaching licence…) follow the form.
    edited: Option<i64>,
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
    caller: &Caller,
    page: PageCtx,
    editing: Option<(&Instructor, &Availability, String)>,
    posted: Option<(InstructorForm, FormErrors)>,
) -> Result<InstructorsPage, AppError> {
    let tr = page.tr;
    let list = instructors::list(&caller.db, caller.org).await?;
    let editing_target = editing.as_ref().map(|(i, _, _)| (i.full_name(), i.id));
    let edited = editing_target.as_ref().map(|(_, id)| *id);
    let invite = editing.as_ref().filter(|(i, _, _)| i.user_id.is_none() && i.email.is_some()).map(|(i, _, _)| i.id);
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
        invite,
        edited,
    })
}

/// Creates the instructor's account and e-mails them an invitation (or shows the
/// link to hand over while e-mails do not leave).
async fn invite(caller: Caller, page: PageCtx, client: ClientContext, Id(id): Id) -> WebResult<Response> {
    let back = format!("/school/instructors/{id}");
    match instructors::invite(&caller.db, &caller.actor, &caller.current.user, id).await {
        Ok((_, link)) => Ok(link_made(page, (&caller, &client), link, Purpose::Invitation, &back).await?),
        Err(err) => refusal_to_flash(&back, err),
    }
}

async fn instructors_page(caller: Caller, page_ctx: PageCtx) -> WebResult<InstructorsPage> {
    Ok(page(&caller, page_ctx, None, None).await?)
}

async fn edit_instructor(caller: Caller, page_ctx: PageCtx, Id(id): Id) -> WebResult<InstructorsPage> {
    let instructor = instructors::get(&caller.db, caller.org, id).await?;
    let availability = instructors::availability(&caller.db, caller.org, id).await?;
    let account = match instructor.user_id {
        Some(user) => users::get(&caller.db, caller.org, user).await.map(|u| u.email).unwrap_or_default(),
        None => String::new(),
    };
    Ok(page(&caller, page_ctx, Some((&instructor, &availability, account)), None).await?)
}

async fn save_instructor(
    caller: &Caller,
    id: Option<i64>,
    form: &InstructorForm,
) -> Result<Result<Instructor, FormErrors>, AppError> {
    let mut errors = FormErrors::default();
    let user_id = linked_account(caller, &form.account_email, &mut errors).await?;
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
        Some(id) => instructors::update(&caller.db, &caller.actor, id, &input).await,
        None => instructors::create(&caller.db, &caller.actor, &input).await,
    };
    let instructor = match saved {
        Ok(instructor) => instructor,
        Err(err) => return Ok(Err(FormErrors::from_app_error(err)?)),
    };
    let availability = Availability { weekly: form.week(), days_off };
    match instructors::set_availability(&caller.db, &caller.actor, instructor.id, &availability).await {
        Ok(_) => Ok(Ok(instructor)),
        Err(err) => Ok(Err(FormErrors::from_app_error(err)?)),
    }
}

async fn create_instructor(
    caller: Caller,
    page_ctx: PageCtx,
    FormBody(form): FormBody<InstructorForm>,
) -> WebResult<Response> {
    match save_instructor(&caller, None, &form).await? {
        Ok(i) => Ok(redirect_with_flash(
            &format!("/school/instructors/{}", i.id),
            "success",
            i18n::current().text("instructors.saved"),
        )),
        Err(errors) => {
            let mut rendered = page(&caller, page_ctx, None, Some((form, FormErrors::default()))).await?;
            rendered.errors = errors;
            Ok(unprocessable(rendered))
        }
    }
}

async fn update_instructor(
    caller: Caller,
    page_ctx: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<InstructorForm>,
) -> WebResult<Response> {
    match save_instructor(&caller, Some(id), &form).await? {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/school/instructors/{id}"),
            "success",
            i18n::current().text("instructors.saved"),
        )),
        Err(errors) => {
            let instructor = instructors::get(&caller.db, caller.org, id).await?;
            let availability = instructors::availability(&caller.db, caller.org, id).await?;
            let mut rendered = page(
                &caller,
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
