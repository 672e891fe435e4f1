//! Collects every invalid field of an input at once, so a form or an API client
//! learns all its mistakes in one answer.

use crate::platform::error::{AppError, FieldError};
use crate::platform::i18n::Msg;

#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: Msg) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Keeps the value, or records its error and returns `None`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, Msg>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// A present, non-blank text of at most `max` characters, trimmed.
    pub fn required_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let result = match value.map(str::trim) {
            None | Some("") => Err(Msg::new("field.required")),
            Some(text) => bounded(text, max),
        };
        self.check(field, result)
    }

    /// An optional text: blank means absent.
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(text) => self.check(field, bounded(text, max)),
        }
    }

    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        self.check(field, value.ok_or_else(|| Msg::new("field.required")))
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Err(422)` with every recorded error, if any.
    pub fn finish(self) -> Result<(), AppError> {
        if self.errors.is_empty() { Ok(()) } else { Err(AppError::Validation(self.errors)) }
    }
}

fn bounded(text: &str, max: usize) -> Result<String, Msg> {
    if text.chars().count() > max {
        Err(Msg::new("field.too_long").arg("max", max))
    } else if text.chars().any(char::is_control) {
        Err(Msg::new("field.control_chars"))
    } else {
        Ok(text.to_owned())
    }
}

/// A plausible e-mail address (one `@`, a dotted domain, no spaces), trimmed.
pub fn check_email(email: &str) -> Result<String, Msg> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid { Ok(email.to_owned()) } else { Err(Msg::new("user.email_invalid")) }
}
