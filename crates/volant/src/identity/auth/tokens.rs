//! Personal API tokens: `vlt_` + 64 hex characters, shown once at creation;
//! the database keeps only their SHA-256, so a leaked database leaks no token.
//! Each token carries scopes (see [`crate::identity::scopes`]) and, optionally,
//! the address ranges it may be used from.

use crate::platform::db::table;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use std::net::IpAddr;

use ipnet::IpNet;

use crate::identity::audit::{self, Actor};
use crate::identity::scopes::{Grant, TokenScope};
use crate::identity::users::service::{self as users, AuthUser};
use crate::platform::credentials;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::secrets;
use crate::platform::validate::Validator;

pub const PREFIX: &str = "vlt_";
/// How tokens are named in the audit trail.
pub const AUDIT_ENTITY: &str = "api_token";
/// `last_used_at` is written at most this often, not on every request.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// A token as its owner sees it later: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    /// The first characters, to recognize it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// What the token reaches, area by area (with its owner's roles).
    pub scopes: Vec<TokenScope>,
    /// The address ranges it may be used from (CIDR); anywhere when empty.
    #[schema(example = json!(["203.0.113.0/24"]))]
    pub allowed_ips: Vec<String>,
}

/// A new token: the only time `token` is ever shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewToken {
    #[schema(required = true, nullable = false, example = "Export comptable")]
    pub name: Option<String>,
    /// Days until it expires (1 to 3650); never, when absent.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
    /// What it may reach (`write` includes `read`), at least one. When absent,
    /// every area written, as before scopes existed: name the scopes you need.
    #[schema(min_items = 1, example = json!(["fleet:read", "workshop:write"]))]
    pub scopes: Option<Vec<TokenScope>>,
    /// Address ranges (CIDR, or single addresses) it may be used from, at most
    /// 20; anywhere when absent or empty.
    #[schema(max_items = 20, example = json!(["203.0.113.0/24", "2001:db8::/32"]))]
    pub allowed_ips: Option<Vec<String>>,
}

/// At most this many address ranges per token.
const MAX_ALLOWED_IPS: usize = 20;

pub fn hash(token: &str) -> String {
    crate::platform::secrets::token_hash(token)
}

fn info(m: entity::Model) -> TokenInfo {
    TokenInfo {
        id: m.id,
        name: m.name,
        prefix: m.prefix,
        created_at: m.created_at,
        expires_at: m.expires_at,
        last_used_at: m.last_used_at,
        scopes: Grant::from_stored(&m.scopes).scopes(),
        allowed_ips: stored_networks(m.allowed_ips.as_deref()).iter().map(ToString::to_string).collect(),
    }
}

fn unmapped(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).ok())
            .map_or(net, IpNet::V4),
        other @ (IpNet::V4(_) | IpNet::V6(_)) => other,
    }
}

/// The address ranges as stored (comma-separated); an unreadable one is left out
/// (only this module writes them, normalized).
fn stored_networks(text: Option<&str>) -> Vec<IpNet> {
    text.unwrap_or_default().split(',').filter_map(|item| item.trim().parse::<IpNet>().ok()).collect()
}

/// Creates a token for the actor, audited in the same transaction. `session_id` is
/// the caller's (`CurrentUser::session_id`): a caller signed in with a personal
/// token is refused, so that a leaked token cannot mint others.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, session_id: &str, new: &NewToken) -> AppResult<CreatedToken> {
    let user_id = actor.user_id.ok_or(AppError::Unauthorized)?;
    require_session(session_id)?;
    let mut v = Validator::new();
    let name = v.required_text("name", new.name.as_deref(), 80);
    if let Some(days) = new.expires_in_days
        && !(1..=3650).contains(&days)
    {
        v.add("expires_in_days", Msg::new("token.expiry_range"));
    }
    let grant = new.scopes.as_ref().map_or_else(Grant::full, |scopes| Grant::from_scopes(scopes.iter().copied()));
    if grant.is_empty() {
        v.add("scopes", Msg::new("token.scopes_required"));
    }
    let ranges = new.allowed_ips.clone().unwrap_or_default();
    let networks = if ranges.len() > MAX_ALLOWED_IPS {
        v.add("allowed_ips", Msg::new("token.too_many_ranges").arg("max", MAX_ALLOWED_IPS));
        Vec::new()
    } else {
        crate::platform::proxy::parse_networks(&ranges).unwrap_or_else(|bad| {
            v.add("allowed_ips", Msg::new("token.range_invalid").arg("value", bad));
            Vec::new()
        })
    };
    v.finish()?;
    // An IPv4 range written as IPv6 (`::ffff:203.0.113.0/120`) is kept as IPv4:
    // clients' addresses are compared in that form.
    let mut networks: Vec<IpNet> = networks.into_iter().map(unmapped).collect();
    networks.sort_unstable();
    networks.dedup();
    let allowed_ips =
        (!networks.is_empty()).then(|| networks.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
    let token = format!("{PREFIX}{}", secrets::random_token(32)?);
    let now = Utc::now();
    let created = db::write(db, async |txn| -> AppResult<_> {
        let model = entity::ActiveModel {
            user_id: Set(user_id),
            name: Set(name.unwrap_or_default()),
            token_hash: Set(hash(&token)),
            prefix: Set(token.chars().take(12).collect()),
            created_at: Set(now),
            expires_at: Set(new.expires_in_days.map(|d| now + Duration::days(d))),
            scopes: Set(grant.to_stored()),
            allowed_ips: Set(allowed_ips),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let created = info(model);
        audit::record_change(txn, actor, (AUDIT_ENTITY, created.id), None, Some(&created)).await?;
        Ok(created)
    })
    .await?;
    tracing::info!(user_id, token_id = created.id, "API token created");
    Ok(CreatedToken { info: created, token })
}

/// The user's live tokens, newest first.
pub async fn list(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<TokenInfo>> {
    Ok(entity::Entity::find()
        .filter(entity::Column::UserId.eq(user_id))
        .filter(entity::Column::RevokedAt.is_null())
        .order_by_desc(entity::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(info)
        .collect())
}

/// Revokes one of the user's tokens; another user's token is a 404.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn revoke<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let user_id = actor.user_id.ok_or(AppError::Unauthorized)?;
    let token = entity::Entity::find_by_id(id)
        .filter(entity::Column::UserId.eq(user_id))
        .filter(entity::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = info(token.clone());
    db::write(db, async |txn| {
        let mut active: entity::ActiveModel = token.into();
        active.revoked_at = Set(Some(Utc::now()));
        active.update(txn).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), None).await?;
        AppResult::Ok(())
    })
    .await?;
    credentials::forget_user(user_id);
    Ok(())
}

/// Revokes every live personal token of a user, in the caller's transaction: after a
/// password change or a deactivation (a reactivated account does not get them
/// back). Each token revoked gets an audit record saying `why`. Returns how many.
pub async fn revoke_all_of(db: &impl ConnectionTrait, actor: &Actor, user_id: i64, why: &str) -> AppResult<usize> {
    let live = entity::Entity::find()
        .filter(entity::Column::UserId.eq(user_id))
        .filter(entity::Column::RevokedAt.is_null())
        .all(db)
        .await?;
    let now = Utc::now();
    for token in &live {
        let mut active: entity::ActiveModel = token.clone().into();
        active.revoked_at = Set(Some(now));
        active.update(db).await?;
        let before = info(token.clone());
        let mut changes = audit::diff(Some(&before), None);
        if let Some(map) = changes.as_object_mut() {
            map.insert("reason".to_owned(), serde_json::Value::from(why));
        }
        let event = audit::Event {
            action: audit::Action::Delete,
            entity: Some((AUDIT_ENTITY, token.id.to_string())),
            changes: Some(changes),
        };
        audit::record(db, Some(actor), None, event).await?;
    }
    if !live.is_empty() {
        tracing::info!(user_id, revoked = live.len(), reason = why, "personal API tokens revoked");
    }
    // Inside the caller's transaction this is early: the caller forgets again after its commit.
    credentials::forget_user(user_id);
    Ok(live.len())
}

/// Whether a caller signed in with a personal token (rather than a session):
/// such a caller may not create further tokens.
pub fn is_personal_token_session(session_id: &str) -> bool {
    session_id.starts_with(super::PERSONAL_TOKEN_SESSION)
}

/// Refuses a caller who signed in with a personal token: a token is created from
/// a session (a web sign-in or a password sign-in), never from another token.
pub fn require_session(session_id: &str) -> AppResult<()> {
    if is_personal_token_session(session_id) {
        return Err(AppError::ForbiddenBecause {
            code: "session_required",
            message: Msg::new("token.session_required"),
        });
    }
    Ok(())
}

/// What a live personal token presented with a request turned out to be.
pub enum TokenCheck {
    /// Its user and its id.
    Valid(AuthUser, i64),
    /// A live token used from outside its address ranges: its user and its id
    /// (the refusal is worth the audit trail of its organization).
    OutsideRanges(AuthUser, i64),
}

/// The refusal of a token used from outside its address ranges.
pub fn outside_ranges() -> AppError {
    AppError::ForbiddenBecause { code: "token_ip_not_allowed", message: Msg::new("token.ip_not_allowed") }
}

/// A live personal token as the database holds it: what [`admit`] needs to let a
/// request in. Kept in memory by the credential cache, which is why the last use
/// is an atomic (seconds since the epoch, 0 for never).
#[derive(Debug)]
pub struct LiveToken {
    /// The owner, with the token's scopes as `grant`.
    pub user: AuthUser,
    pub id: i64,
    pub expires_at: Option<DateTime<Utc>>,
    networks: Vec<IpNet>,
    last_used: std::sync::atomic::AtomicI64,
}

/// The live token whose SHA-256 is `token_hash`, with its owner, in one round trip.
pub async fn find_live(db: &impl ConnectionTrait, token_hash: &str) -> AppResult<Option<LiveToken>> {
    use entity::{Column, Entity as Tokens};
    use sea_orm::sea_query::{Expr, ExprTrait};
    let now = Utc::now();
    let users_id = (crate::identity::users::entity::Entity, crate::identity::users::entity::Column::Id);
    let found = users::find_active_where(db, |query| {
        query
            .expr_as(Expr::col((Tokens, Column::Id)), "token_id")
            .expr_as(Expr::col((Tokens, Column::LastUsedAt)), "token_last_used_at")
            .expr_as(Expr::col((Tokens, Column::ExpiresAt)), "token_expires_at")
            .expr_as(Expr::col((Tokens, Column::Scopes)), "token_scopes")
            .expr_as(Expr::col((Tokens, Column::AllowedIps)), "token_allowed_ips")
            .inner_join(Tokens, Expr::col((Tokens, Column::UserId)).equals(users_id))
            .and_where(Expr::col((Tokens, Column::TokenHash)).eq(token_hash))
            .and_where(Expr::col((Tokens, Column::RevokedAt)).is_null())
            .and_where(
                Expr::col((Tokens, Column::ExpiresAt)).is_null().or(Expr::col((Tokens, Column::ExpiresAt)).gt(now)),
            );
    })
    .await?;
    let Some((mut user, row)) = found else { return Ok(None) };
    user.grant = Some(Grant::from_stored(&row.try_get::<String>("", "token_scopes")?));
    let last_used: Option<DateTime<Utc>> = row.try_get("", "token_last_used_at")?;
    Ok(Some(LiveToken {
        user,
        id: row.try_get("", "token_id")?,
        expires_at: row.try_get("", "token_expires_at")?,
        networks: stored_networks(row.try_get::<Option<String>>("", "token_allowed_ips")?.as_deref()),
        last_used: std::sync::atomic::AtomicI64::new(last_used.map_or(0, |t| t.timestamp())),
    }))
}

impl LiveToken {
    /// Whether the token has expired since it was read.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// Lets a request in with a live token: from inside its address ranges (`client`
/// unknown is outside), noting the use at most once a minute.
pub async fn admit(db: &impl ConnectionTrait, live: &LiveToken, client: Option<IpAddr>) -> AppResult<TokenCheck> {
    use std::sync::atomic::Ordering;
    let mut user = live.user.clone();
    if !live.networks.is_empty() {
        let inside =
            client.map(|ip| ip.to_canonical()).is_some_and(|ip| live.networks.iter().any(|net| net.contains(&ip)));
        if !inside {
            tracing::info!(user_id = user.id, token_id = live.id, client = ?client, "personal token used outside its ranges");
            user.grant = None;
            return Ok(TokenCheck::OutsideRanges(user, live.id));
        }
    }
    let now = Utc::now();
    let last_used = live.last_used.load(Ordering::Relaxed);
    if now.timestamp() - last_used > LAST_USED_RESOLUTION.num_seconds()
        && live.last_used.compare_exchange(last_used, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        use entity::{Column, Entity as Tokens};
        use sea_orm::sea_query::Expr;
        Tokens::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(now))
            .filter(Column::Id.eq(live.id))
            .exec(db)
            .await?;
    }
    Ok(TokenCheck::Valid(user, live.id))
}

table! {
    pub mod entity = "api_tokens" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        pub name: String,
        pub token_hash: String,
        pub prefix: String,
        pub created_at: DateTimeUtc,
        pub expires_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
        pub last_used_at: Option<DateTimeUtc>,
        /// The scopes, separated by spaces (`fleet:read school:write`).
        pub scopes: String,
        /// Address ranges (CIDR), comma-separated; anywhere when null.
        pub allowed_ips: Option<String>,
    }
}
