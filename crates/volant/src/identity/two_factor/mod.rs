//! Two-factor sign-in: a code from an authenticator app (TOTP, RFC 6238: SHA-1, six
//! digits, 30-second steps, one step of drift either way) after the password, or
//! one of ten recovery codes.
//!
//! The secret is encrypted at rest ([`FieldCipher`]) and confirmed by a first code
//! before it counts; each accepted time step is kept, so that a code seen over a
//! shoulder cannot be used again. Recovery codes are shown once and stored as
//! SHA-256 (ten random characters from a 32-letter alphabet: 50 bits each, behind
//! the sign-in rate limits), each usable once. Personal API tokens are not affected:
//! they are a credential of their own.

pub mod web;

use chrono::{DateTime, Utc};
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde::Serialize;
use totp_rs::{Builder, Totp};

use crate::identity::audit::{self, Actor};
use crate::identity::roles::Role;
use crate::identity::users::service::AuthUser;
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer, table};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::secrets;

/// The encrypted field's name (bound into its ciphertext).
pub const SECRET_FIELD: &str = "user_two_factor/secret";
/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;
/// How the second factor appears in the audit trail.
const AUDIT_ENTITY: &str = "two_factor";
/// A pending enrollment older than this is replaced by a new secret.
const PENDING_FOR: chrono::Duration = chrono::Duration::hours(1);
/// Letters of recovery codes (32: five bits each), none to misread (no i, l, o, 0).
const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz123456789";

/// Whether a user has a second factor, and what is left of their recovery codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub enabled_since: Option<DateTime<Utc>>,
    pub recovery_codes_left: u64,
}

/// A secret being set up: what the authenticator app needs.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The secret in base32, grouped by four for typing.
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub url: String,
    /// The QR code, an inline SVG.
    pub qr_svg: String,
}

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
}

impl Factor {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
        }
    }
}

fn seconds_now() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or_default()
}

/// The TOTP of a secret, labelled for the user's app (`Garage Martin (Volant)`,
/// their e-mail): the otpauth label may not hold a colon.
fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> AppResult<Totp> {
    let clean = |text: &str| text.replace(':', " ").trim().to_owned();
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(clean(issuer)))
        .with_account_name(clean(account))
        .build()
        .map_err(|e| AppError::Internal(format!("totp: {e}")))
}

fn read_secret(cipher: &FieldCipher, row: &entity::Model) -> AppResult<Vec<u8>> {
    hex::decode(cipher.decrypt(SECRET_FIELD, &row.secret)?).map_err(|_| AppError::Internal("totp secret".into()))
}

/// The QR code of `text` as an SVG (black modules on white, a quiet zone of four);
/// hidden from screen readers, to whom the page gives the same key as text.
fn qr_svg(text: &str) -> AppResult<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|e| AppError::Internal(format!("qr: {e:?}")))?;
    let size = code.size();
    let border = 4;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let total = size + 2 * border;
    Ok(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {total}" width="220" height="220" aria-hidden="true" focusable="false" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    ))
}

fn grouped(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

async fn row(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Option<entity::Model>> {
    Ok(entity::Entity::find_by_id(user_id).one(db).await?)
}

/// Whether the user signs in with a second factor.
pub async fn is_enabled(db: &impl ConnectionTrait, user_id: i64) -> AppResult<bool> {
    Ok(row(db, user_id).await?.is_some_and(|r| r.confirmed_at.is_some()))
}

pub async fn status(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Status> {
    let enabled_since = row(db, user_id).await?.and_then(|r| r.confirmed_at);
    let recovery_codes_left = if enabled_since.is_some() {
        recovery::Entity::find()
            .filter(recovery::Column::UserId.eq(user_id))
            .filter(recovery::Column::UsedAt.is_null())
            .count(db)
            .await?
    } else {
        0
    };
    Ok(Status { enabled_since, recovery_codes_left })
}

/// Whether the organization's rule asks this user for a second factor: its
/// administrators and managers, when it requires one.
pub fn required_for(user: &AuthUser, org_requires: bool) -> bool {
    org_requires && (user.has_role(Role::Admin) || user.has_role(Role::Manager))
}

/// The secret being set up for the user (kept for an hour, so that reloading the
/// page shows the same QR code), or a new one. 409 `two_factor_enabled` if the
/// user already has a second factor.
pub async fn enrollment<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    user: &AuthUser,
    issuer: &str,
) -> AppResult<Enrollment> {
    let existing = row(db, user.id).await?;
    if existing.as_ref().is_some_and(|r| r.confirmed_at.is_some()) {
        return Err(AppError::conflict("two_factor_enabled", Msg::new("two_factor.already_enabled")));
    }
    let secret = match existing.filter(|r| Utc::now() - r.created_at < PENDING_FOR) {
        Some(pending) => read_secret(cipher, &pending)?,
        None => {
            let mut secret = vec![0_u8; 20];
            getrandom::fill(&mut secret).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
            let sealed = cipher.encrypt(SECRET_FIELD, &hex::encode(&secret))?;
            db::write(db, async |txn| {
                // Only a set-up in progress is replaced, never a confirmed factor.
                entity::Entity::delete_many()
                    .filter(entity::Column::UserId.eq(user.id))
                    .filter(entity::Column::ConfirmedAt.is_null())
                    .exec(txn)
                    .await?;
                entity::ActiveModel {
                    user_id: Set(user.id),
                    secret: Set(sealed),
                    confirmed_at: Set(None),
                    last_step: Set(None),
                    created_at: Set(Utc::now()),
                }
                .insert(txn)
                .await?;
                AppResult::Ok(())
            })
            .await?;
            secret
        }
    };
    let totp = totp(secret, issuer, &user.email)?;
    let url = totp.to_url().map_err(|e| AppError::Internal(format!("otpauth: {e}")))?;
    Ok(Enrollment { secret: grouped(&totp.secret().to_base32()), qr_svg: qr_svg(&url)?, url })
}

/// Turns the pending secret on once the app's first code matches it; answers the
/// recovery codes, shown this once. 422 on `code` when it does not match.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn confirm<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    user: &AuthUser,
    code: &str,
) -> AppResult<Vec<String>> {
    let pending = row(db, user.id)
        .await?
        .filter(|r| r.confirmed_at.is_none())
        .ok_or_else(|| AppError::conflict("two_factor_not_started", Msg::new("two_factor.not_started")))?;
    let totp = totp(read_secret(cipher, &pending)?, "Volant", &user.email)?;
    let Some(step) = totp.check(&digits(code), seconds_now()) else {
        return Err(AppError::validation("code", Msg::new("two_factor.code_invalid")));
    };
    let (codes, hashes) = new_recovery_codes()?;
    db::write(db, async |txn| {
        // Confirmed once: a second confirmation at the same time finds it done.
        let confirmed = entity::Entity::update_many()
            .col_expr(entity::Column::ConfirmedAt, Expr::value(Utc::now()))
            .col_expr(entity::Column::LastStep, Expr::value(i64::try_from(step).unwrap_or(i64::MAX)))
            .filter(entity::Column::UserId.eq(user.id))
            .filter(entity::Column::ConfirmedAt.is_null())
            .exec(txn)
            .await?
            .rows_affected;
        if confirmed == 0 {
            return Err(AppError::conflict("two_factor_enabled", Msg::new("two_factor.already_enabled")));
        }
        replace_recovery_codes(txn, user.id, &hashes).await?;
        let after = serde_json::json!({ "user_id": user.id, "factor": "totp" });
        audit::record_change(txn, actor, (AUDIT_ENTITY, user.id), None, Some(&after)).await
    })
    .await?;
    tracing::info!(user_id = user.id, "two-factor sign-in enabled");
    Ok(codes)
}

/// New recovery codes for a user with a second factor, the former ones void.
pub async fn renew_recovery_codes<C: Writer>(db: &C, actor: &Actor, user_id: i64) -> AppResult<Vec<String>> {
    if !is_enabled(db, user_id).await? {
        return Err(AppError::conflict("two_factor_not_enabled", Msg::new("two_factor.not_enabled")));
    }
    let (codes, hashes) = new_recovery_codes()?;
    db::write(db, async |txn| {
        replace_recovery_codes(txn, user_id, &hashes).await?;
        let change = serde_json::json!({ "user_id": user_id, "recovery_codes": "renewed" });
        audit::record_change(txn, actor, (AUDIT_ENTITY, user_id), None, Some(&change)).await
    })
    .await?;
    Ok(codes)
}

/// Removes a user's second factor (theirs, or an administrator's reset for someone
/// who lost their phone and codes), with `reason` in the audit trail; whether
/// there was one.
pub async fn disable<C: Writer>(db: &C, actor: &Actor, user_id: i64, reason: &str) -> AppResult<bool> {
    let removed = db::write(db, async |txn| {
        let confirmed = row(txn, user_id).await?.is_some_and(|r| r.confirmed_at.is_some());
        entity::Entity::delete_by_id(user_id).exec(txn).await?;
        recovery::Entity::delete_many().filter(recovery::Column::UserId.eq(user_id)).exec(txn).await?;
        let removed = u64::from(confirmed);
        if removed > 0 {
            let before = serde_json::json!({ "user_id": user_id, "factor": "totp", "reason": reason });
            audit::record_change(txn, actor, (AUDIT_ENTITY, user_id), Some(&before), None).await?;
        }
        AppResult::Ok(removed > 0)
    })
    .await?;
    if removed {
        tracing::info!(user_id, reason, "two-factor sign-in removed");
    }
    Ok(removed)
}

/// Checks a second factor of a user who has one: a current code from the app
/// (each time step accepted once; an older or reused code is refused) or an unused
/// recovery code (used up). `None` when it is neither.
pub async fn verify<C: Writer>(db: &C, cipher: &FieldCipher, user: &AuthUser, code: &str) -> AppResult<Option<Factor>> {
    let Some(found) = row(db, user.id).await?.filter(|r| r.confirmed_at.is_some()) else { return Ok(None) };
    let code = code.trim();
    if code.chars().filter(char::is_ascii_digit).count() == 6 && code.chars().all(|c| c.is_ascii_digit() || c == ' ') {
        let totp = totp(read_secret(cipher, &found)?, "Volant", &user.email)?;
        let Some(step) = totp.check(&digits(code), seconds_now()).and_then(|s| i64::try_from(s).ok()) else {
            return Ok(None);
        };
        // Taken only if no sign-in took this step (or a later one) first.
        let taken = entity::Entity::update_many()
            .col_expr(entity::Column::LastStep, Expr::value(step))
            .filter(entity::Column::UserId.eq(user.id))
            .filter(entity::Column::LastStep.is_null().or(entity::Column::LastStep.lt(step)))
            .exec(db)
            .await?
            .rows_affected;
        return Ok((taken == 1).then_some(Factor::Totp));
    }
    let normalized: String = code.chars().filter(char::is_ascii_alphanumeric).flat_map(char::to_lowercase).collect();
    let used = recovery::Entity::update_many()
        .col_expr(recovery::Column::UsedAt, Expr::value(Utc::now()))
        .filter(recovery::Column::UserId.eq(user.id))
        .filter(recovery::Column::CodeHash.eq(secrets::token_hash(&normalized)))
        .filter(recovery::Column::UsedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    Ok((used == 1).then_some(Factor::RecoveryCode))
}

fn digits(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

/// Ten codes as shown (`abcde-fghjk`) and their hashes (of the ten letters alone).
fn new_recovery_codes() -> AppResult<(Vec<String>, Vec<String>)> {
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    while shown.len() < RECOVERY_CODES {
        let mut bytes = [0_u8; 10];
        getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let letters: String = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b % 32)])).collect();
        let hash = secrets::token_hash(&letters);
        if !hashes.contains(&hash) {
            shown.push(format!("{}-{}", &letters[..5], &letters[5..]));
            hashes.push(hash);
        }
    }
    Ok((shown, hashes))
}

async fn replace_recovery_codes(db: &impl ConnectionTrait, user_id: i64, hashes: &[String]) -> AppResult<()> {
    recovery::Entity::delete_many().filter(recovery::Column::UserId.eq(user_id)).exec(db).await?;
    let now = Utc::now();
    let rows = hashes.iter().map(|hash| recovery::ActiveModel {
        user_id: Set(user_id),
        code_hash: Set(hash.clone()),
        used_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    });
    recovery::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// Re-encrypts the secrets still under an older key (`volant reencrypt-fields`).
pub async fn reencrypt_all<C: Writer>(db: &C, cipher: &FieldCipher) -> AppResult<u64> {
    let mut changed = 0;
    for found in entity::Entity::find().all(db).await? {
        if cipher.is_stale(&found.secret) {
            let sealed = cipher.encrypt(SECRET_FIELD, &cipher.decrypt(SECRET_FIELD, &found.secret)?)?;
            entity::Entity::update_many()
                .col_expr(entity::Column::Secret, Expr::value(sealed))
                .filter(entity::Column::UserId.eq(found.user_id))
                .exec(db)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

table! {
    pub mod entity = "user_two_factor" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: i64,
        /// The secret's bytes in hex, encrypted ([`SECRET_FIELD`]).
        pub secret: String,
        /// When a first code confirmed it; until then it is being set up.
        pub confirmed_at: Option<DateTimeUtc>,
        /// The last time step a code was accepted for.
        pub last_step: Option<i64>,
        pub created_at: DateTimeUtc,
    }
}

table! {
    pub mod recovery = "recovery_codes" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        pub code_hash: String,
        pub used_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1, eight digits, with its 20-byte ASCII secret.
        let totp = Builder::new()
            .with_secret(b"12345678901234567890".to_vec())
            .with_digits(8)
            .with_account_name("test")
            .build()
            .expect("totp");
        for (time, code) in [(59, "94287082"), (1_111_111_109, "07081804"), (2_000_000_000, "69279037")] {
            assert_eq!(totp.generate(time).to_string(), code, "{time}");
        }
    }

    #[test]
    fn recovery_codes_are_ten_distinct_readable_codes() {
        let (shown, hashes) = new_recovery_codes().expect("codes");
        assert_eq!(shown.len(), RECOVERY_CODES);
        assert_eq!(hashes.iter().collect::<std::collections::HashSet<_>>().len(), RECOVERY_CODES);
        for code in &shown {
            assert_eq!(code.len(), 11, "{code}");
            assert!(code.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))), "{code}");
        }
    }

    #[test]
    fn the_qr_code_is_an_svg_of_the_address() {
        let svg = qr_svg("otpauth://totp/Volant:a@b.fr?secret=JBSWY3DPEHPK3PXP").expect("svg");
        assert!(svg.starts_with("<svg") && svg.contains("<path d=\"M"), "{svg}");
        assert_eq!(grouped("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
    }
}
