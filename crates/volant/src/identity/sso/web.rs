//! The pages of single sign-on: the sign-in page's button (it sends the e-mail's
//! organization to its provider), the provider's answer, and the administrators'
//! settings page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Answer, Http, MAPPABLE_ROLES, RoleMapping, RoleSource, SsoInput};
use crate::identity::Caller;
use crate::identity::audit::{self, Action};
use crate::identity::auth::web_pages::{Routes, login_page, login_refused, safe_next, session_response};
use crate::identity::roles::Role;
use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n;
use crate::platform::proxy::ClientContext;
use crate::platform::ratelimit::client_ip;
use crate::platform::web::{
    FormErrors, PageCtx, SelectOption, WebResult, cookie_header, is_https, read_cookie, redirect_with_flash,
    unprocessable,
};

/// The cookie holding the state of this browser's sign-in at the provider.
const STATE_COOKIE: &str = "volant_sso";
/// Empty mapping rows offered below the saved ones.
const BLANK_MAPPINGS: usize = 3;

/// The sign-in through a provider and its answer: open.
pub fn sign_in_routes() -> Routes {
    vec![("/login/sso", post(start)), (CALLBACK_ROUTE, get(callback))]
}

/// The settings page (administrators).
pub fn admin_routes() -> Routes {
    vec![("/admin/sso", get(show).post(save)), ("/admin/sso/delete", post(remove))]
}

/// The step between the sign-in form and the provider.
#[derive(Template, WebTemplate)]
#[template(path = "identity/sso_redirect.html")]
struct RedirectPage {
    page: PageCtx,
    url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StartForm {
    email: String,
    next: String,
}

/// Each provider's callback address (`{key}`: see [`super::callback_key`]).
const CALLBACK_ROUTE: &str = "/login/sso/callback/{key}";

fn http_client(state: &AppState) -> WebResult<Http> {
    Http::new(state.config.sso_allow_private_hosts).map_err(|e| AppError::Internal(e).into())
}

/// The sign-in page's "single sign-on" button: the e-mail's organization's
/// provider, or the sign-in page again saying none covers it.
async fn start(
    State(state): State<AppState>,
    page: PageCtx,
    extensions: Extensions,
    FormBody(form): FormBody<StartForm>,
) -> WebResult<Response> {
    let next = safe_next(Some(&form.next));
    let tr = i18n::current();
    // Each start reads the provider and keeps a pending sign-in: counted like a
    // sign-in attempt from this address.
    if let Err(err) = state.limits.check_sign_in_from(&client_ip(&extensions)).await {
        return login_refused(&state, page, (form.email, next), err).await;
    }
    if crate::platform::validate::check_email(&form.email).is_err() {
        let error = Some(tr.text("sso.email_needed").to_owned());
        return login_page(&state, page, (form.email, next), error, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let Some(org) = super::organization_for(&state.db, &form.email).await? else {
        let error = Some(tr.text("sso.no_provider").to_owned());
        return login_page(&state, page, (form.email, next), error, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let public_url = ClientContext::of(&extensions).public_url(&state.config);
    let http = http_client(&state)?;
    match super::start(&state.db, &http, org, (&form.email, &next, &public_url)).await {
        Ok(started) => {
            // A page that goes on to the provider rather than a redirect: the page's
            // `form-action 'self'` also covers where a form's redirect leads.
            let mut response = RedirectPage { page, url: started.authorize_url.to_string() }.into_response();
            let max_age = cookie::time::Duration::seconds(super::ATTEMPT_TTL.num_seconds());
            if let Some(value) = cookie_header(STATE_COOKIE, &started.state, Some(max_age), is_https(&extensions)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(AppError::Unavailable(_)) => {
            let error = Some(tr.text("sso.refused.provider_unreachable").to_owned());
            login_page(&state, page, (form.email, next), error, StatusCode::SERVICE_UNAVAILABLE).await
        }
        Err(err @ AppError::TooManyRequests { .. }) => login_refused(&state, page, (form.email, next), err).await,
        Err(err) => Err(err.into()),
    }
}

/// The provider's answer: a session and the page asked for, or the sign-in page
/// saying why not (recorded in the audit trail of the organization, when known).
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> WebResult<Response> {
    let answer: Answer = serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let cookie_state = read_cookie(&headers, STATE_COOKIE);
    let http = http_client(&state)?;
    let finished = super::finish(&state.db, (&state.cipher, &http), (&key, &answer), cookie_state.as_deref()).await?;
    let mut response = match finished {
        Ok(signed_in) => {
            let user = &signed_in.user;
            let next = safe_next(Some(&signed_in.next));
            tracing::info!(user_id = user.id, created = signed_in.created, "signed in through single sign-on");
            if crate::identity::two_factor::is_enabled(&state.db, user.id).await? {
                // Their second factor is asked as after a password.
                crate::identity::two_factor::web::start_challenge(&state, &extensions, user, &next).await?
            } else {
                let issued = crate::identity::auth::issue(&state.db, &state.signing_key, user, "web").await?;
                let details = serde_json::json!({ "method": "sso", "account_created": signed_in.created });
                let who = Some((user.org, user.id));
                audit::record_access(&state.db, Action::Login, who, &headers, &extensions, Some(details)).await?;
                session_response(&extensions, &issued, &next)
            }
        }
        Err(refused) => {
            tracing::info!(reason = refused.why.code(), detail = %refused.detail, "single sign-on refused");
            let details = serde_json::json!({ "method": "sso", "refused": refused.why.code() });
            audit::record_access_in(
                &state.db,
                Action::LoginFailed,
                (refused.org, refused.user_id),
                &headers,
                &extensions,
                Some(details),
            )
            .await?;
            // Back to the sign-in page, saying why: the provider's answer address
            // is not a page to reload or come back to.
            redirect_with_flash("/login", "error", i18n::current().text(&refused.why.message_key()))
        }
    };
    // The pending sign-in is over either way.
    if let Some(value) = cookie_header(STATE_COOKIE, "", Some(cookie::time::Duration::ZERO), is_https(&extensions)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A mapping row of the form.
pub struct MappingRow {
    pub value: String,
    pub roles: Vec<SelectOption>,
}

fn role_options(selected: Option<Role>) -> Vec<SelectOption> {
    let tr = i18n::current();
    let mut options =
        vec![SelectOption { value: String::new(), label: "—".to_owned(), selected: selected.is_none() }];
    options.extend(MAPPABLE_ROLES.iter().map(|role| SelectOption {
        value: role.as_str().to_owned(),
        label: tr.text(&format!("role.{}", role.as_str())).to_owned(),
        selected: selected == Some(*role),
    }));
    options
}

/// The settings form, as filled.
#[derive(Debug, Default)]
struct SettingsForm {
    issuer: String,
    client_id: String,
    client_secret: String,
    domains: String,
    role_source: String,
    role_claim: String,
    mappings: Vec<(String, Option<Role>)>,
    enabled: bool,
}

impl SettingsForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        let mut values = Vec::new();
        let mut roles = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "issuer" => form.issuer = value,
                "client_id" => form.client_id = value,
                "client_secret" => form.client_secret = value,
                "domains" => form.domains = value,
                "role_source" => form.role_source = value,
                "role_claim" => form.role_claim = value,
                "map_value" => values.push(value),
                "map_role" => roles.push(Role::parse(&value)),
                "enabled" => form.enabled = true,
                _ => {}
            }
        }
        form.mappings = values.into_iter().zip(roles).filter(|(v, r)| !v.trim().is_empty() || r.is_some()).collect();
        form
    }

    fn input(&self) -> SsoInput {
        let domains = self.domains.split([',', '\n', ';', ' ']).map(str::trim).filter(|d| !d.is_empty());
        let role_source = RoleSource::parse(&self.role_source).unwrap_or(RoleSource::Invited);
        let role_map = self
            .mappings
            .iter()
            .map(|(value, role)| RoleMapping { value: value.clone(), role: role.unwrap_or(Role::Staff) })
            .collect();
        SsoInput {
            issuer: Some(self.issuer.clone()),
            client_id: Some(self.client_id.clone()),
            client_secret: Some(self.client_secret.clone()),
            domains: Some(domains.map(str::to_owned).collect()),
            role_source: Some(role_source),
            role_claim: Some(self.role_claim.clone()),
            role_map: Some(role_map),
            enabled: Some(self.enabled),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/sso.html")]
struct SettingsPage {
    page: PageCtx,
    configured: bool,
    has_secret: bool,
    redirect_uri: String,
    issuer: String,
    client_id: String,
    domains: String,
    claim_roles: bool,
    role_claim: String,
    mappings: Vec<MappingRow>,
    enabled: bool,
    errors: FormErrors,
}

impl SettingsPage {
    fn new(
        page: PageCtx,
        form: SettingsForm,
        (configured, has_secret): (bool, bool),
        redirect_uri: String,
        errors: FormErrors,
    ) -> Self {
        let mut mappings: Vec<MappingRow> = form
            .mappings
            .iter()
            .map(|(value, role)| MappingRow { value: value.clone(), roles: role_options(*role) })
            .collect();
        mappings.extend((0..BLANK_MAPPINGS).map(|_| MappingRow { value: String::new(), roles: role_options(None) }));
        Self {
            page,
            configured,
            has_secret,
            redirect_uri,
            issuer: form.issuer,
            client_id: form.client_id,
            domains: form.domains,
            claim_roles: form.role_source == RoleSource::Claim.as_str(),
            role_claim: form.role_claim,
            mappings,
            enabled: form.enabled,
            errors,
        }
    }
}

/// The callback address of the caller's organization: its provider's, or the
/// one it will have.
async fn callback_address(caller: &Caller, client: &ClientContext) -> WebResult<String> {
    let key = match super::settings(&caller.db, caller.org).await? {
        Some(saved) => saved.callback_key,
        None => super::callback_key(&caller.signing_key, caller.org)?,
    };
    Ok(super::redirect_uri(&client.public_url(&caller.config), &key))
}

async fn show(caller: Caller, page: PageCtx, client: ClientContext) -> WebResult<SettingsPage> {
    let redirect_uri = callback_address(&caller, &client).await?;
    let found = super::settings(&caller.db, caller.org).await?;
    let (form, flags) = match found {
        Some(s) => (
            SettingsForm {
                issuer: s.issuer,
                client_id: s.client_id,
                client_secret: String::new(),
                domains: s.domains.join("\n"),
                role_source: s.role_source.as_str().to_owned(),
                role_claim: s.role_claim.unwrap_or_default(),
                mappings: s.role_map.into_iter().map(|m| (m.value, Some(m.role))).collect(),
                enabled: s.enabled,
            },
            (true, s.has_client_secret),
        ),
        None => (
            SettingsForm {
                role_source: RoleSource::Invited.as_str().to_owned(),
                role_claim: "groups".to_owned(),
                enabled: true,
                ..SettingsForm::default()
            },
            (false, false),
        ),
    };
    Ok(SettingsPage::new(page, form, flags, redirect_uri, FormErrors::default()))
}

async fn save(
    caller: Caller,
    page: PageCtx,
    client: ClientContext,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = SettingsForm::from_pairs(pairs);
    let allow = caller.config.sso_allow_private_hosts;
    // A value without its role is said with every other mistake of the form.
    let mut found = Vec::new();
    if form.mappings.iter().any(|(_, role)| role.is_none()) {
        found.push(("role_map", crate::platform::i18n::Msg::new("sso.mapping_role_missing")));
    }
    let key = super::callback_key(&caller.signing_key, caller.org)?;
    let saved =
        super::save_checked(&caller.db, (&caller.cipher, allow, &key), &caller.actor, &form.input(), found).await;
    match saved {
        Ok(_) => Ok(redirect_with_flash("/admin/sso", "success", i18n::current().text("sso.saved"))),
        Err(err) => {
            let mut errors = FormErrors::from_app_error(err)?;
            let has_secret = super::settings(&caller.db, caller.org).await?.is_some_and(|s| s.has_client_secret);
            // The secret typed is not sent back: the person is told to type it again.
            if !form.client_secret.trim().is_empty() && errors.get("client_secret").is_none() {
                errors.add("client_secret", i18n::current().text("sso.client_secret_retype").to_owned());
            }
            let redirect_uri = callback_address(&caller, &client).await?;
            let form = SettingsForm { client_secret: String::new(), ..form };
            Ok(unprocessable(SettingsPage::new(page, form, (has_secret, has_secret), redirect_uri, errors)))
        }
    }
}

async fn remove(caller: Caller) -> WebResult<Response> {
    super::remove(&caller.db, &caller.actor).await?;
    Ok(redirect_with_flash("/admin/sso", "success", i18n::current().text("sso.removed")))
}
