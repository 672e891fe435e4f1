//! Lessons. Booking and moving check every rule inside the write's transaction,
//! after taking a lock on each resource the lesson uses (instructor, vehicle,
//! candidate), so two simultaneous bookings of one slot cannot both win:
//! PostgreSQL serializes them on transaction-scoped advisory locks, SQLite has a
//! single writer at a time.

use crate::notify::webhooks::{self, WebhookEvent};
use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Alias, Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::lesson;
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::notify::{self, Event, Notice};
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::{self, Locale, Msg};
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::school::access::Viewer;
use crate::school::candidates::entity::candidate;
use crate::school::candidates::service as candidates;
use crate::school::cars::service as vehicles;
use crate::school::instructors::service as instructors;
use crate::school::settings::service as settings;
use crate::workshop::maintenance::service::{self as maintenance, AlertFilter};

pub const AUDIT_ENTITY: &str = "lesson";
const MIN_MINUTES: i64 = 15;
const MAX_MINUTES: i64 = 8 * 60;
/// Longest range a planning view may ask for.
const MAX_RANGE_DAYS: i64 = 62;
/// Maintenance whose overdue alert keeps a training car off the road.
pub const SAFETY_KINDS: &[&str] = &["inspection", "insurance", "brakes", "tyres"];

string_enum! {
    // What a lesson is: at the wheel, in the classroom, or a mock exam.
    #[derive(ToSchema)]
    pub enum LessonKind (labels "lesson.kind.") {
        Driving,
        Theory,
        MockExam,
    }
}

impl LessonKind {
    /// Driving and mock exams happen in a car, and count as driving hours.
    pub fn in_car(self) -> bool {
        !matches!(self, Self::Theory)
    }
}

string_enum! {
    // Where a lesson stands: scheduled, then done, cancelled or missed.
    #[derive(ToSchema)]
    pub enum LessonStatus (labels "lesson.status.") {
        Scheduled,
        Done,
        Cancelled,
        NoShow,
    }
}

string_enum! {
    // Who cancelled a lesson: only the candidate's late cancellation is charged.
    #[derive(ToSchema)]
    pub enum CancelledBy (labels "lesson.cancelled_by.") {
        Candidate,
        School,
        Instructor,
        Weather,
    }
}

/// The training car an instructor drove last (the booking form's default).
pub async fn last_car_of(db: &impl ConnectionTrait, org: OrgId, instructor_id: i64) -> AppResult<Option<i64>> {
    Ok(lesson::Entity::find()
        .select_only()
        .column(lesson::Column::VehicleId)
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .filter(lesson::Column::InstructorId.eq(instructor_id))
        .filter(lesson::Column::VehicleId.is_not_null())
        .order_by_desc(lesson::Column::StartsAt)
        .limit(1)
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten())
}

/// Whether this instructor has a lesson (any, cancelled ones aside) with this candidate.
pub async fn have_met(db: &impl ConnectionTrait, org: OrgId, candidate_id: i64, instructor_id: i64) -> AppResult<bool> {
    Ok(lesson::Entity::find()
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .filter(lesson::Column::CandidateId.eq(candidate_id))
        .filter(lesson::Column::InstructorId.eq(instructor_id))
        .filter(lesson::Column::Status.ne(LessonStatus::Cancelled))
        .limit(1)
        .one(db)
        .await?
        .is_some())
}

/// A candidate's driving time, in minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Hours {
    /// Forecast by the initial evaluation.
    pub forecast_minutes: Option<i32>,
    pub bought_minutes: i32,
    pub done_minutes: i32,
    pub scheduled_minutes: i32,
    /// Late cancellations and no-shows: counted as taken.
    pub due_minutes: i32,
    /// Bought minus done minus due (negative: owed to the school).
    pub remaining_minutes: i32,
}

impl Hours {
    pub fn with_bought(mut self, bought: i32, forecast: Option<i32>) -> Self {
        self.bought_minutes = bought;
        self.forecast_minutes = forecast;
        self.remaining_minutes = bought - self.done_minutes - self.due_minutes;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 311, "kind": "driving", "status": "scheduled", "starts_at": "2026-12-07T09:00:00Z",
    "ends_at": "2026-12-07T10:00:00Z", "minutes": 60, "candidate_id": 12, "candidate_name": "Léa Dubois",
    "instructor_id": 3, "instructor_name": "Karim Benali", "vehicle_id": 2, "vehicle_label": "Peugeot 208 — GH-456-JK",
    "meeting_point": "Devant l'agence", "late_cancellation": false, "cancellation_reason": null,
    "cancelled_by": null, "fee_waived": false, "notes": null, "weather_risk": "low"
}))]
pub struct Lesson {
    pub id: i64,
    pub kind: LessonKind,
    pub status: LessonStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub minutes: i32,
    pub candidate_id: i64,
    pub candidate_name: String,
    pub instructor_id: i64,
    pub instructor_name: String,
    pub vehicle_id: Option<i64>,
    pub vehicle_label: Option<String>,
    pub meeting_point: Option<String>,
    /// Cancelled by the candidate inside the notice period, not waived: counted as due.
    pub late_cancellation: bool,
    pub cancellation_reason: Option<String>,
    #[schema(value_type = Option<String>)]
    pub cancelled_by: Option<CancelledBy>,
    /// A late cancellation the school chose not to charge.
    pub fee_waived: bool,
    /// What was worked on (recorded by the instructor).
    pub notes: Option<String>,
    /// The forecast's risk at the meeting point (`low`, `medium`, `high`), for the
    /// coming driving lessons once assessed; details at `/school/lessons/{id}/weather`.
    pub weather_risk: Option<crate::school::weather::service::RiskLevel>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct LessonInput {
    #[schema(required = true, nullable = false)]
    pub candidate_id: Option<i64>,
    #[schema(required = true, nullable = false)]
    pub instructor_id: Option<i64>,
    /// Required for driving lessons and mock exams.
    pub vehicle_id: Option<i64>,
    /// Default `driving`.
    pub kind: Option<LessonKind>,
    #[schema(required = true, nullable = false, value_type = String, example = "2026-11-23T10:00:00+01:00")]
    pub starts_at: Option<DateTime<FixedOffset>>,
    #[schema(required = true, nullable = false, value_type = String, example = "2026-11-23T11:00:00+01:00")]
    pub ends_at: Option<DateTime<FixedOffset>>,
    pub meeting_point: Option<String>,
}

/// Moving a lesson: new times, and optionally another instructor or vehicle.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MoveInput {
    #[schema(required = true, nullable = false, value_type = String)]
    pub starts_at: Option<DateTime<FixedOffset>>,
    #[schema(required = true, nullable = false, value_type = String)]
    pub ends_at: Option<DateTime<FixedOffset>>,
    pub instructor_id: Option<i64>,
    pub vehicle_id: Option<i64>,
    pub meeting_point: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CancelInput {
    pub reason: Option<String>,
    /// `candidate` (the default), `school`, `instructor` or `weather`.
    #[schema(value_type = Option<String>)]
    pub cancelled_by: Option<CancelledBy>,
    /// Do not charge a candidate's late cancellation (recorded in the audit trail).
    pub waive_fee: Option<bool>,
}

/// How a lesson went: `done` (with what was worked on and the progress on the
/// competency grid) or `no_show`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct OutcomeInput {
    #[schema(required = true, nullable = false)]
    pub status: Option<LessonStatus>,
    pub notes: Option<String>,
    #[serde(default)]
    pub progress: Vec<crate::school::candidates::progress::Assessment>,
}

/// A lesson as proposed, with every id resolved.
#[derive(Debug, Clone)]
struct Proposal {
    kind: LessonKind,
    candidate: candidates::CandidateSummary,
    instructor: instructors::Instructor,
    vehicle: Option<vehicles::TrainingVehicle>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    meeting_point: Option<String>,
}

impl Proposal {
    fn minutes(&self) -> i32 {
        i32::try_from((self.ends_at - self.starts_at).num_minutes()).unwrap_or(i32::MAX)
    }
}

/// Lesson times count in whole minutes.
fn to_minute(at: DateTime<FixedOffset>) -> DateTime<Utc> {
    let utc = at.with_timezone(&Utc);
    utc.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(utc)
}

fn check_times(
    v: &mut Validator,
    starts_at: Option<DateTime<FixedOffset>>,
    ends_at: Option<DateTime<FixedOffset>>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let starts_at = v.required("starts_at", starts_at).map(to_minute);
    let ends_at = v.required("ends_at", ends_at).map(to_minute);
    let (starts_at, ends_at) = (starts_at?, ends_at?);
    let minutes = (ends_at - starts_at).num_minutes();
    if !(MIN_MINUTES..=MAX_MINUTES).contains(&minutes) {
        v.add("ends_at", Msg::new("lesson.duration_invalid").arg("min", MIN_MINUTES).arg("max", MAX_MINUTES));
        return None;
    }
    Some((starts_at, ends_at))
}

/// An instant's day in the school's time zone, as `locale` writes days.
fn local_day(locale: Locale, zone: Tz, at: DateTime<Utc>) -> String {
    locale.date(at.with_timezone(&zone).date_naive())
}

/// An instant's time of day in the school's time zone: `14:30`.
fn local_hour(zone: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&zone).format("%H:%M").to_string()
}

/// Resolves a proposal's ids, with a 422 naming each unknown or unfit one.
async fn resolve(
    db: &impl ConnectionTrait,
    org: OrgId,
    kind: LessonKind,
    (candidate_id, instructor_id, vehicle_id): (Option<i64>, Option<i64>, Option<i64>),
    times: Option<(DateTime<Utc>, DateTime<Utc>)>,
    meeting_point: Option<String>,
    mut v: Validator,
) -> AppResult<Proposal> {
    let candidate = match v.required("candidate_id", candidate_id) {
        Some(id) => {
            v.found("candidate_id", candidates::summary_of(db, org, id).await, Msg::new("school.candidate_unknown"))?
        }
        None => None,
    };
    let instructor = match v.required("instructor_id", instructor_id) {
        Some(id) => {
            let found = instructors::get(db, org, id).await;
            let found = v.found("instructor_id", found, Msg::new("school.instructor_unknown"))?;
            active(&mut v, "instructor_id", found, |i| i.active, "school.instructor_inactive")
        }
        None => None,
    };
    let vehicle = match (kind.in_car(), vehicle_id) {
        (true, None) => {
            v.add("vehicle_id", Msg::new("lesson.vehicle_required"));
            None
        }
        (_, Some(id)) => {
            let found = vehicles::get(db, org, id).await;
            let found = v.found("vehicle_id", found, Msg::new("school.vehicle_not_training"))?;
            active(&mut v, "vehicle_id", found, |c| c.active, "school.vehicle_inactive")
        }
        (false, None) => None,
    };
    v.finish()?;
    match (candidate, instructor, times) {
        (Some(candidate), Some(instructor), Some((starts_at, ends_at))) => {
            Ok(Proposal { kind, candidate, instructor, vehicle, starts_at, ends_at, meeting_point })
        }
        _ => Err(AppError::Internal("validator accepted a missing field".into())),
    }
}

/// A lock key in the school's namespace (0x5C in the top byte): a resource class
/// (1 instructor, 2 vehicle, 3 candidate, 4 exam session) and its id.
pub(crate) fn lock_key(class: i64, id: i64) -> i64 {
    (0x5C_i64 << 56) | (class << 48) | (id & 0xFFFF_FFFF_FFFF)
}

/// Takes the booking locks of a lesson's resources until the transaction ends.
/// A found instructor or car that cannot teach (inactive) is a mistake about its field.
fn active<T>(
    v: &mut Validator,
    field: &str,
    found: Option<T>,
    is_active: fn(&T) -> bool,
    inactive: &'static str,
) -> Option<T> {
    let row = found?;
    if is_active(&row) {
        Some(row)
    } else {
        v.add(field, Msg::new(inactive));
        None
    }
}

async fn lock_resources(txn: &DatabaseTransaction, proposal: &Proposal) -> AppResult<()> {
    let mut keys = vec![lock_key(1, proposal.instructor.id), lock_key(3, proposal.candidate.id)];
    if let Some(vehicle) = &proposal.vehicle {
        keys.push(lock_key(2, vehicle.vehicle_id));
    }
    db::lock_keys(txn, keys).await?;
    Ok(())
}

/// The first lesson (not cancelled) of `column = id` overlapping the proposal.
async fn first_overlap(
    db: &impl ConnectionTrait,
    column: lesson::Column,
    id: i64,
    proposal: &Proposal,
    except: Option<i64>,
) -> AppResult<Option<lesson::Model>> {
    let mut query = lesson::Entity::find()
        .filter(column.eq(id))
        // The index walk starts no earlier than the longest lesson before the start.
        .filter(lesson::Column::StartsAt.gt(proposal.starts_at - Duration::minutes(MAX_MINUTES)))
        .filter(lesson::Column::StartsAt.lt(proposal.ends_at))
        .filter(lesson::Column::EndsAt.gt(proposal.starts_at))
        .filter(lesson::Column::Status.ne(LessonStatus::Cancelled))
        .order_by_asc(lesson::Column::StartsAt);
    if let Some(except) = except {
        query = query.filter(lesson::Column::Id.ne(except));
    }
    Ok(query.one(db).await?)
}

/// The refusal of a booking that overlaps `other`: said with the other lesson's
/// candidate and times, as the person booking knows it (its id goes in `with_id`).
async fn clash(
    db: &impl ConnectionTrait,
    (code, key): (&'static str, &'static str),
    other: &lesson::Model,
    zone: Tz,
) -> AppError {
    let candidate = match candidates::names_of(db, &[other.candidate_id]).await {
        Ok(mut names) => names.remove(&other.candidate_id).unwrap_or_default(),
        Err(err) => return err,
    };
    AppError::ConflictWith {
        code,
        field: Some("starts_at"),
        message: Msg::new(key)
            .arg("candidate", candidate)
            .arg("day", local_day(i18n::current(), zone, other.starts_at))
            .arg("start", local_hour(zone, other.starts_at))
            .arg("end", local_hour(zone, other.ends_at)),
        with_id: other.id,
    }
}

fn refusal(code: &'static str, field: &'static str, message: Msg) -> AppError {
    AppError::Conflict { code, field: Some(field), message }
}

/// Every booking rule, in the caller's transaction (after `lock_resources`), in
/// the order they are reported. `except` is the lesson being moved.
async fn check_rules(db: &impl ConnectionTrait, org: OrgId, proposal: &Proposal, except: Option<i64>) -> AppResult<()> {
    let zone = organizations::zone(db, org).await?;
    // The lesson's day, in the school's local time.
    let day = proposal.starts_at.with_timezone(&zone).date_naive();
    check_categories(proposal)?;
    check_day_off(db, proposal, day).await?;
    check_availability(db, proposal, zone, day).await?;
    check_overlaps(db, proposal, zone, except).await?;
    check_daily_limit(db, org, proposal, zone, day, except).await?;
    if let Some(vehicle) = &proposal.vehicle {
        check_vehicle_safe(db, org, vehicle, day).await?;
    }
    Ok(())
}

/// An in-car lesson needs an instructor who teaches the candidate's category, and
/// a car of that category.
fn check_categories(proposal: &Proposal) -> AppResult<()> {
    let category = proposal.candidate.category.as_str();
    if proposal.kind.in_car() && !proposal.instructor.teaches(category) {
        return Err(refusal(
            "instructor_category",
            "instructor_id",
            Msg::new("lesson.instructor_category").arg("category", category),
        ));
    }
    if let Some(vehicle) = &proposal.vehicle
        && vehicle.category != category
    {
        return Err(refusal(
            "vehicle_category",
            "vehicle_id",
            Msg::new("lesson.vehicle_category").arg("vehicle", &vehicle.category).arg("category", category),
        ));
    }
    Ok(())
}

/// The instructor is not off on the lesson's day.
async fn check_day_off(db: &impl ConnectionTrait, proposal: &Proposal, day: NaiveDate) -> AppResult<()> {
    if instructors::is_day_off(db, proposal.instructor.id, day).await? {
        return Err(refusal(
            "instructor_day_off",
            "starts_at",
            Msg::new("lesson.instructor_day_off").arg("day", i18n::date(day)),
        ));
    }
    Ok(())
}

/// The lesson fits in one of the instructor's weekly windows, in the school's
/// local time (a lesson may end at midnight).
async fn check_availability(db: &impl ConnectionTrait, proposal: &Proposal, zone: Tz, day: NaiveDate) -> AppResult<()> {
    let local_start = proposal.starts_at.with_timezone(&zone);
    let local_end = proposal.ends_at.with_timezone(&zone);
    let start_minute = i32::try_from(local_start.hour() * 60 + local_start.minute()).unwrap_or(0);
    let end_minute = if local_end.date_naive() == day {
        i32::try_from(local_end.hour() * 60 + local_end.minute()).unwrap_or(0)
    } else if local_end.date_naive() == day.succ_opt().unwrap_or(day)
        && local_end.hour() == 0
        && local_end.minute() == 0
    {
        24 * 60
    } else {
        i32::MAX
    };
    let weekday = i16::try_from(day.weekday().number_from_monday()).unwrap_or(0);
    let windows = instructors::windows_of(db, proposal.instructor.id).await?;
    let inside =
        windows.iter().any(|w| w.weekday == weekday && w.start_minute <= start_minute && end_minute <= w.end_minute);
    if !inside {
        let today: Vec<String> = windows
            .iter()
            .filter(|w| w.weekday == weekday)
            .map(|w| {
                format!("{}–{}", instructors::format_minute(w.start_minute), instructors::format_minute(w.end_minute))
            })
            .collect();
        let hours = if today.is_empty() { "—".to_owned() } else { today.join(", ") };
        return Err(refusal(
            "outside_availability",
            "starts_at",
            Msg::new("lesson.outside_availability").arg("hours", hours),
        ));
    }
    Ok(())
}

/// The instructor, the car and the candidate are each free (the refusal names
/// the lesson in the way).
async fn check_overlaps(
    db: &impl ConnectionTrait,
    proposal: &Proposal,
    zone: Tz,
    except: Option<i64>,
) -> AppResult<()> {
    if let Some(other) =
        first_overlap(db, lesson::Column::InstructorId, proposal.instructor.id, proposal, except).await?
    {
        return Err(clash(db, ("instructor_busy", "lesson.instructor_busy"), &other, zone).await);
    }
    if let Some(vehicle) = &proposal.vehicle
        && let Some(other) = first_overlap(db, lesson::Column::VehicleId, vehicle.vehicle_id, proposal, except).await?
    {
        return Err(clash(db, ("vehicle_busy", "lesson.vehicle_busy"), &other, zone).await);
    }
    if let Some(other) = first_overlap(db, lesson::Column::CandidateId, proposal.candidate.id, proposal, except).await?
    {
        return Err(clash(db, ("candidate_busy", "lesson.candidate_busy"), &other, zone).await);
    }
    Ok(())
}

/// A candidate drives no more than the school's daily limit.
async fn check_daily_limit(
    db: &impl ConnectionTrait,
    org: OrgId,
    proposal: &Proposal,
    zone: Tz,
    day: NaiveDate,
    except: Option<i64>,
) -> AppResult<()> {
    if !proposal.kind.in_car() {
        return Ok(());
    }
    let rules = settings::get(db, org).await?;
    let booked = minutes_on_day(db, proposal.candidate.id, day, zone, except).await?;
    if booked + proposal.minutes() > rules.daily_limit_minutes {
        return Err(refusal(
            "daily_limit",
            "ends_at",
            Msg::new("lesson.daily_limit")
                .arg("limit", format_duration(rules.daily_limit_minutes))
                .arg("booked", format_duration(booked)),
        ));
    }
    Ok(())
}

/// A training car in the workshop (an intervention under way), or with an overdue
/// safety alert on the lesson's day, stays off the road.
async fn check_vehicle_safe(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle: &vehicles::TrainingVehicle,
    day: NaiveDate,
) -> AppResult<()> {
    if let Some(intervention) = crate::workshop::history::service::in_progress_on(db, org, vehicle.vehicle_id).await? {
        return Err(AppError::ConflictWith {
            code: "vehicle_in_workshop",
            field: Some("vehicle_id"),
            message: Msg::new("lesson.vehicle_in_workshop").arg("vehicle", vehicle.label()),
            with_id: intervention,
        });
    }
    // Past due, whether counted from work on record or never done here (`to_check`):
    // a car whose brakes nobody can vouch for stays off the road too. Most urgent first.
    let filter = AlertFilter { vehicle_ids: Some(vec![vehicle.vehicle_id]), ..AlertFilter::default() };
    let alerts = maintenance::list(db, org, &filter, crate::platform::pagination::PageRequest::first(50), day).await?;
    let past_due = |a: &&maintenance::Alert| a.due_on.is_some_and(|d| d <= day);
    if let Some(alert) = alerts.items.iter().filter(past_due).find(|a| SAFETY_KINDS.contains(&a.kind.as_str())) {
        // The reason is put into the refusal as text: in the language the refusal is read in.
        let kind = crate::platform::i18n::current().text(maintenance_kind_key(&alert.kind, alert.to_check)).to_owned();
        return Err(AppError::ConflictWith {
            code: "vehicle_unsafe",
            field: Some("vehicle_id"),
            message: Msg::new("lesson.vehicle_unsafe").arg("vehicle", vehicle.label()).arg("reason", kind),
            with_id: alert.id,
        });
    }
    Ok(())
}

/// Why the car stays off the road: overdue, or never done here (to check).
fn maintenance_kind_key(kind: &str, to_check: bool) -> &'static str {
    match (kind, to_check) {
        ("inspection", false) => "lesson.unsafe_inspection",
        ("inspection", true) => "lesson.unchecked_inspection",
        ("insurance", _) => "lesson.unsafe_insurance",
        ("brakes", false) => "lesson.unsafe_brakes",
        ("brakes", true) => "lesson.unchecked_brakes",
        (_, false) => "lesson.unsafe_tyres",
        (_, true) => "lesson.unchecked_tyres",
    }
}

/// Minutes as a form shows hours: `90` → `1,5`.
pub fn hours_input(minutes: &i32) -> String {
    rust_decimal::Decimal::new(i64::from(*minutes) * 100 / 60, 2).normalize().to_string().replace('.', ",")
}

pub fn format_duration(minutes: i32) -> String {
    if minutes % 60 == 0 { format!("{} h", minutes / 60) } else { format!("{} h {:02}", minutes / 60, minutes % 60) }
}

/// The local day's bounds, as instants.
fn day_bounds(day: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(zone).earliest())
            .map_or_else(|| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(), |t| t.with_timezone(&Utc))
    };
    (at(day), at(day.succ_opt().unwrap_or(day)))
}

/// A candidate's in-car minutes (not cancelled) starting on a local day.
async fn minutes_on_day(
    db: &impl ConnectionTrait,
    candidate_id: i64,
    day: NaiveDate,
    zone: Tz,
    except: Option<i64>,
) -> AppResult<i32> {
    let (from, to) = day_bounds(day, zone);
    let mut query = lesson::Entity::find()
        .filter(lesson::Column::CandidateId.eq(candidate_id))
        .filter(lesson::Column::StartsAt.gte(from))
        .filter(lesson::Column::StartsAt.lt(to))
        .filter(lesson::Column::Status.ne(LessonStatus::Cancelled))
        .filter(lesson::Column::Kind.ne(LessonKind::Theory));
    if let Some(except) = except {
        query = query.filter(lesson::Column::Id.ne(except));
    }
    Ok(query.all(db).await?.iter().map(|l| l.minutes).sum())
}

/// A lesson that counts as driving time taken: done, missed, or cancelled late.
#[derive(Debug, Clone)]
pub struct TakenLesson {
    pub starts_at: DateTime<Utc>,
    pub minutes: i32,
    pub status: LessonStatus,
}

/// A candidate's driving lessons taken (those [`Hours`] counts as done or due),
/// oldest first: what a statement of the hours beyond a pack lists.
pub async fn taken_lessons(db: &impl ConnectionTrait, org: OrgId, candidate_id: i64) -> AppResult<Vec<TakenLesson>> {
    let rows = lesson::Entity::find()
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .filter(lesson::Column::CandidateId.eq(candidate_id))
        .filter(lesson::Column::Kind.ne(LessonKind::Theory))
        .filter(
            sea_orm::Condition::any()
                .add(lesson::Column::Status.is_in([LessonStatus::Done, LessonStatus::NoShow]))
                .add(
                    sea_orm::Condition::all()
                        .add(lesson::Column::Status.eq(LessonStatus::Cancelled))
                        .add(lesson::Column::LateCancellation.eq(true)),
                ),
        )
        .order_by_asc(lesson::Column::StartsAt)
        .order_by_asc(lesson::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|l| TakenLesson { starts_at: l.starts_at, minutes: l.minutes, status: l.status }).collect())
}

/// Candidates' driving minutes by state, in one query.
pub async fn hours_of(db: &impl ConnectionTrait, candidate_ids: &[i64]) -> AppResult<HashMap<i64, Hours>> {
    if candidate_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, LessonStatus, bool, Option<i64>)> = lesson::Entity::find()
        .select_only()
        .column(lesson::Column::CandidateId)
        .column(lesson::Column::Status)
        .column(lesson::Column::LateCancellation)
        .column_as(
            Expr::expr(Func::cast_as(Func::sum(Expr::col(lesson::Column::Minutes)), Alias::new("BIGINT"))),
            "minutes",
        )
        .filter(lesson::Column::CandidateId.is_in(candidate_ids.iter().copied()))
        .filter(lesson::Column::Kind.ne(LessonKind::Theory))
        .group_by(lesson::Column::CandidateId)
        .group_by(lesson::Column::Status)
        .group_by(lesson::Column::LateCancellation)
        .into_tuple()
        .all(db)
        .await?;
    let mut hours: HashMap<i64, Hours> = HashMap::new();
    for (candidate_id, status, late, minutes) in rows {
        let minutes = i32::try_from(minutes.unwrap_or(0)).unwrap_or(i32::MAX);
        let entry = hours.entry(candidate_id).or_default();
        match (status, late) {
            (LessonStatus::Done, _) => entry.done_minutes += minutes,
            (LessonStatus::Scheduled, _) => entry.scheduled_minutes += minutes,
            (LessonStatus::NoShow, _) | (LessonStatus::Cancelled, true) => entry.due_minutes += minutes,
            (LessonStatus::Cancelled, false) => {}
        }
    }
    Ok(hours)
}

async fn views(db: &impl ConnectionTrait, org: OrgId, rows: Vec<lesson::Model>) -> AppResult<Vec<Lesson>> {
    let mut candidate_ids: Vec<i64> = rows.iter().map(|l| l.candidate_id).collect();
    candidate_ids.sort_unstable();
    candidate_ids.dedup();
    let mut instructor_ids: Vec<i64> = rows.iter().map(|l| l.instructor_id).collect();
    instructor_ids.sort_unstable();
    instructor_ids.dedup();
    let names = candidates::names_of(db, &candidate_ids).await?;
    let teachers = instructors::get_many(db, org, &instructor_ids).await?;
    let mut car_ids: Vec<i64> = rows.iter().filter_map(|l| l.vehicle_id).collect();
    car_ids.sort_unstable();
    car_ids.dedup();
    let cars = vehicles::labels_of(db, org, &car_ids).await?;
    let lesson_ids: Vec<i64> = rows.iter().map(|l| l.id).collect();
    let weather = crate::school::weather::service::of_lessons(db, org, &lesson_ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| Lesson {
            id: m.id,
            kind: m.kind,
            status: m.status,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            minutes: m.minutes,
            candidate_name: names.get(&m.candidate_id).cloned().unwrap_or_default(),
            candidate_id: m.candidate_id,
            instructor_name: teachers.get(&m.instructor_id).map(instructors::Instructor::full_name).unwrap_or_default(),
            instructor_id: m.instructor_id,
            vehicle_label: m.vehicle_id.and_then(|id| cars.get(&id).cloned()),
            vehicle_id: m.vehicle_id,
            meeting_point: m.meeting_point,
            late_cancellation: m.late_cancellation,
            cancellation_reason: m.cancellation_reason,
            cancelled_by: m.cancelled_by,
            fee_waived: m.fee_waived,
            notes: m.notes,
            weather_risk: weather.get(&m.id).map(|w| w.risk),
        })
        .collect())
}

async fn find(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<lesson::Model> {
    lesson::Entity::find_by_id(id)
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// A candidate's lessons done, oldest first (at most 1,000): what their learning record lists.
pub async fn done_lessons(db: &impl ConnectionTrait, org: OrgId, candidate_id: i64) -> AppResult<Vec<Lesson>> {
    let rows = lesson::Entity::find()
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .filter(lesson::Column::CandidateId.eq(candidate_id))
        .filter(lesson::Column::Status.eq(LessonStatus::Done))
        .order_by_asc(lesson::Column::StartsAt)
        .order_by_asc(lesson::Column::Id)
        .limit(1000)
        .all(db)
        .await?;
    views(db, org, rows).await
}

pub(crate) async fn view(db: &impl ConnectionTrait, org: OrgId, row: lesson::Model) -> AppResult<Lesson> {
    views(db, org, vec![row]).await?.pop().ok_or(AppError::NotFound)
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, viewer: Viewer, id: i64) -> AppResult<Lesson> {
    let row = find(db, org, id).await?;
    viewer.check(row.candidate_id, row.instructor_id)?;
    view(db, org, row).await
}

/// Whose lessons to list, between two instants.
#[derive(Debug, Clone, Default)]
pub struct LessonFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub instructor_id: Option<i64>,
    pub vehicle_id: Option<i64>,
    pub candidate_id: Option<i64>,
    /// Cancelled lessons are left out unless asked for.
    pub include_cancelled: bool,
}

/// Lessons starting in `[from, to)` (default: this week and the next), in time
/// order, limited to what the viewer may see.
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    viewer: Viewer,
    filter: &LessonFilter,
) -> AppResult<Vec<Lesson>> {
    let from = filter.from.unwrap_or_else(|| Utc::now() - Duration::days(7));
    let to = filter.to.unwrap_or(from + Duration::days(21));
    if to <= from || to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(AppError::validation("to", Msg::new("lesson.range_invalid").arg("days", MAX_RANGE_DAYS)));
    }
    let mut query = lesson::Entity::find()
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .filter(lesson::Column::StartsAt.gte(from))
        .filter(lesson::Column::StartsAt.lt(to))
        .order_by_asc(lesson::Column::StartsAt)
        .order_by_asc(lesson::Column::Id)
        .limit(2000);
    if !filter.include_cancelled {
        query = query.filter(lesson::Column::Status.ne(LessonStatus::Cancelled));
    }
    if let Some(id) = filter.instructor_id {
        query = query.filter(lesson::Column::InstructorId.eq(id));
    }
    if let Some(id) = filter.vehicle_id {
        query = query.filter(lesson::Column::VehicleId.eq(id));
    }
    if let Some(id) = filter.candidate_id {
        query = query.filter(lesson::Column::CandidateId.eq(id));
    }
    query = match viewer {
        Viewer::School => query,
        Viewer::Instructor(id) => query.filter(lesson::Column::InstructorId.eq(id)),
        Viewer::Candidate(id) => query.filter(lesson::Column::CandidateId.eq(id)),
        Viewer::Nobody => return Ok(Vec::new()),
    };
    let rows = query.all(db).await?;
    views(db, org, rows).await
}

/// What a lesson notice says, in the school's language and time zone.
fn notice(zone: Tz, locale: Locale, key: &'static str, lesson: &Lesson) -> (String, String) {
    let day = local_day(locale, zone, lesson.starts_at);
    let start = local_hour(zone, lesson.starts_at);
    let end = local_hour(zone, lesson.ends_at);
    let subject = Msg::new(key).arg("day", &day).arg("start", &start).render(locale);
    let body = Msg::new("lesson.notice_body")
        .arg("what", &subject)
        .arg("day", &day)
        .arg("start", &start)
        .arg("end", &end)
        .arg("instructor", &lesson.instructor_name)
        .arg("place", lesson.meeting_point.as_deref().unwrap_or("—"))
        .render(locale)
        .replace("\\n", "\n");
    (subject, body)
}

/// Notifies the candidate about a lesson, in the change's transaction.
/// Tells the school's webhooks of a lesson booked, moved or cancelled.
async fn announce(txn: &impl ConnectionTrait, org: OrgId, event: WebhookEvent, lesson: &Lesson) -> AppResult<()> {
    let data = serde_json::json!({
        "lesson_id": lesson.id,
        "kind": lesson.kind,
        "status": lesson.status,
        "starts_at": lesson.starts_at,
        "ends_at": lesson.ends_at,
        "candidate_id": lesson.candidate_id,
        "instructor_id": lesson.instructor_id,
        "vehicle_id": lesson.vehicle_id,
        "cancelled_by": lesson.cancelled_by.map(CancelledBy::as_str),
        "late_cancellation": lesson.late_cancellation,
    });
    webhooks::emit(txn, org, event, data).await
}

pub(crate) async fn notify_candidate(
    txn: &impl ConnectionTrait,
    org: OrgId,
    key: &'static str,
    lesson: &Lesson,
) -> AppResult<()> {
    let Some(contact) = candidate_contact(txn, lesson.candidate_id).await? else {
        return Ok(());
    };
    let organization = organizations::get(txn, org).await?;
    let (subject, body) = notice(organization.zone()?, organization.locale, key, lesson);
    let event = if key == "lesson.notice_reminder" { Event::LessonReminder } else { Event::LessonChanged };
    let notice = Notice::new(event, subject, body)
        .user(contact.user_id)
        .email(contact.email)
        .phone(contact.phone)
        .link(format!("/school/lessons/{}", lesson.id));
    // A minor's guardian gets a copy (no link into an account they do not have).
    crate::school::enrolment::service::notify_guardian(txn, org, lesson.candidate_id, &notice).await?;
    notify::send(txn, org, notice).await?;
    Ok(())
}

/// How to reach a candidate: their account, e-mail and phone.
pub(crate) struct CandidateContact {
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub(crate) async fn candidate_contact(
    db: &impl ConnectionTrait,
    candidate_id: i64,
) -> AppResult<Option<CandidateContact>> {
    let row: Option<(Option<i64>, Option<String>, Option<String>)> = candidate::Entity::find_by_id(candidate_id)
        .select_only()
        .column(candidate::Column::UserId)
        .column(candidate::Column::Email)
        .column(candidate::Column::Phone)
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.map(|(user_id, email, phone)| CandidateContact { user_id, email, phone }))
}

/// Books a lesson: 201 when every rule holds, 409 naming the rule (and the lesson
/// in the way) otherwise.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn book<C: Writer>(db: &C, actor: &Actor, input: &LessonInput) -> AppResult<Lesson> {
    let mut v = Validator::new();
    let kind = input.kind.unwrap_or(LessonKind::Driving);
    let times = check_times(&mut v, input.starts_at, input.ends_at);
    let meeting_point = v.optional_text("meeting_point", input.meeting_point.as_deref(), 200);
    let ids = (input.candidate_id, input.instructor_id, input.vehicle_id.filter(|_| kind.in_car()));
    let proposal = resolve(db, actor.org, kind, ids, times, meeting_point, v).await?;
    db::write(db, async |txn| {
        lock_resources(txn, &proposal).await?;
        check_rules(txn, actor.org, &proposal, None).await?;
        let now = Utc::now();
        let saved = lesson::ActiveModel {
            organization_id: Set(actor.org.get()),
            candidate_id: Set(proposal.candidate.id),
            instructor_id: Set(proposal.instructor.id),
            vehicle_id: Set(proposal.vehicle.as_ref().map(|v| v.vehicle_id)),
            kind: Set(kind),
            starts_at: Set(proposal.starts_at),
            ends_at: Set(proposal.ends_at),
            minutes: Set(proposal.minutes()),
            meeting_point: Set(proposal.meeting_point.clone()),
            status: Set(LessonStatus::Scheduled),
            late_cancellation: Set(false),
            cancelled_by: Set(None),
            fee_waived: Set(false),
            created_by: Set(actor.user_id),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let booked = view(txn, actor.org, saved).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, booked.id), None, Some(&booked)).await?;
        notify_candidate(txn, actor.org, "lesson.notice_booked", &booked).await?;
        announce(txn, actor.org, WebhookEvent::LessonBooked, &booked).await?;
        crate::school::weather::service::reassess(txn, actor.org, booked.id).await?;
        Ok(booked)
    })
    .await
}

/// Moves a scheduled lesson (new times, maybe another instructor or car),
/// re-checking every rule.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn move_lesson<C: Writer>(db: &C, actor: &Actor, id: i64, input: &MoveInput) -> AppResult<Lesson> {
    let current = find(db, actor.org, id).await?;
    let before = view(db, actor.org, current.clone()).await?;
    if before.status != LessonStatus::Scheduled {
        return Err(not_scheduled());
    }
    let mut v = Validator::new();
    let times = check_times(&mut v, input.starts_at, input.ends_at);
    let meeting_point = match &input.meeting_point {
        Some(text) => v.optional_text("meeting_point", Some(text), 200),
        None => current.meeting_point.clone(),
    };
    let instructor_id = input.instructor_id.unwrap_or(current.instructor_id);
    let vehicle_id = input.vehicle_id.or(current.vehicle_id).filter(|_| before.kind.in_car());
    let ids = (Some(current.candidate_id), Some(instructor_id), vehicle_id);
    let proposal = resolve(db, actor.org, before.kind, ids, times, meeting_point, v).await?;
    db::write(db, async |txn| {
        lock_resources(txn, &proposal).await?;
        check_rules(txn, actor.org, &proposal, Some(id)).await?;
        let moved = lesson::Entity::update_many()
            .col_expr(lesson::Column::StartsAt, Expr::value(proposal.starts_at))
            .col_expr(lesson::Column::EndsAt, Expr::value(proposal.ends_at))
            .col_expr(lesson::Column::Minutes, Expr::value(proposal.minutes()))
            .col_expr(lesson::Column::InstructorId, Expr::value(proposal.instructor.id))
            .col_expr(lesson::Column::VehicleId, Expr::value(proposal.vehicle.as_ref().map(|v| v.vehicle_id)))
            .col_expr(lesson::Column::MeetingPoint, Expr::value(proposal.meeting_point.clone()))
            // A new day: a new reminder.
            .col_expr(lesson::Column::ReminderSentAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(lesson::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(lesson::Column::Id.eq(id))
            .filter(lesson::Column::Status.eq(LessonStatus::Scheduled))
            .exec(txn)
            .await?;
        if moved.rows_affected == 0 {
            return Err(not_scheduled());
        }
        // Its weather was for another time: assessed again shortly.
        crate::school::weather::service::reassess(txn, actor.org, id).await?;
        let after = view(txn, actor.org, find(txn, actor.org, id).await?).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        notify_candidate(txn, actor.org, "lesson.notice_moved", &after).await?;
        announce(txn, actor.org, WebhookEvent::LessonMoved, &after).await?;
        Ok(after)
    })
    .await
}

fn not_scheduled() -> AppError {
    AppError::Conflict { code: "lesson_not_scheduled", field: None, message: Msg::new("lesson.not_scheduled") }
}

/// Whether a lesson can still be cancelled at `now`: scheduled and not over (a
/// past lesson is recorded as done or missed instead).
pub fn is_cancellable(status: LessonStatus, ends_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status == LessonStatus::Scheduled && ends_at > now
}

/// Whether cancelling at `now` is late: inside the notice before the start.
pub fn is_late_cancellation(now: DateTime<Utc>, starts_at: DateTime<Utc>, notice_hours: i32) -> bool {
    now > starts_at - Duration::hours(i64::from(notice_hours))
}

/// Cancels a scheduled lesson; inside the school's notice it is counted as due.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn cancel<C: Writer>(db: &C, actor: &Actor, id: i64, input: &CancelInput) -> AppResult<Lesson> {
    let current = find(db, actor.org, id).await?;
    let before = view(db, actor.org, current.clone()).await?;
    let mut v = Validator::new();
    let reason = v.optional_long_text("reason", input.reason.as_deref(), 500);
    v.finish()?;
    let rules = settings::get(db, actor.org).await?;
    let now = Utc::now();
    if current.status == LessonStatus::Scheduled && !is_cancellable(current.status, current.ends_at, now) {
        return Err(AppError::conflict("lesson_over", Msg::new("lesson.cannot_cancel_past")));
    }
    let by = input.cancelled_by.unwrap_or(CancelledBy::Candidate);
    // Only the candidate's late cancellation is charged, unless the school waives it.
    let late =
        by == CancelledBy::Candidate && is_late_cancellation(now, current.starts_at, rules.cancellation_notice_hours);
    let waived = late && input.waive_fee.unwrap_or(false);
    db::write(db, async |txn| {
        let cancelled = lesson::Entity::update_many()
            .col_expr(lesson::Column::Status, Expr::value(LessonStatus::Cancelled))
            .col_expr(lesson::Column::CancelledAt, Expr::value(Some(now)))
            .col_expr(lesson::Column::CancellationReason, Expr::value(reason))
            .col_expr(lesson::Column::CancelledBy, Expr::value(by))
            .col_expr(lesson::Column::FeeWaived, Expr::value(waived))
            .col_expr(lesson::Column::LateCancellation, Expr::value(late && !waived))
            .col_expr(lesson::Column::UpdatedAt, Expr::value(now))
            .filter(lesson::Column::Id.eq(id))
            .filter(lesson::Column::Status.eq(LessonStatus::Scheduled))
            .exec(txn)
            .await?;
        if cancelled.rows_affected == 0 {
            return Err(not_scheduled());
        }
        let after = view(txn, actor.org, find(txn, actor.org, id).await?).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        notify_candidate(txn, actor.org, "lesson.notice_cancelled", &after).await?;
        announce(txn, actor.org, WebhookEvent::LessonCancelled, &after).await?;
        Ok(after)
    })
    .await
}

/// Records how a lesson went, once it has begun: done (with what was worked on)
/// or no-show. An instructor records their own lessons only.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn record_outcome<C: Writer>(
    db: &C,
    actor: &Actor,
    viewer: Viewer,
    id: i64,
    input: &OutcomeInput,
) -> AppResult<Lesson> {
    let current = find(db, actor.org, id).await?;
    if !matches!(viewer, Viewer::School | Viewer::Instructor(_)) {
        return Err(AppError::NotFound);
    }
    viewer.check(current.candidate_id, current.instructor_id)?;
    let before = view(db, actor.org, current.clone()).await?;
    let mut v = Validator::new();
    let status = v.required("status", input.status);
    if status.is_some_and(|s| !matches!(s, LessonStatus::Done | LessonStatus::NoShow)) {
        v.add("status", Msg::new("lesson.outcome_invalid"));
    }
    let notes = v.optional_long_text("notes", input.notes.as_deref(), 5000);
    v.check("progress", crate::school::candidates::progress::check(&input.progress));
    if status == Some(LessonStatus::NoShow) && !input.progress.is_empty() {
        v.add("progress", Msg::new("progress.no_show"));
    }
    v.finish()?;
    let status = status.unwrap_or(LessonStatus::Done);
    let now = Utc::now();
    if current.starts_at > now {
        return Err(AppError::Conflict {
            code: "lesson_not_started",
            field: Some("status"),
            message: Msg::new("lesson.not_started"),
        });
    }
    db::write(db, async |txn| {
        let updated = lesson::Entity::update_many()
            .col_expr(lesson::Column::Status, Expr::value(status))
            .col_expr(lesson::Column::Notes, Expr::value(notes))
            .col_expr(lesson::Column::UpdatedAt, Expr::value(now))
            .filter(lesson::Column::Id.eq(id))
            .filter(lesson::Column::Status.eq(LessonStatus::Scheduled))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(not_scheduled());
        }
        crate::school::candidates::progress::record(
            txn,
            actor.org,
            current.candidate_id,
            Some(id),
            actor.user_id,
            &input.progress,
        )
        .await?;
        let after = view(txn, actor.org, find(txn, actor.org, id).await?).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelling_inside_the_notice_is_late() {
        let start = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").expect("date").with_timezone(&Utc);
        let at = |s: &str| DateTime::parse_from_rfc3339(s).expect("date").with_timezone(&Utc);
        assert!(!is_late_cancellation(at("2026-11-23T09:59:00Z"), start, 48));
        assert!(!is_late_cancellation(at("2026-11-23T10:00:00Z"), start, 48));
        assert!(is_late_cancellation(at("2026-11-23T10:01:00Z"), start, 48));
        assert!(is_late_cancellation(at("2026-11-25T11:00:00Z"), start, 0));
    }

    #[test]
    fn local_days_follow_the_time_zone() {
        let (from, to) = day_bounds(NaiveDate::from_ymd_opt(2026, 3, 29).expect("day"), chrono_tz::Europe::Paris);
        // The night summer time starts: a 23-hour day.
        assert_eq!(from.to_rfc3339(), "2026-03-28T23:00:00+00:00");
        assert_eq!((to - from).num_hours(), 23);
    }

    #[test]
    fn durations_read_as_hours() {
        assert_eq!(format_duration(120), "2 h");
        assert_eq!(format_duration(90), "1 h 30");
    }
}
