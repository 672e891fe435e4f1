//! Roles and what each may do: the whole matrix, as data, in one place.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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

impl Role {
    pub const ALL: [Self; 5] = [Self::Admin, Self::Manager, Self::Staff, Self::Instructor, Self::Candidate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Staff => "staff",
            Self::Instructor => "instructor",
            Self::Candidate => "candidate",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}
