//! JSON API for messaging between candidates and the school.

use axum::Json;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Message, NewMessage, NewThread, Thread, ThreadSummary, author};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::platform::http::respond::created;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_threads, start_thread))
        .routes(routes!(open_thread))
        .routes(routes!(reply))
        .routes(routes!(unread))
}

/// The reader's threads, most recent first, with their unread counts.
#[utoipa::path(get, path = "/school/threads", security(("bearer" = ["school.planning"])), tag = "school messages",
    responses((status = 200, body = [ThreadSummary])))]
async fn list_threads(caller: Caller) -> AppResult<Json<Vec<ThreadSummary>>> {
    let reader = author(&caller.db, &caller.current).await?;
    Ok(Json(service::list(&caller.db, caller.org, &reader).await?))
}

/// Start a thread about a candidate (a candidate writes about themselves); the other side is e-mailed.
#[utoipa::path(post, path = "/school/threads", security(("bearer" = ["school.planning"])), tag = "school messages", request_body = NewThread,
    responses((status = 201, body = Thread), (status = 422, body = Problem)))]
async fn start_thread(caller: Caller, ApiJson(input): ApiJson<NewThread>) -> AppResult<Response> {
    let writer = author(&caller.db, &caller.current).await?;
    let thread = service::start(&caller.db, &caller.actor, &writer, &input).await?;
    Ok(created(&format!("/api/v1/school/threads/{}", thread.id), thread))
}

/// A thread with its messages; opening it marks them read.
#[utoipa::path(get, path = "/school/threads/{id}", security(("bearer" = ["school.planning"])), tag = "school messages", params(("id" = i64, Path)),
    responses((status = 200, body = Thread), (status = 404, body = Problem)))]
async fn open_thread(caller: Caller, Id(id): Id) -> AppResult<Json<Thread>> {
    let reader = author(&caller.db, &caller.current).await?;
    Ok(Json(service::open(&caller.db, caller.org, &reader, id).await?))
}

/// Answer in a thread; the other side is e-mailed.
#[utoipa::path(post, path = "/school/threads/{id}/messages", security(("bearer" = ["school.planning"])), tag = "school messages", params(("id" = i64, Path)), request_body = NewMessage,
    responses((status = 201, body = Message), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn reply(caller: Caller, Id(id): Id, ApiJson(input): ApiJson<NewMessage>) -> AppResult<Response> {
    let writer = author(&caller.db, &caller.current).await?;
    let message = service::reply(&caller.db, &caller.actor, &writer, id, &input).await?;
    Ok(created(&format!("/api/v1/school/threads/{id}"), message))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unread {
    pub unread: i64,
}

/// How many messages the reader has not opened, all threads together.
#[utoipa::path(get, operation_id = "school_unread", path = "/school/unread", security(("bearer" = ["school.planning"])), tag = "school messages",
    responses((status = 200, body = Unread)))]
async fn unread(caller: Caller) -> AppResult<Json<Unread>> {
    let reader = author(&caller.db, &caller.current).await?;
    Ok(Json(Unread { unread: service::unread_total(&caller.db, caller.org, &reader).await? }))
}
