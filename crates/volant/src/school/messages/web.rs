//! Messaging pages, for candidates, instructors and the school's staff alike.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::service::{self as messages, NewMessage, NewThread, Thread, ThreadSummary, author};
use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n;
use crate::platform::web::SelectOption;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::school::access::Viewer;
use crate::school::candidates::service::CandidateFilter;
use crate::school::candidates::web::candidate_list;
use crate::school::web::options;

pub fn routes() -> Routes {
    vec![
        ("/messages", get(index).post(start)),
        ("/messages/new", get(new_form)),
        ("/messages/{id}", get(show).post(reply)),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "school/messages/list.html")]
struct ListPage {
    page: PageCtx,
    threads: Vec<(ThreadSummary, String)>,
}

async fn index(State(state): State<AppState>, current: CurrentUser, page: PageCtx) -> WebResult<ListPage> {
    let reader = author(&state.db, &current).await?;
    let threads = messages::list(&state.db, current.user.org, &reader)
        .await?
        .into_iter()
        .map(|t| {
            let when = i18n::local_date_time(t.last_message_at);
            (t, when)
        })
        .collect();
    Ok(ListPage { page, threads })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ThreadForm {
    pub candidate_id: String,
    pub subject: String,
    pub body: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/messages/new.html")]
struct NewPage {
    page: PageCtx,
    form: ThreadForm,
    errors: FormErrors,
    /// Empty for a candidate, who writes about themselves.
    candidates: Vec<SelectOption>,
}

async fn candidate_choices(
    state: &AppState,
    current: &CurrentUser,
    selected: &str,
) -> Result<Vec<SelectOption>, AppError> {
    let viewer = Viewer::of(&state.db, current).await?;
    let filter = match viewer {
        Viewer::Candidate(_) | Viewer::Nobody => return Ok(Vec::new()),
        Viewer::Instructor(id) => CandidateFilter { q: None, instructor_id: Some(id) },
        Viewer::School => CandidateFilter::default(),
    };
    let people = candidate_list(state, current.user.org, &filter).await?;
    let tr = i18n::current();
    Ok(options(people, selected.parse().ok(), tr.text("school.choose")))
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    candidate_id: Option<String>,
    subject: Option<String>,
}

async fn new_form(
    State(state): State<AppState>,
    current: CurrentUser,
    page: PageCtx,
    ApiQuery(query): ApiQuery<NewQuery>,
) -> WebResult<NewPage> {
    let form = ThreadForm {
        candidate_id: query.candidate_id.unwrap_or_default(),
        subject: query.subject.unwrap_or_default(),
        body: String::new(),
    };
    let candidates = candidate_choices(&state, &current, &form.candidate_id).await?;
    Ok(NewPage { page, form, errors: FormErrors::default(), candidates })
}

async fn start(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    page: PageCtx,
    FormBody(form): FormBody<ThreadForm>,
) -> WebResult<Response> {
    let writer = author(&state.db, &current).await?;
    let input = NewThread {
        candidate_id: form.candidate_id.trim().parse().ok(),
        subject: Some(form.subject.clone()),
        body: Some(form.body.clone()),
    };
    match messages::start(&state.db, &actor, &writer, &input).await {
        Ok(thread) => Ok(redirect_with_flash(
            &format!("/messages/{}", thread.id),
            "success",
            i18n::current().text("message.sent"),
        )),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let candidates = candidate_choices(&state, &current, &form.candidate_id).await?;
            Ok(unprocessable(NewPage { page, form, errors, candidates }))
        }
    }
}

/// A message as the thread shows it.
#[derive(Debug, Clone)]
pub struct MessageLine {
    pub author: String,
    pub when: String,
    pub body: String,
    pub mine: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/messages/show.html")]
struct ThreadPage {
    page: PageCtx,
    thread: Thread,
    lines: Vec<MessageLine>,
    errors: FormErrors,
    body: String,
}

fn lines(thread: &Thread, reader_is_candidate: bool) -> Vec<MessageLine> {
    thread
        .messages
        .iter()
        .map(|m| MessageLine {
            author: m.author_name.clone(),
            when: i18n::local_date_time(m.created_at),
            body: m.body.clone(),
            mine: m.from_candidate == reader_is_candidate,
        })
        .collect()
}

async fn show(State(state): State<AppState>, current: CurrentUser, page: PageCtx, Id(id): Id) -> WebResult<ThreadPage> {
    let reader = author(&state.db, &current).await?;
    let thread = messages::open(&state.db, current.user.org, &reader, id).await?;
    let lines = lines(&thread, matches!(reader.viewer, Viewer::Candidate(_)));
    Ok(ThreadPage { page, thread, lines, errors: FormErrors::default(), body: String::new() })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ReplyForm {
    body: String,
}

async fn reply(
    State(state): State<AppState>,
    current: CurrentUser,
    actor: Actor,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<ReplyForm>,
) -> WebResult<Response> {
    let writer = author(&state.db, &current).await?;
    match messages::reply(&state.db, &actor, &writer, id, &NewMessage { body: Some(form.body.clone()) }).await {
        Ok(_) => Ok(redirect_with_flash(&format!("/messages/{id}"), "success", i18n::current().text("message.sent"))),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let thread = messages::open(&state.db, current.user.org, &writer, id).await?;
            let lines = lines(&thread, matches!(writer.viewer, Viewer::Candidate(_)));
            Ok(unprocessable(ThreadPage { page, thread, lines, errors, body: form.body }))
        }
    }
}
