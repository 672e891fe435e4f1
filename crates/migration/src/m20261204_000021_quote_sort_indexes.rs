//! The quotes list sorts by issue date, validity date or total: each order is
//! an index range of the organization's quotes (the id breaks ties, as the
//! keyset cursor does). The issue date has its index since the workshop's first
//! migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

const INDEXES: [(&str, &str); 2] =
    [("idx_quotes_organization_valid_until", "valid_until"), ("idx_quotes_organization_total", "total_incl_minor")];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, column) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON quotes (organization_id, {column}, id)")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
