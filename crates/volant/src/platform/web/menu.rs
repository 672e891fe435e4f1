//! The navigation as pages show it. Each domain declares its entries (see
//! `crate::identity::navigation`); `identity` keeps those the signed-in person
//! may use, grouped by module, and hands them to the page context.

/// The modules the navigation groups its entries by, in the order it shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Module {
    /// Atelier: garages, vehicles, clients, quotes, alerts.
    Workshop,
    /// Auto-école: planning, candidates, exams, reports, messages, portal.
    School,
    /// Administration: users, the organization, the audit trail, consents, jobs.
    Administration,
}

/// One link of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavLink {
    /// The catalog key of its label.
    pub label: &'static str,
    pub path: &'static str,
    /// Other paths under which it is the current entry.
    pub also: &'static [&'static str],
}

impl NavLink {
    pub const fn new(label: &'static str, path: &'static str) -> Self {
        Self { label, path, also: &[] }
    }

    /// The entry is also the current one under these paths.
    #[must_use]
    pub const fn also(self, also: &'static [&'static str]) -> Self {
        Self { also, ..self }
    }
}
