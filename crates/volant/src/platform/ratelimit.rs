//! Request rate limits, per key (client address, account, user).
//!
//! Sign-in: every attempt counts against the client's address; only failures
//! count against the account, per address (so a stranger's wrong passwords do
//! not lock its owner out) and, more slowly, from all addresses together (so
//! many addresses still cannot guess a password).
//!
//! In memory by default: each instance counts for itself, so behind a load
//! balancer with N instances a client may reach N times the limit. With
//! `REDIS_URL`, the instances share one count per key in Redis (the same
//! generic cell rate algorithm, run atomically by a script on Redis's clock);
//! if Redis cannot be reached, each instance falls back to its own count
//! rather than letting everything through.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::Extensions;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use redis::aio::ConnectionManager;

use crate::platform::error::AppError;
use crate::platform::proxy::ClientContext;

/// Keys kept before forgetting those whose quota has recovered.
const MAX_TRACKED_KEYS: usize = 10_000;

/// GCRA: the key holds the theoretical arrival time (ms). A request is
/// admitted when, after it, the backlog stays within the period. The answer is
/// `{ms to wait (0: admitted), backlog in ms}`. `ARGV[3]`: `take` counts an admitted request,
/// `peek` only answers, `add` counts one whatever the answer (a failed sign-in).
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local mode = ARGV[3] or 'take'
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if mode == 'add' then
  if new_tat - now > period + interval then new_tat = now + period + interval end
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
  return {0, new_tat - now}
end
if new_tat - now > period then
  return {new_tat - now - period, tat - now}
end
if mode == 'take' then
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
  return {0, new_tat - now}
end
return {0, tat - now}
";

/// Failed sign-ins are counted over this window: per account and address, the
/// per-minute budget; per account from all addresses, ten times that.
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How many more failures an account may take from all addresses than from one.
const ACCOUNT_CEILING_FACTOR: u32 = 10;

/// Password links one address may ask for: a few, then one every few minutes
/// (each sends an e-mail to someone who may not have asked).
const RESET_PER_ACCOUNT: Budget = Budget { burst: 3, period: Duration::from_secs(15 * 60) };

/// What the shared (Redis) count is asked to do.
#[derive(Clone, Copy)]
enum Mode {
    /// Count the request if it is admitted.
    Take,
    /// Only tell whether one more would be admitted.
    Peek,
    /// Count one, admitted or not.
    Add,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Take => "take",
            Self::Peek => "peek",
            Self::Add => "add",
        }
    }
}

/// A budget of `burst` events per `period`, recovered steadily.
#[derive(Clone, Copy)]
struct Budget {
    burst: u32,
    period: Duration,
}

impl Budget {
    fn interval(self) -> Duration {
        self.period / self.burst.max(1)
    }

    /// The same budget for an in-memory limiter.
    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.interval()).map_or(Quota::per_minute(burst), |q| q.allow_burst(burst))
    }
}

/// In-memory GCRA counts that can be read without being spent (failures are
/// counted after the fact, once the password is known to be wrong).
struct FailureCounts {
    budget: Budget,
    /// Theoretical arrival time per key.
    keys: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl FailureCounts {
    fn new(budget: Budget) -> Self {
        Self { budget, keys: std::sync::Mutex::default() }
    }

    /// How long until one more failure would be within the budget (`None`: it is now).
    fn wait(&self, key: &str) -> Option<Duration> {
        let now = std::time::Instant::now();
        let keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let tat = keys.get(key).copied().filter(|tat| *tat > now).unwrap_or(now);
        let backlog = (tat + self.budget.interval()).saturating_duration_since(now);
        backlog.checked_sub(self.budget.period).filter(|wait| !wait.is_zero())
    }

    fn add(&self, key: &str) {
        let now = std::time::Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.len() > MAX_TRACKED_KEYS {
            keys.retain(|_, tat| *tat > now);
        }
        let tat = keys.get(key).copied().filter(|tat| *tat > now).unwrap_or(now);
        let ceiling = now + self.budget.period + self.budget.interval();
        keys.insert(key.to_owned(), (tat + self.budget.interval()).min(ceiling));
    }
}

struct Shared {
    connection: ConnectionManager,
    script: redis::Script,
    prefix: String,
}

pub struct RateLimits {
    login_by_ip: DefaultKeyedRateLimiter<String>,
    /// Failed sign-ins per account and address.
    failures_by_account_and_ip: FailureCounts,
    /// Failed sign-ins per account, from every address.
    failures_by_account: FailureCounts,
    /// Keeps its state readable: answers say how many requests remain.
    api_by_user: DefaultKeyedRateLimiter<i64, StateInformationMiddleware>,
    /// Password-link requests per client address, and per account asked for.
    resets_by_ip: DefaultKeyedRateLimiter<String>,
    resets_by_account: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    login_per_minute: NonZeroU32,
    api_per_minute: NonZeroU32,
    shared: Option<Shared>,
}

impl RateLimits {
    pub fn new(login_per_minute: NonZeroU32, api_per_minute: NonZeroU32) -> Self {
        let per_address = Budget { burst: login_per_minute.get(), period: FAILURE_WINDOW };
        let per_account =
            Budget { burst: login_per_minute.get().saturating_mul(ACCOUNT_CEILING_FACTOR), period: FAILURE_WINDOW };
        Self {
            login_by_ip: RateLimiter::keyed(Quota::per_minute(login_per_minute)),
            failures_by_account_and_ip: FailureCounts::new(per_address),
            failures_by_account: FailureCounts::new(per_account),
            api_by_user: RateLimiter::keyed(Quota::per_minute(api_per_minute)).with_middleware(),
            resets_by_ip: RateLimiter::keyed(Quota::per_minute(login_per_minute)),
            resets_by_account: RateLimiter::keyed(RESET_PER_ACCOUNT.quota()),
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

    /// A sign-in attempt from `ip` for `account`, before its password is checked:
    /// counted against the address; refused while the account's failures from this
    /// address, or from all addresses, are over their budget.
    pub async fn check_login(&self, ip: &str, account: &str) -> Result<(), AppError> {
        self.check_sign_in_from(ip).await?;
        for (kind, key, counts) in self.failure_keys(ip, account) {
            let outcome = match self.check_shared(kind, &key, counts.budget, Mode::Peek).await {
                Some(outcome) => outcome,
                None => counts.wait(&key).map_or(Ok(()), |wait| Err(too_many(wait))),
            };
            outcome?;
        }
        Ok(())
    }

    /// A sign-in begun from `ip` without a password (a single sign-on sent to its
    /// provider): counted against the address only. An account's failed passwords
    /// do not close this way in (it is the way around them).
    pub async fn check_sign_in_from(&self, ip: &str) -> Result<(), AppError> {
        let per_minute = Budget { burst: self.login_per_minute.get(), period: Duration::from_secs(60) };
        match self.check_shared("login-ip", ip, per_minute, Mode::Take).await {
            Some(outcome) => outcome,
            None => self.check(&self.login_by_ip, &ip.to_owned()),
        }
    }

    /// A wrong password from `ip` for `account`: counted against the account, from
    /// this address and from all (a correct one is not: it spends nothing).
    pub async fn login_failed(&self, ip: &str, account: &str) {
        for (kind, key, counts) in self.failure_keys(ip, account) {
            if self.check_shared(kind, &key, counts.budget, Mode::Add).await.is_none() {
                counts.add(&key);
            }
        }
    }

    /// The account's failure counts: from this address, and from all.
    fn failure_keys(&self, ip: &str, account: &str) -> [(&'static str, String, &FailureCounts); 2] {
        // An address never holds `|`: the pair cannot be mistaken for another.
        let account: String = account.trim().to_lowercase().chars().take(320).collect();
        [
            ("login-failures", format!("{ip}|{account}"), &self.failures_by_account_and_ip),
            ("login-account-failures", account, &self.failures_by_account),
        ]
    }

    /// A "forgotten password" request from `ip` for the address `account`: counted
    /// against both, whether the address has an account or not (the answer must
    /// not tell).
    pub async fn check_password_reset(&self, ip: &str, account: &str) -> Result<(), AppError> {
        let per_minute = Budget { burst: self.login_per_minute.get(), period: Duration::from_secs(60) };
        let by_ip = match self.check_shared("reset-ip", ip, per_minute, Mode::Take).await {
            Some(outcome) => outcome,
            None => self.check(&self.resets_by_ip, &ip.to_owned()),
        };
        by_ip?;
        let account: String = account.trim().to_lowercase().chars().take(320).collect();
        match self.check_shared("reset-account", &account, RESET_PER_ACCOUNT, Mode::Take).await {
            Some(outcome) => outcome,
            None => self.check(&self.resets_by_account, &account),
        }
    }

    /// An API request by a signed-in user: admitted or not, and where the user
    /// then stands (the `RateLimit-*` headers of the answer).
    pub async fn check_api(&self, user_id: i64) -> (Standing, Result<(), AppError>) {
        let limit = self.api_per_minute.get();
        let per_minute = Budget { burst: limit, period: Duration::from_secs(60) };
        if let Some((outcome, backlog)) =
            self.check_shared_backlog("api-user", &user_id.to_string(), per_minute, Mode::Take).await
        {
            let spare = per_minute.period.saturating_sub(backlog);
            let remaining =
                u32::try_from(spare.as_millis() / per_minute.interval().as_millis().max(1)).unwrap_or(limit);
            return (Standing::new(limit, remaining.min(limit), backlog), outcome);
        }
        if self.api_by_user.len() > MAX_TRACKED_KEYS {
            self.api_by_user.retain_recent();
        }
        match self.api_by_user.check_key(&user_id) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity().min(limit);
                // Each spent request comes back after one interval.
                let backlog = per_minute.interval() * (limit - remaining);
                (Standing::new(limit, remaining, backlog), Ok(()))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                (Standing::new(limit, 0, per_minute.period), Err(too_many(wait)))
            }
        }
    }

    /// The shared count's answer, or `None` without Redis (or when it fails).
    async fn check_shared(&self, kind: &str, key: &str, budget: Budget, mode: Mode) -> Option<Result<(), AppError>> {
        self.check_shared_backlog(kind, key, budget, mode).await.map(|(outcome, _)| outcome)
    }

    /// [`Self::check_shared`], with the key's backlog after the request.
    async fn check_shared_backlog(
        &self,
        kind: &str,
        key: &str,
        budget: Budget,
        mode: Mode,
    ) -> Option<(Result<(), AppError>, Duration)> {
        let shared = self.shared.as_ref()?;
        let period_ms = u64::try_from(budget.period.as_millis()).unwrap_or(u64::MAX);
        let interval_ms = u64::try_from(budget.interval().as_millis()).unwrap_or(u64::MAX).max(1);
        let mut connection = shared.connection.clone();
        let answer: Result<(u64, u64), redis::RedisError> = shared
            .script
            .key(format!("{}:rl:{kind}:{key}", shared.prefix))
            .arg(interval_ms)
            .arg(period_ms)
            .arg(mode.as_str())
            .invoke_async(&mut connection)
            .await;
        match answer {
            Ok((0, backlog_ms)) => Some((Ok(()), Duration::from_millis(backlog_ms))),
            Ok((wait_ms, backlog_ms)) => {
                Some((Err(too_many(Duration::from_millis(wait_ms))), Duration::from_millis(backlog_ms)))
            }
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
        limiter.check_key(key).map_err(|not_until| too_many(not_until.wait_time_from(self.clock.now())))
    }
}

/// Where a user stands against the API limit after a request, sent with every
/// answer (IETF draft "RateLimit header fields for HTTP", the widely read form):
/// `RateLimit-Limit` requests per minute, `RateLimit-Remaining` still allowed now,
/// `RateLimit-Reset` seconds until the full allowance is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub limit: u32,
    pub remaining: u32,
    pub reset_secs: u64,
}

impl Standing {
    fn new(limit: u32, remaining: u32, backlog: Duration) -> Self {
        let reset_secs = backlog.as_secs() + u64::from(backlog.subsec_nanos() > 0);
        Self { limit, remaining, reset_secs }
    }

    /// Writes the three `RateLimit-*` headers.
    pub fn write(self, headers: &mut axum::http::HeaderMap) {
        for (name, value) in [
            ("ratelimit-limit", u64::from(self.limit)),
            ("ratelimit-remaining", u64::from(self.remaining)),
            ("ratelimit-reset", self.reset_secs),
        ] {
            headers.insert(name, axum::http::HeaderValue::from(value));
        }
    }
}

/// 429, to be tried again after `wait` (whole seconds, at least one).
fn too_many(wait: Duration) -> AppError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    AppError::TooManyRequests { retry_after_secs: secs.max(1) }
}

/// The client's address: the socket peer, or behind a trusted proxy the address it
/// forwarded (see [`ClientContext`]); `local` for requests made in-process.
pub fn client_ip(extensions: &Extensions) -> String {
    ClientContext::of(extensions).ip.map_or_else(|| "local".to_owned(), |ip| ip.to_string())
}
