//! Files Volant keeps outside its database — report exports, off-site copies
//! of backups, and the uploads to come — in an object store: a folder on the
//! local filesystem by default (`VOLANT_FILES_DIR`, `data/files`), or
//! S3-compatible storage in production (`VOLANT_OBJECT_STORE_URL=s3://bucket/prefix`,
//! credentials, region and endpoint from the usual `AWS_*` variables).

use std::path::Path as FsPath;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Where files go.
#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// `file:///…` or `s3://bucket/prefix`, for logs and the status page.
    pub location: String,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").field("location", &self.location).finish()
    }
}

impl FileStore {
    /// The configured store: S3-compatible with a URL, the local folder otherwise.
    pub fn open(url: Option<&str>, local_dir: &FsPath) -> Result<Self, String> {
        match url {
            Some(url) => Self::s3(AmazonS3Builder::from_env(), url),
            None => Self::local(local_dir),
        }
    }

    pub fn local(dir: &FsPath) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| e.to_string())?;
        Ok(Self { store: Arc::new(store), location: format!("file://{}", dir.display()) })
    }

    /// `s3://bucket/optional/prefix` with the builder's credentials and endpoint.
    pub fn s3(builder: AmazonS3Builder, url: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("VOLANT_OBJECT_STORE_URL: {e}"))?;
        if parsed.scheme() != "s3" {
            return Err(format!("VOLANT_OBJECT_STORE_URL: expected s3://bucket/prefix, got `{url}`"));
        }
        let bucket = parsed.host_str().ok_or("VOLANT_OBJECT_STORE_URL: no bucket")?.to_owned();
        let store = builder.with_bucket_name(&bucket).build().map_err(|e| format!("object store: {e}"))?;
        let prefix = parsed.path().trim_matches('/').to_owned();
        let store: Arc<dyn ObjectStore> =
            if prefix.is_empty() { Arc::new(store) } else { Arc::new(PrefixStore::new(store, prefix)) };
        Ok(Self { store, location: url.to_owned() })
    }

    fn path(key: &str) -> Result<Path, String> {
        Path::parse(key).map_err(|e| format!("file key `{key}`: {e}"))
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.store.put(&Self::path(key)?, PutPayload::from(bytes)).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// The file's bytes, `None` when there is none under that key.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        match self.store.get(&Self::path(key)?).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(|e| e.to_string())?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.to_string()),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        match self.store.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.to_string()),
        }
    }

    /// Copies a local file in, in parts (backups can be large).
    pub async fn put_file(&self, key: &str, file: &FsPath) -> Result<(), String> {
        let mut reader = tokio::fs::File::open(file).await.map_err(|e| format!("{}: {e}", file.display()))?;
        let mut writer = object_store::buffered::BufWriter::new(self.store.clone(), Self::path(key)?);
        tokio::io::copy(&mut reader, &mut writer).await.map_err(|e| e.to_string())?;
        tokio::io::AsyncWriteExt::shutdown(&mut writer).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Every file under `prefix` (`attachments/`), with when it was last written.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, String> {
        use futures_util::TryStreamExt;
        let prefix = Self::path(prefix)?;
        self.store
            .list(Some(&prefix))
            .map_ok(|meta| (meta.location.to_string(), meta.last_modified))
            .try_collect()
            .await
            .map_err(|e| e.to_string())
    }
}
