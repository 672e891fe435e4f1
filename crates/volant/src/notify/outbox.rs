//! The e-mail channel's deliveries: one row per e-mail, queued with the
//! notification that causes it, then sent by the `notify.email` job.

use crate::platform::db::table;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::platform::error::AppResult;
use crate::platform::tenant::OrgId;

table! {
    pub mod entity = "email_outbox" {
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
        /// `false` when `sent` only to a file or the log: no server was configured.
        pub delivered: bool,
    }
}

/// One queued e-mail with its attachment (the delivery worker's view).
pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Option<entity::Model>> {
    Ok(entity::Entity::find()
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .filter(entity::Column::Id.eq(id))
        .one(db)
        .await?)
}
