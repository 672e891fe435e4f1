//! Consistent online backups and checked restores, with the database engines'
//! own tools: SQLite's `VACUUM INTO`, PostgreSQL's `pg_dump` (custom format,
//! from an exported snapshot) and `pg_restore`.
//!
//! Each backup file has a manifest beside it (`<file>.json`): the file's
//! SHA-256, the schema's migration, and every table's row count and content
//! checksum, read from the same snapshot as the copy. A restore goes only into
//! an empty database, checks the file against its digest first, and checks the
//! restored tables against the manifest after.
//!
//! With recipients (`VOLANT_BACKUP_RECIPIENTS`), the database file and every
//! copied document are encrypted to them in the age format before they reach the
//! backup folder (the clear copy is made in a private temporary folder); the
//! manifest stays readable (names, counts and digests, no values) so that a
//! damaged file is told before any key is needed. A restore drill
//! ([`drill`]) restores the newest backup into a scratch database and drops it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseBackend, DatabaseConnection, IsolationLevel, Statement, StreamTrait,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::platform::db::{self, DbSettings};

/// Backup file names sort by time: `volant-20261121T023000.000Z.dump`.
const STAMP: &str = "%Y%m%dT%H%M%S%.3fZ";

/// A table as a backup saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSummary {
    pub rows: i64,
    /// SHA-256 of the rows' text, in primary-key order.
    pub sha256: String,
}

/// What a backup holds, written beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub file: String,
    pub file_sha256: String,
    pub backend: String,
    pub created_at: DateTime<Utc>,
    /// The latest migration applied.
    pub migration: String,
    pub tables: BTreeMap<String, TableSummary>,
    /// The files the database names (documents, photos), copied beside the
    /// backup in `<file>.files/` as stored (encrypted ones stay encrypted): each
    /// key with the SHA-256 of its bytes.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Whether the file and the documents are age-encrypted (the digests are the
    /// encrypted bytes').
    #[serde(default)]
    pub encrypted: bool,
    /// The public keys it was encrypted to: which backups still need an old key.
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// The age recipients a comma- or space-separated list names; the first that is
/// not one in the error.
pub fn recipients(list: &str) -> Result<Vec<age::x25519::Recipient>, String> {
    list.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(|key| key.parse::<age::x25519::Recipient>().map_err(|_| key.chars().take(80).collect()))
        .collect()
}

/// The identities of an age identity file (`AGE-SECRET-KEY-1…` lines; `#` comments).
pub fn read_identities(file: &Path) -> Result<Vec<age::x25519::Identity>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("backup identity file {}: {e}", file.display()))?;
    let identities = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .enumerate()
        .map(|(n, line)| {
            line.parse::<age::x25519::Identity>()
                .map_err(|_| format!("backup identity file {}: line {} is not an age identity", file.display(), n + 1))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if identities.is_empty() {
        return Err(format!("backup identity file {} holds no identity", file.display()));
    }
    Ok(identities)
}

/// A new identity and its public key, for `volant generate-backup-key`.
pub fn generate_identity() -> (String, String) {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    (identity.to_string().expose_secret().to_owned(), identity.to_public().to_string())
}

fn encryptor(recipients: &[age::x25519::Recipient]) -> Result<age::Encryptor, String> {
    age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient)).map_err(|e| e.to_string())
}

/// `bytes` encrypted to `recipients`.
fn encrypt_bytes(bytes: &[u8], recipients: &[age::x25519::Recipient]) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut out = Vec::with_capacity(bytes.len() + 256);
    let mut writer = encryptor(recipients)?.wrap_output(&mut out).map_err(|e| e.to_string())?;
    writer.write_all(bytes).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn decrypting<R: std::io::Read>(reader: R, identities: &[age::x25519::Identity]) -> Result<impl std::io::Read, String> {
    if identities.is_empty() {
        return Err(
            "this backup is encrypted: give the identity file that opens it (VOLANT_BACKUP_IDENTITY_FILE, or volant restore --identity)".to_owned()
        );
    }
    let decryptor = age::Decryptor::new(reader).map_err(|e| format!("not an age file: {e}"))?;
    decryptor.decrypt(identities.iter().map(|i| i as &dyn age::Identity)).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys => "none of the identities given opens this backup".to_owned(),
        other => format!("the backup does not decrypt: {other}"),
    })
}

/// `bytes` decrypted with `identities`.
fn decrypt_bytes(bytes: &[u8], identities: &[age::x25519::Identity]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::with_capacity(bytes.len());
    decrypting(bytes, identities)?.read_to_end(&mut out).map_err(|e| format!("the backup does not decrypt: {e}"))?;
    Ok(out)
}

/// Streams `from` into `to`, encrypted (off the async runtime).
async fn encrypt_file(from: &Path, to: &Path, recipients: &[age::x25519::Recipient]) -> Result<(), String> {
    let (from, to, recipients) = (from.to_path_buf(), to.to_path_buf(), recipients.to_vec());
    tokio::task::spawn_blocking(move || {
        let mut reader = std::fs::File::open(&from).map_err(|e| format!("{}: {e}", from.display()))?;
        let output = std::fs::File::create(&to).map_err(|e| format!("{}: {e}", to.display()))?;
        let mut writer =
            encryptor(&recipients)?.wrap_output(std::io::BufWriter::new(output)).map_err(|e| e.to_string())?;
        std::io::copy(&mut reader, &mut writer).map_err(|e| format!("{}: {e}", to.display()))?;
        let mut output = writer.finish().map_err(|e| e.to_string())?;
        std::io::Write::flush(&mut output).map_err(|e| e.to_string())?;
        output.into_inner().map_err(|e| e.to_string())?.sync_all().map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Streams `from` into `to`, decrypted (off the async runtime).
async fn decrypt_file(from: &Path, to: &Path, identities: &[age::x25519::Identity]) -> Result<(), String> {
    let (from, to, identities) = (from.to_path_buf(), to.to_path_buf(), identities.to_vec());
    tokio::task::spawn_blocking(move || {
        let reader = std::fs::File::open(&from).map_err(|e| format!("{}: {e}", from.display()))?;
        let mut clear = decrypting(std::io::BufReader::new(reader), &identities)?;
        let mut output = std::fs::File::create(&to).map_err(|e| format!("{}: {e}", to.display()))?;
        std::io::copy(&mut clear, &mut output).map_err(|e| format!("the backup does not decrypt: {e}"))?;
        output.sync_all().map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Where the database names files of the object store: a table and its columns
/// holding keys (the documents' `attachments`), read from the backup's snapshot.
#[derive(Debug, Clone, Copy)]
pub struct BlobColumns {
    pub table: &'static str,
    pub columns: &'static [&'static str],
}

/// The files a backup copies: the store, and where the database names them.
#[derive(Clone, Copy)]
pub struct Blobs<'a> {
    pub store: &'a crate::platform::files::FileStore,
    pub named_in: &'a [BlobColumns],
}

/// How a backup is made: its files, and the keys it is encrypted to (none: in clear).
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    pub blobs: Option<Blobs<'a>>,
    pub recipients: &'a [age::x25519::Recipient],
}

/// The keys `named_in` lists, read through `db` (the backup's snapshot or copy).
async fn named_keys(db: &impl ConnectionTrait, named_in: &[BlobColumns]) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    for source in named_in {
        for column in source.columns {
            let sql = format!("SELECT {column} FROM {} WHERE {column} IS NOT NULL", source.table);
            let rows = db
                .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .map_err(|e| e.to_string())?;
            keys.extend(rows.iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()));
        }
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

fn files_dir(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.files", file.display()))
}

/// Copies each blob beside the backup; their digests for the manifest.
async fn copy_blobs(
    store: &crate::platform::files::FileStore,
    keys: &[String],
    file: &Path,
    recipients: &[age::x25519::Recipient],
) -> Result<BTreeMap<String, String>, String> {
    let mut digests = BTreeMap::new();
    let dir = files_dir(file);
    for key in keys {
        // A file lost from the store must not stop every backup: it is said, and left out.
        let Some(bytes) = store.get(key).await? else {
            tracing::warn!(%key, "a file named by the database is missing from the store: not in this backup");
            continue;
        };
        let target = dir.join(key);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let bytes = if recipients.is_empty() { bytes } else { encrypt_bytes(&bytes, recipients)? };
        digests.insert(key.clone(), hex::encode(Sha256::digest(&bytes)));
        tokio::fs::write(&target, bytes).await.map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(digests)
}

/// Every table of the current schema (or SQLite file), with its summary.
pub async fn summarize<C: ConnectionTrait + StreamTrait>(db: &C) -> Result<BTreeMap<String, TableSummary>, String> {
    let backend = ConnectionTrait::get_database_backend(db);
    let list = match backend {
        DatabaseBackend::Postgres => {
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    };
    let tables: Vec<String> = db
        .query_all_raw(Statement::from_string(backend, list.to_owned()))
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        .collect();
    let mut summaries = BTreeMap::new();
    for table in tables {
        let rows_sql = match backend {
            // A row's text form, in a stable order (the row's own text breaks ties).
            DatabaseBackend::Postgres => format!("SELECT t::text FROM \"{table}\" t ORDER BY 1"),
            _ => {
                let columns: Vec<String> = db
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT name FROM pragma_table_info('{table}')"),
                    ))
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter_map(|row| row.try_get_by_index::<String>(0).ok())
                    .collect();
                let quoted = columns.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || ',' || ");
                format!("SELECT {quoted} FROM \"{table}\" ORDER BY 1")
            }
        };
        let mut hasher = Sha256::new();
        let mut rows = 0_i64;
        let stream = db.stream_raw(Statement::from_string(backend, rows_sql)).await.map_err(|e| e.to_string())?;
        let mut stream = std::pin::pin!(stream);
        while let Some(row) = stream.next().await {
            let row = row.map_err(|e| e.to_string())?;
            let text: Option<String> = row.try_get_by_index(0).map_err(|e| e.to_string())?;
            hasher.update(text.unwrap_or_default().as_bytes());
            hasher.update(b"\n");
            rows += 1;
        }
        summaries.insert(table, TableSummary { rows, sha256: hex::encode(hasher.finalize()) });
    }
    Ok(summaries)
}

async fn latest_migration(db: &impl ConnectionTrait) -> Result<String, String> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT MAX(version) FROM seaql_migrations".to_owned(),
        ))
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.and_then(|r| r.try_get_by_index::<Option<String>>(0).ok().flatten()).unwrap_or_default())
}

/// Makes a backup of `url`'s database in `dir`; returns its manifest.
pub async fn backup(db: &DatabaseConnection, url: &str, dir: &Path, options: Options<'_>) -> Result<Manifest, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let stamp = Utc::now().format(STAMP);
    let Options { blobs, recipients } = options;
    let encrypted = !recipients.is_empty();
    // An encrypted backup's clear copy never touches the backup folder: it is made
    // in a temporary folder only this user reads, then encrypted into place.
    let clear_dir = if encrypted { Some(tempfile::tempdir().map_err(|e| e.to_string())?) } else { None };
    let work = clear_dir.as_ref().map_or(dir, |d| d.path());
    let named_in = blobs.map_or(&[][..], |b| b.named_in);
    let (file, tables, migration, keys) = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let file = work.join(format!("volant-{stamp}.dump"));
            // One snapshot for the dump and the manifest: they describe the same instant.
            let txn = db
                .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                .await
                .map_err(|e| e.to_string())?;
            let snapshot: String = txn
                .query_one_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT pg_export_snapshot()".to_owned(),
                ))
                .await
                .map_err(|e| e.to_string())?
                .and_then(|row| row.try_get_by_index(0).ok())
                .ok_or("no snapshot")?;
            let mut args = vec![
                "--format=custom".to_owned(),
                format!("--snapshot={snapshot}"),
                format!("--file={}", file.display()),
            ];
            if let Some(schema) = schema_of(url) {
                args.push(format!("--schema={schema}"));
            }
            run_tool("pg_dump", &args, url).await?;
            let tables = summarize(&txn).await?;
            let migration = latest_migration(&txn).await?;
            let keys = named_keys(&txn, named_in).await?;
            txn.commit().await.map_err(|e| e.to_string())?;
            (file, tables, migration, keys)
        }
        _ => {
            let file = work.join(format!("volant-{stamp}.db"));
            let target = file.display().to_string().replace('\'', "''");
            db.execute_unprepared(&format!("VACUUM INTO '{target}'")).await.map_err(|e| e.to_string())?;
            let copy = open_sqlite(&file).await?;
            let tables = summarize(&copy).await?;
            let migration = latest_migration(&copy).await?;
            let keys = named_keys(&copy, named_in).await?;
            let _ = copy.close().await;
            (file, tables, migration, keys)
        }
    };
    // Blobs never change under a key (an upload takes a new one), and deleted ones
    // stay a day in the store: copied after the snapshot, they are the snapshot's.
    let file = if encrypted {
        let sealed = dir.join(format!("{}.age", file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
        // Under its own name once whole: a failure leaves no file that looks like a backup.
        let partial = sealed.with_extension("age.partial");
        if let Err(e) = encrypt_file(&file, &partial, recipients).await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
        tokio::fs::rename(&partial, &sealed).await.map_err(|e| e.to_string())?;
        sealed
    } else {
        file
    };
    drop(clear_dir);
    let files = match blobs {
        Some(blobs) => copy_blobs(blobs.store, &keys, &file, recipients).await?,
        None => BTreeMap::new(),
    };
    let manifest = Manifest {
        files,
        encrypted,
        recipients: recipients.iter().map(ToString::to_string).collect(),
        file: file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        file_sha256: file_digest(&file).await?,
        backend: backend_name(db.get_database_backend()).to_owned(),
        created_at: Utc::now(),
        migration,
        tables,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    // The manifest last, whole (renamed into place): it is what makes the backup count.
    let partial = PathBuf::from(format!("{}.partial", manifest_path(&file).display()));
    std::fs::write(&partial, json).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, manifest_path(&file)).map_err(|e| e.to_string())?;
    tracing::info!(file = %file.display(), tables = manifest.tables.len(), files = manifest.files.len(), "backup made");
    Ok(manifest)
}

/// Deletes the backups (and manifests) in `dir` older than `keep`; returns them.
pub fn prune(dir: &Path, keep: Duration) -> Result<Vec<PathBuf>, String> {
    let cutoff = std::time::SystemTime::now().checked_sub(keep).unwrap_or(std::time::UNIX_EPOCH);
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !name.starts_with("volant-") {
            continue;
        }
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).map_err(|e| e.to_string())?;
        if modified < cutoff {
            let removed_entry =
                if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed_entry.map_err(|e| format!("{}: {e}", path.display()))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Copies a backup and its manifest to the file store (`backups/…`): off-site
/// when the store is S3-compatible storage.
pub async fn copy_offsite(
    files: &crate::platform::files::FileStore,
    dir: &Path,
    manifest: &Manifest,
) -> Result<(), String> {
    let file = dir.join(&manifest.file);
    files.put_file(&format!("backups/{}", manifest.file), &file).await?;
    files.put_file(&format!("backups/{}.json", manifest.file), &manifest_path(&file)).await?;
    for key in manifest.files.keys() {
        files.put_file(&format!("backups/{}.files/{key}", manifest.file), &files_dir(&file).join(key)).await?;
    }
    tracing::info!(file = %manifest.file, store = %files.location, "backup copied to the object store");
    Ok(())
}

/// How old the newest complete backup in `dir` is (`None` without one): a file
/// left by a backup that failed before its manifest does not count.
pub fn latest_age(dir: &Path) -> Option<Duration> {
    let newest = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("volant-") && !name.ends_with(".json") && manifest_path(&e.path()).is_file()
        })
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()?;
    newest.elapsed().ok()
}

/// [`latest_age`] off the async runtime (the status page, every metrics scrape).
pub async fn latest_age_of(dir: Option<&Path>) -> Option<Duration> {
    let dir = dir?.to_path_buf();
    tokio::task::spawn_blocking(move || latest_age(&dir)).await.ok().flatten()
}

/// What a restore found.
#[derive(Debug, Clone)]
pub struct Restored {
    pub tables: usize,
    pub rows: i64,
    /// Files checked (and put back into the store when one was given).
    pub files: usize,
    /// Whether the backup was encrypted.
    pub encrypted: bool,
}

/// Restores `file` into the empty database at `into`, then checks every table
/// against the manifest.
pub async fn restore(
    file: &Path,
    into: &str,
    files_into: Option<&crate::platform::files::FileStore>,
    identities: &[age::x25519::Identity],
) -> Result<Restored, String> {
    let manifest = read_manifest(file)?;
    let digest = file_digest(file).await?;
    if digest != manifest.file_sha256 {
        return Err(format!("{} is damaged: its SHA-256 does not match the manifest", file.display()));
    }
    // Every file the backup holds, checked before anything is restored.
    for (key, expected) in &manifest.files {
        if !key.starts_with("attachments/") || key.split('/').any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(format!("manifest: `{key}` is not a file key"));
        }
        let path = files_dir(file).join(key);
        if file_digest(&path).await.ok().as_ref() != Some(expected) {
            return Err(format!("{}: missing or damaged (its SHA-256 does not match the manifest)", path.display()));
        }
    }
    let postgres = into.starts_with("postgres");
    if postgres != (manifest.backend == "postgres") {
        return Err(format!("a {} backup cannot be restored into this database", manifest.backend));
    }
    // Decrypted first (in a private temporary folder): a wrong or missing key is
    // told before anything is written, and every document is opened too.
    let clear_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (file, blob) = if manifest.encrypted {
        let clear = clear_dir.path().join("backup");
        decrypt_file(file, &clear, identities).await?;
        for key in manifest.files.keys() {
            let sealed = tokio::fs::read(files_dir(file).join(key)).await.map_err(|e| e.to_string())?;
            decrypt_bytes(&sealed, identities).map_err(|e| format!("{key}: {e}"))?;
        }
        (clear, BlobSource::Sealed(files_dir(file)))
    } else {
        (file.to_path_buf(), BlobSource::Clear(files_dir(file)))
    };
    let file = file.as_path();
    let target = db::connect(&DbSettings::new(into, 2)).await.map_err(|e| format!("target database: {e}"))?;
    if !summarize(&target).await?.is_empty() {
        return Err("the target database is not empty: restore into a new, empty database".to_owned());
    }
    if postgres {
        let database = url::Url::parse(into).map(|u| u.path().trim_start_matches('/').to_owned()).unwrap_or_default();
        let args = [
            format!("--dbname={database}"),
            "--no-owner".to_owned(),
            "--no-privileges".to_owned(),
            "--exit-on-error".to_owned(),
            file.display().to_string(),
        ];
        run_tool("pg_restore", &args, into).await?;
    } else {
        let _ = target.close().await;
        let path = sqlite_path(into)?;
        let partial = path.with_extension("restoring");
        tokio::fs::copy(file, &partial).await.map_err(|e| e.to_string())?;
        tokio::fs::rename(&partial, &path).await.map_err(|e| e.to_string())?;
        for suffix in ["-wal", "-shm"] {
            let _ = tokio::fs::remove_file(format!("{}{suffix}", path.display())).await;
        }
    }
    let restored = db::connect(&DbSettings::new(into, 2)).await.map_err(|e| format!("restored database: {e}"))?;
    let tables = summarize(&restored).await?;
    if latest_migration(&restored).await? != manifest.migration {
        return Err("the restored schema's migration differs from the manifest".to_owned());
    }
    for (name, expected) in &manifest.tables {
        match tables.get(name) {
            Some(found) if found == expected => {}
            Some(found) => {
                return Err(format!(
                    "table {name}: {} rows (checksum {}) restored, {} rows (checksum {}) expected",
                    found.rows, found.sha256, expected.rows, expected.sha256
                ));
            }
            None => return Err(format!("table {name} is missing after the restore")),
        }
    }
    if let Some(store) = files_into {
        for key in manifest.files.keys() {
            match &blob {
                BlobSource::Clear(dir) => store.put_file(key, &dir.join(key)).await?,
                BlobSource::Sealed(dir) => {
                    let sealed = tokio::fs::read(dir.join(key)).await.map_err(|e| e.to_string())?;
                    store.put(key, decrypt_bytes(&sealed, identities)?).await?;
                }
            }
        }
    }
    drop(clear_dir);
    let rows = tables.values().map(|t| t.rows).sum();
    tracing::info!(file = %manifest.file, tables = tables.len(), rows, files = manifest.files.len(), "backup restored and checked");
    Ok(Restored { tables: tables.len(), rows, files: manifest.files.len(), encrypted: manifest.encrypted })
}

/// Where a restore reads the documents' files.
enum BlobSource {
    Clear(PathBuf),
    Sealed(PathBuf),
}

/// What a restore drill did.
#[derive(Debug, Clone)]
pub struct Drill {
    /// The backup file drilled (its name), when there was one.
    pub file: Option<String>,
    pub outcome: Result<Restored, String>,
}

/// Restores the newest backup in `dir` into a scratch database, checks it
/// against its manifest, and drops it: a temporary SQLite file, or on
/// PostgreSQL a new database on `server` (a URL of the server: `source_url`'s
/// by default), whose schema search path is `source_url`'s.
pub async fn drill(dir: &Path, source_url: &str, server: Option<&str>, identities: &[age::x25519::Identity]) -> Drill {
    let Some(file) = newest_of(dir).await else {
        return Drill { file: None, outcome: Err(format!("no backup in {}", dir.display())) };
    };
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let outcome = if source_url.starts_with("postgres") {
        drill_postgres(&file, source_url, server, identities).await
    } else {
        match tempfile::tempdir() {
            Ok(scratch) => {
                let url = format!("sqlite://{}?mode=rwc", scratch.path().join("drill.db").display());
                restore(&file, &url, None, identities).await
            }
            Err(e) => Err(format!("scratch folder: {e}")),
        }
    };
    Drill { file: name, outcome }
}

async fn drill_postgres(
    file: &Path,
    source_url: &str,
    server: Option<&str>,
    identities: &[age::x25519::Identity],
) -> Result<Restored, String> {
    let server_url = server.unwrap_or(source_url);
    let admin = db::connect(&DbSettings::new(server_url, 1)).await.map_err(|e| {
        // The server named, never the password.
        let at = url::Url::parse(server_url)
            .map(|u| format!("{}:{}", u.host_str().unwrap_or("?"), u.port().unwrap_or(5432)))
            .unwrap_or_default();
        format!("the drill's PostgreSQL server {at} does not answer: {e}")
    })?;
    drop_stale_scratch(&admin).await;
    let database = format!("{SCRATCH_PREFIX}{}", Utc::now().format(SCRATCH_STAMP));
    admin.execute_unprepared(&format!("CREATE DATABASE \"{database}\"")).await.map_err(|e| {
        format!("cannot create the scratch database (set VOLANT_RESTORE_DRILL_DATABASE_URL to a server where Volant may): {e}")
    })?;
    let mut target = url::Url::parse(server_url).map_err(|e| e.to_string())?;
    target.set_path(&format!("/{database}"));
    // The dump recreates the source's schema: the scratch database reads it by the same search path.
    let options = url::Url::parse(source_url)
        .ok()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "options").map(|(_, v)| v.into_owned()));
    target.query_pairs_mut().clear();
    if let Some(options) = options {
        target.query_pairs_mut().append_pair("options", &options);
    }
    if target.query() == Some("") {
        target.set_query(None);
    }
    let outcome = restore(file, target.as_str(), None, identities).await;
    let dropped = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)")).await;
    let _ = admin.close().await;
    match (outcome, dropped) {
        (Ok(_), Err(e)) => Err(format!("restored and checked, but the scratch database {database} stays: {e}")),
        (outcome, _) => outcome,
    }
}

/// Scratch databases are named by the time their drill began.
const SCRATCH_PREFIX: &str = "volant_drill_";
const SCRATCH_STAMP: &str = "%Y%m%d%H%M%S%3f";

/// Drops the scratch databases that drills killed midway left (begun more than
/// a day ago: a drill under way elsewhere keeps its own).
async fn drop_stale_scratch(admin: &DatabaseConnection) {
    let sql = format!("SELECT datname FROM pg_database WHERE datname LIKE '{SCRATCH_PREFIX}%'");
    let Ok(rows) = admin.query_all_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await else { return };
    let day_ago = (Utc::now() - chrono::Duration::days(1)).naive_utc();
    for name in rows.iter().filter_map(|row| row.try_get_by_index::<String>(0).ok()) {
        let begun = name
            .strip_prefix(SCRATCH_PREFIX)
            .and_then(|stamp| chrono::NaiveDateTime::parse_from_str(stamp, SCRATCH_STAMP).ok());
        if begun.is_some_and(|at| at < day_ago) {
            let dropped = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
            if let Err(e) = dropped {
                tracing::warn!(database = %name, error = %e, "a stale scratch database could not be dropped");
            } else {
                tracing::warn!(database = %name, "a scratch database left by an interrupted drill was dropped");
            }
        }
    }
}

/// [`newest`] off the async runtime (the drill and its daily check).
pub async fn newest_of(dir: &Path) -> Option<PathBuf> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || newest(&dir)).await.ok().flatten()
}

/// The newest backup file in `dir` (names sort by time), if any.
pub fn newest(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("volant-") && !name.ends_with(".json") && p.is_file() && manifest_path(p).is_file()
        })
        .max_by_key(|p| p.file_name().map(std::ffi::OsStr::to_os_string))
}

/// The manifest beside a backup file.
pub fn read_manifest(file: &Path) -> Result<Manifest, String> {
    let path = manifest_path(file);
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("no readable manifest beside {} ({}: {e})", file.display(), path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the manifest {} is not one: {e}", path.display()))
}

fn manifest_path(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.json", file.display()))
}

fn backend_name(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "postgres",
        _ => "sqlite",
    }
}

async fn file_digest(file: &Path) -> Result<String, String> {
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut reader = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0_u8; 1 << 16];
        loop {
            let n = reader.read(&mut buffer).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    })
    .await
    .map_err(|e| e.to_string())?
}

async fn open_sqlite(file: &Path) -> Result<DatabaseConnection, String> {
    db::connect(&DbSettings::new(format!("sqlite://{}?mode=rw", file.display()), 1)).await.map_err(|e| e.to_string())
}

fn sqlite_path(url: &str) -> Result<PathBuf, String> {
    use std::str::FromStr;
    let options =
        sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|e| format!("invalid SQLite URL: {e}"))?;
    Ok(options.get_filename().to_path_buf())
}

/// The schema a PostgreSQL URL's `options=-c search_path=…` names, if any.
fn schema_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let options = parsed.query_pairs().find(|(k, _)| k == "options")?.1.into_owned();
    let value = options.split("search_path=").nth(1)?;
    Some(value.split([' ', ',']).next()?.to_owned()).filter(|s| !s.is_empty())
}

/// Runs `pg_dump` or `pg_restore` against `url`, passing the connection (and
/// its password) through libpq's environment variables, never the command line.
async fn run_tool(tool: &str, args: &[String], url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid database URL: {e}"))?;
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let mut command = tokio::process::Command::new(tool);
    command.args(args);
    command.env("PGHOST", parsed.host_str().unwrap_or("localhost"));
    command.env("PGPORT", parsed.port().unwrap_or(5432).to_string());
    command.env("PGUSER", decode(parsed.username()));
    command.env("PGDATABASE", decode(parsed.path().trim_start_matches('/')));
    if let Some(password) = parsed.password() {
        command.env("PGPASSWORD", decode(password));
    }
    if let Some((_, options)) = parsed.query_pairs().find(|(k, _)| k == "options") {
        command.env("PGOPTIONS", options.into_owned());
    }
    if let Some((_, mode)) = parsed.query_pairs().find(|(k, _)| k == "sslmode") {
        command.env("PGSSLMODE", mode.into_owned());
    }
    let output = command.output().await.map_err(|e| format!("{tool} could not start (is it installed?): {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        let detail: String = String::from_utf8_lossy(&output.stderr).chars().take(500).collect();
        Err(format!("{tool} failed: {detail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::schema_of;

    #[test]
    fn the_schema_comes_from_the_search_path_option() {
        assert_eq!(schema_of("postgres://u@h/db?options=-c%20search_path%3Dvt_1").as_deref(), Some("vt_1"));
        assert_eq!(schema_of("postgres://u@h/db"), None);
    }
}
