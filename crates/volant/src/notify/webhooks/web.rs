//! The webhooks pages (administrators): the endpoints and a form to add one; an
//! endpoint's page with its secret, its events, a test ping, and its delivery log
//! with a replay button per delivery.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{Delivery, EndpointInput, EndpointPatch, EndpointWithSecret, WebhookEvent};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::http::extract::{FormBody, Id, IdPair};
use crate::platform::i18n;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

pub fn routes() -> Routes {
    vec![
        ("/admin/webhooks", get(index).post(create)),
        ("/admin/webhooks/{id}", get(show).post(update)),
        ("/admin/webhooks/{id}/ping", post(ping)),
        ("/admin/webhooks/{id}/delete", post(delete)),
        ("/admin/webhooks/{id}/deliveries/{delivery_id}/replay", post(replay)),
    ]
}

/// An event's checkbox.
pub struct EventChoice {
    pub code: &'static str,
    pub label: String,
    pub checked: bool,
}

fn event_choices(chosen: &[WebhookEvent]) -> Vec<EventChoice> {
    let tr = i18n::current();
    WebhookEvent::ALL
        .into_iter()
        .map(|e| EventChoice {
            code: e.as_str(),
            label: tr.text(&e.label_key()).to_owned(),
            checked: chosen.contains(&e),
        })
        .collect()
}

/// An endpoint as its row shows it.
pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub events: usize,
    pub state: String,
}

fn state_text(enabled: bool, failing: bool, disabled_reason: Option<&str>) -> String {
    let tr = i18n::current();
    match (enabled, failing, disabled_reason) {
        (false, _, Some(_)) => tr.text("webhook.state_disabled_failing").to_owned(),
        (false, _, None) => tr.text("webhook.state_off").to_owned(),
        (true, true, _) => tr.text("webhook.state_failing").to_owned(),
        (true, false, _) => tr.text("webhook.state_on").to_owned(),
    }
}

/// A form of endpoint, as filled.
#[derive(Debug, Default)]
struct EndpointForm {
    url: String,
    description: String,
    events: Vec<WebhookEvent>,
    enabled: bool,
}

impl EndpointForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "url" => form.url = value,
                "description" => form.description = value,
                "events" => form.events.extend(WebhookEvent::parse(&value)),
                "enabled" => form.enabled = true,
                _ => {}
            }
        }
        form
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/webhooks.html")]
struct IndexPage {
    page: PageCtx,
    endpoints: Vec<EndpointRow>,
    url: String,
    description: String,
    events: Vec<EventChoice>,
    errors: FormErrors,
}

async fn index_page(caller: &Caller, page: PageCtx, form: EndpointForm, errors: FormErrors) -> WebResult<IndexPage> {
    let endpoints = super::list(&caller.db, caller.org)
        .await?
        .into_iter()
        .map(|e| EndpointRow {
            state: state_text(e.enabled, e.failing_since.is_some(), e.disabled_reason.as_deref()),
            id: e.id,
            url: e.url,
            description: e.description,
            events: e.events.len(),
        })
        .collect();
    Ok(IndexPage {
        page,
        endpoints,
        url: form.url,
        description: form.description,
        events: event_choices(&form.events),
        errors,
    })
}

async fn index(caller: Caller, page: PageCtx) -> WebResult<IndexPage> {
    index_page(&caller, page, EndpointForm::default(), FormErrors::default()).await
}

async fn create(
    caller: Caller,
    page: PageCtx,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = EndpointForm::from_pairs(pairs);
    let input = EndpointInput {
        url: Some(form.url.clone()),
        description: Some(form.description.clone()),
        events: Some(form.events.clone()),
    };
    let allow = caller.config.notify.webhook_allow_private_hosts;
    match super::create(&caller.db, (&caller.cipher, allow), &caller.actor, &input).await {
        Ok(made) => Ok(redirect_with_flash(
            &format!("/admin/webhooks/{}", made.endpoint.id),
            "success",
            i18n::current().text("webhook.created"),
        )),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(index_page(&caller, page, form, errors).await?))
        }
    }
}

/// A delivery as the log shows it.
pub struct DeliveryRow {
    pub id: i64,
    pub event: String,
    pub status: String,
    pub status_class: &'static str,
    pub attempts: i32,
    pub answer: String,
    pub when: String,
    pub payload: String,
}

impl DeliveryRow {
    fn new(d: Delivery) -> Self {
        let tr = i18n::current();
        let (status, status_class) = match d.status.as_str() {
            "delivered" => (tr.text("webhook.delivered"), "badge-accepted"),
            "failed" => (tr.text("webhook.failed"), "badge-rejected"),
            _ => (tr.text("webhook.pending"), "badge-expired"),
        };
        let answer = match (d.response_status, d.response_ms, &d.last_error) {
            (Some(code), Some(ms), None) => format!("HTTP {code} · {ms} ms"),
            (_, _, Some(error)) => error.chars().take(200).collect(),
            _ => "—".to_owned(),
        };
        Self {
            id: d.id,
            event: d.event,
            status: status.to_owned(),
            status_class,
            attempts: d.attempts,
            answer,
            when: i18n::local_date_time(d.last_attempt_at.unwrap_or(d.created_at)),
            payload: serde_json::to_string_pretty(&d.payload).unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/webhook.html")]
struct ShowPage {
    page: PageCtx,
    endpoint: EndpointWithSecret,
    state: String,
    url: String,
    description: String,
    enabled: bool,
    events: Vec<EventChoice>,
    deliveries: Vec<DeliveryRow>,
    errors: FormErrors,
}

async fn show_page(
    caller: &Caller,
    page: PageCtx,
    id: i64,
    form: Option<EndpointForm>,
    errors: FormErrors,
) -> WebResult<ShowPage> {
    let endpoint = super::get(&caller.db, &caller.cipher, caller.org, id).await?;
    let form = form.unwrap_or_else(|| EndpointForm {
        url: endpoint.endpoint.url.clone(),
        description: endpoint.endpoint.description.clone(),
        events: endpoint.endpoint.events.clone(),
        enabled: endpoint.endpoint.enabled,
    });
    let deliveries =
        super::deliveries(&caller.db, caller.org, id, None, 50).await?.into_iter().map(DeliveryRow::new).collect();
    let e = &endpoint.endpoint;
    Ok(ShowPage {
        state: state_text(e.enabled, e.failing_since.is_some(), e.disabled_reason.as_deref()),
        page,
        url: form.url,
        description: form.description,
        enabled: form.enabled,
        events: event_choices(&form.events),
        deliveries,
        errors,
        endpoint,
    })
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ShowPage> {
    show_page(&caller, page, id, None, FormErrors::default()).await
}

async fn update(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = EndpointForm::from_pairs(pairs);
    let patch = EndpointPatch {
        url: Some(form.url.clone()),
        description: Some(form.description.clone()),
        events: Some(form.events.clone()),
        enabled: Some(form.enabled),
    };
    let allow = caller.config.notify.webhook_allow_private_hosts;
    match super::update(&caller.db, allow, &caller.actor, id, &patch).await {
        Ok(_) => {
            Ok(redirect_with_flash(&format!("/admin/webhooks/{id}"), "success", i18n::current().text("webhook.saved")))
        }
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(show_page(&caller, page, id, Some(form), errors).await?))
        }
    }
}

async fn ping(caller: Caller, Id(id): Id) -> WebResult<Response> {
    super::ping(&caller.db, caller.org, id).await?;
    Ok(redirect_with_flash(&format!("/admin/webhooks/{id}"), "success", i18n::current().text("webhook.ping_queued")))
}

async fn replay(caller: Caller, IdPair(id, delivery_id): IdPair) -> WebResult<Response> {
    super::replay(&caller.db, caller.org, id, delivery_id).await?;
    Ok(redirect_with_flash(&format!("/admin/webhooks/{id}"), "success", i18n::current().text("webhook.replay_queued")))
}

async fn delete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    super::delete(&caller.db, &caller.actor, id).await?;
    Ok(redirect_with_flash("/admin/webhooks", "success", i18n::current().text("webhook.deleted")).into_response())
}
