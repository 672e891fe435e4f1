//! Request rate limits, per key (client address, account, user), in memory.
//!
//! Each instance counts for itself: behind a load balancer with N instances a
//! client may reach N times the limit, which still stops brute force.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::extract::ConnectInfo;
use axum::http::Extensions;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::platform::error::AppError;

/// Keys kept before forgetting those whose quota has recovered.
const MAX_TRACKED_KEYS: usize = 10_000;

pub struct RateLimits {
    login_by_ip: DefaultKeyedRateLimiter<String>,
    login_by_account: DefaultKeyedRateLimiter<String>,
    api_by_user: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(login_per_minute: NonZeroU32, api_per_minute: NonZeroU32) -> Self {
        Self {
            login_by_ip: RateLimiter::keyed(Quota::per_minute(login_per_minute)),
            login_by_account: RateLimiter::keyed(Quota::per_minute(login_per_minute)),
            api_by_user: RateLimiter::keyed(Quota::per_minute(api_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// A sign-in attempt from `ip` for `account`: both must be under their limit.
    pub fn check_login(&self, ip: &str, account: &str) -> Result<(), AppError> {
        let by_ip = self.check(&self.login_by_ip, &ip.to_owned());
        let by_account = self.check(&self.login_by_account, &account.trim().to_lowercase());
        by_ip.and(by_account)
    }

    /// An API request by a signed-in user.
    pub fn check_api(&self, user_id: i64) -> Result<(), AppError> {
        self.check(&self.api_by_user, &user_id)
    }

    fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), AppError> {
        if limiter.len() > MAX_TRACKED_KEYS {
            limiter.retain_recent();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            AppError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) }
        })
    }
}

/// The client's address as the server saw it (a proxy's, behind one).
pub fn client_ip(extensions: &Extensions) -> String {
    extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "local".to_owned(), |info| info.0.ip().to_string())
}
