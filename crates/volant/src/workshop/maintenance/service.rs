//! Maintenance: the rules (built-in defaults, the organization's changes, each
//! vehicle's overrides), where each vehicle stands, and the alerts they raise.
//!
//! Alerts are computed by [`refresh`] — when a reading or an intervention is
//! recorded, and by the hourly [`refresh_all`] (each organization's whole fleet
//! once a day, the vehicles changed since in the other hours) — one per rule occurrence (the unique
//! index makes re-runs harmless). An alert whose rule has since been carried out
//! resolves itself.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{alert, refresh_state, rule};
use super::rules::{self, Due, FIRST_OCCURRENCE, Facts, LastDone, Pace, Rule, Urgency};
use crate::fleet::vehicles::service::{self as vehicles, Vehicle};
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::notify::{self, Event, Notice};
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;
use crate::workshop::clients::service as clients;
use crate::workshop::history::service as history;

// ---------------------------------------------------------------- rules

fn to_rule(m: &rule::Model) -> Rule {
    Rule {
        kind: m.kind.clone(),
        name: m.name.clone(),
        interval_km: m.interval_km,
        interval_months: m.interval_months,
        first_after_months: m.first_after_months,
        due_on: m.due_on,
        due_km: m.due_km,
        active: m.active,
    }
}

/// Overlays `changes` on `base` by kind (a change replaces the rule of its kind).
fn overlay(mut base: Vec<Rule>, changes: impl IntoIterator<Item = Rule>) -> Vec<Rule> {
    for change in changes {
        match base.iter_mut().find(|r| r.kind == change.kind) {
            Some(existing) => *existing = change,
            None => base.push(change),
        }
    }
    base
}

async fn organization_rows(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<rule::Model>> {
    Ok(rule::Entity::find()
        .filter(rule::Column::OrganizationId.eq(org.get()))
        .filter(rule::Column::VehicleId.is_null())
        .order_by_asc(rule::Column::Id)
        .all(db)
        .await?)
}

/// The organization's rules: the built-in ones as it has changed them, and its own.
pub async fn organization_rules(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<Rule>> {
    let rows = organization_rows(db, org).await?;
    Ok(overlay(rules::builtin_rules(), rows.iter().map(to_rule)))
}

/// A rule as it applies to a vehicle, and whether the vehicle overrides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VehicleRule {
    #[serde(flatten)]
    pub rule: Rule,
    pub overridden: bool,
}

pub async fn vehicle_rules(db: &impl ConnectionTrait, org: OrgId, vehicle_id: i64) -> AppResult<Vec<VehicleRule>> {
    vehicles::get(db, org, vehicle_id).await?;
    let defaults = organization_rules(db, org).await?;
    let own = vehicle_rows(db, org, &[vehicle_id]).await?;
    let kinds: HashSet<String> = own.iter().map(|r| r.kind.clone()).collect();
    Ok(overlay(defaults, own.iter().map(to_rule))
        .into_iter()
        .map(|rule| VehicleRule { overridden: kinds.contains(&rule.kind), rule })
        .collect())
}

async fn vehicle_rows(db: &impl ConnectionTrait, org: OrgId, vehicle_ids: &[i64]) -> AppResult<Vec<rule::Model>> {
    if vehicle_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(rule::Entity::find()
        .filter(rule::Column::OrganizationId.eq(org.get()))
        .filter(rule::Column::VehicleId.is_in(vehicle_ids.iter().copied()))
        .order_by_asc(rule::Column::Id)
        .all(db)
        .await?)
}

const BUILTIN_KINDS: [&str; 5] = ["oil_service", "inspection", "insurance", "tyres", "brakes"];

fn validate_rule(input: &Rule) -> AppResult<Rule> {
    let mut v = Validator::new();
    let kind = input.kind.trim().to_owned();
    let custom = kind.strip_prefix("custom_").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 30
            && rest.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    });
    if !BUILTIN_KINDS.contains(&kind.as_str()) && !custom {
        v.add("kind", Msg::new("maintenance.kind_invalid"));
    }
    let name = v.required_text("name", Some(&input.name), 120);
    for (field, value) in [("interval_months", input.interval_months), ("first_after_months", input.first_after_months)]
    {
        if value.is_some_and(|m| !(1..=240).contains(&m)) {
            v.add(field, Msg::new("maintenance.months_invalid"));
        }
    }
    for (field, value) in [("interval_km", input.interval_km), ("due_km", input.due_km)] {
        if value.is_some_and(|km| !(1..=10_000_000).contains(&km)) {
            v.add(field, Msg::new("maintenance.km_invalid"));
        }
    }
    let has_schedule = input.interval_km.is_some()
        || input.interval_months.is_some()
        || input.due_on.is_some()
        || input.due_km.is_some()
        || kind == "insurance";
    if input.active && !has_schedule {
        v.add("interval_km", Msg::new("maintenance.needs_schedule"));
    }
    v.finish()?;
    Ok(Rule { kind, name: name.unwrap_or_default(), ..input.clone() })
}

/// Sets an organization default (`vehicle_id` `None`) or a vehicle's override, then
/// refreshes the alerts of the vehicles concerned.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn set_rule<C: Writer>(db: &C, actor: &Actor, vehicle_id: Option<i64>, input: &Rule) -> AppResult<Rule> {
    let valid = validate_rule(input)?;
    if let Some(id) = vehicle_id {
        vehicles::get(db, actor.org, id).await?;
    }
    let today = organizations::today(db, actor.org).await?;
    db::write(db, async |txn| {
        let scope = |q: sea_orm::UpdateMany<rule::Entity>| {
            let q = q
                .filter(rule::Column::OrganizationId.eq(actor.org.get()))
                .filter(rule::Column::Kind.eq(valid.kind.clone()));
            match vehicle_id {
                Some(id) => q.filter(rule::Column::VehicleId.eq(id)),
                None => q.filter(rule::Column::VehicleId.is_null()),
            }
        };
        let updated = scope(rule::Entity::update_many())
            .col_expr(rule::Column::Name, Expr::value(valid.name.clone()))
            .col_expr(rule::Column::IntervalKm, Expr::value(valid.interval_km))
            .col_expr(rule::Column::IntervalMonths, Expr::value(valid.interval_months))
            .col_expr(rule::Column::FirstAfterMonths, Expr::value(valid.first_after_months))
            .col_expr(rule::Column::DueOn, Expr::value(valid.due_on))
            .col_expr(rule::Column::DueKm, Expr::value(valid.due_km))
            .col_expr(rule::Column::Active, Expr::value(valid.active))
            .col_expr(rule::Column::UpdatedAt, Expr::value(Utc::now()))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            let inserted = rule::ActiveModel {
                organization_id: Set(actor.org.get()),
                vehicle_id: Set(vehicle_id),
                kind: Set(valid.kind.clone()),
                name: Set(valid.name.clone()),
                interval_km: Set(valid.interval_km),
                interval_months: Set(valid.interval_months),
                first_after_months: Set(valid.first_after_months),
                due_on: Set(valid.due_on),
                due_km: Set(valid.due_km),
                active: Set(valid.active),
                updated_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(txn)
            .await;
            inserted.map_err(|err| {
                AppError::conflict("rule_changed", Msg::new("maintenance.rule_changed"))
                    .if_refused(err, Constraint::any)
            })?;
        }
        // Recorded against the vehicle it overrides, or the organization it configures.
        let entity = match vehicle_id {
            Some(id) => ("vehicle_maintenance_rule", id),
            None => ("maintenance_rule", actor.org.get()),
        };
        audit::record_change(txn, actor, entity, None, Some(&valid)).await?;
        match vehicle_id {
            Some(id) => refresh(txn, actor.org, &[id], today).await.map(|_| ())?,
            None => rules_changed(txn, actor.org).await?,
        }
        Ok(valid)
    })
    .await
}

/// Removes a vehicle's override: the organization's rule applies again.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn reset_vehicle_rule<C: Writer>(db: &C, actor: &Actor, vehicle_id: i64, kind: &str) -> AppResult<()> {
    if !rules::is_kind_code(kind) {
        return Err(AppError::NotFound);
    }
    vehicles::get(db, actor.org, vehicle_id).await?;
    db::write(db, async |txn| {
        let deleted = rule::Entity::delete_many()
            .filter(rule::Column::OrganizationId.eq(actor.org.get()))
            .filter(rule::Column::VehicleId.eq(vehicle_id))
            .filter(rule::Column::Kind.eq(kind))
            .exec(txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::NotFound);
        }
        audit::record_change(txn, actor, ("vehicle_maintenance_rule", vehicle_id), Some(&kind), None::<&&str>).await?;
        refresh(txn, actor.org, &[vehicle_id], organizations::today(txn, actor.org).await?).await?;
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------- where vehicles stand

/// What the computation needs about a batch of vehicles, loaded in a few queries.
struct Batch {
    vehicles: Vec<Vehicle>,
    facts: HashMap<i64, Facts>,
    last: HashMap<(i64, String), (NaiveDate, Option<i64>)>,
    rules: HashMap<i64, Vec<Rule>>,
}

async fn load_batch(db: &impl ConnectionTrait, org: OrgId, vehicle_ids: &[i64]) -> AppResult<Batch> {
    let vehicles = vehicles::get_many(db, org, vehicle_ids).await?;
    let info = history::service_info_of(db, org, vehicle_ids).await?;
    let readings = history::readings_of(db, org, vehicle_ids).await?;
    let last = history::last_services(db, org, vehicle_ids).await?;
    let defaults = organization_rules(db, org).await?;
    let mut overrides: HashMap<i64, Vec<Rule>> = HashMap::new();
    for row in vehicle_rows(db, org, vehicle_ids).await? {
        if let Some(id) = row.vehicle_id {
            overrides.entry(id).or_default().push(to_rule(&row));
        }
    }
    let mut by_vehicle: HashMap<i64, Vec<(NaiveDate, i64, bool)>> = HashMap::new();
    for r in readings {
        by_vehicle.entry(r.vehicle_id).or_default().push((r.read_on, r.mileage_km, r.is_correction));
    }
    let mut facts = HashMap::new();
    let mut rules = HashMap::new();
    for v in &vehicles {
        let readings = by_vehicle.remove(&v.id).unwrap_or_default();
        // The pace counts from the last odometer correction.
        let since = readings.iter().rposition(|(_, _, correction)| *correction).unwrap_or(0);
        let counted = &readings[since..];
        let pace = match (counted.first(), counted.last()) {
            (Some(first), Some(last)) => Pace::from_readings((first.0, first.1), (last.0, last.1)),
            _ => None,
        };
        let info = info.get(&v.id).cloned().unwrap_or_default();
        facts.insert(
            v.id,
            Facts {
                first_registration: info.first_registration,
                insurance_expiry: info.insurance_expiry,
                current_km: readings.last().map(|r| r.1).or(v.mileage_km),
                pace,
            },
        );
        rules.insert(v.id, overlay(defaults.clone(), overrides.remove(&v.id).unwrap_or_default()));
    }
    Ok(Batch { vehicles, facts, last, rules })
}

impl Batch {
    /// Each rule of each vehicle with its next due point.
    fn dues(&self, today: NaiveDate) -> Vec<(i64, &Rule, Option<LastDone>, Option<Due>)> {
        let mut out = Vec::new();
        for v in &self.vehicles {
            let facts = self.facts.get(&v.id).copied().unwrap_or_default();
            for rule in self.rules.get(&v.id).into_iter().flatten() {
                let last = self.last.get(&(v.id, rule.kind.clone())).map(|(on, km)| LastDone { on: *on, km: *km });
                out.push((v.id, rule, last, rules::next_due(rule, &facts, last, today)));
            }
        }
        out
    }
}

/// Where a rule stands on a vehicle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RuleStatus {
    pub kind: String,
    pub name: String,
    pub last_done_on: Option<NaiveDate>,
    pub last_done_km: Option<i64>,
    pub next: Option<Due>,
    pub urgency: Option<Urgency>,
}

/// The vehicle's maintenance at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VehicleMaintenance {
    pub vehicle_id: i64,
    pub current_km: Option<i64>,
    /// Average kilometres per day from the readings, if enough are known.
    pub km_per_day: Option<i64>,
    pub first_registration: Option<NaiveDate>,
    pub insurance_expiry: Option<NaiveDate>,
    pub rules: Vec<RuleStatus>,
}

pub async fn vehicle_status(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_id: i64,
    today: NaiveDate,
) -> AppResult<VehicleMaintenance> {
    vehicles::get(db, org, vehicle_id).await?;
    let batch = load_batch(db, org, &[vehicle_id]).await?;
    let facts = batch.facts.get(&vehicle_id).copied().unwrap_or_default();
    let rules = batch
        .dues(today)
        .into_iter()
        .filter(|(_, rule, _, _)| rule.active)
        .map(|(_, rule, last, due)| RuleStatus {
            kind: rule.kind.clone(),
            name: rule.name.clone(),
            last_done_on: last.map(|l| l.on),
            last_done_km: last.and_then(|l| l.km),
            urgency: due.as_ref().map(|d| rules::urgency(d, today, facts.current_km)),
            next: due,
        })
        .collect();
    Ok(VehicleMaintenance {
        vehicle_id,
        current_km: facts.current_km,
        km_per_day: facts.pace.map(|p| p.km / p.days.max(1)),
        first_registration: facts.first_registration,
        insurance_expiry: facts.insurance_expiry,
        rules,
    })
}

// ---------------------------------------------------------------- alerts

string_enum! {
    // open → acknowledged → resolved, or snoozed until a date.
    #[derive(ToSchema)]
    pub enum AlertStatus (labels "alert.status.") {
        Open,
        Acknowledged,
        Snoozed,
        Resolved,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    pub vehicle_id: i64,
    pub kind: String,
    /// Expected due date: the rule's date, or when its mileage should be reached.
    pub due_on: Option<NaiveDate>,
    pub due_km: Option<i64>,
    pub status: AlertStatus,
    pub snoozed_until: Option<NaiveDate>,
    /// Past due with no service of this kind on record here: the due point was
    /// counted from the vehicle's registration (or from zero km), so it says "check
    /// with the owner", not "overdue since 2015".
    pub to_check: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub resolved_at: Option<chrono::DateTime<Utc>>,
}

impl Alert {
    fn from_row(m: alert::Model, today: NaiveDate) -> Self {
        Self {
            to_check: m.occurrence == FIRST_OCCURRENCE && m.due_on.is_some_and(|d| d <= today),
            id: m.id,
            vehicle_id: m.vehicle_id,
            kind: m.kind,
            due_on: m.due_on,
            due_km: m.due_km,
            status: m.status,
            snoozed_until: m.snoozed_until,
            created_at: m.created_at,
            resolved_at: m.resolved_at,
        }
    }
}

/// An alert just raised (to notify).
#[derive(Debug, Clone)]
pub struct RaisedAlert {
    /// The alert, when a person asks for a reminder of it (a newly raised one is
    /// told of at once, without a cooldown).
    pub id: Option<i64>,
    pub vehicle_id: i64,
    pub kind: String,
    pub name: String,
    pub due_on: Option<NaiveDate>,
    pub due_km: Option<i64>,
}

/// Recomputes the alerts of these vehicles (one organization's) as of `today`, in
/// the caller's transaction: raises the due ones (once per occurrence), resolves
/// those whose rule has been carried out since, wakes snoozed ones whose date has
/// come, and queues a reminder to consenting owners for each new alert.
pub async fn refresh(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_ids: &[i64],
    today: NaiveDate,
) -> AppResult<Vec<RaisedAlert>> {
    if vehicle_ids.is_empty() {
        return Ok(Vec::new());
    }
    let batch = load_batch(db, org, vehicle_ids).await?;
    let existing = alert::Entity::find()
        .filter(alert::Column::OrganizationId.eq(org.get()))
        .filter(alert::Column::VehicleId.is_in(vehicle_ids.iter().copied()))
        .all(db)
        .await?;
    let known: HashMap<(i64, String, String), alert::Model> =
        existing.into_iter().map(|a| ((a.vehicle_id, a.kind.clone(), a.occurrence.clone()), a)).collect();
    let mut current: HashSet<(i64, String, String)> = HashSet::new();
    let mut raised = Vec::new();
    let now = Utc::now();
    for (vehicle_id, rule, _, due) in batch.dues(today) {
        let Some(due) = due else { continue };
        let key = (vehicle_id, rule.kind.clone(), due.occurrence.clone());
        current.insert(key.clone());
        let current_km = batch.facts.get(&vehicle_id).and_then(|f| f.current_km);
        if rules::urgency(&due, today, current_km) == Urgency::Later {
            continue;
        }
        let due_on =
            due.date().or_else(|| (rules::urgency(&due, today, current_km) == Urgency::Overdue).then_some(today));
        match known.get(&key) {
            Some(existing) => move_earlier(db, existing, due_on, now).await?,
            None => raised.extend(raise(db, org, vehicle_id, rule, &due, due_on, now).await?),
        }
    }
    resolve_stale(db, &known, &current, now).await?;
    wake_snoozed(db, org, vehicle_ids, today, now).await?;
    notify_owners(db, org, &batch.vehicles, &raised).await?;
    let told = !raised.is_empty()
        && crate::notify::webhooks::wants(db, org, crate::notify::webhooks::WebhookEvent::AlertRaised).await?;
    for alert in raised.iter().filter(|_| told) {
        // A new alert's row is the newest of its vehicle and kind (its id is not
        // carried: `None` marks it as new for the reminders).
        let id = match alert.id {
            Some(id) => Some(id),
            None => alert::Entity::find()
                .filter(alert::Column::OrganizationId.eq(org.get()))
                .filter(alert::Column::VehicleId.eq(alert.vehicle_id))
                .filter(alert::Column::Kind.eq(alert.kind.as_str()))
                .order_by_desc(alert::Column::Id)
                .one(db)
                .await?
                .map(|a| a.id),
        };
        let data = serde_json::json!({
            "alert_id": id,
            "vehicle_id": alert.vehicle_id,
            "kind": alert.kind,
            "name": alert.name,
            "due_on": alert.due_on,
            "due_km": alert.due_km,
        });
        crate::notify::webhooks::emit(db, org, crate::notify::webhooks::WebhookEvent::AlertRaised, data).await?;
    }
    Ok(raised)
}

/// The expected date of an alert only moves earlier within an occurrence.
async fn move_earlier(
    db: &impl ConnectionTrait,
    existing: &alert::Model,
    due_on: Option<NaiveDate>,
    now: chrono::DateTime<Utc>,
) -> AppResult<()> {
    let earlier = match (existing.due_on, due_on) {
        (Some(old), Some(new)) => new < old,
        (None, Some(_)) => true,
        _ => false,
    };
    if earlier && existing.status != AlertStatus::Resolved {
        alert::Entity::update_many()
            .col_expr(alert::Column::DueOn, Expr::value(due_on))
            .col_expr(alert::Column::UpdatedAt, Expr::value(now))
            .filter(alert::Column::Id.eq(existing.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Opens the alert of this occurrence, unless a concurrent run just did.
async fn raise(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_id: i64,
    rule: &Rule,
    due: &Due,
    due_on: Option<NaiveDate>,
    now: chrono::DateTime<Utc>,
) -> AppResult<Option<RaisedAlert>> {
    let inserted = alert::Entity::insert(alert::ActiveModel {
        organization_id: Set(org.get()),
        vehicle_id: Set(vehicle_id),
        kind: Set(rule.kind.clone()),
        occurrence: Set(due.occurrence.clone()),
        due_on: Set(due_on),
        due_km: Set(due.due_km),
        status: Set(AlertStatus::Open),
        snoozed_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        resolved_at: Set(None),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([alert::Column::VehicleId, alert::Column::Kind, alert::Column::Occurrence])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok((inserted > 0).then(|| RaisedAlert {
        id: None,
        vehicle_id,
        kind: rule.kind.clone(),
        name: rule.name.clone(),
        due_on,
        due_km: due.due_km,
    }))
}

/// Alerts of an occurrence that is no longer the current one were dealt with.
async fn resolve_stale(
    db: &impl ConnectionTrait,
    known: &HashMap<(i64, String, String), alert::Model>,
    current: &HashSet<(i64, String, String)>,
    now: chrono::DateTime<Utc>,
) -> AppResult<()> {
    let stale: Vec<i64> = known
        .iter()
        .filter(|(key, a)| a.status != AlertStatus::Resolved && !current.contains(*key))
        .map(|(_, a)| a.id)
        .collect();
    if !stale.is_empty() {
        alert::Entity::update_many()
            .col_expr(alert::Column::Status, Expr::value(AlertStatus::Resolved))
            .col_expr(alert::Column::ResolvedAt, Expr::value(now))
            .col_expr(alert::Column::UpdatedAt, Expr::value(now))
            .filter(alert::Column::Id.is_in(stale))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Snoozed alerts whose date has come are open again.
async fn wake_snoozed(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_ids: &[i64],
    today: NaiveDate,
    now: chrono::DateTime<Utc>,
) -> AppResult<()> {
    alert::Entity::update_many()
        .col_expr(alert::Column::Status, Expr::value(AlertStatus::Open))
        .col_expr(alert::Column::SnoozedUntil, Expr::value(None::<NaiveDate>))
        .col_expr(alert::Column::UpdatedAt, Expr::value(now))
        .filter(alert::Column::OrganizationId.eq(org.get()))
        .filter(alert::Column::VehicleId.is_in(vehicle_ids.iter().copied()))
        .filter(alert::Column::Status.eq(AlertStatus::Snoozed))
        .filter(alert::Column::SnoozedUntil.lte(today))
        .exec(db)
        .await?;
    Ok(())
}

string_enum! {
    // Why a vehicle's owner was not sent a maintenance reminder.
    #[derive(ToSchema)]
    pub enum ReminderSkip (labels "alerts.skip.") {
        /// The vehicle has no current owner on record.
        NoOwner,
        /// The owner has no e-mail address.
        NoEmail,
        /// The owner has not accepted service e-mails.
        NoConsent,
        /// The alert is resolved: nothing to remind.
        Resolved,
        /// The owner was reminded of it less than a day ago.
        RecentlyReminded,
    }
}

/// How long after a reminder the same alert's owner is not reminded again.
pub const REMINDER_COOLDOWN: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// What became of a reminder asked for an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OwnerReminder {
    pub alert_id: i64,
    pub vehicle_id: i64,
    /// An e-mail was queued to the owner (one per vehicle, listing its alerts).
    pub emailed: bool,
    pub skipped: Option<ReminderSkip>,
}

/// Sends each vehicle's owner one reminder of these alerts (the organization's),
/// asked by a person: says for each alert whether its owner was e-mailed, or why not.
/// An unknown id is a 404 for the whole request.
pub async fn remind_owners<C: Writer>(db: &C, actor: &Actor, ids: &[i64]) -> AppResult<Vec<OwnerReminder>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let rows = tenant::scoped::<alert::Entity>(actor.org)
        .filter(alert::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(alert::Column::Id)
        .all(db)
        .await?;
    if rows.len() != ids.len() {
        return Err(AppError::NotFound);
    }
    let names: HashMap<String, String> =
        organization_rules(db, actor.org).await?.into_iter().map(|r| (r.kind, r.name)).collect();
    let raised: Vec<RaisedAlert> = rows
        .iter()
        .filter(|a| a.status != AlertStatus::Resolved)
        .map(|a| RaisedAlert {
            id: Some(a.id),
            vehicle_id: a.vehicle_id,
            name: names.get(&a.kind).cloned().unwrap_or_else(|| a.kind.clone()),
            kind: a.kind.clone(),
            due_on: a.due_on,
            due_km: a.due_km,
        })
        .collect();
    let vehicle_ids: Vec<i64> = raised.iter().map(|a| a.vehicle_id).collect();
    let vehicles = vehicles::get_many(db, actor.org, &vehicle_ids).await?;
    let org = actor.org;
    let outcome = db::write(db, async |txn| notify_owners(txn, org, &vehicles, &raised).await).await?;
    Ok(rows
        .into_iter()
        .map(|a| {
            let skipped = if a.status == AlertStatus::Resolved {
                Some(ReminderSkip::Resolved)
            } else {
                outcome.get(&a.vehicle_id).copied().flatten()
            };
            OwnerReminder { alert_id: a.id, vehicle_id: a.vehicle_id, emailed: skipped.is_none(), skipped }
        })
        .collect())
}

/// Marks these alerts reminded now, unless they all were within the cooldown:
/// whether a reminder may go. A conditional UPDATE, so that two requests at once
/// send one e-mail. Alerts just raised (no id) always may.
async fn claim_reminder(db: &impl ConnectionTrait, org: OrgId, alerts: &[&RaisedAlert]) -> AppResult<bool> {
    let ids: Vec<i64> = alerts.iter().filter_map(|a| a.id).collect();
    if ids.is_empty() {
        return Ok(true);
    }
    let now = Utc::now();
    let recent = now - REMINDER_COOLDOWN;
    let claimed = alert::Entity::update_many()
        .col_expr(alert::Column::RemindedAt, Expr::value(now))
        .filter(alert::Column::OrganizationId.eq(org.get()))
        .filter(alert::Column::Id.is_in(ids))
        .filter(Condition::any().add(alert::Column::RemindedAt.is_null()).add(alert::Column::RemindedAt.lt(recent)))
        .exec(db)
        .await?
        .rows_affected;
    Ok(claimed > 0)
}

/// A reminder e-mail to each vehicle's owner who accepts service e-mails; by
/// vehicle, `None` when its owner was e-mailed, else why not.
async fn notify_owners(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicles: &[Vehicle],
    raised: &[RaisedAlert],
) -> AppResult<HashMap<i64, Option<ReminderSkip>>> {
    let mut outcome = HashMap::new();
    if raised.is_empty() {
        return Ok(outcome);
    }
    let organization = crate::identity::organizations::service::get(db, org).await?;
    let locale = organization.locale;
    let mut by_vehicle: HashMap<i64, Vec<&RaisedAlert>> = HashMap::new();
    for alert in raised {
        by_vehicle.entry(alert.vehicle_id).or_default().push(alert);
    }
    let ids: Vec<i64> = by_vehicle.keys().copied().collect();
    let mut owners = clients::current_owners(db, org, &ids).await?;
    for (vehicle_id, alerts) in by_vehicle {
        let skip = match owners.remove(&vehicle_id) {
            None => Some(ReminderSkip::NoOwner),
            Some(owner) => match owner.email.clone() {
                None => Some(ReminderSkip::NoEmail),
                Some(_) if !owner.consent_notifications => Some(ReminderSkip::NoConsent),
                Some(_) if !claim_reminder(db, org, &alerts).await? => Some(ReminderSkip::RecentlyReminded),
                Some(email) => {
                    let plate = vehicles
                        .iter()
                        .find(|v| v.id == vehicle_id)
                        .map(|v| v.license_plate.clone())
                        .unwrap_or_default();
                    let items: Vec<String> = alerts
                        .iter()
                        .map(|a| {
                            let when = match (a.due_on, a.due_km) {
                                (Some(on), _) => locale.format("alert.email_due_on", &[("date", &locale.date(on))]),
                                (None, Some(km)) => locale.format("alert.email_due_km", &[("km", &km.to_string())]),
                                (None, None) => String::new(),
                            };
                            format!("- {} {when}", a.name)
                        })
                        .collect();
                    let body = locale
                        .format(
                            "alert.email_body",
                            &[
                                ("client", &owner.name),
                                ("plate", &plate),
                                ("items", &items.join("\n")),
                                ("organization", &organization.name),
                            ],
                        )
                        .replace("\\n", "\n");
                    let subject = locale
                        .format("alert.email_subject", &[("plate", &plate), ("organization", &organization.name)]);
                    notify::send(db, org, Notice::new(Event::AlertRaised, subject, body).email(Some(email))).await?;
                    None
                }
            },
        };
        outcome.insert(vehicle_id, skip);
    }
    Ok(outcome)
}

/// The digest to the organization's managers and administrators: how many
/// alerts were raised, and where to see them (in-app and e-mail).
async fn notify_managers(db: &impl ConnectionTrait, org: OrgId, raised: usize, today: NaiveDate) -> AppResult<()> {
    use crate::identity::roles::Role;
    let organization = crate::identity::organizations::service::get(db, org).await?;
    let locale = organization.locale;
    let counts = counts_by_kind(db, org, None, today).await?;
    let overdue: i64 = counts.iter().map(|c| c.overdue).sum();
    let open: i64 = counts.iter().map(|c| c.open).sum();
    let subject =
        locale.format("alert.digest_subject", &[("count", &raised.to_string()), ("organization", &organization.name)]);
    let body = locale
        .format(
            "alert.digest_body",
            &[("count", &raised.to_string()), ("open", &open.to_string()), ("overdue", &overdue.to_string())],
        )
        .replace("\\n", "\n");
    for (user, email) in crate::identity::users::service::with_roles(db, org, &[Role::Admin, Role::Manager]).await? {
        let notice = Notice::new(Event::AlertRaised, subject.clone(), body.clone())
            .user(Some(user))
            .email(Some(email))
            .link("/alerts");
        notify::send(db, org, notice).await?;
    }
    Ok(())
}

/// Vehicles per transaction in the hourly run.
const REFRESH_BATCH: u64 = 500;

/// The vehicles changed this long before the last run started are walked again,
/// so that a change whose transaction committed while that run was reading the
/// fleet is not missed.
const CHANGE_MARGIN: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// What an hourly run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshRun {
    /// Vehicles whose alerts were recomputed.
    pub vehicles: u64,
    /// Alerts raised.
    pub raised: u64,
}

/// The hourly run over every organization, each in its own day (Paris is a day
/// ahead of UTC an hour each night, Montréal behind it five): the whole fleet on
/// the first run of the organization's day or after its rules changed, otherwise
/// only the vehicles changed since its last run (readings, interventions and a
/// vehicle's own rules refresh their vehicle as they are recorded). Each batch is
/// its own short transaction; the managers get a digest of what was raised.
#[tracing::instrument(skip_all, err)]
pub async fn refresh_all<C: Writer>(db: &C, at: chrono::DateTime<Utc>) -> AppResult<RefreshRun> {
    let mut run = RefreshRun::default();
    for (org, zone) in organizations::zones(db).await? {
        // One organization's failure (a damaged row, a lost connection) leaves the others' runs alone.
        match refresh_organization(db, org, zone, at).await {
            Ok(done) => {
                run.vehicles += done.vehicles;
                run.raised += done.raised;
            }
            Err(err) => tracing::warn!(organization = org.get(), error = %err, "maintenance refresh failed"),
        }
    }
    if run.raised > 0 {
        tracing::info!(vehicles = run.vehicles, raised = run.raised, "maintenance alerts raised");
    }
    Ok(run)
}

async fn refresh_organization<C: Writer>(
    db: &C,
    org: OrgId,
    zone: AppResult<chrono_tz::Tz>,
    at: chrono::DateTime<Utc>,
) -> AppResult<RefreshRun> {
    let today = at.with_timezone(&zone?).date_naive();
    let started = Utc::now();
    let state = refresh_state::Entity::find_by_id(org.get()).one(db).await?;
    // A rule change stamped just before the last run began may have committed
    // after it read its rules: the same margin as for vehicles.
    let changed_since = state.and_then(|s| {
        let checked = s.checked_at?;
        let rules_kept = s.rules_changed_at.is_none_or(|changed| changed < checked - CHANGE_MARGIN);
        (s.refreshed_on == Some(today) && rules_kept).then(|| checked - CHANGE_MARGIN)
    });
    let mut run = RefreshRun::default();
    let mut after = 0;
    loop {
        let ids = vehicles::ids_page(db, org, after, REFRESH_BATCH, changed_since).await?;
        let Some(&last) = ids.last() else { break };
        after = last;
        run.vehicles += ids.len() as u64;
        run.raised += db::write(db, async |txn| refresh(txn, org, &ids, today).await).await?.len() as u64;
    }
    let walked_on = changed_since.is_none().then_some(today);
    db::write(db, async |txn| record_run(txn, org, walked_on, started).await).await?;
    if run.raised > 0 {
        let raised = usize::try_from(run.raised).unwrap_or(usize::MAX);
        db::write(db, async |txn| notify_managers(txn, org, raised, today).await).await?;
    }
    Ok(run)
}

/// Remembers a run that started at `started` (and walked the whole fleet for
/// `walked_on`, when it did).
async fn record_run(
    db: &impl ConnectionTrait,
    org: OrgId,
    walked_on: Option<NaiveDate>,
    started: chrono::DateTime<Utc>,
) -> AppResult<()> {
    let mut columns = vec![refresh_state::Column::CheckedAt];
    columns.extend(walked_on.map(|_| refresh_state::Column::RefreshedOn));
    refresh_state::Entity::insert(refresh_state::ActiveModel {
        organization_id: Set(org.get()),
        refreshed_on: Set(walked_on),
        checked_at: Set(Some(started)),
        rules_changed_at: Set(None),
    })
    .on_conflict(OnConflict::column(refresh_state::Column::OrganizationId).update_columns(columns).to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The organization's rules changed: its next hourly run walks the whole fleet.
async fn rules_changed(db: &impl ConnectionTrait, org: OrgId) -> AppResult<()> {
    refresh_state::Entity::insert(refresh_state::ActiveModel {
        organization_id: Set(org.get()),
        refreshed_on: Set(None),
        checked_at: Set(None),
        rules_changed_at: Set(Some(Utc::now())),
    })
    .on_conflict(
        OnConflict::column(refresh_state::Column::OrganizationId)
            .update_column(refresh_state::Column::RulesChangedAt)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub kind: Option<String>,
    pub garage_id: Option<i64>,
    pub vehicle_ids: Option<Vec<i64>>,
    /// Default: every status but resolved.
    pub status: Option<AlertStatus>,
    pub window: Option<Window>,
}

string_enum! {
    // Alerts by how soon they are due.
    #[derive(ToSchema)]
    pub enum Window {
        /// Due date passed, counted from a service on record.
        Overdue,
        /// Not yet due.
        Upcoming,
        /// Past due with no service of this kind on record here (`to_check`).
        ToCheck,
    }
}

/// The sort key of an alert without a due date: after every dated one.
const UNDATED: i64 = i64::MAX;

/// An alert's place in the urgency order: its due date's day number.
fn urgency_key(due_on: Option<NaiveDate>) -> i64 {
    due_on.map_or(UNDATED, |d| i64::from(chrono::Datelike::num_days_from_ce(&d)))
}

/// The organization's alerts.
impl tenant::Owned for alert::Entity {
    const ORGANIZATION_ID: alert::Column = alert::Column::OrganizationId;
    const ID: alert::Column = alert::Column::Id;
}

/// A page of alerts, most urgent first: by due date (the longest overdue first),
/// then those due by mileage only; keyset pages on (due date, id).
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &AlertFilter,
    page: PageRequest,
    today: NaiveDate,
) -> AppResult<Page<Alert>> {
    let mut query = tenant::scoped::<alert::Entity>(org);
    if let Some(after) = page.after {
        let invalid = || AppError::validation("cursor", Msg::new("pagination.cursor_invalid"));
        let key = page.after_key.ok_or_else(invalid)?;
        query = query.filter(if key == UNDATED {
            Condition::all().add(alert::Column::DueOn.is_null()).add(alert::Column::Id.gt(after))
        } else {
            let on = i32::try_from(key).ok().and_then(NaiveDate::from_num_days_from_ce_opt).ok_or_else(invalid)?;
            Condition::any()
                .add(alert::Column::DueOn.gt(on))
                .add(Condition::all().add(alert::Column::DueOn.eq(on)).add(alert::Column::Id.gt(after)))
                .add(alert::Column::DueOn.is_null())
        });
    }
    query = query
        .order_by(alert::Column::DueOn.is_null(), Order::Asc)
        .order_by_asc(alert::Column::DueOn)
        .order_by_asc(alert::Column::Id)
        .limit(page.fetch_limit());
    query = match filter.status {
        Some(status) => query.filter(alert::Column::Status.eq(status)),
        None => query.filter(alert::Column::Status.ne(AlertStatus::Resolved)),
    };
    if let Some(kind) = &filter.kind {
        query = query.filter(alert::Column::Kind.eq(kind.as_str()));
    }
    if let Some(garage_id) = filter.garage_id {
        query = query.filter(alert::Column::VehicleId.in_subquery(vehicles::in_garage(org, garage_id)));
    }
    if let Some(ids) = &filter.vehicle_ids {
        query = query.filter(alert::Column::VehicleId.is_in(ids.iter().copied()));
    }
    match filter.window {
        Some(Window::Overdue) => {
            query =
                query.filter(alert::Column::Occurrence.ne(FIRST_OCCURRENCE)).filter(alert::Column::DueOn.lte(today));
        }
        Some(Window::Upcoming) => {
            query =
                query.filter(Condition::any().add(alert::Column::DueOn.gt(today)).add(alert::Column::DueOn.is_null()));
        }
        Some(Window::ToCheck) => {
            query =
                query.filter(alert::Column::Occurrence.eq(FIRST_OCCURRENCE)).filter(alert::Column::DueOn.lte(today));
        }
        None => {}
    }
    let rows = query.all(db).await?;
    Ok(Page::from_rows_keyed(rows, &page, |a| (a.id, urgency_key(a.due_on))).map(|a| Alert::from_row(a, today)))
}

/// Alerts not resolved, by kind: how many are open, overdue (counted from a
/// service on record) and to check (past due, never done here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub kind: String,
    pub open: i64,
    pub overdue: i64,
    pub to_check: i64,
}

/// Alert counts by kind (for the dashboard and the managers' digest).
pub async fn counts_by_kind(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicles: Option<&sea_orm::sea_query::SelectStatement>,
    today: NaiveDate,
) -> AppResult<Vec<KindCounts>> {
    use sea_orm::ExprTrait;
    use sea_orm::sea_query::{Alias, Func};
    // Counted by the database from the index of unresolved alerts' kinds, due
    // dates and occurrences: a few rows come back, however many alerts there are.
    let count_when = |condition: sea_orm::sea_query::SimpleExpr| {
        Expr::expr(Func::cast_as(Func::sum(Expr::case(condition, 1).finally(0)), Alias::new("BIGINT")))
    };
    let due = || alert::Column::DueOn.lte(today);
    let first = || alert::Column::Occurrence.eq(FIRST_OCCURRENCE);
    let unresolved = [AlertStatus::Open, AlertStatus::Acknowledged, AlertStatus::Snoozed].map(AlertStatus::as_str);
    let mut query = alert::Entity::find()
        .select_only()
        .column(alert::Column::Kind)
        .column_as(Expr::expr(Func::cast_as(Func::count(Expr::col(alert::Column::Kind)), Alias::new("BIGINT"))), "open")
        .column_as(count_when(due().and(first().not())), "overdue")
        .column_as(count_when(due().and(first())), "to_check")
        .filter(alert::Column::OrganizationId.eq(org.get()))
        .filter(alert::Column::Status.is_in(unresolved))
        .group_by(alert::Column::Kind);
    if let Some(vehicles) = vehicles {
        query = query.filter(alert::Column::VehicleId.in_subquery(vehicles.clone()));
    }
    let rows: Vec<(String, i64, i64, i64)> = query.into_tuple().all(db).await?;
    let mut counts: Vec<KindCounts> =
        rows.into_iter().map(|(kind, open, overdue, to_check)| KindCounts { kind, open, overdue, to_check }).collect();
    // In the byte order of the kinds, whatever the database's collation.
    counts.sort_by(|a, b| a.kind.cmp(&b.kind));
    Ok(counts)
}

/// 404 unless every one of these (distinct) ids is one of the organization's alerts:
/// checked before a bulk action changes any of them.
pub async fn ensure_all_exist(db: &impl ConnectionTrait, org: OrgId, ids: &[i64]) -> AppResult<()> {
    use sea_orm::PaginatorTrait;
    let found =
        tenant::scoped::<alert::Entity>(org).filter(alert::Column::Id.is_in(ids.iter().copied())).count(db).await?;
    if found == u64::try_from(ids.len()).unwrap_or(u64::MAX) { Ok(()) } else { Err(AppError::NotFound) }
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Alert> {
    let today = organizations::today(db, org).await?;
    alert::Entity::find()
        .filter(alert::Column::OrganizationId.eq(org.get()))
        .filter(alert::Column::Id.eq(id))
        .one(db)
        .await?
        .map(|a| Alert::from_row(a, today))
        .ok_or(AppError::NotFound)
}

/// What a person does with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "action", try_from = "AlertActionBody")]
pub enum AlertAction {
    Acknowledge,
    Resolve,
    /// Hidden until this date, then open again.
    Snooze {
        until: NaiveDate,
    },
    Reopen,
}

/// An [`AlertAction`] as sent, read as a struct: serde lets an internally tagged
/// enum's unit variants take any other field, and the body reader names unknown
/// fields only in structs.
#[derive(Deserialize)]
struct AlertActionBody {
    action: AlertActionName,
    until: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum AlertActionName {
    Acknowledge,
    Resolve,
    Snooze,
    Reopen,
}

impl TryFrom<AlertActionBody> for AlertAction {
    type Error = &'static str;

    fn try_from(body: AlertActionBody) -> Result<Self, Self::Error> {
        match (body.action, body.until) {
            (AlertActionName::Snooze, Some(until)) => Ok(Self::Snooze { until }),
            (AlertActionName::Snooze, None) => Err("missing field `until`"),
            (_, Some(_)) => Err("unknown field `until`: it goes only with `snooze`"),
            (AlertActionName::Acknowledge, None) => Ok(Self::Acknowledge),
            (AlertActionName::Resolve, None) => Ok(Self::Resolve),
            (AlertActionName::Reopen, None) => Ok(Self::Reopen),
        }
    }
}

/// open → acknowledged → resolved, or snoozed until a date; a resolved alert can
/// be reopened. Illegal moves are 409.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn act<C: Writer>(db: &C, actor: &Actor, id: i64, action: AlertAction) -> AppResult<Alert> {
    let before = get(db, actor.org, id).await?;
    let today = organizations::today(db, actor.org).await?;
    use AlertStatus::{Acknowledged, Open, Resolved, Snoozed};
    let (from, to, snoozed_until): (&[AlertStatus], AlertStatus, Option<NaiveDate>) = match action {
        AlertAction::Acknowledge => (&[Open, Snoozed], Acknowledged, None),
        AlertAction::Resolve => (&[Open, Acknowledged, Snoozed], Resolved, None),
        AlertAction::Snooze { until } => {
            if until <= today {
                return Err(AppError::validation("until", Msg::new("alert.snooze_past")));
            }
            (&[Open, Acknowledged, Snoozed], Snoozed, Some(until))
        }
        AlertAction::Reopen => (&[Resolved, Acknowledged, Snoozed], Open, None),
    };
    let now = Utc::now();
    db::write(db, async |txn| {
        let updated = alert::Entity::update_many()
            .col_expr(alert::Column::Status, Expr::value(to.as_str()))
            .col_expr(alert::Column::SnoozedUntil, Expr::value(snoozed_until))
            .col_expr(alert::Column::ResolvedAt, Expr::value((to == Resolved).then_some(now)))
            .col_expr(alert::Column::UpdatedAt, Expr::value(now))
            .filter(alert::Column::OrganizationId.eq(actor.org.get()))
            .filter(alert::Column::Id.eq(id))
            .filter(alert::Column::Status.is_in(from.iter().map(|s| s.as_str())))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            let locale = crate::platform::i18n::current();
            return Err(AppError::conflict(
                "illegal_transition",
                Msg::new("alert.illegal_transition")
                    .arg("from", locale.text(before.status.label_key()))
                    .arg("to", locale.text(to.label_key())),
            ));
        }
        let after = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, ("maintenance_alert", id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}
