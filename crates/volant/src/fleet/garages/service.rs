//! Garages: the business rules, whoever calls (JSON API, web UI, demo seeder).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{self, Entity as Garages};
use crate::identity::audit::{self, Actor};
use crate::platform::db::Writer;
use crate::platform::error::{AppError, AppResult, Constraint, constraint_violation};
use crate::platform::http::extract::double_option;
use crate::platform::i18n::Msg;
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

/// How garages are named in the audit trail.
pub const AUDIT_ENTITY: &str = "garage";

/// A garage with the number of vehicles it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Garage {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
    pub vehicle_count: u64,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Garage {
    fn from_model(model: entity::Model) -> Self {
        Self {
            id: model.id,
            name: model.name,
            address: model.address,
            city: model.city,
            postal_code: model.postal_code,
            phone: model.phone,
            vehicle_count: u64::try_from(model.vehicle_count).unwrap_or(0),
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// Every field of a garage (POST and PUT). `name` and `address` are required.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct GarageInput {
    #[schema(required = true, example = "Garage du Centre")]
    pub name: Option<String>,
    #[schema(required = true, example = "12 rue de la République")]
    pub address: Option<String>,
    #[schema(example = "Lyon")]
    pub city: Option<String>,
    #[schema(example = "69002")]
    pub postal_code: Option<String>,
    #[schema(example = "+33 4 78 00 00 00")]
    pub phone: Option<String>,
}

/// Some fields of a garage (PATCH): absent fields are kept, `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct GaragePatch {
    #[serde(default, deserialize_with = "double_option")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
}

impl GaragePatch {
    fn apply(self, current: &entity::Model) -> GarageInput {
        GarageInput {
            name: self.name.unwrap_or_else(|| Some(current.name.clone())),
            address: self.address.unwrap_or_else(|| Some(current.address.clone())),
            city: self.city.unwrap_or_else(|| current.city.clone()),
            postal_code: self.postal_code.unwrap_or_else(|| current.postal_code.clone()),
            phone: self.phone.unwrap_or_else(|| current.phone.clone()),
        }
    }
}

struct ValidGarage {
    name: String,
    address: String,
    city: Option<String>,
    postal_code: Option<String>,
    phone: Option<String>,
}

fn validate(input: &GarageInput) -> AppResult<ValidGarage> {
    let mut v = Validator::new();
    let name = v.required_text("name", input.name.as_deref(), 120);
    let address = v.required_text("address", input.address.as_deref(), 255);
    let city = v.optional_text("city", input.city.as_deref(), 120);
    let postal_code = v.optional_text("postal_code", input.postal_code.as_deref(), 20);
    let phone = v.optional_text("phone", input.phone.as_deref(), 40);
    if let Some(phone) = &phone
        && !phone.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c))
    {
        v.add("phone", Msg::new("garage.phone_invalid"));
    }
    v.finish()?;
    match (name, address) {
        (Some(name), Some(address)) => Ok(ValidGarage { name, address, city, postal_code, phone }),
        _ => Err(AppError::Internal("validator accepted a missing field".to_owned())),
    }
}

/// Garages in creation order, a page at a time, each with its vehicle count.
pub async fn list(db: &impl ConnectionTrait, org: OrgId, page: PageRequest) -> AppResult<Page<Garage>> {
    let mut query = scoped(org).order_by_asc(entity::Column::Id).limit(page.fetch_limit());
    if let Some(after) = page.after {
        query = query.filter(entity::Column::Id.gt(after));
    }
    let rows = query.all(db).await?;
    Ok(Page::from_rows(rows, page, |g| g.id).map(Garage::from_model))
}

/// Every garage's id and name, for choosing one in a form (a network has tens, not millions).
pub async fn choices(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<(i64, String)>> {
    Ok(scoped(org)
        .select_only()
        .column(entity::Column::Id)
        .column(entity::Column::Name)
        .order_by_asc(entity::Column::Name)
        .limit(1000)
        .into_tuple()
        .all(db)
        .await?)
}

/// Each garage's vehicle count, biggest first (at most 1,000 garages): for dashboards.
pub async fn vehicle_counts(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<(i64, String, i64)>> {
    Ok(scoped(org)
        .select_only()
        .column(entity::Column::Id)
        .column(entity::Column::Name)
        .column(entity::Column::VehicleCount)
        .order_by_desc(entity::Column::VehicleCount)
        .order_by_asc(entity::Column::Id)
        .limit(1000)
        .into_tuple()
        .all(db)
        .await?)
}

/// Names of the given garages, in one query.
pub async fn names(db: &impl ConnectionTrait, org: OrgId, ids: Vec<i64>) -> AppResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = scoped(org)
        .select_only()
        .column(entity::Column::Id)
        .column(entity::Column::Name)
        .filter(entity::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Garage> {
    find(db, org, id).await.map(Garage::from_model)
}

/// Whether a garage exists (other modules ask before referring to one).
pub async fn exists(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<bool> {
    let found = scoped(org).filter(entity::Column::Id.eq(id)).select_only().column(entity::Column::Id);
    Ok(found.into_tuple::<i64>().one(db).await?.is_some())
}

/// The organization's garages: every query starts here, so none can forget its tenant.
fn scoped(org: OrgId) -> sea_orm::Select<Garages> {
    Garages::find().filter(entity::Column::OrganizationId.eq(org.get()))
}

/// Another organization's garage is as absent as one that never existed.
async fn find(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<entity::Model> {
    scoped(org).filter(entity::Column::Id.eq(id)).one(db).await?.ok_or(AppError::NotFound)
}

pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &GarageInput) -> AppResult<Garage> {
    let valid = validate(input)?;
    let now = Utc::now();
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    let model = entity::ActiveModel {
        organization_id: Set(actor.org.get()),
        name: Set(valid.name),
        address: Set(valid.address),
        city: Set(valid.city),
        postal_code: Set(valid.postal_code),
        phone: Set(valid.phone),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let garage = Garage::from_model(model);
    audit::record_change(&txn, actor, (AUDIT_ENTITY, garage.id), None, Some(&garage)).await?;
    txn.commit().await?;
    tracing::info!(garage_id = garage.id, "garage created");
    Ok(garage)
}

/// Full replacement (PUT): absent optional fields are cleared.
pub async fn replace<C: Writer>(db: &C, actor: &Actor, id: i64, input: &GarageInput) -> AppResult<Garage> {
    let current = find(db, actor.org, id).await?;
    let valid = validate(input)?;
    save(db, actor, current, valid).await
}

pub async fn patch<C: Writer>(db: &C, actor: &Actor, id: i64, patch: GaragePatch) -> AppResult<Garage> {
    let current = find(db, actor.org, id).await?;
    let valid = validate(&patch.apply(&current))?;
    save(db, actor, current, valid).await
}

async fn save<C: Writer>(db: &C, actor: &Actor, current: entity::Model, valid: ValidGarage) -> AppResult<Garage> {
    let id = current.id;
    let before = Garage::from_model(current.clone());
    let mut model: entity::ActiveModel = current.into();
    model.name = Set(valid.name);
    model.address = Set(valid.address);
    model.city = Set(valid.city);
    model.postal_code = Set(valid.postal_code);
    model.phone = Set(valid.phone);
    model.updated_at = Set(Utc::now());
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    model.update(&txn).await.map_err(|e| match e {
        sea_orm::DbErr::RecordNotUpdated => AppError::NotFound,
        other => other.into(),
    })?;
    let after = get(&txn, actor.org, id).await?;
    audit::record_change(&txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes an empty garage. A garage that still holds vehicles is refused (409)
/// by the database's foreign key, so a vehicle added concurrently is never lost.
pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let org = actor.org;
    let before = find(db, org, id).await?;
    let delete =
        Garages::delete_many().filter(entity::Column::OrganizationId.eq(org.get())).filter(entity::Column::Id.eq(id));
    let _turn = db.write_turn().await;
    let txn = db.begin().await?;
    match delete.exec(&txn).await {
        Ok(result) if result.rows_affected == 0 => Err(AppError::NotFound),
        Ok(_) => {
            let before = Garage::from_model(before);
            audit::record_change(&txn, actor, (AUDIT_ENTITY, id), Some(&before), None).await?;
            txn.commit().await?;
            tracing::info!(garage_id = id, "garage deleted");
            Ok(())
        }
        Err(err) if matches!(constraint_violation(&err), Some(Constraint::ForeignKey(_))) => {
            // PostgreSQL refuses further queries in the failed transaction.
            txn.rollback().await?;
            let count = get(db, org, id).await.map_or(0, |g| g.vehicle_count);
            Err(AppError::Conflict {
                code: "garage_not_empty",
                field: None,
                message: Msg::new("garage.has_vehicles").arg("count", count),
            })
        }
        Err(err) => Err(err.into()),
    }
}
