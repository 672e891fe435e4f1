//! The e-mail channel: messages rendered from templates (HTML and plain text,
//! in the organization's language), then sent by the `notify.email` job over
//! SMTP, or written as `.eml` files when no SMTP server is configured.

use std::path::PathBuf;
use std::sync::Arc;

use askama::Template;
use chrono::Utc;
use lettre::message::{Attachment as MailAttachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::model::Attachment;
use super::outbox::entity;
use super::service::About;
use crate::identity::organizations::logo::Logo;
use crate::platform::config::NotifyConfig;
use crate::platform::crypto::FieldCipher;
use crate::platform::i18n::{Locale, Tr};
use crate::platform::jobs::{ClaimedJob, JobError, JobResult};
use crate::platform::tenant::OrgId;

#[derive(Template)]
#[template(path = "notify/email.html")]
struct HtmlBody<'a> {
    tr: Tr,
    organization: &'a str,
    /// The organization's logo goes with the message (an inline part, `cid:`).
    logo: bool,
    title: &'a str,
    paragraphs: Vec<&'a str>,
    link: Option<String>,
    unsubscribe: Option<String>,
    footer: String,
}

#[derive(Template)]
#[template(path = "notify/email.txt")]
struct TextBody<'a> {
    tr: Tr,
    organization: &'a str,
    title: &'a str,
    body: &'a str,
    link: Option<String>,
    unsubscribe: Option<String>,
    footer: String,
}

/// What an e-mail says, its links absolute.
pub struct Content<'a> {
    pub organization: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    /// The page the notification is about.
    pub link: Option<String>,
    /// Where the recipient stops e-mails from the organization.
    pub unsubscribe: Option<String>,
    pub reader: Reader,
    /// The organization's logo heads the HTML (sent inline with it).
    pub logo: bool,
}

/// Who reads an e-mail, which decides what its footer may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// A user, told about their preferences in their profile.
    User,
    /// A client or a candidate without an account: no profile to speak of.
    Contact,
    /// The account's owner, for their password: nothing to turn off.
    AccountOwner,
}

impl Reader {
    fn footer_key(self) -> &'static str {
        match self {
            Self::User => "notify.email.footer",
            Self::Contact => "notify.email.footer_contact",
            Self::AccountOwner => "notify.email.footer_account",
        }
    }
}

/// Renders the two bodies of a notification's e-mail: (plain text, HTML).
pub fn render(locale: Locale, content: &Content<'_>) -> Result<(String, String), askama::Error> {
    let tr = Tr(locale);
    let Content { organization, title, body, .. } = *content;
    let paragraphs = body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect();
    let (link, unsubscribe) = (content.link.clone(), content.unsubscribe.clone());
    let footer = tr.f(content.reader.footer_key(), "organization", organization);
    let html = HtmlBody {
        tr,
        organization,
        logo: content.logo,
        title,
        paragraphs,
        link: link.clone(),
        unsubscribe: unsubscribe.clone(),
        footer: footer.clone(),
    }
    .render()?;
    let text = TextBody { tr, organization, title, body: body.trim(), link, unsubscribe, footer }.render()?;
    Ok((text, html))
}

/// An e-mail to record with its notification.
pub struct NewEmail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub attachment: Option<Attachment>,
}

/// Records an e-mail to send (with the notification's transaction); returns its
/// id. Its bodies are rendered when it is sent, in the organization's language.
pub async fn insert(
    db: &impl ConnectionTrait,
    org: OrgId,
    notification_id: i64,
    email: NewEmail<'_>,
) -> Result<i64, sea_orm::DbErr> {
    let (name, content_type, bytes) = match email.attachment {
        Some(a) => (Some(a.name), Some(a.content_type), Some(a.bytes)),
        None => (None, None, None),
    };
    let saved = entity::ActiveModel {
        organization_id: Set(org.get()),
        notification_id: Set(Some(notification_id)),
        to_address: Set(email.to.to_owned()),
        subject: Set(email.subject.to_owned()),
        body_text: Set(email.body.to_owned()),
        attachment_name: Set(name),
        attachment_type: Set(content_type),
        attachment: Set(bytes),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(saved.id)
}

/// Where e-mails go.
pub enum Mailer {
    /// `.eml` files in a folder (a fresh install: nothing to configure).
    Files(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    /// Whether e-mails leave: an SMTP server, not a folder.
    pub fn delivers(&self) -> bool {
        matches!(self, Self::Smtp(_))
    }
}

/// The instance's sender and transport, used for organizations that set none of
/// their own (`mail_settings`).
pub struct Postman {
    pub from: Mailbox,
    pub mailer: Mailer,
    /// Scheme and host of links in e-mails.
    pub public_url: String,
    /// Signs the unsubscribe links.
    pub unsubscribe_key: Vec<u8>,
    /// Opens the organizations' own server settings.
    pub cipher: Arc<FieldCipher>,
    /// Organizations' own servers may be private hosts (`VOLANT_MAIL_ALLOW_PRIVATE_HOSTS`).
    pub allow_private_smtp: bool,
}

impl Postman {
    pub fn from_config(
        config: &NotifyConfig,
        (public_url, unsubscribe_key): (&str, Vec<u8>),
        cipher: Arc<FieldCipher>,
    ) -> Result<Self, String> {
        let from = config.mail_from.parse::<Mailbox>().map_err(|e| format!("VOLANT_MAIL_FROM: {e}"))?;
        let mailer = match &config.smtp_url {
            Some(url) => Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(30)))
                    .build(),
            ),
            None => Mailer::Files(config.mail_outbox_dir.clone()),
        };
        let allow_private_smtp = config.mail_allow_private_hosts;
        Ok(Self { from, mailer, public_url: public_url.to_owned(), unsubscribe_key, cipher, allow_private_smtp })
    }
}

impl Mailer {
    async fn send(&self, message: &Message, file_stem: &str) -> Result<(), String> {
        match self {
            Mailer::Smtp(transport) => {
                transport.send(message.clone()).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
            }
            Mailer::Files(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
                let path = dir.join(format!("{file_stem}.eml"));
                let partial = dir.join(format!(".{file_stem}.eml.part"));
                tokio::fs::write(&partial, message.formatted())
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                tokio::fs::rename(&partial, &path).await.map_err(|e| format!("{}: {e}", path.display()))?;
                tracing::info!(file = %path.display(), "e-mail written (no SMTP server configured)");
                Ok(())
            }
        }
    }
}

/// The Content-ID the HTML's logo points at (`cid:logo@volant`).
const LOGO_CID: &str = "logo@volant";

/// Why an e-mail cannot be built; retrying would not help.
fn build(
    from: &Mailbox,
    email: &entity::Model,
    (text, html, logo): (String, String, Option<Logo>),
    unsubscribe: Option<&str>,
) -> Result<Message, String> {
    let to = email.to_address.parse::<Mailbox>().map_err(|e| format!("invalid address `{}`: {e}", email.to_address))?;
    let domain = from.email.domain().to_owned();
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        // The same for every attempt: a copy sent twice is recognised as one.
        .message_id(Some(format!("<volant-email-{}-{}@{domain}>", email.organization_id, email.id)));
    // Mail clients offer their own "unsubscribe" button from this header (RFC 2369).
    let builder = match unsubscribe {
        Some(url) => builder.raw_header(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{url}>"),
        )),
        None => builder,
    };
    let body = match logo {
        // The HTML and the image it shows travel together (multipart/related).
        Some(logo) => {
            let content_type = ContentType::parse(&logo.content_type).map_err(|e| e.to_string())?;
            let related = MultiPart::related()
                .singlepart(SinglePart::html(html))
                .singlepart(MailAttachment::new_inline(LOGO_CID.to_owned()).body(logo.bytes, content_type));
            MultiPart::alternative().singlepart(SinglePart::plain(text)).multipart(related)
        }
        None => MultiPart::alternative_plain_html(text, html),
    };
    let body = match (&email.attachment, &email.attachment_name) {
        (Some(bytes), Some(name)) => {
            let content_type = email
                .attachment_type
                .as_deref()
                .and_then(|t| ContentType::parse(t).ok())
                .unwrap_or(ContentType::parse("application/octet-stream").map_err(|e| e.to_string())?);
            MultiPart::mixed()
                .multipart(body)
                .singlepart(MailAttachment::new(name.clone()).body(bytes.clone(), content_type))
        }
        _ => body,
    };
    builder.multipart(body).map_err(|e| e.to_string())
}

/// The `notify.email` job: sends one recorded e-mail unless it was sent already.
#[tracing::instrument(skip_all, err)]
pub async fn deliver(db: &DatabaseConnection, postman: &Postman, job: &ClaimedJob) -> JobResult {
    let id = job.id_field("id")?;
    let Some(email) = entity::Entity::find_by_id(id).one(db).await? else {
        return Ok(()); // Its organization was deleted.
    };
    if email.status != "pending" {
        return Ok(());
    }
    let about = match email.notification_id {
        Some(id) => super::service::about(db, id).await?,
        None => None,
    };
    let link = about.as_ref().and_then(|a| a.link.as_ref()).map(|path| format!("{}{path}", postman.public_url));
    // A password link is the account's, not a message the organization may stop.
    let account_mail = about.as_ref().is_some_and(|a| !a.event.is_choosable());
    let reader = match &about {
        _ if account_mail => Reader::AccountOwner,
        Some(About { user_id: Some(_), .. }) => Reader::User,
        _ => Reader::Contact,
    };
    let unsubscribe = if account_mail {
        None
    } else {
        super::unsubscribe::path(&postman.unsubscribe_key, email.organization_id, &email.to_address)
            .map(|path| format!("{}{path}", postman.public_url))
    };
    let (text, html, logo) = bodies(db, &email, (link, unsubscribe.clone()), reader).await?;
    // The organization's own server and sender when it set them, the instance's
    // otherwise. A password link never goes through a server an organization's
    // administrator chose: they could read it and take the account.
    let own = match account_mail {
        true => None,
        false => match super::mail_settings::route(
            db,
            (&postman.cipher, postman.allow_private_smtp),
            OrgId::new(email.organization_id),
        )
        .await
        {
            Ok(route) => route.map(|route| (route.from, Mailer::Smtp(route.transport))),
            Err(err) => {
                // Its settings cannot be read (a key gone, a sender spoiled): failed, said why.
                let reason = format!("the organization's mail settings: {err}");
                super::service::record_attempt(db, ("email_outbox", id), Some(&reason), true, false).await?;
                return Ok(());
            }
        },
    };
    let (from, mailer) = own.as_ref().map_or((&postman.from, &postman.mailer), |(from, mailer)| (from, mailer));
    let message = match build(from, &email, (text, html.clone(), logo), unsubscribe.as_deref()) {
        Ok(message) => message,
        Err(reason) => {
            // A malformed address stays malformed: failed at once, not retried.
            super::service::record_attempt(db, ("email_outbox", id), Some(&reason), true, mailer.delivers()).await?;
            forget_credential(db, account_mail, email.notification_id).await?;
            return Ok(());
        }
    };
    let outcome = mailer.send(&message, &format!("{}-{}", email.organization_id, email.id)).await;
    // The HTML is kept for the record, except a password link's.
    if outcome.is_ok() && !account_mail {
        keep_html(db, id, html).await?;
    }
    let last = job.is_last_attempt();
    super::service::record_attempt(db, ("email_outbox", id), outcome.as_ref().err(), last, mailer.delivers()).await?;
    if outcome.is_ok() || job.is_last_attempt() {
        forget_credential(db, account_mail, email.notification_id).await?;
    }
    outcome.map_err(JobError)
}

/// Once an account e-mail is delivered or given up, its link is forgotten.
async fn forget_credential(
    db: &DatabaseConnection,
    account_mail: bool,
    notification: Option<i64>,
) -> Result<(), sea_orm::DbErr> {
    match notification {
        Some(id) if account_mail => super::service::forget_link(db, id).await,
        _ => Ok(()),
    }
}

/// Both bodies in the organization's language, with the notification's link,
/// and the logo the HTML shows.
async fn bodies(
    db: &DatabaseConnection,
    email: &entity::Model,
    (link, unsubscribe): (Option<String>, Option<String>),
    reader: Reader,
) -> Result<(String, String, Option<Logo>), JobError> {
    let org_id = OrgId::new(email.organization_id);
    let org = crate::identity::organizations::service::get(db, org_id).await?;
    let logo = match org.has_logo {
        true => crate::identity::organizations::logo::get(db, org_id).await?,
        false => None,
    };
    let (organization, title, body) = (org.name.as_str(), email.subject.as_str(), email.body_text.as_str());
    let content = Content { organization, title, body, link, unsubscribe, reader, logo: logo.is_some() };
    let (text, html) = render(org.locale, &content).map_err(|e| JobError(format!("template: {e}")))?;
    Ok((text, html, logo))
}

/// Keeps the HTML as sent, for the record.
async fn keep_html(db: &DatabaseConnection, id: i64, html: String) -> Result<(), sea_orm::DbErr> {
    use crate::platform::db::Writer;
    let _turn = db.write_turn().await;
    entity::Entity::update_many()
        .col_expr(entity::Column::BodyHtml, Some(html).into())
        .filter(entity::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
