//! The welcome checklist: the first things a new business does, each declared
//! by the domain that knows whether it is done (the composition root lists them).

use futures_util::future::BoxFuture;

use super::Module;
use crate::identity::roles::Permission;
use crate::platform::AppState;
use crate::platform::error::AppResult;
use crate::platform::tenant::OrgId;

/// One step of the checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WelcomeStep {
    /// The module it belongs to: a business that does not run it skips it.
    pub module: Module,
    /// The catalog key of what to do.
    pub label_key: &'static str,
    /// Where it is done.
    pub href: &'static str,
    /// What it takes to do it: others see it, but not as a link.
    pub needs: Permission,
    pub done: bool,
}

impl WelcomeStep {
    pub const fn new(
        module: Module,
        label_key: &'static str,
        (href, needs): (&'static str, Permission),
        done: bool,
    ) -> Self {
        Self { module, label_key, href, needs, done }
    }
}

/// A domain's steps for an organization, in the order to do them.
pub type WelcomeSteps = for<'a> fn(&'a AppState, OrgId) -> BoxFuture<'a, AppResult<Vec<WelcomeStep>>>;
