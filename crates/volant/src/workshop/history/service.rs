//! Service history: interventions on a vehicle (with their parts and labour
//! lines, the maintenance they performed, the quote they came from) and mileage
//! readings. Recording either refreshes the vehicle's maintenance alerts in the
//! same transaction.

use crate::notify::webhooks::{self, WebhookEvent};
use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{intervention, line, reading, service_done, service_info};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::lines::{PricedLine, priced};
use crate::platform::money::{self, Currency};
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::workshop::clients::service as clients;
use crate::workshop::maintenance::service as maintenance;
use crate::workshop::quotes::service::{self as quotes, LineInput, LineKind};

pub const AUDIT_ENTITY: &str = "intervention";
const MAX_MILEAGE_KM: i64 = 10_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InterventionLine {
    pub kind: LineKind,
    pub description: String,
    #[schema(value_type = String)]
    pub quantity: Decimal,
    pub unit: Option<String>,
    #[schema(value_type = String)]
    pub unit_price: Decimal,
    #[schema(value_type = String)]
    pub vat_rate: Decimal,
    #[schema(value_type = String)]
    pub discount: Decimal,
    #[schema(value_type = String)]
    pub total_excl_tax: Decimal,
}

impl From<&InterventionLine> for crate::platform::lines::LineInput {
    /// The line as it would be typed again (copied into another document).
    fn from(l: &InterventionLine) -> Self {
        Self {
            kind: Some(l.kind),
            description: Some(l.description.clone()),
            quantity: Some(l.quantity),
            unit: l.unit.clone(),
            unit_price: Some(l.unit_price),
            vat_rate: Some(l.vat_rate),
            discount: Some(l.discount),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Intervention {
    pub id: i64,
    pub vehicle_id: i64,
    /// The vehicle's owner when the work was done.
    pub client_id: Option<i64>,
    pub quote_id: Option<i64>,
    pub performed_on: NaiveDate,
    pub mileage_km: Option<i64>,
    pub description: String,
    pub technician: Option<String>,
    /// Maintenance carried out (resets those rules), e.g. `oil_service`.
    pub services: Vec<String>,
    pub lines: Vec<InterventionLine>,
    #[schema(value_type = String)]
    pub currency: Currency,
    #[schema(value_type = String)]
    pub total_excl_tax: Decimal,
    pub created_at: chrono::DateTime<Utc>,
    /// Work under way: the vehicle is in the workshop; the maintenance it carries
    /// out counts once it is completed.
    pub in_progress: bool,
}

/// An intervention as recorded.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct InterventionInput {
    #[schema(required = true, nullable = false)]
    pub vehicle_id: Option<i64>,
    /// Today when absent.
    pub performed_on: Option<NaiveDate>,
    pub mileage_km: Option<i64>,
    #[schema(required = true, nullable = false, example = "Vidange, remplacement filtre à huile")]
    pub description: Option<String>,
    pub technician: Option<String>,
    /// Maintenance carried out, e.g. `["oil_service"]`: those rules start a new cycle.
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::platform::lines::WorkLineInput>)]
    pub lines: Vec<LineInput>,
    /// The vehicle stays in the workshop: complete the intervention when it leaves.
    #[serde(default)]
    pub in_progress: bool,
}

/// Turning an accepted quote into the work done.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct FromQuoteInput {
    pub performed_on: Option<NaiveDate>,
    pub mileage_km: Option<i64>,
    pub technician: Option<String>,
    /// The maintenance this work carries out; omitted, what the accepted lines
    /// imply (a "plaquettes de frein" line: `brakes`; a rule's own name: that rule).
    pub services: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MileageReading {
    pub id: i64,
    pub vehicle_id: i64,
    pub read_on: NaiveDate,
    pub mileage_km: i64,
    pub is_correction: bool,
    pub intervention_id: Option<i64>,
}

impl From<reading::Model> for MileageReading {
    fn from(m: reading::Model) -> Self {
        Self {
            id: m.id,
            vehicle_id: m.vehicle_id,
            read_on: m.read_on,
            mileage_km: m.mileage_km,
            is_correction: m.is_correction,
            intervention_id: m.intervention_id,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ReadingInput {
    /// Today when absent.
    pub read_on: Option<NaiveDate>,
    #[schema(required = true, nullable = false, example = 84500)]
    pub mileage_km: Option<i64>,
    /// The odometer was replaced or reset: a lower reading is accepted.
    #[serde(default)]
    pub is_correction: bool,
}

/// Serializes writers of one vehicle's history: on PostgreSQL the upsert locks the
/// vehicle's row until the transaction ends; SQLite has a single writer anyway.
async fn lock_vehicle(txn: &DatabaseTransaction, org: OrgId, vehicle_id: i64) -> AppResult<()> {
    service_info::Entity::insert(service_info::ActiveModel {
        vehicle_id: Set(vehicle_id),
        organization_id: Set(org.get()),
        first_registration: Set(None),
        insurance_expiry: Set(None),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(service_info::Column::VehicleId).update_column(service_info::Column::UpdatedAt).to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// The latest reading (by date, then entry order).
async fn last_reading(db: &impl ConnectionTrait, vehicle_id: i64) -> AppResult<Option<reading::Model>> {
    Ok(reading::Entity::find()
        .filter(reading::Column::VehicleId.eq(vehicle_id))
        .order_by_desc(reading::Column::ReadOn)
        .order_by_desc(reading::Column::Id)
        .one(db)
        .await?)
}

/// Refuses a past reading that does not fit between the vehicle's readings
/// around its date: lower than one before it, or higher than one after it.
async fn check_past_reading(
    db: &impl ConnectionTrait,
    vehicle_id: i64,
    read_on: NaiveDate,
    km: i64,
    field: &'static str,
) -> AppResult<()> {
    let around = |before: bool| {
        let query = reading::Entity::find().filter(reading::Column::VehicleId.eq(vehicle_id));
        if before {
            query
                .filter(reading::Column::ReadOn.lte(read_on))
                .order_by_desc(reading::Column::ReadOn)
                .order_by_desc(reading::Column::Id)
        } else {
            query
                .filter(reading::Column::ReadOn.gt(read_on))
                .order_by_asc(reading::Column::ReadOn)
                .order_by_asc(reading::Column::Id)
        }
    };
    let earlier = around(true).one(db).await?;
    let later = around(false).one(db).await?;
    let out_of_line = earlier.as_ref().is_some_and(|r| km < r.mileage_km && !r.is_correction)
        || later.as_ref().is_some_and(|r| km > r.mileage_km && !r.is_correction);
    if out_of_line {
        let (low, high) = (earlier.map_or(0, |r| r.mileage_km), later.map_or(MAX_MILEAGE_KM, |r| r.mileage_km));
        return Err(AppError::validation(
            field,
            Msg::new("history.reading_out_of_line").arg("low", low).arg("high", high),
        ));
    }
    Ok(())
}

/// Records an odometer reading of the past, as an import brings them (see [`record_past`]).
pub async fn record_past_reading(
    txn: &DatabaseTransaction,
    actor: &Actor,
    vehicle_id: i64,
    input: &ReadingInput,
) -> AppResult<MileageReading> {
    let (read_on, km, _) = checked_reading(txn, actor.org, vehicle_id, input).await?;
    lock_vehicle(txn, actor.org, vehicle_id).await?;
    check_past_reading(txn, vehicle_id, read_on, km, "mileage_km").await?;
    let saved = insert_reading(txn, actor.org, vehicle_id, (read_on, km, false), (None, true)).await?;
    let reading = MileageReading::from(saved);
    audit::record_change(txn, actor, ("mileage_reading", reading.id), None, Some(&reading)).await?;
    // The pace changed: the hourly alert refresh looks at this vehicle again.
    vehicles::touch(txn, actor.org, vehicle_id).await?;
    Ok(reading)
}

/// Refuses a reading lower than the latest one (unless a correction) or dated before it.
async fn check_reading(
    db: &impl ConnectionTrait,
    vehicle_id: i64,
    read_on: NaiveDate,
    km: i64,
    is_correction: bool,
    field: &'static str,
) -> AppResult<()> {
    if let Some(last) = last_reading(db, vehicle_id).await? {
        if read_on < last.read_on {
            return Err(AppError::validation(
                field,
                Msg::new("history.reading_before_last").arg("date", crate::platform::i18n::date(last.read_on)),
            ));
        }
        if km < last.mileage_km && !is_correction {
            return Err(AppError::conflict_on(
                field,
                "mileage_lower_than_last",
                Msg::new("history.mileage_lower")
                    .arg("km", last.mileage_km)
                    .arg("date", crate::platform::i18n::date(last.read_on)),
            ));
        }
    }
    Ok(())
}

async fn insert_reading(
    txn: &DatabaseTransaction,
    org: OrgId,
    vehicle_id: i64,
    (read_on, km, is_correction): (NaiveDate, i64, bool),
    (intervention_id, past): (Option<i64>, bool),
) -> AppResult<reading::Model> {
    let saved = reading::ActiveModel {
        organization_id: Set(org.get()),
        vehicle_id: Set(vehicle_id),
        read_on: Set(read_on),
        mileage_km: Set(km),
        is_correction: Set(is_correction),
        intervention_id: Set(intervention_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if past {
        vehicles::raise_mileage(txn, org, vehicle_id, km).await?;
    } else {
        vehicles::set_mileage(txn, org, vehicle_id, km).await?;
    }
    Ok(saved)
}

fn vehicle_unknown(err: AppError) -> AppError {
    err.missing_as("vehicle_id", Msg::new("quote.vehicle_unknown"))
}

/// A reading's day (today by default) and kilometres, checked: the vehicle
/// exists, the figure is in range, the day not to come; and today.
async fn checked_reading(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_id: i64,
    input: &ReadingInput,
) -> AppResult<(NaiveDate, i64, NaiveDate)> {
    vehicles::get(db, org, vehicle_id).await?;
    let today = organizations::today(db, org).await?;
    let mut v = Validator::new();
    let km = v.required("mileage_km", input.mileage_km);
    if km.is_some_and(|km| !(0..=MAX_MILEAGE_KM).contains(&km)) {
        v.add("mileage_km", Msg::new("vehicle.mileage_out_of_range").arg("max", MAX_MILEAGE_KM));
    }
    let read_on = input.read_on.unwrap_or(today);
    if read_on > today {
        v.add("read_on", Msg::new("history.date_in_future"));
    }
    v.finish()?;
    Ok((read_on, km.unwrap_or_default(), today))
}

/// Records an odometer reading and refreshes the vehicle's alerts.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn record_reading<C: Writer>(
    db: &C,
    actor: &Actor,
    vehicle_id: i64,
    input: &ReadingInput,
) -> AppResult<MileageReading> {
    let (read_on, km, today) = checked_reading(db, actor.org, vehicle_id, input).await?;
    db::write(db, async |txn| {
        lock_vehicle(txn, actor.org, vehicle_id).await?;
        check_reading(txn, vehicle_id, read_on, km, input.is_correction, "mileage_km").await?;
        let saved =
            insert_reading(txn, actor.org, vehicle_id, (read_on, km, input.is_correction), (None, false)).await?;
        let reading = MileageReading::from(saved);
        audit::record_change(txn, actor, ("mileage_reading", reading.id), None, Some(&reading)).await?;
        maintenance::refresh(txn, actor.org, &[vehicle_id], today).await?;
        Ok(reading)
    })
    .await
}

/// A vehicle's readings, oldest first.
pub async fn readings(db: &impl ConnectionTrait, org: OrgId, vehicle_id: i64) -> AppResult<Vec<MileageReading>> {
    vehicles::get(db, org, vehicle_id).await?;
    let rows = readings_of(db, org, &[vehicle_id]).await?;
    Ok(rows.into_iter().map(MileageReading::from).collect())
}

/// Every reading of these vehicles, by vehicle then date (for maintenance forecasts).
pub async fn readings_of(db: &impl ConnectionTrait, org: OrgId, vehicle_ids: &[i64]) -> AppResult<Vec<reading::Model>> {
    if vehicle_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(reading::Entity::find()
        .filter(reading::Column::OrganizationId.eq(org.get()))
        .filter(reading::Column::VehicleId.is_in(vehicle_ids.iter().copied()))
        .order_by_asc(reading::Column::VehicleId)
        .order_by_asc(reading::Column::ReadOn)
        .order_by_asc(reading::Column::Id)
        .all(db)
        .await?)
}

/// When each (vehicle, maintenance kind) was last carried out, for these vehicles.
pub async fn last_services(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_ids: &[i64],
) -> AppResult<HashMap<(i64, String), (NaiveDate, Option<i64>)>> {
    if vehicle_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let done = intervention::Entity::find()
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::VehicleId.is_in(vehicle_ids.iter().copied()))
        .filter(intervention::Column::InProgress.eq(false))
        .order_by_asc(intervention::Column::PerformedOn)
        .order_by_asc(intervention::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = done.iter().map(|i| i.id).collect();
    let services = services_of(db, &ids).await?;
    let mut last = HashMap::new();
    for i in done {
        for kind in services.get(&i.id).into_iter().flatten() {
            // Later interventions overwrite earlier ones.
            last.insert((i.vehicle_id, kind.clone()), (i.performed_on, i.mileage_km));
        }
    }
    Ok(last)
}

async fn services_of(db: &impl ConnectionTrait, intervention_ids: &[i64]) -> AppResult<HashMap<i64, Vec<String>>> {
    if intervention_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = service_done::Entity::find()
        .filter(service_done::Column::InterventionId.is_in(intervention_ids.iter().copied()))
        .all(db)
        .await?;
    let mut by_intervention: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        by_intervention.entry(row.intervention_id).or_default().push(row.kind);
    }
    for kinds in by_intervention.values_mut() {
        kinds.sort();
    }
    Ok(by_intervention)
}

/// What a vehicle's service information says (first registration, insurance expiry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceInfo {
    pub first_registration: Option<NaiveDate>,
    pub insurance_expiry: Option<NaiveDate>,
}

pub async fn service_info_of(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_ids: &[i64],
) -> AppResult<HashMap<i64, ServiceInfo>> {
    if vehicle_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = service_info::Entity::find()
        .filter(service_info::Column::OrganizationId.eq(org.get()))
        .filter(service_info::Column::VehicleId.is_in(vehicle_ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.vehicle_id,
                ServiceInfo { first_registration: r.first_registration, insurance_expiry: r.insurance_expiry },
            )
        })
        .collect())
}

/// Sets a vehicle's first registration and insurance expiry, and refreshes its alerts.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn set_service_info<C: Writer>(
    db: &C,
    actor: &Actor,
    vehicle_id: i64,
    info: &ServiceInfo,
) -> AppResult<ServiceInfo> {
    vehicles::get(db, actor.org, vehicle_id).await?;
    let today = organizations::today(db, actor.org).await?;
    if info.first_registration.is_some_and(|d| d > today) {
        return Err(AppError::validation("first_registration", Msg::new("history.date_in_future")));
    }
    let before = service_info_of(db, actor.org, &[vehicle_id]).await?.remove(&vehicle_id).unwrap_or_default();
    db::write(db, async |txn| {
        service_info::Entity::insert(service_info::ActiveModel {
            vehicle_id: Set(vehicle_id),
            organization_id: Set(actor.org.get()),
            first_registration: Set(info.first_registration),
            insurance_expiry: Set(info.insurance_expiry),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(service_info::Column::VehicleId)
                .update_columns([
                    service_info::Column::FirstRegistration,
                    service_info::Column::InsuranceExpiry,
                    service_info::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        audit::record_change(txn, actor, ("vehicle_service_info", vehicle_id), Some(&before), Some(info)).await?;
        maintenance::refresh(txn, actor.org, &[vehicle_id], today).await?;
        Ok(info.clone())
    })
    .await
}

struct ValidIntervention {
    vehicle_id: i64,
    performed_on: NaiveDate,
    mileage_km: Option<i64>,
    description: String,
    technician: Option<String>,
    services: Vec<String>,
    lines: Vec<quotes::ValidLine>,
}

fn validate(input: &InterventionInput, today: NaiveDate) -> AppResult<ValidIntervention> {
    let mut v = Validator::new();
    let vehicle_id = v.required("vehicle_id", input.vehicle_id);
    let performed_on = input.performed_on.unwrap_or(today);
    if performed_on > today {
        v.add("performed_on", Msg::new("history.date_in_future"));
    }
    if input.mileage_km.is_some_and(|km| !(0..=MAX_MILEAGE_KM).contains(&km)) {
        v.add("mileage_km", Msg::new("vehicle.mileage_out_of_range").arg("max", MAX_MILEAGE_KM));
    }
    let description = v.required_long_text("description", input.description.as_deref(), 2000);
    let technician = v.optional_text("technician", input.technician.as_deref(), 120);
    let mut services: Vec<String> =
        input.services.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    if services.iter().any(|s| !crate::workshop::maintenance::rules::is_kind_code(s)) {
        v.add("services", Msg::new("history.service_unknown"));
    }
    services.sort();
    services.dedup();
    // Work may be recorded without a price (a check, a courtesy): no price is zero.
    let inputs: Vec<LineInput> = input
        .lines
        .iter()
        .map(|l| LineInput { unit_price: l.unit_price.or(Some(Decimal::ZERO)), ..l.clone() })
        .collect();
    let lines = quotes::validate_lines(&mut v, &inputs);
    v.finish()?;
    let vehicle_id = vehicle_id.ok_or_else(|| AppError::Internal("validator accepted a missing vehicle".to_owned()))?;
    let description = description.unwrap_or_default();
    Ok(ValidIntervention {
        vehicle_id,
        performed_on,
        mileage_km: input.mileage_km,
        description,
        technician,
        services,
        lines,
    })
}

/// Records work done on a vehicle: its lines, its mileage (a reading, checked
/// against the last one), the maintenance it performed; the vehicle's alerts are
/// refreshed in the same transaction.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn record<C: Writer>(db: &C, actor: &Actor, input: &InterventionInput) -> AppResult<Intervention> {
    record_for_quote(db, actor, input, (None, false)).await
}

/// Records work done in the past, as an import brings a vehicle's history: its
/// odometer fitted between the readings around its date (not only after the
/// last), the vehicle's mileage only ever raised, and no webhook, alert or
/// reminder (the hourly maintenance refresh looks at the vehicle again).
pub async fn record_past(
    txn: &DatabaseTransaction,
    actor: &Actor,
    input: &InterventionInput,
) -> AppResult<Intervention> {
    let recorded = record_for_quote(txn, actor, input, (None, true)).await?;
    vehicles::touch(txn, actor.org, recorded.vehicle_id).await?;
    Ok(recorded)
}

async fn record_for_quote<C: Writer>(
    db: &C,
    actor: &Actor,
    input: &InterventionInput,
    (quote_id, past): (Option<i64>, bool),
) -> AppResult<Intervention> {
    let today = organizations::today(db, actor.org).await?;
    let valid = validate(input, today)?;
    vehicles::get(db, actor.org, valid.vehicle_id).await.map_err(vehicle_unknown)?;
    let organization = organizations::get(db, actor.org).await?;
    let decimals = organization.currency.decimals();
    let owner = clients::current_owner(db, actor.org, valid.vehicle_id).await?;
    let priced = priced(&valid.lines, decimals)?;
    let total_minor = money::to_minor(priced.iter().map(|p| p.total).sum(), decimals)
        .ok_or_else(|| AppError::validation("lines", Msg::new("quote.amount_too_large")))?;
    let recorded = db::write(db, async |txn| {
        lock_vehicle(txn, actor.org, valid.vehicle_id).await?;
        if let Some(km) = valid.mileage_km {
            if past {
                check_past_reading(txn, valid.vehicle_id, valid.performed_on, km, "mileage_km").await?;
            } else {
                check_reading(txn, valid.vehicle_id, valid.performed_on, km, false, "mileage_km").await?;
            }
        }
        let inserted = intervention::ActiveModel {
            organization_id: Set(actor.org.get()),
            vehicle_id: Set(valid.vehicle_id),
            client_id: Set(owner.as_ref().map(|c| c.id)),
            quote_id: Set(quote_id),
            performed_on: Set(valid.performed_on),
            mileage_km: Set(valid.mileage_km),
            description: Set(valid.description.clone()),
            technician: Set(valid.technician.clone()),
            currency: Set(organization.currency),
            total_excl_minor: Set(total_minor),
            created_by: Set(actor.user_id),
            created_at: Set(Utc::now()),
            in_progress: Set(input.in_progress),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(|err| {
            AppError::conflict("quote_already_carried_out", Msg::new("history.quote_already_done"))
                .if_refused(err, Constraint::is_unique)
        })?;
        if !priced.is_empty() {
            let rows = priced.iter().map(|p| line_row(inserted.id, p));
            line::Entity::insert_many(rows).exec_without_returning(txn).await?;
        }
        if !valid.services.is_empty() {
            let done = valid
                .services
                .iter()
                .map(|kind| service_done::ActiveModel { intervention_id: Set(inserted.id), kind: Set(kind.clone()) });
            service_done::Entity::insert_many(done).exec_without_returning(txn).await?;
        }
        if let Some(km) = valid.mileage_km {
            insert_reading(
                txn,
                actor.org,
                valid.vehicle_id,
                (valid.performed_on, km, false),
                (Some(inserted.id), past),
            )
            .await?;
        }
        let recorded = load(txn, vec![inserted]).await?.pop().ok_or(AppError::NotFound)?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, recorded.id), None, Some(&recorded)).await?;
        if past {
            return Ok::<_, AppError>(recorded);
        }
        if !recorded.in_progress {
            webhooks::emit(txn, actor.org, WebhookEvent::InterventionCompleted, webhook_data(&recorded)).await?;
        }
        maintenance::refresh(txn, actor.org, &[valid.vehicle_id], today).await?;
        Ok::<_, AppError>(recorded)
    })
    .await?;
    tracing::info!(intervention_id = recorded.id, vehicle_id = recorded.vehicle_id, "intervention recorded");
    Ok(recorded)
}

/// What a webhook says of a completed intervention.
fn webhook_data(done: &Intervention) -> serde_json::Value {
    serde_json::json!({
        "intervention_id": done.id,
        "vehicle_id": done.vehicle_id,
        "client_id": done.client_id,
        "quote_id": done.quote_id,
        "performed_on": done.performed_on,
        "mileage_km": done.mileage_km,
        "services": done.services,
        "currency": done.currency.to_string(),
        "total_excl_tax": done.total_excl_tax.to_string(),
    })
}

fn line_row(intervention_id: i64, priced: &PricedLine<'_>) -> line::ActiveModel {
    let l = priced.line;
    line::ActiveModel {
        intervention_id: Set(intervention_id),
        position: Set(priced.position),
        kind: Set(l.kind),
        description: Set(l.description.clone()),
        quantity_milli: Set(l.quantity_milli),
        unit: Set(l.unit.clone()),
        unit_price_e4: Set(l.unit_price_e4),
        vat_rate_bp: Set(l.vat_rate_bp),
        discount_bp: Set(l.discount_bp),
        total_excl_minor: Set(priced.total_minor),
        ..Default::default()
    }
}

/// The vehicle's intervention under way, if one is (the vehicle is in the workshop).
pub async fn in_progress_on(db: &impl ConnectionTrait, org: OrgId, vehicle_id: i64) -> AppResult<Option<i64>> {
    use sea_orm::QuerySelect;
    Ok(intervention::Entity::find()
        .select_only()
        .column(intervention::Column::Id)
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::VehicleId.eq(vehicle_id))
        .filter(intervention::Column::InProgress.eq(true))
        .into_tuple::<i64>()
        .one(db)
        .await?)
}

/// Completes an intervention under way (the vehicle leaves the workshop): dated
/// today, its maintenance now counts and the vehicle's alerts are refreshed. 409
/// when it is already complete.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn complete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<Intervention> {
    let before = get(db, actor.org, id).await?;
    let today = organizations::today(db, actor.org).await?;
    db::write(db, async |txn| {
        let updated = intervention::Entity::update_many()
            .col_expr(intervention::Column::InProgress, sea_orm::sea_query::Expr::value(false))
            .col_expr(
                intervention::Column::PerformedOn,
                sea_orm::sea_query::Expr::value(today.max(before.performed_on)),
            )
            .filter(intervention::Column::Id.eq(id))
            .filter(intervention::Column::OrganizationId.eq(actor.org.get()))
            .filter(intervention::Column::InProgress.eq(true))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(AppError::conflict("intervention_complete", Msg::new("history.already_complete")));
        }
        let after = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        webhooks::emit(txn, actor.org, WebhookEvent::InterventionCompleted, webhook_data(&after)).await?;
        maintenance::refresh(txn, actor.org, &[before.vehicle_id], today).await?;
        Ok(after)
    })
    .await
}

/// The closed loop: an accepted quote becomes the intervention, with the lines the
/// client accepted. Once only (409 the second time).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn record_from_quote<C: Writer>(
    db: &C,
    actor: &Actor,
    quote_id: i64,
    input: &FromQuoteInput,
) -> AppResult<Intervention> {
    let quote = quotes::get(db, actor.org, quote_id).await?;
    if !quote.status.can_carry_out() {
        return Err(AppError::conflict("quote_not_accepted", Msg::new("history.quote_not_accepted")));
    }
    let Some(vehicle_id) = quote.vehicle_id else {
        return Err(AppError::conflict("quote_without_vehicle", Msg::new("history.quote_without_vehicle")));
    };
    let lines = quote.accepted_lines().map(LineInput::from).collect();
    let description = quote.accepted_lines().map(|l| l.description.as_str()).collect::<Vec<_>>().join(", ");
    let services = match &input.services {
        Some(services) => services.clone(),
        None => implied_services(db, actor.org, &quote).await?,
    };
    let input = InterventionInput {
        vehicle_id: Some(vehicle_id),
        performed_on: input.performed_on,
        mileage_km: input.mileage_km,
        description: Some(format!("{} — {}", quote.number, description).chars().take(2000).collect()),
        technician: input.technician.clone(),
        services,
        lines,
        in_progress: false,
    };
    record_for_quote(db, actor, &input, (Some(quote.id), false)).await
}

/// The organization's maintenance that a quote's accepted lines carry out.
pub async fn implied_services(db: &impl ConnectionTrait, org: OrgId, quote: &quotes::Quote) -> AppResult<Vec<String>> {
    let rules = maintenance::organization_rules(db, org).await?;
    Ok(crate::workshop::maintenance::rules::implied_kinds(
        &rules,
        quote.accepted_lines().map(|l| l.description.as_str()),
    ))
}

/// Interventions with their lines and services: three queries for any number.
async fn load(db: &impl ConnectionTrait, rows: Vec<intervention::Model>) -> AppResult<Vec<Intervention>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut lines: HashMap<i64, Vec<line::Model>> = HashMap::new();
    if !ids.is_empty() {
        for l in line::Entity::find()
            .filter(line::Column::InterventionId.is_in(ids.iter().copied()))
            .order_by_asc(line::Column::InterventionId)
            .order_by_asc(line::Column::Position)
            .all(db)
            .await?
        {
            lines.entry(l.intervention_id).or_default().push(l);
        }
    }
    let mut services = services_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let decimals = m.currency.decimals();
            Intervention {
                lines: lines
                    .remove(&m.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| InterventionLine {
                        kind: l.kind,
                        description: l.description,
                        quantity: money::from_scaled(l.quantity_milli, 3),
                        unit: l.unit,
                        unit_price: money::from_scaled(l.unit_price_e4, 4),
                        vat_rate: money::from_scaled(i64::from(l.vat_rate_bp), 2),
                        discount: money::from_scaled(i64::from(l.discount_bp), 2),
                        total_excl_tax: money::from_minor(l.total_excl_minor, decimals),
                    })
                    .collect(),
                services: services.remove(&m.id).unwrap_or_default(),
                total_excl_tax: money::from_minor(m.total_excl_minor, decimals),
                id: m.id,
                vehicle_id: m.vehicle_id,
                client_id: m.client_id,
                quote_id: m.quote_id,
                performed_on: m.performed_on,
                mileage_km: m.mileage_km,
                description: m.description,
                technician: m.technician,
                in_progress: m.in_progress,
                currency: m.currency,
                created_at: m.created_at,
            }
        })
        .collect())
}

/// A vehicle's service history, most recent first.
pub async fn of_vehicle(db: &impl ConnectionTrait, org: OrgId, vehicle_id: i64) -> AppResult<Vec<Intervention>> {
    vehicles::get(db, org, vehicle_id).await?;
    let rows = intervention::Entity::find()
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::VehicleId.eq(vehicle_id))
        .order_by_desc(intervention::Column::PerformedOn)
        .order_by_desc(intervention::Column::Id)
        .all(db)
        .await?;
    load(db, rows).await
}

/// The work under way (the vehicles in the workshop), longest there first; at
/// most `limit` (a workshop holds a few dozen vehicles at most).
pub async fn under_way(db: &impl ConnectionTrait, org: OrgId, limit: u64) -> AppResult<Vec<Intervention>> {
    use sea_orm::QuerySelect;
    let rows = intervention::Entity::find()
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::InProgress.eq(true))
        .order_by_asc(intervention::Column::PerformedOn)
        .order_by_asc(intervention::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    load(db, rows).await
}

/// The work done for a client (on the vehicles they owned at the time), most recent first.
pub async fn of_client(
    db: &impl ConnectionTrait,
    org: OrgId,
    client_id: i64,
    limit: u64,
) -> AppResult<Vec<Intervention>> {
    use sea_orm::QuerySelect;
    let rows = intervention::Entity::find()
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::ClientId.eq(client_id))
        .order_by_desc(intervention::Column::PerformedOn)
        .order_by_desc(intervention::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    load(db, rows).await
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Intervention> {
    let row = intervention::Entity::find()
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    load(db, vec![row]).await?.pop().ok_or(AppError::NotFound)
}

/// Interventions per month (`YYYY-MM`, count) between two dates, for the dashboard.
pub async fn count_by_month(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
    vehicles: Option<&sea_orm::sea_query::SelectStatement>,
) -> AppResult<Vec<(String, i64)>> {
    use sea_orm::QuerySelect;
    // Counted per day by the database (a year is at most 366 rows), grouped by month here:
    // SQLite and PostgreSQL name the month differently.
    let mut query = intervention::Entity::find()
        .select_only()
        .column(intervention::Column::PerformedOn)
        .column_as(intervention::Column::Id.count(), "count")
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::PerformedOn.gte(from))
        .filter(intervention::Column::PerformedOn.lte(to))
        .group_by(intervention::Column::PerformedOn);
    if let Some(vehicles) = vehicles {
        query = query.filter(intervention::Column::VehicleId.in_subquery(vehicles.clone()));
    }
    let days: Vec<(NaiveDate, i64)> = query.into_tuple().all(db).await?;
    let mut months: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for (date, count) in days {
        *months.entry(date.format("%Y-%m").to_string()).or_default() += count;
    }
    Ok(months.into_iter().collect())
}

/// When each of these interventions was recorded (they are not edited after;
/// what an import's undo checks), in one query.
pub async fn stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[i64],
) -> AppResult<HashMap<i64, chrono::DateTime<Utc>>> {
    use sea_orm::QuerySelect;
    let rows: Vec<(i64, chrono::DateTime<Utc>)> = intervention::Entity::find()
        .select_only()
        .column(intervention::Column::Id)
        .column(intervention::Column::CreatedAt)
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// When each of these readings was recorded, in one query.
pub async fn reading_stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[i64],
) -> AppResult<HashMap<i64, chrono::DateTime<Utc>>> {
    use sea_orm::QuerySelect;
    let rows: Vec<(i64, chrono::DateTime<Utc>)> = reading::Entity::find()
        .select_only()
        .column(reading::Column::Id)
        .column(reading::Column::CreatedAt)
        .filter(reading::Column::OrganizationId.eq(org.get()))
        .filter(reading::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Takes back an intervention an import recorded (the undo of that import), with
/// its lines, its reading and its documents; 409 `intervention_invoiced` once
/// an invoice was made from it.
pub async fn forget(txn: &DatabaseTransaction, actor: &Actor, id: i64) -> AppResult<()> {
    let before = get(txn, actor.org, id).await?;
    use crate::billing::invoices::{model::SourceKind, service as invoices};
    if invoices::find_by_source(txn, actor.org, SourceKind::Intervention, id).await?.is_some() {
        return Err(AppError::conflict("intervention_invoiced", Msg::new("history.intervention_invoiced")));
    }
    reading::Entity::delete_many()
        .filter(reading::Column::OrganizationId.eq(actor.org.get()))
        .filter(reading::Column::InterventionId.eq(id))
        .exec(txn)
        .await?;
    intervention::Entity::delete_many()
        .filter(intervention::Column::OrganizationId.eq(actor.org.get()))
        .filter(intervention::Column::Id.eq(id))
        .exec(txn)
        .await?;
    let owner = crate::documents::model::Owner { kind: crate::documents::model::OwnerKind::Intervention, id };
    crate::documents::service::forget_owner(txn, actor.org, owner).await?;
    audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), None::<&Intervention>).await?;
    let today = organizations::today(txn, actor.org).await?;
    maintenance::refresh(txn, actor.org, &[before.vehicle_id], today).await.map(|_| ())
}

/// Takes back a reading an import recorded (the undo of that import).
pub async fn forget_reading(txn: &DatabaseTransaction, actor: &Actor, id: i64) -> AppResult<()> {
    let Some(before) = reading::Entity::find_by_id(id)
        .filter(reading::Column::OrganizationId.eq(actor.org.get()))
        .one(txn)
        .await?
        .map(MileageReading::from)
    else {
        return Err(AppError::NotFound);
    };
    reading::Entity::delete_by_id(id).exec(txn).await?;
    audit::record_change(txn, actor, ("mileage_reading", id), Some(&before), None::<&MileageReading>).await?;
    let today = organizations::today(txn, actor.org).await?;
    maintenance::refresh(txn, actor.org, &[before.vehicle_id], today).await.map(|_| ())
}

/// Whether the vehicle already has an intervention of that day whose
/// description begins with `work` (an import's row recorded before, whatever
/// notes were added under it: not recorded twice).
pub async fn has_intervention_like(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_id: i64,
    performed_on: NaiveDate,
    work: &str,
) -> AppResult<bool> {
    use sea_orm::QuerySelect;
    let work = work.replace("\r\n", "\n");
    let that_day: Vec<String> = intervention::Entity::find()
        .select_only()
        .column(intervention::Column::Description)
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::VehicleId.eq(vehicle_id))
        .filter(intervention::Column::PerformedOn.eq(performed_on))
        .limit(200)
        .into_tuple()
        .all(db)
        .await?;
    Ok(that_day.iter().any(|d| *d == work || d.strip_prefix(work.as_str()).is_some_and(|rest| rest.starts_with('\n'))))
}

/// Whether the vehicle already has this reading on that day.
pub async fn has_reading(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_id: i64,
    read_on: NaiveDate,
    mileage_km: i64,
) -> AppResult<bool> {
    use sea_orm::PaginatorTrait;
    Ok(reading::Entity::find()
        .filter(reading::Column::OrganizationId.eq(org.get()))
        .filter(reading::Column::VehicleId.eq(vehicle_id))
        .filter(reading::Column::ReadOn.eq(read_on))
        .filter(reading::Column::MileageKm.eq(mileage_km))
        .count(db)
        .await?
        > 0)
}

/// Whether the vehicle has a history here: interventions, readings, or service dates.
pub async fn has_history(db: &impl ConnectionTrait, org: OrgId, vehicle_id: i64) -> AppResult<bool> {
    use sea_orm::PaginatorTrait;
    let interventions = intervention::Entity::find()
        .filter(intervention::Column::OrganizationId.eq(org.get()))
        .filter(intervention::Column::VehicleId.eq(vehicle_id))
        .count(db)
        .await?;
    let readings = reading::Entity::find()
        .filter(reading::Column::OrganizationId.eq(org.get()))
        .filter(reading::Column::VehicleId.eq(vehicle_id))
        .count(db)
        .await?;
    let info = service_info::Entity::find_by_id(vehicle_id).count(db).await?;
    Ok(interventions + readings + info > 0)
}
