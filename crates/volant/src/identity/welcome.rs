//! `/welcome`: the first things a new business does (its first garage and
//! vehicle, its mail server, a colleague; for a school an instructor with hours,
//! a car, a candidate), each ticked as it is done. Those who set the business up
//! (administrators and managers) land here until it is done or put away.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};

use super::auth::web_pages::Routes;
use super::organizations::service::{self as organizations, BusinessKind, NewOrganization, Organization};
use super::roles::Permission;
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::AppResult;
use crate::platform::i18n;
use crate::platform::tenant::OrgId;
use crate::platform::web::{Module, PageCtx, WebResult, WelcomeStep, WelcomeSteps, redirect_with_flash};

pub fn routes(sources: &'static [WelcomeSteps]) -> Routes {
    vec![
        ("/welcome", get(move |caller: Caller, page: PageCtx| show(caller, page, sources))),
        ("/welcome/dismiss", post(dismiss)),
        ("/welcome/restore", post(restore)),
    ]
}

/// Identity's steps: the business described as its documents need it, and
/// someone to work with.
async fn identity_steps(state: &AppState, organization: &Organization) -> AppResult<Vec<WelcomeStep>> {
    let described = organization.name != NewOrganization::default().name && organization.address.is_some();
    let colleagues = super::users::service::count_in(&state.db, OrgId::new(organization.id)).await?;
    Ok(vec![
        WelcomeStep::new(
            Module::Administration,
            "welcome.business",
            ("/admin/organization", Permission::OrgSettings),
            described,
        ),
        WelcomeStep::new(
            Module::Administration,
            "welcome.invite",
            ("/admin/invitations", Permission::UsersInvite),
            colleagues > 1,
        ),
    ])
}

/// The organization's steps, those of the modules it runs, in the domains' order.
pub async fn steps(
    state: &AppState,
    organization: &Organization,
    sources: &[WelcomeSteps],
) -> AppResult<Vec<WelcomeStep>> {
    // The business first, then each domain's steps, a colleague last.
    let mut own = identity_steps(state, organization).await?.into_iter();
    let mut steps: Vec<WelcomeStep> = own.next().into_iter().collect();
    for source in sources {
        steps.extend(source(state, OrgId::new(organization.id)).await?);
    }
    steps.extend(own);
    steps.retain(|s| organization.kind.runs(s.module));
    Ok(steps)
}

/// Whether `/` should lead here: steps are left and nobody put the list away.
pub async fn is_pending(state: &AppState, organization: &Organization, sources: &[WelcomeSteps]) -> AppResult<bool> {
    if organization.welcome_dismissed {
        return Ok(false);
    }
    Ok(steps(state, organization, sources).await?.iter().any(|s| !s.done))
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/welcome.html")]
struct WelcomePage {
    page: PageCtx,
    business: String,
    steps: Vec<WelcomeStep>,
    done: usize,
    progress: String,
    dismissed: bool,
    /// Where the work starts once the list is put away.
    start: &'static str,
}

async fn show(caller: Caller, page: PageCtx, sources: &'static [WelcomeSteps]) -> WebResult<WelcomePage> {
    let organization = organizations::get(&caller.db, caller.org).await?;
    let steps = steps(&caller.state, &organization, sources).await?;
    let done = steps.iter().filter(|s| s.done).count();
    let dismissed = organization.welcome_dismissed;
    let (count, total) = (done.to_string(), steps.len().to_string());
    let progress = page.tr.0.format("welcome.progress", &[("done", &count), ("total", &total)]);
    Ok(WelcomePage {
        page,
        business: organization.name,
        steps,
        done,
        progress,
        dismissed,
        start: start(organization.kind),
    })
}

/// Where the work of a business starts.
fn start(kind: BusinessKind) -> &'static str {
    if kind.runs(Module::Workshop) { "/garages" } else { "/school/planning" }
}

async fn dismiss(caller: Caller) -> WebResult<Response> {
    organizations::dismiss_welcome(&caller.db, caller.org, true).await?;
    let organization = organizations::get(&caller.db, caller.org).await?;
    Ok(redirect_with_flash(start(organization.kind), "success", i18n::current().text("welcome.dismissed")))
}

async fn restore(caller: Caller) -> WebResult<Response> {
    organizations::dismiss_welcome(&caller.db, caller.org, false).await?;
    Ok(redirect_with_flash("/welcome", "success", i18n::current().text("welcome.restored")))
}
