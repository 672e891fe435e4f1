//! Pages: the bell's live stream, one's notifications and preferences,
//! contacts' consents, and for administrators deliveries and the job queue.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::response::Response;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use super::model::{Channel, Event};
use super::service::{self, ConsentInput};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n::{self, local_date_time};
use crate::platform::jobs::{self, JobFilter, QueueStats};
use crate::platform::live::Hub;
use crate::platform::pagination::PageRequest;
use crate::platform::web::{FormErrors, Listing, PageCtx, WebResult, form_flow, redirect_with_flash};

/// Everyone's own pages.
pub fn own_routes() -> Routes {
    vec![
        ("/notifications", get(inbox_page)),
        ("/notifications/stream", get(stream)),
        ("/notifications/read-all", post(read_all)),
        ("/notifications/{id}/open", post(open)),
        ("/notifications/preferences", get(preferences_page).post(save_preferences)),
        ("/notifications/push", post(push_subscribe)),
        ("/notifications/push/{id}/remove", post(push_remove)),
    ]
}

pub fn consents_routes() -> Routes {
    vec![("/contacts/consents", get(consents_page).post(record_consent))]
}

pub fn operations_routes() -> Routes {
    vec![
        ("/admin/jobs", get(jobs_page)),
        ("/admin/jobs/{id}/retry", post(retry_job)),
        ("/admin/notifications", get(deliveries_page)),
    ]
}

/// Live updates of the bell: an `unread` event at once, then whenever the
/// user gets a notification or reads one (on any instance).
async fn stream(caller: Caller) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let (org, user) = (caller.org, caller.current.user.id);
    let hub = caller.live.clone();
    if !hub.is_feeding() {
        // Where the feed starts is read before this listener's first event: a
        // notification written after that event is always one the feed announces.
        let start = service::latest_id(&caller.db).await.unwrap_or(0);
        hub.feed_once(|| spawn_feed(caller.db.clone(), hub.clone(), start));
    }
    let receiver = hub.subscribe();
    let closed = Box::pin(hub.closed());
    let start = (receiver, caller.db.clone(), true, closed);
    let stream = futures_util::stream::unfold(start, move |(mut receiver, db, first, mut closed)| async move {
        use tokio::sync::broadcast::error::RecvError;
        if !first {
            loop {
                tokio::select! {
                    () = &mut closed => return None,
                    received = receiver.recv() => match received {
                        Ok(id) if id == user => break,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return None,
                    },
                }
            }
        }
        let unread = service::unread_count(&db, org, user).await.unwrap_or(0);
        let latest = service::inbox(&db, org, user, true, PageRequest::first(1))
            .await
            .ok()
            .and_then(|p| p.items.into_iter().next());
        let data = serde_json::json!({
            "unread": unread,
            "title": latest.as_ref().map(|n| n.title.clone()),
            "link": latest.and_then(|n| n.link),
        });
        Some((Ok(SseEvent::default().event("unread").data(data.to_string())), (receiver, db, false, closed)))
    });
    // Fused, like every streamed body: a layer may poll once more after the end.
    Sse::new(futures_util::StreamExt::fuse(stream)).keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
}

/// Watches for new in-app notifications (written by any instance or worker)
/// and tells this process's open pages: one query a second, whatever the
/// number of open pages.
fn spawn_feed(db: DatabaseConnection, hub: Arc<Hub>, start: i64) {
    tokio::spawn(async move {
        let mut last = start;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            match service::created_after(&db, last, 500).await {
                Ok(rows) => {
                    for (id, user) in rows {
                        last = id;
                        hub.publish(user);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "watching notifications failed"),
            }
        }
    });
}

pub struct InboxRow {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub when: String,
    pub read: bool,
    pub link: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/inbox.html")]
struct InboxPage {
    page: PageCtx,
    rows: Vec<InboxRow>,
    unread_only: bool,
    unread: u64,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InboxParams {
    unread: Option<String>,
}

async fn inbox_page(
    caller: Caller,
    page: PageCtx,
    Query(params): Query<InboxParams>,
    listing: Listing,
) -> WebResult<InboxPage> {
    let (org, user) = (caller.org, caller.current.user.id);
    let listing = listing.limit(30);
    let unread_only = params.unread.as_deref() == Some("1");
    let found = service::inbox(&caller.db, org, user, unread_only, listing.request.clone()).await?;
    let unread = service::unread_count(&caller.db, org, user).await?;
    let next = listing.next_url(found.next_cursor.as_deref());
    let rows = found
        .items
        .into_iter()
        .map(|n| InboxRow {
            id: n.id,
            title: n.title,
            body: n.body,
            when: local_date_time(n.created_at),
            read: n.read,
            link: n.link,
        })
        .collect();
    Ok(InboxPage { page, rows, unread_only, unread, next })
}

/// Marks a notification read and goes where it leads.
async fn open(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let (org, user) = (caller.org, caller.current.user.id);
    service::mark_read(&caller.db, org, user, id).await?;
    caller.live.publish(user);
    let target = service::link_of(&caller.db, id).await?;
    let target = target.as_deref().and_then(crate::platform::web::safe_redirect_target).unwrap_or("/notifications");
    Ok(crate::platform::web::see_other(target))
}

async fn read_all(caller: Caller) -> WebResult<Response> {
    service::mark_all_read(&caller.db, caller.org, caller.current.user.id).await?;
    caller.live.publish(caller.current.user.id);
    Ok(redirect_with_flash("/notifications", "success", i18n::current().text("notify.all_read")))
}

pub struct PreferenceRow {
    pub event: Event,
    pub cells: Vec<(Channel, bool)>,
}

/// A device the person receives push notifications on, as the page shows it.
pub struct DeviceRow {
    pub id: i64,
    pub device: String,
    pub since: String,
    pub last_sent: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/preferences.html")]
struct PreferencesPage {
    page: PageCtx,
    channels: Vec<Channel>,
    rows: Vec<PreferenceRow>,
    /// The VAPID public key browsers subscribe with.
    push_key: String,
    devices: Vec<DeviceRow>,
    /// Some event is ticked to go through `push`.
    wants_push: bool,
}

async fn preferences_page(caller: Caller, page: PageCtx) -> WebResult<PreferencesPage> {
    let all = service::preferences(&caller.db, caller.current.user.id).await?;
    let rows = Event::choosable()
        .map(|event| PreferenceRow {
            event,
            cells: all.iter().filter(|p| p.event == event).map(|p| (p.channel, p.enabled)).collect(),
        })
        .collect();
    let zone = crate::identity::organizations::service::get(&caller.db, caller.org).await?.zone()?;
    let devices = super::push::devices(&caller.db, caller.org, caller.current.user.id)
        .await?
        .into_iter()
        .map(|d| DeviceRow {
            id: d.id,
            device: if d.device.is_empty() { "—".to_owned() } else { d.device },
            since: i18n::current().date_time_in(zone, d.created_at),
            last_sent: d.last_sent_at.map(|at| i18n::current().date_time_in(zone, at)),
        })
        .collect();
    let push_key = super::push::Vapid::load(&caller.db).await?.public_key().to_owned();
    let wants_push = all.iter().any(|p| p.channel == Channel::Push && p.enabled);
    Ok(PreferencesPage { page, channels: Channel::ALL.to_vec(), rows, push_key, devices, wants_push })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PushForm {
    endpoint: String,
    p256dh: String,
    auth: String,
    device: String,
}

/// This browser's push subscription, sent by app.js once the person allowed
/// notifications: 204, or the page's refusal.
async fn push_subscribe(caller: Caller, FormBody(form): FormBody<PushForm>) -> WebResult<Response> {
    use axum::response::IntoResponse;
    let input = super::push::SubscriptionInput {
        endpoint: Some(form.endpoint),
        keys: Some(super::push::SubscriptionKeys { p256dh: Some(form.p256dh), auth: Some(form.auth) }),
        device: Some(form.device),
    };
    let allow_private = caller.config.notify.push_allow_private_hosts;
    super::push::subscribe(&caller.db, caller.org, caller.current.user.id, &input, allow_private).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

async fn push_remove(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let which = super::push::Which::Id(id);
    super::push::unsubscribe(&caller.db, caller.org, caller.current.user.id, which).await?;
    Ok(redirect_with_flash("/notifications/preferences", "success", i18n::current().text("push.removed")))
}

/// Every box of the grid: a ticked one is sent as `event.channel=on`.
async fn save_preferences(caller: Caller, FormBody(form): FormBody<HashMap<String, String>>) -> WebResult<Response> {
    let mut choices = Vec::new();
    for event in Event::choosable() {
        for channel in Channel::ALL {
            let enabled = form.contains_key(&format!("{event}.{channel}"));
            choices.push(service::Preference { event, channel, enabled });
        }
    }
    service::set_preferences(&caller.db, caller.current.user.id, &choices).await?;
    Ok(redirect_with_flash("/notifications/preferences", "success", i18n::current().text("notify.preferences_saved")))
}

pub struct ConsentRow {
    pub channel: Channel,
    pub address: String,
    pub granted: bool,
    pub source: String,
    pub when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/consents.html")]
struct ConsentsPage {
    page: PageCtx,
    rows: Vec<ConsentRow>,
    next: Option<String>,
    errors: FormErrors,
    form: ConsentForm,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct ConsentForm {
    channel: String,
    address: String,
    granted: String,
    source: String,
}

async fn consents_view(
    caller: &Caller,
    page: PageCtx,
    listing: &Listing,
    errors: FormErrors,
    form: ConsentForm,
) -> Result<ConsentsPage, AppError> {
    let found = service::consents(&caller.db, caller.actor.org, listing.request.clone()).await?;
    let next = listing.next_url(found.next_cursor.as_deref());
    let rows = found
        .items
        .into_iter()
        .map(|c| ConsentRow {
            channel: c.channel,
            address: c.address,
            granted: c.granted,
            source: c.source,
            when: local_date_time(c.recorded_at),
        })
        .collect();
    Ok(ConsentsPage { page, rows, next, errors, form })
}

async fn consents_page(caller: Caller, page: PageCtx, listing: Listing) -> WebResult<ConsentsPage> {
    let form = ConsentForm { channel: "email".to_owned(), granted: "no".to_owned(), ..ConsentForm::default() };
    Ok(consents_view(&caller, page, &listing, FormErrors::default(), form).await?)
}

async fn record_consent(
    caller: Caller,
    page: PageCtx,
    listing: Listing,
    FormBody(form): FormBody<ConsentForm>,
) -> WebResult<Response> {
    let channel = if form.channel == "sms" { Channel::Sms } else { Channel::Email };
    let input = ConsentInput {
        channel,
        address: form.address.clone(),
        granted: form.granted == "yes",
        source: form.source.clone(),
    };
    let result = service::record_consent(&caller.db, caller.org, caller.actor.user_id, input).await;
    let done = |_| redirect_with_flash("/contacts/consents", "success", i18n::current().text("notify.consent_saved"));
    form_flow(result, done, async |errors| consents_view(&caller, page, &listing, errors, form).await).await
}

pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub attempts: String,
    pub when: String,
    pub last_error: String,
    pub dead: bool,
}

pub struct JobSection {
    pub title_key: &'static str,
    pub rows: Vec<JobRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/jobs.html")]
struct JobsPage {
    page: PageCtx,
    stats: QueueStats,
    sections: Vec<JobSection>,
}

async fn jobs_page(caller: Caller, page: PageCtx) -> WebResult<JobsPage> {
    let scope = super::job_scope(&caller.current);
    let stats = jobs::stats(&caller.db, scope).await?;
    let mut sections = Vec::new();
    for (filter, title_key) in [
        (JobFilter::Dead, "jobs.section.dead"),
        (JobFilter::Retrying, "jobs.section.retrying"),
        (JobFilter::Running, "jobs.section.running"),
    ] {
        let rows = jobs::list(&caller.db, scope, filter, 50)
            .await?
            .into_iter()
            .map(|j| JobRow {
                id: j.id,
                dead: j.status == "dead",
                kind: j.kind,
                attempts: format!("{}/{}", j.attempts, j.max_attempts),
                when: i18n::current().local_timestamp(j.finished_at.unwrap_or(j.run_at)),
                last_error: j.last_error.unwrap_or_default(),
            })
            .collect();
        sections.push(JobSection { title_key, rows });
    }
    Ok(JobsPage { page, stats, sections })
}

async fn retry_job(caller: Caller, Id(id): Id) -> WebResult<Response> {
    jobs::retry(&caller.db, super::job_scope(&caller.current), id).await?;
    Ok(redirect_with_flash("/admin/jobs", "success", i18n::current().text("jobs.retried")))
}

pub struct DeliveryRow {
    pub when: String,
    pub event: String,
    pub recipient: String,
    pub title: String,
    pub in_app: String,
    pub email: String,
    pub sms: String,
    pub problem: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/deliveries.html")]
struct DeliveriesPage {
    page: PageCtx,
    rows: Vec<DeliveryRow>,
    next: Option<String>,
}

async fn deliveries_page(caller: Caller, page: PageCtx, listing: Listing) -> WebResult<DeliveriesPage> {
    let found = service::deliveries(&caller.db, caller.org, listing.request.clone()).await?;
    let next = listing.next_url(found.next_cursor.as_deref());
    let tr = page.tr;
    let status = |d: &Option<service::ChannelDelivery>| match d {
        None => "—".to_owned(),
        Some(d) => format!("{} · {}", tr.t(&format!("notify.status.{}", d.status)), d.address),
    };
    let rows = found
        .items
        .into_iter()
        .map(|d| DeliveryRow {
            when: local_date_time(d.created_at),
            event: Event::parse(&d.event).map_or(d.event.clone(), |e| tr.t(e.label_key()).to_owned()),
            recipient: d.recipient.clone(),
            title: d.title.clone(),
            in_app: if !d.in_app {
                "—".to_owned()
            } else if d.read {
                tr.t("notify.status.read").to_owned()
            } else {
                tr.t("notify.status.unread").to_owned()
            },
            email: status(&d.email),
            sms: status(&d.sms),
            problem: [d.email.as_ref(), d.sms.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|c| c.last_error.clone())
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect();
    Ok(DeliveriesPage { page, rows, next })
}
