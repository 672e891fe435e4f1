//! What can be notified, and through which channels.

use utoipa::ToSchema;

use crate::platform::enums::string_enum;

string_enum! {
    /// Something that happened and is worth telling someone.
    #[derive(ToSchema)]
    pub enum Event (labels "notify.event.") {
        /// A quote was sent to its client (with the PDF).
        QuoteSent,
        /// A client accepted or declined a quote through its link.
        QuoteDecided,
        /// An invoice or a credit note was sent to its customer (with the PDF).
        InvoiceSent,
        /// A reminder that an invoice is due or overdue.
        InvoiceReminder,
        /// A vehicle's maintenance is due or overdue.
        AlertRaised,
        /// A lesson was booked, moved or cancelled.
        LessonChanged,
        /// The day-before reminder of a lesson.
        LessonReminder,
        /// A booked lesson's forecast turned high-risk (to its instructor and the managers).
        LessonWeather,
        /// A candidate was registered for an exam.
        ExamRegistered,
        /// An exam result was validated.
        ExamResult,
        /// A new message in a conversation.
        MessageReceived,
        /// A report someone asked for is ready to download.
        ReportReady,
        /// A vehicle's check-in was signed (the PDF to its customer).
        CheckinSigned,
        /// Documents expired or expiring soon (registration, inspection, licence…).
        DocumentExpiring,
        /// A connection to another software stopped working (a webhook endpoint
        /// disabled after failing for days).
        IntegrationFailing,
        /// A restore drill failed (to the platform operators).
        OperationsFailing,
        /// A link to choose one's password (a forgotten one, an invitation): always
        /// by e-mail, whatever the person chose or refused, and never in the inbox.
        AccountAccess,
    }
}

impl Event {
    /// Whether the event goes through `channel` for someone who chose nothing.
    /// SMS costs money and interrupts: by default only for what cannot wait.
    pub fn default_on(self, channel: Channel) -> bool {
        match channel {
            Channel::Email => true,
            Channel::InApp => self.is_choosable(),
            Channel::Sms => matches!(self, Self::LessonChanged | Self::LessonReminder),
            // On the devices a person subscribed: what concerns them personally and soon.
            Channel::Push => matches!(
                self,
                Self::LessonChanged
                    | Self::LessonReminder
                    | Self::LessonWeather
                    | Self::MessageReceived
                    | Self::ExamResult
                    | Self::ReportReady
                    | Self::QuoteDecided
            ),
        }
    }

    /// Whether people choose how they receive it. A password link is not theirs to
    /// turn off: it goes by e-mail, to the account's address, or not at all.
    pub fn is_choosable(self) -> bool {
        !matches!(self, Self::AccountAccess)
    }

    /// The events people choose channels for.
    pub fn choosable() -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(|e| e.is_choosable())
    }
}

string_enum! {
    /// A way to reach someone.
    #[derive(ToSchema)]
    pub enum Channel (labels "notify.channel.") {
        InApp,
        Email,
        Sms,
        /// Web Push, on the devices the person subscribed (docs/mobile.md).
        Push,
    }
}

/// A file sent with an e-mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A notification to send: to a user (in-app, with their preferences), to an
/// e-mail address, to a phone, or several of them.
#[derive(Debug, Clone)]
pub struct Notice {
    pub event: Event,
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The e-mail's subject and the in-app title.
    pub title: String,
    /// Plain text; blank lines separate paragraphs.
    pub body: String,
    /// A path in Volant (`/school/lessons/12`) the notification leads to.
    pub link: Option<String>,
    pub attachment: Option<Attachment>,
}

impl Notice {
    pub fn new(event: Event, title: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            event,
            user_id: None,
            email: None,
            phone: None,
            title: title.into(),
            body: body.into(),
            link: None,
            attachment: None,
        }
    }

    #[must_use]
    pub fn user(mut self, user_id: Option<i64>) -> Self {
        self.user_id = user_id;
        self
    }

    #[must_use]
    pub fn email(mut self, address: Option<String>) -> Self {
        self.email = address.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
        self
    }

    #[must_use]
    pub fn phone(mut self, phone: Option<String>) -> Self {
        self.phone = phone.and_then(|p| normalize_phone(&p));
        self
    }

    #[must_use]
    pub fn link(mut self, path: impl Into<String>) -> Self {
        self.link = Some(path.into());
        self
    }

    #[must_use]
    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachment = Some(attachment);
        self
    }
}

/// A phone number as SMS providers take it: `+` and digits, separators dropped.
/// `None` when it cannot be a phone number.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let mut out = String::new();
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(c),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return None,
        }
    }
    let digits = out.trim_start_matches('+').len();
    (6..=15).contains(&digits).then_some(out)
}

/// An e-mail address as consents are recorded: trimmed, lower case.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalized_or_refused() {
        assert_eq!(normalize_phone("+221 77 123 45 67").as_deref(), Some("+221771234567"));
        assert_eq!(normalize_phone("06.12.34.56.78").as_deref(), Some("0612345678"));
        assert_eq!(normalize_phone("call me"), None);
        assert_eq!(normalize_phone("12"), None);
        assert_eq!(normalize_phone("1+2345678"), None);
    }

    #[test]
    fn codes_round_trip() {
        for event in Event::ALL {
            assert_eq!(Event::parse(event.as_str()), Some(event));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
    }
}
