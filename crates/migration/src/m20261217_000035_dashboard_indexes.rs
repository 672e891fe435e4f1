//! The dashboard's figures read indexes only. Alert counts by kind read the
//! unresolved alerts' `(kind, due_on, occurrence)` from one index range per
//! status, instead of every alert row of the organization; the quote figures
//! (per day and status, the top clients) read `(issue_date, status, client_id,
//! total)` from the index of the period instead of each quote's row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

const INDEXES: [(&str, &str); 2] = [
    ("idx_maintenance_alerts_kind_counts", "maintenance_alerts (organization_id, status, kind, due_on, occurrence)"),
    ("idx_quotes_organization_figures", "quotes (organization_id, issue_date, status, client_id, total_excl_minor)"),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, on) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON {on}")).await?;
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
