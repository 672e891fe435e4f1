//! `/`: where each person starts, by what their roles let them do in the
//! modules their business runs.

use axum::extract::{FromRequestParts, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::CurrentUser;
use super::web_pages::Routes;
use crate::identity::organizations::service::{self as organizations, BusinessKind};
use crate::identity::roles::{Permission, Role, any_allows};
use crate::platform::AppState;
use crate::platform::web::{Module, WebError, WelcomeSteps};

/// Open: signed out, it sends to the sign-in page.
pub fn routes(welcome: &'static [WelcomeSteps]) -> Routes {
    vec![("/", get(move |state: State<AppState>, request: Request| home(state, request, welcome)))]
}

/// Those who set the business up on its welcome checklist while steps are left;
/// a candidate in their portal, an instructor on the planning, everyone who sees
/// the fleet on the garages, anyone else on their profile.
async fn home(State(state): State<AppState>, request: Request, welcome: &'static [WelcomeSteps]) -> Response {
    let (mut parts, _) = request.into_parts();
    let Ok(current) = CurrentUser::from_request_parts(&mut parts, &state).await else {
        // Back here after signing in, to land by role.
        return Redirect::to("/login").into_response();
    };
    let user = &current.user;
    let organization = match organizations::get(&state.db, user.org).await {
        Ok(organization) => organization,
        Err(err) => return WebError(err).into_response(),
    };
    if user.may(Permission::UsersInvite) {
        match crate::identity::welcome::is_pending(&state, &organization, welcome).await {
            Ok(true) => return Redirect::to("/welcome").into_response(),
            Ok(false) => {}
            Err(err) => return WebError(err).into_response(),
        }
    }
    Redirect::to(start_page(&user.roles, organization.kind)).into_response()
}

/// A person's first page, by their roles and what the business runs.
fn start_page(roles: &[Role], kind: BusinessKind) -> &'static str {
    if kind.runs(Module::Workshop) && any_allows(roles, Permission::FleetRead) {
        // A mechanic's day is the vehicles in the workshop.
        if any_allows(roles, Permission::InterventionsRecord) && !any_allows(roles, Permission::FleetWrite) {
            "/interventions"
        } else {
            "/garages"
        }
    } else if kind.runs(Module::School) && any_allows(roles, Permission::Teaching) {
        "/school/planning"
    } else if roles.contains(&Role::Candidate) {
        "/portal"
    } else {
        "/profile"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_person_starts_where_their_business_works() {
        assert_eq!(start_page(&[Role::Manager], BusinessKind::Both), "/garages");
        assert_eq!(start_page(&[Role::Manager], BusinessKind::School), "/school/planning");
        assert_eq!(start_page(&[Role::Staff], BusinessKind::Garage), "/interventions");
        assert_eq!(start_page(&[Role::Instructor], BusinessKind::Both), "/school/planning");
        assert_eq!(start_page(&[Role::Candidate], BusinessKind::School), "/portal");
        assert_eq!(start_page(&[Role::Staff], BusinessKind::School), "/profile");
    }
}
