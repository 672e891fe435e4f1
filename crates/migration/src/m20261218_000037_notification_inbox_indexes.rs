//! A person's inbox and unread count read their own notifications only. The
//! index on `(user_id, in_app, read_at, id)` left the newest-first page without
//! an order, so both databases walked the organization's notifications from the
//! newest (SQLite through `(organization_id, id)`, PostgreSQL its primary key),
//! past every e-mail the organization sent its clients (no user: a garage's
//! reminders), to find twenty of one person's. These put the organization and
//! the person first, the order (or the unread marker, then the order) after.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

const INDEXES: [(&str, &str); 2] = [
    ("idx_notifications_inbox", "notifications (organization_id, user_id, in_app, id)"),
    ("idx_notifications_unread", "notifications (organization_id, user_id, in_app, read_at, id)"),
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
