//! Collects every invalid field of an input at once, so a form or an API client
//! learns all its mistakes in one answer.

use crate::platform::error::{AppError, AppResult, FieldError};
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

    /// A present, non-blank text that may span lines (a message, notes, terms),
    /// trimmed, line breaks normalized to `\n`.
    pub fn required_long_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let result = match value.map(str::trim) {
            None | Some("") => Err(Msg::new("field.required")),
            Some(text) => bounded_lines(text, max),
        };
        self.check(field, result)
    }

    /// An optional text that may span lines: blank means absent.
    pub fn optional_long_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(text) => self.check(field, bounded_lines(text, max)),
        }
    }

    /// An optional phone number: digits, spaces and `+ - . / ( )`, at least four
    /// digits; blank means absent.
    pub fn optional_phone(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let phone = self.optional_text(field, value, 40)?;
        let allowed = phone.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c));
        if !allowed || phone.chars().filter(char::is_ascii_digit).count() < 4 {
            self.add(field, Msg::new("field.phone_invalid"));
            return None;
        }
        Some(phone)
    }

    /// An optional e-mail address (see [`check_email`]); blank means absent.
    pub fn optional_email(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        match value.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => self.check(field, check_email(raw)),
        }
    }

    /// The row a reference of the input names (`lookup`, the service's answer);
    /// a missing one is recorded against `field` as `unknown`, any other failure
    /// is returned as it is.
    pub fn found<T>(&mut self, field: &str, lookup: AppResult<T>, unknown: Msg) -> AppResult<Option<T>> {
        match lookup {
            Ok(row) => Ok(Some(row)),
            Err(AppError::NotFound) => {
                self.add(field, unknown);
                Ok(None)
            }
            Err(err) => Err(err),
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

/// A text on several lines: `\r\n` and lone `\r` become `\n`; tabs stay; any other
/// control character is refused. The length counts the normalized text.
fn bounded_lines(text: &str, max: usize) -> Result<String, Msg> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    if normalized.chars().count() > max {
        Err(Msg::new("field.too_long").arg("max", max))
    } else if normalized.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        Err(Msg::new("field.control_chars"))
    } else {
        Ok(normalized)
    }
}

/// An e-mail address a mail server will take, trimmed: parsed as one bare address
/// (lettre's RFC 5321 parser, the one that later sends to it), with a dotted
/// domain. Display names, lists, brackets and quotes are refused.
pub fn check_email(email: &str) -> Result<String, Msg> {
    let email = email.trim();
    let parsed = (email.len() <= 254).then(|| email.parse::<lettre::Address>().ok()).flatten();
    match parsed {
        Some(address)
            if address.domain().contains('.')
                && !address.domain().starts_with('.')
                && !address.domain().ends_with('.')
                && address.to_string() == email =>
        {
            Ok(email.to_owned())
        }
        _ => Err(Msg::new("user.email_invalid")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_keep_their_lines_and_short_ones_refuse_them() {
        let mut v = Validator::new();
        let text = " Bonjour,\r\nà demain 🚗\rÉlodie\n\tfin ";
        assert_eq!(
            v.optional_long_text("notes", Some(text), 100).as_deref(),
            Some("Bonjour,\nà demain 🚗\nÉlodie\n\tfin")
        );
        assert_eq!(v.required_long_text("body", Some("a\u{0}b"), 100), None);
        assert_eq!(v.required_long_text("body", Some("a\u{1b}[31m"), 100), None);
        assert_eq!(v.required_text("name", Some("Jean\nDupont"), 100), None);
        assert_eq!(v.optional_text("plate", Some("AB-123\r\n-CD"), 100), None);
        assert!(v.required_long_text("body", Some("é\r\né"), 3).is_some(), "CR LF counts as one");
        assert_eq!(v.errors.len(), 4);
        assert!(v.errors.iter().all(|e| e.field != "notes"));
    }
}
