//! Random tokens and the instance's own secrets, kept in the database so every
//! instance behind a load balancer signs and checks with the same key.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::platform::error::{AppError, AppResult};

/// `bytes` random bytes from the operating system, hex-encoded.
pub fn random_token(bytes: usize) -> AppResult<String> {
    let mut buf = vec![0_u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(buf))
}

/// What is stored of a bearer secret (API token, share link): its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    bytes_hash(token.as_bytes())
}

/// SHA-256 of bytes, in hex (a file's identity).
pub fn bytes_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// The secret called `name`, created on first use. Concurrent first starts agree
/// on one value: the insert does nothing when another instance won.
pub async fn ensure(db: &impl ConnectionTrait, name: &str) -> AppResult<Vec<u8>> {
    // Read first: most calls find it, and a read takes no write lock (SQLite).
    if let Some(stored) = entity::Entity::find_by_id(name.to_owned()).one(db).await? {
        return hex::decode(stored.value)
            .map_err(|e| AppError::Internal(format!("instance secret {name} is corrupt: {e}")));
    }
    let candidate = entity::ActiveModel { name: Set(name.to_owned()), value: Set(random_token(32)?) };
    entity::Entity::insert(candidate)
        .on_conflict(OnConflict::column(entity::Column::Name).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    let stored = entity::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(format!("instance secret {name} missing")))?;
    hex::decode(stored.value).map_err(|e| AppError::Internal(format!("instance secret {name} is corrupt: {e}")))
}

/// Claims the one-time right called `name`: true for exactly one caller ever,
/// even among concurrent ones (a primary key decides). Call it inside the
/// transaction of the work it guards, so a failed attempt releases the claim.
pub async fn claim_once(db: &impl ConnectionTrait, name: &str) -> AppResult<bool> {
    let claim = entity::ActiveModel { name: Set(format!("claim:{name}")), value: Set("claimed".to_owned()) };
    let inserted = entity::Entity::insert(claim)
        .on_conflict(OnConflict::column(entity::Column::Name).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

crate::platform::db::table! {
    mod entity = "instance_secrets" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub value: String,
    }
}
