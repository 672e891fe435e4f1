//! The e-mail channel's deliveries: one row per e-mail, queued with the
//! notification that causes it, then sent by the `notify.email` job.

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::error::AppResult;
use crate::platform::tenant::OrgId;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_outbox")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub to_address: String,
        pub subject: String,
        pub body_text: String,
        pub attachment_name: Option<String>,
        pub attachment_type: Option<String>,
        pub attachment: Option<Vec<u8>>,
        pub notification_id: Option<i64>,
        pub body_html: Option<String>,
        /// `pending`, `sent` or `failed`.
        pub status: String,
        pub attempts: i32,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An e-mail as the outbox lists it (without the attachment's bytes).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuedEmail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub status: String,
    pub attachment_name: Option<String>,
    pub attachment_size: Option<usize>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub sent_at: Option<chrono::DateTime<Utc>>,
}

impl From<entity::Model> for QueuedEmail {
    fn from(m: entity::Model) -> Self {
        Self {
            id: m.id,
            to: m.to_address,
            subject: m.subject,
            status: m.status,
            attachment_size: m.attachment.as_ref().map(Vec::len),
            attachment_name: m.attachment_name,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

/// The organization's queued e-mails, newest first (at most `limit`).
pub async fn recent(db: &impl ConnectionTrait, org: OrgId, limit: u64) -> AppResult<Vec<QueuedEmail>> {
    use sea_orm::QuerySelect;
    let rows = entity::Entity::find()
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .order_by_desc(entity::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(QueuedEmail::from).collect())
}

/// One queued e-mail with its attachment (the delivery worker's view).
pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Option<entity::Model>> {
    Ok(entity::Entity::find()
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .filter(entity::Column::Id.eq(id))
        .one(db)
        .await?)
}
