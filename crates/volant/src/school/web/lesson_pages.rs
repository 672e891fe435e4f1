//! A lesson's page: its details, and for its instructor (or the staff) once it has
//! begun, the form recording how it went with the progress on the competency grid.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;

use super::status_label_key;
use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::school::access::Viewer;
use crate::school::planning::service::{self as planning, Lesson, LessonStatus, OutcomeInput};
use crate::school::progress::{self, Assessment, CompetencyProgress};

pub fn routes() -> Routes {
    vec![("/school/lessons/{id}", get(show)), ("/school/lessons/{id}/move", post(move_lesson))]
}

/// What instructors post.
pub fn teaching_routes() -> Routes {
    vec![("/school/lessons/{id}/outcome", post(record))]
}

#[derive(Template, WebTemplate)]
#[template(path = "school/lesson.html")]
struct LessonPage {
    page: PageCtx,
    lesson: Lesson,
    when: String,
    kind: String,
    status: String,
    can_record: bool,
    can_cancel: bool,
    /// The move form's current values: day, start, end (school's time).
    moving: (String, String, String),
    grid: Vec<CompetencyProgress>,
    errors: FormErrors,
    notes: String,
}

async fn page_for(
    state: &AppState,
    current: &CurrentUser,
    page: PageCtx,
    id: i64,
    errors: FormErrors,
    notes: String,
) -> Result<LessonPage, crate::platform::error::AppError> {
    let viewer = Viewer::of(&state.db, current).await?;
    let lesson = planning::get(&state.db, current.user.org, viewer, id).await?;
    let tr = page.tr;
    let scheduled = lesson.status == LessonStatus::Scheduled;
    let can_record = scheduled
        && lesson.starts_at <= Utc::now()
        && matches!(viewer, Viewer::School | Viewer::Instructor(_))
        && page.can_see_planning;
    let can_cancel = scheduled && viewer == Viewer::School && page.can_edit_school;
    let grid = if can_record { progress::grid_of(&state.db, lesson.candidate_id).await? } else { Vec::new() };
    Ok(LessonPage {
        when: format!(
            "{} {}–{}",
            i18n::local_time(lesson.starts_at, "%d/%m/%Y"),
            i18n::local_time(lesson.starts_at, "%H:%M"),
            i18n::local_time(lesson.ends_at, "%H:%M")
        ),
        kind: super::kind_label(&tr, lesson.kind),
        status: tr.t(status_label_key(lesson.status)).to_owned(),
        can_record,
        can_cancel,
        moving: (
            i18n::local_time(lesson.starts_at, "%Y-%m-%d"),
            i18n::local_time(lesson.starts_at, "%H:%M"),
            i18n::local_time(lesson.ends_at, "%H:%M"),
        ),
        grid,
        errors,
        notes,
        lesson,
        page,
    })
}

async fn show(State(state): State<AppState>, current: CurrentUser, page: PageCtx, Id(id): Id) -> WebResult<LessonPage> {
    Ok(page_for(&state, &current, page, id, FormErrors::default(), String::new()).await?)
}

/// The outcome form: status, notes, and a level for each item assessed (`level_C1a`…; blank = not assessed).
async fn record(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    page: PageCtx,
    Id(id): Id,
    FormBody(fields): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let status = LessonStatus::parse(value("status").trim());
    let notes = value("notes");
    let assessments: Vec<Assessment> = fields
        .iter()
        .filter_map(|(k, v)| {
            let item = k.strip_prefix("level_")?;
            let level = v.trim().parse::<i16>().ok()?;
            Some(Assessment { item: item.to_owned(), level, comment: None })
        })
        .collect();
    let input = OutcomeInput { status, notes: Some(notes.clone()), progress: assessments };
    let viewer = Viewer::of(&state.db, &current).await?;
    match planning::record_outcome(&state.db, &actor, viewer, id, &input).await {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/school/lessons/{id}"),
            "success",
            i18n::current().text("lesson.recorded"),
        )),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(page_for(&state, &current, page, id, errors, notes).await?))
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct MoveForm {
    date: String,
    start: String,
    end: String,
}

/// Moves a lesson to another day or time (every rule checked again); a refusal
/// comes back as the page's message.
async fn move_lesson(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    FormBody(form): FormBody<MoveForm>,
) -> WebResult<Response> {
    let zone = super::zone_of(&state, actor.org).await?;
    let back = format!("/school/lessons/{id}");
    let day = form.date.trim().parse::<chrono::NaiveDate>().ok();
    let at = |text: &str| {
        let time = chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()?;
        super::local_instant(zone, day?, time).map(|t| t.fixed_offset())
    };
    let input =
        planning::MoveInput { starts_at: at(&form.start), ends_at: at(&form.end), ..planning::MoveInput::default() };
    let tr = i18n::current();
    match planning::move_lesson(&state.db, &actor, id, &input).await {
        Ok(_) => Ok(redirect_with_flash(&back, "success", tr.text("lesson.moved"))),
        Err(err) => super::refusal_flash(&back, err),
    }
}
