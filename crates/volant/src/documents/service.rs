//! Documents and photos attached to vehicles, interventions, quotes, invoices,
//! clients, candidates and instructors.
//!
//! An upload is checked by its content ([`uploads::process`]), its blobs are
//! written to the object store under random keys (`attachments/<org>/<random>/…`),
//! then one transaction counts its bytes against the organization's quota (a
//! guarded UPDATE: two uploads at once cannot pass it), inserts its row and
//! records it in the audit trail. A blob whose row never came (a crash between
//! the two) or is gone is removed by [`cleanup`] after a day's grace, so a backup
//! made meanwhile still finds every file its database names.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::entity::{attachment, trash, usage};
use super::model::{DocumentKind, Owner, OwnerKind};
use crate::identity::audit::{self, Actor};
use crate::identity::auth::CurrentUser;
use crate::identity::organizations::service as organizations;
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::files::FileStore;
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;
use crate::platform::uploads::{self, FileType, Refusal};
use crate::platform::validate::Validator;

/// Where every attachment's blobs live in the object store.
pub const PREFIX: &str = "attachments";
/// The most files one upload takes.
pub const MAX_FILES: usize = 20;
/// How long a blob no row names is kept before the cleanup removes it.
pub const GRACE: chrono::Duration = chrono::Duration::hours(24);
/// Documents shown as expiring this many days ahead.
pub const EXPIRY_NOTICE_DAYS: i64 = 30;

/// A document as the API and the pages show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub owner_kind: OwnerKind,
    pub owner_id: i64,
    pub kind: DocumentKind,
    pub title: String,
    pub expires_on: Option<NaiveDate>,
    /// What is served as the original: `image/jpeg`, `image/png` or `application/pdf`.
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the original as served.
    pub sha256: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// A reduced image for display (`…/preview`); otherwise the original is small enough.
    pub has_preview: bool,
    /// A thumbnail (`…/thumbnail`); none for a PDF.
    pub has_thumbnail: bool,
    /// Encrypted at rest (people's documents).
    pub encrypted: bool,
    /// The file's name on the sender's device.
    pub original_name: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<attachment::Model> for Attachment {
    fn from(m: attachment::Model) -> Self {
        Self {
            id: m.id,
            owner_kind: m.owner_kind,
            owner_id: m.owner_id,
            kind: m.kind,
            title: m.title,
            expires_on: m.expires_on,
            content_type: m.content_type,
            size_bytes: m.size_bytes,
            sha256: m.sha256,
            width: m.width,
            height: m.height,
            has_preview: m.preview_key.is_some(),
            has_thumbnail: m.thumbnail_key.is_some(),
            encrypted: m.encrypted,
            original_name: m.original_name,
            created_by: m.created_by,
            created_at: m.created_at,
        }
    }
}

impl Attachment {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }

    /// The name a download is saved under: the title, with the type's extension.
    pub fn download_name(&self) -> String {
        let extension = FileType::from_content_type(&self.content_type).map_or("bin", FileType::extension);
        let stem: String = self
            .title
            .chars()
            .map(|c| if c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') { c } else { '_' })
            .collect();
        let stem = stem.trim().trim_end_matches(&format!(".{extension}")).to_owned();
        format!("{}.{extension}", if stem.is_empty() { "document" } else { &stem })
    }

    /// Whether the document has expired, or expires within [`EXPIRY_NOTICE_DAYS`].
    pub fn expiry_state(&self, today: NaiveDate) -> Option<ExpiryState> {
        let expires = self.expires_on?;
        if expires < today {
            Some(ExpiryState::Expired)
        } else if expires <= today + chrono::Duration::days(EXPIRY_NOTICE_DAYS) {
            Some(ExpiryState::Soon)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryState {
    Expired,
    Soon,
}

/// What describes an upload besides its bytes.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UploadInput {
    /// One of the owner's kinds (`registration_certificate`, `photo`…).
    #[serde(default)]
    pub kind: String,
    /// Defaults to the file's name, or the kind's name.
    #[serde(default)]
    pub title: Option<String>,
    /// When the document stops being valid (an insurance, an inspection): it is
    /// then listed among the documents to renew.
    #[serde(default)]
    pub expires_on: Option<String>,
}

/// A change of a document's description (its file never changes).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AttachmentChange {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::platform::http::extract::double_option")]
    #[schema(value_type = Option<String>)]
    pub expires_on: Option<Option<String>>,
}

/// A file sent: the name the sender's device gave it, and its bytes.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

/// The limits uploads obey (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub quota_bytes: u64,
}

impl Limits {
    pub fn of(config: &crate::platform::config::Config) -> Self {
        Self { max_file_bytes: config.upload_max_bytes, quota_bytes: config.storage_quota_bytes }
    }
}

/// What the documents need of the application: its store, its cipher, its limits.
#[derive(Clone, Copy)]
pub struct Storage<'a> {
    pub files: &'a FileStore,
    pub cipher: &'a FieldCipher,
    pub limits: Limits,
}

impl<'a> Storage<'a> {
    pub fn of(state: &'a crate::platform::AppState) -> Self {
        Self { files: &state.files, cipher: &state.cipher, limits: Limits::of(&state.config) }
    }
}

/// What the documents know of an owner: it exists in the organization, and
/// whether its documents are kept as they are (an issued invoice's).
#[derive(Debug, Clone)]
pub struct OwnerFacts {
    pub frozen: bool,
    /// How the owner is named (a plate, a quote's number, a person).
    pub label: String,
}

/// Asks the owner's own domain whether it exists in `org` (404 otherwise).
pub async fn owner_facts(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    owner: Owner,
) -> AppResult<OwnerFacts> {
    let id = owner.id;
    let (label, frozen) = match owner.kind {
        OwnerKind::Vehicle => {
            let v = crate::fleet::vehicles::service::get(db, org, id).await?;
            (format!("{} · {} {}", v.license_plate, v.brand, v.model), false)
        }
        OwnerKind::Intervention => {
            let i = crate::workshop::history::service::get(db, org, id).await?;
            (i.description.lines().next().unwrap_or_default().to_owned(), false)
        }
        OwnerKind::Quote => {
            let q = crate::workshop::quotes::service::get(db, org, id).await?;
            (q.number.clone(), false)
        }
        OwnerKind::Invoice => {
            let i = crate::billing::invoices::service::get(db, org, id).await?;
            (i.number.clone().unwrap_or_else(|| format!("#{}", i.id)), !i.status.can_edit())
        }
        OwnerKind::Client => (crate::workshop::clients::service::get(db, org, id).await?.name, false),
        OwnerKind::Candidate => {
            let c = crate::school::candidates::service::get(db, cipher, org, id).await?;
            (format!("{} {}", c.summary.first_name, c.summary.last_name), false)
        }
        OwnerKind::Instructor => {
            let i = crate::school::instructors::service::get(db, org, id).await?;
            (format!("{} {}", i.first_name, i.last_name), false)
        }
    };
    Ok(OwnerFacts { frozen, label })
}

/// Whether `current` may see (or, with `write`, change) the documents of owners of this kind.
pub fn may(current: &CurrentUser, kind: OwnerKind, write: bool) -> bool {
    let (read, change) = kind.permissions();
    current.user.may(if write { change } else { read })
}

/// An owner's documents, most recent first.
pub async fn list(db: &impl ConnectionTrait, org: OrgId, owner: Owner) -> AppResult<Vec<Attachment>> {
    let rows = attachment::Entity::find()
        .filter(attachment::Column::OrganizationId.eq(org.get()))
        .filter(attachment::Column::OwnerKind.eq(owner.kind))
        .filter(attachment::Column::OwnerId.eq(owner.id))
        .order_by_desc(attachment::Column::Id)
        .limit(500)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Attachment::from).collect())
}

/// One document's kind and validity, as a checklist reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindRow {
    pub id: i64,
    pub owner_id: i64,
    pub kind: DocumentKind,
    pub expires_on: Option<NaiveDate>,
}

/// The documents of these kinds that owners of one kind hold, newest first, in one query.
pub async fn kinds_of(
    db: &impl ConnectionTrait,
    org: OrgId,
    owner_kind: OwnerKind,
    owner_ids: &[i64],
    kinds: &[DocumentKind],
) -> AppResult<Vec<KindRow>> {
    if owner_ids.is_empty() || kinds.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, i64, DocumentKind, Option<NaiveDate>)> = attachment::Entity::find()
        .select_only()
        .columns([
            attachment::Column::Id,
            attachment::Column::OwnerId,
            attachment::Column::Kind,
            attachment::Column::ExpiresOn,
        ])
        .filter(attachment::Column::OrganizationId.eq(org.get()))
        .filter(attachment::Column::OwnerKind.eq(owner_kind))
        .filter(attachment::Column::OwnerId.is_in(owner_ids.iter().copied()))
        .filter(attachment::Column::Kind.is_in(kinds.iter().copied()))
        .order_by_desc(attachment::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, owner_id, kind, expires_on)| KindRow { id, owner_id, kind, expires_on }).collect())
}

async fn row(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<attachment::Model> {
    attachment::Entity::find_by_id(id)
        .filter(attachment::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// One document, if `current` may see its owner's documents (404 otherwise:
/// whoever may not see it is not told it exists).
pub async fn get(db: &impl ConnectionTrait, current: &CurrentUser, id: i64) -> AppResult<Attachment> {
    let found = row(db, current.user.org, id).await?;
    if !may(current, found.owner_kind, false) {
        return Err(AppError::NotFound);
    }
    Ok(found.into())
}

/// Which of a document's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    /// The display size, or the original when it is small enough.
    Preview,
    Thumbnail,
}

/// A file to send back.
#[derive(Debug)]
pub struct Download {
    pub attachment: Attachment,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// A document's file, decrypted when it is stored encrypted.
pub async fn download(
    db: &impl ConnectionTrait,
    storage: Storage<'_>,
    current: &CurrentUser,
    id: i64,
    variant: Variant,
) -> AppResult<Download> {
    let found = row(db, current.user.org, id).await?;
    if !may(current, found.owner_kind, false) {
        return Err(AppError::NotFound);
    }
    read_row(storage, found, variant).await
}

/// A document's file for a document Volant makes (a check-in's PDF prints its
/// photos): no permission asked, the organization's own rows only.
pub async fn read(
    db: &impl ConnectionTrait,
    storage: Storage<'_>,
    org: OrgId,
    id: i64,
    variant: Variant,
) -> AppResult<Download> {
    read_row(storage, row(db, org, id).await?, variant).await
}

async fn read_row(storage: Storage<'_>, found: attachment::Model, variant: Variant) -> AppResult<Download> {
    let id = found.id;
    let (key, content_type) = match variant {
        Variant::Original => (found.storage_key.clone(), content_type_of(&found.content_type)),
        Variant::Preview => match &found.preview_key {
            Some(key) => (key.clone(), "image/jpeg"),
            None => (found.storage_key.clone(), content_type_of(&found.content_type)),
        },
        Variant::Thumbnail => (found.thumbnail_key.clone().ok_or(AppError::NotFound)?, "image/jpeg"),
    };
    let stored = storage
        .files
        .get(&key)
        .await
        .map_err(|e| AppError::Unavailable(format!("file store: {e}")))?
        .ok_or_else(|| AppError::Internal(format!("attachment {id}: its file `{key}` is missing")))?;
    let bytes = if found.encrypted { storage.cipher.decrypt_bytes(&key, &stored)? } else { stored };
    Ok(Download { attachment: found.into(), content_type, bytes })
}

/// The content types served: only those [`uploads`] produces (never one the client named).
fn content_type_of(stored: &str) -> &'static str {
    FileType::from_content_type(stored).map_or("application/octet-stream", FileType::content_type)
}

struct Described {
    kind: DocumentKind,
    title: Option<String>,
    expires_on: Option<NaiveDate>,
}

fn describe(owner: OwnerKind, input: &UploadInput) -> AppResult<Described> {
    let mut v = Validator::new();
    let kind = DocumentKind::parse(input.kind.trim()).filter(|k| owner.kinds().contains(k));
    if kind.is_none() {
        v.add("kind", Msg::new("document.kind_invalid"));
    }
    let title = v.optional_text("title", input.title.as_deref(), 200);
    let expires_on = match input.expires_on.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if (1900..=2200).contains(&chrono::Datelike::year(&date)) => Some(date),
            _ => {
                v.add("expires_on", Msg::new("field.date_invalid"));
                None
            }
        },
        None => None,
    };
    v.finish()?;
    let kind = kind.ok_or_else(|| AppError::validation("kind", Msg::new("document.kind_invalid")))?;
    Ok(Described { kind, title, expires_on })
}

fn refused(refusal: &Refusal) -> AppError {
    let message = match refusal {
        Refusal::Unsupported => Msg::new("document.unsupported"),
        Refusal::Heic => Msg::new("document.heic"),
        Refusal::TooManyPixels => Msg::new("document.too_many_pixels").arg("max", uploads::MAX_SIDE),
        Refusal::Unreadable(_) => Msg::new("document.unreadable"),
    };
    AppError::validation("file", message)
}

fn too_large(limits: Limits) -> AppError {
    AppError::validation("file", Msg::new("document.too_large").arg("max", limits.max_file_bytes / 1_000_000))
}

fn over_quota(limits: Limits) -> AppError {
    AppError::conflict_on(
        "file",
        "storage_quota_reached",
        Msg::new("document.quota").arg("quota", limits.quota_bytes / 1_000_000),
    )
}

/// A blob ready to store: its key and its bytes as stored.
struct Blob {
    key: String,
    bytes: Vec<u8>,
}

/// Adds documents to `owner`: each file checked, reduced and stored, then all
/// their rows in one transaction (all or none). 422 naming `file` for a file
/// refused (its type, its size, a damaged image), 409 `storage_quota_reached`.
pub async fn upload<C: Writer>(
    db: &C,
    storage: Storage<'_>,
    actor: &Actor,
    owner: Owner,
    input: &UploadInput,
    files: Vec<Incoming>,
) -> AppResult<Vec<Attachment>> {
    owner_facts(db, storage.cipher, actor.org, owner).await?;
    let described = describe(owner.kind, input)?;
    if described.kind.is_generated() {
        return Err(AppError::validation("kind", Msg::new("document.kind_invalid")));
    }
    if files.is_empty() {
        return Err(AppError::validation("file", Msg::new("document.no_file")));
    }
    if files.len() > MAX_FILES {
        return Err(AppError::validation("file", Msg::new("document.too_many_files").arg("max", MAX_FILES)));
    }
    if files.iter().any(|f| f.bytes.len() as u64 > storage.limits.max_file_bytes) {
        return Err(too_large(storage.limits));
    }
    // A first look at the quota before any work (the transaction decides).
    let incoming: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    if used_bytes(db, actor.org).await?.saturating_add(incoming) > storage.limits.quota_bytes {
        return Err(over_quota(storage.limits));
    }
    let keep_metadata = organizations::get(db, actor.org).await?.keep_photo_metadata;
    let mut prepared = Vec::with_capacity(files.len());
    for file in files {
        let processed = uploads::process(file.bytes, keep_metadata).await.map_err(|r| refused(&r))?;
        prepared.push(prepare(storage, actor, owner, &described, file.name, processed)?);
    }
    let mut written: Vec<String> = Vec::new();
    for (_, blobs) in &prepared {
        for blob in blobs {
            if let Err(err) = storage.files.put(&blob.key, blob.bytes.clone()).await {
                forget_blobs(storage.files, &written).await;
                return Err(AppError::Unavailable(format!("file store: {err}")));
            }
            written.push(blob.key.clone());
        }
    }
    let quota = storage.limits.quota_bytes;
    let saved = db::write(db, async |txn| {
        // Still there: an owner deleted meanwhile takes no documents.
        owner_facts(txn, storage.cipher, actor.org, owner).await?;
        let total: i64 = prepared.iter().map(|(row, _)| row.stored_bytes.clone().take().unwrap_or(0)).sum();
        reserve(txn, actor.org, total, quota).await?;
        let mut saved = Vec::with_capacity(prepared.len());
        for (row, _) in &prepared {
            let inserted = row.clone().insert(txn).await?;
            let created = Attachment::from(inserted.clone());
            audit::record_change(txn, actor, ("attachment", inserted.id), None, Some(&created)).await?;
            saved.push(created);
        }
        AppResult::Ok(saved)
    })
    .await;
    // Refused, the blobs are left to the cleanup, which removes them once no row
    // names them (a commit whose outcome is unknown may have kept the rows).
    saved.map_err(|err| match err {
        AppError::Conflict { code: "storage_quota_reached", .. } => over_quota(storage.limits),
        other => other,
    })
}

/// A generated file (a check-in's signature or PDF), checked and in the store,
/// waiting for its row: [`insert_generated`] in the caller's transaction.
pub struct Generated {
    row: attachment::ActiveModel,
}

/// Checks and stores a generated file for `owner`, before the caller's
/// transaction (no decoding nor store round trip while it holds the writer's turn).
pub async fn store_generated(
    storage: Storage<'_>,
    actor: &Actor,
    owner: Owner,
    kind: DocumentKind,
    title: &str,
    bytes: Vec<u8>,
) -> AppResult<Generated> {
    // Generated files (a signature, a PDF made here) have no metadata to keep.
    let processed = uploads::process(bytes, false).await.map_err(|r| refused(&r))?;
    let described = Described { kind, title: Some(title.to_owned()), expires_on: None };
    let (row, blobs) = prepare(storage, actor, owner, &described, None, processed)?;
    for blob in blobs {
        storage
            .files
            .put(&blob.key, blob.bytes)
            .await
            .map_err(|e| AppError::Unavailable(format!("file store: {e}")))?;
    }
    Ok(Generated { row })
}

/// Inserts a stored generated file's row in the caller's transaction (kept
/// whatever the quota says, counted in it); a rollback leaves its blobs to the cleanup.
pub async fn insert_generated(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    generated: Generated,
) -> AppResult<Attachment> {
    let stored = generated.row.stored_bytes.clone().take().unwrap_or(0);
    reserve(txn, actor.org, stored, u64::MAX).await?;
    let inserted = generated.row.insert(txn).await?;
    let created = Attachment::from(inserted.clone());
    audit::record_change(txn, actor, ("attachment", inserted.id), None, Some(&created)).await?;
    Ok(created)
}

fn prepare(
    storage: Storage<'_>,
    actor: &Actor,
    owner: Owner,
    described: &Described,
    original_name: Option<String>,
    processed: uploads::Processed,
) -> AppResult<(attachment::ActiveModel, Vec<Blob>)> {
    let org = actor.org;
    let base = format!("{PREFIX}/{}/{}", org.get(), crate::platform::secrets::random_token(16)?);
    let encrypted = owner.kind.encrypted();
    let seal = |key: &str, bytes: Vec<u8>| -> AppResult<Blob> {
        let bytes = if encrypted { storage.cipher.encrypt_bytes(key, &bytes)? } else { bytes };
        Ok(Blob { key: key.to_owned(), bytes })
    };
    let sha256 = hex::encode(Sha256::digest(&processed.original));
    let size = processed.original.len() as i64;
    let original_key = format!("{base}/original");
    let mut blobs = vec![seal(&original_key, processed.original)?];
    let preview_key = match processed.preview {
        Some(bytes) => {
            let key = format!("{base}/preview");
            blobs.push(seal(&key, bytes)?);
            Some(key)
        }
        None => None,
    };
    let thumbnail_key = match processed.thumbnail {
        Some(bytes) => {
            let key = format!("{base}/thumbnail");
            blobs.push(seal(&key, bytes)?);
            Some(key)
        }
        None => None,
    };
    let stored: i64 = blobs.iter().map(|b| b.bytes.len() as i64).sum();
    let original_name = original_name.map(|n| clean_name(&n)).filter(|n| !n.is_empty());
    let title = described
        .title
        .clone()
        .or_else(|| original_name.clone())
        .unwrap_or_else(|| Msg::new(described.kind.label_key()).render(crate::platform::i18n::current()));
    let row = attachment::ActiveModel {
        organization_id: Set(org.get()),
        owner_kind: Set(owner.kind),
        owner_id: Set(owner.id),
        kind: Set(described.kind),
        title: Set(title.chars().take(200).collect()),
        expires_on: Set(described.expires_on),
        content_type: Set(processed.file_type.content_type().to_owned()),
        size_bytes: Set(size),
        stored_bytes: Set(std::cmp::max(stored, size)),
        sha256: Set(sha256),
        storage_key: Set(original_key),
        preview_key: Set(preview_key),
        thumbnail_key: Set(thumbnail_key),
        width: Set(processed.width.and_then(|w| i32::try_from(w).ok())),
        height: Set(processed.height.and_then(|h| i32::try_from(h).ok())),
        encrypted: Set(encrypted),
        original_name: Set(original_name),
        created_by: Set(actor.user_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    Ok((row, blobs))
}

/// A device's file name, kept for the record: its last path part, printable, 255 characters at most.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    last.chars().filter(|c| !c.is_control()).take(255).collect::<String>().trim().to_owned()
}

async fn forget_blobs(files: &FileStore, keys: &[String]) {
    for key in keys {
        if let Err(err) = files.delete(key).await {
            // The cleanup job removes it later.
            tracing::warn!(%key, %err, "a blob of a refused upload stays until the cleanup");
        }
    }
}

/// Bytes the organization stores.
pub async fn used_bytes(db: &impl ConnectionTrait, org: OrgId) -> AppResult<u64> {
    let found = usage::Entity::find_by_id(org.get()).one(db).await?;
    Ok(found.map_or(0, |u| u64::try_from(u.used_bytes).unwrap_or(0)))
}

/// Counts `bytes` more against the organization's quota, or refuses (one guarded UPDATE).
async fn reserve(txn: &sea_orm::DatabaseTransaction, org: OrgId, bytes: i64, quota: u64) -> AppResult<()> {
    usage::Entity::insert(usage::ActiveModel { organization_id: Set(org.get()), used_bytes: Set(0) })
        .on_conflict(OnConflict::column(usage::Column::OrganizationId).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
    let quota = i64::try_from(quota).unwrap_or(i64::MAX);
    let updated = usage::Entity::update_many()
        .col_expr(usage::Column::UsedBytes, Expr::col(usage::Column::UsedBytes).add(bytes))
        .filter(usage::Column::OrganizationId.eq(org.get()))
        .filter(Expr::col(usage::Column::UsedBytes).lte(quota.saturating_sub(bytes)))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::conflict("storage_quota_reached", Msg::new("document.quota")));
    }
    Ok(())
}

/// Removes rows in the caller's transaction: their bytes leave the quota and
/// their blobs go to the trash (removed from the store after [`GRACE`]).
async fn remove_rows(txn: &impl ConnectionTrait, org: OrgId, rows: &[attachment::Model]) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let freed: i64 = rows.iter().map(|r| r.stored_bytes).sum();
    let keys: Vec<String> = rows
        .iter()
        .flat_map(|r| [Some(r.storage_key.clone()), r.preview_key.clone(), r.thumbnail_key.clone()])
        .flatten()
        .collect();
    trash::Entity::insert_many(
        keys.into_iter().map(|key| trash::ActiveModel { storage_key: Set(key), deleted_at: Set(now) }),
    )
    .on_conflict(OnConflict::column(trash::Column::StorageKey).do_nothing().to_owned())
    .exec_without_returning(txn)
    .await?;
    attachment::Entity::delete_many().filter(attachment::Column::Id.is_in(rows.iter().map(|r| r.id))).exec(txn).await?;
    usage::Entity::update_many()
        .col_expr(
            usage::Column::UsedBytes,
            Expr::Case(Box::new(
                sea_orm::sea_query::CaseStatement::new()
                    .case(Expr::col(usage::Column::UsedBytes).gt(freed), Expr::col(usage::Column::UsedBytes).sub(freed))
                    .finally(0),
            )),
        )
        .filter(usage::Column::OrganizationId.eq(org.get()))
        .exec(txn)
        .await?;
    Ok(())
}

/// Deletes a document: 403 without its owner's write permission, 409
/// `attachment_kept` for an issued invoice's documents and a check-in's
/// signature and report (kept as long as what they belong to).
pub async fn delete<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    current: &CurrentUser,
    actor: &Actor,
    id: i64,
) -> AppResult<()> {
    db::write(db, async |txn| {
        let found = row(txn, actor.org, id).await?;
        if !may(current, found.owner_kind, false) {
            return Err(AppError::NotFound);
        }
        current.user.require(found.owner_kind.permissions().1)?;
        let facts = owner_facts(txn, cipher, actor.org, Owner { kind: found.owner_kind, id: found.owner_id }).await?;
        if facts.frozen || found.kind.is_generated() {
            return Err(AppError::conflict("attachment_kept", Msg::new("document.kept")));
        }
        let before = Attachment::from(found.clone());
        // A document something else refers to (a contract's signed scan) is kept as long as that.
        remove_rows(txn, actor.org, &[found]).await.map_err(|err| match err {
            AppError::Database(db_err) => AppError::conflict("attachment_kept", Msg::new("document.kept"))
                .if_refused(db_err, crate::platform::error::Constraint::is_foreign_key),
            other => other,
        })?;
        audit::record_change(txn, actor, ("attachment", id), Some(&before), None).await
    })
    .await
}

/// Changes a document's kind, title or expiry.
pub async fn update<C: Writer>(
    db: &C,
    current: &CurrentUser,
    actor: &Actor,
    id: i64,
    change: &AttachmentChange,
) -> AppResult<Attachment> {
    db::write(db, async |txn| {
        let found = row(txn, actor.org, id).await?;
        if !may(current, found.owner_kind, false) {
            return Err(AppError::NotFound);
        }
        current.user.require(found.owner_kind.permissions().1)?;
        let before = Attachment::from(found.clone());
        let input = UploadInput {
            kind: change.kind.clone().unwrap_or_else(|| found.kind.as_str().to_owned()),
            title: change.title.clone().or_else(|| Some(found.title.clone())),
            expires_on: match &change.expires_on {
                Some(value) => value.clone(),
                None => found.expires_on.map(|d| d.to_string()),
            },
        };
        if found.kind.is_generated() && change.kind.is_some() {
            return Err(AppError::conflict("attachment_kept", Msg::new("document.kept")));
        }
        let described = if found.kind.is_generated() {
            let mut v = Validator::new();
            let title = v.optional_text("title", input.title.as_deref(), 200);
            v.finish()?;
            Described { kind: found.kind, title, expires_on: None }
        } else {
            describe(found.owner_kind, &input)?
        };
        let mut active: attachment::ActiveModel = found.into();
        active.kind = Set(described.kind);
        if let Some(title) = described.title {
            active.title = Set(title);
        }
        active.expires_on = Set(described.expires_on);
        let after = Attachment::from(active.update(txn).await?);
        audit::record_change(txn, actor, ("attachment", id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

/// Deletes every document of an owner being deleted, in its transaction (its
/// own service calls this).
pub async fn forget_owner(txn: &impl ConnectionTrait, org: OrgId, owner: Owner) -> AppResult<()> {
    let rows = attachment::Entity::find()
        .filter(attachment::Column::OrganizationId.eq(org.get()))
        .filter(attachment::Column::OwnerKind.eq(owner.kind))
        .filter(attachment::Column::OwnerId.eq(owner.id))
        .all(txn)
        .await?;
    remove_rows(txn, org, &rows).await
}

/// Documents that expired or expire within [`EXPIRY_NOTICE_DAYS`], soonest
/// first, of the owner kinds given (those the reader may see).
pub async fn expiring(
    db: &impl ConnectionTrait,
    org: OrgId,
    kinds: &[OwnerKind],
    today: NaiveDate,
) -> AppResult<Vec<Attachment>> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let rows = attachment::Entity::find()
        .filter(attachment::Column::OrganizationId.eq(org.get()))
        .filter(attachment::Column::OwnerKind.is_in(kinds.iter().copied()))
        .filter(attachment::Column::ExpiresOn.lte(today + chrono::Duration::days(EXPIRY_NOTICE_DAYS)))
        .order_by_asc(attachment::Column::ExpiresOn)
        .order_by_asc(attachment::Column::Id)
        .limit(500)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Attachment::from).collect())
}

/// Documents listed by name in an expiry notice; the page lists them all.
const NOTICE_LISTED: usize = 10;

/// Whether a document is due its expiry notice as of `today`: expired or
/// expiring within [`EXPIRY_NOTICE_DAYS`], and not yet notified for this date.
fn notice_due(today: NaiveDate) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(attachment::Column::ExpiresOn.lte(today + chrono::Duration::days(EXPIRY_NOTICE_DAYS)))
        .add(
            sea_orm::Condition::any()
                .add(attachment::Column::ExpiryNoticeFor.is_null())
                .add(Expr::col(attachment::Column::ExpiryNoticeFor).ne(Expr::col(attachment::Column::ExpiresOn))),
        )
}

/// The hourly run: tells each organization's administrators and managers of its
/// documents newly expired or expiring within [`EXPIRY_NOTICE_DAYS`] (in-app and
/// by e-mail, as they chose), once per document and expiry date: the documents
/// are claimed by a conditional UPDATE in the notice's transaction, so that two
/// instances running it at once notify them once. Each organization's documents
/// are counted from its own day at `now` (a Paris garage's day begins an hour
/// before UTC's). Returns the documents notified.
#[tracing::instrument(skip_all, err)]
pub async fn notify_expiring<C: Writer>(db: &C, cipher: &FieldCipher, now: chrono::DateTime<Utc>) -> AppResult<u64> {
    // The latest day any time zone is in (UTC+14): every organization with a
    // document perhaps due somewhere.
    let latest = (now + chrono::Duration::hours(14)).date_naive();
    let orgs: Vec<i64> = attachment::Entity::find()
        .select_only()
        .column(attachment::Column::OrganizationId)
        .distinct()
        .filter(notice_due(latest))
        .into_tuple()
        .all(db)
        .await?;
    let mut notified = 0_u64;
    for org in orgs.into_iter().map(OrgId::new) {
        let today = match organizations::zone(db, org).await {
            Ok(zone) => now.with_timezone(&zone).date_naive(),
            Err(err) => {
                tracing::error!(org = org.get(), %err, "expiry notices: no time zone");
                continue;
            }
        };
        let sent = db::write(db, async |txn| {
            let mut claimed = attachment::Entity::update_many()
                .col_expr(attachment::Column::ExpiryNoticeFor, Expr::col(attachment::Column::ExpiresOn))
                .filter(attachment::Column::OrganizationId.eq(org.get()))
                .filter(notice_due(today))
                .exec_with_returning(txn)
                .await?;
            claimed.sort_by_key(|a| (a.expires_on, a.id));
            let documents: Vec<Attachment> = claimed.into_iter().map(Attachment::from).collect();
            if !documents.is_empty() {
                send_expiry_notice(txn, cipher, org, &documents, today).await?;
            }
            AppResult::Ok(documents.len() as u64)
        })
        .await;
        // One organization's failure (its store, its data) does not keep the
        // others' notices back; its documents stay unclaimed for the next run.
        match sent {
            Ok(count) => notified += count,
            Err(err) => tracing::error!(org = org.get(), %err, "expiry notice not sent"),
        }
    }
    if notified > 0 {
        tracing::info!(notified, "expiring documents notified");
    }
    Ok(notified)
}

async fn send_expiry_notice(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    documents: &[Attachment],
    today: NaiveDate,
) -> AppResult<()> {
    use crate::identity::roles::Role;
    use crate::notify::{self, Event, Notice};
    let organization = organizations::get(db, org).await?;
    let locale = organization.locale;
    let mut lines = Vec::new();
    for document in documents.iter().take(NOTICE_LISTED) {
        let owner = Owner { kind: document.owner_kind, id: document.owner_id };
        let label = match owner_facts(db, cipher, org, owner).await {
            Ok(facts) => facts.label,
            Err(AppError::NotFound) => continue,
            // An owner that cannot be read (a removed key) is still worth the notice.
            Err(err) => {
                tracing::warn!(org = org.get(), %err, "a document's owner could not be read for its notice");
                locale.text(owner.kind.label_key()).to_owned()
            }
        };
        let Some(expires_on) = document.expires_on else { continue };
        let key = if expires_on < today { "document.notice_line_expired" } else { "document.notice_line_expiring" };
        let args = [("title", document.title.as_str()), ("owner", label.as_str()), ("date", &locale.date(expires_on))];
        lines.push(format!("- {}", locale.format(key, &args)));
    }
    let count = documents.len().to_string();
    if documents.len() > NOTICE_LISTED {
        lines.push(locale.format("document.notice_more", &[("count", &(documents.len() - NOTICE_LISTED).to_string())]));
    }
    let subject = locale.format("document.notice_subject", &[("count", &count), ("organization", &organization.name)]);
    // The titles and names as typed, between the sentences (whose `\n` are line breaks).
    let intro = locale.format("document.notice_intro", &[("count", &count)]).replace("\\n", "\n");
    let outro = locale.text("document.notice_outro").replace("\\n", "\n");
    let body = format!("{intro}\n\n{}\n\n{outro}", lines.join("\n"));
    for (user, email) in crate::identity::users::service::with_roles(db, org, &[Role::Admin, Role::Manager]).await? {
        let notice = Notice::new(Event::DocumentExpiring, subject.clone(), body.clone())
            .user(Some(user))
            .email(Some(email))
            .link("/documents/expiring");
        notify::send(db, org, notice).await?;
    }
    Ok(())
}

/// Re-encrypts the stored files still sealed with an older key (after a key
/// rotation, `volant reencrypt-fields`): each blob read, opened and sealed again
/// under its own key, then written back in place (a store's write replaces a
/// blob whole). A blob missing from the store is left with a warning. Returns
/// how many blobs changed; a second run finds none.
pub async fn reencrypt_files(db: &impl ConnectionTrait, files: &FileStore, cipher: &FieldCipher) -> AppResult<u64> {
    let store_error = |e: String| AppError::Unavailable(format!("file store: {e}"));
    let mut after = 0_i64;
    let mut changed = 0_u64;
    loop {
        let rows = attachment::Entity::find()
            .filter(attachment::Column::Encrypted.eq(true))
            .filter(attachment::Column::Id.gt(after))
            .order_by_asc(attachment::Column::Id)
            .limit(200)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for key in rows.into_iter().flat_map(|r| [Some(r.storage_key), r.preview_key, r.thumbnail_key]).flatten() {
            let Some(stored) = files.get(&key).await.map_err(store_error)? else {
                tracing::warn!(%key, "an encrypted document's blob is missing from the store");
                continue;
            };
            if !cipher.is_stale_bytes(&stored) {
                continue;
            }
            let sealed = cipher.encrypt_bytes(&key, &cipher.decrypt_bytes(&key, &stored)?)?;
            files.put(&key, sealed).await.map_err(store_error)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// What a cleanup did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cleaned {
    /// Blobs of deleted documents removed after their grace.
    pub trashed: usize,
    /// Blobs no row names (an upload that never finished), removed.
    pub orphans: usize,
}

/// Removes from the store the blobs of documents deleted more than [`GRACE`]
/// ago, and the blobs older than that which no document names.
pub async fn cleanup<C: Writer>(db: &C, files: &FileStore, now: chrono::DateTime<Utc>) -> AppResult<Cleaned> {
    let cutoff = now - GRACE;
    let mut cleaned = Cleaned::default();
    let due = trash::Entity::find().filter(trash::Column::DeletedAt.lt(cutoff)).limit(5000).all(db).await?;
    for entry in due {
        files.delete(&entry.storage_key).await.map_err(|e| AppError::Unavailable(format!("file store: {e}")))?;
        trash::Entity::delete_by_id(entry.storage_key).exec(db).await?;
        cleaned.trashed += 1;
    }
    let listed = files.list(PREFIX).await.map_err(|e| AppError::Unavailable(format!("file store: {e}")))?;
    let old: Vec<String> = listed.into_iter().filter(|(_, at)| *at < cutoff).map(|(key, _)| key).collect();
    for chunk in old.chunks(300) {
        let named: std::collections::HashSet<String> = attachment::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(attachment::Column::StorageKey.is_in(chunk.iter().cloned()))
                    .add(attachment::Column::PreviewKey.is_in(chunk.iter().cloned()))
                    .add(attachment::Column::ThumbnailKey.is_in(chunk.iter().cloned())),
            )
            .all(db)
            .await?
            .into_iter()
            .flat_map(|r| [Some(r.storage_key), r.preview_key, r.thumbnail_key])
            .flatten()
            .collect();
        for key in chunk.iter().filter(|k| !named.contains(*k)) {
            files.delete(key).await.map_err(|e| AppError::Unavailable(format!("file store: {e}")))?;
            cleaned.orphans += 1;
        }
    }
    if cleaned != Cleaned::default() {
        tracing::info!(trashed = cleaned.trashed, orphans = cleaned.orphans, "document blobs removed");
    }
    Ok(cleaned)
}

/// Where the database names the documents' blobs: what a backup copies beside
/// the database (and checks at restore).
pub const BLOBS: crate::platform::backup::BlobColumns = crate::platform::backup::BlobColumns {
    table: "attachments",
    columns: &["storage_key", "preview_key", "thumbnail_key"],
};
