//! The SMS channel: deliveries recorded in `sms_outbox`, sent by the
//! `notify.sms` job through a provider (an HTTP API, or the log by default).

use crate::platform::db::table;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set};

use crate::platform::config::{NotifyConfig, fill_sms_template};
use crate::platform::jobs::{ClaimedJob, JobError, JobResult};
use crate::platform::tenant::OrgId;

table! {
    pub mod entity = "sms_outbox" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub notification_id: Option<i64>,
        pub to_phone: String,
        pub body: String,
        /// `pending`, `sent` or `failed`.
        pub status: String,
        pub attempts: i32,
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub sent_at: Option<DateTimeUtc>,
        /// `false` when `sent` only to a file or the log: no server was configured.
        pub delivered: bool,
    }
}

/// SMS are cut to four concatenated messages' worth of text.
pub const MAX_SMS_CHARS: usize = 640;

/// Records an SMS to send (with the notification's transaction); returns its id.
pub async fn insert(
    db: &impl ConnectionTrait,
    org: OrgId,
    notification_id: i64,
    to: &str,
    text: &str,
) -> Result<i64, sea_orm::DbErr> {
    let body: String = text.chars().take(MAX_SMS_CHARS).collect();
    let saved = entity::ActiveModel {
        organization_id: Set(org.get()),
        notification_id: Set(Some(notification_id)),
        to_phone: Set(to.to_owned()),
        body: Set(body),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(saved.id)
}

/// A provider's answer to one SMS, later: sent, or why not.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Something that delivers SMS. `key` is the same for every attempt at one
/// SMS, so a provider that honours idempotency keys never sends it twice.
pub trait SmsProvider: Send + Sync {
    fn send<'a>(&'a self, to: &'a str, text: &'a str, key: &'a str) -> Sending<'a>;

    /// Whether the SMS reaches a phone (the log does not).
    fn delivers(&self) -> bool {
        true
    }
}

/// Writes SMS to the log (the default: nothing to configure).
pub struct LogProvider;

impl SmsProvider for LogProvider {
    fn send<'a>(&'a self, to: &'a str, text: &'a str, key: &'a str) -> Sending<'a> {
        Box::pin(async move {
            tracing::info!(%to, %key, %text, "SMS (no provider configured: written to the log)");
            Ok(())
        })
    }

    fn delivers(&self) -> bool {
        false
    }
}

/// Any provider with an HTTP API: a POST of a JSON body made from a template,
/// with a bearer token and an `Idempotency-Key` header.
pub struct HttpProvider {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    template: String,
}

impl HttpProvider {
    pub fn new(url: String, token: Option<String>, template: String) -> Result<Self, String> {
        // rustls with ring, as for e-mail (whichever component comes first installs it).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { client, url, token, template })
    }
}

impl SmsProvider for HttpProvider {
    fn send<'a>(&'a self, to: &'a str, text: &'a str, key: &'a str) -> Sending<'a> {
        Box::pin(async move {
            let body = fill_sms_template(&self.template, to, text, key);
            let mut request = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", key)
                .body(body);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.map_err(|e| format!("SMS provider unreachable: {e}"))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let detail: String = response.text().await.unwrap_or_default().chars().take(200).collect();
            Err(format!("SMS provider answered {status}: {detail}"))
        })
    }
}

/// The provider the configuration names.
pub fn provider(config: &NotifyConfig) -> Result<Arc<dyn SmsProvider>, String> {
    Ok(match &config.sms_url {
        Some(url) => Arc::new(HttpProvider::new(url.clone(), config.sms_token.clone(), config.sms_template.clone())?),
        None => Arc::new(LogProvider),
    })
}

/// The `notify.sms` job: sends one recorded SMS unless it was sent already.
#[tracing::instrument(skip_all, err)]
pub async fn deliver(db: &DatabaseConnection, provider: &dyn SmsProvider, job: &ClaimedJob) -> JobResult {
    let id = job.id_field("id")?;
    let Some(sms) = entity::Entity::find_by_id(id).one(db).await? else {
        return Ok(()); // Its organization was deleted.
    };
    if sms.status != "pending" {
        return Ok(());
    }
    let key = format!("volant-sms-{}", sms.id);
    let outcome = provider.send(&sms.to_phone, &sms.body, &key).await;
    let last = job.is_last_attempt();
    super::service::record_attempt(db, ("sms_outbox", id), outcome.as_ref().err(), last, provider.delivers()).await?;
    outcome.map_err(JobError)
}
