//! The whole application: every domain's routes behind one stack of layers.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::http::extract::{BODY_LIMIT, has_encoded_nul};
use crate::platform::http::{assets, idempotency, openapi, pwa};
use crate::platform::i18n::{self, Locale};
use crate::platform::proxy::{self, ClientContext};
use crate::platform::web;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Scripts only from this site (no inline script anywhere); inline styles are allowed
/// for Swagger UI and the maps; images from this site and the map tiles' server;
/// nothing may frame the pages.
fn content_security_policy(tile_origin: Option<&str>) -> HeaderValue {
    let tiles = tile_origin.map(|origin| format!(" {origin}")).unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:{tiles}; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

/// The application's routes (`routes`: the API and the pages, from the
/// composition root) with what is not a page (the API document, assets, probes,
/// metrics), behind one stack of layers.
pub fn build(state: AppState, routes: Router<AppState>, doc: &serde_json::Value) -> Router {
    let doc_json = serde_json::to_vec(doc).unwrap_or_default();
    let cors = cors_layer(&state.config.cors_origins);
    let csp = content_security_policy(state.config.geo.tile_origin().as_deref());
    let timeout = state.config.request_timeout;

    routes
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], doc_json) }),
        )
        .route("/api/docs", get(openapi::docs_page))
        .route("/assets/{*path}", get(assets::serve))
        .route("/manifest.webmanifest", get(pwa::manifest))
        .route("/sw.js", get(pwa::service_worker))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(crate::platform::metrics::scrape))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Per route (axum layers wrap each route): the route template is known here.
        .layer(middleware::from_fn(crate::platform::metrics::track))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(web::clear_consumed_flash))
        // Inside the CSRF check: a forged form never claims a key.
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::idempotent_writes))
        .layer(middleware::from_fn_with_state(state.clone(), web::csrf_protection))
        // Inside the request's context: a refusal speaks the caller's language.
        .layer(middleware::from_fn(refuse_nul_in_url))
        .layer(middleware::from_fn(request_context))
        .layer(middleware::from_fn(private_and_secure))
        // Early: everything after it reads the client's address, scheme and host from it.
        .layer(middleware::from_fn_with_state(state.clone(), proxy::resolve_client))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request<Body>| {
                            let request_id =
                                request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                            tracing::info_span!(
                                "request",
                                method = %request.method(),
                                path = %super::loggable_path(request.uri().path()),
                                request_id,
                                // Filled by the metrics middleware, where the route's template is known.
                                route = tracing::field::Empty,
                                user_id = tracing::field::Empty,
                                organization_id = tracing::field::Empty,
                            )
                        })
                        // One line per request with what a log store indexes: status and latency
                        // as numbers (the default line is a debug one, its latency a string).
                        .on_response(|response: &axum::http::Response<_>, latency: Duration, _span: &tracing::Span| {
                            tracing::info!(
                                status = response.status().as_u16(),
                                latency_ms = latency.as_secs_f64() * 1000.0,
                                "request finished"
                            );
                        }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(|_| AppError::Internal("handler panicked".to_owned()).into_response()))
                // PDFs are compressed already, and a compressed answer loses its byte ranges.
                .layer(
                    CompressionLayer::new()
                        .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("application/pdf"))),
                )
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("strict-origin-when-cross-origin"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp)),
        )
        // Outermost, so that every response, errors and timeouts included, carries CORS headers.
        .layer(cors)
        // Around everything: it must see whether anything read the request's body.
        .layer(middleware::from_fn(crate::platform::http::keepalive::close_when_body_unread))
        .with_state(state)
}

/// Browsers on the allowed origins may call the API and read `Link`, `Location`
/// and the rate-limit headers.
fn cors_layer(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT_LANGUAGE,
            idempotency::IDEMPOTENCY_KEY,
        ])
        .expose_headers([
            header::LINK,
            header::LOCATION,
            REQUEST_ID,
            header::RETRY_AFTER,
            idempotency::IDEMPOTENT_REPLAYED,
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// HSTS for one year on answers to HTTPS requests (not `includeSubDomains`: other
/// hosts of the domain are not ours to decide for).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Answers to a signed-in request (a session cookie or a bearer token) carry
/// personal data (public pages get the same from the page table's `mount`): never stored by a cache (`no-store`) unless the handler chose its
/// own `Cache-Control`; static assets stay cacheable. Over HTTPS (directly or, as a
/// trusted proxy says, in front of it), browsers are told to keep to HTTPS.
async fn private_and_secure(request: Request, next: Next) -> Response {
    let signed_in = request.headers().contains_key(header::AUTHORIZATION)
        || web::read_cookie(request.headers(), crate::identity::auth::SESSION_COOKIE).is_some();
    let private = signed_in && !request.uri().path().starts_with("/assets/");
    let https = ClientContext::of(request.extensions()).https;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if private && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https && !headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    }
    response
}

/// The reader's language, and whether errors are pages or problem documents, for the whole request.
async fn request_context(request: Request, next: Next) -> Response {
    let html = !wants_api(request.uri().path());
    // Pages speak the organization's language (French until the sign-in guard knows
    // the organization), never the browser's; API problems follow `Accept-Language`.
    let locale = if html {
        Locale::default()
    } else {
        Locale::from_accept_language(request.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
    };
    i18n::scope(locale, web::scope(html, next.run(request))).await
}

/// A NUL in a path or query string (bodies are checked by the extractors): never
/// typed by a person, never storable in PostgreSQL text.
async fn refuse_nul_in_url(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let in_query = uri.query().is_some_and(has_encoded_nul);
    if has_encoded_nul(uri.path()) || in_query {
        let html = !wants_api(uri.path());
        let error = match uri.query().filter(|_| in_query && !has_encoded_nul(uri.path())) {
            // In a parameter, a 422 naming it, as a body's field would be.
            Some(query) => crate::platform::http::extract::nul_in_query(query),
            None => AppError::BadRequest("the address contains a NUL character".to_owned()),
        };
        return if html { web::WebError(error).into_response() } else { error.into_response() };
    }
    next.run(request).await
}

fn wants_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/health/") || path.starts_with("/assets/")
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the database answers; 503 otherwise, so a load balancer skips this instance.
async fn ready(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(err) => AppError::Unavailable(format!("database: {err}")).into_response(),
    }
}
