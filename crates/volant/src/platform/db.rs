//! The one place that opens database connections: the backend is chosen by the
//! URL's scheme, and each backend is tuned for durability and concurrency.

use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

#[derive(Debug, Clone)]
pub struct DbSettings {
    pub url: String,
    pub max_connections: u32,
    /// PostgreSQL schema to work in (tests give each run its own).
    pub schema: Option<String>,
    /// SQLite: bytes read through memory mapping (`PRAGMA mmap_size`; 0: off).
    pub sqlite_mmap_bytes: u64,
}

impl DbSettings {
    pub fn new(url: impl Into<String>, max_connections: u32) -> Self {
        Self { url: url.into(), max_connections, schema: None, sqlite_mmap_bytes: 0 }
    }
}

/// Opens a pool. SQLite: WAL, `synchronous=FULL` (an acknowledged write survives
/// a power cut), foreign keys on, a busy timeout so writers queue instead of failing.
pub async fn connect(settings: &DbSettings) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(settings.max_connections)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if settings.url.starts_with("sqlite:") {
        let in_memory = settings.url.contains(":memory:") || settings.url.contains("mode=memory");
        if in_memory {
            // Each connection to an in-memory database would see its own empty database.
            options.max_connections(1).min_connections(1);
        } else {
            ensure_sqlite_directory(&settings.url)?;
        }
        let mmap_size = settings.sqlite_mmap_bytes.to_string();
        options.map_sqlx_sqlite_opts(move |opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Keeps the planner's statistics fresh (search picks its indexes from
                // them); bounded so closing a connection stays cheap on big tables.
                .optimize_on_close(true, 1000)
                .pragma("mmap_size", mmap_size.clone())
        });
    } else if let Some(schema) = &settings.schema {
        options.set_schema_search_path(schema.clone());
    }
    #[allow(clippy::disallowed_methods)] // This is the one place allowed to connect.
    let mut connection = Database::connect(options).await?;
    connection.set_metric_callback(|info| {
        crate::platform::metrics::record_query(info.elapsed, &info.statement.sql, info.failed);
    });
    Ok(connection)
}

/// Brings the schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Creates the folder of a SQLite file (`./data/` by default) on first start.
fn ensure_sqlite_directory(url: &str) -> Result<(), DbErr> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| DbErr::Custom(format!("invalid SQLite URL: {e}")))?;
    if let Some(parent) = options.get_filename().parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create database folder {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// SQLite admits one writer at a time; the others wait in SQLite's busy handler,
/// which sleeps up to 100 ms a turn and made the write tail latency hundreds of
/// milliseconds under load. Writers take their turn here instead: in arrival
/// order, woken as soon as the previous one commits.
static SQLITE_WRITERS: Mutex<()> = Mutex::const_new(());

/// A turn to write; held until the transaction ends (drop it after commit).
pub type WriteTurn = Option<MutexGuard<'static, ()>>;

/// What a write service runs on: the pool (whose SQLite writers queue for their
/// turn) or a caller's transaction (which already holds it).
pub trait Writer: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> + Sync {
    /// Waits for this writer's turn before it begins a transaction.
    fn write_turn(&self) -> impl Future<Output = WriteTurn> + Send;
}

impl Writer for DatabaseConnection {
    async fn write_turn(&self) -> WriteTurn {
        match self.get_database_backend() {
            DatabaseBackend::Sqlite => Some(SQLITE_WRITERS.lock().await),
            _ => None,
        }
    }
}

impl Writer for DatabaseTransaction {
    async fn write_turn(&self) -> WriteTurn {
        None
    }
}

/// Runs `work` in a write transaction, the only way to open one: waits for the
/// SQLite writer's turn (held until the end), begins, commits when `work` returns
/// `Ok` and rolls back when it returns `Err`. Called with a transaction, it opens a
/// savepoint inside it instead, so write services nest in their caller's
/// transaction: an `Err` undoes the inner part only (PostgreSQL needs that to go
/// on after a refused statement), and nothing is committed before the outer one.
pub async fn write<C, T, E>(db: &C, work: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, E>) -> Result<T, E>
where
    C: Writer,
    E: From<DbErr>,
{
    let _turn = db.write_turn().await;
    // SQLite: take the write lock at BEGIN, waiting in the busy handler. A
    // deferred transaction that reads, then writes after another process (the
    // CLI beside the server, a worker) committed, fails at once with
    // "database is locked" instead of waiting.
    let immediate = sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = db.begin_with_options(immediate).await?;
    match work(&txn).await {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// Takes transaction-scoped locks on `keys` (PostgreSQL advisory locks), in
/// ascending order so that two transactions never wait on each other in a cycle;
/// released at commit or rollback. SQLite writers already run one at a time.
pub async fn lock_keys(txn: &DatabaseTransaction, mut keys: Vec<i64>) -> Result<(), DbErr> {
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    Ok(())
}

/// A raw statement written with `$1, $2…` placeholders, for either backend
/// (SQLite reads them as `?1, ?2…`).
pub fn statement(backend: DatabaseBackend, sql: &str, values: Vec<sea_orm::Value>) -> sea_orm::Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// Connections open in the pool, and how many of them are idle.
pub fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}

/// Declares a table's entity: its `Model` (the columns, with SeaORM's
/// attributes), the `Entity`, `Column` and `ActiveModel` SeaORM derives from it,
/// and no relations (services write their joins; foreign keys live in the
/// migrations). Either a module of its own, or the items of the current one:
///
/// ```ignore
/// table! {
///     /// A client of the garage.
///     pub mod client = "clients" {
///         #[sea_orm(primary_key)]
///         pub id: i64,
///         pub name: String,
///     }
/// }
/// table! { "user_roles" { #[sea_orm(primary_key, auto_increment = false)] pub user_id: i64 } }
/// ```
macro_rules! table {
    ($(#[$meta:meta])* $vis:vis mod $module:ident = $table:literal { $($columns:tt)* }) => {
        $(#[$meta])*
        $vis mod $module {
            $crate::platform::db::table! { $table { $($columns)* } }
        }
    };
    ($table:literal { $($columns:tt)* }) => {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = $table)]
        pub struct Model {
            $($columns)*
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub(crate) use table;
