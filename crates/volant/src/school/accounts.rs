//! The sign-in accounts of the school's people: from an instructor's or a
//! candidate's file, one action creates their account (role `instructor` or
//! `candidate`), links the file to it and e-mails them an invitation to choose
//! their password. Managers may do it without user administration.

use sea_orm::{DatabaseTransaction, DbErr, UpdateResult};

use crate::identity::audit::{self, Action, Actor};
use crate::identity::passwords::service::{self as passwords, NewLink};
use crate::identity::roles::Role;
use crate::identity::users::service::{AuthUser, UserView};
use crate::platform::db::Writer;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;

/// A file to make an account for, as the file holds it.
pub struct Person<'a> {
    /// The audit trail's name for the file (`instructor`, `candidate`) and its id.
    pub file: (&'static str, i64),
    pub display_name: String,
    pub email: Option<&'a str>,
    pub has_account: bool,
    pub role: Role,
}

/// Creates the person's account and invites them; `link` ties the file to the new
/// account in the same transaction, and must change exactly one row (the file
/// still without an account: of two concurrent invitations, one wins).
pub async fn invite<C: Writer>(
    db: &C,
    actor: &Actor,
    inviter: &AuthUser,
    person: Person<'_>,
    link: impl AsyncFnOnce(&DatabaseTransaction, i64) -> Result<UpdateResult, DbErr>,
) -> AppResult<(UserView, NewLink)> {
    if person.has_account {
        return Err(AppError::conflict("already_has_account", Msg::new("school.already_has_account")));
    }
    let Some(email) = person.email.filter(|e| !e.trim().is_empty()) else {
        return Err(AppError::validation("email", Msg::new("school.invite_needs_email")));
    };
    let invitation =
        passwords::Invitation { email: email.to_owned(), display_name: person.display_name, roles: vec![person.role] };
    let (kind, id) = person.file;
    passwords::invite(db, actor, inviter, invitation, async |txn, user| {
        tie(txn, actor, (kind, id), user.id, link).await
    })
    .await
}

/// Ties an existing account to a file still without one (an operator's
/// `create-user --instructor-file`); `link` must change exactly one row.
pub async fn link_existing<C: Writer>(
    db: &C,
    actor: &Actor,
    file: (&'static str, i64),
    user_id: i64,
    link: impl AsyncFnOnce(&DatabaseTransaction, i64) -> Result<UpdateResult, DbErr>,
) -> AppResult<()> {
    crate::platform::db::write(db, async |txn| tie(txn, actor, file, user_id, link).await).await
}

/// Ties the file to the account (exactly one row, or the file already has one),
/// audited as a change of the file.
async fn tie(
    txn: &DatabaseTransaction,
    actor: &Actor,
    (kind, id): (&'static str, i64),
    user_id: i64,
    link: impl AsyncFnOnce(&DatabaseTransaction, i64) -> Result<UpdateResult, DbErr>,
) -> AppResult<()> {
    if link(txn, user_id).await?.rows_affected != 1 {
        return Err(AppError::conflict("already_has_account", Msg::new("school.already_has_account")));
    }
    let changes = serde_json::json!({ "user_id": { "before": null, "after": user_id } });
    let event = audit::Event { action: Action::Update, entity: Some((kind, id.to_string())), changes: Some(changes) };
    audit::record(txn, Some(actor), None, event).await
}
