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
    /// Facturation: invoices, payments, the cash report (garages and schools).
    Billing,
    /// Administration: users, the organization, the audit trail, consents, jobs.
    Administration,
}

impl Module {
    /// The group's element id in the navigation.
    pub const fn html_id(self) -> &'static str {
        match self {
            Self::Workshop => "nav-workshop",
            Self::School => "nav-school",
            Self::Billing => "nav-billing",
            Self::Administration => "nav-administration",
        }
    }

    /// The catalog key of the group's name in the navigation.
    pub const fn label_key(self) -> &'static str {
        match self {
            Self::Workshop => "nav.module.workshop",
            Self::School => "nav.module.school",
            Self::Billing => "nav.module.billing",
            Self::Administration => "nav.module.administration",
        }
    }
}

/// One link of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavLink {
    /// The group it is shown in.
    pub module: Module,
    /// The catalog key of its label.
    pub label: &'static str,
    pub path: &'static str,
    /// Other paths under which it is the current entry.
    pub also: &'static [&'static str],
}

impl NavLink {
    pub const fn new(module: Module, label: &'static str, path: &'static str) -> Self {
        Self { module, label, path, also: &[] }
    }

    /// The entry is also the current one under these paths.
    #[must_use]
    pub const fn also(self, also: &'static [&'static str]) -> Self {
        Self { also, ..self }
    }
}
