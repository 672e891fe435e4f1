//! An organization's logo: a PNG or JPEG of at most 512 KiB that prints (checked
//! by drawing it into a PDF of its own), kept in the database beside the
//! organization; `organizations.logo_key` (its content's hash) names the
//! current one, so links to it change with it.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;

use super::entity::{self, Entity as Organizations, logo};
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;

/// The largest logo taken.
pub const MAX_BYTES: usize = 512 * 1024;

/// A logo as stored.
#[derive(Debug, Clone)]
pub struct Logo {
    /// `image/png` or `image/jpeg`.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Its content's hash: what links to it carry.
    pub key: String,
}

/// The current logo's key, without reading the image.
pub async fn key(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Option<String>> {
    let organization = Organizations::find_by_id(org.get()).one(db).await?.ok_or(AppError::NotFound)?;
    Ok(organization.logo_key)
}

/// What the image's first bytes say it is.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// What a logo too heavy is told, in the page's language (the browser says it
/// before sending; the server's check says the same).
pub fn too_large() -> Msg {
    Msg::new("logo.too_large").arg("max", MAX_BYTES / 1024)
}

/// [`too_large`] as the current page's language writes it.
pub fn too_large_text() -> String {
    too_large().render(crate::platform::i18n::current())
}

/// A logo that prints: its type, or a 422 on `logo` saying what is wrong.
async fn check(bytes: &[u8]) -> AppResult<&'static str> {
    if bytes.is_empty() {
        return Err(AppError::validation("logo", Msg::new("logo.missing")));
    }
    if bytes.len() > MAX_BYTES {
        return Err(AppError::validation("logo", too_large()));
    }
    let Some(content_type) = sniff(bytes) else {
        return Err(AppError::validation("logo", Msg::new("logo.not_an_image")));
    };
    let copy = bytes.to_vec();
    let printed = tokio::task::spawn_blocking(move || crate::platform::pdf::check_raster(&copy, content_type))
        .await
        .map_err(|e| AppError::Internal(format!("logo check stopped: {e}")))?;
    match printed {
        Ok(_) => Ok(content_type),
        Err(reason) => {
            tracing::debug!(%reason, "logo refused");
            Err(AppError::validation("logo", Msg::new("logo.unreadable")))
        }
    }
}

#[derive(Serialize)]
struct Audited<'a> {
    logo: Option<&'a str>,
}

/// The organization's logo, if it has one (one query: its key is its content's
/// hash, as [`set`] stores it).
pub async fn get(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Option<Logo>> {
    let row = logo::Entity::find_by_id(org.get()).one(db).await?;
    Ok(row.map(|r| Logo { key: key_of(&r.bytes), content_type: r.content_type, bytes: r.bytes }))
}

/// A logo's key: the start of its content's hash.
fn key_of(bytes: &[u8]) -> String {
    crate::platform::secrets::bytes_hash(bytes)[..16].to_owned()
}

/// Sets (or replaces) the organization's logo; its key.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn set<C: Writer>(db: &C, actor: &Actor, bytes: Vec<u8>) -> AppResult<String> {
    let content_type = check(&bytes).await?;
    let key = key_of(&bytes);
    db::write(db, async |txn| {
        let before = Organizations::find_by_id(actor.org.get()).one(txn).await?.ok_or(AppError::NotFound)?;
        logo::Entity::insert(logo::ActiveModel {
            organization_id: Set(actor.org.get()),
            content_type: Set(content_type.to_owned()),
            bytes: Set(bytes.clone()),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(logo::Column::OrganizationId)
                .update_columns([logo::Column::ContentType, logo::Column::Bytes, logo::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        let mut row: entity::ActiveModel = before.clone().into();
        row.logo_key = Set(Some(key.clone()));
        row.updated_at = Set(Utc::now());
        row.update(txn).await?;
        let (old, new) = (Audited { logo: before.logo_key.as_deref() }, Audited { logo: Some(&key) });
        audit::record_change(txn, actor, ("organization", actor.org.get()), Some(&old), Some(&new)).await?;
        AppResult::Ok(())
    })
    .await?;
    Ok(key)
}

/// Removes the organization's logo (nothing happens without one).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn remove<C: Writer>(db: &C, actor: &Actor) -> AppResult<()> {
    db::write(db, async |txn| {
        let before = Organizations::find_by_id(actor.org.get()).one(txn).await?.ok_or(AppError::NotFound)?;
        let Some(old) = before.logo_key.clone() else { return AppResult::Ok(()) };
        logo::Entity::delete_many().filter(logo::Column::OrganizationId.eq(actor.org.get())).exec(txn).await?;
        let mut row: entity::ActiveModel = before.into();
        row.logo_key = Set(None);
        row.updated_at = Set(Utc::now());
        row.update(txn).await?;
        audit::record_change(
            txn,
            actor,
            ("organization", actor.org.get()),
            Some(&Audited { logo: Some(&old) }),
            Some(&Audited { logo: None }),
        )
        .await?;
        AppResult::Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn only_png_and_jpeg_are_taken() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"<svg xmlns="), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }
}
