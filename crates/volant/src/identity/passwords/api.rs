//! `POST /api/v1/auth/password/forgot`, `POST /api/v1/auth/password/reset`,
//! `POST /api/v1/users/{id}/password-link`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service;
use crate::identity::Caller;
use crate::identity::audit::Actor;
use crate::identity::roles::Role;
use crate::identity::users::service::UserView;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, Id};
use crate::platform::proxy::ClientContext;
use crate::platform::validate::Validator;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(forgot))
        .routes(routes!(reset))
        .routes(routes!(send_link))
        .routes(routes!(invite))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ForgotInput {
    #[schema(required = true, nullable = false, example = "jeanne.martin@garage.fr")]
    pub email: Option<String>,
}

/// Ask for a link to choose a new password. The answer is the same 202 whether
/// the address has an account or not; an active account gets the link by e-mail
/// (valid one hour, usable once). Too many requests from one client or for one
/// address get 429 with `Retry-After`.
#[utoipa::path(post, path = "/auth/password/forgot", tag = "auth", request_body = ForgotInput, security(()),
    responses((status = 202), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ApiJson(input): ApiJson<ForgotInput>,
) -> AppResult<StatusCode> {
    let actor = Actor::from_request(state.default_org, None, &headers, &extensions);
    service::ask(&state.db, &state.limits, &actor, input.email.as_deref().unwrap_or_default()).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResetInput {
    /// The secret at the end of the link (`/password/reset/{token}`).
    #[schema(required = true, nullable = false)]
    pub token: Option<String>,
    #[schema(required = true, nullable = false)]
    pub new_password: Option<String>,
}

/// Choose a new password with a link's secret. Every session and personal token
/// of the account ends. A used or expired link gets 410 `link_expired`; a password
/// the policy refuses, 422 naming `new_password`.
#[utoipa::path(post, path = "/auth/password/reset", tag = "auth", request_body = ResetInput, security(()),
    responses((status = 204), (status = 410, body = Problem), (status = 422, body = Problem)))]
async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ApiJson(input): ApiJson<ResetInput>,
) -> AppResult<StatusCode> {
    let mut v = Validator::new();
    let token = v.required_text("token", input.token.as_deref(), 200);
    let password = v.required("new_password", input.new_password.filter(|p| !p.is_empty()));
    v.finish()?;
    let actor = Actor::from_request(state.default_org, None, &headers, &extensions);
    service::reset(&state.db, &actor, &token.unwrap_or_default(), &password.unwrap_or_default()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A link sent to a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentLink {
    pub user_id: i64,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    /// Whether the e-mail leaves this instance: `false` while no SMTP server is
    /// configured (the e-mail is only saved), and then `url` is the link to hand over.
    pub emailed: bool,
    pub url: Option<String>,
}

/// Send a user of your organization a link to choose a new password (valid 24
/// hours, usable once; earlier links stop working). 409 `user_inactive` for a
/// deactivated account.
#[utoipa::path(post, path = "/users/{id}/password-link", security(("bearer" = ["users.manage"])), tag = "users",
    params(("id" = i64, Path)),
    responses((status = 200, body = SentLink), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn send_link(caller: Caller, client: ClientContext, Id(id): Id) -> AppResult<Json<SentLink>> {
    let link = service::send_to_user(&caller.db, &caller.actor, id).await?;
    Ok(Json(sent(&caller, &client, link).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct InvitationInput {
    #[schema(required = true, nullable = false, example = "paul.durand@garage.fr")]
    pub email: Option<String>,
    #[schema(required = true, nullable = false, example = "Paul Durand")]
    pub display_name: Option<String>,
    /// At least one; `admin` only by someone who manages users.
    #[schema(required = true, nullable = false)]
    pub roles: Option<Vec<Role>>,
}

/// An invitation sent: the new account, and its link.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invited {
    pub user: UserView,
    #[serde(flatten)]
    pub link: SentLink,
}

/// Invite a colleague: their account is created now (with the roles given) and
/// they get an e-mail with a link, valid 7 days, to choose their password.
/// Managers may invite anyone but an administrator (403 `role_not_grantable`); an
/// address already used gets 409.
#[utoipa::path(post, path = "/users/invitations", security(("bearer" = ["users.invite"])), tag = "users",
    request_body = InvitationInput,
    responses((status = 201, body = Invited), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn invite(
    caller: Caller,
    client: ClientContext,
    ApiJson(input): ApiJson<InvitationInput>,
) -> AppResult<axum::response::Response> {
    let invitation = service::Invitation {
        email: input.email.unwrap_or_default(),
        display_name: input.display_name.unwrap_or_default(),
        roles: input.roles.unwrap_or_default(),
    };
    let (user, link) =
        service::invite(&caller.db, &caller.actor, &caller.current.user, invitation, async |_, _| Ok(())).await?;
    invited(&caller, &client, user, link).await
}

/// The 201 of an invitation: the account, and what became of its link.
pub async fn invited(
    caller: &Caller,
    client: &ClientContext,
    user: UserView,
    link: service::NewLink,
) -> AppResult<axum::response::Response> {
    let link = sent(caller, client, link).await?;
    Ok(crate::platform::http::respond::created(&format!("/api/v1/users/{}", user.id), Invited { user, link }))
}

/// What the API says of a link just made.
pub async fn sent(caller: &Caller, client: &ClientContext, link: service::NewLink) -> AppResult<SentLink> {
    let emailed = crate::notify::mail_settings::delivers_email(&caller.db, &caller.config.notify, caller.org).await?;
    let url = (!emailed).then(|| format!("{}{}", client.public_url(&caller.config), service::path(&link.secret)));
    Ok(SentLink { user_id: link.user_id, email: link.email, expires_at: link.expires_at, emailed, url })
}
