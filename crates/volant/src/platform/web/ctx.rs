//! The page context every template receives.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::csrf::CsrfToken;
use super::flash::{Flash, read_flash};
use super::menu::{Module, NavLink};
use crate::identity::roles::Permission;
use crate::platform::http::assets;
use crate::platform::i18n::{self, Tr};

/// Who is signed in, as the page guard found them: the layout's name and
/// navigation, and what the person may do (pages offer only those actions).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub display_name: String,
    /// Who the person is, as an opaque key: a phone's saved pages are another
    /// person's when a page names a different one (assets/app.js).
    pub person: String,
    /// Every permission the person holds.
    pub permissions: Vec<Permission>,
    /// The navigation entries the person may use, in the order shown.
    pub menu: Vec<NavLink>,
}

/// The signed-in person's organization as pages need it, loaded once per request
/// by the page guard: its language and time zone (the request is scoped to them,
/// see [`i18n::scope`]), its currency and VAT rates.
#[derive(Debug, Clone)]
pub struct OrgContext {
    pub locale: i18n::Locale,
    pub zone: chrono_tz::Tz,
    pub currency: crate::platform::money::Currency,
    pub vat_rates: Vec<String>,
}

impl OrgContext {
    /// The first VAT rate, as forms pre-fill it (`20`, `5,5`).
    pub fn default_vat(&self) -> String {
        self.vat_rates.first().map_or("20", String::as_str).replace('.', ",")
    }
}

/// What the base layout needs, extracted from every page request.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub tr: Tr,
    pub flash: Option<Flash>,
    /// The request path, to mark the current navigation entry.
    pub path: String,
    /// An htmx request wants a fragment, not a whole page.
    pub htmx: bool,
    pub asset_version: &'static str,
    /// Echoed by every form in a hidden `_csrf` field.
    pub csrf: String,
    /// The signed-in person's name, if any.
    pub user: Option<String>,
    /// Their opaque key (see [`SignedIn::person`]).
    pub person: Option<String>,
    /// The navigation: empty when signed out.
    pub menu: Vec<NavLink>,
    /// The signed-in person's organization (none when signed out).
    pub org: Option<OrgContext>,
    /// Whether e-mails and SMS leave this instance (told to administrators when not).
    pub channels: Channels,
    permissions: Vec<Permission>,
}

/// Which channels reach people: an SMTP server for e-mails, a provider for SMS.
/// Without one, deliveries are only saved (the outbox folder, the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    pub email: bool,
    pub sms: bool,
}

impl Default for Channels {
    /// Unknown (a page outside the guard): nothing to warn about.
    fn default() -> Self {
        Self { email: true, sms: true }
    }
}

impl Channels {
    /// `email`: whether this organization's e-mails leave (its own server, or the instance's).
    pub fn of(config: &crate::platform::config::NotifyConfig, email: bool) -> Self {
        Self { email, sms: config.sms_url.is_some() }
    }
}

impl PageCtx {
    pub(super) fn new(headers: &HeaderMap, path: &str) -> Self {
        Self::with_extensions(headers, path, &axum::http::Extensions::new())
    }

    fn with_extensions(headers: &HeaderMap, path: &str, extensions: &axum::http::Extensions) -> Self {
        let signed_in = extensions.get::<SignedIn>();
        Self {
            csrf: extensions.get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default(),
            user: signed_in.map(|u| u.display_name.clone()),
            person: signed_in.map(|u| u.person.clone()),
            menu: signed_in.map(|u| u.menu.clone()).unwrap_or_default(),
            org: extensions.get::<OrgContext>().cloned(),
            channels: extensions.get::<Channels>().copied().unwrap_or_default(),
            permissions: signed_in.map(|u| u.permissions.clone()).unwrap_or_default(),
            tr: Tr(i18n::current()),
            flash: read_flash(headers),
            path: path.to_owned(),
            htmx: headers.contains_key("hx-request") && !headers.contains_key("hx-boosted"),
            asset_version: assets::version(),
        }
    }

    /// Whether the signed-in person may do what `permission` allows: pages offer
    /// an action only to those the service would let do it.
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// The organization's currency (euros when signed out).
    pub fn currency(&self) -> crate::platform::money::Currency {
        self.org.as_ref().map_or(crate::platform::money::Currency::EUR, |o| o.currency)
    }

    /// The organization's first VAT rate, as forms pre-fill it (`20` when signed out).
    pub fn default_vat(&self) -> String {
        self.org.as_ref().map_or_else(|| "20".to_owned(), OrgContext::default_vat)
    }

    /// What a page says when it is shown offline, from the copy saved on the
    /// device: the time it was made (now), in the reader's zone.
    pub fn offline_note(&self) -> String {
        self.tr.f("pwa.offline_as_of", "time", &self.tr.0.local_date_time(chrono::Utc::now()))
    }

    /// Whether the navigation entry for `prefix` is the current one.
    pub fn is_current(&self, prefix: &str) -> bool {
        self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
    }

    /// Whether `link` is the current navigation entry.
    /// The administrators' banner: what does not leave this instance (`None`: all does).
    pub fn undelivered_warning(&self) -> Option<&'static str> {
        if !self.may(Permission::OrgSettings) {
            return None;
        }
        match (self.channels.email, self.channels.sms) {
            (true, true) => None,
            (false, true) => Some("channels.email_not_delivered"),
            (true, false) => Some("channels.sms_not_delivered"),
            (false, false) => Some("channels.none_delivered"),
        }
    }

    /// The navigation by module, in order.
    pub fn menu_groups(&self) -> Vec<(Module, Vec<NavLink>)> {
        let mut groups: Vec<(Module, Vec<NavLink>)> = Vec::new();
        for link in &self.menu {
            match groups.last_mut() {
                Some((module, links)) if *module == link.module => links.push(*link),
                _ => groups.push((link.module, vec![*link])),
            }
        }
        groups
    }

    pub fn is_current_link(&self, link: &NavLink) -> bool {
        std::iter::once(&link.path).chain(link.also).any(|prefix| self.is_current(prefix))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::with_extensions(&parts.headers, parts.uri.path(), &parts.extensions))
    }
}
