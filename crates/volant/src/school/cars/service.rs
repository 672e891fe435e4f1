//! Training vehicles: fleet vehicles the school teaches with, with the licence
//! category they serve and whether they have dual controls.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::training_vehicle;
use crate::fleet::vehicles::service::{self as vehicles, Vehicle};
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::school::model::check_category;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TrainingVehicle {
    pub vehicle_id: i64,
    pub license_plate: String,
    pub brand: String,
    pub model: String,
    pub category: String,
    pub dual_controls: bool,
    pub active: bool,
}

impl TrainingVehicle {
    pub fn label(&self) -> String {
        format!("{} {} ({})", self.brand, self.model, self.license_plate)
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TrainingVehicleInput {
    #[schema(required = true, nullable = false, example = "B")]
    pub category: Option<String>,
    #[serde(default)]
    pub dual_controls: bool,
    /// Default true.
    pub active: Option<bool>,
}

#[derive(Serialize)]
struct Audited<'a> {
    category: &'a str,
    dual_controls: bool,
    active: bool,
}

fn view(row: training_vehicle::Model, vehicle: &Vehicle) -> TrainingVehicle {
    TrainingVehicle {
        vehicle_id: row.vehicle_id,
        license_plate: vehicle.license_plate.clone(),
        brand: vehicle.brand.clone(),
        model: vehicle.model.clone(),
        category: row.category,
        dual_controls: row.dual_controls,
        active: row.active,
    }
}

/// The school's training vehicles, active first, by plate.
pub async fn list(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<TrainingVehicle>> {
    let rows = training_vehicle::Entity::find()
        .filter(training_vehicle::Column::OrganizationId.eq(org.get()))
        .order_by_asc(training_vehicle::Column::VehicleId)
        .all(db)
        .await?;
    let mut list = with_fleet(db, org, rows).await?;
    list.sort_by(|a, b| b.active.cmp(&a.active).then_with(|| a.license_plate.cmp(&b.license_plate)));
    Ok(list)
}

/// The labels of these training cars (a page's lessons name only theirs, not
/// the whole school's).
pub async fn labels_of(db: &impl ConnectionTrait, org: OrgId, vehicle_ids: &[i64]) -> AppResult<HashMap<i64, String>> {
    if vehicle_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = training_vehicle::Entity::find()
        .filter(training_vehicle::Column::OrganizationId.eq(org.get()))
        .filter(training_vehicle::Column::VehicleId.is_in(vehicle_ids.iter().copied()))
        .all(db)
        .await?;
    Ok(with_fleet(db, org, rows).await?.into_iter().map(|car| (car.vehicle_id, car.label())).collect())
}

/// Training cars with what the fleet knows of them (one read for all).
async fn with_fleet(
    db: &impl ConnectionTrait,
    org: OrgId,
    rows: Vec<training_vehicle::Model>,
) -> AppResult<Vec<TrainingVehicle>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.vehicle_id).collect();
    let fleet: HashMap<i64, Vehicle> =
        vehicles::get_many(db, org, &ids).await?.into_iter().map(|v| (v.id, v)).collect();
    Ok(rows.into_iter().filter_map(|r| fleet.get(&r.vehicle_id).map(|v| view(r, v))).collect())
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, vehicle_id: i64) -> AppResult<TrainingVehicle> {
    let row = training_vehicle::Entity::find_by_id(vehicle_id)
        .filter(training_vehicle::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let vehicle = vehicles::get(db, org, vehicle_id).await?;
    Ok(view(row, &vehicle))
}

/// Flags a fleet vehicle for the school (or changes its school settings).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn set<C: Writer>(
    db: &C,
    actor: &Actor,
    vehicle_id: i64,
    input: &TrainingVehicleInput,
) -> AppResult<TrainingVehicle> {
    let vehicle = vehicles::get(db, actor.org, vehicle_id).await?;
    let mut v = Validator::new();
    let category =
        v.required("category", input.category.as_deref()).and_then(|c| v.check("category", check_category(c)));
    v.finish()?;
    let category = category.unwrap_or_default();
    let before = get(db, actor.org, vehicle_id).await.ok();
    let active = input.active.unwrap_or(true);
    db::write(db, async |txn| {
        training_vehicle::Entity::insert(training_vehicle::ActiveModel {
            vehicle_id: Set(vehicle_id),
            organization_id: Set(actor.org.get()),
            category: Set(category.clone()),
            dual_controls: Set(input.dual_controls),
            active: Set(active),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(training_vehicle::Column::VehicleId)
                .update_columns([
                    training_vehicle::Column::Category,
                    training_vehicle::Column::DualControls,
                    training_vehicle::Column::Active,
                    training_vehicle::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        let after = Audited { category: &category, dual_controls: input.dual_controls, active };
        let before = before.as_ref().map(|b| Audited {
            category: &b.category,
            dual_controls: b.dual_controls,
            active: b.active,
        });
        audit::record_change(txn, actor, ("training_vehicle", vehicle_id), before.as_ref(), Some(&after)).await?;
        AppResult::Ok(())
    })
    .await?;
    Ok(TrainingVehicle {
        vehicle_id,
        license_plate: vehicle.license_plate,
        brand: vehicle.brand,
        model: vehicle.model,
        category,
        dual_controls: input.dual_controls,
        active,
    })
}
