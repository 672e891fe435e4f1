//! The navigation: each domain declares its menu entries (module, label, path,
//! who sees it) in its `menu()`; the composition root lists the domains, and the
//! page guard keeps the entries the signed-in person may use, grouped by module.

use super::organizations::service::BusinessKind;
use super::roles::{Permission, Role};
use super::users::service::AuthUser;
use crate::platform::web::{Module, NavLink, SignedIn};

/// Who sees a menu entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Those with the permission.
    May(Permission),
    /// Those with the first permission but not the second (who have a fuller entry).
    MayWithout(Permission, Permission),
    /// Those with the permission, and those with the role.
    MayOr(Permission, Role),
    /// Those with the role.
    Role(Role),
}

impl Audience {
    fn admits(self, user: &AuthUser) -> bool {
        match self {
            Self::May(permission) => user.may(permission),
            Self::MayWithout(permission, fuller) => user.may(permission) && !user.may(fuller),
            Self::MayOr(permission, role) => user.may(permission) || user.has_role(role),
            Self::Role(role) => user.has_role(role),
        }
    }
}

/// One entry of the navigation, as a domain declares it.
#[derive(Debug, Clone, Copy)]
pub struct MenuEntry {
    pub module: Module,
    pub link: NavLink,
    pub audience: Audience,
}

impl MenuEntry {
    pub const fn new(module: Module, label: &'static str, path: &'static str, audience: Audience) -> Self {
        Self { module, link: NavLink::new(module, label, path), audience }
    }

    /// The entry is also the current one under these paths.
    #[must_use]
    pub const fn also(self, also: &'static [&'static str]) -> Self {
        Self { link: self.link.also(also), ..self }
    }
}

/// The links `user` may use in the modules their business runs, grouped by
/// module (in the domains' order within one).
pub fn links(user: &AuthUser, kind: BusinessKind, entries: &[MenuEntry]) -> Vec<NavLink> {
    let mut admitted: Vec<&MenuEntry> =
        entries.iter().filter(|e| kind.runs(e.module) && e.audience.admits(user)).collect();
    admitted.sort_by_key(|e| e.module);
    admitted.into_iter().map(|e| e.link).collect()
}

/// What pages know of the signed-in `user`: name, permissions and navigation.
pub fn signed_in(user: &AuthUser, kind: BusinessKind, entries: &[MenuEntry]) -> SignedIn {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut person = DefaultHasher::new();
    ("volant-person", user.organization_id, user.id).hash(&mut person);
    SignedIn {
        display_name: user.display_name.clone(),
        person: format!("{:016x}", person.finish()),
        permissions: Permission::ALL.into_iter().filter(|p| user.may(*p)).collect(),
        menu: links(user, kind, entries),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::tenant::OrgId;

    fn paths(roles: &[Role], is_operator: bool) -> Vec<&'static str> {
        paths_in(BusinessKind::Both, roles, is_operator)
    }

    fn paths_in(kind: BusinessKind, roles: &[Role], is_operator: bool) -> Vec<&'static str> {
        let user = AuthUser {
            id: 1,
            org: OrgId::new(1),
            organization_id: 1,
            email: "x@example.fr".into(),
            display_name: "X".into(),
            roles: roles.to_vec(),
            is_operator,
            grant: None,
        };
        links(&user, kind, &crate::app::menu_table()).into_iter().map(|l| l.path).collect()
    }

    #[test]
    fn each_role_sees_its_menu_grouped_by_module() {
        let workshop = [
            "/garages",
            "/vehicles",
            "/dashboard",
            "/interventions",
            "/clients",
            "/quotes",
            "/alerts",
            "/documents/expiring",
        ];
        let school =
            ["/school/planning", "/school/candidates", "/school/exams", "/school/reports", "/school/instructors"];
        let admin = [workshop.as_slice(), &school, &["/messages", "/invoices", "/admin/users", "/admin/organization"]]
            .concat()
            .into_iter()
            .chain(["/admin/audit", "/admin/sso", "/contacts/consents", "/admin/jobs", "/admin/webhooks", "/imports"])
            .collect::<Vec<_>>();
        assert_eq!(paths(&[Role::Admin], false), admin);
        // Managers invite colleagues; administrators do it from the users' page.
        let manager = [
            workshop.as_slice(),
            &school,
            &["/messages", "/invoices", "/admin/invitations", "/contacts/consents", "/imports"],
        ]
        .concat();
        assert_eq!(paths(&[Role::Manager], false), manager);
        assert_eq!(paths(&[Role::Staff], true), [workshop.as_slice(), &["/invoices"]].concat());
        assert_eq!(paths(&[Role::Instructor], false), ["/school/planning", "/school/results", "/messages"]);
        assert_eq!(paths(&[Role::Candidate], false), ["/messages", "/portal"]);
        // A candidate who is also on the staff keeps both menus, in module order.
        let both = [workshop.as_slice(), &["/messages", "/portal", "/invoices"]].concat();
        assert_eq!(paths(&[Role::Candidate, Role::Staff], false), both);
    }

    #[test]
    fn a_business_sees_only_the_modules_it_runs() {
        let garage = paths_in(BusinessKind::Garage, &[Role::Manager], false);
        assert!(garage.contains(&"/quotes") && garage.contains(&"/admin/invitations"), "{garage:?}");
        assert!(!garage.iter().any(|p| p.starts_with("/school") || *p == "/messages"), "{garage:?}");
        let school = paths_in(BusinessKind::School, &[Role::Manager], false);
        assert!(school.contains(&"/school/planning") && school.contains(&"/messages"), "{school:?}");
        assert!(!school.contains(&"/garages") && !school.contains(&"/quotes"), "{school:?}");
        // Both businesses invoice and are paid.
        assert!(school.contains(&"/invoices") && garage.contains(&"/invoices"), "{school:?} {garage:?}");
    }
}
