//! Sign-in for people: login and logout pages, the one-time setup page, and the
//! guard that keeps every page of a domain behind sign-in and the role matrix.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

use super::service::{self, Channel};
use super::{CurrentUser, IssuedToken, SESSION_COOKIE, WEB_SESSION_TTL};
use crate::identity::audit::{self, Action};
use crate::identity::navigation::MenuEntry;
use crate::identity::organizations::service::{self as organizations, OrganizationPatch};
use crate::identity::organizations::web::{BusinessChoices, BusinessForm};
use crate::identity::roles::{Permission, Role};
use crate::identity::users::service::{self as users, NewUser};
use crate::platform::AppState;
use crate::platform::db;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, FormWithFiles};
use crate::platform::i18n;
use crate::platform::web::{
    FormErrors, OrgContext, PageCtx, WebError, WebResult, cookie_header, is_https, redirect_with_flash, safe_redirect,
    safe_redirect_target, see_other, unprocessable,
};

/// Sign-in, sign-out and the one-time setup: open to anyone.
pub fn routes() -> Routes {
    vec![
        ("/login", get(login_form).post(login)),
        ("/logout", axum::routing::post(logout)),
        ("/setup", get(setup_form).post(setup)),
    ]
}

/// A domain's page routes as its modules list them: path and handlers.
pub type Routes = Vec<(&'static str, MethodRouter<AppState>)>;

/// Who may use a page route: `read` for GET and HEAD, `write` for the other methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: the sign-in pages, and links whose secret is the
    /// credential (a quote's share link, a calendar feed, an unsubscribe link).
    Public,
    /// Signed in, with a role (or the operator flag) granting the permission.
    Guarded { read: Permission, write: Permission },
}

impl Access {
    pub const fn guarded(read: Permission, write: Permission) -> Self {
        Self::Guarded { read, write }
    }

    /// The permission a request with this method needs; `None` for a public page.
    pub fn needs(self, method: &Method) -> Option<Permission> {
        match self {
            Self::Public => None,
            Self::Guarded { read, write } => {
                Some(if matches!(*method, Method::GET | Method::HEAD) { read } else { write })
            }
        }
    }
}

/// One page route as a domain declares it. Every page reaches the router through
/// [`mount`] from this table (see `crate::page_table`), and the page role matrix
/// test reads the same table: a page cannot be mounted without being checked.
pub struct Page {
    pub path: &'static str,
    pub access: Access,
    handlers: MethodRouter<AppState>,
}

/// Declares routes that share one access rule.
pub fn pages(access: Access, routes: impl IntoIterator<Item = (&'static str, MethodRouter<AppState>)>) -> Vec<Page> {
    routes.into_iter().map(|(path, handlers)| Page { path, access, handlers }).collect()
}

/// Public pages opened by a link whose secret is the credential (a client's quote,
/// a calendar feed, an unsubscribe page): personal data without a sign-in, so no
/// cache may keep them (unless the handler chose its own `Cache-Control`).
pub fn secret_link_pages(routes: Routes) -> Vec<Page> {
    let no_store = SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    pages(Access::Public, routes.into_iter().map(|(path, handlers)| (path, handlers.route_layer(no_store.clone()))))
}

/// Every domain's navigation entries, shared by the guards.
type Menu = std::sync::Arc<[MenuEntry]>;

/// The router of declared pages, each behind the guard its access names; the
/// guard gives guarded pages the navigation `menu` allows the signed-in person.
pub fn mount(state: &AppState, pages: Vec<Page>, menu: Vec<MenuEntry>) -> Router<AppState> {
    let menu: Menu = menu.into();
    pages.into_iter().fold(Router::new(), |router, page| {
        let handlers = match page.access {
            Access::Public => page.handlers,
            Access::Guarded { read, write } => page.handlers.route_layer(axum::middleware::from_fn_with_state(
                (state.clone(), menu.clone(), (read, write)),
                require_page_access,
            )),
        };
        router.route(page.path, handlers)
    })
}

/// Only a path of this site (see [`safe_redirect_target`]): `/` otherwise.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.and_then(safe_redirect_target).unwrap_or("/").to_owned()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    email: String,
    password: String,
    next: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/login.html")]
struct LoginPage {
    page: PageCtx,
    email: String,
    next: String,
    error: Option<String>,
    /// Some organization signs in through its provider: the page offers it.
    sso: bool,
}

/// The sign-in page with `email` filled and `error` said, answered with `status`
/// (single sign-on's refusals come back here).
pub(crate) async fn login_page(
    state: &AppState,
    page: PageCtx,
    (email, next): (String, String),
    error: Option<String>,
    status: StatusCode,
) -> WebResult<Response> {
    let sso = crate::identity::sso::any_enabled(&state.db).await?;
    Ok((status, LoginPage { page, email, next, error, sso }).into_response())
}

/// The sign-in page saying why `err` refused the attempt, with its status (and
/// `Retry-After` when the limits refused it).
pub(crate) async fn login_refused(
    state: &AppState,
    page: PageCtx,
    typed: (String, String),
    err: AppError,
) -> WebResult<Response> {
    let error = Some(err.detail(i18n::current()));
    let mut response = login_page(state, page, typed, error, err.status()).await?;
    if let AppError::TooManyRequests { retry_after_secs } = err
        && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(query): ApiQuery<NextQuery>,
) -> WebResult<Response> {
    if users::count(&state.db).await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    let next = safe_next(query.next.as_deref());
    login_page(&state, page, (String::new(), next), None, StatusCode::OK).await
}

async fn login(
    State(state): State<AppState>,
    page: PageCtx,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    FormBody(form): FormBody<LoginForm>,
) -> WebResult<Response> {
    let next = safe_next(Some(&form.next));
    match service::sign_in(&state, Channel::Web, &form.email, &form.password, None, &headers, &extensions).await {
        Ok(service::SignedIn::Session(issued)) => Ok(session_response(&extensions, &issued, &next)),
        Ok(service::SignedIn::SecondFactorNeeded(user)) => {
            crate::identity::two_factor::web::start_challenge(&state, &extensions, &user, &next).await
        }
        Err(err @ (AppError::TooManyRequests { .. } | AppError::InvalidCredentials)) => {
            login_refused(&state, page, (form.email, next), err).await
        }
        Err(err) => Err(err.into()),
    }
}

async fn start_session(
    state: &AppState,
    extensions: &axum::http::Extensions,
    user: &users::AuthUser,
    next: &str,
) -> WebResult<Response> {
    let issued = super::issue(&state.db, &state.signing_key, user, Channel::Web.kind()).await?;
    Ok(session_response(extensions, &issued, next))
}

/// A redirect to `next` that sets the session cookie of `issued`.
pub(crate) fn session_response(extensions: &axum::http::Extensions, issued: &IssuedToken, next: &str) -> Response {
    let max_age = cookie::time::Duration::seconds(WEB_SESSION_TTL.num_seconds());
    let mut response = safe_redirect(next);
    if let Some(value) = cookie_header(SESSION_COOKIE, &issued.token, Some(max_age), is_https(extensions)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, request: Request) -> WebResult<Response> {
    let (mut parts, _) = request.into_parts();
    if let Ok(current) = CurrentUser::from_request_parts(&mut parts, &state).await {
        super::revoke(&state.db, &current.session_id).await?;
        let who = Some((current.user.org, current.user.id));
        audit::record_access(&state.db, Action::Logout, who, &headers, &parts.extensions, None).await?;
        tracing::info!(user_id = current.user.id, "web logout");
    }
    let message = i18n::current().text("auth.signed_out").to_owned();
    let mut response = redirect_with_flash("/login", "success", &message);
    if let Some(value) =
        cookie_header(SESSION_COOKIE, "", Some(cookie::time::Duration::ZERO), is_https(&parts.extensions))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The business and its first administrator, in one form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SetupForm {
    #[serde(flatten)]
    business: BusinessForm,
    admin_email: String,
    admin_name: String,
    password: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/setup.html")]
struct SetupPage {
    page: PageCtx,
    business: BusinessForm,
    choices: BusinessChoices,
    admin_email: String,
    admin_name: String,
    errors: FormErrors,
}

impl SetupPage {
    fn new(page: PageCtx, form: SetupForm, errors: FormErrors) -> Self {
        let choices = form.business.choices();
        let SetupForm { business, admin_email, admin_name, .. } = form;
        Self { page, business, choices, admin_email, admin_name, errors }
    }
}

/// Reachable only while the instance has no user at all.
async fn setup_form(State(state): State<AppState>, page: PageCtx) -> WebResult<SetupPage> {
    if users::count(&state.db).await? > 0 {
        return Err(AppError::NotFound.into());
    }
    Ok(SetupPage::new(page, SetupForm::default(), FormErrors::default()))
}

async fn setup(
    State(state): State<AppState>,
    page: PageCtx,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    mut submitted: FormWithFiles<SetupForm>,
) -> WebResult<Response> {
    if users::count(&state.db).await? > 0 {
        return Err(AppError::NotFound.into());
    }
    // The logo is optional; chosen, it prints on the business's first quote.
    let logo = submitted.take_file("logo");
    let form = submitted.form;
    let new = NewUser {
        email: form.admin_email.clone(),
        display_name: form.admin_name.clone(),
        password: form.password.clone(),
        roles: vec![Role::Admin],
    };
    // The business is described by whoever sets it up, in the language they see.
    let business = OrganizationPatch { locale: Some(i18n::current().to_string()), ..form.business.patch() };
    let actor = crate::identity::audit::Actor::from_request(state.default_org, None, &headers, &extensions);
    // The claim, the business and the account commit together: two concurrent
    // setups cannot both create an administrator, and a refused form releases the claim.
    let created = db::write(&state.db, async |txn| {
        if !crate::platform::secrets::claim_once(txn, users::FIRST_ADMIN_CLAIM).await? {
            return Ok(None);
        }
        // Every mistake of the form at once: the business's and the account's.
        let described = organizations::update(txn, &actor, business).await;
        let fields = [("email", "admin_email"), ("display_name", "admin_name")];
        let admin = users::create_audited(txn, &actor, new).await.map_err(|e| e.renamed(&fields));
        let admin = match (described, admin) {
            (Ok(_), Ok(admin)) => admin,
            (Err(AppError::Validation(mut first)), Err(AppError::Validation(second))) => {
                first.extend(second);
                return Err(AppError::Validation(first));
            }
            (Err(err), _) | (_, Err(err)) => return Err(err),
        };
        // The instance's first administrator is also its platform operator.
        users::set_operator(txn, admin.id, true).await?;
        if let Some(bytes) = logo {
            crate::identity::organizations::logo::set(txn, &actor, bytes).await?;
        }
        Ok(Some(admin))
    })
    .await;
    match created {
        Ok(None) => Err(AppError::NotFound.into()),
        Ok(Some(admin)) => {
            let Some(admin) = users::find_active(&state.db, admin.id).await? else {
                return Err(AppError::Internal("the new administrator vanished".into()).into());
            };
            tracing::info!(user_id = admin.id, "first administrator created from the setup page");
            start_session(&state, &extensions, &admin, "/").await
        }
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let form = SetupForm { password: String::new(), ..form };
            Ok(unprocessable(SetupPage::new(page, form, errors)))
        }
    }
}

/// The guard of a page: no session → the login page (then back); a role without
/// `read` (safe methods) or `write` (the others) → a 403 page.
async fn require_page_access(
    State((state, menu, (read, write))): State<(AppState, Menu, (Permission, Permission))>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let current = match CurrentUser::from_request_parts(&mut parts, &state).await {
        Ok(current) => current,
        Err(AppError::Unauthorized) => {
            let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let back = if parts.method == Method::GET { target } else { "/" };
            let query = serde_urlencoded::to_string([("next", back)]).unwrap_or_default();
            return see_other(&format!("/login?{query}"));
        }
        Err(err) => return WebError(err).into_response(),
    };
    // Pages, refusals included, speak the organization's language and show its local time.
    let org_id = current.user.org;
    let found = crate::identity::organizations::service::get(&state.db, org_id).await;
    let (org, kind, requires_second_factor) = match found.and_then(|org| {
        let (kind, requires) = (org.kind, org.require_two_factor);
        Ok((
            OrgContext { zone: org.zone()?, locale: org.locale, currency: org.currency, vat_rates: org.vat_rates },
            kind,
            requires,
        ))
    }) {
        Ok(found) => found,
        Err(err) => return WebError(err).into_response(),
    };
    let (locale, zone) = (org.locale, org.zone);
    // An administrator or manager whose organization requires a second factor sets
    // it up before anything else.
    if crate::identity::two_factor::required_for(&current.user, requires_second_factor)
        && !crate::identity::two_factor::web::OPEN_DURING_SETUP.contains(&parts.uri.path())
    {
        match crate::identity::two_factor::is_enabled(&state.db, current.user.id).await {
            Ok(true) => {}
            Ok(false) => {
                return i18n::scope(locale, async { crate::identity::two_factor::web::setup_required() }).await;
            }
            Err(err) => return WebError(err).into_response(),
        }
    }
    if let Err(err) = crate::identity::authorize(&current, &parts, (read, write)) {
        crate::identity::record_denial(&state, &current, &parts).await;
        return i18n::scope(locale, async { WebError(err).into_response() }).await;
    }
    parts.extensions.insert(crate::identity::navigation::signed_in(&current.user, kind, &menu));
    parts.extensions.insert(org);
    let email = match crate::notify::mail_settings::delivers_email(&state.db, &state.config.notify, org_id).await {
        Ok(email) => email,
        Err(err) => return WebError(err).into_response(),
    };
    parts.extensions.insert(crate::platform::web::Channels::of(&state.config.notify, email));
    i18n::scope(locale, i18n::scope_zone(zone, next.run(Request::from_parts(parts, body)))).await
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/garages?q=a")), "/garages?q=a");
        for evil in ["//evil.example", "https://evil.example", "/\\evil.example", "garages"] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
