//! Sending an issued invoice or credit note to its customer by e-mail, with its
//! PDF (and Factur-X data) attached, through the notifications outbox: queued in
//! the transaction that records the sending, delivered by the workers.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::entity::invoice;
use super::model::{Invoice, InvoiceKind, InvoiceStatus};
use super::pdf::{document, rendered};
use super::service::{AUDIT_ENTITY, get};
use crate::identity::audit::{self, Actor};
use crate::notify;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;

/// E-mails the issued document to the buyer, with its link (on `public_url`);
/// returns it and the queued e-mail's id.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn email<C: Writer>(db: &C, actor: &Actor, id: i64, public_url: &str) -> AppResult<(Invoice, i64)> {
    let doc = document(db, actor.org, id).await?;
    if doc.invoice.status != InvoiceStatus::Issued {
        return Err(AppError::conflict("invoice_not_issued", Msg::new("invoice.send_needs_issued")));
    }
    let Some(to) = doc.invoice.buyer.email.clone() else {
        return Err(AppError::conflict("buyer_without_email", Msg::new("invoice.buyer_without_email")));
    };
    let tr = doc.organization.locale;
    let invoice = doc.invoice.clone();
    let organization = doc.organization.name.clone();
    let number = invoice.number.clone().unwrap_or_default();
    let link = super::share::url(db, public_url, id).await?;
    let (name, bytes) = rendered(doc).await?;
    let (subject_key, body_key) = match invoice.kind {
        InvoiceKind::Invoice if invoice.deposit.is_some() => ("invoice.deposit_email_subject", "invoice.email_body"),
        InvoiceKind::Invoice => ("invoice.email_subject", "invoice.email_body"),
        InvoiceKind::CreditNote => ("invoice.credit_email_subject", "invoice.credit_email_body"),
    };
    let total = invoice.currency.format(invoice.totals.incl_tax);
    let due = invoice.due_date.map(|d| tr.date(d)).unwrap_or_default();
    let subject = tr.format(subject_key, &[("number", &number), ("organization", &organization)]);
    let body = tr
        .format(
            body_key,
            &[
                ("buyer", &invoice.buyer.name),
                ("number", &number),
                ("total", &total),
                ("due", &due),
                ("link", &link),
                ("organization", &organization),
            ],
        )
        // The catalog holds one line per text: paragraphs are written `\n`.
        .replace("\\n", "\n");
    db::write(db, async |txn| {
        let attachment = notify::Attachment { name, content_type: "application/pdf".to_owned(), bytes };
        let notice = notify::Notice::new(notify::Event::InvoiceSent, subject, body).email(Some(to)).attach(attachment);
        let Some(email_id) = notify::send(txn, actor.org, notice).await?.email_id else {
            return Err(AppError::conflict("buyer_refused_email", Msg::new("invoice.buyer_refused_email")));
        };
        // When it was sent is not part of the legal content: it may change once issued.
        invoice::Entity::update_many()
            .col_expr(invoice::Column::SentAt, Expr::value(Utc::now()))
            .filter(invoice::Column::OrganizationId.eq(actor.org.get()))
            .filter(invoice::Column::Id.eq(id))
            .exec(txn)
            .await?;
        let after = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&invoice), Some(&after)).await?;
        Ok((after, email_id))
    })
    .await
}
