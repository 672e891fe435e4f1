//! Users: creation with the password policy, and password sign-in.

use std::collections::HashMap;
use std::sync::OnceLock;

use tokio::sync::{Semaphore, SemaphorePermit};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::entity::{self, Entity as Users};
use super::roles_entity;
use crate::identity::roles::Role;
use crate::platform::credentials;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;
use crate::platform::validate::{Validator, check_email};

pub const PASSWORD_MIN_CHARS: usize = 12;

/// A signed-in person: who, in which organization, with which roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuthUser {
    pub id: i64,
    #[serde(skip)]
    pub org: OrgId,
    pub organization_id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// A platform operator (outside organizations): the instance's status and the
    /// platform-wide jobs. Not part of the API's answers.
    #[serde(skip)]
    pub is_operator: bool,
    /// Signed in with a personal API token: the token's scopes, which narrow what
    /// the roles allow. `None` for a sign-in session.
    #[serde(skip)]
    pub grant: Option<crate::identity::scopes::Grant>,
}

impl AuthUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether this user may do what `permission` allows: by a role, or for
    /// [`Permission::Platform`], by being an operator; and, signed in with a
    /// personal token, if the token's scopes reach it.
    pub fn may(&self, permission: crate::identity::roles::Permission) -> bool {
        self.roles_allow(permission) && self.grant.as_ref().is_none_or(|grant| grant.allows(permission))
    }

    /// `Ok` if the user [`may`](Self::may); else a 403: `insufficient_scope` naming
    /// the scope missing when only the token's scopes refuse, `forbidden` otherwise.
    pub fn require(&self, permission: crate::identity::roles::Permission) -> AppResult<()> {
        if !self.roles_allow(permission) {
            return Err(AppError::Forbidden);
        }
        match &self.grant {
            Some(grant) if !grant.allows(permission) => {
                let (area, level) = permission.area();
                Err(AppError::InsufficientScope {
                    scope: crate::identity::scopes::TokenScope::new(area, level).to_string(),
                })
            }
            _ => Ok(()),
        }
    }

    /// `Ok` unless signed in with a personal token that does not reach `area` at
    /// `level` (403 `insufficient_scope`): for operations open to any signed-in
    /// user that still belong to an area (one's own tokens are `account`'s).
    pub fn require_scope(
        &self,
        area: crate::identity::scopes::ApiArea,
        level: crate::identity::scopes::Level,
    ) -> AppResult<()> {
        match &self.grant {
            Some(grant) if !grant.reaches(area, level) => Err(AppError::InsufficientScope {
                scope: crate::identity::scopes::TokenScope::new(area, level).to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Whether the user's roles (or being an operator) allow `permission`, whatever
    /// the token used.
    pub fn roles_allow(&self, permission: crate::identity::roles::Permission) -> bool {
        crate::identity::roles::any_allows(&self.roles, permission)
            || (permission == crate::identity::roles::Permission::Platform && self.is_operator)
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub roles: Vec<Role>,
}

/// `Jean.Dupont@Garage.fr ` → `jean.dupont@garage.fr`.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// At least 12 characters and not guessable (zxcvbn score 3 of 4 or more, knowing
/// the user's own name and address).
pub fn check_password(password: &str, user_inputs: &[&str]) -> Result<(), Msg> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(Msg::new("user.password_too_short").arg("min", PASSWORD_MIN_CHARS));
    }
    if password.len() > 1024 {
        return Err(Msg::new("field.too_long").arg("max", 1024));
    }
    if (zxcvbn::zxcvbn(password, user_inputs).score() as u8) < 3 {
        return Err(Msg::new("user.password_guessable"));
    }
    Ok(())
}

/// Argon2id is slow and memory-hard on purpose (19 MiB a hash). At most one hash
/// per core runs at a time: a burst of sign-ins queues here instead of taking
/// every core from the API and hundreds of megabytes of memory (measured: 3 GB
/// at 32 concurrent sign-ins without this bound).
async fn argon2_slot() -> AppResult<SemaphorePermit<'static>> {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)));
    slots.acquire().await.map_err(|e| AppError::Internal(format!("argon2 slots: {e}")))
}

/// Argon2id runs on the blocking pool, never on the async runtime.
async fn hash_password(password: String) -> AppResult<String> {
    let _slot = argon2_slot().await?;
    tokio::task::spawn_blocking(move || Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()))
        .await
        .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))
}

/// Verifies against `hash`, or against a dummy hash when there is none (unknown
/// account), so both take the same time. Runs on the blocking pool.
async fn verify_password(password: String, hash: Option<String>) -> bool {
    let Ok(_slot) = argon2_slot().await else { return false };
    tokio::task::spawn_blocking(move || {
        let matches = |hash: &str| {
            PasswordHash::new(hash)
                .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        };
        match hash {
            // An account without a password (made by single sign-on) takes the
            // time of a real check: no way to tell it from a wrong password.
            Some(hash) if PasswordHash::new(&hash).is_ok() => matches(&hash),
            _ => {
                matches(dummy_hash());
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// The password policy, off the async runtime (zxcvbn takes tens of milliseconds).
async fn check_password_off_runtime(password: String, user_inputs: Vec<String>) -> Result<(), Msg> {
    tokio::task::spawn_blocking(move || {
        let inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
        check_password(&password, &inputs)
    })
    .await
    .unwrap_or_else(|_| Err(Msg::new("user.password_guessable")))
}

/// A hash to verify against when the e-mail is unknown, so that an unknown address
/// and a wrong password take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default().hash_password(b"volant-dummy-password").map(|h| h.to_string()).unwrap_or_default()
    })
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, org: OrgId, new: NewUser) -> AppResult<AuthUser> {
    let checked = check_new_user(new).await?;
    insert(db, org, checked).await
}

/// A new user that passed validation, with the password already hashed.
pub struct CheckedNewUser {
    email: String,
    display_name: String,
    password_hash: String,
    roles: Vec<Role>,
}

impl CheckedNewUser {
    /// A user without a password, made by a single sign-on (the provider vouched
    /// for the e-mail): they sign in through the provider, or choose a password
    /// through the forgotten-password link.
    pub fn without_password(email: String, display_name: String, roles: Vec<Role>) -> Self {
        Self { email, display_name, password_hash: String::new(), roles }
    }
}

/// Validation, the password policy and Argon2 hashing: the slow part of creating a
/// user, done before any transaction begins (a SQLite writer's turn is not held
/// through a 100 ms hash).
pub async fn check_new_user(new: NewUser) -> AppResult<CheckedNewUser> {
    let mut v = Validator::new();
    let email = v.check("email", check_email(&new.email));
    let display_name = v.required_text("display_name", Some(&new.display_name), 120);
    let policy = check_password_off_runtime(new.password.clone(), vec![new.email.clone(), new.display_name.clone()]);
    v.check("password", policy.await);
    if new.roles.is_empty() {
        v.add("roles", Msg::new("user.roles_required"));
    }
    v.finish()?;
    let (Some(email), Some(display_name)) = (email, display_name) else {
        return Err(AppError::Internal("validator accepted a missing field".into()));
    };
    let password_hash = hash_password(new.password).await?;
    Ok(CheckedNewUser { email, display_name, password_hash, roles: new.roles })
}

/// Stores a checked user and their roles; a taken e-mail is a 409.
async fn insert<C: Writer>(db: &C, org: OrgId, checked: CheckedNewUser) -> AppResult<AuthUser> {
    let CheckedNewUser { email, display_name, password_hash, roles } = checked;
    let now = Utc::now();
    let (user, roles) = db::write(db, async |txn| -> AppResult<_> {
        let user = entity::ActiveModel {
            organization_id: Set(org.get()),
            email_normalized: Set(normalize_email(&email)),
            email: Set(email),
            display_name: Set(display_name),
            password_hash: Set(password_hash),
            active: Set(true),
            is_operator: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(|err| {
            AppError::conflict_on("email", "duplicate_email", Msg::new("user.email_taken"))
                .if_refused(err, Constraint::is_unique)
        })?;
        let mut roles = roles;
        roles.sort();
        roles.dedup();
        for role in &roles {
            roles_entity::ActiveModel { user_id: Set(user.id), role: Set(role.as_str().to_owned()) }
                .insert(txn)
                .await?;
        }
        Ok((user, roles))
    })
    .await?;
    tracing::info!(user_id = user.id, organization_id = org.get(), "user created");
    Ok(AuthUser {
        id: user.id,
        org,
        organization_id: org.get(),
        email: user.email,
        display_name: user.display_name,
        roles,
        is_operator: false,
        grant: None,
    })
}

/// The user behind an e-mail and password, if both are right and the account is
/// active. Unknown e-mail and wrong password are indistinguishable, in answer and time.
pub async fn authenticate(db: &impl ConnectionTrait, email: &str, password: &str) -> AppResult<Option<AuthUser>> {
    let found = Users::find().filter(entity::Column::EmailNormalized.eq(normalize_email(email))).one(db).await?;
    let matches = verify_password(password.to_owned(), found.as_ref().map(|u| u.password_hash.clone())).await;
    let Some(user) = found.filter(|u| matches && u.active) else {
        return Ok(None);
    };
    let mut active: entity::ActiveModel = user.clone().into();
    active.last_login_at = Set(Some(Utc::now()));
    active.update(db).await?;
    load(db, user).await.map(Some)
}

/// An active user by id (a token names one; a deactivated user's tokens stop working).
pub async fn find_active(db: &impl ConnectionTrait, id: i64) -> AppResult<Option<AuthUser>> {
    let found = find_active_where(db, |query| {
        query.and_where(Expr::col((Users, entity::Column::Id)).eq(id));
    })
    .await?;
    Ok(found.map(|(user, _)| user))
}

/// The active user a credential names, with their roles, in one round trip: this
/// runs on every authenticated request. `narrow` joins the credential's table and
/// adds its conditions (and may select more columns, read back from the returned row).
pub async fn find_active_where(
    db: &impl ConnectionTrait,
    narrow: impl FnOnce(&mut SelectStatement),
) -> AppResult<Option<(AuthUser, QueryResult)>> {
    use roles_entity::{Column as RoleColumn, Entity as Roles};
    let mut query = Query::select();
    query
        .column((Users, entity::Column::Id))
        .column((Users, entity::Column::OrganizationId))
        .column((Users, entity::Column::Email))
        .column((Users, entity::Column::DisplayName))
        .column((Users, entity::Column::IsOperator))
        .column((Roles, RoleColumn::Role))
        .from(Users)
        .left_join(Roles, Expr::col((Roles, RoleColumn::UserId)).equals((Users, entity::Column::Id)))
        .and_where(Expr::col((Users, entity::Column::Active)).eq(true));
    narrow(&mut query);
    let mut rows = db.query_all(&query).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut roles: Vec<Role> = Vec::new();
    for row in &rows {
        // A user without roles comes back once, without a role (the left join).
        if let Some(role) = row.try_get::<Option<String>>("", "role")? {
            roles.push(role.parse()?);
        }
    }
    roles.sort();
    roles.dedup();
    let first = rows.swap_remove(0);
    let organization_id: i64 = first.try_get("", "organization_id")?;
    let user = AuthUser {
        id: first.try_get("", "id")?,
        org: OrgId::new(organization_id),
        organization_id,
        email: first.try_get("", "email")?,
        display_name: first.try_get("", "display_name")?,
        roles,
        is_operator: first.try_get("", "is_operator")?,
        grant: None,
    };
    Ok(Some((user, first)))
}

/// The e-mail addresses of the organization's active users holding any of `roles`
/// (who other modules notify), in one query.
pub async fn emails_with_roles(db: &impl ConnectionTrait, org: OrgId, roles: &[Role]) -> AppResult<Vec<String>> {
    Ok(with_roles(db, org, roles).await?.into_iter().map(|(_, email)| email).collect())
}

/// Active users with one of `roles`: id and e-mail, by e-mail.
pub async fn with_roles(db: &impl ConnectionTrait, org: OrgId, roles: &[Role]) -> AppResult<Vec<(i64, String)>> {
    use roles_entity::{Column as RoleColumn, Entity as Roles};
    let mut query = Query::select();
    query
        .distinct()
        .column((Users, entity::Column::Id))
        .column((Users, entity::Column::Email))
        .from(Users)
        .inner_join(Roles, Expr::col((Roles, RoleColumn::UserId)).equals((Users, entity::Column::Id)))
        .and_where(Expr::col((Users, entity::Column::OrganizationId)).eq(org.get()))
        .and_where(Expr::col((Users, entity::Column::Active)).eq(true))
        .and_where(Expr::col((Roles, RoleColumn::Role)).is_in(roles.iter().map(|r| r.as_str())))
        .order_by((Users, entity::Column::Email), sea_orm::sea_query::Order::Asc);
    let rows = db.query_all(&query).await?;
    rows.into_iter().map(|row| Ok((row.try_get::<i64>("", "id")?, row.try_get::<String>("", "email")?))).collect()
}

/// The active platform operators (organization, id, e-mail), whatever their organization.
pub async fn operators(db: &impl ConnectionTrait) -> AppResult<Vec<(OrgId, i64, String)>> {
    let found = Users::find()
        .filter(entity::Column::IsOperator.eq(true))
        .filter(entity::Column::Active.eq(true))
        .order_by_asc(entity::Column::Id)
        .all(db)
        .await?;
    Ok(found.into_iter().map(|u| (OrgId::new(u.organization_id), u.id, u.email)).collect())
}

/// Creates the first administrator when the instance has no user yet; `Ok(None)`
/// when users already exist (the variables are then ignored).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn ensure_first_admin<C: Writer>(
    db: &C,
    org: OrgId,
    email: &str,
    password: &str,
) -> AppResult<Option<AuthUser>> {
    if count(db).await? > 0 {
        return Ok(None);
    }
    let display_name = email.split('@').next().unwrap_or("Administrateur").to_owned();
    let new =
        NewUser { email: email.to_owned(), display_name, password: password.to_owned(), roles: vec![Role::Admin] };
    let checked = check_new_user(new).await?;
    db::write(db, async |txn| {
        if !crate::platform::secrets::claim_once(txn, FIRST_ADMIN_CLAIM).await? {
            // Another instance, or the setup page, created it a moment ago.
            return Ok(None);
        }
        let mut admin = insert(txn, org, checked).await?;
        set_operator(txn, admin.id, true).await?;
        admin.is_operator = true;
        Ok(Some(admin))
    })
    .await
}

/// Makes a user a platform operator (or no longer one). The first administrator of
/// an instance becomes one (setup page, `VOLANT_ADMIN_EMAIL`, the first
/// `volant create-admin`), and `volant create-admin --operator` names others.
pub async fn set_operator(db: &impl ConnectionTrait, user_id: i64, operator: bool) -> AppResult<()> {
    let found = Users::update_many()
        .col_expr(entity::Column::IsOperator, Expr::value(operator))
        .col_expr(entity::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(entity::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    if found.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    credentials::forget_user(user_id);
    tracing::info!(user_id, operator, "platform operator flag set");
    Ok(())
}

/// Whether the instance has an operator (active or not).
pub async fn has_operator(db: &impl ConnectionTrait) -> AppResult<bool> {
    use sea_orm::PaginatorTrait;
    Ok(Users::find().filter(entity::Column::IsOperator.eq(true)).count(db).await? > 0)
}

/// Claimed in the database by whoever creates the first administrator, so two
/// concurrent first starts or setup pages cannot both create one.
pub const FIRST_ADMIN_CLAIM: &str = "first_admin_created";

/// The account an e-mail names, active or not: whose failed sign-in to record.
pub async fn account_of(db: &impl ConnectionTrait, email: &str) -> AppResult<Option<(OrgId, i64)>> {
    let found = Users::find().filter(entity::Column::EmailNormalized.eq(normalize_email(email))).one(db).await?;
    Ok(found.map(|u| (OrgId::new(u.organization_id), u.id)))
}

pub async fn count(db: &impl ConnectionTrait) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(Users::find().count(db).await?)
}

/// The display names of some of an organization's users, in one query.
pub async fn names_of(db: &impl ConnectionTrait, org: OrgId, ids: &[i64]) -> AppResult<HashMap<i64, String>> {
    Ok(Users::find()
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .filter(entity::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

/// The organization's users by name (for a filter's choices), at most 500.
pub async fn choices(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<(i64, String)>> {
    Ok(Users::find()
        .select_only()
        .column(entity::Column::Id)
        .column(entity::Column::DisplayName)
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .order_by_asc(entity::Column::DisplayName)
        .limit(500)
        .into_tuple()
        .all(db)
        .await?)
}

/// How many accounts an organization has (invited ones included).
pub async fn count_in(db: &impl ConnectionTrait, org: OrgId) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(Users::find().filter(entity::Column::OrganizationId.eq(org.get())).count(db).await?)
}

async fn load(db: &impl ConnectionTrait, user: entity::Model) -> AppResult<AuthUser> {
    let mut roles: Vec<Role> = roles_entity::Entity::find()
        .filter(roles_entity::Column::UserId.eq(user.id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.role.parse())
        .collect::<Result<_, _>>()?;
    roles.sort();
    Ok(AuthUser {
        id: user.id,
        org: OrgId::new(user.organization_id),
        organization_id: user.organization_id,
        email: user.email,
        display_name: user.display_name,
        roles,
        is_operator: user.is_operator,
        grant: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert_eq!(check_password("short", &[]).map_err(|m| m.key), Err("user.password_too_short"));
        assert_eq!(check_password("aaaaaaaaaaaaaaaa", &[]).map_err(|m| m.key), Err("user.password_guessable"));
        assert_eq!(check_password("password1234", &[]).map_err(|m| m.key), Err("user.password_guessable"));
        assert!(check_password("correct horse battery staple", &[]).is_ok());
        assert_eq!(
            check_password("jean.dupont@garage.fr", &["jean.dupont@garage.fr"]).map_err(|m| m.key),
            Err("user.password_guessable"),
            "the user's own address is guessable"
        );
    }

    #[test]
    fn email_rules() {
        assert_eq!(check_email(" Jean@Garage.fr ").ok().as_deref(), Some("Jean@Garage.fr"));
        assert_eq!(normalize_email(" Jean@Garage.FR "), "jean@garage.fr");
        for ok in ["jean.dupont+devis@garage.fr", "o'neil@example.org", "élodie@exemple.fr"] {
            assert_eq!(check_email(ok).ok().as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "jean",
            "@garage.fr",
            "jean@garage",
            "jean @garage.fr",
            "jean@.fr",
            "a@@b.fr",
            "a,b@example.org",
            "<a@example.org>",
            "Jean <a@example.org>",
            "x\"><svg/onload=alert(1)>@example.org",
            "a@b.fr\r\nBcc: x@y.fr",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}

/// A user as administrators see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub active: bool,
    pub last_login_at: Option<chrono::DateTime<Utc>>,
    pub created_at: chrono::DateTime<Utc>,
}

/// What an administrator may change about a user (absent or `null` fields are kept).
#[derive(Debug, Clone, Default, serde::Deserialize, ToSchema)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub active: Option<bool>,
}

/// The organization's users, a page at a time (one query for their roles).
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    page: crate::platform::pagination::PageRequest,
) -> AppResult<crate::platform::pagination::Page<UserView>> {
    let query = Users::find().filter(entity::Column::OrganizationId.eq(org.get()));
    let page = page.fetch(db, query, entity::Column::Id, sea_orm::Order::Asc, |u| u.id).await?;
    let ids: Vec<i64> = page.items.iter().map(|u| u.id).collect();
    let mut roles: std::collections::HashMap<i64, Vec<Role>> = std::collections::HashMap::new();
    for r in roles_entity::Entity::find().filter(roles_entity::Column::UserId.is_in(ids)).all(db).await? {
        roles.entry(r.user_id).or_default().push(r.role.parse()?);
    }
    Ok(page.map(|u| {
        let mut user_roles = roles.remove(&u.id).unwrap_or_default();
        user_roles.sort();
        view(u, user_roles)
    }))
}

fn view(u: entity::Model, roles: Vec<Role>) -> UserView {
    UserView {
        id: u.id,
        email: u.email,
        display_name: u.display_name,
        roles,
        active: u.active,
        last_login_at: u.last_login_at,
        created_at: u.created_at,
    }
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<UserView> {
    let user = Users::find_by_id(id)
        .filter(entity::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let roles = load(db, user.clone()).await?.roles;
    Ok(view(user, roles))
}

/// Creates a user in the actor's organization, audited.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_audited<C: Writer>(
    db: &C,
    actor: &crate::identity::audit::Actor,
    new: NewUser,
) -> AppResult<UserView> {
    let checked = check_new_user(new).await?;
    db::write(db, async |txn| insert_audited(txn, actor, checked).await).await
}

/// Inserts a checked user (see [`check_new_user`]: the hashing is done before the
/// transaction) in the actor's organization, audited.
pub async fn insert_audited(
    txn: &DatabaseTransaction,
    actor: &crate::identity::audit::Actor,
    checked: CheckedNewUser,
) -> AppResult<UserView> {
    let created = insert(txn, actor.org, checked).await?;
    let after = get(txn, actor.org, created.id).await?;
    crate::identity::audit::record_change(txn, actor, ("user", after.id), None, Some(&after)).await?;
    Ok(after)
}

/// Changes a user. An administrator cannot deactivate themselves nor drop their
/// own administrator role (no organization can lock itself out that way).
/// Deactivation ends every session of the user at once and revokes their personal
/// API tokens for good (reactivating the account does not bring them back).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update<C: Writer>(
    db: &C,
    actor: &crate::identity::audit::Actor,
    id: i64,
    patch: UserPatch,
) -> AppResult<UserView> {
    let before = get(db, actor.org, id).await?;
    let mut v = Validator::new();
    let display_name = match &patch.display_name {
        Some(name) => v.required_text("display_name", Some(name), 120),
        None => Some(before.display_name.clone()),
    };
    let mut roles = patch.roles.clone().unwrap_or_else(|| before.roles.clone());
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        v.add("roles", Msg::new("user.roles_required"));
    }
    let active = patch.active.unwrap_or(before.active);
    let is_self = actor.user_id == Some(id);
    if is_self && !active {
        v.add("active", Msg::new("user.cannot_deactivate_self"));
    }
    if is_self && before.roles.contains(&Role::Admin) && !roles.contains(&Role::Admin) {
        v.add("roles", Msg::new("user.cannot_drop_own_admin"));
    }
    v.finish()?;
    let updated = db::write(db, async |txn| {
        let model = Users::find_by_id(id).one(txn).await?.ok_or(AppError::NotFound)?;
        let mut active_model: entity::ActiveModel = model.into();
        active_model.display_name = Set(display_name.unwrap_or_default());
        active_model.active = Set(active);
        active_model.updated_at = Set(Utc::now());
        active_model.update(txn).await?;
        if roles != before.roles {
            roles_entity::Entity::delete_many().filter(roles_entity::Column::UserId.eq(id)).exec(txn).await?;
            for role in &roles {
                roles_entity::ActiveModel { user_id: Set(id), role: Set(role.as_str().to_owned()) }.insert(txn).await?;
            }
        }
        if before.active && !active {
            crate::identity::auth::revoke_all(txn, id).await?;
            crate::identity::auth::tokens::revoke_all_of(txn, actor, id, "account_deactivated").await?;
            // A link sent before must not come back to life with a reactivation.
            crate::identity::passwords::service::forget_links(txn, id).await?;
        }
        let after = get(txn, actor.org, id).await?;
        crate::identity::audit::record_change(txn, actor, ("user", id), Some(&before), Some(&after)).await?;
        AppResult::Ok(after)
    })
    .await?;
    credentials::forget_user(id);
    Ok(updated)
}

/// Changes one's own password after checking the current one. Every other
/// session of the user ends and every personal API token is revoked;
/// `keep_session` (the one in use) stays.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn change_password<C: Writer>(
    db: &C,
    actor: &crate::identity::audit::Actor,
    keep_session: &str,
    current_password: &str,
    new_password: &str,
) -> AppResult<()> {
    let user_id = actor.user_id.ok_or(AppError::Unauthorized)?;
    let user = Users::find_by_id(user_id).one(db).await?.ok_or(AppError::NotFound)?;
    let mut v = Validator::new();
    if !verify_password(current_password.to_owned(), Some(user.password_hash.clone())).await {
        v.add("current_password", Msg::new("user.current_password_wrong"));
    }
    let hash = new_password_hash(v, &user, new_password).await?;
    db::write(db, async |txn| store_password(txn, actor, user, hash, Some(keep_session), "changed").await).await?;
    credentials::forget_user(user_id);
    Ok(())
}

/// Checks `new_password` against the policy (knowing the person's name and address)
/// with the findings already in `v`, then hashes it; both off the async runtime.
pub async fn new_password_hash(mut v: Validator, user: &entity::Model, new_password: &str) -> AppResult<String> {
    let policy =
        check_password_off_runtime(new_password.to_owned(), vec![user.email.clone(), user.display_name.clone()]);
    v.check("new_password", policy.await);
    v.finish()?;
    hash_password(new_password.to_owned()).await
}

/// Stores a new password hash: every other session, every personal token and every
/// outstanding password link ends; audited as `how` ("changed", "reset").
pub async fn store_password(
    txn: &DatabaseTransaction,
    actor: &crate::identity::audit::Actor,
    user: entity::Model,
    hash: String,
    keep_session: Option<&str>,
    how: &str,
) -> AppResult<()> {
    let user_id = user.id;
    let mut active: entity::ActiveModel = user.into();
    active.password_hash = Set(hash);
    active.updated_at = Set(Utc::now());
    active.update(txn).await?;
    match keep_session {
        Some(keep) => crate::identity::auth::revoke_all_but(txn, user_id, keep).await?,
        None => crate::identity::auth::revoke_all(txn, user_id).await?,
    }
    crate::identity::auth::tokens::revoke_all_of(txn, actor, user_id, &format!("password_{how}")).await?;
    crate::identity::passwords::service::forget_links(txn, user_id).await?;
    let event = crate::identity::audit::Event {
        action: crate::identity::audit::Action::Update,
        entity: Some(("user", user_id.to_string())),
        changes: Some(serde_json::json!({ "password": how })),
    };
    crate::identity::audit::record(txn, Some(actor), None, event).await
}
