//! Invoices paid in instalments (paiement en plusieurs fois): the schedule is
//! set when the invoice is issued (equal parts, the odd cents on the first, one
//! month apart), printed on it and frozen with it. What is paid covers the
//! instalments in order, so each one's state follows from one figure, the
//! invoice's settlement. An instalment that falls due unpaid is reminded once by
//! e-mail: its `reminded_at` is claimed by one conditional UPDATE in the
//! transaction that queues the e-mail, so two workers never send it twice.

use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use utoipa::ToSchema;

use super::entity::{instalment, invoice};
use super::model::{InvoiceKind, InvoiceStatus, Settlement};
use super::pdf::{document, rendered};
use crate::identity::organizations::service as organizations;
use crate::notify;
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::AppResult;
use crate::platform::money::{self, Currency};
use crate::platform::tenant::OrgId;

/// Most instalments an invoice is split into.
pub const MAX_INSTALMENTS: u32 = 12;

string_enum! {
    // Where an instalment stands with what has been paid.
    #[derive(ToSchema)]
    pub enum InstalmentState (labels "instalment.state.") {
        Paid,
        /// Settled by a credit note, not by a payment.
        Cancelled,
        /// Part of it is covered.
        PartlyPaid,
        /// Due today or earlier, not covered.
        Due,
        Upcoming,
    }
}

/// One scheduled amount of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Instalment {
    /// 1 for the first.
    pub position: i32,
    pub due_on: NaiveDate,
    #[schema(value_type = String, example = "400.00")]
    pub amount: Decimal,
    /// What of it is still to pay.
    #[schema(value_type = String, example = "0.00")]
    pub outstanding: Decimal,
    pub state: InstalmentState,
    pub reminded_at: Option<DateTime<Utc>>,
    /// Who pays it when not the buyer (a funder of a driving-school contract):
    /// such a part is never reminded to the buyer.
    pub payer: Option<String>,
}

/// One part of a schedule as it is written: when, how much, and who pays it
/// (none: the buyer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub due_on: NaiveDate,
    pub amount_minor: i64,
    pub payer: Option<String>,
}

/// `total_minor` in `count` parts due a month apart from `first_due`: equal
/// parts, the cents that do not divide on the first (so it is never the smallest).
pub fn split(total_minor: i64, count: u32, first_due: NaiveDate) -> Vec<(NaiveDate, i64)> {
    let count = count.clamp(1, MAX_INSTALMENTS);
    let part = total_minor / i64::from(count);
    let rest = total_minor - part * i64::from(count);
    (0..count)
        .map(|i| {
            let due = first_due.checked_add_months(Months::new(i)).unwrap_or(first_due);
            (due, if i == 0 { part + rest } else { part })
        })
        .collect()
}

/// Writes a draft's schedule in the caller's transaction (before it is issued).
pub(super) async fn insert_schedule(txn: &impl ConnectionTrait, invoice_id: i64, schedule: &[Part]) -> AppResult<()> {
    let rows = schedule.iter().zip(1..).map(|(part, position)| instalment::ActiveModel {
        invoice_id: Set(invoice_id),
        position: Set(position),
        due_on: Set(part.due_on),
        amount_minor: Set(part.amount_minor),
        reminded_at: Set(None),
        payer: Set(part.payer.clone()),
    });
    if !schedule.is_empty() {
        instalment::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// The schedules of `invoice_ids`, in order, in one query.
pub(super) async fn rows_of(
    db: &impl ConnectionTrait,
    invoice_ids: impl IntoIterator<Item = i64>,
) -> AppResult<Vec<instalment::Model>> {
    Ok(instalment::Entity::find()
        .filter(instalment::Column::InvoiceId.is_in(invoice_ids))
        .order_by_asc(instalment::Column::InvoiceId)
        .order_by_asc(instalment::Column::Position)
        .all(db)
        .await?)
}

/// Each instalment's state: what was paid covers them in order, then what was
/// credited (a cancelled instalment is not a paid one).
pub(super) fn assemble(
    rows: &[instalment::Model],
    settlement: Settlement,
    currency: Currency,
    today: NaiveDate,
) -> Vec<Instalment> {
    let decimals = currency.decimals();
    let mut paid_left = settlement.received_minor - settlement.refunded_minor;
    let mut credit_left = settlement.credited_minor;
    rows.iter()
        .map(|row| {
            let paid = paid_left.clamp(0, row.amount_minor);
            paid_left -= paid;
            let credited = credit_left.clamp(0, row.amount_minor - paid);
            credit_left -= credited;
            let outstanding = row.amount_minor - paid - credited;
            let state = match outstanding {
                0 if paid == row.amount_minor => InstalmentState::Paid,
                0 => InstalmentState::Cancelled,
                _ if paid > 0 => InstalmentState::PartlyPaid,
                _ if row.due_on <= today => InstalmentState::Due,
                _ => InstalmentState::Upcoming,
            };
            Instalment {
                position: row.position,
                due_on: row.due_on,
                amount: money::from_minor(row.amount_minor, decimals),
                outstanding: money::from_minor(outstanding, decimals),
                state,
                reminded_at: row.reminded_at,
                payer: row.payer.clone(),
            }
        })
        .collect()
}

/// The schedule as printed on the invoice: one line per instalment.
pub fn schedule_text(instalments: &[Instalment], currency: Currency, tr: crate::platform::i18n::Locale) -> String {
    instalments
        .iter()
        .map(|i| {
            let line = tr.format(
                "instalment.line",
                &[
                    ("position", &i.position.to_string()),
                    ("date", &tr.date(i.due_on)),
                    ("amount", &currency.format(i.amount)),
                ],
            );
            match &i.payer {
                Some(payer) => format!("{line} ({})", tr.format("instalment.paid_by", &[("payer", payer)])),
                None => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Most instalments one run reminds (the next run takes the rest).
const BATCH: u64 = 500;

/// Reminds the instalments fallen due unpaid at `now`: one e-mail per invoice
/// however many of its instalments fell due since the last run (the latest
/// named, the total due to date given). Returns how many e-mails were queued.
/// The last instalment is the invoice's own due date: the invoice reminders
/// (the settings' steps) cover it; an organization whose steps are empty has
/// turned reminders off.
#[tracing::instrument(skip_all, err)]
pub async fn remind_due<C: Writer>(db: &C, now: DateTime<Utc>) -> AppResult<u64> {
    // No zone's day is ahead of UTC's by more than 14 hours.
    let latest = (now + chrono::Duration::hours(14)).date_naive();
    let mut sent = 0;
    let mut after = (0_i64, 0_i32);
    loop {
        let open = sea_orm::sea_query::Query::select()
            .column(invoice::Column::Id)
            .from(invoice::Entity)
            .and_where(invoice::Column::Status.eq(InvoiceStatus::Issued))
            .and_where(invoice::Column::Kind.eq(InvoiceKind::Invoice))
            .and_where(invoice::Column::BuyerEmail.is_not_null())
            .to_owned();
        let due: Vec<(i64, i32)> = instalment::Entity::find()
            .select_only()
            .columns([instalment::Column::InvoiceId, instalment::Column::Position])
            .filter(instalment::Column::RemindedAt.is_null())
            .filter(instalment::Column::Payer.is_null())
            .filter(instalment::Column::DueOn.lte(latest))
            .filter(instalment::Column::InvoiceId.in_subquery(open))
            .filter(
                sea_orm::Condition::any().add(instalment::Column::InvoiceId.gt(after.0)).add(
                    sea_orm::Condition::all()
                        .add(instalment::Column::InvoiceId.eq(after.0))
                        .add(instalment::Column::Position.gt(after.1)),
                ),
            )
            .order_by_asc(instalment::Column::InvoiceId)
            .order_by_asc(instalment::Column::Position)
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        let full = due.len() as u64 == BATCH;
        let Some(&last) = due.last() else { break };
        after = last;
        let mut invoices: Vec<i64> = due.iter().map(|d| d.0).collect();
        invoices.dedup();
        for invoice_id in invoices {
            match remind_invoice(db, invoice_id, now).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                // One invoice's failure must not stop the others' reminders.
                Err(err) => tracing::error!(invoice_id, error = %err, "instalment reminder not sent"),
            }
        }
        if !full {
            break;
        }
    }
    if sent > 0 {
        tracing::info!(count = sent, "instalment reminders queued");
    }
    Ok(sent)
}

/// Claims the instalments of one invoice fallen due in its organization's zone
/// and, if something is still due on them, queues one reminder; `false` when
/// nothing was to send or another worker claimed them first.
async fn remind_invoice<C: Writer>(db: &C, invoice_id: i64, now: DateTime<Utc>) -> AppResult<bool> {
    let Some(org) = invoice::Entity::find_by_id(invoice_id)
        .select_only()
        .column(invoice::Column::OrganizationId)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .map(OrgId::new)
    else {
        return Ok(false);
    };
    if super::settings::settings(db, org).await?.reminder_days.is_empty() {
        return Ok(false);
    }
    let today = now.with_timezone(&organizations::zone(db, org).await?).date_naive();
    let doc = document(db, org, invoice_id).await?;
    let invoice = doc.invoice.clone();
    let Some(to) = invoice.buyer.email.clone() else { return Ok(false) };
    let count = invoice.instalments.len();
    let fallen: Vec<&Instalment> = invoice
        .instalments
        .iter()
        .filter(|i| i.due_on <= today && i.reminded_at.is_none() && i.payer.is_none())
        .collect();
    if fallen.is_empty() {
        return Ok(false);
    }
    let positions: Vec<i32> = fallen.iter().map(|i| i.position).collect();
    // The latest one with something to pay, the last aside (the invoice's own reminders cover it).
    let latest = fallen
        .iter()
        .rev()
        .find(|i| usize::try_from(i.position).is_ok_and(|p| p < count) && !i.outstanding.is_zero())
        .map(|i| (*i).clone());
    let due_now = invoice.due_to_date(today);
    let mail = match latest.filter(|_| !due_now.is_zero()) {
        Some(this) => {
            let tr = doc.organization.locale;
            let organization = doc.organization.name.clone();
            let number = invoice.number.clone().unwrap_or_default();
            let subject =
                tr.format("instalment.reminder_subject", &[("number", &number), ("organization", &organization)]);
            let body = tr
                .format(
                    "instalment.reminder_body",
                    &[
                        ("buyer", &invoice.buyer.name),
                        ("position", &this.position.to_string()),
                        ("count", &count.to_string()),
                        ("amount", &invoice.currency.format(this.amount)),
                        ("date", &tr.date(this.due_on)),
                        ("number", &number),
                        ("due_now", &invoice.currency.format(due_now)),
                        ("organization", &organization),
                    ],
                )
                .replace("\\n", "\n");
            let (name, bytes) = rendered(doc).await?;
            Some((subject, body, notify::Attachment { name, content_type: "application/pdf".to_owned(), bytes }))
        }
        None => None,
    };
    db::write(db, async |txn| -> AppResult<bool> {
        // Claimed once, reminded or not: an instalment paid in time is never reminded later.
        let claimed = instalment::Entity::update_many()
            .col_expr(instalment::Column::RemindedAt, Expr::value(Utc::now()))
            .filter(instalment::Column::InvoiceId.eq(invoice_id))
            .filter(instalment::Column::Position.is_in(positions.clone()))
            .filter(instalment::Column::RemindedAt.is_null())
            .exec(txn)
            .await?;
        let Some((subject, body, attachment)) = mail.filter(|_| claimed.rows_affected > 0) else { return Ok(false) };
        let notice =
            notify::Notice::new(notify::Event::InvoiceReminder, subject, body).email(Some(to)).attach(attachment);
        Ok(notify::send(txn, org, notice).await?.email_id.is_some())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn a_total_splits_into_equal_parts_the_odd_cents_first_a_month_apart() {
        let parts = split(100_000, 3, day("2026-01-31"));
        assert_eq!(parts.iter().map(|p| p.1).collect::<Vec<_>>(), [33_334, 33_333, 33_333]);
        assert_eq!(parts.iter().map(|p| p.1).sum::<i64>(), 100_000);
        // The end of a month stays the end of the next, shorter one.
        assert_eq!(
            parts.iter().map(|p| p.0).collect::<Vec<_>>(),
            [day("2026-01-31"), day("2026-02-28"), day("2026-03-31")]
        );
        assert_eq!(split(500, 1, day("2026-05-01")), [(day("2026-05-01"), 500)]);
    }

    #[test]
    fn payments_cover_the_instalments_in_order() {
        let row = |position, due: &str, amount| instalment::Model {
            payer: None,
            invoice_id: 1,
            position,
            due_on: day(due),
            amount_minor: amount,
            reminded_at: None,
        };
        let rows = [row(1, "2026-01-10", 400), row(2, "2026-02-10", 300), row(3, "2026-03-10", 300)];
        let paid = |received| Settlement { received_minor: received, refunded_minor: 0, credited_minor: 0 };
        let states = |received| {
            assemble(&rows, paid(received), Currency::EUR, day("2026-02-15"))
                .into_iter()
                .map(|i| i.state)
                .collect::<Vec<_>>()
        };
        use InstalmentState::*;
        assert_eq!(states(0), [Due, Due, Upcoming]);
        assert_eq!(states(400), [Paid, Due, Upcoming]);
        assert_eq!(states(500), [Paid, PartlyPaid, Upcoming]);
        assert_eq!(states(1000), [Paid, Paid, Paid]);
        // Credited after the first was paid: the rest is cancelled, not paid.
        let credited = Settlement { received_minor: 400, refunded_minor: 0, credited_minor: 1000 };
        let after = assemble(&rows, credited, Currency::EUR, day("2026-02-15"));
        assert_eq!(after.iter().map(|i| i.state).collect::<Vec<_>>(), [Paid, Cancelled, Cancelled]);
        let outstanding = assemble(&rows, paid(500), Currency::EUR, day("2026-02-15"));
        assert_eq!(outstanding[1].outstanding, Decimal::new(200, 2));
    }
}
