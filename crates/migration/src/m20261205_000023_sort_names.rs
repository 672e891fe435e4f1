//! Garages and clients sort by name: each gets `sort_name`, its name as
//! lower-case words without accents ("Émile" sorts with "emile", before "Zoé"),
//! kept by the application on every write, and an index on (organization, sort
//! name, id) that the keyset pages walk. Candidates sort by their search name,
//! which loses its accents the same way (a search for "ecu" finds "Écuyer").
//! Both compare byte by byte on PostgreSQL (`COLLATE "C"`) as on SQLite, so a
//! list has the same order on either, whatever the server's collation. Existing
//! rows get theirs here; run again after a failure (SQLite changes its schema
//! outside transactions), it picks up where it stopped.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// (table, the SQL expression of the name the key is made from).
const TABLES: [(&str, &str); 2] = [
    ("garages", "name"),
    // A company as it is shown: by its company name.
    ("clients", "COALESCE(company_name, name)"),
];

/// Candidates' search name: last name first, as a school's lists are read.
const CANDIDATES: (&str, &str) = ("school_candidates", "last_name || ' ' || first_name");

/// The orders by a number: (index, table, column).
const INDEXES: [(&str, &str, &str); 2] = [
    ("idx_vehicles_organization_year", "vehicles", "year"),
    ("idx_garages_organization_vehicle_count", "garages", "vehicle_count"),
];

/// Rows updated per round of the backfill.
const BATCH: i64 = 1000;

/// The application's `platform::search::sort_key` as of this migration (a
/// migration keeps the rule it was written with).
fn sort_key(text: &str) -> String {
    words(&text.nfd().filter(|c| !is_combining_mark(*c)).nfc().collect::<String>())
}

/// Lower-case words: the candidates' search name before this migration.
fn words(text: &str) -> String {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Sets every row's `column` of `table` to `key` of its `name` (an SQL
/// expression), one statement per batch of rows.
async fn rekey(
    manager: &SchemaManager<'_>,
    (table, name): (&str, &str),
    column: &str,
    key: fn(&str) -> String,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let placeholder = |n: usize| match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let mut after = 0_i64;
    loop {
        let select = format!(
            "SELECT id, {name} AS name FROM {table} WHERE id > {} ORDER BY id LIMIT {}",
            placeholder(1),
            placeholder(2)
        );
        let rows =
            db.query_all_raw(Statement::from_sql_and_values(backend, select, [after.into(), BATCH.into()])).await?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = last.try_get_by_index(0)?;
        // UPDATE … SET column = CASE id WHEN … THEN … END WHERE id IN (…)
        let mut values: Vec<sea_orm_migration::sea_orm::Value> = Vec::with_capacity(rows.len() * 3);
        let mut cases = String::new();
        for row in &rows {
            let id: i64 = row.try_get_by_index(0)?;
            let name: String = row.try_get_by_index(1)?;
            values.push(id.into());
            values.push(key(&name).into());
            cases.push_str(&format!(" WHEN {} THEN {}", placeholder(values.len() - 1), placeholder(values.len())));
        }
        let ids: Vec<String> = rows
            .iter()
            .map(|row| {
                let id: i64 = row.try_get_by_index(0)?;
                values.push(id.into());
                Ok(placeholder(values.len()))
            })
            .collect::<Result<_, DbErr>>()?;
        let update = format!("UPDATE {table} SET {column} = CASE id{cases} END WHERE id IN ({})", ids.join(", "));
        db.execute_raw(Statement::from_sql_and_values(backend, update, values)).await?;
    }
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        // Byte order on both: PostgreSQL's "C" collation is SQLite's own.
        let text = if postgres { "TEXT COLLATE \"C\"" } else { "TEXT" };
        for (table, name) in TABLES {
            if !manager.has_column(table, "sort_name").await? {
                db.execute_unprepared(&format!("ALTER TABLE {table} ADD COLUMN sort_name {text} NOT NULL DEFAULT ''"))
                    .await?;
            }
            rekey(manager, (table, name), "sort_name", sort_key).await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS idx_{table}_organization_sort_name ON {table} (organization_id, sort_name, id)"
            ))
            .await?;
        }
        if postgres {
            // Compared byte by byte too (its index is rebuilt with it).
            db.execute_unprepared(&format!("ALTER TABLE {} ALTER COLUMN search_name TYPE {text}", CANDIDATES.0))
                .await?;
        }
        rekey(manager, CANDIDATES, "search_name", sort_key).await?;
        for (index, table, column) in INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {index} ON {table} (organization_id, {column}, id)"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (index, _, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {index}")).await?;
        }
        rekey(manager, CANDIDATES, "search_name", words).await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared(&format!(
                "ALTER TABLE {} ALTER COLUMN search_name TYPE VARCHAR(210) COLLATE \"default\"",
                CANDIDATES.0
            ))
            .await?;
        }
        for (table, _) in TABLES {
            db.execute_unprepared(&format!("DROP INDEX idx_{table}_organization_sort_name")).await?;
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN sort_name")).await?;
        }
        Ok(())
    }
}
