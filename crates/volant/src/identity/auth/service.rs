//! Sign-in: the one way to exchange an e-mail and a password for a session, used
//! by the API's token endpoint and by the sign-in page.

use axum::http::{Extensions, HeaderMap};

use super::IssuedToken;
use crate::identity::audit::{self, Action};
use crate::identity::users::service as users;
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

/// Checks the attempt against the rate limits (429 `TooManyRequests`), then the
/// password: a success opens a session for `channel`; unknown e-mail and wrong
/// password are the same `InvalidCredentials` and count against the limits. Both
/// outcomes are in the audit trail.
pub async fn sign_in(
    state: &AppState,
    channel: Channel,
    email: &str,
    password: &str,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> AppResult<IssuedToken> {
    let ip = client_ip(extensions);
    state.limits.check_login(&ip, email).await?;
    let Some(user) = users::authenticate(&state.db, email, password).await? else {
        tracing::info!(channel = channel.kind(), "failed sign-in");
        state.limits.login_failed(&ip, email).await;
        let account = users::account_of(&state.db, email).await?;
        audit::record_access(&state.db, Action::LoginFailed, account, headers, extensions, None).await?;
        return Err(AppError::InvalidCredentials);
    };
    let issued = super::issue(&state.db, &state.signing_key, &user, channel.kind()).await?;
    audit::record_access(&state.db, Action::Login, Some((user.org, user.id)), headers, extensions, None).await?;
    tracing::info!(user_id = user.id, channel = channel.kind(), "signed in");
    Ok(issued)
}
