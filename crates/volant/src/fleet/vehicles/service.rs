//! Vehicles: the business rules, whoever calls. The plate invariant is held by
//! the database's unique index; this module only translates its verdict.

use chrono::{Datelike, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{self, Entity as Vehicles};
use super::model::{FuelType, Plate, Vin, check_year, normalize_plate};
use crate::fleet::garages::service as garages;
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint, constraint_violation};
use crate::platform::http::extract::double_option;
use crate::platform::i18n::Msg;
use crate::platform::pagination::{CursorKey, Page, PageRequest, Sort, SortBy, SortField, SortKey};
use crate::platform::search::{next_prefix, prefix_range, search_term};
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;

/// How vehicles are named in the audit trail.
pub const AUDIT_ENTITY: &str = "vehicle";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 17, "garage_id": 1, "brand": "Renault", "model": "Clio", "year": 2019,
    "license_plate": "AB-123-CD", "vin": "VF1RFB00X63504123", "mileage_km": 84000,
    "fuel_type": "diesel", "color": "Gris", "created_at": "2026-03-02T08:20:00Z",
    "updated_at": "2026-10-14T09:05:31Z"
}))]
pub struct Vehicle {
    pub id: i64,
    pub garage_id: i64,
    pub brand: String,
    pub model: String,
    pub year: i32,
    /// As entered; uniqueness ignores case, spaces and dashes.
    pub license_plate: String,
    pub vin: Option<String>,
    pub mileage_km: Option<i64>,
    pub fuel_type: Option<FuelType>,
    pub color: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<entity::Model> for Vehicle {
    fn from(m: entity::Model) -> Self {
        Self {
            id: m.id,
            garage_id: m.garage_id,
            brand: m.brand,
            model: m.model,
            year: m.year,
            license_plate: m.license_plate,
            vin: m.vin,
            mileage_km: m.mileage_km,
            fuel_type: m.fuel_type,
            color: m.color,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Every field of a vehicle (POST and PUT). `garage_id`, `brand`, `model`,
/// `year` and `license_plate` are required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VehicleInput {
    #[schema(required = true, nullable = false, example = 1)]
    pub garage_id: Option<i64>,
    #[schema(required = true, nullable = false, example = "Renault")]
    pub brand: Option<String>,
    #[schema(required = true, nullable = false, example = "Clio")]
    pub model: Option<String>,
    /// 1886 to next year.
    #[schema(required = true, nullable = false, minimum = 1886, example = 2019)]
    pub year: Option<i32>,
    #[schema(required = true, nullable = false, example = "AB-123-CD")]
    pub license_plate: Option<String>,
    #[schema(example = "VF1RFB00X63504123")]
    pub vin: Option<String>,
    #[schema(minimum = 0, example = 84000)]
    pub mileage_km: Option<i64>,
    pub fuel_type: Option<FuelType>,
    #[schema(example = "Gris")]
    pub color: Option<String>,
}

/// Some fields of a vehicle (PATCH): absent fields are kept, `null` clears an
/// optional one. Changing `garage_id` moves the vehicle.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct VehiclePatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable = false)]
    pub garage_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable = false)]
    pub brand: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable = false)]
    pub model: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable = false, minimum = 1886)]
    pub year: Option<Option<i32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable = false)]
    pub license_plate: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub vin: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 0)]
    pub mileage_km: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub fuel_type: Option<Option<FuelType>>,
    #[serde(default, deserialize_with = "double_option")]
    pub color: Option<Option<String>>,
}

impl VehiclePatch {
    fn apply(self, current: &entity::Model) -> VehicleInput {
        VehicleInput {
            garage_id: self.garage_id.unwrap_or(Some(current.garage_id)),
            brand: self.brand.unwrap_or_else(|| Some(current.brand.clone())),
            model: self.model.unwrap_or_else(|| Some(current.model.clone())),
            year: self.year.unwrap_or(Some(current.year)),
            license_plate: self.license_plate.unwrap_or_else(|| Some(current.license_plate.clone())),
            vin: self.vin.unwrap_or_else(|| current.vin.clone()),
            mileage_km: self.mileage_km.unwrap_or(current.mileage_km),
            fuel_type: self.fuel_type.unwrap_or(current.fuel_type),
            color: self.color.unwrap_or_else(|| current.color.clone()),
        }
    }
}

struct ValidVehicle {
    garage_id: i64,
    brand: String,
    model: String,
    year: i32,
    plate: Plate,
    vin: Option<Vin>,
    mileage_km: Option<i64>,
    fuel_type: Option<FuelType>,
    color: Option<String>,
}

const MAX_MILEAGE_KM: i64 = 10_000_000;

fn validate(input: &VehicleInput) -> AppResult<ValidVehicle> {
    let mut v = Validator::new();
    let garage_id = v.required("garage_id", input.garage_id);
    let brand = v.required_text("brand", input.brand.as_deref(), 60);
    let model = v.required_text("model", input.model.as_deref(), 60);
    let year = v.required("year", input.year).and_then(|y| v.check("year", check_year(y, Utc::now().year())));
    let plate = match input.license_plate.as_deref() {
        None => v.check("license_plate", Err(Msg::new("field.required"))),
        Some(raw) => v.check("license_plate", Plate::parse(raw)),
    };
    let vin = match input.vin.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => v.check("vin", Vin::parse(raw)),
    };
    if let Some(km) = input.mileage_km
        && !(0..=MAX_MILEAGE_KM).contains(&km)
    {
        v.add("mileage_km", Msg::new("vehicle.mileage_out_of_range").arg("max", MAX_MILEAGE_KM));
    }
    let color = v.optional_text("color", input.color.as_deref(), 40);
    v.finish()?;
    match (garage_id, brand, model, year, plate) {
        (Some(garage_id), Some(brand), Some(model), Some(year), Some(plate)) => Ok(ValidVehicle {
            garage_id,
            brand,
            model,
            year,
            plate,
            vin,
            mileage_km: input.mileage_km,
            fuel_type: input.fuel_type,
            color,
        }),
        _ => Err(AppError::Internal("validator accepted a missing field".to_owned())),
    }
}

/// What to list: everything, one garage's vehicles, or a search.
#[derive(Debug, Clone, Default)]
pub struct VehicleFilter {
    pub garage_id: Option<i64>,
    /// Matches plate (ignoring case, spaces, dashes), brand or model.
    pub q: Option<String>,
    pub sort: VehicleSort,
}

/// What a list of vehicles sorts by, as `sort=` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VehicleField {
    /// Creation order.
    #[default]
    Id,
    /// The plate, as uniqueness compares it (case, spaces and dashes aside).
    Plate,
    Year,
}

impl SortField for VehicleField {
    const ALL: &'static [(&'static str, Self)] = &[("id", Self::Id), ("plate", Self::Plate), ("year", Self::Year)];
}

impl SortBy<Vehicles> for VehicleField {
    fn key(self) -> SortKey<entity::Column> {
        match self {
            Self::Id => SortKey::Id,
            Self::Plate => SortKey::Text(entity::Column::PlateNormalized),
            Self::Year => SortKey::Number(entity::Column::Year),
        }
    }

    fn place(self, row: &entity::Model) -> (i64, Option<CursorKey>) {
        let key = match self {
            Self::Id => None,
            Self::Plate => Some(CursorKey::Text(row.plate_normalized.clone())),
            Self::Year => Some(CursorKey::Number(i64::from(row.year))),
        };
        (row.id, key)
    }
}

/// A list of vehicles' order (oldest first unless asked).
pub type VehicleSort = Sort<VehicleField>;

impl Default for VehicleSort {
    fn default() -> Self {
        Self::ascending(VehicleField::Id)
    }
}

/// The organization's vehicles: every query starts from [`tenant::scoped`], so none
/// can forget its tenant; another organization's row is a 404.
impl tenant::Owned for Vehicles {
    const ORGANIZATION_ID: entity::Column = entity::Column::OrganizationId;
    const ID: entity::Column = entity::Column::Id;
}

/// A page of the organization's vehicles, in id order, optionally one garage's.
///
/// Search: a vehicle matches when its plate starts with the term (ignoring case,
/// spaces and dashes), or its brand or model does (ignoring case). Prefixes, not
/// substrings, so that each way of matching is an index walk at a million rows.
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &VehicleFilter,
    page: PageRequest,
) -> AppResult<Page<Vehicle>> {
    let sort = filter.sort;
    let page_query = || {
        let mut query = tenant::scoped::<Vehicles>(org);
        if let Some(garage_id) = filter.garage_id {
            query = query.filter(entity::Column::GarageId.eq(garage_id));
        }
        page.keyset_sorted(query, entity::Column::Id, sort.field.key(), sort.direction)
    };
    let Some(term) = filter.q.as_deref().map(search_term).filter(|q| !q.is_empty()) else {
        let rows = page_query()?.all(db).await?;
        return Ok(Page::from_rows_sorted(rows, &page, |v| sort.field.place(v)).map(Vehicle::from));
    };
    // One query per way of matching, each an index walk in the list's order that
    // stops at a page, merged here: an OR of the three would make the database
    // gather and sort every match (17,000 rows for "peugeot" at a million vehicles).
    let mut rows = Vec::new();
    for condition in search_conditions(db, org, &term).await? {
        rows.extend(page_query()?.filter(condition).all(db).await?);
    }
    rows.sort_by(|a, b| sort.compare(&sort.field.place(a), &sort.field.place(b)));
    rows.dedup_by_key(|v| v.id);
    Ok(Page::from_rows_sorted(rows, &page, |v| sort.field.place(v)).map(Vehicle::from))
}

/// How many vehicles the filter keeps (its order aside): what a searched list counts.
pub async fn count(db: &impl ConnectionTrait, org: OrgId, filter: &VehicleFilter) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let mut query = tenant::scoped::<Vehicles>(org);
    if let Some(garage_id) = filter.garage_id {
        query = query.filter(entity::Column::GarageId.eq(garage_id));
    }
    if let Some(term) = filter.q.as_deref().map(search_term).filter(|q| !q.is_empty()) {
        let any = search_conditions(db, org, &term).await?.into_iter().fold(Condition::any(), Condition::add);
        // No way of matching applies ("-" is no plate, brand or model start): nothing matches.
        query = query.filter(if any.is_empty() { Condition::all().add(Expr::val(false)) } else { any });
    }
    Ok(query.count(db).await?)
}

/// The ways a search matches a vehicle, each an index range: the plate's start,
/// the brand's, the model's (those that can match at all).
async fn search_conditions(db: &impl ConnectionTrait, org: OrgId, term: &str) -> AppResult<Vec<Condition>> {
    let mut conditions = Vec::new();
    let plate = normalize_plate(term);
    if !plate.is_empty() {
        conditions.push(prefix_range(Expr::col(entity::Column::PlateNormalized), &plate));
    }
    let text = term.to_lowercase();
    for column in [entity::Column::Brand, entity::Column::Model] {
        let lowered = Expr::expr(Func::lower(Expr::col(column)));
        match values_starting_with(db, org, column, &text).await? {
            Some(values) if values.is_empty() => {}
            Some(values) => conditions.push(Condition::all().add(lowered.is_in(values))),
            None => conditions.push(prefix_range(lowered, &text)),
        }
    }
    Ok(conditions)
}

/// Beyond this many distinct brands (or models) for one prefix, search by range.
const MAX_PREFIX_VALUES: usize = 20;

/// The distinct lower-cased values of `column` that start with `prefix`, found by
/// hopping through the `(organization_id, lower(column), id)` index one value at a
/// time (a handful of seeks, however many vehicles share a brand); `None` when
/// there are more than [`MAX_PREFIX_VALUES`].
async fn values_starting_with(
    db: &impl ConnectionTrait,
    org: OrgId,
    column: entity::Column,
    prefix: &str,
) -> AppResult<Option<Vec<String>>> {
    let lowered = || Expr::expr(Func::lower(Expr::col(column)));
    let upper = next_prefix(prefix);
    let mut values: Vec<String> = Vec::new();
    loop {
        let mut query =
            tenant::scoped::<Vehicles>(org).select_only().expr_as(lowered(), "value").order_by_asc(lowered()).limit(1);
        query = match values.last() {
            None => query.filter(lowered().gte(prefix)),
            Some(last) => query.filter(lowered().gt(last.as_str())),
        };
        if let Some(upper) = &upper {
            query = query.filter(lowered().lt(upper.as_str()));
        }
        let Some(value) = query.into_tuple::<String>().one(db).await? else { return Ok(Some(values)) };
        if values.len() == MAX_PREFIX_VALUES {
            return Ok(None);
        }
        values.push(value);
    }
}

/// A garage's vehicles; 404 when the garage does not exist.
pub async fn list_in_garage(
    db: &impl ConnectionTrait,
    org: OrgId,
    garage_id: i64,
    q: Option<String>,
    sort: VehicleSort,
    page: PageRequest,
) -> AppResult<Page<Vehicle>> {
    let found = list(db, org, &VehicleFilter { garage_id: Some(garage_id), q, sort }, page).await?;
    // Only an empty page needs to ask whether the garage exists at all.
    if found.items.is_empty() && !garages::exists(db, org, garage_id).await? {
        return Err(AppError::NotFound);
    }
    Ok(found)
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Vehicle> {
    tenant::find::<Vehicles>(db, org, id).await.map(Vehicle::from)
}

/// The organization's vehicles among `ids`, in id order, in one query (for other
/// modules' pages: a client's vehicles, a quote list).
pub async fn get_many(db: &impl ConnectionTrait, org: OrgId, ids: &[i64]) -> AppResult<Vec<Vehicle>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tenant::scoped::<Vehicles>(org)
        .filter(entity::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(entity::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Vehicle::from).collect())
}

/// The organization's vehicle with this plate (ignoring case, spaces and dashes), if any.
pub async fn find_by_plate(db: &impl ConnectionTrait, org: OrgId, plate: &str) -> AppResult<Option<Vehicle>> {
    let normalized = normalize_plate(&search_term(plate));
    if normalized.is_empty() {
        return Ok(None);
    }
    Ok(tenant::scoped::<Vehicles>(org)
        .filter(entity::Column::PlateNormalized.eq(normalized))
        .one(db)
        .await?
        .map(Vehicle::from))
}

/// Records a new odometer value (other modules' mileage readings keep the fleet's
/// figure current); runs in the caller's transaction.
/// The input that would write `vehicle` as it is (what an update starts from).
pub fn input_of(vehicle: &Vehicle) -> VehicleInput {
    VehicleInput {
        garage_id: Some(vehicle.garage_id),
        brand: Some(vehicle.brand.clone()),
        model: Some(vehicle.model.clone()),
        year: Some(vehicle.year),
        license_plate: Some(vehicle.license_plate.clone()),
        vin: vehicle.vin.clone(),
        mileage_km: vehicle.mileage_km,
        fuel_type: vehicle.fuel_type,
        color: vehicle.color.clone(),
    }
}

/// When each of these vehicles last changed (those that still exist), in one query.
pub async fn stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, chrono::DateTime<Utc>>> {
    let rows: Vec<(i64, chrono::DateTime<Utc>)> = tenant::scoped::<Vehicles>(org)
        .select_only()
        .column(entity::Column::Id)
        .column(entity::Column::UpdatedAt)
        .filter(entity::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn set_mileage(db: &impl ConnectionTrait, org: OrgId, id: i64, km: i64) -> AppResult<()> {
    Vehicles::update_many()
        .col_expr(entity::Column::MileageKm, Expr::value(km))
        .col_expr(entity::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .filter(entity::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks the vehicle changed now, for what another module recorded about it that
/// periodic jobs must look at again (an import's past readings and work: the
/// hourly alert refresh walks the vehicles changed since its last run).
pub async fn touch(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<()> {
    Vehicles::update_many()
        .col_expr(entity::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .filter(entity::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Raises the vehicle's mileage to `km` if it shows less (a past reading
/// brought in by an import never winds the odometer back).
pub async fn raise_mileage(db: &impl ConnectionTrait, org: OrgId, id: i64, km: i64) -> AppResult<()> {
    Vehicles::update_many()
        .col_expr(entity::Column::MileageKm, Expr::value(km))
        .col_expr(entity::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .filter(entity::Column::Id.eq(id))
        .filter(Condition::any().add(entity::Column::MileageKm.is_null()).add(entity::Column::MileageKm.lt(km)))
        .exec(db)
        .await?;
    Ok(())
}

/// The ids of a garage's vehicles as a subquery (`vehicle_id IN (…)`), for other
/// modules' per-garage figures: two bound values however many vehicles it holds
/// (a list of ids fails past SQLite's 32,766 parameters).
pub fn in_garage(org: OrgId, garage_id: i64) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::QueryTrait;
    tenant::scoped::<Vehicles>(org)
        .select_only()
        .column(entity::Column::Id)
        .filter(entity::Column::GarageId.eq(garage_id))
        .into_query()
}

/// An organization's vehicles after `after`, in id order, `limit` at a time
/// (only those changed at or after `changed_since`, when given): how periodic
/// jobs walk a fleet.
pub async fn ids_page(
    db: &impl ConnectionTrait,
    org: OrgId,
    after: i64,
    limit: u64,
    changed_since: Option<chrono::DateTime<Utc>>,
) -> AppResult<Vec<i64>> {
    let mut query = tenant::scoped::<Vehicles>(org).select_only().column(entity::Column::Id);
    if let Some(since) = changed_since {
        query = query.filter(entity::Column::UpdatedAt.gte(since));
    }
    Ok(query
        .filter(entity::Column::Id.gt(after))
        .order_by_asc(entity::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// Ids of the vehicles whose plate starts with `term` (ignoring case, spaces and
/// dashes), at most `limit`, by walking the plate index.
pub async fn ids_with_plate_prefix(
    db: &impl ConnectionTrait,
    org: OrgId,
    term: &str,
    limit: u64,
) -> AppResult<Vec<i64>> {
    let plate = normalize_plate(&search_term(term));
    if plate.is_empty() {
        return Ok(Vec::new());
    }
    Ok(tenant::scoped::<Vehicles>(org)
        .select_only()
        .column(entity::Column::Id)
        .filter(prefix_range(Expr::col(entity::Column::PlateNormalized), &plate))
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &VehicleInput) -> AppResult<Vehicle> {
    let valid = validate(input)?;
    let now = Utc::now();
    let mut model =
        entity::ActiveModel { organization_id: Set(actor.org.get()), created_at: Set(now), ..Default::default() };
    fill(&mut model, &valid, now);
    let vehicle = db::write(db, async |txn| {
        let saved = match db::write(txn, async |savepoint| model.insert(savepoint).await).await {
            Ok(saved) => saved,
            Err(err) => return Err(translate_write_error(txn, actor.org, err, &valid).await),
        };
        let vehicle = Vehicle::from(saved);
        audit::record_change(txn, actor, (AUDIT_ENTITY, vehicle.id), None, Some(&vehicle)).await?;
        Ok(vehicle)
    })
    .await?;
    tracing::info!(vehicle_id = vehicle.id, garage_id = vehicle.garage_id, "vehicle created");
    Ok(vehicle)
}

/// Full replacement (PUT): absent optional fields are cleared; a new `garage_id` moves it.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn replace<C: Writer>(db: &C, actor: &Actor, id: i64, input: &VehicleInput) -> AppResult<Vehicle> {
    let current = tenant::find::<Vehicles>(db, actor.org, id).await?;
    let valid = validate(input)?;
    save(db, actor, current, &valid).await
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn patch<C: Writer>(db: &C, actor: &Actor, id: i64, patch: VehiclePatch) -> AppResult<Vehicle> {
    let current = tenant::find::<Vehicles>(db, actor.org, id).await?;
    let valid = validate(&patch.apply(&current))?;
    save(db, actor, current, &valid).await
}

/// Moves a vehicle to another garage.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn move_to<C: Writer>(db: &C, actor: &Actor, id: i64, garage_id: i64) -> AppResult<Vehicle> {
    patch(db, actor, id, VehiclePatch { garage_id: Some(Some(garage_id)), ..Default::default() }).await
}

async fn save<C: Writer>(db: &C, actor: &Actor, current: entity::Model, valid: &ValidVehicle) -> AppResult<Vehicle> {
    let before = Vehicle::from(current.clone());
    let mut model: entity::ActiveModel = current.into();
    fill(&mut model, valid, Utc::now());
    let after = db::write(db, async |txn| {
        let saved = match db::write(txn, async |savepoint| model.update(savepoint).await).await {
            Ok(saved) => saved,
            Err(sea_orm::DbErr::RecordNotUpdated) => return Err(AppError::NotFound),
            Err(err) => return Err(translate_write_error(txn, actor.org, err, valid).await),
        };
        let after = Vehicle::from(saved);
        audit::record_change(txn, actor, (AUDIT_ENTITY, after.id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await?;
    if after.garage_id != before.garage_id {
        tracing::info!(
            vehicle_id = after.id,
            from_garage = before.garage_id,
            to_garage = after.garage_id,
            "vehicle moved"
        );
    }
    Ok(after)
}

fn fill(model: &mut entity::ActiveModel, valid: &ValidVehicle, now: chrono::DateTime<Utc>) {
    model.garage_id = Set(valid.garage_id);
    model.brand = Set(valid.brand.clone());
    model.model = Set(valid.model.clone());
    model.year = Set(valid.year);
    model.license_plate = Set(valid.plate.as_str().to_owned());
    model.plate_normalized = Set(valid.plate.normalized().to_owned());
    model.vin = Set(valid.vin.as_ref().map(|v| v.as_str().to_owned()));
    model.mileage_km = Set(valid.mileage_km);
    model.fuel_type = Set(valid.fuel_type);
    model.color = Set(valid.color.clone());
    model.updated_at = Set(now);
}

/// Turns the database's verdict on a write into the answer a person understands:
/// a taken plate names the vehicle's garage, an unknown garage is a field error.
async fn translate_write_error(
    db: &impl ConnectionTrait,
    org: OrgId,
    err: sea_orm::DbErr,
    valid: &ValidVehicle,
) -> AppError {
    match explain_write_error(db, org, err, valid).await {
        Ok(explained) | Err(explained) => explained,
    }
}

async fn explain_write_error(
    db: &impl ConnectionTrait,
    org: OrgId,
    err: sea_orm::DbErr,
    valid: &ValidVehicle,
) -> Result<AppError, AppError> {
    match constraint_violation(&err) {
        Some(c @ Constraint::Unique(_)) if c.mentions("vehicles_vin") || c.mentions("vehicles.vin") => {
            let vin = valid.vin.as_ref().map_or("", |v| v.as_str());
            let holder = tenant::scoped::<Vehicles>(org).filter(entity::Column::Vin.eq(vin)).one(db).await?;
            let message = Msg::new("vehicle.vin_taken").arg("vin", vin);
            Ok(match holder {
                Some(vehicle) => {
                    AppError::ConflictWith { code: "duplicate_vin", field: Some("vin"), message, with_id: vehicle.id }
                }
                None => AppError::conflict_on("vin", "duplicate_vin", message),
            })
        }
        Some(Constraint::Unique(_)) => {
            let holder = tenant::scoped::<Vehicles>(org)
                .filter(entity::Column::PlateNormalized.eq(valid.plate.normalized()))
                .one(db)
                .await?;
            let garage_name = match &holder {
                Some(vehicle) => garages::get(db, org, vehicle.garage_id).await.map(|g| g.name).unwrap_or_default(),
                None => String::new(),
            };
            let holder_id = holder.as_ref().map(|v| v.id);
            let plate = holder.map_or_else(|| valid.plate.as_str().to_owned(), |v| v.license_plate);
            let message = Msg::new("vehicle.plate_taken").arg("plate", plate).arg("garage", garage_name);
            // The vehicle in the way, for a client to link to it.
            Ok(match holder_id {
                Some(with_id) => {
                    AppError::ConflictWith { code: "duplicate_plate", field: Some("license_plate"), message, with_id }
                }
                None => AppError::conflict_on("license_plate", "duplicate_plate", message),
            })
        }
        Some(Constraint::ForeignKey(_)) => Ok(AppError::validation("garage_id", Msg::new("vehicle.garage_unknown"))),
        None => Ok(err.into()),
    }
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let before = Vehicle::from(tenant::find::<Vehicles>(db, actor.org, id).await?);
    let delete = Vehicles::delete_many()
        .filter(entity::Column::OrganizationId.eq(actor.org.get()))
        .filter(entity::Column::Id.eq(id));
    db::write(db, async |txn| {
        let result = delete.exec(txn).await.map_err(|err| match constraint_violation(&err) {
            // Other modules' records (service history) keep a vehicle from disappearing.
            Some(Constraint::ForeignKey(_)) => AppError::conflict(
                "vehicle_has_history",
                Msg::new("vehicle.has_history").arg("plate", &before.license_plate),
            ),
            _ => err.into(),
        })?;
        if result.rows_affected == 0 {
            return Err(AppError::NotFound);
        }
        let owner = crate::documents::model::Owner { kind: crate::documents::model::OwnerKind::Vehicle, id };
        crate::documents::service::forget_owner(txn, actor.org, owner).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), None).await
    })
    .await?;
    tracing::info!(vehicle_id = id, "vehicle deleted");
    Ok(())
}
