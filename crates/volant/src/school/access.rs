//! Who is looking at the school's data: the school's staff see everything, an
//! instructor their own lessons and candidates, a candidate their own file.

use sea_orm::ConnectionTrait;

use crate::identity::auth::CurrentUser;
use crate::identity::roles::Role;
use crate::platform::error::{AppError, AppResult};
use crate::platform::tenant::OrgId;
use crate::school::candidates::service as candidates;
use crate::school::instructors::service as instructors;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Administrators and managers.
    School,
    Instructor(i64),
    Candidate(i64),
    /// A signed-in instructor or candidate without a file yet: sees nothing.
    Nobody,
}

impl Viewer {
    pub async fn of(db: &impl ConnectionTrait, current: &CurrentUser) -> AppResult<Self> {
        let user = &current.user;
        if user.has_role(Role::Admin) || user.has_role(Role::Manager) {
            return Ok(Self::School);
        }
        if user.has_role(Role::Instructor)
            && let Some(instructor) = instructors::of_user(db, user.org, user.id).await?
        {
            return Ok(Self::Instructor(instructor.id));
        }
        if user.has_role(Role::Candidate)
            && let Some(id) = candidates::id_of_user(db, user.org, user.id).await?
        {
            return Ok(Self::Candidate(id));
        }
        Ok(Self::Nobody)
    }

    /// Whether this viewer may see a lesson of this candidate with this instructor.
    pub fn sees(self, candidate_id: i64, instructor_id: i64) -> bool {
        match self {
            Self::School => true,
            Self::Instructor(id) => id == instructor_id,
            Self::Candidate(id) => id == candidate_id,
            Self::Nobody => false,
        }
    }

    /// Not found (rather than forbidden) for what this viewer may not see, so that
    /// ids of others' records reveal nothing.
    pub fn check(self, candidate_id: i64, instructor_id: i64) -> AppResult<()> {
        if self.sees(candidate_id, instructor_id) { Ok(()) } else { Err(AppError::NotFound) }
    }
}

/// The org of a viewer's request, for services taking both.
pub fn org_of(current: &CurrentUser) -> OrgId {
    current.user.org
}
