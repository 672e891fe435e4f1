//! Reminders of unpaid invoices (relances), run by an hourly job: an issued
//! invoice with something still due is reminded by e-mail at each step of the
//! organization's settings (days after the due date, in its own zone). A step is
//! recorded with the e-mail it queues, in one transaction, under a key that lets
//! it be recorded once: two workers never send it twice. An invoice reached late
//! (several steps at once) gets one reminder, the latest step's. A payment that
//! settles the invoice stops them.

use chrono::{DateTime, Days, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::entity::{invoice, reminder};
use super::model::{InvoiceKind, InvoiceStatus};
use super::pdf::{document, rendered};
use super::service::{AUDIT_ENTITY, BALANCE_SQL, get, settings};
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::notify;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;

/// Most invoices one organization's run reminds (the next run takes the rest).
const BATCH: u64 = 500;

/// Sends the reminders due at `now`; returns how many were queued.
#[tracing::instrument(skip_all, err)]
pub async fn remind_unpaid<C: Writer>(db: &C, now: DateTime<Utc>, public_url: &str) -> AppResult<u64> {
    // No zone's day is ahead of UTC's by more than 14 hours.
    let latest = (now + chrono::Duration::hours(14)).date_naive();
    let orgs: Vec<i64> = invoice::Entity::find()
        .select_only()
        .column(invoice::Column::OrganizationId)
        .distinct()
        .filter(invoice::Column::Kind.eq(InvoiceKind::Invoice))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
        .filter(invoice::Column::DueDate.lte(latest))
        .filter(invoice::Column::BuyerEmail.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let mut sent = 0;
    for org in orgs {
        // One organization's failure must not stop the others' reminders.
        match remind_organization(db, OrgId::new(org), now, public_url).await {
            Ok(count) => sent += count,
            Err(err) => tracing::error!(organization = org, error = %err, "invoice reminders not sent"),
        }
    }
    if sent > 0 {
        tracing::info!(count = sent, "invoice reminders queued");
    }
    Ok(sent)
}

async fn remind_organization<C: Writer>(db: &C, org: OrgId, now: DateTime<Utc>, public_url: &str) -> AppResult<u64> {
    let settings = settings(db, org).await?;
    let Some(&first) = settings.reminder_days.first() else { return Ok(0) };
    let zone = organizations::zone(db, org).await?;
    let today = now.with_timezone(&zone).date_naive();
    let day_start = start_of(today, zone, now);
    let Some(reached) = today.checked_sub_days(Days::new(u64::try_from(first).unwrap_or(0))) else { return Ok(0) };
    let mut sent = 0;
    let mut after = 0;
    // Every candidate, a batch at a time (those already reminded at their step included).
    loop {
        let candidates: Vec<invoice::Model> = invoice::Entity::find()
            .filter(invoice::Column::OrganizationId.eq(org.get()))
            .filter(invoice::Column::Kind.eq(InvoiceKind::Invoice))
            .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
            .filter(invoice::Column::DueDate.lte(reached))
            .filter(invoice::Column::BuyerEmail.is_not_null())
            .filter(invoice::Column::Id.gt(after))
            .filter(Expr::cust(format!("{BALANCE_SQL} > 0")))
            .order_by_asc(invoice::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = candidates.last().map(|m| m.id) else { break };
        after = last;
        let full = candidates.len() as u64 == BATCH;
        sent += remind_batch(db, org, (&settings.reminder_days, public_url), (today, day_start), candidates).await?;
        if !full {
            break;
        }
    }
    Ok(sent)
}

async fn remind_batch<C: Writer>(
    db: &C,
    org: OrgId,
    (reminder_days, public_url): (&[i32], &str),
    (today, day_start): (chrono::NaiveDate, DateTime<Utc>),
    candidates: Vec<invoice::Model>,
) -> AppResult<u64> {
    // The steps already recorded, for the whole batch in one query; an invoice
    // reminded today (by hand) waits for tomorrow.
    let mut done: std::collections::HashMap<i64, Vec<i32>> = std::collections::HashMap::new();
    let mut reminded_today = std::collections::HashSet::new();
    let recorded: Vec<(i64, i32, DateTime<Utc>, Option<i64>)> = reminder::Entity::find()
        .select_only()
        .column(reminder::Column::InvoiceId)
        .column(reminder::Column::DaysAfterDue)
        .column(reminder::Column::SentAt)
        .column(reminder::Column::EmailId)
        .filter(reminder::Column::InvoiceId.is_in(candidates.iter().map(|m| m.id)))
        .into_tuple()
        .all(db)
        .await?;
    for (invoice_id, step, sent_at, email_id) in recorded {
        done.entry(invoice_id).or_default().push(step);
        if email_id.is_some() && sent_at >= day_start {
            reminded_today.insert(invoice_id);
        }
    }
    let mut sent = 0;
    for m in candidates {
        let Some(due) = m.due_date else { continue };
        let late = (today - due).num_days();
        let steps: Vec<i32> = reminder_days.iter().copied().filter(|d| i64::from(*d) <= late).collect();
        let Some(&step) = steps.last() else { continue };
        if done.get(&m.id).is_some_and(|steps| steps.contains(&step)) || reminded_today.contains(&m.id) {
            continue;
        }
        if send(db, org, m.id, &steps, public_url).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// The reminder e-mail of an issued invoice (its PDF attached, its link on
/// `public_url`), to its buyer; `None` without a buyer's address.
async fn reminder_notice(
    db: &impl sea_orm::ConnectionTrait,
    org: OrgId,
    id: i64,
    public_url: &str,
) -> AppResult<Option<notify::Notice>> {
    let doc = document(db, org, id).await?;
    let invoice = doc.invoice.clone();
    let Some(to) = invoice.buyer.email.clone() else { return Ok(None) };
    // What funders still owe (a driving-school contract's CPF, a bank's loan) is not asked of the buyer.
    let balance = invoice.buyer_balance();
    if balance <= rust_decimal::Decimal::ZERO {
        return Ok(None);
    }
    let tr = doc.organization.locale;
    let organization = doc.organization.name.clone();
    let today = doc.organization.today()?;
    let number = invoice.number.clone().unwrap_or_default();
    let link = super::share::url(db, public_url, id).await?;
    let (name, bytes) = rendered(doc).await?;
    let subject = tr.format("invoice.reminder_subject", &[("number", &number), ("organization", &organization)]);
    // Before its due date an invoice is not "échue": the reminder says when it falls due.
    let not_yet_due = invoice.due_date.is_some_and(|due| due >= today);
    let key = if not_yet_due { "invoice.reminder_body_upcoming" } else { "invoice.reminder_body" };
    let body = tr
        .format(
            key,
            &[
                ("buyer", &invoice.buyer.name),
                ("number", &number),
                ("issued", &invoice.issue_date.map(|d| tr.date(d)).unwrap_or_default()),
                ("due", &invoice.due_date.map(|d| tr.date(d)).unwrap_or_default()),
                ("balance", &invoice.currency.format(balance)),
                ("link", &link),
                ("organization", &organization),
            ],
        )
        .replace("\\n", "\n");
    let attachment = notify::Attachment { name, content_type: "application/pdf".to_owned(), bytes };
    Ok(Some(notify::Notice::new(notify::Event::InvoiceReminder, subject, body).email(Some(to)).attach(attachment)))
}

/// Records the reminder step `step` of `id` and queues its e-mail, in the
/// caller's transaction; `None` when that step was already recorded (by another
/// worker, or earlier today by hand): nothing is sent twice.
async fn record_step(
    txn: &impl sea_orm::ConnectionTrait,
    org: OrgId,
    id: i64,
    step: i32,
    notice: notify::Notice,
) -> AppResult<Option<Option<i64>>> {
    let taken = reminder::Entity::insert(reminder::ActiveModel {
        invoice_id: Set(id),
        days_after_due: Set(step),
        sent_at: Set(Utc::now()),
        email_id: Set(None),
    })
    .on_conflict(
        OnConflict::columns([reminder::Column::InvoiceId, reminder::Column::DaysAfterDue]).do_nothing().to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    if taken == 0 {
        return Ok(None);
    }
    let email_id = notify::send(txn, org, notice).await?.email_id;
    reminder::Entity::update_many()
        .col_expr(reminder::Column::EmailId, Expr::value(email_id))
        .filter(reminder::Column::InvoiceId.eq(id))
        .filter(reminder::Column::DaysAfterDue.eq(step))
        .exec(txn)
        .await?;
    Ok(Some(email_id))
}

/// Queues the reminder of `id` and records its steps; `false` when another worker
/// recorded the latest step first (nothing is sent twice).
async fn send<C: Writer>(db: &C, org: OrgId, id: i64, steps: &[i32], public_url: &str) -> AppResult<bool> {
    let Some(notice) = reminder_notice(db, org, id, public_url).await? else { return Ok(false) };
    let latest = steps.last().copied().unwrap_or_default();
    db::write(db, async |txn| -> AppResult<bool> {
        // The latest step first: if another worker holds it, this one stops here.
        let Some(email_id) = record_step(txn, org, id, latest, notice).await? else { return Ok(false) };
        // Earlier steps passed while nobody was reminded are not sent late.
        for &step in &steps[..steps.len().saturating_sub(1)] {
            reminder::Entity::insert(reminder::ActiveModel {
                invoice_id: Set(id),
                days_after_due: Set(step),
                sent_at: Set(Utc::now()),
                email_id: Set(None),
            })
            .on_conflict(
                OnConflict::columns([reminder::Column::InvoiceId, reminder::Column::DaysAfterDue])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        }
        Ok(email_id.is_some())
    })
    .await
}

/// Reminds the buyer of an issued invoice now (**Relancer le client**): the
/// automatic reminder's e-mail, at most once a day — the day is recorded as the
/// step of its lateness (negative before the due date), so the automatic reminder
/// of that day is not sent again. Returns the queued e-mail's id.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn remind_now<C: Writer>(db: &C, actor: &Actor, id: i64, public_url: &str) -> AppResult<i64> {
    let invoice = get(db, actor.org, id).await?;
    if !invoice.can_pay() {
        return Err(AppError::conflict("invoice_not_issued", Msg::new("invoice.send_needs_issued")));
    }
    if invoice.buyer_balance() <= rust_decimal::Decimal::ZERO {
        return Err(AppError::conflict("nothing_due", Msg::new("invoice.reminder.nothing_due")));
    }
    let Some(notice) = reminder_notice(db, actor.org, id, public_url).await? else {
        return Err(AppError::conflict("buyer_without_email", Msg::new("invoice.buyer_without_email")));
    };
    let now = Utc::now();
    let zone = organizations::zone(db, actor.org).await?;
    let today = now.with_timezone(&zone).date_naive();
    let late = invoice.due_date.map_or(0, |due| (today - due).num_days());
    let step = i32::try_from(late).unwrap_or_default();
    let already = reminder::Entity::find()
        .filter(reminder::Column::InvoiceId.eq(id))
        .filter(reminder::Column::EmailId.is_not_null())
        .filter(reminder::Column::SentAt.gte(start_of(today, zone, now)))
        .one(db)
        .await?;
    if already.is_some() {
        return Err(AppError::conflict("already_reminded_today", Msg::new("invoice.reminder.already_today")));
    }
    db::write(db, async |txn| {
        let Some(email_id) = record_step(txn, actor.org, id, step, notice).await? else {
            return Err(AppError::conflict("already_reminded_today", Msg::new("invoice.reminder.already_today")));
        };
        let Some(email_id) = email_id else {
            return Err(AppError::conflict("buyer_refused_email", Msg::new("invoice.buyer_refused_email")));
        };
        let changes = serde_json::json!({ "reminded": { "to": invoice.buyer.email, "days_after_due": step } });
        let event = audit::Event {
            action: audit::Action::Update,
            entity: Some((AUDIT_ENTITY, id.to_string())),
            changes: Some(changes),
        };
        audit::record(txn, Some(actor), None, event).await?;
        Ok(email_id)
    })
    .await
}

/// The reminders e-mailed for an invoice, oldest first: when, and how late.
pub async fn sent_for(db: &impl sea_orm::ConnectionTrait, id: i64) -> AppResult<Vec<(DateTime<Utc>, i32)>> {
    Ok(reminder::Entity::find()
        .select_only()
        .columns([reminder::Column::SentAt, reminder::Column::DaysAfterDue])
        .filter(reminder::Column::InvoiceId.eq(id))
        .filter(reminder::Column::EmailId.is_not_null())
        .order_by_asc(reminder::Column::SentAt)
        .into_tuple()
        .all(db)
        .await?)
}

/// When `day` began in `zone` (`now` when the zone's midnight does not exist).
fn start_of(day: chrono::NaiveDate, zone: chrono_tz::Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::TimeZone;
    day.and_hms_opt(0, 0, 0)
        .and_then(|midnight| zone.from_local_datetime(&midnight).earliest())
        .map_or(now, |start| start.with_timezone(&Utc))
}
