//! Roles and what each may do: the whole matrix, as data, in one place.

use utoipa::ToSchema;

use crate::platform::enums::string_enum;

string_enum! {
    // A user's role in their organization.
    #[derive(PartialOrd, Ord, ToSchema)]
    pub enum Role {
        /// Everything in the organization, users included.
        Admin,
        /// Garages, vehicles, clients, quotes, alerts, lessons, exams.
        Manager,
        /// Workshop staff: read the fleet and clients, record interventions.
        Staff,
        /// Own lessons and candidates, exam results to validate.
        Instructor,
        /// Own planning, progress and messages only.
        Candidate,
    }
}

/// What a request may do. Each route needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See garages and vehicles.
    FleetRead,
    /// Create, change, move and delete garages and vehicles.
    FleetWrite,
    /// Read the organization's audit trail.
    AuditRead,
    /// See and manage the organization's users.
    UsersManage,
    /// Invite colleagues (any role but administrator, unless `UsersManage` too).
    UsersInvite,
    /// See one's own profile and organization, change one's password.
    OwnProfile,
    /// Change the organization's settings.
    OrgSettings,
    /// See clients, quotes and the workshop's settings.
    WorkshopRead,
    /// Create and change clients and quotes, send quotes, change the workshop's settings.
    WorkshopWrite,
    /// Record interventions and mileage readings (workshop staff).
    InterventionsRecord,
    /// See the school's candidates, instructors, training vehicles and exams.
    SchoolRead,
    /// Manage the school: files, settings, bookings, exam sessions.
    SchoolWrite,
    /// See the lesson planning (each person their own part of it).
    SchoolPlanning,
    /// Record how lessons went; enter and validate exam results.
    Teaching,
    /// Record a contact's consent to (or refusal of) e-mails and SMS.
    ContactConsents,
    /// See invoices, credit notes, payments and the billing settings.
    BillingRead,
    /// Draft, issue and credit invoices; change the billing settings.
    BillingWrite,
    /// Record payments and refunds at the counter.
    PaymentsRecord,
    /// See the organization's job queue and every notification's deliveries; retry dead jobs.
    Operations,
    /// Import records from spreadsheets and undo the last import (each kind with
    /// its own write permission too).
    DataImport,
    /// Operate the instance: its status (version, pool, backups) and the
    /// platform-wide jobs (those of no organization). Granted by no role: only to
    /// platform operators, a flag on users outside organizations (`AuthUser::may`).
    Platform,
}

impl Permission {
    pub const ALL: [Self; 21] = [
        Self::FleetRead,
        Self::FleetWrite,
        Self::AuditRead,
        Self::UsersManage,
        Self::UsersInvite,
        Self::OwnProfile,
        Self::OrgSettings,
        Self::WorkshopRead,
        Self::WorkshopWrite,
        Self::InterventionsRecord,
        Self::SchoolRead,
        Self::SchoolWrite,
        Self::SchoolPlanning,
        Self::Teaching,
        Self::ContactConsents,
        Self::BillingRead,
        Self::BillingWrite,
        Self::PaymentsRecord,
        Self::Operations,
        Self::DataImport,
        Self::Platform,
    ];

    /// The permission's name as an OAuth-style scope: what an API operation's
    /// security requirement names in the OpenAPI document (`security(("bearer" =
    /// ["fleet.write"]))`), the one place each operation declares who may call it.
    pub const fn scope(self) -> &'static str {
        match self {
            Self::FleetRead => "fleet.read",
            Self::FleetWrite => "fleet.write",
            Self::AuditRead => "audit.read",
            Self::UsersManage => "users.manage",
            Self::UsersInvite => "users.invite",
            Self::OwnProfile => "own_profile",
            Self::OrgSettings => "org.settings",
            Self::WorkshopRead => "workshop.read",
            Self::WorkshopWrite => "workshop.write",
            Self::InterventionsRecord => "interventions.record",
            Self::SchoolRead => "school.read",
            Self::SchoolWrite => "school.write",
            Self::SchoolPlanning => "school.planning",
            Self::Teaching => "teaching",
            Self::ContactConsents => "contact_consents",
            Self::BillingRead => "billing.read",
            Self::BillingWrite => "billing.write",
            Self::PaymentsRecord => "payments.record",
            Self::Operations => "operations",
            Self::DataImport => "data.import",
            Self::Platform => "platform",
        }
    }

    pub fn from_scope(scope: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.scope() == scope)
    }
}

/// The role → permission matrix. One table, read by the access check and by the
/// role-matrix test that tries every route with every role.
pub const MATRIX: &[(Role, &[Permission])] = &[
    (
        Role::Admin,
        &[
            Permission::FleetRead,
            Permission::FleetWrite,
            Permission::AuditRead,
            Permission::UsersManage,
            Permission::UsersInvite,
            Permission::OwnProfile,
            Permission::OrgSettings,
            Permission::WorkshopRead,
            Permission::WorkshopWrite,
            Permission::InterventionsRecord,
            Permission::SchoolRead,
            Permission::SchoolWrite,
            Permission::SchoolPlanning,
            Permission::Teaching,
            Permission::ContactConsents,
            Permission::BillingRead,
            Permission::BillingWrite,
            Permission::PaymentsRecord,
            Permission::Operations,
            Permission::DataImport,
        ],
    ),
    (
        Role::Manager,
        &[
            Permission::FleetRead,
            Permission::FleetWrite,
            Permission::UsersInvite,
            Permission::OwnProfile,
            Permission::WorkshopRead,
            Permission::WorkshopWrite,
            Permission::InterventionsRecord,
            Permission::SchoolRead,
            Permission::SchoolWrite,
            Permission::SchoolPlanning,
            Permission::Teaching,
            Permission::ContactConsents,
            Permission::BillingRead,
            Permission::BillingWrite,
            Permission::PaymentsRecord,
            Permission::DataImport,
        ],
    ),
    (
        Role::Staff,
        &[
            Permission::FleetRead,
            Permission::OwnProfile,
            Permission::WorkshopRead,
            Permission::InterventionsRecord,
            Permission::BillingRead,
            Permission::PaymentsRecord,
        ],
    ),
    (Role::Instructor, &[Permission::OwnProfile, Permission::SchoolPlanning, Permission::Teaching]),
    (Role::Candidate, &[Permission::OwnProfile, Permission::SchoolPlanning]),
];

impl Role {
    pub fn allows(self, permission: Permission) -> bool {
        MATRIX.iter().any(|(role, permissions)| *role == self && permissions.contains(&permission))
    }
}

/// Whether any of `roles` grants `permission`.
pub fn any_allows(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|r| r.allows(permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_is_in_the_matrix_once() {
        for role in Role::ALL {
            assert_eq!(MATRIX.iter().filter(|(r, _)| *r == role).count(), 1, "{role:?}");
        }
    }

    #[test]
    fn admin_may_do_everything_in_the_organization() {
        for permission in Permission::ALL.into_iter().filter(|p| *p != Permission::Platform) {
            assert!(Role::Admin.allows(permission), "{permission:?}");
        }
    }

    #[test]
    fn scopes_name_each_permission_once() {
        for permission in Permission::ALL {
            assert_eq!(Permission::from_scope(permission.scope()), Some(permission));
        }
        assert_eq!(Permission::from_scope("fleet"), None);
    }

    #[test]
    fn no_role_operates_the_platform() {
        for role in Role::ALL {
            assert!(!role.allows(Permission::Platform), "{role:?}");
        }
    }
}
