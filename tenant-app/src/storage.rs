//! Where document contents live: behind a trait, so that object storage can
//! take the place of the local directory without touching the portal.
//!
//! Keys are ids we generate (never file names people chose), so no path can be
//! smuggled in through an upload.

use std::path::PathBuf;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid storage key")]
    BadKey,
    #[error("not found")]
    NotFound,
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
}

#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError>;
    /// Takes over a spooled upload (see [`crate::uploads::receive`]) without
    /// reading it into memory.
    async fn put_file(&self, key: &str, file: tempfile::TempPath) -> Result<(), StorageError>;
    /// Where uploads are spooled while they arrive: in the tenant's own
    /// directory, on the same file system as the files.
    fn spool_dir(&self) -> PathBuf;
    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError>;
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
}

/// Files in one directory per tenant, e.g. `<data dir>/tenants/<id>/files`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> LocalStore {
        LocalStore { root }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        let safe = !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !safe {
            return Err(StorageError::BadKey);
        }
        // Two levels of fan-out keep directories small for tenants with many files.
        Ok(self.root.join(&key[key.len().saturating_sub(2)..]).join(key))
    }
}

#[async_trait]
impl DocumentStore for LocalStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path(key)?;
        let dir = path.parent().expect("a key path has a parent");
        tokio::fs::create_dir_all(dir).await?;
        // Write to a temporary name, then rename: a crash never leaves half a file
        // under the real name.
        let temporary = dir.join(format!(".{key}.partial"));
        tokio::fs::write(&temporary, bytes).await?;
        tokio::fs::rename(&temporary, &path).await?;
        Ok(())
    }

    async fn put_file(&self, key: &str, file: tempfile::TempPath) -> Result<(), StorageError> {
        let path = self.path(key)?;
        tokio::fs::create_dir_all(path.parent().expect("a key path has a parent")).await?;
        // A rename within one file system: the upload is never copied, and a
        // failed rename leaves the temporary file to be removed when `file` drops.
        tokio::fs::rename(&file, &path).await?;
        let _kept = file.keep();
        Ok(())
    }

    fn spool_dir(&self) -> PathBuf {
        // Keys are letters, digits and dashes, so this name is never a key's directory.
        self.root.join(".spool")
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(err) => Err(err.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_reads_and_deletes_by_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().to_path_buf());
        store.put("0190abc", b"hello").await.unwrap();
        assert_eq!(store.get("0190abc").await.unwrap(), b"hello");
        store.delete("0190abc").await.unwrap();
        std::fs::create_dir_all(store.spool_dir()).unwrap();
        let spooled = tempfile::NamedTempFile::new_in(store.spool_dir()).unwrap();
        std::fs::write(spooled.path(), b"spooled").unwrap();
        store.put_file("0190abd", spooled.into_temp_path()).await.unwrap();
        assert_eq!(store.get("0190abd").await.unwrap(), b"spooled");
        assert_eq!(std::fs::read_dir(store.spool_dir()).unwrap().count(), 0, "moved, not copied");
        assert!(matches!(store.get("0190abc").await, Err(StorageError::NotFound)));
        for bad in ["../etc/passwd", "a/b", "", "x.y"] {
            assert!(matches!(store.put(bad, b"x").await, Err(StorageError::BadKey)), "{bad}");
        }
    }
}
