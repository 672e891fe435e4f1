//! A quote as a document: its PDF, and the e-mail that sends it to the client.

use sea_orm::ConnectionTrait;

use super::model::{Quote, QuoteStatus};
use super::service::{ShareLink, get, illegal_transition, send_in};
use super::settings::{WorkshopSettings, settings};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::audit::Actor;
use crate::identity::organizations::service as organizations;
use crate::notify;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;
use crate::workshop::clients::service as clients;

/// Everything a quote's PDF shows.
#[derive(Debug, Clone)]
pub struct QuoteDocument {
    pub quote: Quote,
    pub organization: organizations::Organization,
    pub client: clients::Client,
    pub vehicle: Option<vehicles::Vehicle>,
    pub settings: WorkshopSettings,
    pub logo: Option<crate::identity::organizations::logo::Logo>,
}

pub async fn document(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<QuoteDocument> {
    let quote = get(db, org, id).await?;
    let organization = organizations::get(db, org).await?;
    let client = clients::get(db, org, quote.client_id).await?;
    let vehicle = match quote.vehicle_id {
        Some(vehicle_id) => vehicles::get_many(db, org, &[vehicle_id]).await?.into_iter().next(),
        None => None,
    };
    let settings = settings(db, org).await?;
    let logo = match organization.has_logo {
        true => crate::identity::organizations::logo::get(db, org).await?,
        false => None,
    };
    Ok(QuoteDocument { quote, organization, client, vehicle, settings, logo })
}

/// The PDF, rendered off the async runtime.
pub async fn pdf(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<(String, Vec<u8>)> {
    let doc = document(db, org, id).await?;
    render(doc).await
}

pub async fn render(doc: QuoteDocument) -> AppResult<(String, Vec<u8>)> {
    let name = format!("{}.pdf", doc.quote.number);
    let bytes = crate::platform::pdf::render_off_runtime(move || super::pdf::render(&doc)).await?;
    Ok((name, bytes))
}

/// Where a share link leads, as the e-mail shows it.
pub fn share_url(base_url: &str, link: &ShareLink) -> String {
    format!("{}{}", base_url.trim_end_matches('/'), link.path)
}

/// Sends the quote by e-mail with its PDF: a draft becomes sent, the client gets
/// a fresh link. The e-mail is queued in the same transaction.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn email<C: Writer>(db: &C, actor: &Actor, id: i64, base_url: &str) -> AppResult<(Quote, i64)> {
    let doc = document(db, actor.org, id).await?;
    let Some(to) = doc.client.email.clone() else {
        return Err(AppError::conflict("client_without_email", Msg::new("quote.client_without_email")));
    };
    if !doc.quote.status.can_send() {
        return Err(illegal_transition(doc.quote.status, QuoteStatus::Sent));
    }
    let organization_name = doc.organization.name.clone();
    let client_name = doc.client.name.clone();
    let (name, bytes) = render(doc).await?;
    db::write(db, async |txn| {
        let (quote, link) = send_in(txn, actor, id).await?;
        let locale = crate::platform::i18n::current();
        let total = quote.currency.format(quote.totals.incl_tax);
        let body = locale
            .format(
                "quote.email_body",
                &[
                    ("client", &client_name),
                    ("number", &quote.number),
                    ("total", &total),
                    ("valid_until", &locale.date(quote.valid_until)),
                    ("link", &share_url(base_url, &link)),
                    ("organization", &organization_name),
                ],
            )
            // The catalog holds one line per text: paragraphs are written `\n`.
            .replace("\\n", "\n");
        let subject =
            locale.format("quote.email_subject", &[("number", &quote.number), ("organization", &organization_name)]);
        let attachment = notify::Attachment { name, content_type: "application/pdf".to_owned(), bytes };
        let notice = notify::Notice::new(notify::Event::QuoteSent, subject, body).email(Some(to)).attach(attachment);
        let Some(email_id) = notify::send(txn, actor.org, notice).await?.email_id else {
            return Err(AppError::conflict("client_refused_email", Msg::new("quote.client_refused_email")));
        };
        Ok((quote, email_id))
    })
    .await
}
