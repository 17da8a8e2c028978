//! The shared RocksDB handle: opened once per process, cloned cheaply, WAL on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch};

use super::COLUMN_FAMILIES;

/// Why a data dir could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("data dir {path} is in use by another flowmcp process (RocksDB lock held)")]
    Locked { path: PathBuf },
    #[error("cannot open data dir {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("storage error: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("unknown column family {0}")]
    UnknownFamily(&'static str),
}

/// One stored `(key, value)` pair.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A cloneable handle on the data dir's RocksDB.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DB>,
    path: PathBuf,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Open (creating if needed) the database under `dir`, with every known column family.
    ///
    /// A dir held by another process is [`DbError::Locked`], not a panic.
    pub fn open(dir: &Path) -> Result<Self, DbError> {
        std::fs::create_dir_all(dir).map_err(|e| DbError::Open {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // Keep what an older or newer build created, so opening never drops a family.
        let mut families: Vec<String> = DB::list_cf(&opts, dir).unwrap_or_default();
        for name in COLUMN_FAMILIES {
            if !families.iter().any(|f| f == name) {
                families.push((*name).to_string());
            }
        }
        let descriptors = families
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, descriptors).map_err(|e| {
            let message = e.to_string();
            if message.contains("lock") || message.contains("Resource temporarily unavailable") {
                DbError::Locked {
                    path: dir.to_path_buf(),
                }
            } else {
                DbError::Open {
                    path: dir.to_path_buf(),
                    message,
                }
            }
        })?;
        Ok(Self {
            inner: Arc::new(db),
            path: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn family(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, DbError> {
        self.inner
            .cf_handle(name)
            .ok_or(DbError::UnknownFamily(name))
    }

    /// Read one key of a column family.
    pub fn get(&self, family: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.inner.get_cf(self.family(family)?, key)?)
    }

    /// Write one key of a column family (through the WAL).
    pub fn put(&self, family: &'static str, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        Ok(self.inner.put_cf(self.family(family)?, key, value)?)
    }

    /// Apply several writes atomically: all or none survive a crash.
    pub fn write(&self, build: impl FnOnce(&mut Batch<'_>)) -> Result<(), DbError> {
        let mut batch = Batch {
            db: self,
            batch: WriteBatch::default(),
            error: None,
        };
        build(&mut batch);
        if let Some(e) = batch.error {
            return Err(e);
        }
        Ok(self.inner.write(batch.batch)?)
    }

    /// Every `(key, value)` of a family whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        family: &'static str,
        prefix: &[u8],
    ) -> Result<Vec<KeyValue>, DbError> {
        let cf = self.family(family)?;
        let mut out = Vec::new();
        for item in self.inner.prefix_iterator_cf(cf, prefix) {
            let (key, value) = item?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }
}

impl Db {
    /// The last `(key, value)` whose key starts with `prefix` (keys after the prefix are at
    /// most 16 bytes: every flowmcp key suffix is one or two big-endian u64s).
    pub fn last_with_prefix(
        &self,
        family: &'static str,
        prefix: &[u8],
    ) -> Result<Option<KeyValue>, DbError> {
        Ok(self.scan_prefix_rev(family, prefix, 1)?.into_iter().next())
    }

    /// Up to `limit` entries whose key starts with `prefix`, last key first.
    pub fn scan_prefix_rev(
        &self,
        family: &'static str,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, DbError> {
        let cf = self.family(family)?;
        let mut upper = prefix.to_vec();
        upper.extend_from_slice(&[0xFF; 17]);
        let mut iter = self.inner.raw_iterator_cf(cf);
        iter.seek_for_prev(&upper);
        let mut out = Vec::new();
        while out.len() < limit && iter.valid() {
            match (iter.key(), iter.value()) {
                (Some(key), Some(value)) if key.starts_with(prefix) => {
                    out.push((key.to_vec(), value.to_vec()))
                }
                _ => break,
            }
            iter.prev();
        }
        iter.status()?;
        Ok(out)
    }
}

/// Writes collected for [`Db::write`].
pub struct Batch<'a> {
    db: &'a Db,
    batch: WriteBatch,
    error: Option<DbError>,
}

impl Batch<'_> {
    pub fn put(&mut self, family: &'static str, key: &[u8], value: &[u8]) {
        match self.db.family(family) {
            Ok(cf) => self.batch.put_cf(cf, key, value),
            Err(e) => self.error = Some(e),
        }
    }

    pub fn delete(&mut self, family: &'static str, key: &[u8]) {
        match self.db.family(family) {
            Ok(cf) => self.batch.delete_cf(cf, key),
            Err(e) => self.error = Some(e),
        }
    }
}
