//! Password links: made, e-mailed, opened, used once.
//!
//! A link's secret is 32 random bytes; the database keeps its SHA-256 only. A link
//! ends when it is used, when it expires, when a newer one is made for the same
//! person, or when the password changes by any other way. Asking for a link answers
//! the same whether the address has an account or not.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use utoipa::ToSchema;

use super::entity::password_link;
use crate::identity::audit::{self, Action, Actor};
use crate::identity::organizations::service as organizations;
use crate::identity::roles::Role;
use crate::identity::users::entity::{self as user, Entity as Users};
use crate::identity::users::service::{self as users, normalize_email};
use crate::notify::model::{Event, Notice};
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::secrets;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

string_enum! {
    // Why a link was made.
    #[derive(ToSchema)]
    pub enum Purpose {
        /// A password to replace (forgotten, or reset by an administrator).
        Reset,
        /// A new account's first password: the invitation to join.
        Invitation,
    }
}

/// How long a link the person asked for works.
pub const ASKED_TTL: Duration = Duration::hours(1);
/// How long a link sent by an administrator or printed for an operator works
/// (it may be read the next morning).
pub const SENT_TTL: Duration = Duration::hours(24);

/// How long an invitation waits for its guest.
pub const INVITATION_TTL: Duration = Duration::days(7);

/// The page a link opens.
pub fn path(secret: &str) -> String {
    format!("/password/reset/{secret}")
}

/// A link just made for someone.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    /// The secret, to put in the link: never stored.
    pub secret: String,
    pub expires_at: DateTime<Utc>,
    /// Who invites (an invitation's e-mail names them).
    pub inviter: Option<String>,
}

/// Someone asks for a link to choose a new password. The same `Ok` whether the
/// address has an active account or not; the address and the client are counted
/// against the rate limits either way. An active account gets an e-mail, in its
/// organization's language, with a link that works for [`ASKED_TTL`].
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn ask<C: Writer>(
    db: &C,
    limits: &crate::platform::ratelimit::RateLimits,
    actor: &Actor,
    email: &str,
) -> AppResult<()> {
    let mut v = Validator::new();
    let email = v.required_text("email", Some(email), 254);
    v.finish()?;
    let email = email.unwrap_or_default();
    limits.check_password_reset(actor.ip.as_deref().unwrap_or("local"), &email).await?;
    let found = Users::find()
        .filter(user::Column::EmailNormalized.eq(normalize_email(&email)))
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?;
    let Some(account) = found else {
        tracing::info!("password link asked for an address with no active account");
        return Ok(());
    };
    db::write(db, async |txn| {
        let link = make(txn, &account, None, (Purpose::Reset, ASKED_TTL)).await?;
        send(txn, &link, OrgId::new(account.organization_id), (Purpose::Reset, ASKED_TTL)).await?;
        let actor = Actor { org: OrgId::new(account.organization_id), user_id: None, ..actor.clone() };
        record(txn, &actor, account.id, "asked").await
    })
    .await
}

/// An administrator sends a user of their organization a link ([`SENT_TTL`]).
/// Returns the link: the page shows it when e-mails are not delivered.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn send_to_user<C: Writer>(db: &C, actor: &Actor, user_id: i64) -> AppResult<NewLink> {
    let account = Users::find_by_id(user_id)
        .filter(user::Column::OrganizationId.eq(actor.org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !account.active {
        return Err(AppError::conflict("user_inactive", Msg::new("password.user_inactive")));
    }
    // A platform operator's account is not an organization's to hand over.
    if account.is_operator && !actor_is_operator(db, actor).await? {
        return Err(AppError::ForbiddenBecause {
            code: "operator_account",
            message: Msg::new("password.operator_account"),
        });
    }
    db::write(db, async |txn| {
        let link = make(txn, &account, actor.user_id, (Purpose::Reset, SENT_TTL)).await?;
        send(txn, &link, actor.org, (Purpose::Reset, SENT_TTL)).await?;
        record(txn, actor, account.id, "administrator").await?;
        Ok(link)
    })
    .await
}

/// Someone to invite: their account is made now, with a password nobody knows;
/// they choose theirs through the invitation's link ([`INVITATION_TTL`]).
#[derive(Debug, Clone)]
pub struct Invitation {
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
}

/// Invites someone into the actor's organization: the account (audited like any
/// user created) and the e-mail with its link, in one transaction (a second
/// invitation for the same address is refused by the database's unique address).
/// `inviter` is the name the e-mail gives. `then` runs in the same transaction
/// with the new account (a school links its instructor or candidate file to it).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn invite<C: Writer>(
    db: &C,
    actor: &Actor,
    inviter: &users::AuthUser,
    invitation: Invitation,
    then: impl AsyncFnOnce(&DatabaseTransaction, &users::UserView) -> AppResult<()>,
) -> AppResult<(users::UserView, NewLink)> {
    let offered = grantable(inviter);
    if let Some(role) = invitation.roles.iter().find(|r| !offered.contains(r)) {
        let message = Msg::new("invitation.role_not_grantable").arg("role", role);
        return Err(AppError::ForbiddenBecause { code: "role_not_grantable", message });
    }
    // Nobody knows this password: the account opens only through the link.
    let unknown = secrets::random_token(32)?;
    let new = users::NewUser {
        email: invitation.email,
        display_name: invitation.display_name,
        password: unknown,
        roles: invitation.roles,
    };
    let checked = users::check_new_user(new).await?;
    db::write(db, async |txn| {
        let created = users::insert_audited(txn, actor, checked).await?;
        then(txn, &created).await?;
        let account = Users::find_by_id(created.id).one(txn).await?.ok_or(AppError::NotFound)?;
        let mut link = make(txn, &account, actor.user_id, (Purpose::Invitation, INVITATION_TTL)).await?;
        link.inviter = Some(inviter.display_name.clone());
        send(txn, &link, actor.org, (Purpose::Invitation, INVITATION_TTL)).await?;
        record(txn, actor, account.id, "invitation").await?;
        Ok((created, link))
    })
    .await
}

/// The roles `inviter` may give: any with user administration, else all but administrator.
pub fn grantable(inviter: &users::AuthUser) -> Vec<Role> {
    let all = inviter.may(crate::identity::roles::Permission::UsersManage);
    Role::ALL.into_iter().filter(|r| all || *r != Role::Admin).collect()
}

async fn actor_is_operator(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<bool> {
    let Some(id) = actor.user_id else { return Ok(false) };
    Ok(Users::find_by_id(id).one(db).await?.is_some_and(|u| u.is_operator))
}

/// A link for an operator to hand over (`volant reset-password`): not e-mailed.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn make_for_operator<C: Writer>(db: &C, email: &str) -> AppResult<NewLink> {
    let account = Users::find()
        .filter(user::Column::EmailNormalized.eq(normalize_email(email)))
        .one(db)
        .await?
        .ok_or_else(|| AppError::validation("email", Msg::new("password.no_account")))?;
    if !account.active {
        return Err(AppError::conflict("user_inactive", Msg::new("password.user_inactive")));
    }
    db::write(db, async |txn| {
        let link = make(txn, &account, None, (Purpose::Reset, SENT_TTL)).await?;
        record(txn, &Actor::system(OrgId::new(account.organization_id)), account.id, "operator").await?;
        Ok(link)
    })
    .await
}

/// What a usable link opens.
#[derive(Debug, Clone)]
pub struct Opened {
    pub account: user::Model,
    pub purpose: Purpose,
}

/// The account a link opens, while the link is usable.
pub async fn open(db: &impl ConnectionTrait, secret: &str) -> AppResult<Opened> {
    let link = password_link::Entity::find()
        .filter(password_link::Column::TokenHash.eq(secrets::token_hash(secret)))
        .filter(password_link::Column::UsedAt.is_null())
        .filter(password_link::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .ok_or_else(link_gone)?;
    let account = Users::find_by_id(link.user_id).one(db).await?;
    let account = account.filter(|account| account.active).ok_or_else(link_gone)?;
    Ok(Opened { account, purpose: link.purpose })
}

/// Chooses the password through the link: the policy first (field `new_password`),
/// then, in one transaction, the link is used (once: of two concurrent uses, one
/// wins), the password stored, every session and personal token ended.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn reset<C: Writer>(db: &C, actor: &Actor, secret: &str, new_password: &str) -> AppResult<()> {
    let account = open(db, secret).await?.account;
    let hash = users::new_password_hash(Validator::new(), &account, new_password).await?;
    let account_id = account.id;
    let hashed = secrets::token_hash(secret);
    db::write(db, async |txn| {
        let used = password_link::Entity::update_many()
            .col_expr(password_link::Column::UsedAt, Expr::value(Utc::now()))
            .filter(password_link::Column::TokenHash.eq(hashed.as_str()))
            .filter(password_link::Column::UsedAt.is_null())
            .filter(password_link::Column::ExpiresAt.gt(Utc::now()))
            .exec(txn)
            .await?;
        if used.rows_affected != 1 {
            return Err(link_gone());
        }
        let actor = Actor { org: OrgId::new(account.organization_id), user_id: Some(account.id), ..actor.clone() };
        let user_id = account.id;
        users::store_password(txn, &actor, account, hash, None, "reset").await?;
        let event =
            audit::Event { action: Action::PasswordReset, entity: Some(("user", user_id.to_string())), changes: None };
        audit::record(txn, Some(&actor), None, event).await
    })
    .await?;
    crate::platform::credentials::forget_user(account_id);
    Ok(())
}

/// Ends every unused link of a user (a password was just chosen another way).
pub async fn forget_links(db: &impl ConnectionTrait, user_id: i64) -> AppResult<()> {
    password_link::Entity::update_many()
        .col_expr(password_link::Column::UsedAt, Expr::value(Utc::now()))
        .filter(password_link::Column::UserId.eq(user_id))
        .filter(password_link::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

fn link_gone() -> AppError {
    AppError::Gone { code: "link_expired", message: Msg::new("password.link_gone") }
}

/// A new link for `account`; the ones it had stop working.
async fn make(
    txn: &DatabaseTransaction,
    account: &user::Model,
    created_by: Option<i64>,
    (purpose, ttl): (Purpose, Duration),
) -> AppResult<NewLink> {
    forget_links(txn, account.id).await?;
    let secret = secrets::random_token(32)?;
    let now = Utc::now();
    password_link::ActiveModel {
        organization_id: Set(account.organization_id),
        user_id: Set(account.id),
        purpose: Set(purpose),
        token_hash: Set(secrets::token_hash(&secret)),
        created_by: Set(created_by),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(NewLink {
        user_id: account.id,
        email: account.email.clone(),
        display_name: account.display_name.clone(),
        secret,
        expires_at: now + ttl,
        inviter: None,
    })
}

/// The e-mail with the link, in the organization's language, sent with the
/// transaction that made the link.
async fn send(
    txn: &DatabaseTransaction,
    link: &NewLink,
    org: OrgId,
    (purpose, ttl): (Purpose, Duration),
) -> AppResult<()> {
    let organization = organizations::get(txn, org).await?;
    let locale = organization.locale;
    let (subject, body) = match purpose {
        Purpose::Reset => ("password.email.subject", "password.email.body"),
        Purpose::Invitation => ("invitation.email.subject", "invitation.email.body"),
    };
    let title = Msg::new(subject).arg("organization", &organization.name).render(locale);
    let body = Msg::new(body)
        .arg("name", &link.display_name)
        .arg("email", &link.email)
        .arg("organization", &organization.name)
        .arg("inviter", link.inviter.as_deref().unwrap_or(&organization.name))
        .arg("hours", ttl.num_hours())
        .arg("days", ttl.num_days())
        .render(locale);
    let notice = Notice {
        email: Some(link.email.clone()),
        link: Some(path(&link.secret)),
        ..Notice::new(Event::AccountAccess, title, body)
    };
    crate::notify::send(txn, org, notice).await?;
    Ok(())
}

/// The audit record of a link made: for whom, and at whose request.
async fn record(txn: &DatabaseTransaction, actor: &Actor, user_id: i64, by: &str) -> AppResult<()> {
    let event = audit::Event {
        action: Action::PasswordLinkSent,
        entity: Some(("user", user_id.to_string())),
        changes: Some(serde_json::json!({ "by": by })),
    };
    audit::record(txn, Some(actor), None, event).await
}
