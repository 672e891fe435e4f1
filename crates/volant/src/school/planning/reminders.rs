//! The day-before reminder: each scheduled lesson starting tomorrow (in its
//! school's time zone) is reminded once. The claim is a conditional UPDATE, so
//! several instances running the task at once send each reminder once.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::lesson;
use super::service::{LessonStatus, notify_candidate, view};
use crate::identity::organizations::service as organizations;
use crate::platform::db::{self, Writer};
use crate::platform::error::AppResult;
use crate::platform::tenant::OrgId;

/// Queues the reminders due at `now`; returns how many were sent.
pub async fn send_due<C: Writer>(db: &C, now: DateTime<Utc>) -> AppResult<u64> {
    let mut zones: HashMap<i64, Tz> = HashMap::new();
    let mut sent = 0;
    let mut after = 0_i64;
    loop {
        // Tomorrow, wherever the school is, starts within 48 hours.
        let batch = lesson::Entity::find()
            .filter(lesson::Column::Status.eq(LessonStatus::Scheduled))
            .filter(lesson::Column::StartsAt.gt(now))
            .filter(lesson::Column::StartsAt.lt(now + Duration::hours(48)))
            .filter(lesson::Column::ReminderSentAt.is_null())
            .filter(lesson::Column::Id.gt(after))
            .order_by_asc(lesson::Column::Id)
            .limit(500)
            .all(db)
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for row in batch {
            let zone = match zones.get(&row.organization_id) {
                Some(zone) => *zone,
                None => {
                    let org = OrgId::new(row.organization_id);
                    let zone = organizations::zone(db, org).await?;
                    zones.insert(row.organization_id, zone);
                    zone
                }
            };
            let tomorrow = now.with_timezone(&zone).date_naive() + Duration::days(1);
            if row.starts_at.with_timezone(&zone).date_naive() != tomorrow {
                continue;
            }
            let org = OrgId::new(row.organization_id);
            sent += db::write(db, async |txn| {
                let claimed = lesson::Entity::update_many()
                    .col_expr(lesson::Column::ReminderSentAt, Expr::value(Some(now)))
                    .filter(lesson::Column::Id.eq(row.id))
                    .filter(lesson::Column::ReminderSentAt.is_null())
                    .filter(lesson::Column::Status.eq(LessonStatus::Scheduled))
                    .exec(txn)
                    .await?;
                if claimed.rows_affected != 1 {
                    return AppResult::Ok(0);
                }
                let lesson = view(txn, org, row).await?;
                notify_candidate(txn, org, "lesson.notice_reminder", &lesson).await?;
                Ok(1)
            })
            .await?;
        }
    }
    if sent > 0 {
        tracing::info!(sent, "lesson reminders queued");
    }
    Ok(sent)
}
