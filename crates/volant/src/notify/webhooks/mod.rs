//! Webhooks: an organization subscribes URLs to events (a quote accepted, an
//! invoice paid, a lesson moved…); each event becomes, per subscribed endpoint, a
//! delivery and its job, inserted in the transaction of the change (nothing lost,
//! nothing sent for a change rolled back), then POSTed by a worker, signed as the
//! Standard Webhooks scheme says (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), retried with
//! the queue's backoff, and logged (status, time, the answer's first bytes). An
//! endpoint failing for days is disabled and the administrators told.
//!
//! Outgoing requests reach only public addresses (an SSRF guard: the name is
//! resolved and loopback, private and link-local addresses refused, at subscription
//! and at every connection), unless the instance allows private hosts
//! (`VOLANT_WEBHOOK_ALLOW_PRIVATE_HOSTS`, tests).

pub mod api;
pub mod web;

use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::identity::audit::{self, Actor};
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer, table};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::jobs::{self, ClaimedJob, JobError, JobResult, NewJob};
use crate::platform::outbound;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

pub const DELIVERY_JOB: &str = "notify.webhook";
/// The encrypted field's name (bound into its ciphertext).
const SECRET_FIELD: &str = "webhook_endpoints/secret";
const AUDIT_ENTITY: &str = "webhook";
/// Attempts per delivery: ten seconds doubled up to an hour, about five hours in all.
const MAX_ATTEMPTS: i32 = 12;
/// An endpoint failing without a success for this long is disabled.
pub const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(3);
/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer the delivery log keeps.
const EXCERPT_BYTES: usize = 1024;
/// At most this many endpoints per organization.
const MAX_ENDPOINTS: u64 = 20;

/// What an endpoint may subscribe to. The list may grow: a receiver ignores a
/// type it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookEvent {
    QuoteSent,
    QuoteAccepted,
    QuoteDeclined,
    InvoiceIssued,
    InvoicePaid,
    InterventionCompleted,
    AlertRaised,
    LessonBooked,
    LessonMoved,
    LessonCancelled,
    ExamResultValidated,
    CandidateCreated,
}

impl WebhookEvent {
    pub const ALL: [Self; 12] = [
        Self::QuoteSent,
        Self::QuoteAccepted,
        Self::QuoteDeclined,
        Self::InvoiceIssued,
        Self::InvoicePaid,
        Self::InterventionCompleted,
        Self::AlertRaised,
        Self::LessonBooked,
        Self::LessonMoved,
        Self::LessonCancelled,
        Self::ExamResultValidated,
        Self::CandidateCreated,
    ];

    /// The event's `type`, as receivers see it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::QuoteSent => "quote.sent",
            Self::QuoteAccepted => "quote.accepted",
            Self::QuoteDeclined => "quote.declined",
            Self::InvoiceIssued => "invoice.issued",
            Self::InvoicePaid => "invoice.paid",
            Self::InterventionCompleted => "intervention.completed",
            Self::AlertRaised => "alert.raised",
            Self::LessonBooked => "lesson.booked",
            Self::LessonMoved => "lesson.moved",
            Self::LessonCancelled => "lesson.cancelled",
            Self::ExamResultValidated => "exam_result.validated",
            Self::CandidateCreated => "candidate.created",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// The key of its name in the catalogues (`webhook.event.quote.sent`).
    pub fn label_key(self) -> String {
        format!("webhook.event.{}", self.as_str())
    }
}

impl Serialize for WebhookEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WebhookEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|e| e.as_str()).collect();
            serde::de::Error::custom(format!("unknown event `{text}`, expected one of {}", known.join(", ")))
        })
    }
}

impl utoipa::PartialSchema for WebhookEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::ALL.map(Self::as_str)))
            .description(Some("An event an endpoint may subscribe to; the list may grow."))
            .into()
    }
}

impl utoipa::ToSchema for WebhookEvent {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("WebhookEvent")
    }
}

/// An endpoint as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Endpoint {
    pub id: i64,
    #[schema(example = "https://erp.example.fr/hooks/volant")]
    pub url: String,
    pub description: String,
    pub events: Vec<WebhookEvent>,
    /// Deliveries go out; `false` when turned off, or disabled after failing for days.
    pub enabled: bool,
    /// Why it was disabled, when Volant did it.
    pub disabled_reason: Option<String>,
    /// Since when every delivery failed (no success since).
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An endpoint with its signing secret (`whsec_…`): the creation's answer and
/// the endpoint's own page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The key receivers check signatures with (Standard Webhooks format).
    pub secret: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EndpointInput {
    /// `https://…` (or `http://`); a public address unless the instance allows private ones.
    #[schema(required = true, nullable = false, example = "https://erp.example.fr/hooks/volant")]
    pub url: Option<String>,
    #[schema(nullable = false, example = "ERP comptable")]
    pub description: Option<String>,
    /// At least one.
    #[schema(required = true, nullable = false, min_items = 1, example = json!(["quote.accepted", "invoice.paid"]))]
    pub events: Option<Vec<WebhookEvent>>,
}

/// Changes to an endpoint (absent fields are kept). Turning it on again clears
/// its failures.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EndpointPatch {
    #[schema(nullable = false)]
    pub url: Option<String>,
    #[schema(nullable = false)]
    pub description: Option<String>,
    #[schema(nullable = false, min_items = 1)]
    pub events: Option<Vec<WebhookEvent>>,
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
}

/// One delivery of one event to one endpoint, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    /// The event's type (`ping` for a test).
    pub event: String,
    /// `webhook-id`: the same for a replay, so receivers can tell.
    pub message_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// The receiver's last HTTP status, if it answered.
    pub response_status: Option<i32>,
    /// How long the last attempt took, in milliseconds.
    pub response_ms: Option<i64>,
    /// Why the last attempt failed, or the first bytes of the answer.
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The body sent (`{"type", "timestamp", "data"}`).
    pub payload: Value,
}

fn endpoint_of(m: &endpoint::Model) -> Endpoint {
    Endpoint {
        id: m.id,
        url: m.url.clone(),
        description: m.description.clone(),
        events: m.events.split_whitespace().filter_map(WebhookEvent::parse).collect(),
        enabled: m.enabled,
        disabled_reason: m.disabled_reason.clone(),
        failing_since: m.failing_since,
        created_at: m.created_at,
    }
}

fn delivery_of(m: delivery::Model) -> Delivery {
    Delivery {
        id: m.id,
        endpoint_id: m.endpoint_id,
        event: m.event,
        message_id: m.message_id,
        status: m.status,
        attempts: m.attempts,
        response_status: m.response_status,
        response_ms: m.response_ms,
        last_error: m.last_error,
        last_attempt_at: m.last_attempt_at,
        delivered_at: m.delivered_at,
        created_at: m.created_at,
        payload: serde_json::from_str(&m.payload).unwrap_or(Value::Null),
    }
}

fn new_secret() -> AppResult<String> {
    let mut key = [0_u8; 24];
    getrandom::fill(&mut key).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key)))
}

/// The Standard Webhooks signature header's value for this message.
pub fn signature(secret: &str, message_id: &str, timestamp: i64, body: &str) -> AppResult<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|_| AppError::Internal("webhook secret".into()))?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|_| AppError::Internal("hmac key".into()))?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())))
}

/// The HTTP client of deliveries: see [`outbound::client`].
pub fn client(allow_private: bool) -> Result<reqwest::Client, String> {
    outbound::client(concat!("Volant-Webhooks/", env!("CARGO_PKG_VERSION")), TIMEOUT, allow_private)
}

fn validate_events(v: &mut Validator, events: Option<&Vec<WebhookEvent>>) -> String {
    let mut events: Vec<WebhookEvent> = events.cloned().unwrap_or_default();
    events.sort_unstable();
    events.dedup();
    if events.is_empty() {
        v.add("events", Msg::new("webhook.events_required"));
    }
    events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" ")
}

async fn checked_url(v: &mut Validator, url: Option<&str>, allow_private: bool) -> String {
    let Some(url) = v.required_text("url", url, 500) else { return String::new() };
    match outbound::check_url(&url, allow_private).await {
        Ok(parsed) => parsed.to_string(),
        Err(refused) => {
            v.add("url", Msg::new(refused.message_key()));
            url
        }
    }
}

async fn row(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<endpoint::Model> {
    endpoint::Entity::find_by_id(id)
        .filter(endpoint::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn list(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<Endpoint>> {
    let rows = endpoint::Entity::find()
        .filter(endpoint::Column::OrganizationId.eq(org.get()))
        .order_by_asc(endpoint::Column::Id)
        .all(db)
        .await?;
    Ok(rows.iter().map(endpoint_of).collect())
}

pub async fn get(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    id: i64,
) -> AppResult<EndpointWithSecret> {
    let found = row(db, org, id).await?;
    Ok(EndpointWithSecret { endpoint: endpoint_of(&found), secret: cipher.decrypt(SECRET_FIELD, &found.secret)? })
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(
    db: &C,
    (cipher, allow_private): (&FieldCipher, bool),
    actor: &Actor,
    input: &EndpointInput,
) -> AppResult<EndpointWithSecret> {
    let mut v = Validator::new();
    let url = checked_url(&mut v, input.url.as_deref(), allow_private).await;
    let description = input.description.as_deref().map(str::trim).unwrap_or_default().chars().take(200).collect();
    let events = validate_events(&mut v, input.events.as_ref());
    v.finish()?;
    let secret = new_secret()?;
    let sealed = cipher.encrypt(SECRET_FIELD, &secret)?;
    let created = db::write(db, async |txn| {
        let count =
            endpoint::Entity::find().filter(endpoint::Column::OrganizationId.eq(actor.org.get())).count(txn).await?;
        if count >= MAX_ENDPOINTS {
            return Err(AppError::conflict("webhook_limit", Msg::new("webhook.limit").arg("max", MAX_ENDPOINTS)));
        }
        let now = Utc::now();
        let model = endpoint::ActiveModel {
            organization_id: Set(actor.org.get()),
            url: Set(url.clone()),
            description: Set(description),
            events: Set(events.clone()),
            secret: Set(sealed.clone()),
            enabled: Set(true),
            disabled_reason: Set(None),
            failing_since: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let created = endpoint_of(&model);
        audit::record_change(txn, actor, (AUDIT_ENTITY, created.id), None, Some(&created)).await?;
        Ok(created)
    })
    .await?;
    Ok(EndpointWithSecret { endpoint: created, secret })
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update<C: Writer>(
    db: &C,
    allow_private: bool,
    actor: &Actor,
    id: i64,
    patch: &EndpointPatch,
) -> AppResult<Endpoint> {
    let found = row(db, actor.org, id).await?;
    let mut v = Validator::new();
    let url = match &patch.url {
        Some(url) => checked_url(&mut v, Some(url), allow_private).await,
        None => found.url.clone(),
    };
    let events = match &patch.events {
        Some(events) => validate_events(&mut v, Some(events)),
        None => found.events.clone(),
    };
    v.finish()?;
    db::write(db, async |txn| {
        let before = endpoint_of(&found);
        let mut active: endpoint::ActiveModel = found.clone().into();
        active.url = Set(url.clone());
        active.events = Set(events.clone());
        if let Some(description) = &patch.description {
            active.description = Set(description.trim().chars().take(200).collect());
        }
        if let Some(enabled) = patch.enabled {
            active.enabled = Set(enabled);
            if enabled && !found.enabled {
                active.disabled_reason = Set(None);
                active.failing_since = Set(None);
            }
        }
        active.updated_at = Set(Utc::now());
        let after = endpoint_of(&active.update(txn).await?);
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let found = row(db, actor.org, id).await?;
    db::write(db, async |txn| {
        delivery::Entity::delete_many().filter(delivery::Column::EndpointId.eq(id)).exec(txn).await?;
        endpoint::Entity::delete_by_id(id).exec(txn).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&endpoint_of(&found)), None).await
    })
    .await
}

/// An endpoint's deliveries, newest first (at most `limit`, before `before`).
pub async fn deliveries(
    db: &impl ConnectionTrait,
    org: OrgId,
    id: i64,
    before: Option<i64>,
    limit: u64,
) -> AppResult<Vec<Delivery>> {
    row(db, org, id).await?;
    let mut query = delivery::Entity::find()
        .filter(delivery::Column::OrganizationId.eq(org.get()))
        .filter(delivery::Column::EndpointId.eq(id));
    if let Some(before) = before {
        query = query.filter(delivery::Column::Id.lt(before));
    }
    Ok(query.order_by_desc(delivery::Column::Id).limit(limit).all(db).await?.into_iter().map(delivery_of).collect())
}

fn message_id() -> AppResult<String> {
    Ok(format!("msg_{}", crate::platform::secrets::random_token(12)?))
}

/// A delivery of `payload` to `endpoint_id` and its job, in the caller's transaction.
async fn enqueue_delivery(
    db: &impl ConnectionTrait,
    org: OrgId,
    endpoint_id: i64,
    (event, message_id): (&str, &str),
    payload: &str,
) -> AppResult<delivery::Model> {
    let model = delivery::ActiveModel {
        organization_id: Set(org.get()),
        endpoint_id: Set(endpoint_id),
        event: Set(event.to_owned()),
        message_id: Set(message_id.to_owned()),
        payload: Set(payload.to_owned()),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        response_status: Set(None),
        response_ms: Set(None),
        last_error: Set(None),
        last_attempt_at: Set(None),
        delivered_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut job = NewJob::new(DELIVERY_JOB, json!({ "id": model.id })).for_org(org);
    job.max_attempts = MAX_ATTEMPTS;
    jobs::enqueue(db, job).await?;
    Ok(model)
}

/// The organization's enabled endpoints subscribed to `event`.
/// The organization's enabled endpoints subscribed to `event`. `locked`: their
/// rows are held (`FOR SHARE` on PostgreSQL; SQLite's writers take turns) until the
/// caller's transaction ends, so that an endpoint deleted meanwhile is deleted
/// after the deliveries this transaction inserts for it (its cascade takes them),
/// never between the read and the insert (a foreign-key failure that would undo
/// the business change itself).
async fn subscribed(
    db: &impl ConnectionTrait,
    org: OrgId,
    event: WebhookEvent,
    locked: bool,
) -> AppResult<Vec<endpoint::Model>> {
    let mut query = endpoint::Entity::find()
        .filter(endpoint::Column::OrganizationId.eq(org.get()))
        .filter(endpoint::Column::Enabled.eq(true));
    if locked {
        query = query.lock_shared();
    }
    let endpoints = query.all(db).await?;
    Ok(endpoints.into_iter().filter(|e| e.events.split_whitespace().any(|code| code == event.as_str())).collect())
}

/// Whether any enabled endpoint of the organization subscribes to `event`: a
/// caller with a batch of events (the hourly alerts) asks once, and gathers
/// their data only then.
pub async fn wants(db: &impl ConnectionTrait, org: OrgId, event: WebhookEvent) -> AppResult<bool> {
    Ok(!subscribed(db, org, event, false).await?.is_empty())
}

/// Tells the organization's subscribed endpoints that `event` happened, with
/// `data` (ids and the main facts; receivers fetch the rest through the API).
/// Call it with the transaction of the change.
pub async fn emit(db: &impl ConnectionTrait, org: OrgId, event: WebhookEvent, data: Value) -> AppResult<()> {
    let subscribed = subscribed(db, org, event, true).await?;
    if subscribed.is_empty() {
        return Ok(());
    }
    let payload = json!({ "type": event.as_str(), "timestamp": Utc::now().to_rfc3339(), "data": data }).to_string();
    for endpoint in subscribed {
        enqueue_delivery(db, org, endpoint.id, (event.as_str(), &message_id()?), &payload).await?;
    }
    Ok(())
}

/// A `ping` to one endpoint, to try it from its page.
pub async fn ping<C: Writer>(db: &C, org: OrgId, id: i64) -> AppResult<Delivery> {
    let found = row(db, org, id).await?;
    let payload = json!({ "type": "ping", "timestamp": Utc::now().to_rfc3339(), "data": { "endpoint_id": found.id } })
        .to_string();
    let message = message_id()?;
    db::write(db, async |txn| {
        Ok(delivery_of(enqueue_delivery(txn, org, found.id, ("ping", &message), &payload).await?))
    })
    .await
}

/// The same message sent again (same `webhook-id` and body, a new signature).
pub async fn replay<C: Writer>(db: &C, org: OrgId, id: i64, delivery_id: i64) -> AppResult<Delivery> {
    row(db, org, id).await?;
    let original = delivery::Entity::find_by_id(delivery_id)
        .filter(delivery::Column::OrganizationId.eq(org.get()))
        .filter(delivery::Column::EndpointId.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    db::write(db, async |txn| {
        let again = enqueue_delivery(txn, org, id, (&original.event, &original.message_id), &original.payload).await?;
        Ok(delivery_of(again))
    })
    .await
}

/// The delivery job: one POST, its outcome logged; a failure is retried by the
/// queue, and an endpoint failing for [`DISABLE_AFTER`] is disabled.
pub async fn deliver(
    db: &DatabaseConnection,
    (cipher, allow_private): (&FieldCipher, bool),
    client: &reqwest::Client,
    job: &ClaimedJob,
) -> JobResult {
    let id = job.id_field("id")?;
    let Some(found) = delivery::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    if found.status != "pending" {
        return Ok(());
    }
    let Some(target) = endpoint::Entity::find_by_id(found.endpoint_id).one(db).await? else { return Ok(()) };
    if !target.enabled {
        finish(db, &found, Attempt::skipped()).await?;
        return Ok(());
    }
    let secret = cipher.decrypt(SECRET_FIELD, &target.secret).map_err(|e| JobError(e.to_string()))?;
    let timestamp = Utc::now().timestamp();
    let signed =
        signature(&secret, &found.message_id, timestamp, &found.payload).map_err(|e| JobError(e.to_string()))?;
    // The resolver keeps names public; an address written as such is checked here.
    if !allow_private && outbound::names_internal_address(&target.url) {
        let attempt =
            Attempt { status: None, ms: None, error: Some("internal address: refused".into()), skipped: false };
        finish_attempt(db, &found, &target, attempt, true).await?;
        return Ok(());
    }
    let started = Instant::now();
    let sent = client
        .post(&target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &found.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signed)
        .body(found.payload.clone())
        .send()
        .await;
    let attempt = match sent {
        Ok(mut response) => {
            let status = response.status();
            // The first kilobyte only: a receiver may answer without end.
            let mut head = Vec::new();
            while head.len() < EXCERPT_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            head.truncate(EXCERPT_BYTES);
            let excerpt = String::from_utf8_lossy(&head).into_owned();
            Attempt {
                status: Some(i32::from(status.as_u16())),
                ms: Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
                error: (!status.is_success()).then(|| format!("HTTP {status}: {excerpt}")),
                skipped: false,
            }
        }
        Err(err) => Attempt {
            status: None,
            ms: Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
            error: Some(outbound::describe(err)),
            skipped: false,
        },
    };
    let failed = attempt.error.clone();
    let last = job.is_last_attempt();
    finish_attempt(db, &found, &target, attempt, last).await?;
    match failed {
        Some(error) if !last => Err(JobError(error)),
        _ => Ok(()),
    }
}

struct Attempt {
    status: Option<i32>,
    ms: Option<i64>,
    error: Option<String>,
    skipped: bool,
}

impl Attempt {
    fn skipped() -> Self {
        Self { status: None, ms: None, error: Some("endpoint disabled: not sent".into()), skipped: true }
    }
}

async fn finish(db: &DatabaseConnection, found: &delivery::Model, attempt: Attempt) -> Result<(), JobError> {
    let mut active: delivery::ActiveModel = found.clone().into();
    active.status = Set(if attempt.error.is_none() { "delivered" } else { "failed" }.to_owned());
    active.last_error = Set(attempt.error);
    if !attempt.skipped {
        active.attempts = Set(found.attempts + 1);
    }
    active.update(db).await?;
    Ok(())
}

async fn finish_attempt(
    db: &DatabaseConnection,
    found: &delivery::Model,
    target: &endpoint::Model,
    attempt: Attempt,
    last: bool,
) -> Result<(), JobError> {
    let now = Utc::now();
    let ok = attempt.error.is_none();
    let disable = !ok && target.failing_since.is_some_and(|since| now - since >= DISABLE_AFTER);
    let result: AppResult<()> = db::write(db, async |txn| {
        let mut active: delivery::ActiveModel = found.clone().into();
        active.attempts = Set(found.attempts + 1);
        active.response_status = Set(attempt.status);
        active.response_ms = Set(attempt.ms);
        active.last_error = Set(attempt.error.clone().map(|e| e.chars().take(EXCERPT_BYTES).collect()));
        active.last_attempt_at = Set(Some(now));
        if ok {
            active.status = Set("delivered".into());
            active.delivered_at = Set(Some(now));
        } else if last || disable {
            active.status = Set("failed".into());
        }
        active.update(txn).await?;
        if ok {
            endpoint::Entity::update_many()
                .col_expr(endpoint::Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(endpoint::Column::Id.eq(target.id))
                .exec(txn)
                .await?;
        } else if target.failing_since.is_none() {
            endpoint::Entity::update_many()
                .col_expr(endpoint::Column::FailingSince, Expr::value(now))
                .filter(endpoint::Column::Id.eq(target.id))
                .filter(endpoint::Column::FailingSince.is_null())
                .exec(txn)
                .await?;
        } else if disable {
            disable_failing(txn, target).await?;
        }
        Ok(())
    })
    .await;
    result.map_err(|e| JobError(e.to_string()))
}

/// Turns an endpoint off after days of failures and tells the administrators.
async fn disable_failing(txn: &impl ConnectionTrait, target: &endpoint::Model) -> AppResult<()> {
    let org = OrgId::new(target.organization_id);
    // Decided on the row as it is now: a success or a re-enabling since this
    // attempt's read cleared `failing_since`, and the endpoint stays on.
    let changed = endpoint::Entity::update_many()
        .col_expr(endpoint::Column::Enabled, Expr::value(false))
        .col_expr(endpoint::Column::DisabledReason, Expr::value("failing"))
        .filter(endpoint::Column::Id.eq(target.id))
        .filter(endpoint::Column::Enabled.eq(true))
        .filter(endpoint::Column::FailingSince.lte(Utc::now() - DISABLE_AFTER))
        .exec(txn)
        .await?
        .rows_affected;
    if changed == 0 {
        return Ok(());
    }
    tracing::warn!(
        endpoint_id = target.id,
        organization_id = org.get(),
        "webhook endpoint disabled after failing for days"
    );
    let locale = crate::identity::organizations::service::get(txn, org).await?.locale;
    let title = Msg::new("webhook.disabled_title").render(locale);
    // The host only: a URL's path or query may hold the receiver's token.
    let host = url::Url::parse(&target.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let body = Msg::new("webhook.disabled_body").arg("url", host).render(locale);
    let admins = crate::identity::users::service::with_roles(txn, org, &[crate::identity::roles::Role::Admin]).await?;
    for (user_id, email) in admins {
        let notice = super::Notice::new(super::Event::IntegrationFailing, title.clone(), body.clone())
            .user(Some(user_id))
            .email(Some(email))
            .link(format!("/admin/webhooks/{}", target.id));
        super::send(txn, org, notice).await?;
    }
    Ok(())
}

/// Re-encrypts the secrets still under an older key (`volant reencrypt-fields`).
pub async fn reencrypt_all<C: Writer>(db: &C, cipher: &FieldCipher) -> AppResult<u64> {
    let mut changed = 0;
    for found in endpoint::Entity::find().all(db).await? {
        if cipher.is_stale(&found.secret) {
            let sealed = cipher.encrypt(SECRET_FIELD, &cipher.decrypt(SECRET_FIELD, &found.secret)?)?;
            endpoint::Entity::update_many()
                .col_expr(endpoint::Column::Secret, Expr::value(sealed))
                .filter(endpoint::Column::Id.eq(found.id))
                .exec(db)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

table! {
    pub mod endpoint = "webhook_endpoints" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub url: String,
        pub description: String,
        /// The events' types, separated by spaces.
        pub events: String,
        /// `whsec_…`, encrypted.
        pub secret: String,
        pub enabled: bool,
        pub disabled_reason: Option<String>,
        pub failing_since: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod delivery = "webhook_deliveries" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub endpoint_id: i64,
        pub event: String,
        pub message_id: String,
        #[sea_orm(column_type = "Text")]
        pub payload: String,
        pub status: String,
        pub attempts: i32,
        pub response_status: Option<i32>,
        pub response_ms: Option<i64>,
        pub last_error: Option<String>,
        pub last_attempt_at: Option<DateTimeUtc>,
        pub delivered_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification (its reference libraries' test).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signed = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body).expect("signature");
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn event_types_read_back() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
        }
        assert!(serde_json::from_str::<WebhookEvent>("\"quote.exploded\"").is_err());
    }
}
