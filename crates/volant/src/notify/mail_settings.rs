//! An organization's own SMTP server and sender. Without them its e-mails leave by
//! the instance's server (`SMTP_URL`), or are only saved when there is none. The
//! URL carries the server's credentials: it is encrypted at rest and never shown
//! again whole (the password is masked).

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::identity::audit::{self, Actor};
use crate::platform::config::redact_url;
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer, table};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

table! {
    pub mod entity = "mail_settings" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        /// Encrypted (`FieldCipher`, context [`URL_FIELD`]).
        pub smtp_url: String,
        pub mail_from: String,
        pub updated_at: DateTimeUtc,
        pub updated_by: Option<i64>,
    }
}

/// The encryption context of the stored URL.
const URL_FIELD: &str = "mail_settings/smtp_url";
/// How long a test or a delivery waits for the server.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The settings as the organization's administrators see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailSettings {
    /// The server, its password masked (`smtp://user:***@host:587`).
    pub smtp_url: String,
    /// The sender customers see, e.g. `Garage Dupont <atelier@garage-dupont.fr>`.
    pub mail_from: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MailInput {
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`
    /// (TLS). Absent or empty: the server saved before is kept.
    #[schema(example = "smtps://atelier%40garage-dupont.fr:motdepasse@smtp.example.fr:465")]
    pub smtp_url: Option<String>,
    #[schema(required = true, nullable = false, example = "Garage Dupont <atelier@garage-dupont.fr>")]
    pub mail_from: Option<String>,
}

/// The way out decided for an organization: its server and sender.
pub struct Route {
    pub from: Mailbox,
    pub transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// The settings with the server shown masked (decrypts the URL).
pub async fn shown(db: &impl ConnectionTrait, cipher: &FieldCipher, org: OrgId) -> AppResult<Option<MailSettings>> {
    let Some(row) = entity::Entity::find_by_id(org.get()).one(db).await? else { return Ok(None) };
    let url = cipher.decrypt(URL_FIELD, &row.smtp_url)?;
    Ok(Some(MailSettings { smtp_url: redact_url(&url), mail_from: row.mail_from, updated_at: row.updated_at }))
}

/// Whether the organization's e-mails leave: its own server, or the instance's.
pub async fn delivers_email(
    db: &impl ConnectionTrait,
    config: &crate::platform::config::NotifyConfig,
    org: OrgId,
) -> AppResult<bool> {
    Ok(config.delivers_email() || configured(db, org).await?)
}

/// Whether some organization's e-mails leave (for pages that cannot tell whose
/// account is asked for: the forgotten-password page).
pub async fn any_delivers_email(
    db: &impl ConnectionTrait,
    config: &crate::platform::config::NotifyConfig,
) -> AppResult<bool> {
    use sea_orm::PaginatorTrait;
    Ok(config.delivers_email() || entity::Entity::find().count(db).await? > 0)
}

/// Whether the organization has its own server.
pub async fn configured(db: &impl ConnectionTrait, org: OrgId) -> AppResult<bool> {
    Ok(entity::Entity::find_by_id(org.get()).one(db).await?.is_some())
}

/// The organization's own route, if it set one.
pub async fn route(
    db: &impl ConnectionTrait,
    (cipher, allow_private): (&FieldCipher, bool),
    org: OrgId,
) -> AppResult<Option<Route>> {
    let Some(row) = entity::Entity::find_by_id(org.get()).one(db).await? else { return Ok(None) };
    let url = cipher.decrypt(URL_FIELD, &row.smtp_url)?;
    // Checked again at each use: a name may point elsewhere since it was saved.
    check_host(&url, allow_private).await.map_err(|refused| AppError::validation("smtp_url", refused))?;
    let transport = transport(&url).map_err(AppError::Internal)?;
    let from = row.mail_from.parse::<Mailbox>().map_err(|e| AppError::Internal(format!("mail_from: {e}")))?;
    Ok(Some(Route { from, transport }))
}

/// The ports mail servers listen on; others only with `VOLANT_MAIL_ALLOW_PRIVATE_HOSTS`.
const SMTP_PORTS: [u16; 4] = [25, 465, 587, 2525];

/// Whether the URL's server may be used: a public address on a mail port, unless
/// the instance allows private hosts. The name is resolved, so a name that points
/// inside the instance's network is refused too.
async fn check_host(url: &str, allow_private: bool) -> Result<(), Msg> {
    if allow_private {
        return Ok(());
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let default_port = if url.starts_with("smtps://") { 465 } else { 25 };
    // `[::1]:25`, `host:587`, `host`.
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']').ok_or_else(|| Msg::new("mail.url_invalid"))?;
            (host, after.strip_prefix(':'))
        }
        None => host_port.rsplit_once(':').map_or((host_port, None), |(host, port)| (host, Some(port))),
    };
    let port = match port {
        Some(port) => port.parse::<u16>().map_err(|_| Msg::new("mail.url_invalid"))?,
        None => default_port,
    };
    if !SMTP_PORTS.contains(&port) {
        return Err(Msg::new("mail.port_refused"));
    }
    let resolved = tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::lookup_host((host, port))).await;
    let addresses: Vec<std::net::SocketAddr> = match resolved {
        Ok(Ok(found)) => found.collect(),
        _ => return Err(Msg::new("mail.host_unknown")),
    };
    let private = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast()
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback() || v4.is_private() || v4.is_link_local())
        }
    };
    if addresses.is_empty() || addresses.iter().any(|a| private(a.ip())) {
        return Err(Msg::new("mail.host_private"));
    }
    Ok(())
}

fn transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| e.to_string())?
        .timeout(Some(SMTP_TIMEOUT))
        .build())
}

/// Saves the organization's server and sender, audited (the URL never in the trail).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn set<C: Writer>(
    db: &C,
    (cipher, allow_private): (&FieldCipher, bool),
    actor: &Actor,
    input: &MailInput,
) -> AppResult<MailSettings> {
    let mut v = Validator::new();
    let url = v.optional_text("smtp_url", input.smtp_url.as_deref(), 2000);
    let from = v.required_text("mail_from", input.mail_from.as_deref(), 320);
    if let Some(url) = &url {
        let scheme_ok = url.starts_with("smtp://") || url.starts_with("smtps://");
        if !scheme_ok || transport(url).is_err() {
            v.add("smtp_url", Msg::new("mail.url_invalid"));
        } else if let Err(refused) = check_host(url, allow_private).await {
            v.add("smtp_url", refused);
        }
    }
    if let Some(from) = &from
        && from.parse::<Mailbox>().is_err()
    {
        v.add("mail_from", Msg::new("mail.from_invalid"));
    }
    let existing = entity::Entity::find_by_id(actor.org.get()).one(db).await?;
    if url.is_none() && existing.is_none() {
        v.add("smtp_url", Msg::new("field.required"));
    }
    v.finish()?;
    // After `finish`: the sender is there, and a URL or a saved one.
    let from = from.unwrap_or_default();
    let smtp_url = match url {
        Some(url) => cipher.encrypt(URL_FIELD, &url)?,
        None => existing.map(|row| row.smtp_url).unwrap_or_default(),
    };
    db::write(db, async |txn| {
        let row = entity::ActiveModel {
            organization_id: Set(actor.org.get()),
            smtp_url: Set(smtp_url),
            mail_from: Set(from.clone()),
            updated_at: Set(Utc::now()),
            updated_by: Set(actor.user_id),
        };
        // An upsert: two first saves at once both land, the last one counts.
        entity::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(entity::Column::OrganizationId)
                    .update_columns([
                        entity::Column::SmtpUrl,
                        entity::Column::MailFrom,
                        entity::Column::UpdatedAt,
                        entity::Column::UpdatedBy,
                    ])
                    .to_owned(),
            )
            .exec(txn)
            .await?;
        let event = audit::Event {
            action: audit::Action::Update,
            entity: Some(("mail_settings", actor.org.get().to_string())),
            changes: Some(serde_json::json!({ "mail_from": from, "smtp_url": "changed" })),
        };
        audit::record(txn, Some(actor), None, event).await
    })
    .await?;
    shown(db, cipher, actor.org).await?.ok_or(AppError::NotFound)
}

/// Forgets the organization's server: its e-mails go the instance's way again.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn clear<C: Writer>(db: &C, actor: &Actor) -> AppResult<()> {
    db::write(db, async |txn| {
        entity::Entity::delete_by_id(actor.org.get()).exec(txn).await?;
        let event = audit::Event {
            action: audit::Action::Delete,
            entity: Some(("mail_settings", actor.org.get().to_string())),
            changes: None,
        };
        audit::record(txn, Some(actor), None, event).await
    })
    .await
}

/// What a test e-mail became: the server's own answer, or why it failed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestOutcome {
    pub delivered: bool,
    /// The server's reply (`250 2.0.0 Ok: queued as …`) or the error.
    pub answer: String,
}

/// Sends a test e-mail through the organization's server to `to`, now, and tells
/// what the server answered. A server that cannot be reached is an outcome, not an error.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn test(
    db: &impl ConnectionTrait,
    cipher: (&FieldCipher, bool),
    org: OrgId,
    (to, organization): (&str, &str),
    (subject, body): (&str, &str),
) -> AppResult<TestOutcome> {
    let Some(route) = route(db, cipher, org).await? else {
        return Err(AppError::conflict("mail_not_configured", Msg::new("mail.not_configured")));
    };
    let to = to.parse::<Mailbox>().map_err(|_| AppError::validation("to", Msg::new("mail.from_invalid")))?;
    let message = Message::builder()
        .from(route.from)
        .to(to)
        .subject(format!("{subject} — {organization}"))
        .body(body.to_owned())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(match route.transport.send(message).await {
        Ok(response) => {
            let text = response.message().collect::<Vec<_>>().join(" ");
            TestOutcome { delivered: true, answer: format!("{} {text}", response.code()).trim().to_owned() }
        }
        Err(err) => TestOutcome { delivered: false, answer: err.to_string() },
    })
}

/// Re-encrypts the stored URLs still under an older key (`volant reencrypt-fields`).
pub async fn reencrypt_all<C: Writer>(db: &C, cipher: &FieldCipher) -> AppResult<u64> {
    let mut changed = 0;
    for row in entity::Entity::find().all(db).await? {
        if cipher.is_stale(&row.smtp_url) {
            let url = cipher.decrypt(URL_FIELD, &row.smtp_url)?;
            let sealed = cipher.encrypt(URL_FIELD, &url)?;
            db::write(db, async |txn| {
                entity::ActiveModel { smtp_url: Set(sealed), ..entity::ActiveModel::from(row) }.update(txn).await?;
                AppResult::Ok(())
            })
            .await?;
            changed += 1;
        }
    }
    Ok(changed)
}
