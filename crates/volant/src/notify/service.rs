//! Sending notifications (in-app, e-mail, SMS) with the recipient's
//! preferences and consents; the in-app inbox; what admins see of deliveries.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{consent, notification, preference};
use super::model::{Channel, Event, Notice, normalize_email, normalize_phone};
use crate::platform::db::{self, Writer, statement};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::jobs::{self, NewJob};
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::tenant::OrgId;
use crate::platform::validate::{Validator, check_email};

/// Kinds of the jobs that deliver.
pub const EMAIL_JOB: &str = "notify.email";
pub const SMS_JOB: &str = "notify.sms";
pub use super::push::PUSH_JOB;

/// What `send` recorded: the notification and its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub notification_id: i64,
    /// `None` when the channel was off, refused or without an address.
    pub email_id: Option<i64>,
    pub sms_id: Option<i64>,
}

/// Records a notification and queues its deliveries; call it with the
/// transaction of the change that causes it. Channels the recipient turned off,
/// and addresses whose owner refused e-mail or SMS, are skipped.
pub async fn send(db: &impl ConnectionTrait, org: OrgId, notice: Notice) -> AppResult<Sent> {
    let (allowed, refused) = if notice.event.is_choosable() {
        let allowed = channels_for(db, notice.user_id, notice.event).await?;
        (allowed, refused_addresses(db, org, notice.email.as_deref(), notice.phone.as_deref()).await?)
    } else {
        (HashSet::from([Channel::Email]), HashSet::new())
    };
    let email =
        notice.email.as_deref().filter(|a| allowed.contains(&Channel::Email) && !refused.contains(&normalize_email(a)));
    let phone = notice.phone.as_deref().filter(|p| allowed.contains(&Channel::Sms) && !refused.contains(*p));
    let in_app = notice.user_id.is_some() && allowed.contains(&Channel::InApp);
    let recipient = notice
        .email
        .clone()
        .or_else(|| notice.phone.clone())
        .or_else(|| notice.user_id.map(|id| format!("#{id}")))
        .unwrap_or_default();
    if in_app {
        metrics::counter!(crate::platform::metrics::name::NOTIFICATIONS, "channel" => "in_app", "outcome" => "sent")
            .increment(1);
    }
    let saved = notification::ActiveModel {
        organization_id: Set(org.get()),
        event: Set(notice.event.as_str().to_owned()),
        user_id: Set(notice.user_id),
        recipient: Set(recipient.chars().take(254).collect()),
        title: Set(notice.title.chars().take(300).collect()),
        body: Set(notice.body.clone()),
        link: Set(notice.link.clone()),
        in_app: Set(in_app),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut sent = Sent { notification_id: saved.id, email_id: None, sms_id: None };
    if let Some(to) = email {
        let new = super::email::NewEmail {
            to,
            subject: &notice.title,
            body: &notice.body,
            attachment: notice.attachment.clone(),
        };
        let id = super::email::insert(db, org, saved.id, new).await?;
        jobs::enqueue(
            db,
            NewJob::new(EMAIL_JOB, serde_json::json!({ "id": id })).for_org(org).key(format!("email:{id}")),
        )
        .await?;
        sent.email_id = Some(id);
    }
    if let Some(user) = notice.user_id.filter(|_| allowed.contains(&Channel::Push)) {
        for device in super::push::subscription_ids(db, user).await? {
            let payload = serde_json::json!({ "subscription_id": device, "notification_id": saved.id });
            let key = format!("push:{}:{device}", saved.id);
            jobs::enqueue(db, NewJob::new(PUSH_JOB, payload).for_org(org).key(key)).await?;
        }
    }
    if let Some(to) = phone {
        let id = super::sms::insert(db, org, saved.id, to, &sms_text(&notice.title, &notice.body)).await?;
        jobs::enqueue(db, NewJob::new(SMS_JOB, serde_json::json!({ "id": id })).for_org(org).key(format!("sms:{id}")))
            .await?;
        sent.sms_id = Some(id);
    }
    Ok(sent)
}

/// An SMS says the title and the first paragraph (once, when the paragraph repeats the title).
fn sms_text(title: &str, body: &str) -> String {
    let first = body.split("\n\n").next().unwrap_or("").trim();
    if first.is_empty() {
        title.to_owned()
    } else if first.starts_with(title.trim()) {
        first.to_owned()
    } else {
        format!("{title} — {first}")
    }
}

/// Marks every delivery still pending as failed with `reason` (demo data must
/// not write to the people it invents); returns how many.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn withhold_pending<W: Writer>(db: &W, org: OrgId, reason: &str) -> AppResult<u64> {
    let backend = db.get_database_backend();
    let _turn = db.write_turn().await;
    let mut withheld = 0;
    for table in ["email_outbox", "sms_outbox"] {
        let result = db
            .execute_raw(statement(
                backend,
                &format!("UPDATE {table} SET status = 'failed', last_error = $1 WHERE organization_id = $2 AND status = 'pending'"),
                vec![reason.into(), org.get().into()],
            ))
            .await?;
        withheld += result.rows_affected();
    }
    Ok(withheld)
}

/// The channels `event` goes through for this user (defaults without a user).
async fn channels_for(db: &impl ConnectionTrait, user: Option<i64>, event: Event) -> AppResult<HashSet<Channel>> {
    let mut on: HashSet<Channel> = Channel::ALL.into_iter().filter(|c| event.default_on(*c)).collect();
    if let Some(user) = user {
        let rows = preference::Entity::find()
            .filter(preference::Column::UserId.eq(user))
            .filter(preference::Column::Event.eq(event))
            .all(db)
            .await?;
        for row in rows {
            let channel: Channel = row.channel.parse()?;
            if row.enabled {
                on.insert(channel);
            } else {
                on.remove(&channel);
            }
        }
    }
    Ok(on)
}

/// Which of these addresses refused to be contacted.
async fn refused_addresses(
    db: &impl ConnectionTrait,
    org: OrgId,
    email: Option<&str>,
    phone: Option<&str>,
) -> AppResult<HashSet<String>> {
    use consent::Column;
    use sea_orm::ExprTrait;
    let mut any = Condition::any();
    if let Some(email) = email {
        any = any.add(Column::Channel.eq("email").and(Column::Address.eq(normalize_email(email))));
    }
    if let Some(phone) = phone {
        any = any.add(Column::Channel.eq("sms").and(Column::Address.eq(phone)));
    }
    if email.is_none() && phone.is_none() {
        return Ok(HashSet::new());
    }
    let rows: Vec<String> = consent::Entity::find()
        .select_only()
        .column(Column::Address)
        .filter(Column::OrganizationId.eq(org.get()))
        .filter(Column::Granted.eq(false))
        .filter(any)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Records one attempt at a delivery (`email_outbox` or `sms_outbox`): sent, or
/// only `saved` when no server is configured (a file, the log: nobody got it),
/// or failed (for good on the last attempt). Only a queued delivery changes.
pub(super) async fn record_attempt(
    db: &DatabaseConnection,
    (table, id): (&'static str, i64),
    error: Option<&String>,
    last: bool,
    delivered: bool,
) -> Result<(), sea_orm::DbErr> {
    let channel = if table == "sms_outbox" { "sms" } else { "email" };
    let outcome = match error {
        None if delivered => "sent",
        None => "saved",
        Some(_) if last => "failed",
        Some(_) => "retrying",
    };
    metrics::counter!(crate::platform::metrics::name::NOTIFICATIONS, "channel" => channel, "outcome" => outcome)
        .increment(1);
    let backend = db.get_database_backend();
    let stmt = match error {
        None => statement(
            backend,
            &format!(
                "UPDATE {table} SET attempts = attempts + 1, status = 'sent', delivered = $1, sent_at = $2 WHERE id = $3 AND status = 'pending'"
            ),
            vec![delivered.into(), Utc::now().into(), id.into()],
        ),
        Some(err) => statement(
            backend,
            &format!(
                "UPDATE {table} SET attempts = attempts + 1, last_error = $1, status = $2 WHERE id = $3 AND status = 'pending'"
            ),
            vec![err.clone().into(), if last { "failed" } else { "pending" }.into(), id.into()],
        ),
    };
    let _turn = db.write_turn().await;
    db.execute_raw(stmt).await?;
    Ok(())
}

/// A delivery's status as people and the API read it: `saved` for one that was
/// processed without a server (a file, the log), so nobody received it.
fn shown_status(status: String, delivered: bool) -> String {
    if status == "sent" && !delivered { "saved".to_owned() } else { status }
}

/// The path a notification leads to.
pub async fn link_of(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<String>> {
    Ok(about(db, id).await?.and_then(|about| about.link))
}

/// What an e-mail needs to know of its notification.
#[derive(Debug, Clone)]
pub struct About {
    pub link: Option<String>,
    pub event: Event,
    /// The recipient's account, if the notification went to a user.
    pub user_id: Option<i64>,
}

/// A notification's link, event and recipient account (`None`: it is gone).
pub async fn about(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<About>> {
    let found: Option<(Option<String>, Event, Option<i64>)> = notification::Entity::find_by_id(id)
        .select_only()
        .column(notification::Column::Link)
        .column(notification::Column::Event)
        .column(notification::Column::UserId)
        .into_tuple()
        .one(db)
        .await?;
    Ok(found.map(|(link, event, user_id)| About { link, event, user_id }))
}

/// Forgets a notification's link once its e-mail is sent or given up: a password
/// link is a credential, kept in the database no longer than its delivery needs.
pub(super) async fn forget_link(db: &DatabaseConnection, id: i64) -> Result<(), sea_orm::DbErr> {
    use crate::platform::db::Writer;
    let _turn = db.write_turn().await;
    notification::Entity::update_many()
        .col_expr(notification::Column::Link, sea_orm::sea_query::Expr::value(Option::<String>::None))
        .filter(notification::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A notification in its recipient's inbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxItem {
    pub id: i64,
    pub event: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

impl From<notification::Model> for InboxItem {
    fn from(m: notification::Model) -> Self {
        Self {
            id: m.id,
            event: m.event,
            title: m.title,
            body: m.body,
            link: m.link,
            created_at: m.created_at,
            read: m.read_at.is_some(),
        }
    }
}

fn inbox_of(org: OrgId, user: i64) -> Condition {
    Condition::all()
        .add(notification::Column::OrganizationId.eq(org.get()))
        .add(notification::Column::UserId.eq(user))
        .add(notification::Column::InApp.eq(true))
}

/// A user's notifications, newest first (keyset pages on the id).
pub async fn inbox(
    db: &impl ConnectionTrait,
    org: OrgId,
    user: i64,
    unread_only: bool,
    page: PageRequest,
) -> AppResult<Page<InboxItem>> {
    let mut query = notification::Entity::find().filter(inbox_of(org, user));
    if unread_only {
        query = query.filter(notification::Column::ReadAt.is_null());
    }
    Ok(page.fetch(db, query, notification::Column::Id, Order::Desc, |r| r.id).await?.map(InboxItem::from))
}

pub async fn unread_count(db: &impl ConnectionTrait, org: OrgId, user: i64) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(notification::Entity::find()
        .filter(inbox_of(org, user))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Marks one of the user's notifications read (another's is a 404).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn mark_read<W: Writer>(db: &W, org: OrgId, user: i64, id: i64) -> AppResult<()> {
    let _turn = db.write_turn().await;
    let found =
        notification::Entity::find_by_id(id).filter(inbox_of(org, user)).one(db).await?.ok_or(AppError::NotFound)?;
    if found.read_at.is_none() {
        notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Some(Utc::now()).into())
            .filter(notification::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Marks all of the user's notifications read; returns how many were unread.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn mark_all_read<W: Writer>(db: &W, org: OrgId, user: i64) -> AppResult<u64> {
    let _turn = db.write_turn().await;
    let result = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Some(Utc::now()).into())
        .filter(inbox_of(org, user))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Notifications created after `after` (any organization): what the live
/// stream pushes to open pages.
pub async fn created_after(db: &impl ConnectionTrait, after: i64, limit: u64) -> AppResult<Vec<(i64, i64)>> {
    Ok(notification::Entity::find()
        .select_only()
        .column(notification::Column::Id)
        .column(notification::Column::UserId)
        .filter(notification::Column::Id.gt(after))
        .filter(notification::Column::InApp.eq(true))
        .filter(notification::Column::UserId.is_not_null())
        .order_by_asc(notification::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// The newest notification's id (where the live stream starts).
pub async fn latest_id(db: &impl ConnectionTrait) -> AppResult<i64> {
    let id: Option<Option<i64>> = notification::Entity::find()
        .select_only()
        .column_as(notification::Column::Id.max(), "max")
        .into_tuple()
        .one(db)
        .await?;
    Ok(id.flatten().unwrap_or(0))
}

/// One event × channel choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Preference {
    pub event: Event,
    pub channel: Channel,
    pub enabled: bool,
}

/// Every event × channel for a user: their choices, the defaults elsewhere.
pub async fn preferences(db: &impl ConnectionTrait, user: i64) -> AppResult<Vec<Preference>> {
    let rows = preference::Entity::find().filter(preference::Column::UserId.eq(user)).all(db).await?;
    let mut chosen: HashMap<(Event, Channel), bool> = HashMap::new();
    for row in rows {
        chosen.insert((row.event.parse()?, row.channel.parse()?), row.enabled);
    }
    let mut all = Vec::new();
    for event in Event::choosable() {
        for channel in Channel::ALL {
            let enabled = chosen.get(&(event, channel)).copied().unwrap_or_else(|| event.default_on(channel));
            all.push(Preference { event, channel, enabled });
        }
    }
    Ok(all)
}

/// Saves a user's choices (the ones given; others keep theirs).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn set_preferences<W: Writer>(db: &W, user: i64, choices: &[Preference]) -> AppResult<Vec<Preference>> {
    use preference::Column;
    use sea_orm::sea_query::OnConflict;
    if let Some(fixed) = choices.iter().find(|c| !c.event.is_choosable()) {
        return Err(AppError::validation("event", Msg::new("notify.event_not_choosable").arg("event", fixed.event)));
    }
    // At most one write per event and channel, whatever the length of the list (the last word counts).
    let choices: Vec<Preference> =
        choices.iter().map(|c| ((c.event, c.channel), *c)).collect::<HashMap<_, _>>().into_values().collect();
    if !choices.is_empty() {
        let now = Utc::now();
        db::write(db, async |txn| {
            for choice in &choices {
                preference::Entity::insert(preference::ActiveModel {
                    user_id: Set(user),
                    event: Set(choice.event.as_str().to_owned()),
                    channel: Set(choice.channel.as_str().to_owned()),
                    enabled: Set(choice.enabled),
                    updated_at: Set(now),
                })
                .on_conflict(
                    OnConflict::columns([Column::UserId, Column::Event, Column::Channel])
                        .update_columns([Column::Enabled, Column::UpdatedAt])
                        .to_owned(),
                )
                .exec(txn)
                .await?;
            }
            AppResult::Ok(())
        })
        .await?;
    }
    preferences(db, user).await
}

/// A contact's recorded consent to e-mail or SMS.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consent {
    pub id: i64,
    pub channel: Channel,
    pub address: String,
    pub granted: bool,
    /// How it was given or refused ("by phone", "unsubscribe link", …).
    pub source: String,
    pub recorded_by: Option<i64>,
    pub recorded_at: DateTime<Utc>,
}

impl From<consent::Model> for Consent {
    fn from(m: consent::Model) -> Self {
        Self {
            id: m.id,
            channel: m.channel,
            address: m.address,
            granted: m.granted,
            source: m.source,
            recorded_by: m.recorded_by,
            recorded_at: m.recorded_at,
        }
    }
}

/// What someone said about being contacted.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ConsentInput {
    pub channel: Channel,
    /// An e-mail address (email) or a phone number (sms).
    pub address: String,
    pub granted: bool,
    pub source: String,
}

/// Records (or replaces) the consent of an address; the latest word counts.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn record_consent<W: Writer>(
    db: &W,
    org: OrgId,
    recorded_by: Option<i64>,
    input: ConsentInput,
) -> AppResult<Consent> {
    use consent::Column;
    use sea_orm::sea_query::OnConflict;
    let mut check = Validator::new();
    let address = match input.channel {
        Channel::Email => check.check("address", check_email(&input.address).map(|a| normalize_email(&a))),
        Channel::Sms => check.check("address", normalize_phone(&input.address).ok_or(Msg::new("notify.error.phone"))),
        Channel::InApp | Channel::Push => {
            check.add("channel", Msg::new("notify.error.channel"));
            None
        }
    };
    let source = check.required_text("source", Some(&input.source), 200);
    check.finish()?;
    let (Some(address), Some(source)) = (address, source) else {
        return Err(AppError::Internal("validated consent without a value".to_owned()));
    };
    let _turn = db.write_turn().await;
    consent::Entity::insert(consent::ActiveModel {
        organization_id: Set(org.get()),
        channel: Set(input.channel),
        address: Set(address.clone()),
        granted: Set(input.granted),
        source: Set(source),
        recorded_by: Set(recorded_by),
        recorded_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([Column::OrganizationId, Column::Channel, Column::Address])
            .update_columns([Column::Granted, Column::Source, Column::RecordedBy, Column::RecordedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    let saved = consent::Entity::find()
        .filter(Column::OrganizationId.eq(org.get()))
        .filter(Column::Channel.eq(input.channel))
        .filter(Column::Address.eq(address))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    tracing::info!(consent_id = saved.id, channel = %saved.channel, granted = saved.granted, "contact consent recorded");
    Ok(saved.into())
}

/// The organization's recorded consents, newest first.
pub async fn consents(db: &impl ConnectionTrait, org: OrgId, page: PageRequest) -> AppResult<Page<Consent>> {
    use consent::Column;
    let query = consent::Entity::find().filter(Column::OrganizationId.eq(org.get()));
    Ok(page.fetch(db, query, Column::Id, Order::Desc, |r| r.id).await?.map(Consent::from))
}

/// One channel's delivery of a notification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelDelivery {
    pub address: String,
    /// `pending`, `sent`, `saved` (processed without a server: written to the outbox folder or the log, nobody received it) or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A notification with the status of each channel, for administrators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub event: String,
    pub recipient: String,
    pub title: String,
    pub created_at: DateTime<Utc>,
    /// Shown in the user's inbox (and whether they read it).
    pub in_app: bool,
    pub read: bool,
    pub email: Option<ChannelDelivery>,
    pub sms: Option<ChannelDelivery>,
}

/// The organization's notifications with their deliveries, newest first.
pub async fn deliveries(db: &impl ConnectionTrait, org: OrgId, page: PageRequest) -> AppResult<Page<Delivery>> {
    use super::{outbox, sms};
    let query = notification::Entity::find().filter(notification::Column::OrganizationId.eq(org.get()));
    let rows = page.fetch(db, query, notification::Column::Id, Order::Desc, |r| r.id).await?;
    let ids: Vec<i64> = rows.items.iter().map(|n| n.id).collect();
    // Two queries for the page, whatever its length.
    let emails: HashMap<i64, ChannelDelivery> = outbox::entity::Entity::find()
        .filter(outbox::entity::Column::NotificationId.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|e| {
            Some((
                e.notification_id?,
                ChannelDelivery {
                    status: shown_status(e.status, e.delivered),
                    address: e.to_address,
                    attempts: e.attempts,
                    last_error: e.last_error,
                    sent_at: e.sent_at,
                },
            ))
        })
        .collect();
    let texts: HashMap<i64, ChannelDelivery> = sms::entity::Entity::find()
        .filter(sms::entity::Column::NotificationId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|s| {
            Some((
                s.notification_id?,
                ChannelDelivery {
                    status: shown_status(s.status, s.delivered),
                    address: s.to_phone,
                    attempts: s.attempts,
                    last_error: s.last_error,
                    sent_at: s.sent_at,
                },
            ))
        })
        .collect();
    let mut emails = emails;
    let mut texts = texts;
    Ok(rows.map(|n| Delivery {
        email: emails.remove(&n.id),
        sms: texts.remove(&n.id),
        id: n.id,
        event: n.event,
        recipient: n.recipient,
        title: n.title,
        created_at: n.created_at,
        in_app: n.in_app,
        read: n.read_at.is_some(),
    }))
}

#[cfg(test)]
mod tests {
    use super::sms_text;

    #[test]
    fn an_sms_says_the_title_once() {
        assert_eq!(
            sms_text("Leçon réservée", "Leçon réservée le 09/11 à 9:00\n\nDétails"),
            "Leçon réservée le 09/11 à 9:00"
        );
        assert_eq!(sms_text("Résultat", "Vous êtes reçu"), "Résultat — Vous êtes reçu");
        assert_eq!(sms_text("Rapport prêt", ""), "Rapport prêt");
    }
}
