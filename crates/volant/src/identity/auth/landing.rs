//! `/`: where each person starts, by what their roles let them do.

use axum::extract::{FromRequestParts, Request, State};
use axum::response::Redirect;
use axum::routing::get;

use super::CurrentUser;
use super::web_pages::Routes;
use crate::identity::roles::{Permission, Role, any_allows};
use crate::platform::AppState;

/// Open: signed out, it sends to the sign-in page.
pub fn routes() -> Routes {
    vec![("/", get(home))]
}

/// A candidate in their portal, an instructor on the planning, everyone who sees
/// the fleet on the garages, anyone else on their profile.
async fn home(State(state): State<AppState>, request: Request) -> Redirect {
    let (mut parts, _) = request.into_parts();
    let Ok(current) = CurrentUser::from_request_parts(&mut parts, &state).await else {
        // Back here after signing in, to land by role.
        return Redirect::to("/login");
    };
    let roles = &current.user.roles;
    if any_allows(roles, Permission::FleetRead) {
        Redirect::to("/garages")
    } else if any_allows(roles, Permission::Teaching) {
        Redirect::to("/school/planning")
    } else if current.user.has_role(Role::Candidate) {
        Redirect::to("/portal")
    } else {
        Redirect::to("/profile")
    }
}

