//! JSON API: one's notifications and preferences; contacts' consents; for
//! administrators, deliveries and the job queue.

use axum::Json;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::mail_settings::{self, MailInput, MailSettings, TestOutcome};
use super::push::{Device, SubscriptionInput};
use super::service::{self, Consent, ConsentInput, Delivery, InboxItem, Preference};
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::extract::{ApiJson, ApiQuery, Id};
use crate::platform::http::respond::{Paged, created};
use crate::platform::jobs::{self, JobFilter, JobView, QueueStats};
use crate::platform::pagination::{PageParams, PageRequest};

/// One's notifications and preferences, contacts' consents (managers),
/// deliveries and jobs (administrators).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(unread))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(push_key))
        .routes(routes!(list_devices, add_device))
        .routes(routes!(remove_device))
        .routes(routes!(list_consents, record_consent))
        .routes(routes!(list_deliveries))
        .routes(routes!(queue_stats))
        .routes(routes!(list_jobs))
        .routes(routes!(retry_job))
        .routes(routes!(get_mail, put_mail, delete_mail))
        .routes(routes!(test_mail))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `true`: unread ones only.
    pub unread: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Opaque cursor from the previous page's `Link` header.
    pub cursor: Option<String>,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/notifications", security(("bearer" = ["own_profile"])), tag = "notifications", params(InboxQuery),
    responses((status = 200, body = [InboxItem]), (status = 400, body = Problem)))]
async fn list_notifications(
    caller: Caller,
    ApiQuery(query): ApiQuery<InboxQuery>,
    paged: Paged,
) -> AppResult<Response> {
    let user = &caller.current.user;
    let page =
        service::inbox(&caller.db, user.org, user.id, query.unread.unwrap_or(false), paged.request.clone()).await?;
    Ok(paged.respond(page))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: u64,
}

/// How many of the caller's notifications are unread (the bell).
#[utoipa::path(get, path = "/notifications/unread", security(("bearer" = ["own_profile"])), tag = "notifications",
    responses((status = 200, body = UnreadCount)))]
async fn unread(caller: Caller) -> AppResult<Json<UnreadCount>> {
    Ok(Json(UnreadCount { unread: service::unread_count(&caller.db, caller.org, caller.current.user.id).await? }))
}

/// Mark one of the caller's notifications read.
#[utoipa::path(post, path = "/notifications/{id}/read", security(("bearer" = ["own_profile"])), tag = "notifications", params(("id" = i64, Path)),
    responses((status = 200, body = UnreadCount), (status = 404, body = Problem)))]
async fn mark_read(caller: Caller, Id(id): Id) -> AppResult<Json<UnreadCount>> {
    service::mark_read(&caller.db, caller.org, caller.current.user.id, id).await?;
    caller.live.publish(caller.current.user.id);
    Ok(Json(UnreadCount { unread: service::unread_count(&caller.db, caller.org, caller.current.user.id).await? }))
}

/// Mark all of the caller's notifications read.
#[utoipa::path(post, path = "/notifications/read-all", security(("bearer" = ["own_profile"])), tag = "notifications",
    responses((status = 200, body = UnreadCount)))]
async fn mark_all_read(caller: Caller) -> AppResult<Json<UnreadCount>> {
    service::mark_all_read(&caller.db, caller.org, caller.current.user.id).await?;
    caller.live.publish(caller.current.user.id);
    Ok(Json(UnreadCount { unread: 0 }))
}

/// The instance's VAPID public key: a browser subscribes with it
/// (`pushManager.subscribe({ applicationServerKey })`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PushKey {
    /// Base64url, uncompressed P-256 point.
    pub public_key: String,
}

#[utoipa::path(get, path = "/push/key", security(("bearer" = ["own_profile"])), tag = "notifications",
    responses((status = 200, body = PushKey)))]
async fn push_key(caller: Caller) -> AppResult<Json<PushKey>> {
    Ok(Json(PushKey { public_key: super::push::Vapid::load(&caller.db).await?.public_key().to_owned() }))
}

/// The caller's devices that receive push notifications, newest first.
#[utoipa::path(get, path = "/push/devices", security(("bearer" = ["own_profile"])), tag = "notifications",
    responses((status = 200, body = [Device])))]
async fn list_devices(caller: Caller) -> AppResult<Json<Vec<Device>>> {
    Ok(Json(super::push::devices(&caller.db, caller.org, caller.current.user.id).await?))
}

/// Receive push notifications on a device: its browser's subscription
/// (`PushSubscription.toJSON()`); a browser subscribed before is the caller's now.
#[utoipa::path(post, path = "/push/devices", security(("bearer" = ["own_profile"])), tag = "notifications", request_body = SubscriptionInput,
    responses((status = 201, body = Device, headers(("Location" = String))), (status = 422, body = Problem)))]
async fn add_device(caller: Caller, ApiJson(input): ApiJson<SubscriptionInput>) -> AppResult<Response> {
    let allow_private = caller.config.notify.push_allow_private_hosts;
    let device = super::push::subscribe(&caller.db, caller.org, caller.current.user.id, &input, allow_private).await?;
    Ok(created(&format!("/api/v1/push/devices/{}", device.id), device))
}

/// Stop push notifications on one of the caller's devices.
#[utoipa::path(delete, path = "/push/devices/{id}", security(("bearer" = ["own_profile"])), tag = "notifications", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn remove_device(caller: Caller, Id(id): Id) -> AppResult<axum::http::StatusCode> {
    super::push::unsubscribe(&caller.db, caller.org, caller.current.user.id, super::push::Which::Id(id)).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The caller's choices: every event × channel (in_app, email, sms, push).
#[utoipa::path(get, path = "/notifications/preferences", security(("bearer" = ["own_profile"])), tag = "notifications",
    responses((status = 200, body = [Preference])))]
async fn get_preferences(caller: Caller) -> AppResult<Json<Vec<Preference>>> {
    Ok(Json(service::preferences(&caller.db, caller.current.user.id).await?))
}

/// Change some of the caller's choices; the answer is the whole grid.
#[utoipa::path(put, path = "/notifications/preferences", security(("bearer" = ["own_profile"])), tag = "notifications", request_body = [Preference],
    responses((status = 200, body = [Preference]), (status = 422, body = Problem)))]
async fn put_preferences(
    caller: Caller,
    ApiJson(choices): ApiJson<Vec<Preference>>,
) -> AppResult<Json<Vec<Preference>>> {
    Ok(Json(service::set_preferences(&caller.db, caller.current.user.id, &choices).await?))
}

/// Recorded consents of contacts (clients, candidates) to e-mail and SMS, newest first.
#[utoipa::path(get, path = "/contact-consents", security(("bearer" = ["contact_consents"])), tag = "notifications", params(PageParams),
    responses((status = 200, body = [Consent]), (status = 400, body = Problem)))]
async fn list_consents(caller: Caller, ApiQuery(query): ApiQuery<PageParams>, paged: Paged) -> AppResult<Response> {
    let request = PageRequest::from_params(&query)?;
    let page = service::consents(&caller.db, caller.org, request).await?;
    Ok(paged.respond(page))
}

/// Record that a contact gives or refuses consent to e-mail or SMS (the latest word counts).
#[utoipa::path(post, path = "/contact-consents", security(("bearer" = ["contact_consents"])), tag = "notifications", request_body = ConsentInput,
    responses((status = 201, body = Consent), (status = 422, body = Problem)))]
async fn record_consent(caller: Caller, ApiJson(input): ApiJson<ConsentInput>) -> AppResult<Response> {
    let consent = service::record_consent(&caller.db, caller.org, caller.actor.user_id, input).await?;
    Ok(created("/api/v1/contact-consents", consent))
}

/// Every notification of the organization with the status of each channel.
#[utoipa::path(get, path = "/admin/notifications", security(("bearer" = ["operations"])), tag = "operations", params(PageParams),
    responses((status = 200, body = [Delivery]), (status = 400, body = Problem)))]
async fn list_deliveries(caller: Caller, ApiQuery(query): ApiQuery<PageParams>, paged: Paged) -> AppResult<Response> {
    let request = PageRequest::from_params(&query)?;
    let page = service::deliveries(&caller.db, caller.org, request).await?;
    Ok(paged.respond(page))
}

/// The job queue: waiting, scheduled, running, retrying, dead, done.
///
/// The organization's jobs; a platform operator's counts include the platform-wide ones.
#[utoipa::path(get, path = "/admin/jobs/stats", security(("bearer" = ["operations"])), tag = "operations",
    responses((status = 200, body = QueueStats)))]
async fn queue_stats(caller: Caller) -> AppResult<Json<QueueStats>> {
    Ok(Json(jobs::stats(&caller.db, super::job_scope(&caller.current)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// retrying, running, dead, queued or done.
    #[param(inline)]
    pub status: JobFilter,
}

/// The latest 100 jobs in one state, newest first, with their last error.
///
/// The organization's jobs, and for a platform operator the platform-wide ones too.
#[utoipa::path(get, path = "/admin/jobs", security(("bearer" = ["operations"])), tag = "operations", params(JobsQuery),
    responses((status = 200, body = [JobView]), (status = 400, body = Problem)))]
async fn list_jobs(caller: Caller, ApiQuery(query): ApiQuery<JobsQuery>) -> AppResult<Json<Vec<JobView>>> {
    Ok(Json(jobs::list(&caller.db, super::job_scope(&caller.current), query.status, 100).await?))
}

/// Give a dead job new attempts, now.
///
/// A platform-wide job: platform operators only (404 for everyone else).
#[utoipa::path(post, path = "/admin/jobs/{id}/retry", security(("bearer" = ["operations"])), tag = "operations", params(("id" = i64, Path)),
    responses((status = 200, body = JobView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn retry_job(caller: Caller, Id(id): Id) -> AppResult<Json<JobView>> {
    Ok(Json(jobs::retry(&caller.db, super::job_scope(&caller.current), id).await?))
}

/// The organization's own mail server (its password masked) and sender. 404 while
/// it has none (its e-mails then leave by the instance's server, if there is one).
#[utoipa::path(get, path = "/organization/mail", security(("bearer" = ["org.settings"])), tag = "notifications",
    responses((status = 200, body = MailSettings), (status = 404, body = Problem)))]
async fn get_mail(caller: Caller) -> AppResult<Json<MailSettings>> {
    let shown = mail_settings::shown(&caller.db, &caller.cipher, caller.org).await?;
    Ok(Json(shown.ok_or(crate::platform::error::AppError::NotFound)?))
}

/// Set the organization's mail server and sender. The URL (with its credentials)
/// is encrypted at rest; an absent or empty `smtp_url` keeps the saved one.
#[utoipa::path(put, path = "/organization/mail", security(("bearer" = ["org.settings"])), tag = "notifications",
    request_body = MailInput, responses((status = 200, body = MailSettings), (status = 422, body = Problem)))]
async fn put_mail(caller: Caller, ApiJson(input): ApiJson<MailInput>) -> AppResult<Json<MailSettings>> {
    Ok(Json(
        mail_settings::set(
            &caller.db,
            (&caller.cipher, caller.config.notify.mail_allow_private_hosts),
            &caller.actor,
            &input,
        )
        .await?,
    ))
}

/// Stop using the organization's own server.
#[utoipa::path(delete, path = "/organization/mail", security(("bearer" = ["org.settings"])), tag = "notifications",
    responses((status = 204)))]
async fn delete_mail(caller: Caller) -> AppResult<axum::http::StatusCode> {
    mail_settings::clear(&caller.db, &caller.actor).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Send a test e-mail to yourself through the organization's server, now; the
/// answer is what the server said (`delivered: false` with the error when it refused
/// or could not be reached). 409 `mail_not_configured` without a server of its own.
#[utoipa::path(post, path = "/organization/mail/test", security(("bearer" = ["org.settings"])), tag = "notifications",
    responses((status = 200, body = TestOutcome), (status = 409, body = Problem)))]
async fn test_mail(caller: Caller) -> AppResult<Json<TestOutcome>> {
    let organization = crate::identity::organizations::service::get(&caller.db, caller.org).await?;
    let tr = crate::platform::i18n::current();
    let words = (tr.text("mail.test_subject"), tr.text("mail.test_body"));
    let to = caller.current.user.email.clone();
    Ok(Json(
        mail_settings::test(
            &caller.db,
            (&caller.cipher, caller.config.notify.mail_allow_private_hosts),
            caller.org,
            (&to, &organization.name),
            words,
        )
        .await?,
    ))
}
