//! `/api/v1/users`: the organization's users (administrators).

use axum::Json;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, NewUser, UserPatch, UserView};
use crate::identity::Caller;
use crate::identity::roles::Role;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::platform::http::respond::{Paged, created};
use crate::platform::pagination::PageParams;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user)).routes(routes!(get_user, patch_user))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UserInput {
    #[schema(required = true, nullable = false, example = "accueil@garage-centre.fr")]
    pub email: Option<String>,
    #[schema(required = true, nullable = false, example = "Awa Diop")]
    pub display_name: Option<String>,
    /// At least 12 characters, not guessable.
    #[schema(required = true, nullable = false)]
    pub password: Option<String>,
    #[schema(required = true, nullable = false)]
    pub roles: Option<Vec<Role>>,
}

/// The organization's users.
#[utoipa::path(get, path = "/users", security(("bearer" = ["users.manage"])), tag = "users", params(PageParams),
    responses((status = 200, body = [UserView]), (status = 403, body = Problem)))]
async fn list_users(caller: Caller, paged: Paged) -> AppResult<Response> {
    let page = service::list(&caller.db, caller.org, paged.request.clone()).await?;
    Ok(paged.respond(page))
}

/// Create a user with one or more roles.
#[utoipa::path(post, path = "/users", security(("bearer" = ["users.manage"])), tag = "users", request_body = UserInput,
    responses((status = 201, body = UserView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_user(caller: Caller, ApiJson(input): ApiJson<UserInput>) -> AppResult<Response> {
    let new = NewUser {
        email: input.email.unwrap_or_default(),
        display_name: input.display_name.unwrap_or_default(),
        password: input.password.unwrap_or_default(),
        roles: input.roles.unwrap_or_default(),
    };
    let user = service::create_audited(&caller.db, &caller.actor, new).await?;
    Ok(created(&format!("/api/v1/users/{}", user.id), user))
}

#[utoipa::path(get, path = "/users/{id}", security(("bearer" = ["users.manage"])), tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
async fn get_user(caller: Caller, Id(id): Id) -> AppResult<Json<UserView>> {
    Ok(Json(service::get(&caller.db, caller.org, id).await?))
}

/// Change a user's name, roles or active flag; deactivation ends their sessions.
#[utoipa::path(patch, path = "/users/{id}", security(("bearer" = ["users.manage"])), tag = "users", params(("id" = i64, Path)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn patch_user(caller: Caller, Id(id): Id, ApiJson(patch): ApiJson<UserPatch>) -> AppResult<Json<UserView>> {
    Ok(Json(service::update(&caller.db, &caller.actor, id, patch).await?))
}
