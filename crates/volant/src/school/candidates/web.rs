//! The candidates' files (staff): search, the file (hours forecast, bought and
//! done; identity; progress on the competency grid; lessons; results), create and edit.

use std::str::FromStr;

use askama::Template;
use askama_web::WebTemplate;

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::progress;
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::passwords::service::Purpose;
use crate::identity::passwords::web::link_made;
use crate::identity::roles::Permission;
use crate::identity::users::service as users;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::pagination::PageRequest;
use crate::platform::proxy::ClientContext;
use crate::platform::search::search_term;
use crate::platform::web::id_options;
use crate::platform::web::refusal_to_flash;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::platform::web::{Listing, SelectOption, Sorting};
use crate::school::access::Viewer;
use crate::school::candidates::service::{
    self as candidates, Candidate, CandidateField, CandidateFilter, CandidateInput, CandidateSort, CandidateSummary,
    TheoryStatus,
};
use crate::school::exams::service as exams;
use crate::school::exams::web::result_status_key;
use crate::school::instructors::service as instructors;
use crate::school::model::CATEGORIES;
use crate::school::packs::service as packs;
use crate::school::packs::web as packs_web;
use crate::school::planning::service::{self as planning, Hours, LessonFilter, format_duration};
use crate::school::web::linked_account;

/// A candidate's file as those who teach read it: the school's staff, and an
/// instructor for their own candidates (assigned, or met in a lesson).
pub fn teaching_routes() -> Routes {
    vec![("/school/candidates/{id}", get(show))]
}

pub fn routes() -> Routes {
    vec![
        ("/school/candidates", get(index).post(create)),
        ("/school/candidates/new", get(new_form)),
        ("/school/candidates/{id}/edit", get(edit_form).post(update)),
        ("/school/candidates/{id}/invite", axum::routing::post(invite)),
    ]
}

/// A candidate as the list shows them.
#[derive(Debug, Clone)]
pub struct CandidateRow {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub category: String,
    pub theory: String,
    pub done: String,
    pub remaining: String,
}

fn row(tr: &i18n::Tr, c: &CandidateSummary) -> CandidateRow {
    CandidateRow {
        id: c.id,
        number: c.number.clone(),
        name: format!("{} {}", c.last_name, c.first_name),
        category: c.category.clone(),
        theory: tr.t(c.theory_status.label_key()).to_owned(),
        done: format_duration(c.hours.done_minutes),
        remaining: signed_duration(c.hours.remaining_minutes),
    }
}

fn signed_duration(minutes: i32) -> String {
    if minutes < 0 { format!("−{}", format_duration(-minutes)) } else { format_duration(minutes) }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/candidates/list.html")]
struct ListPage {
    page: PageCtx,
    q: String,
    candidates: Vec<CandidateRow>,
    sorting: Sorting,
    next_url: Option<String>,
    previous_url: Option<String>,
    total: String,
}

async fn index(caller: Caller, page: PageCtx, listing: Listing) -> WebResult<ListPage> {
    let q = listing.q.clone();
    // A school finds its candidates by name.
    let sort = listing.sort(CandidateSort::ascending(CandidateField::Name));
    let filter = CandidateFilter { q: Some(q.clone()), instructor_id: None, sort };
    let found = candidates::list(&caller.db, caller.org, &filter, listing.request.clone()).await?;
    let next_url = listing.next_url(found.next_cursor.as_deref());
    let tr = page.tr;
    let candidates = found.items.iter().map(|c| row(&tr, c)).collect();
    let total = if search_term(&q).is_empty() {
        listing.total::<super::entity::candidate::Entity>(&caller.db, caller.org).await?
    } else {
        Listing::matching_of(candidates::count(&caller.db, caller.org, &filter).await?)
    };
    let sorting = listing.sorting(
        sort,
        &[("id", tr.t("report.number"), false), ("name", tr.t("report.candidate"), false)],
        &[
            ("name", tr.t("list.sort.name")),
            ("-name", tr.t("list.sort.name_desc")),
            ("-registered_on", tr.t("candidates.sort.latest_registered")),
            ("registered_on", tr.t("candidates.sort.earliest_registered")),
            ("-id", tr.t("list.sort.newest")),
            ("id", tr.t("list.sort.oldest")),
        ],
    );
    Ok(ListPage { page, q, candidates, sorting, next_url, previous_url: listing.previous_url(), total })
}

/// A lesson as the file lists it.
#[derive(Debug, Clone)]
pub struct LessonLine {
    pub id: i64,
    pub when: String,
    pub instructor: String,
    pub status: String,
    pub notes: String,
}

#[derive(Debug, Clone)]
pub struct ResultLine {
    pub exam: String,
    pub taken_on: String,
    pub status: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/candidates/show.html")]
struct ShowPage {
    page: PageCtx,
    c: Candidate,
    theory: String,
    registered_on: String,
    birth_date: Option<String>,
    instructor: String,
    hours: Vec<(String, String)>,
    grid: Vec<progress::CompetencyProgress>,
    lessons: Vec<LessonLine>,
    results: Vec<ResultLine>,
    account: String,
    /// What the candidate bought, paid and owes (for those who may read invoices).
    money: Option<crate::school::packs::web::AccountView>,
    /// The sale form (for those who may sell and invoice).
    sale: Option<crate::school::packs::web::SaleChoices>,
    candidate_id: i64,
    portal: bool,
    /// The administrative file, evaluation and contract (the school's staff).
    enrolment: Option<crate::school::enrolment::web::Summary>,
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ShowPage> {
    let org = caller.org;
    let c = candidates::get(&caller.db, &caller.cipher, org, id).await?;
    // Another instructor's candidate is as absent as one that never existed.
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    match viewer {
        Viewer::School => {}
        Viewer::Instructor(me)
            if c.summary.instructor_id == Some(me) || planning::have_met(&caller.db, org, id, me).await? => {}
        _ => return Err(AppError::NotFound.into()),
    }
    let tr = page.tr;
    let instructor = match c.summary.instructor_id {
        Some(i) => instructors::get(&caller.db, org, i).await.map(|i| i.full_name()).unwrap_or_default(),
        None => String::new(),
    };
    let grid = progress::grid_of(&caller.db, id).await?;
    let now = Utc::now();
    let filter = LessonFilter {
        from: Some(now - Duration::days(45)),
        to: Some(now + Duration::days(15)),
        candidate_id: Some(id),
        include_cancelled: true,
        ..LessonFilter::default()
    };
    // An instructor sees the lessons they gave (those they can open).
    let mut lessons: Vec<LessonLine> = planning::list(&caller.db, org, viewer, &filter)
        .await?
        .into_iter()
        .map(|l| LessonLine {
            id: l.id,
            when: format!(
                "{} {}–{}",
                i18n::local_date(l.starts_at),
                i18n::local_time(l.starts_at, "%H:%M"),
                i18n::local_time(l.ends_at, "%H:%M")
            ),
            instructor: l.instructor_name,
            status: tr.t(l.status.label_key()).to_owned(),
            notes: l.notes.unwrap_or_default(),
        })
        .collect();
    lessons.reverse();
    let results = exams::list_results(&caller.db, &caller.actor, Viewer::School, Some(id))
        .await?
        .into_iter()
        .map(|r| ResultLine {
            exam: tr.t(r.exam_type.label_key()).to_owned(),
            taken_on: i18n::date(r.taken_on),
            status: tr.t(result_status_key(r.status)).to_owned(),
        })
        .collect();
    let account = match c.summary.user_id {
        Some(user) => users::get(&caller.db, org, user).await.map(|u| u.email).unwrap_or_default(),
        None => String::new(),
    };
    let user = &caller.current.user;
    let money = match user.may(Permission::BillingRead) {
        true => Some(packs_web::account_view(&packs::account(&caller.db, org, id).await?, &tr)),
        false => None,
    };
    let sale = match user.may(Permission::SchoolWrite) && user.may(Permission::BillingWrite) {
        true => Some(packs_web::sale_choices(&caller, -c.summary.hours.remaining_minutes).await?),
        false => None,
    };
    let enrolment = match viewer {
        Viewer::School => Some(crate::school::enrolment::web::summary(&caller, &tr, id).await?),
        _ => None,
    };
    Ok(ShowPage {
        enrolment,
        money,
        sale,
        candidate_id: id,
        portal: false,
        theory: tr.t(c.summary.theory_status.label_key()).to_owned(),
        registered_on: i18n::date(c.summary.registered_on),
        birth_date: c.birth_date.map(i18n::date),
        instructor,
        hours: hours_rows(&tr, &c.summary.hours),
        grid,
        lessons,
        results,
        account,
        c,
        page,
    })
}

/// The form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CandidateForm {
    pub number: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub category: String,
    pub registered_on: String,
    pub theory_status: String,
    pub instructor_id: String,
    pub forecast_hours: String,
    pub bought_hours: String,
    pub id_document_number: String,
    pub birth_date: String,
    pub address: String,
    pub account_email: String,
}

fn hours_text(minutes: Option<i32>) -> String {
    minutes.map_or_else(String::new, |m| {
        let hours = Decimal::new(i64::from(m) * 100 / 60, 2).normalize();
        hours.to_string().replace('.', ",")
    })
}

impl CandidateForm {
    fn from_candidate(c: &Candidate, account: String) -> Self {
        let s = &c.summary;
        Self {
            number: s.number.clone(),
            first_name: s.first_name.clone(),
            last_name: s.last_name.clone(),
            email: s.email.clone().unwrap_or_default(),
            phone: s.phone.clone().unwrap_or_default(),
            category: s.category.clone(),
            registered_on: s.registered_on.to_string(),
            theory_status: s.theory_status.as_str().to_owned(),
            instructor_id: s.instructor_id.map(|i| i.to_string()).unwrap_or_default(),
            forecast_hours: hours_text(s.hours.forecast_minutes),
            bought_hours: hours_text(Some(s.hours.bought_minutes)),
            id_document_number: c.id_document_number.clone().unwrap_or_default(),
            birth_date: c.birth_date.map(|d| d.to_string()).unwrap_or_default(),
            address: c.address.clone().unwrap_or_default(),
            account_email: account,
        }
    }

    /// The input, and what the form itself can tell is wrong.
    async fn to_input(&self, caller: &Caller) -> Result<(CandidateInput, FormErrors), AppError> {
        let tr = i18n::current();
        let mut errors = FormErrors::default();
        let mut minutes = |field: &str, text: &str| -> Option<i32> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            match Decimal::from_str(&text.replace(',', ".")).ok().and_then(candidates::hours_to_minutes) {
                Some(m) => Some(m),
                None => {
                    errors.add(field, Msg::new("field.not_a_number").render(tr));
                    None
                }
            }
        };
        let forecast_minutes = minutes("forecast_hours", &self.forecast_hours);
        let bought_minutes = minutes("bought_hours", &self.bought_hours);
        let mut date = |field: &str, text: &str| -> Option<NaiveDate> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            let parsed = text.parse::<NaiveDate>().ok();
            if parsed.is_none() {
                errors.add(field, Msg::new("field.date_invalid").render(tr));
            }
            parsed
        };
        let registered_on = date("registered_on", &self.registered_on);
        let birth_date = date("birth_date", &self.birth_date);
        let user_id = linked_account(caller, &self.account_email, &mut errors).await?;
        let input = CandidateInput {
            user_id,
            number: Some(self.number.clone()),
            first_name: Some(self.first_name.clone()),
            last_name: Some(self.last_name.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            category: Some(self.category.clone()).filter(|c| !c.trim().is_empty()),
            registered_on,
            theory_status: TheoryStatus::parse(self.theory_status.trim()),
            instructor_id: self.instructor_id.trim().parse::<i64>().ok(),
            forecast_minutes,
            bought_minutes,
            id_document_number: Some(self.id_document_number.clone()),
            birth_date,
            address: Some(self.address.clone()),
        };
        Ok((input, errors))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/candidates/form.html")]
struct FormPage {
    page: PageCtx,
    heading: String,
    action: String,
    cancel_url: String,
    form: CandidateForm,
    errors: FormErrors,
    categories: Vec<SelectOption>,
    theory: Vec<SelectOption>,
    instructors: Vec<SelectOption>,
}

async fn form_page(
    caller: &Caller,
    page: PageCtx,
    (heading, action, cancel_url): (String, String, String),
    form: CandidateForm,
    errors: FormErrors,
) -> Result<FormPage, AppError> {
    let tr = page.tr;
    let categories = CATEGORIES
        .iter()
        .map(|c| SelectOption { value: (*c).to_owned(), label: (*c).to_owned(), selected: form.category == *c })
        .collect();
    let theory = TheoryStatus::ALL
        .into_iter()
        .map(|s| SelectOption {
            value: s.as_str().to_owned(),
            label: tr.t(s.label_key()).to_owned(),
            selected: form.theory_status == s.as_str(),
        })
        .collect();
    let teachers: Vec<(i64, String)> =
        instructors::list(&caller.db, caller.org).await?.into_iter().map(|i| (i.id, i.full_name())).collect();
    let instructors = id_options(Some(tr.t("school.no_instructor")), form.instructor_id.parse().ok(), teachers);
    Ok(FormPage { page, heading, action, cancel_url, form, errors, categories, theory, instructors })
}

async fn new_form(caller: Caller, page: PageCtx) -> WebResult<FormPage> {
    let heading = page.tr.t("candidates.new").to_owned();
    let form = CandidateForm {
        category: "B".to_owned(),
        registered_on: crate::identity::organizations::service::today(&caller.db, caller.org).await?.to_string(),
        theory_status: TheoryStatus::NotStarted.as_str().to_owned(),
        ..CandidateForm::default()
    };
    let target = (heading, "/school/candidates".to_owned(), "/school/candidates".to_owned());
    Ok(form_page(&caller, page, target, form, FormErrors::default()).await?)
}

async fn save(
    caller: &Caller,
    id: Option<i64>,
    form: &CandidateForm,
) -> Result<Result<Candidate, FormErrors>, AppError> {
    let (input, errors) = form.to_input(caller).await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let saved = match id {
        Some(id) => candidates::update(&caller.db, &caller.cipher, &caller.actor, id, &input).await,
        None => candidates::create(&caller.db, &caller.cipher, &caller.actor, &input).await,
    };
    match saved {
        Ok(candidate) => Ok(Ok(candidate)),
        Err(err) => Ok(Err(FormErrors::from_app_error(err)?)),
    }
}

async fn create(caller: Caller, page: PageCtx, FormBody(form): FormBody<CandidateForm>) -> WebResult<Response> {
    match save(&caller, None, &form).await? {
        Ok(c) => {
            let message = i18n::current().format("candidates.created", &[("name", &c.summary.full_name())]);
            Ok(redirect_with_flash(&format!("/school/candidates/{}", c.summary.id), "success", &message))
        }
        Err(errors) => {
            let heading = page.tr.t("candidates.new").to_owned();
            let target = (heading, "/school/candidates".to_owned(), "/school/candidates".to_owned());
            Ok(unprocessable(form_page(&caller, page, target, form, errors).await?))
        }
    }
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FormPage> {
    let c = candidates::get(&caller.db, &caller.cipher, caller.org, id).await?;
    let account = match c.summary.user_id {
        Some(user) => users::get(&caller.db, caller.org, user).await.map(|u| u.email).unwrap_or_default(),
        None => String::new(),
    };
    let heading = page.tr.f("candidates.edit", "name", &c.summary.full_name());
    let target = (heading, format!("/school/candidates/{id}/edit"), format!("/school/candidates/{id}"));
    let form = CandidateForm::from_candidate(&c, account);
    Ok(form_page(&caller, page, target, form, FormErrors::default()).await?)
}

async fn update(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<CandidateForm>,
) -> WebResult<Response> {
    match save(&caller, Some(id), &form).await? {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/school/candidates/{id}"),
            "success",
            i18n::current().text("candidates.saved"),
        )),
        Err(errors) => {
            let c = candidates::summary_of(&caller.db, caller.org, id).await?;
            let heading = page.tr.f("candidates.edit", "name", &c.full_name());
            let target = (heading, format!("/school/candidates/{id}/edit"), format!("/school/candidates/{id}"));
            Ok(unprocessable(form_page(&caller, page, target, form, errors).await?).into_response())
        }
    }
}

/// Candidates to choose from (the first 500 matching, by id), sorted by name.
pub(crate) async fn candidate_list(caller: &Caller, filter: &CandidateFilter) -> Result<Vec<(i64, String)>, AppError> {
    let mut people: Vec<(i64, String)> = candidates::list(&caller.db, caller.org, filter, PageRequest::first(500))
        .await?
        .items
        .into_iter()
        .map(|c| (c.id, format!("{} {} ({})", c.last_name, c.first_name, c.number)))
        .collect();
    people.sort_by_key(|p| p.1.to_lowercase());
    Ok(people)
}

pub(crate) fn hours_rows(tr: &i18n::Tr, h: &Hours) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Some(forecast) = h.forecast_minutes {
        rows.push((tr.t("hours.forecast").to_owned(), format_duration(forecast)));
    }
    rows.push((tr.t("hours.bought").to_owned(), format_duration(h.bought_minutes)));
    rows.push((tr.t("hours.done").to_owned(), format_duration(h.done_minutes)));
    rows.push((tr.t("hours.scheduled").to_owned(), format_duration(h.scheduled_minutes)));
    if h.due_minutes > 0 {
        rows.push((tr.t("hours.due").to_owned(), format_duration(h.due_minutes)));
    }
    let remaining = if h.remaining_minutes < 0 {
        format!("−{}", format_duration(-h.remaining_minutes))
    } else {
        format_duration(h.remaining_minutes)
    };
    rows.push((tr.t("hours.remaining").to_owned(), remaining));
    rows
}

/// The label of a level of the competency grid.
pub fn level_key(level: &i16) -> &'static str {
    match level {
        0 => "progress.level0",
        1 => "progress.level1",
        2 => "progress.level2",
        _ => "progress.level3",
    }
}

/// Creates the candidate's portal account and e-mails them an invitation (or shows
/// the link to hand over while e-mails do not leave).
async fn invite(caller: Caller, page: PageCtx, client: ClientContext, Id(id): Id) -> WebResult<Response> {
    let back = format!("/school/candidates/{id}");
    match candidates::invite(&caller.db, &caller.cipher, &caller.actor, &caller.current.user, id).await {
        Ok((_, link)) => Ok(link_made(page, (&caller, &client), link, Purpose::Invitation, &back).await?),
        Err(err) => refusal_to_flash(&back, err),
    }
}
