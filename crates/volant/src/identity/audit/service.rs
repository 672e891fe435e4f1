//! Reading the audit trail: the organization's records, newest first, filtered.

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Action, entity};
use crate::platform::error::{AppError, AppResult};
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::tenant::OrgId;

/// One audit record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// The user who acted; `null` for the system or an unknown sign-in.
    pub actor_user_id: Option<i64>,
    /// `create`, `update`, `delete`, `login`, `logout`, `login_failed` or `permission_denied`.
    pub action: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Changed fields: `{"field": [old, new]}`; `null` for an event that changes
    /// nothing (a sign-in, a refusal).
    #[schema(value_type = Option<Object>)]
    pub changes: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl From<entity::Model> for AuditEntry {
    fn from(m: entity::Model) -> Self {
        Self {
            id: m.id,
            occurred_at: m.occurred_at,
            actor_user_id: m.actor_user_id,
            action: m.action,
            entity_type: m.entity_type,
            entity_id: m.entity_id,
            changes: m.changes.and_then(|c| serde_json::from_str(&c).ok()),
            ip: m.ip,
            user_agent: m.user_agent,
            request_id: m.request_id,
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this user's actions.
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub actor: Option<String>,
    /// `garage`, `vehicle`, …
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    /// From this instant (RFC 3339, e.g. `2026-11-01T00:00:00Z`), inclusive, or from
    /// the start of this day (`2026-11-01`) in the organization's time zone.
    pub from: Option<String>,
    /// Until this instant, exclusive, or to the end of this day (inclusive).
    pub to: Option<String>,
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// Validated filters.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<i64>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<Action>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl AuditQuery {
    /// The filters, days read in `zone` (the organization's).
    pub fn filter(&self, zone: chrono_tz::Tz) -> AppResult<AuditFilter> {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let bad = |name: &str| AppError::invalid_parameter(name, format!("invalid `{name}`"));
        // A day starts at its first local instant (where clocks skip midnight, the first
        // hour that exists); `to` a day means up to the next day's start.
        let day_start = |day: NaiveDate| {
            (0..=3)
                .filter_map(|hour| day.and_hms_opt(hour, 0, 0))
                .find_map(|t| zone.from_local_datetime(&t).earliest())
                .map(|t| t.with_timezone(&Utc))
        };
        let time = |v: &Option<String>, name: &str, days_after: u64| -> AppResult<Option<DateTime<Utc>>> {
            let Some(t) = text(v) else { return Ok(None) };
            if let Ok(instant) = DateTime::parse_from_rfc3339(&t) {
                return Ok(Some(instant.with_timezone(&Utc)));
            }
            // Years a database timestamp holds, and a person means.
            NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .ok()
                .filter(|d| (1970..=9999).contains(&d.year()))
                .and_then(|d| d.checked_add_days(Days::new(days_after)))
                .and_then(day_start)
                .map(Some)
                .ok_or_else(|| bad(name))
        };
        Ok(AuditFilter {
            actor: text(&self.actor).map(|a| a.parse::<i64>().map_err(|_| bad("actor"))).transpose()?,
            entity_type: text(&self.entity_type),
            entity_id: text(&self.entity_id),
            action: text(&self.action).map(|a| Action::parse(&a).ok_or_else(|| bad("action"))).transpose()?,
            from: time(&self.from, "from", 0)?,
            to: time(&self.to, "to", 1)?,
        })
    }
}

/// The organization's records matching `filter`, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &AuditFilter,
    page: PageRequest,
) -> AppResult<Page<AuditEntry>> {
    let mut query = entity::Entity::find()
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .order_by_desc(entity::Column::Id)
        .limit(page.fetch_limit());
    if let Some(before) = page.after {
        query = query.filter(entity::Column::Id.lt(before));
    }
    if let Some(actor) = filter.actor {
        query = query.filter(entity::Column::ActorUserId.eq(actor));
    }
    if let Some(kind) = &filter.entity_type {
        query = query.filter(entity::Column::EntityType.eq(kind.clone()));
    }
    if let Some(id) = &filter.entity_id {
        query = query.filter(entity::Column::EntityId.eq(id.clone()));
    }
    if let Some(action) = filter.action {
        query = query.filter(entity::Column::Action.eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(entity::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(entity::Column::OccurredAt.lt(to));
    }
    let rows = query.all(db).await?;
    Ok(Page::from_rows(rows, &page, |r| r.id).map(AuditEntry::from))
}
