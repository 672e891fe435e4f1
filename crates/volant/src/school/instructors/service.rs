//! Instructors: who teaches which licence categories, when (weekly availability
//! in the school's local time), and which days off.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime, Timelike, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{availability, day_off, instructor};
use crate::identity::audit::{self, Actor};
use crate::identity::roles::Role;
use crate::identity::users::service as users;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint, constraint_violation};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::school::model::check_categories;

pub const AUDIT_ENTITY: &str = "instructor";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Instructor {
    pub id: i64,
    /// The instructor's sign-in account (role `instructor`), if any.
    pub user_id: Option<i64>,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub licence_number: String,
    /// Licence categories taught, e.g. `["B"]`.
    pub categories: Vec<String>,
    pub active: bool,
}

impl Instructor {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn teaches(&self, category: &str) -> bool {
        self.categories.iter().any(|c| c == category)
    }
}

impl From<instructor::Model> for Instructor {
    fn from(m: instructor::Model) -> Self {
        Self {
            id: m.id,
            user_id: m.user_id,
            first_name: m.first_name,
            last_name: m.last_name,
            email: m.email,
            phone: m.phone,
            licence_number: m.licence_number,
            categories: m.categories.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
            active: m.active,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstructorInput {
    pub user_id: Option<i64>,
    #[schema(required = true, nullable = false, example = "Karim")]
    pub first_name: Option<String>,
    #[schema(required = true, nullable = false, example = "Benali")]
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The teaching licence (autorisation d'enseigner) number.
    #[schema(required = true, nullable = false, example = "A 13 075 0042 0")]
    pub licence_number: Option<String>,
    #[schema(required = true, nullable = false, example = json!(["B"]))]
    #[serde(default)]
    pub categories: Vec<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// One weekly window, in the school's local time (`08:00`–`12:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WeeklySlot {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    #[schema(example = 1)]
    pub weekday: i16,
    #[schema(example = "08:00")]
    pub start: String,
    #[schema(example = "12:00")]
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayOff {
    pub day: NaiveDate,
    pub reason: Option<String>,
}

/// An instructor's week and days off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub weekly: Vec<WeeklySlot>,
    #[serde(default)]
    pub days_off: Vec<DayOff>,
}

/// A weekly window as minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub weekday: i16,
    pub start_minute: i32,
    pub end_minute: i32,
}

fn scoped(org: OrgId) -> sea_orm::Select<instructor::Entity> {
    instructor::Entity::find().filter(instructor::Column::OrganizationId.eq(org.get()))
}

/// The input that would write `instructor` as they are (what an update starts from).
pub fn input_of(instructor: &Instructor) -> InstructorInput {
    InstructorInput {
        user_id: instructor.user_id,
        first_name: Some(instructor.first_name.clone()),
        last_name: Some(instructor.last_name.clone()),
        email: instructor.email.clone(),
        phone: instructor.phone.clone(),
        licence_number: Some(instructor.licence_number.clone()),
        categories: instructor.categories.clone(),
        active: Some(instructor.active),
    }
}

/// The instructor with this teaching licence number.
pub async fn by_licence(db: &impl ConnectionTrait, org: OrgId, licence_number: &str) -> AppResult<Option<Instructor>> {
    Ok(scoped(org)
        .filter(instructor::Column::LicenceNumber.eq(licence_number.trim()))
        .one(db)
        .await?
        .map(Instructor::from))
}

/// When each of these instructors last changed (those that still exist), in one query.
pub async fn stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[i64],
) -> AppResult<HashMap<i64, chrono::DateTime<Utc>>> {
    use sea_orm::QuerySelect;
    let rows: Vec<(i64, chrono::DateTime<Utc>)> = scoped(org)
        .select_only()
        .column(instructor::Column::Id)
        .column(instructor::Column::UpdatedAt)
        .filter(instructor::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Whether the instructor has a history their deletion would take with it or
/// be refused for: an account, their week or days off, candidates they follow,
/// lessons, exam results.
pub async fn has_history(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<bool> {
    use crate::school::candidates::entity::candidate;
    use crate::school::exams::entity::result;
    use crate::school::planning::entity::lesson;
    use sea_orm::PaginatorTrait;
    if get(db, org, id).await?.user_id.is_some() {
        return Ok(true);
    }
    let counts = [
        availability::Entity::find().filter(availability::Column::InstructorId.eq(id)).count(db).await?,
        day_off::Entity::find().filter(day_off::Column::InstructorId.eq(id)).count(db).await?,
        candidate::Entity::find().filter(candidate::Column::InstructorId.eq(id)).count(db).await?,
        lesson::Entity::find().filter(lesson::Column::InstructorId.eq(id)).count(db).await?,
        result::Entity::find().filter(result::Column::InstructorId.eq(id)).count(db).await?,
    ];
    Ok(counts.iter().any(|n| *n > 0))
}

/// Deletes an instructor nothing refers to yet (an import taken back): 409
/// `instructor_has_history` once they have candidates, lessons or an account.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let before = get(db, actor.org, id).await?;
    let history = || AppError::conflict("instructor_has_history", Msg::new("school.instructor_has_history"));
    db::write(db, async |txn| {
        if has_history(txn, actor.org, id).await? {
            return Err(history());
        }
        let deleted = instructor::Entity::delete_many()
            .filter(instructor::Column::OrganizationId.eq(actor.org.get()))
            .filter(instructor::Column::Id.eq(id))
            .exec(txn)
            .await
            .map_err(|err| history().if_refused(err, Constraint::is_foreign_key))?;
        if deleted.rows_affected == 0 {
            return Err(AppError::NotFound);
        }
        let owner = crate::documents::model::Owner { kind: crate::documents::model::OwnerKind::Instructor, id };
        crate::documents::service::forget_owner(txn, actor.org, owner).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), None::<&Instructor>).await
    })
    .await
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Instructor> {
    scoped(org).filter(instructor::Column::Id.eq(id)).one(db).await?.map(Instructor::from).ok_or(AppError::NotFound)
}

/// Creates the instructor's account (role `instructor`), links this file to it and
/// e-mails them an invitation to choose their password.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn invite<C: Writer>(
    db: &C,
    actor: &Actor,
    inviter: &crate::identity::users::service::AuthUser,
    id: i64,
) -> AppResult<(crate::identity::users::service::UserView, crate::identity::passwords::service::NewLink)> {
    let found = get(db, actor.org, id).await?;
    let person = crate::school::accounts::Person {
        file: (AUDIT_ENTITY, id),
        display_name: found.full_name(),
        email: found.email.as_deref(),
        has_account: found.user_id.is_some(),
        role: Role::Instructor,
    };
    crate::school::accounts::invite(db, actor, inviter, person, async |txn, user_id| {
        set_account(txn, actor.org, id, user_id).await
    })
    .await
}

/// Ties the file to an account, if it has none yet: one row changed, or none.
async fn set_account(
    txn: &sea_orm::DatabaseTransaction,
    org: OrgId,
    id: i64,
    user_id: i64,
) -> Result<sea_orm::UpdateResult, sea_orm::DbErr> {
    instructor::Entity::update_many()
        .col_expr(instructor::Column::UserId, sea_orm::sea_query::Expr::value(user_id))
        .filter(instructor::Column::OrganizationId.eq(org.get()))
        .filter(instructor::Column::Id.eq(id))
        .filter(instructor::Column::UserId.is_null())
        .exec(txn)
        .await
}

/// Ties an existing instructor account to this file (still without one).
pub async fn link_account<C: Writer>(db: &C, actor: &Actor, id: i64, user_id: i64) -> AppResult<()> {
    get(db, actor.org, id).await?;
    crate::school::accounts::link_existing(db, actor, (AUDIT_ENTITY, id), user_id, async |txn, user_id| {
        set_account(txn, actor.org, id, user_id).await
    })
    .await
}

/// The instructor file of a signed-in user, if they have one.
pub async fn of_user(db: &impl ConnectionTrait, org: OrgId, user_id: i64) -> AppResult<Option<Instructor>> {
    Ok(scoped(org).filter(instructor::Column::UserId.eq(user_id)).one(db).await?.map(Instructor::from))
}

/// Every instructor of the school, by name (a school has tens, not thousands).
pub async fn list(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<Instructor>> {
    let rows = scoped(org)
        .order_by_asc(instructor::Column::LastName)
        .order_by_asc(instructor::Column::FirstName)
        .order_by_asc(instructor::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Instructor::from).collect())
}

pub async fn get_many(db: &impl ConnectionTrait, org: OrgId, ids: &[i64]) -> AppResult<HashMap<i64, Instructor>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = scoped(org).filter(instructor::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|m| (m.id, Instructor::from(m))).collect())
}

struct Valid {
    user_id: Option<i64>,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: Option<String>,
    licence_number: String,
    categories: Vec<String>,
    active: bool,
}

async fn validate(db: &impl ConnectionTrait, org: OrgId, input: &InstructorInput) -> AppResult<Valid> {
    let mut v = Validator::new();
    let first_name = v.required_text("first_name", input.first_name.as_deref(), 100);
    let last_name = v.required_text("last_name", input.last_name.as_deref(), 100);
    let email = v.optional_email("email", input.email.as_deref());
    let phone = v.optional_phone("phone", input.phone.as_deref());
    let licence_number = v.required_text("licence_number", input.licence_number.as_deref(), 40);
    let categories = v.check("categories", check_categories(&input.categories));
    if let Some(user_id) = input.user_id {
        let found = v.found("user_id", users::get(db, org, user_id).await, Msg::new("school.user_unknown"))?;
        if found.is_some_and(|user| !user.roles.contains(&Role::Instructor)) {
            v.add("user_id", Msg::new("school.user_not_instructor"));
        }
    }
    v.finish()?;
    match (first_name, last_name, licence_number, categories) {
        (Some(first_name), Some(last_name), Some(licence_number), Some(categories)) => Ok(Valid {
            user_id: input.user_id,
            first_name,
            last_name,
            email,
            phone,
            licence_number,
            categories,
            active: input.active.unwrap_or(true),
        }),
        _ => Err(AppError::Internal("validator accepted a missing field".into())),
    }
}

fn taken(err: sea_orm::DbErr) -> AppError {
    match constraint_violation(&err) {
        Some(c @ Constraint::Unique(_)) if c.mentions("licence") => AppError::Conflict {
            code: "duplicate_licence_number",
            field: Some("licence_number"),
            message: Msg::new("school.licence_taken"),
        },
        Some(Constraint::Unique(_)) => AppError::Conflict {
            code: "user_already_linked",
            field: Some("user_id"),
            message: Msg::new("school.user_already_linked"),
        },
        _ => err.into(),
    }
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &InstructorInput) -> AppResult<Instructor> {
    let valid = validate(db, actor.org, input).await?;
    let now = Utc::now();
    db::write(db, async |txn| {
        let saved = instructor::ActiveModel {
            organization_id: Set(actor.org.get()),
            user_id: Set(valid.user_id),
            first_name: Set(valid.first_name),
            last_name: Set(valid.last_name),
            email: Set(valid.email),
            phone: Set(valid.phone),
            licence_number: Set(valid.licence_number),
            categories: Set(valid.categories.join(",")),
            active: Set(valid.active),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(taken)?;
        let created = Instructor::from(saved);
        audit::record_change(txn, actor, (AUDIT_ENTITY, created.id), None, Some(&created)).await?;
        Ok(created)
    })
    .await
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update<C: Writer>(db: &C, actor: &Actor, id: i64, input: &InstructorInput) -> AppResult<Instructor> {
    let before = get(db, actor.org, id).await?;
    let valid = validate(db, actor.org, input).await?;
    db::write(db, async |txn| {
        let saved = instructor::ActiveModel {
            id: Set(id),
            user_id: Set(valid.user_id),
            first_name: Set(valid.first_name),
            last_name: Set(valid.last_name),
            email: Set(valid.email),
            phone: Set(valid.phone),
            licence_number: Set(valid.licence_number),
            categories: Set(valid.categories.join(",")),
            active: Set(valid.active),
            updated_at: Set(Utc::now()),
            ..Default::default()
        }
        .update(txn)
        .await
        .map_err(taken)?;
        let after = Instructor::from(saved);
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

fn parse_time(value: &str) -> Option<i32> {
    let time = NaiveTime::parse_from_str(value.trim(), "%H:%M").ok()?;
    i32::try_from(time.hour() * 60 + time.minute()).ok()
}

/// `24:00` closes a day; any other end is a clock time.
fn parse_end(value: &str) -> Option<i32> {
    if value.trim() == "24:00" { Some(24 * 60) } else { parse_time(value) }
}

pub fn format_minute(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Checks a week: valid days and times, each window ending after it starts, no
/// two windows of a day overlapping.
pub fn check_week(slots: &[WeeklySlot]) -> Result<Vec<Window>, Msg> {
    let mut windows = Vec::with_capacity(slots.len());
    for slot in slots {
        if !(1..=7).contains(&slot.weekday) {
            return Err(Msg::new("school.weekday_invalid"));
        }
        let (Some(start_minute), Some(end_minute)) = (parse_time(&slot.start), parse_end(&slot.end)) else {
            return Err(Msg::new("school.time_invalid"));
        };
        if start_minute >= end_minute {
            return Err(Msg::new("school.window_empty"));
        }
        windows.push(Window { weekday: slot.weekday, start_minute, end_minute });
    }
    windows.sort_by_key(|w| (w.weekday, w.start_minute));
    if windows.windows(2).any(|pair| pair[0].weekday == pair[1].weekday && pair[1].start_minute < pair[0].end_minute) {
        return Err(Msg::new("school.windows_overlap"));
    }
    Ok(windows)
}

pub async fn availability(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Availability> {
    get(db, org, id).await?;
    let weekly = windows_of(db, id).await?;
    let days_off = day_off::Entity::find()
        .filter(day_off::Column::InstructorId.eq(id))
        .filter(day_off::Column::Day.gte(Utc::now().date_naive()))
        .order_by_asc(day_off::Column::Day)
        .all(db)
        .await?;
    Ok(Availability {
        weekly: weekly
            .into_iter()
            .map(|w| WeeklySlot {
                weekday: w.weekday,
                start: format_minute(w.start_minute),
                end: format_minute(w.end_minute),
            })
            .collect(),
        days_off: days_off.into_iter().map(|d| DayOff { day: d.day, reason: d.reason }).collect(),
    })
}

/// An instructor's weekly windows, by day and start.
pub async fn windows_of(db: &impl ConnectionTrait, instructor_id: i64) -> AppResult<Vec<Window>> {
    let rows = availability::Entity::find()
        .filter(availability::Column::InstructorId.eq(instructor_id))
        .order_by_asc(availability::Column::Weekday)
        .order_by_asc(availability::Column::StartMinute)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Window { weekday: r.weekday, start_minute: r.start_minute, end_minute: r.end_minute })
        .collect())
}

/// When some instructors teach: their weekly windows and their days off.
#[derive(Debug, Clone, Default)]
pub struct Teaching {
    windows: HashMap<i64, Vec<Window>>,
    days_off: Vec<(i64, NaiveDate)>,
}

impl Teaching {
    /// Whether this instructor has weekly hours at all (none: never offered on the board).
    pub fn has_hours(&self, id: i64) -> bool {
        self.windows.get(&id).is_some_and(|w| !w.is_empty())
    }

    /// Whether one of them teaches the whole hour from `hour` on `day`.
    pub fn covers(&self, day: NaiveDate, hour: u32) -> bool {
        use chrono::Datelike;
        let weekday = i16::try_from(day.weekday().number_from_monday()).unwrap_or(0);
        let (start, end) = (i32::try_from(hour * 60).unwrap_or(0), i32::try_from(hour * 60 + 60).unwrap_or(0));
        self.windows.iter().any(|(id, windows)| {
            !self.days_off.contains(&(*id, day))
                && windows.iter().any(|w| w.weekday == weekday && w.start_minute <= start && w.end_minute >= end)
        })
    }
}

/// Several instructors' weekly windows and their days off in `[from, to]`, in
/// two queries (the planning board's free hours).
pub async fn teaching(
    db: &impl ConnectionTrait,
    ids: &[i64],
    (from, to): (NaiveDate, NaiveDate),
) -> AppResult<Teaching> {
    let mut windows: HashMap<i64, Vec<Window>> = HashMap::new();
    for r in availability::Entity::find().filter(availability::Column::InstructorId.is_in(ids.to_vec())).all(db).await?
    {
        let window = Window { weekday: r.weekday, start_minute: r.start_minute, end_minute: r.end_minute };
        windows.entry(r.instructor_id).or_default().push(window);
    }
    let days_off = day_off::Entity::find()
        .filter(day_off::Column::InstructorId.is_in(ids.to_vec()))
        .filter(day_off::Column::Day.gte(from))
        .filter(day_off::Column::Day.lte(to))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.instructor_id, d.day))
        .collect();
    Ok(Teaching { windows, days_off })
}

/// Whether `day` is one of the instructor's days off.
pub async fn is_day_off(db: &impl ConnectionTrait, instructor_id: i64, day: NaiveDate) -> AppResult<bool> {
    Ok(day_off::Entity::find_by_id((instructor_id, day)).one(db).await?.is_some())
}

/// An instructor's days off in `[from, to]`, in one query.
pub async fn days_off_between(
    db: &impl ConnectionTrait,
    instructor_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<NaiveDate>> {
    Ok(day_off::Entity::find()
        .filter(day_off::Column::InstructorId.eq(instructor_id))
        .filter(day_off::Column::Day.gte(from))
        .filter(day_off::Column::Day.lte(to))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.day)
        .collect())
}

/// Replaces an instructor's week and future days off (past days off are kept).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn set_availability<C: Writer>(
    db: &C,
    actor: &Actor,
    id: i64,
    input: &Availability,
) -> AppResult<Availability> {
    let before = availability(db, actor.org, id).await?;
    let mut v = Validator::new();
    let windows = v.check("weekly", check_week(&input.weekly));
    let mut days: Vec<&DayOff> = input.days_off.iter().collect();
    days.sort_by_key(|d| d.day);
    days.dedup_by_key(|d| d.day);
    let reasons: Vec<Option<String>> = days
        .iter()
        .enumerate()
        .map(|(i, d)| v.optional_text(&format!("days_off[{i}].reason"), d.reason.as_deref(), 200))
        .collect();
    v.finish()?;
    let windows = windows.unwrap_or_default();
    let today = Utc::now().date_naive();
    db::write(db, async |txn| {
        availability::Entity::delete_many().filter(availability::Column::InstructorId.eq(id)).exec(txn).await?;
        for w in &windows {
            availability::ActiveModel {
                instructor_id: Set(id),
                weekday: Set(w.weekday),
                start_minute: Set(w.start_minute),
                end_minute: Set(w.end_minute),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
        day_off::Entity::delete_many()
            .filter(day_off::Column::InstructorId.eq(id))
            .filter(day_off::Column::Day.gte(today))
            .exec(txn)
            .await?;
        for (d, reason) in days.into_iter().zip(reasons).filter(|(d, _)| d.day >= today) {
            day_off::ActiveModel { instructor_id: Set(id), day: Set(d.day), reason: Set(reason) }.insert(txn).await?;
        }
        let after = availability(txn, actor.org, id).await?;
        audit::record_change(txn, actor, ("instructor_availability", id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(weekday: i16, start: &str, end: &str) -> WeeklySlot {
        WeeklySlot { weekday, start: start.into(), end: end.into() }
    }

    #[test]
    fn a_week_is_sorted_and_checked() {
        let week = check_week(&[slot(2, "14:00", "18:00"), slot(1, "08:00", "12:00"), slot(1, "13:30", "24:00")])
            .expect("valid week");
        assert_eq!(
            week,
            vec![
                Window { weekday: 1, start_minute: 480, end_minute: 720 },
                Window { weekday: 1, start_minute: 810, end_minute: 1440 },
                Window { weekday: 2, start_minute: 840, end_minute: 1080 },
            ]
        );
    }

    #[test]
    fn bad_weeks_are_refused_with_their_reason() {
        let key = |slots: &[WeeklySlot]| check_week(slots).expect_err("refused").key;
        assert_eq!(key(&[slot(8, "08:00", "09:00")]), "school.weekday_invalid");
        assert_eq!(key(&[slot(1, "8h", "09:00")]), "school.time_invalid");
        assert_eq!(key(&[slot(1, "10:00", "09:00")]), "school.window_empty");
        assert_eq!(key(&[slot(1, "08:00", "12:00"), slot(1, "11:00", "13:00")]), "school.windows_overlap");
    }
}
