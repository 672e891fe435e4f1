//! Request rate limits, per key (client address, account, user).
//!
//! In memory by default: each instance counts for itself, so behind a load
//! balancer with N instances a client may reach N times the limit. With
//! `REDIS_URL`, the instances share one count per key in Redis (the same
//! generic cell rate algorithm, run atomically by a script on Redis's clock);
//! if Redis cannot be reached, each instance falls back to its own count
//! rather than letting everything through.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Extensions;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use redis::aio::ConnectionManager;

use crate::platform::error::AppError;

/// Keys kept before forgetting those whose quota has recovered.
const MAX_TRACKED_KEYS: usize = 10_000;

/// GCRA: the key holds the theoretical arrival time (ms). A request is
/// admitted when, after it, the backlog stays within the period; otherwise the
/// answer is how many ms to wait.
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > period then
  return new_tat - now - period
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
return 0
";

struct Shared {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
}

pub struct RateLimits {
    login_by_ip: DefaultKeyedRateLimiter<String>,
    login_by_account: DefaultKeyedRateLimiter<String>,
    api_by_user: DefaultKeyedRateLimiter<i64>,
    clock: DefaultClock,
    login_per_minute: NonZeroU32,
    api_per_minute: NonZeroU32,
    shared: Option<Shared>,
}

impl RateLimits {
    pub fn new(login_per_minute: NonZeroU32, api_per_minute: NonZeroU32) -> Self {
        Self {
            login_by_ip: RateLimiter::keyed(Quota::per_minute(login_per_minute)),
            login_by_account: RateLimiter::keyed(Quota::per_minute(login_per_minute)),
            api_by_user: RateLimiter::keyed(Quota::per_minute(api_per_minute)),
            clock: DefaultClock::default(),
            login_per_minute,
            api_per_minute,
            shared: None,
        }
    }

    /// Limits shared through Redis (`redis://host:6379`), keys under `prefix`.
    pub async fn shared(
        login_per_minute: NonZeroU32,
        api_per_minute: NonZeroU32,
        url: &str,
        prefix: &str,
    ) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| format!("Redis at REDIS_URL is not reachable: {e}"))?;
        let mut limits = Self::new(login_per_minute, api_per_minute);
        limits.shared = Some(Shared { connection, script: redis::Script::new(GCRA), prefix: prefix.to_owned() });
        Ok(limits)
    }

    /// A sign-in attempt from `ip` for `account`: both must be under their limit.
    pub async fn check_login(&self, ip: &str, account: &str) -> Result<(), AppError> {
        let account = account.trim().to_lowercase();
        let by_ip = match self.check_shared("login-ip", ip, self.login_per_minute).await {
            Some(outcome) => outcome,
            None => self.check(&self.login_by_ip, &ip.to_owned()),
        };
        let by_account = match self.check_shared("login-account", &account, self.login_per_minute).await {
            Some(outcome) => outcome,
            None => self.check(&self.login_by_account, &account),
        };
        by_ip.and(by_account)
    }

    /// An API request by a signed-in user.
    pub async fn check_api(&self, user_id: i64) -> Result<(), AppError> {
        match self.check_shared("api-user", &user_id.to_string(), self.api_per_minute).await {
            Some(outcome) => outcome,
            None => self.check(&self.api_by_user, &user_id),
        }
    }

    /// The shared count's answer, or `None` without Redis (or when it fails).
    async fn check_shared(&self, kind: &str, key: &str, per_minute: NonZeroU32) -> Option<Result<(), AppError>> {
        let shared = self.shared.as_ref()?;
        let period_ms: u64 = 60_000;
        let interval_ms = period_ms / u64::from(per_minute.get());
        let mut connection = shared.connection.clone();
        let answer: Result<u64, redis::RedisError> = shared
            .script
            .key(format!("{}:rl:{kind}:{key}", shared.prefix))
            .arg(interval_ms)
            .arg(period_ms)
            .invoke_async(&mut connection)
            .await;
        match answer {
            Ok(0) => Some(Ok(())),
            Ok(wait_ms) => Some(Err(AppError::TooManyRequests { retry_after_secs: wait_ms.div_ceil(1000).max(1) })),
            Err(err) => {
                tracing::warn!(error = %err, "shared rate limit unavailable: counting on this instance");
                None
            }
        }
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
