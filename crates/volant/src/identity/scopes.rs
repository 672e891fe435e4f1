//! What a personal API token may reach: its scopes, read or write per area of the
//! API (`fleet:read`, `billing:write`…). A token acts with its owner's roles *and*
//! its scopes: what the roles refuse no scope grants, and what the scopes leave
//! out no role restores.
//!
//! Each [`Permission`] belongs to one area and needs, at least, one level there
//! ([`Permission::area`]); a request with another method than GET or HEAD needs
//! `write` on its operation's area, whatever the permission.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::roles::Permission;
use crate::platform::enums::string_enum;

string_enum! {
    // An area of the API, as a personal token's scopes name it.
    #[derive(PartialOrd, Ord)]
    pub enum ApiArea (labels "token.area.") {
        /// One's profile, one's notifications and their preferences, the organization's identity.
        Account,
        /// Garages and vehicles.
        Fleet,
        /// Clients, quotes, interventions, alerts, the workshop's settings.
        Workshop,
        /// The driving school: candidates, instructors, planning, exams, messages.
        School,
        /// Invoices, credit notes, payments.
        Billing,
        /// Contacts' consents to e-mails and SMS.
        Consents,
        /// Users, the audit trail, the organization's settings, the job queue.
        Administration,
    }
}

/// How far a scope reaches in its area: `write` includes `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Read,
    Write,
}

impl Level {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// What a request's method needs: reading for GET and HEAD, writing otherwise.
    pub fn of_method(method: &axum::http::Method) -> Self {
        if matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD) { Self::Read } else { Self::Write }
    }
}

impl Permission {
    /// The area of the API this permission belongs to, and the level a token needs
    /// there at least. Permissions whose operations read with GET and change with
    /// other methods (users, settings, the job queue) need `read`: the method
    /// decides the rest.
    pub const fn area(self) -> (ApiArea, Level) {
        use ApiArea::{Account, Administration, Billing, Consents, Fleet, School, Workshop};
        use Level::{Read, Write};
        match self {
            Self::OwnProfile => (Account, Read),
            Self::FleetRead => (Fleet, Read),
            Self::FleetWrite => (Fleet, Write),
            Self::WorkshopRead => (Workshop, Read),
            Self::WorkshopWrite | Self::InterventionsRecord => (Workshop, Write),
            Self::SchoolRead | Self::SchoolPlanning => (School, Read),
            Self::SchoolWrite | Self::Teaching => (School, Write),
            Self::BillingRead => (Billing, Read),
            Self::BillingWrite | Self::PaymentsRecord => (Billing, Write),
            Self::ContactConsents => (Consents, Read),
            Self::AuditRead
            | Self::UsersManage
            | Self::OrgSettings
            | Self::Operations
            | Self::DataImport
            | Self::Platform => (Administration, Read),
            Self::UsersInvite => (Administration, Write),
        }
    }
}

/// One scope: an area and a level, written `fleet:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenScope {
    pub area: ApiArea,
    pub level: Level,
}

impl TokenScope {
    pub const fn new(area: ApiArea, level: Level) -> Self {
        Self { area, level }
    }

    /// Every scope, area by area (`account:read`, `account:write`, `fleet:read`…).
    pub fn all() -> impl Iterator<Item = Self> {
        ApiArea::ALL.into_iter().flat_map(|area| [Self::new(area, Level::Read), Self::new(area, Level::Write)])
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::all().find(|scope| scope.to_string() == text)
    }
}

impl fmt::Display for TokenScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.area.as_str(), self.level.as_str())
    }
}

impl Serialize for TokenScope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TokenScope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            let known: Vec<String> = Self::all().map(|s| s.to_string()).collect();
            serde::de::Error::custom(format!("unknown scope `{text}`, expected one of {}", known.join(", ")))
        })
    }
}

impl utoipa::PartialSchema for TokenScope {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Self::all().map(|s| s.to_string())))
            .description(Some("An area of the API and how far a token reaches there (`write` includes `read`)."))
            .into()
    }
}

impl utoipa::ToSchema for TokenScope {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("TokenScope")
    }
}

/// A token's scopes, at most one level per area (the higher one kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    levels: BTreeMap<ApiArea, Level>,
}

impl Grant {
    /// Every area, written: what tokens created before scopes existed keep, and
    /// what a token created through the API without `scopes` gets.
    pub fn full() -> Self {
        Self::from_scopes(ApiArea::ALL.map(|area| TokenScope::new(area, Level::Write)))
    }

    pub fn from_scopes(scopes: impl IntoIterator<Item = TokenScope>) -> Self {
        let mut levels = BTreeMap::new();
        for scope in scopes {
            let level: &mut Level = levels.entry(scope.area).or_insert(scope.level);
            *level = (*level).max(scope.level);
        }
        Self { levels }
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Whether the token reaches `area` at `level`.
    pub fn reaches(&self, area: ApiArea, level: Level) -> bool {
        self.levels.get(&area).is_some_and(|granted| *granted >= level)
    }

    /// Whether the token allows what `permission` allows (its roles permitting).
    pub fn allows(&self, permission: Permission) -> bool {
        let (area, level) = permission.area();
        self.reaches(area, level)
    }

    /// The scopes, area by area.
    pub fn scopes(&self) -> Vec<TokenScope> {
        self.levels.iter().map(|(area, level)| TokenScope::new(*area, *level)).collect()
    }

    /// Stored as the scopes separated by spaces (`fleet:read school:write`).
    pub fn to_stored(&self) -> String {
        self.scopes().iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
    }

    /// A stored list; an unknown scope (written by a later version) grants nothing.
    pub fn from_stored(text: &str) -> Self {
        Self::from_scopes(text.split_whitespace().filter_map(TokenScope::parse))
    }

    /// The level this grant gives `area`, if any.
    pub fn level(&self, area: ApiArea) -> Option<Level> {
        self.levels.get(&area).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_and_write_back() {
        for scope in TokenScope::all() {
            assert_eq!(TokenScope::parse(&scope.to_string()), Some(scope));
            let json = serde_json::to_string(&scope).expect("json");
            assert_eq!(serde_json::from_str::<TokenScope>(&json).expect("read"), scope);
        }
        assert_eq!(TokenScope::parse("fleet:read"), Some(TokenScope::new(ApiArea::Fleet, Level::Read)));
        assert_eq!(TokenScope::parse("fleet.read"), None);
        let refused = serde_json::from_str::<TokenScope>("\"fleet:admin\"").expect_err("unknown");
        assert!(refused.to_string().contains("unknown scope `fleet:admin`"), "{refused}");
    }

    #[test]
    fn write_includes_read_and_the_higher_level_wins() {
        let grant = Grant::from_scopes([
            TokenScope::new(ApiArea::Fleet, Level::Write),
            TokenScope::new(ApiArea::Fleet, Level::Read),
            TokenScope::new(ApiArea::Billing, Level::Read),
        ]);
        assert_eq!(grant.to_stored(), "fleet:write billing:read");
        assert!(grant.allows(Permission::FleetRead) && grant.allows(Permission::FleetWrite));
        assert!(grant.allows(Permission::BillingRead) && !grant.allows(Permission::PaymentsRecord));
        assert!(!grant.allows(Permission::WorkshopRead) && !grant.allows(Permission::OwnProfile));
        assert_eq!(Grant::from_stored(&grant.to_stored()), grant);
        assert_eq!(Grant::from_stored("fleet:write later:read"), Grant::from_scopes([grant.scopes()[0]]));
    }

    /// The table of `Permission::area`, written out again: a change to one is a
    /// change to who a token lets in, made knowingly here too.
    #[test]
    fn each_permission_belongs_to_its_area_at_its_level() {
        use ApiArea::{Account, Administration, Billing, Consents, Fleet, School, Workshop};
        use Level::{Read, Write};
        let expected = [
            ("own_profile", Account, Read),
            ("fleet.read", Fleet, Read),
            ("fleet.write", Fleet, Write),
            ("workshop.read", Workshop, Read),
            ("workshop.write", Workshop, Write),
            ("interventions.record", Workshop, Write),
            ("school.read", School, Read),
            ("school.planning", School, Read),
            ("school.write", School, Write),
            ("teaching", School, Write),
            ("billing.read", Billing, Read),
            ("billing.write", Billing, Write),
            ("payments.record", Billing, Write),
            ("contact_consents", Consents, Read),
            ("audit.read", Administration, Read),
            ("users.manage", Administration, Read),
            ("users.invite", Administration, Write),
            ("org.settings", Administration, Read),
            ("operations", Administration, Read),
            ("data.import", Administration, Read),
            ("platform", Administration, Read),
        ];
        assert_eq!(expected.len(), Permission::ALL.len());
        for (scope, area, level) in expected {
            let permission = Permission::from_scope(scope).expect(scope);
            assert_eq!(permission.area(), (area, level), "{scope}");
        }
    }

    #[test]
    fn tokens_from_before_scopes_keep_every_area() {
        // What migration m20261211_000029 wrote in every token existing then.
        let written =
            "account:write fleet:write workshop:write school:write billing:write consents:write administration:write";
        assert_eq!(Grant::from_stored(written), Grant::full());
    }

    #[test]
    fn the_full_grant_allows_every_permission() {
        for permission in Permission::ALL {
            assert!(Grant::full().allows(permission), "{permission:?}");
        }
        assert!(Grant::default().is_empty());
    }
}
