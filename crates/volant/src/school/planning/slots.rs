//! Free slots of a candidate's instructor, and booking one by the candidate
//! (when the school allows it): an hour of driving in a free training car of the
//! candidate's category, under every booking rule.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::lesson;
use super::service::{self as planning, Lesson, LessonInput, LessonKind, LessonStatus};
use crate::identity::audit::Actor;
use crate::identity::organizations::service as organizations;
use crate::platform::db::Writer;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::school::candidates::service as candidates;
use crate::school::cars::service as vehicles;
use crate::school::instructors::service as instructors;
use crate::school::settings::service as settings;

/// How far ahead candidates see free slots.
pub const DAYS_AHEAD: i64 = 14;
const SLOT_MINUTES: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct OwnBooking {
    #[schema(required = true, nullable = false, value_type = String, example = "2026-11-24T10:00:00+01:00")]
    pub starts_at: Option<DateTime<chrono::FixedOffset>>,
}

/// The hour-long slots of the candidate's instructor, free for both of them, in
/// the next two weeks (from an hour from now), in time order.
pub async fn free_slots(
    db: &impl ConnectionTrait,
    org: OrgId,
    candidate_id: i64,
    now: DateTime<Utc>,
) -> AppResult<Vec<Slot>> {
    let candidate = candidates::summary_of(db, org, candidate_id).await?;
    let Some(instructor_id) = candidate.instructor_id else {
        return Ok(Vec::new());
    };
    free_slots_with(db, org, (candidate_id, instructor_id), now).await
}

/// The hour-long slots of this instructor, free for both them and the candidate,
/// in the next two weeks (from an hour from now), in time order.
pub async fn free_slots_with(
    db: &impl ConnectionTrait,
    org: OrgId,
    (candidate_id, instructor_id): (i64, i64),
    now: DateTime<Utc>,
) -> AppResult<Vec<Slot>> {
    instructors::get(db, org, instructor_id).await?;
    let zone = organizations::zone(db, org).await?;
    let windows = instructors::windows_of(db, instructor_id).await?;
    let until = now + Duration::days(DAYS_AHEAD + 1);
    let busy: Vec<(DateTime<Utc>, DateTime<Utc>)> = lesson::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(lesson::Column::InstructorId.eq(instructor_id))
                .add(lesson::Column::CandidateId.eq(candidate_id)),
        )
        .filter(lesson::Column::StartsAt.gt(now - Duration::hours(8)))
        .filter(lesson::Column::StartsAt.lt(until))
        .filter(lesson::Column::Status.ne(LessonStatus::Cancelled))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.starts_at, l.ends_at))
        .collect();
    let earliest = now + Duration::hours(1);
    let today = now.with_timezone(&zone).date_naive();
    let days_off = instructors::days_off_between(db, instructor_id, today, today + Duration::days(DAYS_AHEAD)).await?;
    let mut slots = Vec::new();
    for offset in 0..=DAYS_AHEAD {
        let day = today + Duration::days(offset);
        if days_off.contains(&day) {
            continue;
        }
        let weekday = i16::try_from(day.weekday().number_from_monday()).unwrap_or(0);
        for w in windows.iter().filter(|w| w.weekday == weekday) {
            let mut minute = i64::from(w.start_minute);
            while minute + SLOT_MINUTES <= i64::from(w.end_minute) {
                let at = |m: i64| {
                    let time = NaiveTime::from_num_seconds_from_midnight_opt(u32::try_from(m * 60).ok()?, 0)?;
                    zone.from_local_datetime(&day.and_time(time)).earliest().map(|t| t.with_timezone(&Utc))
                };
                let start = at(minute);
                let end = if minute + SLOT_MINUTES == 24 * 60 {
                    start.map(|s| s + Duration::minutes(SLOT_MINUTES))
                } else {
                    at(minute + SLOT_MINUTES)
                };
                if let (Some(start), Some(end)) = (start, end)
                    && start >= earliest
                    && !busy.iter().any(|(s, e)| *s < end && *e > start)
                {
                    slots.push(Slot { starts_at: start, ends_at: end });
                }
                minute += SLOT_MINUTES;
            }
        }
    }
    slots.sort_by_key(|s| s.starts_at);
    Ok(slots)
}

/// A candidate books an hour with their instructor, in the first training car of
/// their category that every rule lets them have.
pub async fn book_own<C: Writer>(db: &C, actor: &Actor, candidate_id: i64, input: &OwnBooking) -> AppResult<Lesson> {
    let rules = settings::get(db, actor.org).await?;
    if !rules.candidates_may_book {
        return Err(AppError::Conflict {
            code: "self_booking_disabled",
            field: None,
            message: Msg::new("lesson.self_booking_disabled"),
        });
    }
    let mut v = Validator::new();
    let starts_at = v.required("starts_at", input.starts_at);
    v.finish()?;
    let starts_at = starts_at.ok_or_else(|| AppError::Internal("validator accepted a missing field".into()))?;
    if starts_at.with_timezone(&Utc) < Utc::now() {
        return Err(AppError::validation("starts_at", Msg::new("lesson.in_past")));
    }
    let candidate = candidates::summary_of(db, actor.org, candidate_id).await?;
    let Some(instructor_id) = candidate.instructor_id else {
        return Err(AppError::Conflict {
            code: "no_instructor",
            field: None,
            message: Msg::new("lesson.no_instructor"),
        });
    };
    let cars: Vec<i64> = vehicles::list(db, actor.org)
        .await?
        .into_iter()
        .filter(|v| v.active && v.category == candidate.category)
        .map(|v| v.vehicle_id)
        .collect();
    let mut last_refusal = None;
    for car in cars {
        let booking = LessonInput {
            candidate_id: Some(candidate_id),
            instructor_id: Some(instructor_id),
            vehicle_id: Some(car),
            kind: Some(LessonKind::Driving),
            starts_at: Some(starts_at),
            ends_at: Some(starts_at + Duration::minutes(SLOT_MINUTES)),
            meeting_point: None,
        };
        match planning::book(db, actor, &booking).await {
            Ok(lesson) => return Ok(lesson),
            Err(err @ AppError::ConflictWith { code: "vehicle_busy" | "vehicle_unsafe", .. }) => {
                last_refusal = Some(err);
            }
            Err(err) => return Err(err),
        }
    }
    Err(last_refusal.unwrap_or(AppError::Conflict {
        code: "no_vehicle_free",
        field: None,
        message: Msg::new("lesson.no_vehicle_free"),
    }))
}
