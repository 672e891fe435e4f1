//! One error type for every failure. It renders itself as `application/problem+json`
//! (RFC 9457) for the API; [`crate::platform::web::WebError`] renders the same value
//! as a French HTML page. Internal details are logged, never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::i18n::{self, Msg};

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: Msg,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: Msg) -> Self {
        Self { field: field.into(), message }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// The request contradicts the stored data; `field` names the input at fault, if one is.
    #[error("conflict: {code}")]
    Conflict { code: &'static str, field: Option<&'static str>, message: Msg },
    /// A conflict with one existing record (a booking refused by another lesson),
    /// whose id the problem document carries as `conflicting_id`.
    #[error("conflict: {code} with {with_id}")]
    ConflictWith { code: &'static str, field: Option<&'static str>, message: Msg, with_id: i64 },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// No valid credentials were presented.
    #[error("unauthorized")]
    Unauthorized,
    /// E-mail and password do not match an active account.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The password was right, but the account signs in with a second factor too:
    /// the request must carry its code.
    #[error("second factor required")]
    SecondFactorRequired,
    #[error("forbidden")]
    Forbidden,
    /// A personal API token without the scope (`fleet:write`) the request needs,
    /// its owner's roles permitting.
    #[error("insufficient scope: {scope}")]
    InsufficientScope { scope: String },
    /// Refused for a reason the caller can act on, named by `code` and told by `message`.
    #[error("forbidden: {code}")]
    ForbiddenBecause { code: &'static str, message: Msg },
    /// What the request names existed once and is no longer usable (a used or
    /// expired link), said by `message`.
    #[error("gone: {code}")]
    Gone { code: &'static str, message: Msg },
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => Self::Unavailable(err.to_string()),
            _ => Self::Database(err),
        }
    }
}

/// A stored code the program does not know: the data is wrong, not the request.
impl From<crate::platform::enums::UnknownCode> for AppError {
    fn from(err: crate::platform::enums::UnknownCode) -> Self {
        Self::Internal(format!("stored value: {err}"))
    }
}

impl AppError {
    pub fn validation(field: &str, message: Msg) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A query parameter that is not one of the values it takes: a 422 naming it,
    /// like a body's field, with `detail` saying what it takes.
    pub fn invalid_parameter(name: &str, detail: impl std::fmt::Display) -> Self {
        Self::validation(name, Msg::new("field.invalid_type").arg("detail", detail))
    }

    /// A 409: the request conflicts with the current state; `code` tells clients apart.
    pub fn conflict(code: &'static str, message: Msg) -> Self {
        Self::Conflict { code, field: None, message }
    }

    /// A 409 about one field of the request.
    pub fn conflict_on(field: &'static str, code: &'static str, message: Msg) -> Self {
        Self::Conflict { code, field: Some(field), message }
    }

    /// This answer (a 409 or 422 naming the field) to a write the database refused
    /// for a constraint of the `kind` given; any other failure as is.
    pub fn if_refused(self, err: DbErr, kind: fn(&Constraint) -> bool) -> Self {
        if constraint_violation(&err).is_some_and(|c| kind(&c)) { self } else { err.into() }
    }

    /// A row the request names but the organization does not have is, in an
    /// input, a mistake about that field: a 422 saying `unknown` instead of a 404.
    #[must_use]
    pub fn missing_as(self, field: &str, unknown: Msg) -> Self {
        match self {
            Self::NotFound => Self::validation(field, unknown),
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthorized | Self::InvalidCredentials | Self::SecondFactorRequired => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::ForbiddenBecause { .. } | Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Gone { .. } => StatusCode::GONE,
            Self::Conflict { .. } | Self::ConflictWith { .. } => StatusCode::CONFLICT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code, the `code` member of a problem document.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::SecondFactorRequired => "two_factor_required",
            Self::Forbidden => "forbidden",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Conflict { code, .. }
            | Self::ConflictWith { code, .. }
            | Self::ForbiddenBecause { code, .. }
            | Self::Gone { code, .. } => code,
            Self::Validation(_) => "validation_failed",
            Self::BadRequest(_) => "bad_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable(_) => "unavailable",
            Self::Database(_) | Self::Internal(_) => "internal_error",
        }
    }

    /// The human explanation, in the reader's language.
    pub fn detail(&self, locale: i18n::Locale) -> String {
        match self {
            Self::NotFound => locale.text("error.not_found").to_owned(),
            Self::Unauthorized => locale.text("error.unauthorized").to_owned(),
            Self::InvalidCredentials => locale.text("error.invalid_credentials").to_owned(),
            Self::SecondFactorRequired => locale.text("two_factor.required").to_owned(),
            Self::Forbidden => locale.text("error.forbidden").to_owned(),
            Self::InsufficientScope { scope } => locale.format("token.scope_missing", &[("scope", scope)]),
            Self::TooManyRequests { retry_after_secs } => {
                locale.format("error.too_many_requests", &[("seconds", &retry_after_secs.to_string())])
            }
            Self::Conflict { message, .. }
            | Self::ConflictWith { message, .. }
            | Self::ForbiddenBecause { message, .. }
            | Self::Gone { message, .. } => message.render(locale),
            Self::Validation(_) => locale.text("error.validation").to_owned(),
            Self::BadRequest(detail) => locale.format("error.bad_request", &[("detail", detail)]),
            Self::UnsupportedMediaType => locale.text("error.unsupported_media_type").to_owned(),
            Self::PayloadTooLarge => locale.text("error.payload_too_large").to_owned(),
            Self::MethodNotAllowed => locale.text("error.method_not_allowed").to_owned(),
            Self::Unavailable(_) => locale.text("error.unavailable").to_owned(),
            Self::Database(_) | Self::Internal(_) => locale.text("error.internal").to_owned(),
        }
    }

    /// The same error with its fields named as a form calls them (`from`, `to`),
    /// where one form gathers the inputs of several services.
    #[must_use]
    pub fn renamed(self, names: &[(&str, &str)]) -> Self {
        match self {
            Self::Validation(errors) => Self::Validation(
                errors
                    .into_iter()
                    .map(|mut e| {
                        if let Some((_, to)) = names.iter().find(|(from, _)| *from == e.field) {
                            e.field = (*to).to_owned();
                        }
                        e
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// The error as an operator reads it at a command line: in the instance's
    /// language (the command runs in its scope), each refused field named
    /// (`currency: …; name: …`), internal causes included.
    pub fn for_operator(&self) -> String {
        let locale = i18n::current();
        match self {
            Self::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message.render(locale)))
                .collect::<Vec<_>>()
                .join("; "),
            Self::Database(_) | Self::Internal(_) | Self::Unavailable(_) => self.to_string(),
            other => other.detail(locale),
        }
    }

    /// Logs what the client is not told.
    pub fn log(&self) {
        match self {
            Self::Database(_) | Self::Internal(_) => tracing::error!(error = %self, "request failed"),
            Self::Unavailable(_) => tracing::warn!(error = %self, "dependency unavailable"),
            _ => tracing::debug!(error = %self, "request rejected"),
        }
    }

    pub fn to_problem(&self, locale: i18n::Locale) -> Problem {
        let status = self.status();
        Problem {
            r#type: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(locale),
            code: self.code().to_owned(),
            errors: match self {
                Self::Validation(errors) => Some(
                    errors
                        .iter()
                        .map(|e| ProblemField { field: e.field.clone(), message: e.message.render(locale) })
                        .collect(),
                ),
                _ => None,
            },
            conflicting_id: match self {
                Self::ConflictWith { with_id, .. } => Some(*with_id),
                _ => None,
            },
        }
    }
}

/// A database constraint violation, told apart the same way on every backend.
pub fn constraint_violation(err: &DbErr) -> Option<Constraint> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => Some(Constraint::Unique(message)),
        Some(SqlErr::ForeignKeyConstraintViolation(message)) => Some(Constraint::ForeignKey(message)),
        _ => sqlite_restrict_violation(err).map(Constraint::ForeignKey),
    }
}

/// SQLite reports an `ON DELETE RESTRICT` refusal as SQLITE_CONSTRAINT_TRIGGER
/// (extended code 1811), which SeaORM does not classify as a foreign-key error.
fn sqlite_restrict_violation(err: &DbErr) -> Option<String> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err else {
        return None;
    };
    let sea_orm::sqlx::Error::Database(db_err) = &**e else {
        return None;
    };
    let is_restrict = db_err.code().as_deref() == Some("1811") && db_err.message().contains("FOREIGN KEY");
    is_restrict.then(|| db_err.message().to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// Carries the backend's message, which names the index or columns.
    Unique(String),
    ForeignKey(String),
}

impl Constraint {
    pub fn is_unique(&self) -> bool {
        matches!(self, Self::Unique(_))
    }

    pub fn is_foreign_key(&self) -> bool {
        matches!(self, Self::ForeignKey(_))
    }

    /// Either kind.
    pub fn any(&self) -> bool {
        true
    }

    /// Whether the violated constraint involves `name` (an index name or column).
    pub fn mentions(&self, name: &str) -> bool {
        match self {
            Self::Unique(message) | Self::ForeignKey(message) => message.contains(name),
        }
    }
}

/// RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the `code` member tells problems apart.
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `duplicate_plate`.
    pub code: String,
    /// Present on 422 responses: one entry per invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
    /// Present on some 409 responses: the record in the way (e.g. the lesson a booking clashes with).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicting_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

/// Every `code` a problem document may carry, with its status: the enumeration
/// of the `code` member in the API document, and what every answer is checked
/// against in debug builds (so a handler's new code cannot go undocumented).
pub const CODES: &[(&str, u16)] = &[
    ("not_found", 404),
    ("unauthorized", 401),
    ("invalid_credentials", 401),
    ("two_factor_required", 401),
    ("forbidden", 403),
    ("too_many_requests", 429),
    ("validation_failed", 422),
    ("bad_request", 400),
    ("unsupported_media_type", 415),
    ("payload_too_large", 413),
    ("method_not_allowed", 405),
    ("unavailable", 503),
    ("internal_error", 500),
    ("already_corrected", 409),
    ("already_credited", 409),
    ("already_has_account", 409),
    ("already_invoiced", 409),
    ("already_registered", 409),
    ("already_reminded_today", 409),
    ("amount_too_small", 409),
    ("attachment_kept", 409),
    ("buyer_refused_email", 409),
    ("buyer_without_email", 409),
    ("cancel_the_sale", 409),
    ("candidate_busy", 409),
    ("candidate_has_history", 409),
    ("checkin_exists", 409),
    ("client_has_history", 409),
    ("client_refused_email", 409),
    ("client_without_email", 409),
    ("daily_limit", 409),
    ("deposit_already_deducted", 409),
    ("deposit_concurrent", 409),
    ("deposit_deducted", 409),
    ("deposit_too_small", 409),
    ("deposits_exceed_invoice", 409),
    ("deposits_exceed_quote", 409),
    ("deposits_of_another_client", 409),
    ("duplicate_candidate_number", 409),
    ("duplicate_catalogue_item", 409),
    ("duplicate_email", 409),
    ("duplicate_invoice_number", 409),
    ("duplicate_licence_number", 409),
    ("duplicate_pack_name", 409),
    ("duplicate_plate", 409),
    ("duplicate_quote_number", 409),
    ("duplicate_vin", 409),
    ("four_eyes_required", 409),
    ("garage_not_empty", 409),
    ("meeting_point_exists", 409),
    ("meeting_points_full", 409),
    ("hours_changed", 409),
    ("hours_out_of_range", 409),
    ("idempotency_in_progress", 409),
    ("idempotency_outcome_unknown", 409),
    ("illegal_transition", 409),
    ("import_busy", 409),
    ("import_changed_since", 409),
    ("import_not_last", 409),
    ("import_state", 409),
    ("instalments_invalid", 409),
    ("insufficient_scope", 403),
    ("instructor_busy", 409),
    ("instructor_category", 409),
    ("instructor_day_off", 409),
    ("instructor_has_history", 409),
    ("intervention_complete", 409),
    ("intervention_invoiced", 409),
    ("invoice_empty", 409),
    ("invoice_issued", 409),
    ("invoice_not_issued", 409),
    ("invoice_not_payable", 409),
    ("job_not_dead", 409),
    ("key_used", 409),
    ("lesson_not_scheduled", 409),
    ("lesson_not_started", 409),
    ("lesson_over", 409),
    ("link_expired", 410),
    ("mail_not_configured", 409),
    ("mileage_lower_than_last", 409),
    ("no_hourly_pack", 409),
    ("no_instructor", 409),
    ("no_own_planning", 409),
    ("no_vehicle_free", 409),
    ("not_enough_driving", 409),
    ("nothing_beyond", 409),
    ("nothing_due", 409),
    ("operator_account", 403),
    ("outside_availability", 409),
    ("ownership_changed", 409),
    ("payment_reference_taken", 409),
    ("payments_not_configured", 409),
    ("provider_unavailable", 409),
    ("quote_already_carried_out", 409),
    ("quote_empty", 409),
    ("quote_not_accepted", 409),
    ("quote_not_editable", 409),
    ("quote_without_vehicle", 409),
    ("report_failed", 409),
    ("report_not_ready", 409),
    ("result_already_validated", 409),
    ("result_not_validated", 409),
    ("role_not_grantable", 403),
    ("rule_changed", 409),
    ("sale_cancelled", 409),
    ("sale_in_progress", 409),
    ("pack_inactive", 409),
    ("funded_beyond_total", 409),
    ("neph_taken", 409),
    ("evaluation_required", 409),
    ("contract_open", 409),
    ("contract_signed", 409),
    ("contract_not_signed", 409),
    ("amendment_open", 409),
    ("amendment_signed", 409),
    ("guardian_required", 409),
    ("school_terms_missing", 409),
    ("contract_changed", 409),
    ("guardian_signs_at_school", 409),
    ("self_booking_disabled", 409),
    ("seller_incomplete", 409),
    ("session_full", 409),
    ("session_past", 409),
    ("session_required", 403),
    ("sso_domain_taken", 409),
    ("storage_quota_reached", 409),
    ("theory_not_passed", 409),
    ("token_ip_not_allowed", 403),
    ("two_factor_enabled", 409),
    ("two_factor_not_enabled", 409),
    ("two_factor_not_started", 409),
    ("two_factor_setup_required", 403),
    ("user_already_linked", 409),
    ("user_inactive", 409),
    ("vat_on_exempt", 409),
    ("vat_settings_changed", 409),
    ("vehicle_busy", 409),
    ("vehicle_category", 409),
    ("vehicle_has_history", 409),
    ("vehicle_in_workshop", 409),
    ("vehicle_unsafe", 409),
    ("work_in_progress", 409),
    ("work_without_client", 409),
    ("work_without_lines", 409),
];

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // Extractors shared by API and pages reject with `AppError`; a page gets a page.
        if crate::platform::web::is_html_request() {
            return crate::platform::web::WebError(self).into_response();
        }
        self.log();
        debug_assert!(
            CODES.contains(&(self.code(), self.status().as_u16())),
            "problem code `{}` ({}) is not in platform::error::CODES",
            self.code(),
            self.status()
        );
        let problem = self.to_problem(i18n::current());
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Self::TooManyRequests { retry_after_secs } = &self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if matches!(self, Self::Unauthorized | Self::InvalidCredentials | Self::SecondFactorRequired) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // RFC 6750 §3: the scope missing, for clients that read the challenge.
        if let Self::InsufficientScope { scope } = &self
            && let Ok(value) = HeaderValue::from_str(&format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""))
        {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variants whose code is their own are all in the document's enumeration,
    /// with their status; a new variant must be added here (the match has no `_`).
    #[test]
    fn every_variant_code_is_registered_with_its_status() {
        let variants = [
            AppError::NotFound,
            AppError::Unauthorized,
            AppError::InvalidCredentials,
            AppError::SecondFactorRequired,
            AppError::Forbidden,
            AppError::InsufficientScope { scope: "fleet:write".to_owned() },
            AppError::TooManyRequests { retry_after_secs: 1 },
            AppError::Validation(Vec::new()),
            AppError::BadRequest(String::new()),
            AppError::UnsupportedMediaType,
            AppError::PayloadTooLarge,
            AppError::MethodNotAllowed,
            AppError::Unavailable(String::new()),
            AppError::Internal(String::new()),
        ];
        for variant in &variants {
            match variant {
                AppError::Conflict { .. }
                | AppError::ConflictWith { .. }
                | AppError::ForbiddenBecause { .. }
                | AppError::Gone { .. }
                | AppError::Database(_) => unreachable!("carries its own code or shares one"),
                AppError::NotFound
                | AppError::Unauthorized
                | AppError::InvalidCredentials
                | AppError::SecondFactorRequired
                | AppError::Forbidden
                | AppError::InsufficientScope { .. }
                | AppError::TooManyRequests { .. }
                | AppError::Validation(_)
                | AppError::BadRequest(_)
                | AppError::UnsupportedMediaType
                | AppError::PayloadTooLarge
                | AppError::MethodNotAllowed
                | AppError::Unavailable(_)
                | AppError::Internal(_) => {}
            }
            let entry = (variant.code(), variant.status().as_u16());
            assert!(CODES.contains(&entry), "{entry:?}");
        }
        let mut seen = std::collections::HashSet::new();
        assert!(CODES.iter().all(|(code, _)| seen.insert(*code)), "a code is listed twice");
    }

    /// Each registered code is answered somewhere: the document lists no code
    /// that cannot occur.
    #[test]
    fn every_registered_code_is_used_by_the_code() {
        fn sources(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).expect("src").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("read");
                    // The registry itself does not count.
                    let text = match text.find("pub const CODES") {
                        Some(start) => {
                            let end = text[start..].find("];").map_or(text.len(), |e| start + e);
                            format!("{}{}", &text[..start], &text[end..])
                        }
                        None => text,
                    };
                    out.push_str(&text);
                }
            }
        }
        let mut all = String::new();
        sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut all);
        let unused: Vec<&str> =
            CODES.iter().map(|(code, _)| *code).filter(|code| !all.contains(&format!("\"{code}\""))).collect();
        assert!(unused.is_empty(), "registered but never answered: {unused:?}");
    }
}
