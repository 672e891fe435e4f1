//! Meeting points: named, with an address located by the geocoder or a pin.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer, table};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::geo::{self, Location, LocationStatus, Subject};
use crate::platform::i18n::Msg;
use crate::platform::search::sort_key;
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;

table! {
    pub mod meeting_point = "school_meeting_points" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub name: String,
        /// The name as lessons are matched to it (`platform::search::sort_key`).
        pub name_key: String,
        pub address: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

impl tenant::Owned for meeting_point::Entity {
    const ORGANIZATION_ID: meeting_point::Column = meeting_point::Column::OrganizationId;
    const ID: meeting_point::Column = meeting_point::Column::Id;
}

const AUDIT_ENTITY: &str = "meeting_point";

/// At most this many meeting points per school.
const MAX_POINTS: u64 = 500;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "name": "Devant l'auto-école", "address": "12 rue de la République, 69002 Lyon",
    "latitude": 45.7630, "longitude": 4.8357, "location_status": "pinned",
    "created_at": "2026-11-02T08:15:00Z", "updated_at": "2026-11-02T08:15:00Z"
}))]
pub struct MeetingPoint {
    pub id: i64,
    /// What lessons name as their meeting point.
    pub name: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// `pending`, `located`, `pinned`, `not_found` or `unavailable`.
    pub location_status: LocationStatus,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl MeetingPoint {
    pub fn point(&self) -> Option<(f64, f64)> {
        self.latitude.zip(self.longitude)
    }
}

/// A meeting point's fields (POST and PUT); a pin (`latitude` with `longitude`)
/// places it by hand, otherwise its address is located by the geocoder.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MeetingPointInput {
    #[schema(required = true, nullable = false, example = "Gare Part-Dieu")]
    pub name: Option<String>,
    #[schema(required = true, nullable = false, example = "Place Charles Béraudier, 69003 Lyon")]
    pub address: Option<String>,
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
    /// The form's pin was taken away: placed from the address again.
    #[serde(skip)]
    pub unpin: bool,
}

struct Valid {
    name: String,
    address: String,
    placing: geo::Placing,
}

fn validate(input: &MeetingPointInput) -> AppResult<Valid> {
    let mut v = Validator::new();
    let name = v.required_text("name", input.name.as_deref(), 120);
    let address = v.required_text("address", input.address.as_deref(), 255);
    let pin = geo::check_pin(input.latitude, input.longitude)
        .map_err(|field| v.add(field, Msg::new("geo.pin_invalid")))
        .ok()
        .flatten();
    v.finish()?;
    match (name, address) {
        (Some(name), Some(address)) => Ok(Valid { name, address, placing: geo::Placing::of(pin, input.unpin) }),
        _ => Err(AppError::Internal("validator accepted a missing field".to_owned())),
    }
}

async fn views(db: &impl ConnectionTrait, org: OrgId, rows: Vec<meeting_point::Model>) -> AppResult<Vec<MeetingPoint>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let places = geo::locations(db, org, Subject::MeetingPoint, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let at = places.get(&r.id).unwrap_or(&Location::PENDING);
            MeetingPoint {
                id: r.id,
                name: r.name,
                address: r.address,
                latitude: at.latitude,
                longitude: at.longitude,
                location_status: at.status,
                created_at: r.created_at,
                updated_at: r.updated_at,
            }
        })
        .collect())
}

/// The school's meeting points, by name.
pub async fn list(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<MeetingPoint>> {
    let rows = tenant::scoped::<meeting_point::Entity>(org)
        .order_by_asc(meeting_point::Column::NameKey)
        .limit(MAX_POINTS)
        .all(db)
        .await?;
    views(db, org, rows).await
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<MeetingPoint> {
    let row = tenant::find::<meeting_point::Entity>(db, org, id).await?;
    views(db, org, vec![row]).await?.pop().ok_or(AppError::NotFound)
}

fn taken() -> AppError {
    AppError::Conflict { code: "meeting_point_exists", field: Some("name"), message: Msg::new("meeting_point.exists") }
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &MeetingPointInput) -> AppResult<MeetingPoint> {
    let valid = validate(input)?;
    let count = tenant::scoped::<meeting_point::Entity>(actor.org).select_only().column(meeting_point::Column::Id);
    if count.limit(MAX_POINTS).into_tuple::<i64>().all(db).await?.len() as u64 >= MAX_POINTS {
        return Err(AppError::conflict(
            "meeting_points_full",
            Msg::new("meeting_point.too_many").arg("max", MAX_POINTS),
        ));
    }
    let now = Utc::now();
    db::write(db, async |txn| {
        let row = meeting_point::ActiveModel {
            organization_id: Set(actor.org.get()),
            name_key: Set(sort_key(&valid.name)),
            name: Set(valid.name.clone()),
            address: Set(valid.address.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let saved = match db::write(txn, async |savepoint| row.insert(savepoint).await).await {
            Ok(saved) => saved,
            Err(err) => return Err(taken().if_refused(err, Constraint::is_unique)),
        };
        geo::record(txn, actor.org, (Subject::MeetingPoint, saved.id), &valid.address, valid.placing).await?;
        let created = get(txn, actor.org, saved.id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, created.id), None, Some(&created)).await?;
        Ok(created)
    })
    .await
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn replace<C: Writer>(db: &C, actor: &Actor, id: i64, input: &MeetingPointInput) -> AppResult<MeetingPoint> {
    let before = get(db, actor.org, id).await?;
    let valid = validate(input)?;
    db::write(db, async |txn| {
        let row = meeting_point::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id),
            name_key: Set(sort_key(&valid.name)),
            name: Set(valid.name.clone()),
            address: Set(valid.address.clone()),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        match db::write(txn, async |savepoint| row.update(savepoint).await).await {
            Ok(_) => {}
            Err(sea_orm::DbErr::RecordNotUpdated) => return Err(AppError::NotFound),
            Err(err) => return Err(taken().if_refused(err, Constraint::is_unique)),
        }
        geo::record(txn, actor.org, (Subject::MeetingPoint, id), &valid.address, valid.placing).await?;
        let after = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let before = get(db, actor.org, id).await?;
    db::write(db, async |txn| {
        let gone = meeting_point::Entity::delete_many()
            .filter(meeting_point::Column::OrganizationId.eq(actor.org.get()))
            .filter(meeting_point::Column::Id.eq(id))
            .exec(txn)
            .await?;
        if gone.rows_affected == 0 {
            return Err(AppError::NotFound);
        }
        geo::forget(txn, (Subject::MeetingPoint, id)).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), None).await?;
        Ok(())
    })
    .await
}

/// Where the school's lessons take place: each located meeting point by its
/// name's key, and the first one (the school's own, usually) for lessons whose
/// meeting point is none of them.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    by_name: HashMap<String, (f64, f64)>,
    first: Option<(f64, f64)>,
}

impl Positions {
    /// Where a lesson with this meeting point (free text) takes place.
    pub fn of(&self, meeting_point: Option<&str>) -> Option<(f64, f64)> {
        meeting_point.and_then(|name| self.by_name.get(&sort_key(name)).copied()).or(self.first)
    }
}

pub async fn positions(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Positions> {
    let rows = tenant::scoped::<meeting_point::Entity>(org)
        .order_by_asc(meeting_point::Column::Id)
        .limit(MAX_POINTS)
        .all(db)
        .await?;
    let located = geo::located(db, org, Subject::MeetingPoint).await?;
    let first = rows.iter().find_map(|r| located.get(&r.id).copied());
    let by_name = rows.into_iter().filter_map(|r| Some((r.name_key, *located.get(&r.id)?))).collect();
    Ok(Positions { by_name, first })
}

/// The meeting points' names, for the lesson form's suggestions.
pub async fn names(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<String>> {
    Ok(tenant::scoped::<meeting_point::Entity>(org)
        .select_only()
        .column(meeting_point::Column::Name)
        .order_by_asc(meeting_point::Column::NameKey)
        .limit(MAX_POINTS)
        .into_tuple()
        .all(db)
        .await?)
}
