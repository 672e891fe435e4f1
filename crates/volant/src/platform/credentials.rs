//! Credentials this process has checked (sessions, personal tokens), kept in
//! memory so that an authenticated request costs its caller no database round
//! trip for the credential: only its data is read.
//!
//! A remembered credential is dropped:
//! - at once in this process when a service here changes it ([`forget_user`],
//!   called after the change commits);
//! - in every process when the database says so: triggers on `users`,
//!   `user_roles`, `sessions` and `api_tokens` (migration 34) `NOTIFY
//!   volant_credentials` on PostgreSQL and append to `credential_changes` on
//!   SQLite (read every [`SQLITE_POLL`]), so a revocation made by another
//!   instance, a worker or by hand in `psql` takes effect within that delay;
//! - after [`LIFETIME`] in any case.
//!
//! While the watcher is not connected (start-up, a lost connection, an error)
//! the cache is neither read nor filled: every request asks the database. A
//! check that began before a change never stores its answer after it: every
//! change moves a generation, which the check must still see when it stores.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

/// How long a remembered credential is trusted without news from the database.
pub const LIFETIME: Duration = Duration::from_secs(60);
/// How often an instance on SQLite reads `credential_changes`.
pub const SQLITE_POLL: Duration = Duration::from_millis(250);
/// The PostgreSQL channel the triggers notify, with the user's id as payload.
pub const CHANNEL: &str = "volant_credentials";
/// The listening connection's `application_name` (what `pg_stat_activity` shows).
pub const LISTENER_NAME: &str = "volant credentials";
/// At most this many credentials are remembered (about 300 bytes each).
const CAPACITY: usize = 20_000;
/// `credential_changes` rows older than this are deleted: every instance has read
/// them long before (one that could not is not trusted, and starts afresh).
const CHANGES_KEPT: &str = "-10 minutes";
/// How many SQLite polls between two prunings of `credential_changes`.
const POLLS_PER_PRUNE: u32 = 2_400;

/// What a check of a credential found, for one user.
pub type Remembered = Arc<dyn Any + Send + Sync>;

struct Entry {
    user_id: i64,
    value: Remembered,
    stored: Instant,
}

#[derive(Default)]
struct Store {
    generation: u64,
    entries: HashMap<String, Entry>,
}

/// One application's remembered credentials (shared by the clones of its state).
#[derive(Default)]
pub struct CredentialCache {
    store: Mutex<Store>,
    /// The watcher has been started.
    watching: AtomicBool,
    /// The watcher is connected and has read every change so far.
    trusted: AtomicBool,
    /// Requests answered from memory.
    hits: AtomicU64,
}

/// Every cache of this process, so that [`forget_user`] reaches them from any service.
static CACHES: LazyLock<Mutex<Vec<Weak<CredentialCache>>>> = LazyLock::new(Mutex::default);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent at every step: a panic elsewhere cannot leave it half-written.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Drops what every cache of this process remembers of `user_id`'s credentials.
/// Call it after a change to the user, their roles, sessions or tokens commits.
pub fn forget_user(user_id: i64) {
    for cache in lock(&CACHES).iter().filter_map(Weak::upgrade) {
        cache.forget(user_id);
    }
}

impl CredentialCache {
    pub fn new() -> Arc<Self> {
        let cache = Arc::new(Self::default());
        let mut caches = lock(&CACHES);
        caches.retain(|weak| weak.strong_count() > 0);
        caches.push(Arc::downgrade(&cache));
        cache
    }

    /// The credential stored under `key`, if trusted and not too old.
    pub fn get(&self, key: &str) -> Option<Remembered> {
        if !self.trusted.load(Ordering::Acquire) {
            return None;
        }
        let found = {
            let store = lock(&self.store);
            store.entries.get(key).filter(|entry| entry.stored.elapsed() < LIFETIME).map(|entry| entry.value.clone())
        };
        let outcome = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("credential_cache_lookups_total", "outcome" => outcome).increment(1);
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// How many requests were answered from memory.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Read before asking the database; hand it back to [`Self::remember`].
    pub fn generation(&self) -> u64 {
        lock(&self.store).generation
    }

    /// Stores what the database answered for `key`, unless anything changed since
    /// `generation` was read (the answer may then be stale) or the watcher is down.
    pub fn remember(&self, key: String, user_id: i64, value: Remembered, generation: u64) {
        let mut store = lock(&self.store);
        if store.generation != generation || !self.trusted.load(Ordering::Acquire) {
            return;
        }
        if store.entries.len() >= CAPACITY {
            store.entries.retain(|_, entry| entry.stored.elapsed() < LIFETIME);
            if store.entries.len() >= CAPACITY {
                store.entries.clear();
            }
        }
        store.entries.insert(key, Entry { user_id, value, stored: Instant::now() });
    }

    /// How many credentials are remembered.
    pub fn len(&self) -> usize {
        lock(&self.store).entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the cache is in use (its watcher is connected and up to date).
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    fn forget(&self, user_id: i64) {
        let mut store = lock(&self.store);
        store.generation += 1;
        store.entries.retain(|_, entry| entry.user_id != user_id);
    }

    fn forget_all(&self) {
        let mut store = lock(&self.store);
        store.generation += 1;
        store.entries.clear();
    }

    /// Starts or stops answering from memory; either way, what was remembered
    /// before is forgotten: a suspended cache may have missed changes. The order
    /// matters: nothing stored while suspended survives, nothing is served stale.
    fn set_trusted(&self, trusted: bool) {
        if self.trusted.load(Ordering::Acquire) == trusted {
            return;
        }
        if trusted {
            self.forget_all();
            self.trusted.store(true, Ordering::Release);
        } else {
            self.trusted.store(false, Ordering::Release);
            self.forget_all();
        }
        tracing::info!(trusted, "credential cache {}", if trusted { "in use" } else { "suspended" });
    }

    /// Starts watching `db` for credential changes, once: until the watcher is
    /// connected, nothing is remembered.
    pub fn watch(self: &Arc<Self>, db: &DatabaseConnection) {
        if self.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let (cache, db) = (Arc::downgrade(self), db.clone());
        match db.get_database_backend() {
            DatabaseBackend::Postgres => tokio::spawn(watch_postgres(cache, db)),
            _ => tokio::spawn(watch_sqlite(cache, db)),
        };
    }
}

/// Listens on [`CHANNEL`] through a connection of its own (the application's pool
/// keeps all of its connections), reconnecting after a second when it is lost.
async fn watch_postgres(cache: Weak<CredentialCache>, db: DatabaseConnection) {
    use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
    let options = db.get_postgres_connection_pool().connect_options().as_ref().clone().application_name(LISTENER_NAME);
    let pool = PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
    loop {
        let listening = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        }
        .await;
        match listening {
            Ok(mut listener) => {
                let Some(current) = cache.upgrade() else { return };
                current.set_trusted(true);
                drop(current);
                loop {
                    let notification = match listener.try_recv().await {
                        Ok(Some(notification)) => notification,
                        Ok(None) => break,
                        Err(err) => {
                            tracing::warn!(error = %err, "credential changes: listening failed");
                            break;
                        }
                    };
                    let Some(current) = cache.upgrade() else { return };
                    match notification.payload().parse::<i64>() {
                        Ok(user_id) => current.forget(user_id),
                        Err(_) => current.forget_all(),
                    }
                }
                tracing::warn!("credential changes: connection lost");
            }
            Err(err) => tracing::warn!(error = %err, "credential changes: cannot listen"),
        }
        let Some(current) = cache.upgrade() else { return };
        current.set_trusted(false);
        drop(current);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Reads `credential_changes` every [`SQLITE_POLL`]: SQLite has one writer at a
/// time, so rows commit in `seq` order and `seq > last` misses none.
async fn watch_sqlite(cache: Weak<CredentialCache>, db: DatabaseConnection) {
    let mut last: Option<i64> = None;
    let mut tick = tokio::time::interval(SQLITE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polls: u32 = 0;
    loop {
        tick.tick().await;
        let Some(current) = cache.upgrade() else { return };
        match read_changes(&db, last).await {
            Ok((seq, users)) => {
                for user_id in users {
                    current.forget(user_id);
                }
                last = Some(seq);
                current.set_trusted(true);
            }
            Err(err) => {
                if current.is_trusted() {
                    tracing::warn!(error = %err, "credential changes: reading failed");
                }
                current.set_trusted(false);
            }
        }
        drop(current);
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(POLLS_PER_PRUNE) {
            let prune = format!("DELETE FROM credential_changes WHERE changed_at < datetime('now', '{CHANGES_KEPT}')");
            let pruned =
                crate::platform::db::write(&db, async |txn| txn.execute_unprepared(&prune).await.map(|_| ())).await;
            if let Err(err) = pruned {
                tracing::warn!(error = %err, "credential changes: pruning failed");
            }
        }
    }
}

/// The last change's `seq` and the users changed after `last` (the first read
/// only learns where the log ends).
async fn read_changes(db: &DatabaseConnection, last: Option<i64>) -> Result<(i64, Vec<i64>), sea_orm::DbErr> {
    let backend = DatabaseBackend::Sqlite;
    let Some(last) = last else {
        let row =
            db.query_one_raw(Statement::from_string(backend, "SELECT MAX(seq) AS seq FROM credential_changes")).await?;
        let seq = row.map(|row| row.try_get::<Option<i64>>("", "seq")).transpose()?.flatten().unwrap_or(0);
        return Ok((seq, Vec::new()));
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT seq, user_id FROM credential_changes WHERE seq > ? ORDER BY seq",
            [last.into()],
        ))
        .await?;
    let mut seq = last;
    let mut users = Vec::with_capacity(rows.len());
    for row in rows {
        seq = row.try_get("", "seq")?;
        users.push(row.try_get("", "user_id")?);
    }
    Ok((seq, users))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(name: &str) -> Remembered {
        Arc::new(name.to_owned())
    }

    fn read(cache: &CredentialCache, key: &str) -> Option<String> {
        cache.get(key).and_then(|found| found.downcast::<String>().ok()).map(|found| (*found).clone())
    }

    #[test]
    fn nothing_is_kept_nor_served_until_the_watcher_is_up() {
        let cache = CredentialCache::new();
        cache.remember("s:a".into(), 1, value("a"), cache.generation());
        assert!(cache.is_empty());
        cache.set_trusted(true);
        cache.remember("s:a".into(), 1, value("a"), cache.generation());
        assert_eq!(read(&cache, "s:a").as_deref(), Some("a"));
        cache.set_trusted(false);
        assert_eq!(read(&cache, "s:a"), None);
        assert!(cache.is_empty(), "a suspended cache forgets");
    }

    #[test]
    fn an_answer_read_before_a_change_is_not_kept_after_it() {
        let cache = CredentialCache::new();
        cache.set_trusted(true);
        let before = cache.generation();
        cache.forget(42);
        cache.remember("s:stale".into(), 42, value("stale"), before);
        assert_eq!(read(&cache, "s:stale"), None, "the check began before the change");
        cache.remember("s:fresh".into(), 42, value("fresh"), cache.generation());
        assert_eq!(read(&cache, "s:fresh").as_deref(), Some("fresh"));
    }

    #[test]
    fn forgetting_a_user_reaches_every_cache_and_only_that_user() {
        let (first, second) = (CredentialCache::new(), CredentialCache::new());
        for cache in [&first, &second] {
            cache.set_trusted(true);
            cache.remember("s:one".into(), 7_001, value("one"), cache.generation());
            cache.remember("t:two".into(), 7_001, value("two"), cache.generation());
            cache.remember("s:other".into(), 7_002, value("other"), cache.generation());
        }
        forget_user(7_001);
        for cache in [&first, &second] {
            assert_eq!(read(cache, "s:one"), None);
            assert_eq!(read(cache, "t:two"), None);
            assert_eq!(read(cache, "s:other").as_deref(), Some("other"));
        }
        assert_eq!(first.hits(), 1, "what was found is counted, not what was looked for");
    }
}
