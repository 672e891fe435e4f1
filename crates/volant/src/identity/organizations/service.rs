//! Organizations: the tenants every row belongs to.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};

use super::entity::{self, Entity as Organizations};
use crate::platform::error::AppResult;
use crate::platform::tenant::OrgId;

/// What a new organization is made of.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub currency: String,
    pub locale: String,
    pub time_zone: String,
}

impl Default for NewOrganization {
    fn default() -> Self {
        Self {
            name: "Mon organisation".to_owned(),
            currency: "EUR".to_owned(),
            locale: "fr".to_owned(),
            time_zone: "Europe/Paris".to_owned(),
        }
    }
}

pub async fn create(db: &impl ConnectionTrait, new: NewOrganization) -> AppResult<OrgId> {
    let now = Utc::now();
    let model = entity::ActiveModel {
        name: Set(new.name),
        currency: Set(new.currency),
        locale: Set(new.locale),
        time_zone: Set(new.time_zone),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tracing::info!(organization_id = model.id, "organization created");
    Ok(OrgId::new(model.id))
}

/// The first organization, created on first start when there is none.
pub async fn ensure_default(db: &impl ConnectionTrait) -> AppResult<OrgId> {
    if let Some(existing) = Organizations::find().order_by_asc(entity::Column::Id).one(db).await? {
        return Ok(OrgId::new(existing.id));
    }
    create(db, NewOrganization::default()).await?;
    // Two instances starting together may both create one: both then use the oldest.
    let first = Organizations::find().order_by_asc(entity::Column::Id).one(db).await?;
    Ok(OrgId::new(first.map_or(0, |o| o.id)))
}
