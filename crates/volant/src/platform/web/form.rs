//! Forms: the one flow every page form follows (read the form, call the
//! service, then redirect with a flash or show the form again with the errors
//! beside its fields), and those field errors.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::WebResult;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::i18n;

/// What a form is called, where it posts and where "cancel" leads: the same when
/// the form is first shown and when it is shown again with errors.
#[derive(Debug, Clone)]
pub struct FormTarget {
    pub heading: String,
    pub action: String,
    pub cancel_url: String,
}

impl FormTarget {
    pub fn new(heading: String, action: impl Into<String>, cancel_url: impl Into<String>) -> Self {
        Self { heading, action: action.into(), cancel_url: cancel_url.into() }
    }

    /// The form adding to `collection` (`/garages`): it posts there and cancels back there.
    pub fn creating(heading: String, collection: &str) -> Self {
        Self::new(heading, collection, collection)
    }

    /// The form changing `{collection}/{id}`: it posts to its `/edit` and cancels back to it.
    pub fn editing(heading: String, collection: &str, id: i64) -> Self {
        Self::new(heading, format!("{collection}/{id}/edit"), format!("{collection}/{id}"))
    }
}

/// What a submitted form came to: the service's value, or the errors to show
/// beside the form's fields.
pub type Submitted<T> = Result<T, FormErrors>;

/// The first half of the form flow: the form as read (`parsed`: the service's
/// input, or the fields that could not be read) goes to the service through
/// `write`; a refusal about the form's fields comes back as its field errors, any
/// other error stays an error (an error page).
pub async fn submit<I, T>(
    parsed: Result<I, FormErrors>,
    write: impl AsyncFnOnce(I) -> AppResult<T>,
) -> AppResult<Submitted<T>> {
    match parsed {
        Ok(input) => answered(write(input).await),
        Err(errors) => Ok(Err(errors)),
    }
}

/// The service's answer to a form: its value, or the refusals about the form's
/// fields; any other error stays an error.
fn answered<T>(result: AppResult<T>) -> AppResult<Submitted<T>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(err) => FormErrors::from_app_error(err).map(Err),
    }
}

/// The second half: a success becomes what `done` answers (a redirect with a
/// flash), field errors show the form `again` beside them, as a 422.
pub async fn respond<T, P: IntoResponse>(
    submitted: Submitted<T>,
    done: impl FnOnce(T) -> Response,
    again: impl AsyncFnOnce(FormErrors) -> AppResult<P>,
) -> WebResult<Response> {
    match submitted {
        Ok(value) => Ok(done(value)),
        Err(errors) => Ok(unprocessable(again(errors).await?)),
    }
}

/// The whole flow for a form the service reads itself: its `result`, then
/// [`respond`].
pub async fn form_flow<T, P: IntoResponse>(
    result: AppResult<T>,
    done: impl FnOnce(T) -> Response,
    again: impl AsyncFnOnce(FormErrors) -> AppResult<P>,
) -> WebResult<Response> {
    respond(answered(result)?, done, again).await
}

/// A form shown again with its errors answers 422, so tools and tests see the refusal
/// (htmx is configured in the base layout to swap it in like a 200).
pub fn unprocessable(page: impl IntoResponse) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// Field errors of a form, rendered in the reader's language.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(Vec<(String, String)>);

impl FormErrors {
    pub fn from_fields(errors: &[FieldError]) -> Self {
        let locale = i18n::current();
        Self(errors.iter().map(|e| (e.field.clone(), e.message.render(locale))).collect())
    }

    /// The one error of a form: `message` beside `field`.
    pub fn one(field: &str, message: &crate::platform::i18n::Msg) -> Self {
        let mut errors = Self::default();
        errors.add(field, message.render(i18n::current()));
        errors
    }

    pub fn add(&mut self, field: &str, message: String) {
        self.0.push((field.to_owned(), message));
    }

    /// The message of `field`, or of a part of it (`days_off[2].reason` marks `days_off`).
    pub fn get(&self, field: &str) -> Option<&str> {
        let is_part = |f: &str| f.strip_prefix(field).is_some_and(|rest| rest.starts_with(['[', '.']));
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .or_else(|| self.0.iter().find(|(f, _)| is_part(f)))
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same errors beside fields named `{prefix}{field}`: one form gathering
    /// another service's fields under a prefix (a client's vehicle: `vehicle_year`).
    #[must_use]
    pub fn prefixed(self, prefix: &str) -> Self {
        Self(self.0.into_iter().map(|(field, message)| (format!("{prefix}{field}"), message)).collect())
    }

    /// A form's id field: `None` when empty, or when not a number (an error beside `field`).
    pub fn read_id(&mut self, field: &str, raw: &str) -> Option<i64> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        raw.parse().ok().or_else(|| {
            self.add(field, crate::platform::i18n::Msg::new("field.not_a_number").render(i18n::current()));
            None
        })
    }

    /// A form's date field (`YYYY-MM-DD`): `None` when empty, or when not a date (an error beside `field`).
    pub fn read_date(&mut self, field: &str, raw: &str) -> Option<chrono::NaiveDate> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().or_else(|| {
            self.add(field, crate::platform::i18n::Msg::new("quote.date_invalid").render(i18n::current()));
            None
        })
    }

    /// The same errors with `from`'s shown beside `to` (a form naming a service field otherwise).
    #[must_use]
    pub fn renamed(self, from: &str, to: &str) -> Self {
        Self(self.0.into_iter().map(|(field, m)| (if field == from { to.to_owned() } else { field }, m)).collect())
    }

    /// Adds `other`'s errors to these.
    pub fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    /// The messages of every field whose name starts with `prefix` (a row of a
    /// table form), joined; `None` when the row has none.
    pub fn messages_with_prefix(&self, prefix: &str) -> Option<String> {
        let messages: Vec<&str> =
            self.0.iter().filter(|(f, _)| f.starts_with(prefix)).map(|(_, m)| m.as_str()).collect();
        (!messages.is_empty()).then(|| messages.join(" "))
    }

    /// Splits a service error into errors shown beside fields and anything else.
    pub fn from_app_error(err: AppError) -> Result<Self, AppError> {
        match err {
            AppError::Validation(errors) => Ok(Self::from_fields(&errors)),
            AppError::Conflict { field: Some(field), message, .. }
            | AppError::ConflictWith { field: Some(field), message, .. } => {
                let mut errors = Self::default();
                errors.add(field, message.render(i18n::current()));
                Ok(errors)
            }
            other => Err(other),
        }
    }
}
