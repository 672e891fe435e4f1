//! The audit trail: who did what, when, from where, with the changed fields'
//! old and new values. Written in the same transaction as the change it records.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;

use axum::http::HeaderMap;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::platform::enums::string_enum;
use crate::platform::error::AppResult;
use crate::platform::ratelimit::client_ip;
use crate::platform::tenant::OrgId;

/// Who acts, for whom, from where: what every write needs to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub org: OrgId,
    /// `None` for the system itself (demo data, start-up tasks).
    pub user_id: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The system acting for an organization (no person, no request).
    pub fn system(org: OrgId) -> Self {
        Self { org, user_id: None, ip: None, user_agent: None, request_id: None }
    }

    pub fn from_request(
        org: OrgId,
        user_id: Option<i64>,
        headers: &HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Self {
        let header = |name: &str, max: usize| {
            headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(max).collect::<String>())
        };
        Self {
            org,
            user_id,
            ip: Some(client_ip(extensions)),
            user_agent: header("user-agent", 255),
            request_id: header("x-request-id", 64),
        }
    }
}

string_enum! {
    /// What happened.
    pub enum Action {
        Create,
        Update,
        Delete,
        Login,
        Logout,
        LoginFailed,
        PermissionDenied,
        /// A link to choose a password was sent (or handed over).
        PasswordLinkSent,
        /// A password was chosen through such a link.
        PasswordReset,
    }
}

/// One audit record to write.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: Action,
    pub entity: Option<(&'a str, String)>,
    pub changes: Option<Value>,
}

/// Appends a record. Call it with the transaction of the change it records.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    org: Option<OrgId>,
    event: Event<'_>,
) -> AppResult<()> {
    let (entity_type, entity_id) = match event.entity {
        Some((kind, id)) => (Some(kind.to_owned()), Some(id)),
        None => (None, None),
    };
    entity::ActiveModel {
        organization_id: Set(org.or(actor.map(|a| a.org)).map(OrgId::get)),
        occurred_at: Set(Utc::now()),
        actor_user_id: Set(actor.and_then(|a| a.user_id)),
        action: Set(event.action.as_str().to_owned()),
        entity_type: Set(entity_type),
        entity_id: Set(entity_id),
        changes: Set(event.changes.map(|c| c.to_string())),
        ip: Set(actor.and_then(|a| a.ip.clone())),
        user_agent: Set(actor.and_then(|a| a.user_agent.clone())),
        request_id: Set(actor.and_then(|a| a.request_id.clone())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records a sign-in event or a refusal for `user` (who may be unknown) from
/// the request described by `headers` and `extensions`.
pub async fn record_access(
    db: &impl ConnectionTrait,
    action: Action,
    user: Option<(OrgId, i64)>,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    details: Option<Value>,
) -> AppResult<()> {
    let org = user.map(|(org, _)| org);
    record_access_in(db, action, (org, user.map(|(_, id)| id)), headers, extensions, details).await
}

/// [`record_access`] in an organization known without its user (a single
/// sign-on refused before anyone was recognized).
pub async fn record_access_in(
    db: &impl ConnectionTrait,
    action: Action,
    (org, user): (Option<OrgId>, Option<i64>),
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    details: Option<Value>,
) -> AppResult<()> {
    let actor = Actor::from_request(org.unwrap_or(OrgId::new(0)), user, headers, extensions);
    let actor = Actor { user_id: if action == Action::LoginFailed { None } else { actor.user_id }, ..actor };
    let entity = user.map(|id| ("user", id.to_string()));
    let event = Event { action, entity, changes: details };
    let stored = entity::ActiveModel {
        organization_id: Set(org.map(OrgId::get)),
        occurred_at: Set(Utc::now()),
        actor_user_id: Set(actor.user_id),
        action: Set(event.action.as_str().to_owned()),
        entity_type: Set(event.entity.as_ref().map(|(k, _)| (*k).to_owned())),
        entity_id: Set(event.entity.map(|(_, id)| id)),
        changes: Set(event.changes.map(|c| c.to_string())),
        ip: Set(actor.ip),
        user_agent: Set(actor.user_agent),
        request_id: Set(actor.request_id),
        ..Default::default()
    };
    stored.insert(db).await?;
    Ok(())
}

/// Fields never worth recording: they change on every write or are derived.
const NOISE: [&str; 4] = ["created_at", "updated_at", "vehicle_count", "id"];

/// `{field: [old, new]}` for every field that differs between two states of an
/// entity (`None` before a creation, `None` after a deletion).
pub fn diff<T: Serialize>(before: Option<&T>, after: Option<&T>) -> Value {
    let as_map = |value: Option<&T>| match value.and_then(|v| serde_json::to_value(v).ok()) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let (old, new) = (as_map(before), as_map(after));
    let mut changes = Map::new();
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        if NOISE.contains(&key.as_str()) {
            continue;
        }
        let (o, n) = (old.get(key).unwrap_or(&Value::Null), new.get(key).unwrap_or(&Value::Null));
        if o != n {
            changes.insert(key.clone(), Value::Array(vec![o.clone(), n.clone()]));
        }
    }
    Value::Object(changes)
}

/// Records a change to an entity: create, update (only if something changed) or delete.
pub async fn record_change<T: Serialize>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    entity: (&str, i64),
    before: Option<&T>,
    after: Option<&T>,
) -> AppResult<()> {
    let action = match (before, after) {
        (None, _) => Action::Create,
        (Some(_), None) => Action::Delete,
        (Some(_), Some(_)) => Action::Update,
    };
    let changes = diff(before, after);
    if action == Action::Update && changes.as_object().is_some_and(Map::is_empty) {
        return Ok(());
    }
    record(
        db,
        Some(actor),
        None,
        Event { action, entity: Some((entity.0, entity.1.to_string())), changes: Some(changes) },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_fields_only() {
        let before = json!({ "id": 1, "name": "A", "city": "Lyon", "updated_at": "x" });
        let after = json!({ "id": 1, "name": "B", "city": "Lyon", "updated_at": "y" });
        assert_eq!(diff(Some(&before), Some(&after)), json!({ "name": ["A", "B"] }));
        assert_eq!(diff(None, Some(&after)), json!({ "name": [null, "B"], "city": [null, "Lyon"] }));
        assert_eq!(diff(Some(&before), None), json!({ "name": ["A", null], "city": ["Lyon", null] }));
    }
}
