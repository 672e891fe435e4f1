//! Garages: the business rules, whoever calls (JSON API, web UI, demo seeder).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{self, Entity as Garages};
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint, constraint_violation};
use crate::platform::geo::{self, Location, LocationStatus, Subject};
use crate::platform::http::extract::double_option;
use crate::platform::i18n::Msg;
use crate::platform::pagination::{CursorKey, Page, PageRequest, Sort, SortBy, SortField, SortKey};
use crate::platform::search::sort_key;
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;

/// How garages are named in the audit trail.
pub const AUDIT_ENTITY: &str = "garage";

/// A garage with the number of vehicles it holds.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "name": "Garage du Centre", "address": "12 rue de la République", "city": "Lyon",
    "postal_code": "69002", "phone": "+33 4 78 00 00 00", "vehicle_count": 42,
    "latitude": 45.7578, "longitude": 4.832, "location_status": "located",
    "created_at": "2026-03-02T08:15:00Z", "updated_at": "2026-11-20T16:40:12Z"
}))]
pub struct Garage {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub phone: Option<String>,
    pub vehicle_count: u64,
    /// Degrees north (WGS 84), once located from the address or pinned.
    pub latitude: Option<f64>,
    /// Degrees east (WGS 84).
    pub longitude: Option<f64>,
    /// How the position is known: `pending` (waiting for the geocoder), `located`,
    /// `pinned` (by hand), `not_found` (pin it), `unavailable` (geocoder down: retried).
    pub location_status: LocationStatus,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Garage {
    /// The address as the geocoder is asked it: street, postal code and city.
    pub fn full_address(&self) -> String {
        full_address(&self.address, self.postal_code.as_deref(), self.city.as_deref())
    }

    pub fn point(&self) -> Option<(f64, f64)> {
        self.latitude.zip(self.longitude)
    }

    fn from_model(model: entity::Model, location: &Location) -> Self {
        Self {
            latitude: location.latitude,
            longitude: location.longitude,
            location_status: location.status,
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

fn full_address(address: &str, postal_code: Option<&str>, city: Option<&str>) -> String {
    let town = [postal_code, city].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if town.is_empty() { address.to_owned() } else { format!("{address}, {town}") }
}

/// Garages with their places, in one more query.
async fn with_locations(db: &impl ConnectionTrait, org: OrgId, models: Vec<entity::Model>) -> AppResult<Vec<Garage>> {
    let ids: Vec<i64> = models.iter().map(|m| m.id).collect();
    let places = geo::locations(db, org, Subject::Garage, &ids).await?;
    Ok(models
        .into_iter()
        .map(|m| {
            let location = places.get(&m.id).unwrap_or(&Location::PENDING);
            Garage::from_model(m, location)
        })
        .collect())
}

/// Every field of a garage (POST and PUT). `name` and `address` are required.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct GarageInput {
    #[schema(required = true, nullable = false, example = "Garage du Centre")]
    pub name: Option<String>,
    #[schema(required = true, nullable = false, example = "12 rue de la République")]
    pub address: Option<String>,
    #[schema(example = "Lyon")]
    pub city: Option<String>,
    #[schema(example = "69002")]
    pub postal_code: Option<String>,
    #[schema(example = "+33 4 78 00 00 00")]
    pub phone: Option<String>,
    /// A pin: the position placed by hand (with `longitude`), kept until the
    /// address changes. Without it a new address is located by the geocoder.
    #[schema(example = 45.7578, minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    #[schema(example = 4.832, minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
    /// The form's pin was taken away: placed from the address again.
    #[serde(skip)]
    pub unpin: bool,
}

/// Some fields of a garage (PATCH): absent fields are kept, `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct GaragePatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable = false)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable = false)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
    /// A pin (with `longitude`).
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
}

impl GaragePatch {
    fn apply(self, current: &entity::Model) -> GarageInput {
        GarageInput {
            name: self.name.unwrap_or_else(|| Some(current.name.clone())),
            address: self.address.unwrap_or_else(|| Some(current.address.clone())),
            city: self.city.unwrap_or_else(|| current.city.clone()),
            postal_code: self.postal_code.unwrap_or_else(|| current.postal_code.clone()),
            phone: self.phone.unwrap_or_else(|| current.phone.clone()),
            latitude: self.latitude,
            longitude: self.longitude,
            unpin: false,
        }
    }
}

struct ValidGarage {
    name: String,
    address: String,
    city: Option<String>,
    postal_code: Option<String>,
    phone: Option<String>,
    placing: geo::Placing,
}

impl ValidGarage {
    fn full_address(&self) -> String {
        full_address(&self.address, self.postal_code.as_deref(), self.city.as_deref())
    }
}

fn validate(input: &GarageInput) -> AppResult<ValidGarage> {
    let mut v = Validator::new();
    let name = v.required_text("name", input.name.as_deref(), 120);
    let address = v.required_text("address", input.address.as_deref(), 255);
    let city = v.optional_text("city", input.city.as_deref(), 120);
    let postal_code = v.optional_text("postal_code", input.postal_code.as_deref(), 20);
    let phone = v.optional_phone("phone", input.phone.as_deref());
    let pin = geo::check_pin(input.latitude, input.longitude)
        .map_err(|field| v.add(field, Msg::new("geo.pin_invalid")))
        .ok()
        .flatten();
    v.finish()?;
    match (name, address) {
        (Some(name), Some(address)) => {
            Ok(ValidGarage { name, address, city, postal_code, phone, placing: geo::Placing::of(pin, input.unpin) })
        }
        _ => Err(AppError::Internal("validator accepted a missing field".to_owned())),
    }
}

/// The organization's garages: every query starts from [`tenant::scoped`], so none
/// can forget its tenant; another organization's row is a 404.
impl tenant::Owned for Garages {
    const ORGANIZATION_ID: entity::Column = entity::Column::OrganizationId;
    const ID: entity::Column = entity::Column::Id;
}

/// Garages in creation order, a page at a time, each with its vehicle count.
/// What a list of garages sorts by, as `sort=` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GarageField {
    /// Creation order.
    Id,
    Name,
    /// How many vehicles the garage has.
    Vehicles,
}

impl SortField for GarageField {
    const ALL: &'static [(&'static str, Self)] =
        &[("id", Self::Id), ("name", Self::Name), ("vehicles", Self::Vehicles)];
}

impl SortBy<Garages> for GarageField {
    fn key(self) -> SortKey<entity::Column> {
        match self {
            Self::Id => SortKey::Id,
            Self::Name => SortKey::Text(entity::Column::SortName),
            Self::Vehicles => SortKey::Number(entity::Column::VehicleCount),
        }
    }

    fn place(self, row: &entity::Model) -> (i64, Option<CursorKey>) {
        let key = match self {
            Self::Id => None,
            Self::Name => Some(CursorKey::Text(row.sort_name.clone())),
            Self::Vehicles => Some(CursorKey::Number(row.vehicle_count)),
        };
        (row.id, key)
    }
}

/// A list of garages' order (oldest first unless asked).
pub type GarageSort = Sort<GarageField>;

pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    sort: GarageSort,
    page: PageRequest,
) -> AppResult<Page<Garage>> {
    let page = page.fetch_sorted(db, tenant::scoped::<Garages>(org), entity::Column::Id, sort).await?;
    let items = with_locations(db, org, page.items).await?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Every garage (a network has tens, at most 1,000 here) by name, with its
/// position: the map and the distances from a client.
pub async fn all_with_locations(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<Garage>> {
    let models = tenant::scoped::<Garages>(org).order_by_asc(entity::Column::SortName).limit(1000).all(db).await?;
    with_locations(db, org, models).await
}

/// Every garage's id and name, for choosing one in a form (a network has tens, not millions).
pub async fn choices(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<(i64, String)>> {
    Ok(tenant::scoped::<Garages>(org)
        .select_only()
        .column(entity::Column::Id)
        .column(entity::Column::Name)
        .order_by_asc(entity::Column::Name)
        .limit(1000)
        .into_tuple()
        .all(db)
        .await?)
}

/// How many vehicles the organization has: the sum of its garages' counts (kept by
/// the database on every insert and delete), not a count over the vehicles table.
pub async fn fleet_size(db: &impl ConnectionTrait, org: OrgId) -> AppResult<i64> {
    let total: Option<i64> = tenant::scoped::<Garages>(org)
        .select_only()
        // SUM of a bigint is a numeric in PostgreSQL: cast back.
        .column_as(sea_orm::sea_query::Expr::cust("CAST(COALESCE(SUM(vehicle_count), 0) AS BIGINT)"), "total")
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.unwrap_or(0))
}

/// Each garage's vehicle count, biggest first (at most 1,000 garages): for dashboards.
pub async fn vehicle_counts(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<(i64, String, i64)>> {
    Ok(tenant::scoped::<Garages>(org)
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
    let rows: Vec<(i64, String)> = tenant::scoped::<Garages>(org)
        .select_only()
        .column(entity::Column::Id)
        .column(entity::Column::Name)
        .filter(entity::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Every garage's id and name (an organization has a few dozen at most): what an
/// import finds a garage named in a file by.
pub async fn all_names(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<(i64, String)>> {
    Ok(tenant::scoped::<Garages>(org)
        .select_only()
        .column(entity::Column::Id)
        .column(entity::Column::Name)
        .order_by_asc(entity::Column::Id)
        .limit(10_000)
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Garage> {
    let model = tenant::find::<Garages>(db, org, id).await?;
    with_locations(db, org, vec![model]).await?.pop().ok_or(AppError::NotFound)
}

/// Whether a garage exists (other modules ask before referring to one).
pub async fn exists(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<bool> {
    let found =
        tenant::scoped::<Garages>(org).filter(entity::Column::Id.eq(id)).select_only().column(entity::Column::Id);
    Ok(found.into_tuple::<i64>().one(db).await?.is_some())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &GarageInput) -> AppResult<Garage> {
    let valid = validate(input)?;
    let now = Utc::now();
    let place = valid.full_address();
    let placing = valid.placing;
    let garage = db::write(db, async |txn| {
        let model = entity::ActiveModel {
            organization_id: Set(actor.org.get()),
            sort_name: Set(sort_key(&valid.name)),
            name: Set(valid.name),
            address: Set(valid.address),
            city: Set(valid.city),
            postal_code: Set(valid.postal_code),
            phone: Set(valid.phone),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        geo::record(txn, actor.org, (Subject::Garage, model.id), &place, placing).await?;
        let garage = get(txn, actor.org, model.id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, garage.id), None, Some(&garage)).await?;
        AppResult::Ok(garage)
    })
    .await?;
    tracing::info!(garage_id = garage.id, "garage created");
    Ok(garage)
}

/// Full replacement (PUT): absent optional fields are cleared.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn replace<C: Writer>(db: &C, actor: &Actor, id: i64, input: &GarageInput) -> AppResult<Garage> {
    let current = tenant::find::<Garages>(db, actor.org, id).await?;
    let valid = validate(input)?;
    save(db, actor, current, valid).await
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn patch<C: Writer>(db: &C, actor: &Actor, id: i64, patch: GaragePatch) -> AppResult<Garage> {
    let current = tenant::find::<Garages>(db, actor.org, id).await?;
    let valid = validate(&patch.apply(&current))?;
    save(db, actor, current, valid).await
}

async fn save<C: Writer>(db: &C, actor: &Actor, current: entity::Model, valid: ValidGarage) -> AppResult<Garage> {
    let id = current.id;
    let before = get(db, actor.org, id).await?;
    let (place, placing) = (valid.full_address(), valid.placing);
    let mut model: entity::ActiveModel = current.into();
    model.sort_name = Set(sort_key(&valid.name));
    model.name = Set(valid.name);
    model.address = Set(valid.address);
    model.city = Set(valid.city);
    model.postal_code = Set(valid.postal_code);
    model.phone = Set(valid.phone);
    model.updated_at = Set(Utc::now());
    db::write(db, async |txn| {
        model.update(txn).await.map_err(|e| match e {
            sea_orm::DbErr::RecordNotUpdated => AppError::NotFound,
            other => other.into(),
        })?;
        geo::record(txn, actor.org, (Subject::Garage, id), &place, placing).await?;
        let after = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

/// Deletes an empty garage. A garage that still holds vehicles is refused (409)
/// by the database's foreign key, so a vehicle added concurrently is never lost.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let org = actor.org;
    let before = get(db, org, id).await?;
    let delete =
        Garages::delete_many().filter(entity::Column::OrganizationId.eq(org.get())).filter(entity::Column::Id.eq(id));
    db::write(db, async |txn| {
        // A savepoint: after a refused statement, PostgreSQL goes on only past its rollback.
        match db::write(txn, async |savepoint| delete.exec(savepoint).await).await {
            Ok(result) if result.rows_affected == 0 => Err(AppError::NotFound),
            Ok(_) => {
                geo::forget(txn, (Subject::Garage, id)).await?;
                audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), None).await?;
                Ok(())
            }
            Err(err) if matches!(constraint_violation(&err), Some(Constraint::ForeignKey(_))) => {
                let count = get(txn, org, id).await.map_or(0, |g| g.vehicle_count);
                Err(AppError::conflict("garage_not_empty", Msg::new("garage.has_vehicles").arg("count", count)))
            }
            Err(err) => Err(err.into()),
        }
    })
    .await?;
    tracing::info!(garage_id = id, "garage deleted");
    Ok(())
}
