//! Single sign-on with OpenID Connect: an organization names its provider
//! (Microsoft Entra, Google Workspace, Keycloak…: its issuer, Volant's client id
//! and secret there, encrypted at rest) and the e-mail domains it covers; people of
//! those domains then sign in through it.
//!
//! The flow is the authorization code flow with PKCE (S256). A sign-in on its way
//! through the provider is a row (state, nonce, PKCE verifier, ten minutes, used
//! once) and a cookie holding the state, so that the answer must come back to the
//! browser that asked. The ID token is verified by `openidconnect` (signature
//! against the provider's published keys, issuer, audience, expiry, nonce); the
//! `iss` of the answer (RFC 9207), when the provider sends it, must be the issuer.
//!
//! Who may come in: the provider's account is linked to a user by its subject once
//! known, else by e-mail (which the provider must not say is unverified, and whose
//! domain must be one of the organization's). A user of another organization never
//! signs in through this one's provider. Roles come from Volant (`invited`: only
//! people already invited) or from a claim of the provider (`claim`: a `groups` or
//! `roles` claim's values mapped to administrator, manager or staff; new people get
//! their account at their first sign-in; roles are brought up to date at every
//! sign-in, instructor and candidate roles, tied to the school's records, kept).

pub mod api;
pub mod web;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SubjectIdentifier,
    TokenResponse, UserInfoClaims,
};
use openidconnect::{ClaimsVerificationError, DiscoveryError};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::identity::audit::{self, Actor};
use crate::identity::roles::Role;
use crate::identity::users::entity as user_entity;
use crate::identity::users::service::{self as users, AuthUser, CheckedNewUser, UserPatch};
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer, table};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::outbound;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

/// The encrypted field's name (bound into its ciphertext).
const SECRET_FIELD: &str = "sso_providers/client_secret";
const AUDIT_ENTITY: &str = "single_sign_on";
/// How long a sign-in may spend at the provider.
pub(crate) const ATTEMPT_TTL: chrono::Duration = chrono::Duration::minutes(10);
/// How long the provider has to answer a request of ours.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a provider's discovery document and keys are kept (a new signing key
/// is fetched at once: see `verified_person`).
const DISCOVERY_TTL: Duration = Duration::from_secs(300);
/// The largest answer read from a provider (its discovery document, its keys).
const MAX_ANSWER_BYTES: usize = 512 * 1024;
/// E-mail domains per organization.
const MAX_DOMAINS: usize = 20;
/// Claim values mapped to roles.
const MAX_MAPPINGS: usize = 50;
/// Sign-ins of one organization waiting at the provider at once.
const MAX_PENDING: u64 = 1000;
/// The roles a provider's claim may give: those tied to nothing else. Instructors
/// and candidates are people of the school's records, invited from there.
pub const MAPPABLE_ROLES: [Role; 3] = [Role::Admin, Role::Manager, Role::Staff];
/// Domains of public mailboxes: anyone may have an address there, so no
/// organization may claim them (its provider would receive everyone's sign-ins).
const PUBLIC_MAIL_DOMAINS: &[&str] = &[
    "aol.com",
    "free.fr",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.fr",
    "googlemail.com",
    "hotmail.com",
    "hotmail.fr",
    "icloud.com",
    "laposte.net",
    "live.com",
    "live.fr",
    "mac.com",
    "me.com",
    "msn.com",
    "neuf.fr",
    "orange.fr",
    "outlook.com",
    "outlook.fr",
    "proton.me",
    "protonmail.com",
    "sfr.fr",
    "wanadoo.fr",
    "yahoo.com",
    "yahoo.fr",
    "yandex.com",
    "zoho.com",
];
/// The path of the provider's answer on this site.
pub const CALLBACK_PATH: &str = "/login/sso/callback";

string_enum! {
    /// Where a person's roles come from.
    #[derive(ToSchema)]
    pub enum RoleSource (labels "sso.role_source.") {
        /// From Volant: only people already invited sign in, with the roles given here.
        Invited,
        /// From a claim of the provider's ID token (or user info), mapped below.
        Claim,
    }
}

/// A value of the role claim and the role it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleMapping {
    /// A value of the claim (a group's name or id, a role's name), compared exactly.
    #[schema(example = "chefs-atelier")]
    pub value: String,
    /// `admin`, `manager` or `staff`.
    pub role: Role,
}

/// An organization's single sign-on, as administrators see it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SsoSettings {
    #[schema(example = "https://login.microsoftonline.com/0f2c…/v2.0")]
    pub issuer: String,
    pub client_id: String,
    /// Whether a client secret is stored (it is never shown again).
    pub has_client_secret: bool,
    /// The e-mail domains whose people sign in through the provider.
    #[schema(example = json!(["garage-martin.fr"]))]
    pub domains: Vec<String>,
    pub role_source: RoleSource,
    /// The claim holding roles or groups (`role_source` `claim`).
    #[schema(example = "groups")]
    pub role_claim: Option<String>,
    pub role_map: Vec<RoleMapping>,
    /// Sign-in through the provider is open.
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
    /// The last part of the callback address (see [`redirect_uri`]).
    #[serde(skip)]
    pub callback_key: String,
}

/// An organization's single sign-on, as set (a `PUT`: absent fields take their
/// defaults, except the secret, kept when absent).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SsoInput {
    /// The provider's issuer (its discovery document is read from
    /// `<issuer>/.well-known/openid-configuration` when saving).
    #[schema(required = true, nullable = false, example = "https://login.microsoftonline.com/0f2c…/v2.0")]
    pub issuer: Option<String>,
    #[schema(required = true, nullable = false)]
    pub client_id: Option<String>,
    /// Required the first time; absent or empty afterwards, the stored one is kept.
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
    #[schema(required = true, nullable = false, min_items = 1, example = json!(["garage-martin.fr"]))]
    pub domains: Option<Vec<String>>,
    /// Default `invited`.
    #[schema(nullable = false)]
    pub role_source: Option<RoleSource>,
    /// Required with `role_source` `claim`.
    #[schema(nullable = false, example = "groups")]
    pub role_claim: Option<String>,
    /// At least one with `role_source` `claim`.
    #[schema(nullable = false)]
    pub role_map: Option<Vec<RoleMapping>>,
    /// Default `true`.
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
}

/// Why a sign-in through the provider was refused: what the person is told, and
/// what the audit trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No sign-in of this browser is waiting (expired, used, or begun elsewhere).
    StateInvalid,
    /// The provider answered with an error (the person cancelled, say).
    ProviderRefused,
    /// The provider cannot be reached or answered nonsense.
    ProviderUnreachable,
    /// The code exchange or the ID token failed verification.
    TokenInvalid,
    /// The provider gave no e-mail, or says it is not verified.
    EmailUnverified,
    /// The e-mail is outside the organization's domains.
    DomainRefused,
    /// Nobody was invited with this e-mail (roles from Volant).
    NotInvited,
    /// The provider's claim gives no role in Volant.
    NoRole,
    /// The account is deactivated, or belongs to another organization.
    AccountRefused,
}

impl Refusal {
    pub const fn code(self) -> &'static str {
        match self {
            Self::StateInvalid => "state_invalid",
            Self::ProviderRefused => "provider_refused",
            Self::ProviderUnreachable => "provider_unreachable",
            Self::TokenInvalid => "token_invalid",
            Self::EmailUnverified => "email_unverified",
            Self::DomainRefused => "domain_refused",
            Self::NotInvited => "not_invited",
            Self::NoRole => "no_role",
            Self::AccountRefused => "account_refused",
        }
    }

    /// The message's key in the locale files.
    pub fn message_key(self) -> String {
        format!("sso.refused.{}", self.code())
    }
}

/// A refused sign-in: why, in which organization (when known), and the technical
/// detail for the log (never shown: it may describe the provider's setup).
#[derive(Debug)]
pub struct Refused {
    pub why: Refusal,
    pub org: Option<OrgId>,
    pub user_id: Option<i64>,
    pub detail: String,
}

impl Refused {
    fn new(why: Refusal, org: Option<OrgId>, detail: impl Into<String>) -> Self {
        Self { why, org, user_id: None, detail: detail.into() }
    }
}

/// A sign-in sent to the provider: where the browser goes, and the state its
/// cookie keeps.
#[derive(Debug)]
pub struct Started {
    pub authorize_url: url::Url,
    pub state: String,
}

/// How requests reach a provider: the guarded client (see [`outbound::client`])
/// and whether private addresses and plain `http://` are allowed.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    allow_private: bool,
}

impl Http {
    /// The instance's client for providers (made once per setting, then shared).
    pub fn new(allow_private: bool) -> Result<Self, String> {
        static CLIENTS: [OnceLock<reqwest::Client>; 2] = [OnceLock::new(), OnceLock::new()];
        let cell = &CLIENTS[usize::from(allow_private)];
        let client = match cell.get() {
            Some(client) => client.clone(),
            None => {
                let made = outbound::client(concat!("Volant/", env!("CARGO_PKG_VERSION")), TIMEOUT, allow_private)?;
                cell.get_or_init(|| made).clone()
            }
        };
        Ok(Self { client, allow_private })
    }

    /// Whether a URL of the provider's (its discovery document names the others)
    /// may be requested: `https://` to a name or a public address, unless private
    /// hosts are allowed. The resolver checks names; an address written as such is
    /// checked here.
    fn allows(&self, url: &str) -> bool {
        self.allow_private || (url.starts_with("https://") && !outbound::names_internal_address(url))
    }
}

/// Sends one of `openidconnect`'s requests with our client, reading at most
/// [`MAX_ANSWER_BYTES`] of the answer.
async fn send(http: Http, request: HttpRequest) -> Result<HttpResponse, std::io::Error> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string();
    if !http.allows(&url) {
        return Err(std::io::Error::other("an address that is not https:// or is internal: refused"));
    }
    let failed = |e: reqwest::Error| std::io::Error::other(outbound::describe(e));
    let mut response =
        http.client.request(parts.method, url).headers(parts.headers).body(body).send().await.map_err(failed)?;
    let (status, headers) = (response.status(), response.headers().clone());
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(std::io::Error::other("the provider's answer is too large"));
        }
    }
    let mut answer = HttpResponse::new(bytes);
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// Discovery documents (with their keys) read in the last minutes, by issuer
/// and by whether private hosts were allowed: a sign-in does not fetch them twice,
/// nor does a flood of sign-ins.
type Discovered = HashMap<(bool, String), (Instant, CoreProviderMetadata)>;

fn discovered() -> &'static Mutex<Discovered> {
    static CACHE: OnceLock<Mutex<Discovered>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// At most this many providers' documents are kept.
const DISCOVERED_MAX: usize = 200;

/// Why a provider could not be read, as a message's key: said to administrators
/// in a few words (never the answer's text, which could be anything the address
/// returned).
fn discovery_failure<E: std::error::Error + 'static>(err: &DiscoveryError<E>) -> &'static str {
    match err {
        DiscoveryError::Request(_) => "sso.discovery_failed.unreachable",
        DiscoveryError::Response(..) => "sso.discovery_failed.error_answer",
        DiscoveryError::Parse(_) => "sso.discovery_failed.not_a_document",
        DiscoveryError::Validation(_) => "sso.discovery_failed.not_valid",
        _ => "sso.discovery_failed.not_usable",
    }
}

/// The provider's discovery document (with its signing keys): from the cache
/// unless `fresh`; a fresh one replaces it.
async fn discover(http: &Http, issuer: &str, fresh: bool) -> Result<CoreProviderMetadata, &'static str> {
    let key = (http.allow_private, issuer.to_owned());
    if !fresh {
        let cache = discovered().lock().map_err(|_| "sso.discovery_failed.not_usable")?;
        if let Some((_, metadata)) = cache.get(&key).filter(|(at, _)| at.elapsed() < DISCOVERY_TTL) {
            return Ok(metadata.clone());
        }
    }
    let url = IssuerUrl::new(issuer.to_owned()).map_err(|_| "sso.discovery_failed.not_usable")?;
    let call = |request| send(http.clone(), request);
    let metadata = CoreProviderMetadata::discover_async(url, &call).await.map_err(|e| {
        tracing::info!(error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "discovery failed");
        discovery_failure(&e)
    })?;
    if let Ok(mut cache) = discovered().lock() {
        cache.retain(|_, (at, _)| at.elapsed() < DISCOVERY_TTL);
        if cache.len() < DISCOVERED_MAX {
            cache.insert(key, (Instant::now(), metadata.clone()));
        }
    }
    Ok(metadata)
}

/// Every claim of a user-info answer, kept as JSON (the role claim is any name).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AllClaims(Map<String, Value>);

impl AdditionalClaims for AllClaims {}

table! {
    pub mod provider = "sso_providers" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        /// The last part of the provider's callback address.
        pub callback_key: String,
        pub issuer: String,
        pub client_id: String,
        /// Encrypted.
        pub client_secret: String,
        pub role_source: super::RoleSource,
        pub role_claim: Option<String>,
        /// JSON: `[{"value": …, "role": …}]`.
        #[sea_orm(column_type = "Text")]
        pub role_map: String,
        pub enabled: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod domain = "sso_domains" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub domain: String,
        pub organization_id: i64,
    }
}

table! {
    pub mod identity = "sso_identities" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub user_id: i64,
        pub issuer: String,
        pub subject: String,
        pub created_at: DateTimeUtc,
        pub last_login_at: DateTimeUtc,
    }
}

table! {
    pub mod attempt = "sso_attempts" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub state: String,
        pub organization_id: i64,
        pub nonce: String,
        pub pkce_verifier: String,
        pub redirect_uri: String,
        pub next_path: String,
        pub expires_at: DateTimeUtc,
    }
}

async fn provider_of(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Option<provider::Model>> {
    Ok(provider::Entity::find().filter(provider::Column::OrganizationId.eq(org.get())).one(db).await?)
}

async fn domains_of(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<String>> {
    let mut found: Vec<String> = domain::Entity::find()
        .filter(domain::Column::OrganizationId.eq(org.get()))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.domain)
        .collect();
    found.sort();
    Ok(found)
}

fn role_map_of(row: &provider::Model) -> AppResult<Vec<RoleMapping>> {
    serde_json::from_str(&row.role_map).map_err(|e| AppError::Internal(format!("sso role map: {e}")))
}

fn settings_of(row: &provider::Model, domains: Vec<String>) -> AppResult<SsoSettings> {
    Ok(SsoSettings {
        issuer: row.issuer.clone(),
        client_id: row.client_id.clone(),
        has_client_secret: !row.client_secret.is_empty(),
        domains,
        role_source: row.role_source,
        role_claim: row.role_claim.clone(),
        role_map: role_map_of(row)?,
        enabled: row.enabled,
        updated_at: row.updated_at,
        callback_key: row.callback_key.clone(),
    })
}

/// The organization's single sign-on, if it has one.
pub async fn settings(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Option<SsoSettings>> {
    match provider_of(db, org).await? {
        Some(row) => Ok(Some(settings_of(&row, domains_of(db, org).await?)?)),
        None => Ok(None),
    }
}

/// The last part of an organization's callback address: an HMAC of its id, so
/// that the address is known before the provider is saved (to register it there)
/// and says nothing of the organization.
pub fn callback_key(signing_key: &[u8], org: OrgId) -> AppResult<String> {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(signing_key).map_err(|_| AppError::Internal("hmac key".into()))?;
    mac.update(format!("sso-callback/{}", org.get()).as_bytes());
    Ok(hex::encode(&mac.finalize().into_bytes()[..12]))
}

/// The address to register at the provider as Volant's redirect URI.
pub fn redirect_uri(public_url: &str, callback_key: &str) -> String {
    format!("{}{CALLBACK_PATH}/{callback_key}", public_url.trim_end_matches('/'))
}

/// `@Garage-Martin.FR ` → `garage-martin.fr`; `None` when it is not a domain name.
fn domain_name(text: &str) -> Option<String> {
    let name = text.trim().trim_start_matches('@').trim_end_matches('.').to_lowercase();
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    (labels_ok && name.contains('.') && name.len() <= 253).then_some(name)
}

/// The domain of an e-mail address, lower-case.
fn email_domain(email: &str) -> Option<String> {
    email.rsplit_once('@').and_then(|(_, domain)| domain_name(domain))
}

/// Saves the organization's single sign-on, after reading the provider's
/// discovery document (a provider that cannot be read is refused: 422 `issuer`).
/// A domain another organization has is a 409 `sso_domain_taken`.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn save<C: Writer>(
    db: &C,
    keys: (&FieldCipher, bool, &str),
    actor: &Actor,
    input: &SsoInput,
) -> AppResult<SsoSettings> {
    save_checked(db, keys, actor, input, Vec::new()).await
}

/// [`save`], with mistakes the caller found in its own form (`found`), said with
/// the others at once.
pub async fn save_checked<C: Writer>(
    db: &C,
    (cipher, allow_private, callback_key): (&FieldCipher, bool, &str),
    actor: &Actor,
    input: &SsoInput,
    found: Vec<(&str, Msg)>,
) -> AppResult<SsoSettings> {
    let before = provider_of(db, actor.org).await?;
    let mut v = Validator::new();
    for (field, message) in found {
        v.add(field, message);
    }
    // As given: issuers are compared character for character (`https://x/` is not `https://x`).
    let issuer = v.required_text("issuer", input.issuer.as_deref(), 500);
    let client_id = v.required_text("client_id", input.client_id.as_deref(), 255);
    let secret = input.client_secret.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if secret.is_some_and(|s| s.chars().count() > 500) {
        v.add("client_secret", Msg::new("field.too_long").arg("max", 500));
    }
    if secret.is_none() && before.as_ref().is_none_or(|b| b.client_secret.is_empty()) {
        v.add("client_secret", Msg::new("field.required"));
    }
    let mut domains = Vec::new();
    match input.domains.as_deref() {
        None | Some([]) => v.add("domains", Msg::new("sso.domains_required")),
        Some(given) if given.len() > MAX_DOMAINS => {
            v.add("domains", Msg::new("sso.domains_too_many").arg("max", MAX_DOMAINS));
        }
        Some(given) => {
            for text in given {
                match domain_name(text) {
                    Some(name) if PUBLIC_MAIL_DOMAINS.contains(&name.as_str()) => {
                        v.add("domains", Msg::new("sso.domain_public").arg("domain", name));
                    }
                    Some(name) => domains.push(name),
                    None => v.add("domains", Msg::new("sso.domain_invalid").arg("domain", text.trim())),
                }
            }
        }
    }
    domains.sort();
    domains.dedup();
    let role_source = input.role_source.unwrap_or(RoleSource::Invited);
    let (role_claim, role_map) = match role_source {
        RoleSource::Invited => (None, Vec::new()),
        RoleSource::Claim => {
            let claim = v.required_text("role_claim", input.role_claim.as_deref(), 100);
            let mut map = Vec::new();
            for mapping in input.role_map.as_deref().unwrap_or_default() {
                let value = mapping.value.trim();
                if value.is_empty() || value.chars().count() > 200 {
                    v.add("role_map", Msg::new("sso.mapping_value_invalid"));
                } else if !MAPPABLE_ROLES.contains(&mapping.role) {
                    v.add("role_map", Msg::new("sso.role_not_mappable").arg("role", mapping.role));
                } else {
                    map.push(RoleMapping { value: value.to_owned(), role: mapping.role });
                }
            }
            if map.is_empty() && v.is_valid() {
                v.add("role_map", Msg::new("sso.mapping_required"));
            }
            if map.len() > MAX_MAPPINGS {
                v.add("role_map", Msg::new("sso.mappings_too_many").arg("max", MAX_MAPPINGS));
            }
            (claim, map)
        }
    };
    if let Some(issuer) = issuer.as_deref() {
        check_issuer(&mut v, issuer, allow_private).await;
    }
    v.finish()?;
    let (Some(issuer), Some(client_id)) = (issuer, client_id) else {
        return Err(AppError::Internal("validator accepted a missing field".into()));
    };
    let sealed = secret.map(|s| cipher.encrypt(SECRET_FIELD, s)).transpose()?;
    let before_view = match &before {
        Some(row) => Some(settings_of(row, domains_of(db, actor.org).await?)?),
        None => None,
    };
    let role_map_json = serde_json::to_string(&role_map).map_err(|e| AppError::Internal(e.to_string()))?;
    let enabled = input.enabled.unwrap_or(true);
    db::write(db, async |txn| {
        let now = Utc::now();
        let row = match provider_of(txn, actor.org).await? {
            Some(existing) => {
                let mut active: provider::ActiveModel = existing.into();
                active.issuer = Set(issuer.clone());
                active.client_id = Set(client_id.clone());
                if let Some(sealed) = &sealed {
                    active.client_secret = Set(sealed.clone());
                }
                active.role_source = Set(role_source);
                active.role_claim = Set(role_claim.clone());
                active.role_map = Set(role_map_json.clone());
                active.enabled = Set(enabled);
                active.updated_at = Set(now);
                active.update(txn).await?
            }
            None => {
                provider::ActiveModel {
                    organization_id: Set(actor.org.get()),
                    callback_key: Set(callback_key.to_owned()),
                    issuer: Set(issuer.clone()),
                    client_id: Set(client_id.clone()),
                    client_secret: Set(sealed.clone().unwrap_or_default()),
                    role_source: Set(role_source),
                    role_claim: Set(role_claim.clone()),
                    role_map: Set(role_map_json.clone()),
                    enabled: Set(enabled),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(txn)
                .await?
            }
        };
        domain::Entity::delete_many().filter(domain::Column::OrganizationId.eq(actor.org.get())).exec(txn).await?;
        for name in &domains {
            domain::ActiveModel { domain: Set(name.clone()), organization_id: Set(actor.org.get()) }
                .insert(txn)
                .await
                .map_err(|err| {
                    AppError::conflict_on(
                        "domains",
                        "sso_domain_taken",
                        Msg::new("sso.domain_taken").arg("domain", name),
                    )
                    .if_refused(err, Constraint::is_unique)
                })?;
        }
        let after = settings_of(&row, domains.clone())?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, row.id), before_view.as_ref(), Some(&after)).await?;
        Ok(after)
    })
    .await
}

/// The issuer must be an https URL (http only where private hosts are allowed),
/// reachable, with a discovery document naming it.
async fn check_issuer(v: &mut Validator, issuer: &str, allow_private: bool) {
    let https = issuer.starts_with("https://") || (allow_private && issuer.starts_with("http://"));
    if !https {
        v.add("issuer", Msg::new("sso.issuer_https"));
        return;
    }
    if let Err(refused) = outbound::check_url(issuer, allow_private).await {
        v.add("issuer", Msg::new(refused.message_key()));
        return;
    }
    let http = match Http::new(allow_private) {
        Ok(http) => http,
        Err(err) => {
            tracing::error!(error = %err, "no HTTP client for single sign-on");
            v.add("issuer", Msg::new("sso.discovery_failed.not_usable"));
            return;
        }
    };
    if !http.allows(issuer) {
        v.add("issuer", Msg::new("outbound.host_private"));
    } else if let Err(why) = discover(&http, issuer, true).await {
        v.add("issuer", Msg::new(why));
    }
}

/// Re-encrypts every client secret not encrypted with the current key (after a
/// key rotation: `volant reencrypt-fields`); answers how many changed.
pub async fn reencrypt_all<C: Writer>(db: &C, cipher: &FieldCipher) -> AppResult<u64> {
    let mut changed = 0;
    for found in provider::Entity::find().all(db).await? {
        if cipher.is_stale(&found.client_secret) {
            let sealed = cipher.encrypt(SECRET_FIELD, &cipher.decrypt(SECRET_FIELD, &found.client_secret)?)?;
            provider::Entity::update_many()
                .col_expr(provider::Column::ClientSecret, Expr::value(sealed))
                .filter(provider::Column::Id.eq(found.id))
                .exec(db)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Removes the organization's single sign-on (its domains, and the links to
/// provider accounts: a provider set up again starts afresh).
pub async fn remove<C: Writer>(db: &C, actor: &Actor) -> AppResult<()> {
    let Some(row) = provider_of(db, actor.org).await? else { return Err(AppError::NotFound) };
    let before = settings_of(&row, domains_of(db, actor.org).await?)?;
    db::write(db, async |txn| {
        let org = actor.org.get();
        domain::Entity::delete_many().filter(domain::Column::OrganizationId.eq(org)).exec(txn).await?;
        identity::Entity::delete_many().filter(identity::Column::OrganizationId.eq(org)).exec(txn).await?;
        attempt::Entity::delete_many().filter(attempt::Column::OrganizationId.eq(org)).exec(txn).await?;
        provider::Entity::delete_by_id(row.id).exec(txn).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, row.id), Some(&before), None).await
    })
    .await
}

/// Whether any organization of the instance signs in through its provider (the
/// sign-in page offers single sign-on then).
pub async fn any_enabled(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(provider::Entity::find().filter(provider::Column::Enabled.eq(true)).count(db).await? > 0)
}

/// The organization whose enabled single sign-on covers the e-mail's domain.
pub async fn organization_for(db: &impl ConnectionTrait, email: &str) -> AppResult<Option<OrgId>> {
    let Some(name) = email_domain(email) else { return Ok(None) };
    let Some(found) = domain::Entity::find_by_id(name).one(db).await? else { return Ok(None) };
    let org = OrgId::new(found.organization_id);
    Ok(provider_of(db, org).await?.filter(|p| p.enabled).map(|_| org))
}

/// Sends a sign-in to the organization's provider: a new pending sign-in (its
/// state, nonce and PKCE verifier kept for ten minutes), and the provider's
/// authorization URL, which names `email` as the login hint and the provider's own
/// callback address (`public_url` and its key).
pub async fn start<C: Writer>(
    db: &C,
    http: &Http,
    org: OrgId,
    (email, next, public_url): (&str, &str, &str),
) -> AppResult<Started> {
    let Some(row) = provider_of(db, org).await?.filter(|p| p.enabled) else { return Err(AppError::NotFound) };
    let metadata = discover(http, &row.issuer, false).await.map_err(|e| {
        tracing::warn!(organization_id = org.get(), error = %e, "identity provider unreachable");
        AppError::Unavailable("identity provider".into())
    })?;
    // A claim named like a scope the provider offers is asked for by that scope
    // (a `groups` claim behind a `groups` scope).
    let claim_scope = row
        .role_claim
        .as_deref()
        .filter(|claim| metadata.scopes_supported().is_some_and(|scopes| scopes.iter().any(|s| s.as_str() == *claim)));
    let redirect = redirect_uri(public_url, &row.callback_key);
    let redirect_url = RedirectUrl::new(redirect.clone()).map_err(|_| AppError::BadRequest("host".into()))?;
    let oidc = CoreClient::from_provider_metadata(metadata, ClientId::new(row.client_id.clone()), None)
        .set_redirect_uri(redirect_url);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = oidc
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .set_login_hint(openidconnect::LoginHint::new(email.trim().to_owned()));
    if let Some(scope) = claim_scope {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    let (authorize_url, state, nonce) = request.url();
    let now = Utc::now();
    db::write(db, async |txn| {
        attempt::Entity::delete_many().filter(attempt::Column::ExpiresAt.lt(now)).exec(txn).await?;
        let pending = attempt::Entity::find().filter(attempt::Column::OrganizationId.eq(org.get())).count(txn).await?;
        if pending >= MAX_PENDING {
            return Err(AppError::TooManyRequests { retry_after_secs: 60 });
        }
        attempt::ActiveModel {
            state: Set(state.secret().clone()),
            organization_id: Set(org.get()),
            nonce: Set(nonce.secret().clone()),
            pkce_verifier: Set(verifier.secret().clone()),
            redirect_uri: Set(redirect.clone()),
            next_path: Set(next.to_owned()),
            expires_at: Set(now + ATTEMPT_TTL),
        }
        .insert(txn)
        .await?;
        AppResult::Ok(())
    })
    .await?;
    Ok(Started { authorize_url, state: state.secret().clone() })
}

/// The provider's answer, as it reached the callback.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Answer {
    pub state: Option<String>,
    pub code: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Who signed in, and where they go next.
#[derive(Debug)]
pub struct SignedIn {
    pub user: AuthUser,
    pub next: String,
    pub created: bool,
}

/// What the provider said of the person, verified.
#[derive(Debug, Default)]
struct Person {
    subject: String,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    claims: Map<String, Value>,
}

/// A refusal's detail for the log: the provider's words kept short and on one line.
fn loggable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Completes a sign-in on the provider's answer at the callback address of
/// `callback_key`: the pending sign-in this browser began (`cookie_state`), for
/// that provider's organization, used once; the code exchanged with its PKCE
/// verifier; the ID token verified; then the person found, linked or made. The
/// outer error is Volant's own failure (a 500); the inner one a refused sign-in.
pub async fn finish<C: Writer>(
    db: &C,
    (cipher, http): (&FieldCipher, &Http),
    (callback_key, answer): (&str, &Answer),
    cookie_state: Option<&str>,
) -> AppResult<Result<SignedIn, Refused>> {
    let state = answer.state.as_deref().unwrap_or_default();
    if state.is_empty() || cookie_state != Some(state) {
        return Ok(Err(Refused::new(Refusal::StateInvalid, None, "state missing or not this browser's")));
    }
    // Used once: whoever deletes the row goes on, whatever follows.
    let pending = db::write(db, async |txn| {
        let found = attempt::Entity::find_by_id(state.to_owned()).one(txn).await?;
        let taken = attempt::Entity::delete_many().filter(attempt::Column::State.eq(state)).exec(txn).await?;
        AppResult::Ok(found.filter(|_| taken.rows_affected == 1))
    })
    .await?;
    let Some(pending) = pending.filter(|p| p.expires_at > Utc::now()) else {
        return Ok(Err(Refused::new(Refusal::StateInvalid, None, "no pending sign-in for this state")));
    };
    let org = OrgId::new(pending.organization_id);
    let refused = |why: Refusal, detail: &str| Ok(Err(Refused::new(why, Some(org), detail)));
    // The answer came to this organization's provider's address, not another's
    // (an authorization server mixing up its clients' answers: RFC 9207's attack).
    let row = provider_of(db, org).await?.filter(|p| p.enabled);
    let Some(row) = row.filter(|p| p.callback_key == callback_key) else {
        return refused(Refusal::StateInvalid, "another provider's callback, or single sign-on removed or off");
    };
    if let Some(error) = &answer.error {
        let description = answer.error_description.as_deref().unwrap_or_default();
        return refused(Refusal::ProviderRefused, &loggable(&format!("{error}: {description}")));
    }
    if answer.iss.as_deref().is_some_and(|iss| iss != row.issuer) {
        return refused(Refusal::TokenInvalid, "the answer's iss is not the issuer (RFC 9207)");
    }
    let Some(code) = answer.code.as_deref().filter(|c| !c.is_empty()) else {
        return refused(Refusal::ProviderRefused, "no code in the answer");
    };
    let person = match verified_person(&row, (cipher, http), &pending, code).await? {
        Ok(person) => person,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let outcome = db::write(db, async |txn| match resolve(txn, &row, &person).await? {
        // A refusal's deprovisioning (roles the provider took away) is kept.
        Resolved::Refused(refusal, true) => Ok(Err(refusal)),
        // Any other refusal writes nothing.
        Resolved::Refused(refusal, false) => Err(Rollback::Refused(refusal)),
        Resolved::User(user, created) => Ok(Ok((user, created))),
    })
    .await;
    // The roles the provider gave or took (or a deactivation) are committed now:
    // what this instance remembered of the person's credentials is stale.
    let changed = match &outcome {
        Ok(Ok((user, _))) => Some(user.id),
        Ok(Err(refusal)) => refusal.user_id,
        Err(_) => None,
    };
    if let Some(user_id) = changed {
        crate::platform::credentials::forget_user(user_id);
    }
    match outcome {
        Ok(Ok((user, created))) => Ok(Ok(SignedIn { user, next: pending.next_path, created })),
        Ok(Err(refusal)) | Err(Rollback::Refused(refusal)) => Ok(Err(refusal)),
        Err(Rollback::Failed(err)) => Err(err),
    }
}

/// Why a sign-in's transaction was undone.
enum Rollback {
    Refused(Refused),
    Failed(AppError),
}

impl From<DbErr> for Rollback {
    fn from(err: DbErr) -> Self {
        Self::Failed(err.into())
    }
}

impl From<AppError> for Rollback {
    fn from(err: AppError) -> Self {
        Self::Failed(err)
    }
}

/// Exchanges the code, verifies the ID token, and reads the person's claims
/// (from the user-info endpoint too when the ID token lacks the e-mail or the
/// role claim). A signature by a key the cached document does not have fetches
/// the provider's keys again, once (providers rotate their keys).
async fn verified_person(
    row: &provider::Model,
    (cipher, http): (&FieldCipher, &Http),
    pending: &attempt::Model,
    code: &str,
) -> AppResult<Result<Person, Refused>> {
    let org = Some(OrgId::new(row.organization_id));
    let unreachable = |detail: String| Ok(Err(Refused::new(Refusal::ProviderUnreachable, org, detail)));
    let invalid = |detail: String| Ok(Err(Refused::new(Refusal::TokenInvalid, org, detail)));
    let metadata = match discover(http, &row.issuer, false).await {
        Ok(metadata) => metadata,
        Err(why) => return unreachable(why.to_owned()),
    };
    let secret = cipher.decrypt(SECRET_FIELD, &row.client_secret)?;
    let redirect = RedirectUrl::new(pending.redirect_uri.clone()).map_err(|e| AppError::Internal(e.to_string()))?;
    let client = |metadata: CoreProviderMetadata| {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(row.client_id.clone()),
            Some(ClientSecret::new(secret.clone())),
        )
        .set_redirect_uri(redirect.clone())
    };
    let mut oidc = client(metadata);
    let call = |request| send(http.clone(), request);
    let Ok(exchange) = oidc.exchange_code(AuthorizationCode::new(code.to_owned())) else {
        return unreachable("no token endpoint".into());
    };
    let token = match exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&call)
        .await
    {
        Ok(token) => token,
        Err(e) => return invalid(loggable(&format!("code exchange: {e}"))),
    };
    let Some(id_token) = token.id_token() else { return invalid("no ID token".into()) };
    let nonce = Nonce::new(pending.nonce.clone());
    let mut verified = id_token.claims(&oidc.id_token_verifier(), &nonce).cloned();
    if matches!(verified, Err(ClaimsVerificationError::SignatureVerification(_))) {
        // Perhaps a key newer than the cached document's: read them again, once.
        if let Ok(metadata) = discover(http, &row.issuer, true).await {
            oidc = client(metadata);
            verified = id_token.claims(&oidc.id_token_verifier(), &nonce).cloned();
        }
    }
    let verified = match verified {
        Ok(verified) => verified,
        Err(e) => return invalid(format!("ID token: {e}")),
    };
    let mut person = Person {
        subject: verified.subject().as_str().to_owned(),
        email: verified.email().map(|e| e.as_str().to_owned()),
        email_verified: verified.email_verified(),
        name: verified.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
        claims: match payload_of(&id_token.to_string()) {
            Ok(claims) => claims,
            Err(e) => return invalid(e),
        },
    };
    let claim_missing = row.role_claim.as_deref().is_some_and(|c| !person.claims.contains_key(c));
    if person.email.is_none() || claim_missing {
        let request =
            oidc.user_info(token.access_token().clone(), Some(SubjectIdentifier::new(person.subject.clone()))).ok();
        if let Some(request) = request {
            let info: UserInfoClaims<AllClaims, CoreGenderClaim> = match request.request_async(&call).await {
                Ok(info) => info,
                Err(e) => return unreachable(loggable(&format!("user info: {e}"))),
            };
            if person.email.is_none() {
                person.email = info.email().map(|e| e.as_str().to_owned());
                person.email_verified = info.email_verified();
            }
            if person.name.is_none() {
                person.name = info.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned());
            }
            for (key, value) in info.additional_claims().0.clone() {
                person.claims.entry(key).or_insert(value);
            }
        }
    }
    Ok(Ok(person))
}

/// The claims of a JWT whose signature was verified, as JSON (the role claim may
/// have any name).
fn payload_of(jwt: &str) -> Result<Map<String, Value>, String> {
    let payload = jwt.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("payload: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("payload: {e}"))
}

/// The roles a claim's values give, by the mapping (a claim may be a string or
/// a list of strings).
fn mapped_roles(claim: Option<&Value>, map: &[RoleMapping]) -> Vec<Role> {
    let values: Vec<&str> = match claim {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut roles: Vec<Role> = map.iter().filter(|m| values.contains(&m.value.as_str())).map(|m| m.role).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// Google's issuer is every Google account's: only its `hd` claim says the
/// account is one of a Workspace domain's (a personal account may carry any
/// verified address).
const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// What the person turned out to be.
enum Resolved {
    User(AuthUser, bool),
    /// Refused; `true` when the refusal changed the account (roles taken away by
    /// the provider), which must be kept.
    Refused(Refused, bool),
}

/// The user the person is: linked by subject, else by e-mail, else made (roles
/// from a claim); their roles brought up to date from the claim. Every refusal
/// is decided before anything is written, except the deprovisioning of someone
/// whose claim no longer gives a role.
async fn resolve(txn: &sea_orm::DatabaseTransaction, row: &provider::Model, person: &Person) -> AppResult<Resolved> {
    let org = OrgId::new(row.organization_id);
    let refuse = |why: Refusal, detail: &str| Ok(Resolved::Refused(Refused::new(why, Some(org), detail), false));
    let Some(email) = person.email.as_deref().and_then(|e| crate::platform::validate::check_email(e).ok()) else {
        return refuse(Refusal::EmailUnverified, "no e-mail claim, or not an address");
    };
    if person.email_verified == Some(false) {
        return refuse(Refusal::EmailUnverified, "email_verified is false");
    }
    let domains = domains_of(txn, org).await?;
    if !email_domain(&email).is_some_and(|d| domains.contains(&d)) {
        return refuse(Refusal::DomainRefused, "e-mail outside the organization's domains");
    }
    if row.issuer.trim_end_matches('/') == GOOGLE_ISSUER {
        let hosted = person.claims.get("hd").and_then(Value::as_str).and_then(domain_name);
        if !hosted.is_some_and(|hd| domains.contains(&hd)) {
            return refuse(Refusal::DomainRefused, "a Google account outside the organization's Workspace domains");
        }
    }
    let linked = identity::Entity::find()
        .filter(identity::Column::Issuer.eq(row.issuer.clone()))
        .filter(identity::Column::Subject.eq(person.subject.clone()))
        .one(txn)
        .await?;
    let found = match &linked {
        Some(link) => user_entity::Entity::find_by_id(link.user_id).one(txn).await?,
        None => {
            user_entity::Entity::find()
                .filter(user_entity::Column::EmailNormalized.eq(users::normalize_email(&email)))
                .one(txn)
                .await?
        }
    };
    let claimed = match row.role_source {
        RoleSource::Claim => {
            let map = role_map_of(row)?;
            Some(mapped_roles(row.role_claim.as_deref().and_then(|c| person.claims.get(c)), &map))
        }
        RoleSource::Invited => None,
    };
    let actor = Actor::system(org);
    let (user_id, created) = match found {
        // A platform operator's account is not an organization's to hand over (as
        // with password links): nor to its provider.
        Some(found) if found.organization_id != org.get() || !found.active || found.is_operator => {
            let mut refused =
                Refused::new(Refusal::AccountRefused, Some(org), "another organization's, deactivated, or an operator");
            refused.user_id = (found.organization_id == org.get()).then_some(found.id);
            return Ok(Resolved::Refused(refused, false));
        }
        Some(found) => {
            // Only a linked account whose provider did send the claim is closed for
            // having no role: a claim missing (a scope not granted, a misspelt
            // name) or a first sign-in matched by e-mail refuses without writing.
            let claim_sent = row.role_claim.as_deref().is_some_and(|c| person.claims.contains_key(c));
            if let Some(claimed) = &claimed
                && let Some((refused, wrote)) =
                    sync_roles(txn, &actor, found.id, claimed, linked.is_some() && claim_sent).await?
            {
                return Ok(Resolved::Refused(refused, wrote));
            }
            (found.id, false)
        }
        None => {
            let Some(roles) = claimed else { return refuse(Refusal::NotInvited, "no account for this e-mail") };
            if roles.is_empty() {
                return refuse(Refusal::NoRole, "the claim maps to no role");
            }
            let name = person.name.as_deref().map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>());
            let name = name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| email.clone());
            let name: String = name.trim().chars().take(120).collect();
            let checked = CheckedNewUser::without_password(email.clone(), name, roles);
            let made = users::insert_audited(txn, &actor, checked).await?;
            (made.id, true)
        }
    };
    let now = Utc::now();
    match linked {
        Some(link) => {
            identity::Entity::update_many()
                .col_expr(identity::Column::LastLoginAt, Expr::value(now))
                .filter(identity::Column::Id.eq(link.id))
                .exec(txn)
                .await?;
        }
        None => {
            let link = identity::ActiveModel {
                organization_id: Set(org.get()),
                user_id: Set(user_id),
                issuer: Set(row.issuer.clone()),
                subject: Set(person.subject.clone()),
                created_at: Set(now),
                last_login_at: Set(now),
                ..Default::default()
            };
            // Two first sign-ins of one person at once link them once (the
            // unique issuer and subject decide), and neither fails.
            let unique =
                OnConflict::columns([identity::Column::Issuer, identity::Column::Subject]).do_nothing().to_owned();
            identity::Entity::insert(link).on_conflict(unique).exec_without_returning(txn).await?;
        }
    }
    user_entity::Entity::update_many()
        .col_expr(user_entity::Column::LastLoginAt, Expr::value(Some(now)))
        .filter(user_entity::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    let user = users::find_active(txn, user_id).await?.ok_or(AppError::NotFound)?;
    Ok(Resolved::User(user, created))
}

/// Replaces the user's mappable roles by the claim's; instructor and candidate
/// roles are kept. The organization's last administrator stays one (the
/// provider's groups cannot lock an organization out of its settings). Someone
/// left with no role is refused; with `may_deactivate`, also deactivated (their
/// sessions and tokens end): access taken away at the provider is taken away
/// here. A refusal answers whether it wrote.
async fn sync_roles(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    user_id: i64,
    claimed: &[Role],
    may_deactivate: bool,
) -> AppResult<Option<(Refused, bool)>> {
    let org = actor.org;
    // Two administrators signing in at once count each other once.
    db::lock_keys(txn, vec![(0x55_i64 << 56) | (org.get() & 0xFFFF_FFFF_FFFF)]).await?;
    let current = users::get(txn, org, user_id).await?;
    let mut roles: Vec<Role> = current.roles.iter().copied().filter(|r| !MAPPABLE_ROLES.contains(r)).collect();
    roles.extend_from_slice(claimed);
    if current.roles.contains(&Role::Admin) && !roles.contains(&Role::Admin) {
        let admins = users::with_roles(txn, org, &[Role::Admin]).await?;
        if admins.len() <= 1 {
            tracing::warn!(user_id, "single sign-on: the last administrator keeps the role the provider took away");
            roles.push(Role::Admin);
        }
    }
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        if may_deactivate {
            users::update(txn, actor, user_id, UserPatch { active: Some(false), ..UserPatch::default() }).await?;
        }
        let detail = if may_deactivate { "no role: account deactivated" } else { "the claim maps to no role" };
        let mut refused = Refused::new(Refusal::NoRole, Some(org), detail);
        refused.user_id = Some(user_id);
        return Ok(Some((refused, may_deactivate)));
    }
    if roles != current.roles {
        users::update(txn, actor, user_id, UserPatch { roles: Some(roles), ..UserPatch::default() }).await?;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_read_as_names() {
        assert_eq!(domain_name(" @Garage-Martin.FR. ").as_deref(), Some("garage-martin.fr"));
        for wrong in ["localhost", "garage martin.fr", "-garage.fr", "garage..fr", "", "@"] {
            assert_eq!(domain_name(wrong), None, "{wrong}");
        }
        assert_eq!(email_domain("Ana@Garage-SSO.fr").as_deref(), Some("garage-sso.fr"));
    }

    #[test]
    fn claims_map_to_roles() {
        let map = vec![
            RoleMapping { value: "chefs".into(), role: Role::Manager },
            RoleMapping { value: "admins".into(), role: Role::Admin },
            RoleMapping { value: "atelier".into(), role: Role::Staff },
        ];
        let list = serde_json::json!(["atelier", "chefs", "autre"]);
        assert_eq!(mapped_roles(Some(&list), &map), vec![Role::Manager, Role::Staff]);
        assert_eq!(mapped_roles(Some(&serde_json::json!("admins")), &map), vec![Role::Admin]);
        assert_eq!(mapped_roles(Some(&serde_json::json!(["Chefs"])), &map), Vec::<Role>::new());
        assert_eq!(mapped_roles(None, &map), Vec::<Role>::new());
    }
}
