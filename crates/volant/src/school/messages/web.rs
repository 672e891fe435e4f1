//! Messaging pages, for candidates, instructors and the school's staff alike.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::service::{self as messages, NewMessage, NewThread, Thread, ThreadSummary, author};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n;
use crate::platform::web::SelectOption;
use crate::platform::web::id_options;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};
use crate::school::access::Viewer;
use crate::school::candidates::service::CandidateFilter;
use crate::school::candidates::web::candidate_list;

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

async fn index(caller: Caller, page: PageCtx) -> WebResult<ListPage> {
    let reader = author(&caller.db, &caller.current).await?;
    let threads = messages::list(&caller.db, caller.org, &reader)
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

async fn candidate_choices(caller: &Caller, selected: &str) -> Result<Vec<SelectOption>, AppError> {
    let viewer = Viewer::of(&caller.db, &caller.current).await?;
    let filter = match viewer {
        Viewer::Candidate(_) | Viewer::Nobody => return Ok(Vec::new()),
        Viewer::Instructor(id) => CandidateFilter { instructor_id: Some(id), ..Default::default() },
        Viewer::School => CandidateFilter::default(),
    };
    let people = candidate_list(caller, &filter).await?;
    let tr = i18n::current();
    Ok(id_options(Some(tr.text("school.choose")), selected.parse().ok(), people))
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    candidate_id: Option<String>,
    subject: Option<String>,
}

async fn new_form(caller: Caller, page: PageCtx, ApiQuery(query): ApiQuery<NewQuery>) -> WebResult<NewPage> {
    let form = ThreadForm {
        candidate_id: query.candidate_id.unwrap_or_default(),
        subject: query.subject.unwrap_or_default(),
        body: String::new(),
    };
    let candidates = candidate_choices(&caller, &form.candidate_id).await?;
    Ok(NewPage { page, form, errors: FormErrors::default(), candidates })
}

async fn start(caller: Caller, page: PageCtx, FormBody(form): FormBody<ThreadForm>) -> WebResult<Response> {
    let writer = author(&caller.db, &caller.current).await?;
    let input = NewThread {
        candidate_id: form.candidate_id.trim().parse().ok(),
        subject: Some(form.subject.clone()),
        body: Some(form.body.clone()),
    };
    match messages::start(&caller.db, &caller.actor, &writer, &input).await {
        Ok(thread) => Ok(redirect_with_flash(
            &format!("/messages/{}", thread.id),
            "success",
            i18n::current().text("message.sent"),
        )),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let candidates = candidate_choices(&caller, &form.candidate_id).await?;
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

async fn show(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ThreadPage> {
    let reader = author(&caller.db, &caller.current).await?;
    let thread = messages::open(&caller.db, caller.org, &reader, id).await?;
    let lines = lines(&thread, matches!(reader.viewer, Viewer::Candidate(_)));
    Ok(ThreadPage { page, thread, lines, errors: FormErrors::default(), body: String::new() })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ReplyForm {
    body: String,
}

async fn reply(caller: Caller, page: PageCtx, Id(id): Id, FormBody(form): FormBody<ReplyForm>) -> WebResult<Response> {
    let writer = author(&caller.db, &caller.current).await?;
    match messages::reply(&caller.db, &caller.actor, &writer, id, &NewMessage { body: Some(form.body.clone()) }).await {
        Ok(_) => Ok(redirect_with_flash(&format!("/messages/{id}"), "success", i18n::current().text("message.sent"))),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let thread = messages::open(&caller.db, caller.org, &writer, id).await?;
            let lines = lines(&thread, matches!(writer.viewer, Viewer::Candidate(_)));
            Ok(unprocessable(ThreadPage { page, thread, lines, errors, body: form.body }))
        }
    }
}
