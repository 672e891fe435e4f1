//! Single sign-on: an organization's OpenID Connect provider (its client secret
//! encrypted), the e-mail domains it covers (a domain belongs to one organization),
//! the provider accounts linked to users, and the sign-ins on their way through the
//! provider (state, nonce and PKCE verifier, for ten minutes). Each provider
//! answers at its own callback address (`callback_key`): an answer cannot be
//! passed off as another organization's provider's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATEMENTS: &[&str] = &[
    "CREATE TABLE sso_providers (
        id {ID},
        organization_id BIGINT NOT NULL UNIQUE REFERENCES organizations (id) ON DELETE CASCADE,
        callback_key VARCHAR(40) NOT NULL UNIQUE,
        issuer VARCHAR(500) NOT NULL,
        client_id VARCHAR(255) NOT NULL,
        client_secret TEXT NOT NULL,
        role_source VARCHAR(20) NOT NULL CHECK (role_source IN ('invited', 'claim')),
        role_claim VARCHAR(100) NULL,
        role_map TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        created_at {TS} NOT NULL,
        updated_at {TS} NOT NULL
    )",
    "CREATE TABLE sso_domains (
        domain VARCHAR(253) NOT NULL PRIMARY KEY,
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE
    )",
    "CREATE INDEX idx_sso_domains_org ON sso_domains (organization_id)",
    "CREATE TABLE sso_identities (
        id {ID},
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        issuer VARCHAR(500) NOT NULL,
        subject VARCHAR(255) NOT NULL,
        created_at {TS} NOT NULL,
        last_login_at {TS} NOT NULL,
        UNIQUE (issuer, subject)
    )",
    "CREATE INDEX idx_sso_identities_user ON sso_identities (user_id)",
    "CREATE INDEX idx_sso_identities_org ON sso_identities (organization_id)",
    "CREATE TABLE sso_attempts (
        state VARCHAR(64) NOT NULL PRIMARY KEY,
        organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        nonce VARCHAR(64) NOT NULL,
        pkce_verifier VARCHAR(128) NOT NULL,
        redirect_uri TEXT NOT NULL,
        next_path TEXT NOT NULL,
        expires_at {TS} NOT NULL
    )",
    "CREATE INDEX idx_sso_attempts_org ON sso_attempts (organization_id)",
    "CREATE INDEX idx_sso_attempts_expiry ON sso_attempts (expires_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let (id, timestamp) = match manager.get_database_backend() {
            DatabaseBackend::Postgres => ("BIGSERIAL PRIMARY KEY", "TIMESTAMP WITH TIME ZONE"),
            _ => ("INTEGER PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text"),
        };
        let db = manager.get_connection();
        for sql in STATEMENTS {
            db.execute_unprepared(&sql.replace("{ID}", id).replace("{TS}", timestamp)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in ["sso_attempts", "sso_identities", "sso_domains", "sso_providers"] {
            db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        }
        Ok(())
    }
}
