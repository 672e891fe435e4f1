//! Tells every instance when a credential changes (a session or a token revoked, a
//! user deactivated, renamed or given other roles), so each can keep the
//! credentials it has checked in memory and still refuse a revoked one at once.
//!
//! PostgreSQL: triggers `NOTIFY volant_credentials` with the user's id, delivered at
//! commit to every instance listening. SQLite: the same triggers append the user's
//! id to `credential_changes`, which instances read every few hundred
//! milliseconds (one writer at a time: rows commit in `seq` order, so reading
//! `seq > last` misses none).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns of `users` that an authenticated request carries.
const USER_COLUMNS: &str = "active, email, display_name, is_operator, organization_id, password_hash";
const USER_CHANGED: &str = "OLD.active IS NOT NEW.active OR OLD.email IS NOT NEW.email \
     OR OLD.display_name IS NOT NEW.display_name OR OLD.is_operator IS NOT NEW.is_operator \
     OR OLD.organization_id IS NOT NEW.organization_id OR OLD.password_hash IS NOT NEW.password_hash";
const TOKEN_COLUMNS: &str = "revoked_at, expires_at, scopes, allowed_ips, user_id";
const TOKEN_CHANGED: &str = "OLD.revoked_at IS NOT NEW.revoked_at OR OLD.expires_at IS NOT NEW.expires_at \
     OR OLD.scopes IS NOT NEW.scopes OR OLD.allowed_ips IS NOT NEW.allowed_ips OR OLD.user_id IS NOT NEW.user_id";
const SESSION_COLUMNS: &str = "revoked_at, expires_at, user_id";
const SESSION_CHANGED: &str =
    "OLD.revoked_at IS NOT NEW.revoked_at OR OLD.expires_at IS NOT NEW.expires_at OR OLD.user_id IS NOT NEW.user_id";

fn sqlite_statements() -> Vec<String> {
    let mut statements = vec![
        "CREATE TABLE credential_changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id BIGINT NOT NULL,
            changed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
        )"
        .to_owned(),
        "CREATE INDEX idx_credential_changes_changed_at ON credential_changes (changed_at)".to_owned(),
    ];
    let log = |who: &str| format!("INSERT INTO credential_changes (user_id) VALUES ({who}); END");
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_users_update AFTER UPDATE OF {USER_COLUMNS} ON users \
         WHEN {USER_CHANGED} BEGIN {}",
        log("NEW.id")
    ));
    statements
        .push(format!("CREATE TRIGGER trg_credentials_users_delete AFTER DELETE ON users BEGIN {}", log("OLD.id")));
    for op in ["INSERT", "DELETE", "UPDATE"] {
        let who = if op == "DELETE" { "OLD.user_id" } else { "NEW.user_id" };
        statements.push(format!(
            "CREATE TRIGGER trg_credentials_roles_{} AFTER {op} ON user_roles BEGIN {}",
            op.to_lowercase(),
            log(who)
        ));
    }
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_tokens_update AFTER UPDATE OF {TOKEN_COLUMNS} ON api_tokens \
         WHEN {TOKEN_CHANGED} BEGIN {}",
        log("OLD.user_id")
    ));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_tokens_delete AFTER DELETE ON api_tokens BEGIN {}",
        log("OLD.user_id")
    ));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_sessions_update AFTER UPDATE OF {SESSION_COLUMNS} ON sessions \
         WHEN {SESSION_CHANGED} BEGIN {}",
        log("OLD.user_id")
    ));
    statements
}

fn postgres_statements() -> Vec<String> {
    let distinct = |changed: &str| changed.replace(" IS NOT ", " IS DISTINCT FROM ");
    vec![
        // The column naming the user is the trigger's argument (`id` for users).
        "CREATE FUNCTION volant_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
         DECLARE
           row_json jsonb;
         BEGIN
           IF TG_OP = 'DELETE' THEN row_json := to_jsonb(OLD); ELSE row_json := to_jsonb(NEW); END IF;
           PERFORM pg_notify('volant_credentials', row_json ->> TG_ARGV[0]);
           IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) ->> TG_ARGV[0]) IS DISTINCT FROM (row_json ->> TG_ARGV[0]) THEN
             PERFORM pg_notify('volant_credentials', to_jsonb(OLD) ->> TG_ARGV[0]);
           END IF;
           RETURN NULL;
         END $$"
            .to_owned(),
        format!(
            "CREATE TRIGGER trg_credentials_users_update AFTER UPDATE OF {USER_COLUMNS} ON users \
             FOR EACH ROW WHEN ({}) EXECUTE FUNCTION volant_credentials_changed('id')",
            distinct(USER_CHANGED)
        ),
        "CREATE TRIGGER trg_credentials_users_delete AFTER DELETE ON users \
         FOR EACH ROW EXECUTE FUNCTION volant_credentials_changed('id')"
            .to_owned(),
        "CREATE TRIGGER trg_credentials_roles AFTER INSERT OR UPDATE OR DELETE ON user_roles \
         FOR EACH ROW EXECUTE FUNCTION volant_credentials_changed('user_id')"
            .to_owned(),
        format!(
            "CREATE TRIGGER trg_credentials_tokens_update AFTER UPDATE OF {TOKEN_COLUMNS} ON api_tokens \
             FOR EACH ROW WHEN ({}) EXECUTE FUNCTION volant_credentials_changed('user_id')",
            distinct(TOKEN_CHANGED)
        ),
        "CREATE TRIGGER trg_credentials_tokens_delete AFTER DELETE ON api_tokens \
         FOR EACH ROW EXECUTE FUNCTION volant_credentials_changed('user_id')"
            .to_owned(),
        format!(
            "CREATE TRIGGER trg_credentials_sessions_update AFTER UPDATE OF {SESSION_COLUMNS} ON sessions \
             FOR EACH ROW WHEN ({}) EXECUTE FUNCTION volant_credentials_changed('user_id')",
            distinct(SESSION_CHANGED)
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match manager.get_database_backend() {
            DatabaseBackend::Postgres => postgres_statements(),
            _ => sqlite_statements(),
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for (trigger, table) in [
                    ("trg_credentials_users_update", "users"),
                    ("trg_credentials_users_delete", "users"),
                    ("trg_credentials_roles", "user_roles"),
                    ("trg_credentials_tokens_update", "api_tokens"),
                    ("trg_credentials_tokens_delete", "api_tokens"),
                    ("trg_credentials_sessions_update", "sessions"),
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER {trigger} ON {table}")).await?;
                }
                db.execute_unprepared("DROP FUNCTION volant_credentials_changed()").await?;
            }
            _ => {
                for trigger in [
                    "trg_credentials_users_update",
                    "trg_credentials_users_delete",
                    "trg_credentials_roles_insert",
                    "trg_credentials_roles_delete",
                    "trg_credentials_roles_update",
                    "trg_credentials_tokens_update",
                    "trg_credentials_tokens_delete",
                    "trg_credentials_sessions_update",
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER {trigger}")).await?;
                }
                db.execute_unprepared("DROP TABLE credential_changes").await?;
            }
        }
        Ok(())
    }
}
