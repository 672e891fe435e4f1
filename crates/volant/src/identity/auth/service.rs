//! Sign-in: the one way to exchange an e-mail and a password for a session, used
//! by the API's token endpoint and by the sign-in page.

use axum::http::{Extensions, HeaderMap};

use super::IssuedToken;
use crate::identity::audit::{self, Action};
use crate::identity::two_factor;
use crate::identity::users::service::{self as users, AuthUser};
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult};
use crate::platform::ratelimit::client_ip;

/// What a sign-in opens: a bearer token for the API, a cookie session for pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Api,
    Web,
}

impl Channel {
    /// The session's kind as stored (it sets the session's lifetime).
    pub const fn kind(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Web => "web",
        }
    }
}

/// What a right password opens.
pub enum SignedIn {
    /// A session for the channel.
    Session(IssuedToken),
    /// On the web, an account with a second factor and no code yet: the sign-in
    /// page asks for it next (the API answers 401 `two_factor_required` instead).
    SecondFactorNeeded(AuthUser),
}

/// Checks the attempt against the rate limits (429 `TooManyRequests`), then the
/// password: a success opens a session for `channel`; unknown e-mail and wrong
/// password are the same `InvalidCredentials` and count against the limits. Both
/// outcomes are in the audit trail.
///
/// An account with a second factor needs its code (`second`): a wrong one counts
/// as a failed sign-in. An administrator or manager whose organization requires a
/// second factor and who has none gets a web session (its pages ask them to set it
/// up first) but no API token (403 `two_factor_setup_required`).
#[allow(clippy::too_many_arguments)]
pub async fn sign_in(
    state: &AppState,
    channel: Channel,
    email: &str,
    password: &str,
    second: Option<&str>,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> AppResult<SignedIn> {
    let ip = client_ip(extensions);
    state.limits.check_login(&ip, email).await?;
    let Some(user) = users::authenticate(&state.db, email, password).await? else {
        tracing::info!(channel = channel.kind(), "failed sign-in");
        state.limits.login_failed(&ip, email).await;
        let account = users::account_of(&state.db, email).await?;
        audit::record_access(&state.db, Action::LoginFailed, account, headers, extensions, None).await?;
        return Err(AppError::InvalidCredentials);
    };
    if two_factor::is_enabled(&state.db, user.id).await? {
        let Some(code) = second.map(str::trim).filter(|c| !c.is_empty()) else {
            return match channel {
                Channel::Web => Ok(SignedIn::SecondFactorNeeded(user)),
                Channel::Api => Err(AppError::SecondFactorRequired),
            };
        };
        return finish_second_factor(state, channel, &user, code, headers, extensions).await.map(SignedIn::Session);
    }
    if channel == Channel::Api && must_set_up_second_factor(state, &user).await? {
        return Err(AppError::ForbiddenBecause {
            code: "two_factor_setup_required",
            message: crate::platform::i18n::Msg::new("two_factor.setup_required"),
        });
    }
    let issued = super::issue(&state.db, &state.signing_key, &user, channel.kind()).await?;
    audit::record_access(&state.db, Action::Login, Some((user.org, user.id)), headers, extensions, None).await?;
    tracing::info!(user_id = user.id, channel = channel.kind(), "signed in");
    Ok(SignedIn::Session(issued))
}

/// The second step of a sign-in whose password was right: the code checked
/// (against the same rate limits as passwords), then the session opened; both
/// outcomes in the audit trail, saying which factor.
pub async fn finish_second_factor(
    state: &AppState,
    channel: Channel,
    user: &AuthUser,
    code: &str,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> AppResult<IssuedToken> {
    let ip = client_ip(extensions);
    state.limits.check_login(&ip, &user.email).await?;
    let who = Some((user.org, user.id));
    let Some(factor) = two_factor::verify(&state.db, &state.cipher, user, code).await? else {
        tracing::info!(user_id = user.id, channel = channel.kind(), "second factor refused");
        state.limits.login_failed(&ip, &user.email).await;
        let details = serde_json::json!({ "second_factor": "refused" });
        audit::record_access(&state.db, Action::LoginFailed, who, headers, extensions, Some(details)).await?;
        return Err(AppError::InvalidCredentials);
    };
    let issued = super::issue(&state.db, &state.signing_key, user, channel.kind()).await?;
    let details = serde_json::json!({ "second_factor": factor.as_str() });
    audit::record_access(&state.db, Action::Login, who, headers, extensions, Some(details)).await?;
    tracing::info!(user_id = user.id, channel = channel.kind(), factor = factor.as_str(), "signed in");
    Ok(issued)
}

/// Whether the user's organization requires a second factor of them and they have
/// none yet.
pub async fn must_set_up_second_factor(state: &AppState, user: &AuthUser) -> AppResult<bool> {
    if !two_factor::required_for(user, true) {
        return Ok(false);
    }
    let requires = crate::identity::organizations::service::get(&state.db, user.org).await?.require_two_factor;
    Ok(requires && !two_factor::is_enabled(&state.db, user.id).await?)
}
