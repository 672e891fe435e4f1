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
//! The cache answers only while its watcher is known to be up to date. On
//! PostgreSQL the listening connection itself sends a heartbeat every
//! [`HEARTBEAT`] on a channel of the instance's own, carrying the time it was
//! sent; news counts from the send time of the last heartbeat this connection
//! sent and heard back from its own server process (notifications of every
//! channel arrive in commit order, so every change committed before it has been
//! applied). On SQLite news counts from the start of the last successful read.
//! Without news for [`POSTGRES_SILENCE`] or [`SQLITE_SILENCE`] — start-up, a
//! slow or silent connection, a slow read — every request asks the database; a
//! lost connection or a failed read also forgets what was learnt. A check that
//! began before a change never stores its answer after it: every change moves a
//! generation, which the check must still see when it stores.
//!
//! The listening connection is one per instance besides the pool, with the
//! pool's connection settings: it must reach PostgreSQL directly or through a
//! pooler in session mode. A pooler in transaction mode lends the listening
//! server process to others, whose notifications are then lost: there, turn
//! the cache off (`VOLANT_CREDENTIAL_CACHE=false`).

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
/// SQLite: without a successful read for this long, nothing is answered from memory.
pub const SQLITE_SILENCE: Duration = Duration::from_secs(1);
/// PostgreSQL: how often the listening connection sends the heartbeat it must hear back.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// PostgreSQL: when the last heartbeat heard back was sent longer ago than
/// this, nothing is answered from memory (and the connection is opened again).
pub const POSTGRES_SILENCE: Duration = Duration::from_secs(3);
/// The PostgreSQL channel the triggers notify: `schema:user id`, `schema:*`.
pub const CHANNEL: &str = "volant_credentials";
/// The listening connection's `application_name` (what `pg_stat_activity`
/// shows), followed by the schema it listens for.
pub const LISTENER_NAME: &str = "volant credentials";
/// At most this many credentials are remembered (about 300 bytes each).
const CAPACITY: usize = 20_000;
/// `credential_changes` rows older than this are deleted (by [`prune`]): every
/// instance has read them long before; one that could not read for a minute
/// forgets everything (see [`watch_sqlite`]).
const CHANGES_KEPT: &str = "-10 minutes";

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
    /// When the watcher last heard from the database (ms since `born`).
    confirmed: AtomicU64,
    /// How long the watcher may be silent before the cache stops answering (ms).
    silence: AtomicU64,
    born: Option<Instant>,
    /// Requests answered from memory.
    hits: AtomicU64,
    /// Changes the watcher learnt from the database.
    announced: AtomicU64,
    /// Tells this instance's heartbeats from the others'.
    nonce: u64,
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
        let cache = Arc::new(Self { born: Some(Instant::now()), nonce: fastrand::u64(..), ..Self::default() });
        let mut caches = lock(&CACHES);
        caches.retain(|weak| weak.strong_count() > 0);
        caches.push(Arc::downgrade(&cache));
        cache
    }

    /// The credential stored under `key`, if trusted and not too old.
    pub fn get(&self, key: &str) -> Option<Remembered> {
        if !self.is_trusted() {
            metrics::counter!(crate::platform::metrics::name::CREDENTIAL_CACHE_LOOKUPS, "outcome" => "bypassed")
                .increment(1);
            return None;
        }
        let found = {
            let store = lock(&self.store);
            store.entries.get(key).filter(|entry| entry.stored.elapsed() < LIFETIME).map(|entry| entry.value.clone())
        };
        let outcome = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!(crate::platform::metrics::name::CREDENTIAL_CACHE_LOOKUPS, "outcome" => outcome).increment(1);
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
        if store.generation != generation || !self.is_trusted() {
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

    /// Whether the cache is in use: its watcher is connected, up to date, and
    /// heard from the database lately.
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
            && self.now_ms().saturating_sub(self.confirmed.load(Ordering::Acquire))
                < self.silence.load(Ordering::Relaxed)
    }

    /// How many changes the watcher learnt from the database (another process's
    /// as well as this one's).
    pub fn announced(&self) -> u64 {
        self.announced.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> u64 {
        self.born.map_or(0, |born| u64::try_from(born.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Every change committed before `at` (ms since `born`) has been applied.
    fn confirm_at(&self, at: u64) {
        self.confirmed.fetch_max(at, Ordering::AcqRel);
    }

    /// A change the database announced.
    fn announce(&self, user_id: Option<i64>) {
        self.announced.fetch_add(1, Ordering::Relaxed);
        match user_id {
            Some(user_id) => self.forget(user_id),
            None => self.forget_all(),
        }
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
        // Read first: every request calls this, and a write would bounce the
        // cache line between cores.
        if self.watching.load(Ordering::Acquire) || self.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let (cache, db) = (Arc::downgrade(self), db.clone());
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                self.silence.store(millis(POSTGRES_SILENCE), Ordering::Relaxed);
                tokio::spawn(watch_postgres(cache, db))
            }
            _ => {
                self.silence.store(millis(SQLITE_SILENCE), Ordering::Relaxed);
                tokio::spawn(watch_sqlite(cache, db))
            }
        };
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Deletes the change log's old rows (SQLite; PostgreSQL keeps no log).
pub async fn prune(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(());
    }
    let prune = format!("DELETE FROM credential_changes WHERE changed_at < datetime('now', '{CHANGES_KEPT}')");
    crate::platform::db::write(db, async |txn| txn.execute_unprepared(&prune).await.map(|_| ())).await
}

/// What a change notification says to the instance listening for `schema`.
#[derive(Debug, PartialEq, Eq)]
enum News {
    /// A user's credentials changed.
    User(i64),
    /// Every credential of the schema may have changed (`TRUNCATE`).
    Everyone,
}

fn read_payload(payload: &str, schema: &str) -> Option<News> {
    // A user id never holds a colon; a schema's name may.
    let (of, what) = payload.rsplit_once(':')?;
    if of != schema {
        return None;
    }
    Some(what.parse::<i64>().map_or(News::Everyone, News::User))
}

/// Listens on [`CHANNEL`] through a connection of its own (the application's
/// pool keeps all of its connections), which also sends the heartbeats: a
/// heartbeat not heard back within [`POSTGRES_SILENCE`] takes the connection
/// for lost, and another is opened.
async fn watch_postgres(cache: Weak<CredentialCache>, db: DatabaseConnection) {
    use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
    let mut schema: Option<String> = None;
    loop {
        let Some(nonce) = cache.upgrade().map(|current| current.nonce) else { return };
        if schema.is_none() {
            // Notifications reach every schema's instances; each keeps its own.
            schema = tables_schema(&db)
                .await
                .inspect_err(|err| tracing::warn!(error = %err, "credential changes: no schema"))
                .ok();
        }
        if let Some(schema) = schema.as_deref() {
            let options = db
                .get_postgres_connection_pool()
                .connect_options()
                .as_ref()
                .clone()
                .application_name(&format!("{LISTENER_NAME} {schema}"));
            // A pool of its own for each connection: a listener dropped on a dead
            // connection may hold its slot until TCP gives up.
            let pool =
                PgPoolOptions::new().max_connections(1).acquire_timeout(POSTGRES_SILENCE).connect_lazy_with(options);
            // Heartbeats go to a channel of this instance's own, in the same queue
            // (so in commit order with the changes), heard by nobody else.
            let beats = format!("{CHANNEL}_beat_{nonce}");
            let listening = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                // A lost connection ends the listening; this loop opens another.
                listener.eager_reconnect(false);
                listener.listen_all([CHANNEL, beats.as_str()]).await?;
                let backend: i32 =
                    sea_orm::sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut listener).await?;
                Ok::<_, sea_orm::sqlx::Error>((listener, backend))
            };
            match tokio::time::timeout(POSTGRES_SILENCE, listening).await {
                Ok(Ok((listener, backend))) => {
                    listen(&cache, Listening { listener, backend, beats, schema }).await;
                }
                Ok(Err(err)) => tracing::warn!(error = %err, "credential changes: cannot listen"),
                Err(_) => tracing::warn!("credential changes: cannot listen in time"),
            }
        }
        let Some(current) = cache.upgrade() else { return };
        current.set_trusted(false);
        drop(current);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A connection listening for credential changes.
struct Listening<'a> {
    listener: sea_orm::sqlx::postgres::PgListener,
    /// The server process it talks to: a heartbeat from another (a pooler
    /// lending the connection around) proves nothing about this one.
    backend: i32,
    /// This instance's heartbeat channel.
    beats: String,
    schema: &'a str,
}

/// Applies what the connection hears, sending a heartbeat every [`HEARTBEAT`];
/// returns when the connection is lost, silent, lent to another server process,
/// or the cache is gone. The cache is trusted from this connection's first
/// heartbeat heard back.
async fn listen(cache: &Weak<CredentialCache>, mut listening: Listening<'_>) {
    let Some(first_sent) = cache.upgrade().map(|current| current.now_ms()) else { return };
    loop {
        let Some(sent) = cache.upgrade().map(|current| current.now_ms()) else { return };
        let beat = sea_orm::sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid() FROM pg_notify($1, $2)")
            .bind(listening.beats.as_str())
            .bind(sent.to_string())
            .fetch_one(&mut listening.listener);
        // A busy database is slow to take notifications: the silence rule, not
        // this wait, decides when the cache stops answering.
        match tokio::time::timeout(POSTGRES_SILENCE, beat).await {
            Ok(Ok(backend)) if backend == listening.backend => {}
            Ok(Ok(_)) => {
                tracing::warn!("credential changes: the listening connection moved to another server process");
                return;
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "credential changes: heartbeat failed");
                return;
            }
            Err(_) => {
                tracing::warn!("credential changes: heartbeat not sent in time");
                return;
            }
        }
        let next_beat = tokio::time::Instant::now() + HEARTBEAT;
        loop {
            let received = tokio::time::timeout_at(next_beat, listening.listener.try_recv()).await;
            let notification = match received {
                Err(_) => break,
                Ok(Ok(Some(notification))) => notification,
                Ok(Ok(None)) => {
                    tracing::warn!("credential changes: connection lost");
                    return;
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "credential changes: listening failed");
                    return;
                }
            };
            let Some(current) = cache.upgrade() else { return };
            if notification.channel() == listening.beats {
                let heard = notification.payload().parse::<u64>().ok();
                let own = u32::try_from(listening.backend).is_ok_and(|pid| pid == notification.process_id());
                // Only a heartbeat this connection sent counts, at the time it was sent.
                if let Some(at) = heard.filter(|at| own && (first_sent..=sent).contains(at)) {
                    current.confirm_at(at);
                    current.set_trusted(true);
                }
            } else {
                match read_payload(notification.payload(), listening.schema) {
                    Some(News::User(user_id)) => current.announce(Some(user_id)),
                    Some(News::Everyone) => current.announce(None),
                    None => {}
                }
            }
        }
        let Some(current) = cache.upgrade() else { return };
        if current.now_ms().saturating_sub(current.confirmed.load(Ordering::Acquire)) >= millis(POSTGRES_SILENCE) {
            tracing::warn!("credential changes: no heartbeat heard back");
            return;
        }
    }
}

/// The schema holding the credential tables (what the triggers name), whatever
/// the search path's other entries.
async fn tables_schema(db: &DatabaseConnection) -> Result<String, sea_orm::DbErr> {
    let sql = "SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE c.oid = 'sessions'::regclass";
    let row = db
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await?
        .ok_or_else(|| sea_orm::DbErr::Custom("no sessions table".to_owned()))?;
    row.try_get("", "schema")
}

/// Reads `credential_changes` every [`SQLITE_POLL`]: SQLite has one writer at a
/// time, so rows commit in `seq` order and `seq > last` misses none. After a
/// minute without a successful read, rows may have been pruned meanwhile: the
/// cache starts afresh.
async fn watch_sqlite(cache: Weak<CredentialCache>, db: DatabaseConnection) {
    let mut last: Option<i64> = None;
    let mut read_at = Instant::now();
    let mut tick = tokio::time::interval(SQLITE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(current) = cache.upgrade() else { return };
        // What the read returns was committed before it began.
        let began = current.now_ms();
        let read = read_changes(&db, last).await;
        match read {
            Ok((seq, users)) => {
                if read_at.elapsed() > Duration::from_secs(60) {
                    current.set_trusted(false);
                }
                for user_id in users {
                    current.announce(Some(user_id));
                }
                last = Some(seq);
                read_at = Instant::now();
                current.confirm_at(began);
                current.set_trusted(true);
            }
            Err(err) => {
                if current.is_trusted() {
                    tracing::warn!(error = %err, "credential changes: reading failed");
                }
                current.set_trusted(false);
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

    /// A cache whose watcher has just heard from the database.
    fn listening() -> Arc<CredentialCache> {
        let cache = CredentialCache::new();
        cache.silence.store(millis(Duration::from_secs(3600)), Ordering::Relaxed);
        cache.confirm_at(cache.now_ms());
        cache.set_trusted(true);
        cache
    }

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
        cache.silence.store(millis(Duration::from_secs(3600)), Ordering::Relaxed);
        cache.confirm_at(cache.now_ms());
        cache.set_trusted(true);
        cache.remember("s:a".into(), 1, value("a"), cache.generation());
        assert_eq!(read(&cache, "s:a").as_deref(), Some("a"));
        cache.set_trusted(false);
        assert_eq!(read(&cache, "s:a"), None);
        assert!(cache.is_empty(), "a suspended cache forgets");
    }

    #[test]
    fn an_answer_read_before_a_change_is_not_kept_after_it() {
        let cache = listening();
        let before = cache.generation();
        cache.forget(42);
        cache.remember("s:stale".into(), 42, value("stale"), before);
        assert_eq!(read(&cache, "s:stale"), None, "the check began before the change");
        cache.remember("s:fresh".into(), 42, value("fresh"), cache.generation());
        assert_eq!(read(&cache, "s:fresh").as_deref(), Some("fresh"));
    }

    #[test]
    fn forgetting_a_user_reaches_every_cache_and_only_that_user() {
        let (first, second) = (listening(), listening());
        for cache in [&first, &second] {
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

    #[test]
    fn a_silent_watcher_stops_the_answers() {
        let cache = listening();
        cache.remember("s:a".into(), 1, value("a"), cache.generation());
        assert_eq!(read(&cache, "s:a").as_deref(), Some("a"));
        cache.silence.store(0, Ordering::Relaxed);
        assert!(!cache.is_trusted());
        assert_eq!(read(&cache, "s:a"), None, "nothing is served without news from the database");
    }

    #[test]
    fn notifications_are_read_for_this_schema_only() {
        assert_eq!(read_payload("public:12", "public"), Some(News::User(12)));
        assert_eq!(read_payload("public:*", "public"), Some(News::Everyone));
        assert_eq!(read_payload("odd:name:12", "odd:name"), Some(News::User(12)));
        assert_eq!(read_payload("other:12", "public"), None);
        assert_eq!(read_payload("no schema", "public"), None);
    }

    #[test]
    fn news_counts_from_when_it_was_sent() {
        // A heartbeat sent long ago and heard only now proves nothing recent.
        let late = CredentialCache { born: Some(Instant::now() - Duration::from_secs(10)), ..Default::default() };
        late.silence.store(millis(POSTGRES_SILENCE), Ordering::Relaxed);
        late.trusted.store(true, Ordering::Release);
        late.confirm_at(1_000);
        assert!(!late.is_trusted(), "sent 9 s ago");
        late.confirm_at(late.now_ms());
        assert!(late.is_trusted());
    }
}
