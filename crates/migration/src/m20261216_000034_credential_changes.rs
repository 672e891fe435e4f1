//! Tells every instance when a credential changes (a session or a token revoked, a
//! user deactivated, renamed or given other roles), so each can keep the
//! credentials it has checked in memory and still refuse a revoked one at once.
//!
//! PostgreSQL: triggers `NOTIFY volant_credentials` with `schema:user id` (`schema:*`
//! after a `TRUNCATE`), delivered at commit to every instance listening. SQLite: the same triggers append the user's
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
    let log = |who: &str| format!("INSERT INTO credential_changes (user_id) VALUES ({who});");
    // A row moved to another user changes both users' credentials.
    let log_both = |column: &str| {
        format!(
            "INSERT INTO credential_changes (user_id) VALUES (OLD.{column}); \
             INSERT INTO credential_changes (user_id) SELECT NEW.{column} WHERE NEW.{column} IS NOT OLD.{column};"
        )
    };
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_users_update AFTER UPDATE OF {USER_COLUMNS} ON users \
         WHEN {USER_CHANGED} BEGIN {} END",
        log_both("id")
    ));
    statements
        .push(format!("CREATE TRIGGER trg_credentials_users_delete AFTER DELETE ON users BEGIN {} END", log("OLD.id")));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_roles_insert AFTER INSERT ON user_roles BEGIN {} END",
        log("NEW.user_id")
    ));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_roles_delete AFTER DELETE ON user_roles BEGIN {} END",
        log("OLD.user_id")
    ));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_roles_update AFTER UPDATE ON user_roles BEGIN {} END",
        log_both("user_id")
    ));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_tokens_update AFTER UPDATE OF {TOKEN_COLUMNS} ON api_tokens \
         WHEN {TOKEN_CHANGED} BEGIN {} END",
        log_both("user_id")
    ));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_tokens_delete AFTER DELETE ON api_tokens BEGIN {} END",
        log("OLD.user_id")
    ));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_sessions_update AFTER UPDATE OF {SESSION_COLUMNS} ON sessions \
         WHEN {SESSION_CHANGED} BEGIN {} END",
        log_both("user_id")
    ));
    statements.push(format!(
        "CREATE TRIGGER trg_credentials_sessions_delete AFTER DELETE ON sessions BEGIN {} END",
        log("OLD.user_id")
    ));
    statements
}

/// The tables whose rows make up a credential.
const CREDENTIAL_TABLES: &[&str] = &["users", "user_roles", "api_tokens", "sessions"];

fn postgres_statements() -> Vec<String> {
    let distinct = |changed: &str| changed.replace(" IS NOT ", " IS DISTINCT FROM ");
    let mut statements = vec![
        // The payload is `schema:user id`, the schema of the table changed (whatever
        // the writer's search_path): instances of another schema of the same
        // database ignore it. The column naming the user is the trigger's argument.
        "CREATE FUNCTION volant_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
         DECLARE
           new_user text;
           old_user text;
         BEGIN
           IF TG_OP <> 'DELETE' THEN new_user := to_jsonb(NEW) ->> TG_ARGV[0]; END IF;
           IF TG_OP <> 'INSERT' THEN old_user := to_jsonb(OLD) ->> TG_ARGV[0]; END IF;
           IF new_user IS NOT NULL THEN
             PERFORM pg_notify('volant_credentials', TG_TABLE_SCHEMA || ':' || new_user);
           END IF;
           IF old_user IS DISTINCT FROM new_user THEN
             PERFORM pg_notify('volant_credentials', TG_TABLE_SCHEMA || ':' || old_user);
           END IF;
           RETURN NULL;
         END $$"
            .to_owned(),
        // TRUNCATE skips row triggers: every credential of the schema is forgotten.
        "CREATE FUNCTION volant_credentials_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           PERFORM pg_notify('volant_credentials', TG_TABLE_SCHEMA || ':*');
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
        "CREATE TRIGGER trg_credentials_sessions_delete AFTER DELETE ON sessions \
         FOR EACH ROW EXECUTE FUNCTION volant_credentials_changed('user_id')"
            .to_owned(),
    ];
    for table in CREDENTIAL_TABLES {
        statements.push(format!(
            "CREATE TRIGGER trg_credentials_{table}_truncate AFTER TRUNCATE ON {table} \
             FOR EACH STATEMENT EXECUTE FUNCTION volant_credentials_truncated()"
        ));
    }
    statements
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
                    ("trg_credentials_sessions_delete", "sessions"),
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER {trigger} ON {table}")).await?;
                }
                for table in CREDENTIAL_TABLES {
                    db.execute_unprepared(&format!("DROP TRIGGER trg_credentials_{table}_truncate ON {table}")).await?;
                }
                db.execute_unprepared("DROP FUNCTION volant_credentials_changed()").await?;
                db.execute_unprepared("DROP FUNCTION volant_credentials_truncated()").await?;
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
                    "trg_credentials_sessions_delete",
                ] {
                    db.execute_unprepared(&format!("DROP TRIGGER {trigger}")).await?;
                }
                db.execute_unprepared("DROP TABLE credential_changes").await?;
            }
        }
        Ok(())
    }
}
