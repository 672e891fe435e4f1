//! The organization a request acts for. Every domain service takes one, so a
//! query that forgets its tenant does not compile.

use std::fmt;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};

use crate::platform::error::{AppError, AppResult};

/// An organization's id: a garage network, a driving school, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(i64);

impl OrgId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A table whose rows belong to an organization and have an `id`.
pub trait Owned: EntityTrait {
    const ORGANIZATION_ID: Self::Column;
    const ID: Self::Column;
}

/// The organization's rows: every query starts here, so none can forget its tenant.
pub fn scoped<E: Owned>(org: OrgId) -> Select<E> {
    E::find().filter(E::ORGANIZATION_ID.eq(org.get()))
}

/// One of the organization's rows. Another organization's row is as absent as
/// one that never existed (404).
pub async fn find<E: Owned>(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<E::Model> {
    scoped::<E>(org).filter(E::ID.eq(id)).one(db).await?.ok_or(AppError::NotFound)
}

/// How many rows of `E` the organization has (a list's total, over its
/// organization index).
pub async fn count<E: Owned>(db: &impl ConnectionTrait, org: OrgId) -> AppResult<u64>
where
    E::Model: Sync,
{
    use sea_orm::PaginatorTrait;
    Ok(scoped::<E>(org).count(db).await?)
}

/// Whether the organization has at least one row of `E`.
pub async fn has_any<E: Owned>(db: &impl ConnectionTrait, org: OrgId) -> AppResult<bool> {
    use sea_orm::QuerySelect;
    Ok(scoped::<E>(org).select_only().column(E::ID).limit(1).into_tuple::<i64>().one(db).await?.is_some())
}
