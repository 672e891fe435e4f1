//! Private iCalendar feeds: an instructor or a candidate subscribes to their
//! lessons from a phone's calendar. The URL's secret is the credential (stored
//! as SHA-256); a new feed revokes the previous one, and a revoked URL is a 404.

use chrono::{Duration, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;

use super::entity::calendar_feed;
use super::service::{self as planning, LessonFilter, LessonStatus};
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::secrets::{random_token, token_hash};
use crate::platform::tenant::OrgId;
use crate::school::access::Viewer;

/// How far back and ahead a feed reaches.
const PAST_DAYS: i64 = 30;
const AHEAD_DAYS: i64 = 180;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarFeed {
    /// The private address to subscribe to (shown once: keep it secret).
    pub url: String,
}

fn no_planning() -> AppError {
    AppError::Conflict { code: "no_own_planning", field: None, message: Msg::new("calendar.no_own_planning") }
}

fn owner_filter(viewer: Viewer) -> AppResult<sea_orm::Condition> {
    Ok(match viewer {
        Viewer::Instructor(id) => sea_orm::Condition::all().add(calendar_feed::Column::InstructorId.eq(id)),
        Viewer::Candidate(id) => sea_orm::Condition::all().add(calendar_feed::Column::CandidateId.eq(id)),
        Viewer::School | Viewer::Nobody => return Err(no_planning()),
    })
}

async fn revoke_all(txn: &impl ConnectionTrait, viewer: Viewer) -> AppResult<u64> {
    let revoked = calendar_feed::Entity::update_many()
        .col_expr(calendar_feed::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(owner_filter(viewer)?)
        .filter(calendar_feed::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(revoked.rows_affected)
}

/// A new private feed of the viewer's own lessons; the previous one stops working.
pub async fn create<C: Writer>(db: &C, actor: &Actor, viewer: Viewer, public_url: &str) -> AppResult<CalendarFeed> {
    let (instructor_id, candidate_id) = match viewer {
        Viewer::Instructor(id) => (Some(id), None),
        Viewer::Candidate(id) => (None, Some(id)),
        Viewer::School | Viewer::Nobody => return Err(no_planning()),
    };
    let token = random_token(24)?;
    db::write(db, async |txn| {
        revoke_all(txn, viewer).await?;
        let saved = calendar_feed::ActiveModel {
            organization_id: Set(actor.org.get()),
            instructor_id: Set(instructor_id),
            candidate_id: Set(candidate_id),
            token_hash: Set(token_hash(&token)),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        audit::record(
            txn,
            Some(actor),
            None,
            audit::Event {
                action: audit::Action::Create,
                entity: Some(("calendar_feed", saved.id.to_string())),
                changes: None,
            },
        )
        .await?;
        AppResult::Ok(())
    })
    .await?;
    Ok(CalendarFeed { url: format!("{public_url}/calendar/{token}.ics") })
}

/// Stops the viewer's feed; true when there was one.
pub async fn revoke<C: Writer>(db: &C, viewer: Viewer) -> AppResult<bool> {
    let revoked = db::write(db, async |txn| revoke_all(txn, viewer).await).await?;
    Ok(revoked > 0)
}

/// The feed behind a secret, as `text/calendar`; unknown or revoked is a 404.
pub async fn render(db: &impl ConnectionTrait, token: &str) -> AppResult<String> {
    let feed = calendar_feed::Entity::find()
        .filter(calendar_feed::Column::TokenHash.eq(token_hash(token)))
        .filter(calendar_feed::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let org = OrgId::new(feed.organization_id);
    let viewer = match (feed.instructor_id, feed.candidate_id) {
        (Some(id), _) => Viewer::Instructor(id),
        (None, Some(id)) => Viewer::Candidate(id),
        (None, None) => return Err(AppError::NotFound),
    };
    let now = Utc::now();
    let mut lessons = Vec::new();
    // The planning answers at most 62 days at a time.
    let mut from = now - Duration::days(PAST_DAYS);
    while from < now + Duration::days(AHEAD_DAYS) {
        let to = from + Duration::days(60);
        let filter =
            LessonFilter { from: Some(from), to: Some(to), include_cancelled: true, ..LessonFilter::default() };
        lessons.extend(planning::list(db, org, viewer, &filter).await?);
        from = to;
    }
    let locale = crate::identity::organizations::service::get(db, org).await?.locale;
    let mut calendar = Calendar::new();
    calendar.name(locale.text("calendar.name"));
    for lesson in &lessons {
        let kind = locale.text(lesson.kind.label_key());
        let who = match viewer {
            Viewer::Instructor(_) => lesson.candidate_name.clone(),
            _ => lesson.instructor_name.clone(),
        };
        let mut description = match &lesson.vehicle_label {
            Some(car) => format!("{who} · {car}"),
            None => who.clone(),
        };
        if let Some(notes) = &lesson.notes {
            description.push('\n');
            description.push_str(notes);
        }
        let mut event = Event::new();
        event
            .uid(&format!("lesson-{}@volant", lesson.id))
            .summary(&format!("{kind} · {who}"))
            .description(&description)
            .starts(lesson.starts_at)
            .ends(lesson.ends_at)
            .status(if lesson.status == LessonStatus::Cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            });
        if let Some(place) = &lesson.meeting_point {
            event.location(place);
        }
        calendar.push(event.done());
    }
    Ok(calendar.done().to_string())
}
