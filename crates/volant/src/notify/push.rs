//! Web Push: notifications on a person's phone or computer even when Volant is
//! closed. A browser subscribes (its push service's address and two keys); each
//! notification the person's preferences send through `push` becomes one job per
//! device, which encrypts the message for that browser (RFC 8291, aes128gcm),
//! signs the request with the instance's VAPID key (RFC 8292) and posts it to the
//! push service (RFC 8030). A device the push service no longer knows (404, 410)
//! is forgotten.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use web_push_native::p256;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
use web_push_native::p256::pkcs8::EncodePrivateKey;

use super::entity::notification;
use crate::platform::db::{self, Writer, statement};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::jobs::{ClaimedJob, JobError, JobResult};
use crate::platform::outbound;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

/// The job that delivers one notification to one device.
pub const PUSH_JOB: &str = "notify.push";
/// The instance's VAPID private key (a P-256 scalar), kept with its other secrets.
const VAPID_SECRET: &str = "vapid_private_key";
/// How long a push service keeps a message for a device that is off: a day, after
/// which a lesson reminder is no news.
const TIME_TO_LIVE: Duration = Duration::from_secs(24 * 3600);
/// What a message may weigh before encryption (push services take 4 kB after it).
const MESSAGE_BYTES: usize = 3000;

/// The instance's VAPID key pair: the public key browsers subscribe with, the
/// private one that signs every request to a push service.
pub struct Vapid {
    der: Vec<u8>,
    public_key: String,
}

impl Vapid {
    /// The instance's key, made at first start and shared by every instance.
    pub async fn load(db: &impl ConnectionTrait) -> AppResult<Self> {
        let bytes = crate::platform::secrets::ensure(db, VAPID_SECRET).await?;
        let secret =
            p256::SecretKey::from_slice(&bytes).map_err(|_| AppError::Internal("VAPID key is not P-256".to_owned()))?;
        let der = secret.to_pkcs8_der().map_err(|e| AppError::Internal(format!("VAPID key: {e}")))?;
        let public = secret.public_key().to_encoded_point(false);
        Ok(Self { der: der.as_bytes().to_vec(), public_key: URL_SAFE_NO_PAD.encode(public.as_bytes()) })
    }

    /// The public key, as browsers take it (`applicationServerKey`, base64url).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// `Authorization: vapid t=…, k=…` for a request to `endpoint`'s push service.
    fn authorization(&self, endpoint: &url::Url, subject: &str) -> Result<String, String> {
        let claims = serde_json::json!({
            "aud": endpoint.origin().ascii_serialization(),
            "exp": (Utc::now() + chrono::Duration::hours(12)).timestamp(),
            "sub": subject,
        });
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let token = jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(&self.der))
            .map_err(|e| format!("VAPID signature: {e}"))?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SubscriptionInput {
    /// The push service's address for this browser (https).
    #[schema(required = true, nullable = false)]
    pub endpoint: Option<String>,
    #[schema(required = true, nullable = false)]
    pub keys: Option<SubscriptionKeys>,
    /// What the person will recognize the device by (« Android · Chrome »).
    pub device: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SubscriptionKeys {
    /// The browser's P-256 public key (base64url).
    #[schema(required = true, nullable = false)]
    pub p256dh: Option<String>,
    /// The browser's 16-byte authentication secret (base64url).
    #[schema(required = true, nullable = false)]
    pub auth: Option<String>,
}

/// A device a person receives push notifications on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Device {
    pub id: i64,
    pub device: String,
    pub created_at: DateTime<Utc>,
    /// The last notification the push service took for it.
    pub last_sent_at: Option<DateTime<Utc>>,
}

fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.len() > 200 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok().or_else(|| URL_SAFE.decode(text).ok())
}

/// Records this browser's subscription for the person (a browser subscribed by
/// someone else before is now theirs).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn subscribe<W: Writer>(
    db: &W,
    org: OrgId,
    user: i64,
    input: &SubscriptionInput,
    allow_private: bool,
) -> AppResult<Device> {
    let mut v = Validator::new();
    let endpoint = v.required("endpoint", input.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()));
    let keys = input.keys.clone().unwrap_or_default();
    // Kept as their canonical base64url (an uncompressed point, 16 bytes), whatever
    // padding or length they came with.
    let p256dh = v.required("keys.p256dh", keys.p256dh.as_deref()).map(|k| {
        decode(k)
            .filter(|k| k.len() == 65 && p256::PublicKey::from_sec1_bytes(k).is_ok())
            .map(|k| URL_SAFE_NO_PAD.encode(k))
    });
    let auth = v
        .required("keys.auth", keys.auth.as_deref())
        .map(|a| decode(a).filter(|a| a.len() == 16).map(|a| URL_SAFE_NO_PAD.encode(a)));
    if p256dh.as_ref().is_some_and(Option::is_none) {
        v.add("keys.p256dh", Msg::new("push.key_invalid"));
    }
    if auth.as_ref().is_some_and(Option::is_none) {
        v.add("keys.auth", Msg::new("push.key_invalid"));
    }
    let (p256dh, auth) = (p256dh.flatten(), auth.flatten());
    if let Some(endpoint) = endpoint {
        if endpoint.len() > 2048 {
            v.add("endpoint", Msg::new("field.too_long").arg("max", 2048));
        } else {
            let secure = endpoint.starts_with("https://") || (allow_private && endpoint.starts_with("http://"));
            match outbound::check_url(endpoint, allow_private).await {
                Ok(_) if secure => {}
                Ok(_) => v.add("endpoint", Msg::new("push.endpoint_https")),
                Err(refused) => v.add("endpoint", Msg::new(refused.message_key())),
            }
        }
    }
    v.finish()?;
    let (Some(endpoint), Some(p256dh), Some(auth)) = (endpoint, p256dh.as_deref(), auth.as_deref()) else {
        return Err(AppError::Internal("validated subscription".to_owned()));
    };
    let device: String = input.device.as_deref().unwrap_or("").trim().chars().take(200).collect();
    let backend = db.get_database_backend();
    let now = Utc::now();
    db::write(db, async |txn| {
        txn.execute_raw(statement(
            backend,
            "INSERT INTO push_subscriptions (organization_id, user_id, endpoint, p256dh, auth, device, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (endpoint) DO UPDATE SET \
             organization_id = excluded.organization_id, user_id = excluded.user_id, p256dh = excluded.p256dh, \
             auth = excluded.auth, device = excluded.device, created_at = excluded.created_at, last_sent_at = NULL",
            vec![
                org.get().into(),
                user.into(),
                endpoint.into(),
                p256dh.into(),
                auth.into(),
                device.clone().into(),
                now.into(),
            ],
        ))
        .await?;
        Ok::<_, AppError>(())
    })
    .await?;
    let row = db
        .query_one_raw(statement(
            backend,
            "SELECT id FROM push_subscriptions WHERE endpoint = $1",
            vec![endpoint.into()],
        ))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Device { id: row.try_get("", "id")?, device, created_at: now, last_sent_at: None })
}

/// The person's devices, newest first.
pub async fn devices(db: &impl ConnectionTrait, org: OrgId, user: i64) -> AppResult<Vec<Device>> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT id, device, created_at, last_sent_at FROM push_subscriptions \
             WHERE organization_id = $1 AND user_id = $2 ORDER BY id DESC",
            vec![org.get().into(), user.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Device {
                id: row.try_get("", "id")?,
                device: row.try_get("", "device")?,
                created_at: row.try_get("", "created_at")?,
                last_sent_at: row.try_get("", "last_sent_at")?,
            })
        })
        .collect()
}

/// Forgets one of the person's devices (another's is a 404); by its id, or by
/// its endpoint (what the browser knows of itself).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn unsubscribe<W: Writer>(db: &W, org: OrgId, user: i64, which: Which<'_>) -> AppResult<()> {
    let backend = db.get_database_backend();
    let (column, value): (&str, sea_orm::Value) = match which {
        Which::Id(id) => ("id", id.into()),
        Which::Endpoint(endpoint) => ("endpoint", endpoint.into()),
    };
    let sql = format!("DELETE FROM push_subscriptions WHERE organization_id = $1 AND user_id = $2 AND {column} = $3");
    let done = db::write(db, async |txn| {
        txn.execute_raw(statement(backend, &sql, vec![org.get().into(), user.into(), value])).await
    })
    .await?;
    if done.rows_affected() == 0 { Err(AppError::NotFound) } else { Ok(()) }
}

/// A device named by its id or its endpoint.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    Id(i64),
    Endpoint(&'a str),
}

/// The person's devices' ids: one delivery job each.
pub(super) async fn subscription_ids(db: &impl ConnectionTrait, user: i64) -> AppResult<Vec<i64>> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY id",
            vec![user.into()],
        ))
        .await?;
    rows.iter().map(|row| row.try_get("", "id").map_err(AppError::from)).collect()
}

/// What delivers: the key, the HTTP client, who the push services may write to.
pub struct Sender {
    pub vapid: Vapid,
    pub client: reqwest::Client,
    /// The VAPID `sub` claim: the instance's https address, else its mail sender.
    pub subject: String,
    pub allow_private: bool,
}

impl Sender {
    pub fn subject_for(public_url: &str, mail_from: &str) -> String {
        if public_url.starts_with("https://") {
            return public_url.trim_end_matches('/').to_owned();
        }
        let address = mail_from.rsplit_once('<').map_or(mail_from, |(_, a)| a.trim_end_matches('>')).trim();
        format!("mailto:{address}")
    }
}

/// What the service worker shows (sw.js reads these fields).
#[derive(Debug, Serialize)]
struct Message<'a> {
    title: &'a str,
    body: String,
    url: &'a str,
    tag: String,
}

/// The message for a notification: its title, the first paragraph (shortened
/// until the whole weighs what push services take), the page it leads to.
fn message(notice: &notification::Model) -> Result<Vec<u8>, JobError> {
    let first = notice.body.split("\n\n").next().unwrap_or("").trim();
    let title: String = notice.title.chars().take(200).collect();
    let mut chars = first.chars().count();
    loop {
        let message = Message {
            title: &title,
            body: first.chars().take(chars).collect(),
            url: notice.link.as_deref().unwrap_or("/notifications"),
            tag: format!("volant-{}", notice.id),
        };
        let payload = serde_json::to_vec(&message).map_err(|e| JobError(e.to_string()))?;
        if payload.len() <= MESSAGE_BYTES || chars == 0 {
            return Ok(payload);
        }
        chars = chars.saturating_sub(chars.div_ceil(4).max(1));
    }
}

/// Delivers one notification to one device (a job).
pub async fn deliver(db: &DatabaseConnection, sender: &Sender, job: &ClaimedJob) -> JobResult {
    let subscription = job.id_field("subscription_id")?;
    let notification_id = job.id_field("notification_id")?;
    let backend = db.get_database_backend();
    let Some(row) = db
        .query_one_raw(statement(
            backend,
            "SELECT user_id, endpoint, p256dh, auth FROM push_subscriptions WHERE id = $1",
            vec![subscription.into()],
        ))
        .await?
    else {
        return Ok(()); // Unsubscribed meanwhile.
    };
    let user: i64 = row.try_get("", "user_id")?;
    let endpoint: String = row.try_get("", "endpoint")?;
    let Some(notice) = notification::Entity::find_by_id(notification_id).one(db).await? else {
        return Ok(());
    };
    // The device went to someone else meanwhile (a phone handed over).
    if notice.user_id != Some(user) {
        return Ok(());
    }
    let payload = message(&notice)?;
    let (p256dh, auth): (String, String) = (row.try_get("", "p256dh")?, row.try_get("", "auth")?);
    let ua_public = decode(&p256dh)
        .and_then(|k| p256::PublicKey::from_sec1_bytes(&k).ok())
        .ok_or_else(|| JobError("subscription key".to_owned()))?;
    let ua_auth = decode(&auth)
        .filter(|a| a.len() == 16)
        .and_then(|a| <[u8; 16]>::try_from(a.as_slice()).ok())
        .map(web_push_native::Auth::from)
        .ok_or_else(|| JobError("subscription secret".to_owned()))?;
    let uri: axum::http::Uri = endpoint.parse().map_err(|_| JobError("subscription endpoint".to_owned()))?;
    let request = web_push_native::WebPushBuilder::new(uri, ua_public, ua_auth)
        .with_valid_duration(TIME_TO_LIVE)
        .build(payload)
        .map_err(|e| JobError(format!("encryption: {e}")))?;
    // Checked again at each sending: a name may change its answer.
    let url = outbound::check_url(&endpoint, sender.allow_private)
        .await
        .map_err(|refused| JobError(format!("push endpoint refused: {refused:?}")))?;
    let authorization = sender.vapid.authorization(&url, &sender.subject).map_err(JobError)?;
    let (parts, body) = request.into_parts();
    let mut outgoing = sender.client.post(url).header("Authorization", authorization).header("Urgency", "normal");
    for (name, value) in &parts.headers {
        outgoing = outgoing.header(name.as_str(), value.as_bytes());
    }
    let outcome = outgoing.body(body).send().await.map_err(|e| JobError(outbound::describe(e)))?;
    let status = outcome.status();
    if status.is_success() {
        metrics::counter!(crate::platform::metrics::name::NOTIFICATIONS, "channel" => "push", "outcome" => "sent")
            .increment(1);
        let _turn = db.write_turn().await;
        db.execute_raw(statement(
            backend,
            "UPDATE push_subscriptions SET last_sent_at = $1 WHERE id = $2",
            vec![Utc::now().into(), subscription.into()],
        ))
        .await?;
        return Ok(());
    }
    if matches!(status.as_u16(), 404 | 410) {
        // The browser unsubscribed or its subscription expired: forgotten.
        metrics::counter!(crate::platform::metrics::name::NOTIFICATIONS, "channel" => "push", "outcome" => "expired")
            .increment(1);
        let _turn = db.write_turn().await;
        db.execute_raw(statement(backend, "DELETE FROM push_subscriptions WHERE id = $1", vec![subscription.into()]))
            .await?;
        return Ok(());
    }
    let outcome_label = if job.is_last_attempt() { "failed" } else { "retrying" };
    metrics::counter!(crate::platform::metrics::name::NOTIFICATIONS, "channel" => "push", "outcome" => outcome_label)
        .increment(1);
    Err(JobError(format!("push service answered {status}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vapid_subject_is_the_https_address_or_the_mail_sender() {
        assert_eq!(Sender::subject_for("https://volant.example.fr/", "Volant <x@y.fr>"), "https://volant.example.fr");
        assert_eq!(
            Sender::subject_for("http://localhost:8080", "Volant <noreply@garage.fr>"),
            "mailto:noreply@garage.fr"
        );
        assert_eq!(Sender::subject_for("http://localhost:8080", "noreply@garage.fr"), "mailto:noreply@garage.fr");
    }

    #[test]
    fn a_long_notification_is_shortened_to_what_push_services_take() {
        let notice = notification::Model {
            id: 7,
            organization_id: 1,
            event: "message_received".to_owned(),
            user_id: Some(2),
            recipient: String::new(),
            title: "Nouveau message".to_owned(),
            body: format!("{}\n\nSuite", "é\"🚗".repeat(2000)),
            link: Some("/messages/3".to_owned()),
            in_app: true,
            created_at: Utc::now(),
            read_at: None,
        };
        let payload = message(&notice).expect("message");
        assert!(payload.len() <= MESSAGE_BYTES, "{}", payload.len());
        let read: serde_json::Value = serde_json::from_slice(&payload).expect("json");
        assert!(read["body"].as_str().is_some_and(|b| b.starts_with("é\"🚗") && !b.contains("Suite")));
        assert_eq!(read["url"], "/messages/3");
    }

    #[test]
    fn keys_are_read_with_or_without_padding() {
        assert_eq!(decode("AAECAwQFBgcICQoLDA0ODw"), Some((0..16).collect()));
        assert_eq!(decode("AAECAwQFBgcICQoLDA0ODw=="), Some((0..16).collect()));
        assert_eq!(decode("not base64!"), None);
    }
}
