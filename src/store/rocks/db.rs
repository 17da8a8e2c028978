//! The shared RocksDB handle: opened once per process, cloned cheaply, WAL on.
//!
//! Besides plain reads and writes it offers *bounded* prefix scans (forward and reverse): every
//! scan sets RocksDB's iterate bounds to the prefix, so it can never wander into the keys of
//! another channel or concern, and a reverse scan stops after `limit` entries. It also opens a
//! data dir as a *secondary* instance (read-only, beside a running primary) and reads through
//! snapshots, which is what `flowmcp export` needs.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBRawIterator, Options, ReadOptions,
    WriteBatch, WriteOptions,
};

use super::conversations::{LATEST_UPDATE, latest_update};
use crate::store::WriteWait;

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
    /// A [`WriteWait::NoStall`] write found RocksDB throttling writes (a flush or compaction
    /// behind); nothing was written.
    #[error("storage is catching up: the write would have to wait")]
    WouldStall,
}

/// One stored `(key, value)` pair.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A cloneable handle on the data dir's RocksDB.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
    path: PathBuf,
}

/// The database and, for a secondary instance, its scratch folder. Field order matters: the
/// database closes (first field dropped) before the scratch folder is removed.
struct Inner {
    db: DB,
    /// Set for a secondary instance (which is also how we know it is one).
    scratch: Option<ScratchDir>,
}

/// A private temporary folder removed when dropped (a secondary instance's own files).
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover folder in the temp dir is harmless and is not worth a panic.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

/// One block cache for every column family of a data dir.
const BLOCK_CACHE_BYTES: usize = 64 << 20;

/// Table options of every column family: LZ4, and a bloom filter for the turn write's
/// duplicate check, a point read that misses by design (without a filter each miss searches
/// every level-0 file and one file per level, a cost that grows with the data dir).
fn family_options(name: &str, cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    table.set_block_cache(cache);
    let mut opts = base_family_options(name);
    opts.set_block_based_table_factory(&table);
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    opts
}

/// What every opening of a family needs to read it, a secondary's included: the conversation
/// summaries' merge operator (a turn bumps its conversation's `updated_at` with a merge).
fn base_family_options(name: &str) -> Options {
    let mut opts = Options::default();
    if name == super::CF_CONVERSATIONS {
        opts.set_merge_operator(LATEST_UPDATE, latest_update, latest_update);
    }
    opts
}

impl Db {
    /// Open (creating if needed) the database under `dir`, with the column families `wanted`
    /// (created when missing) and every one already there.
    ///
    /// A dir held by another process is [`DbError::Locked`], not a panic.
    pub fn open(dir: &Path, wanted: &[&str]) -> Result<Self, DbError> {
        std::fs::create_dir_all(dir).map_err(|e| DbError::Open {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let mut opts = family_options("default", &cache);
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Keep what an older or newer build created, so opening never drops a family.
        let mut families: Vec<String> = DB::list_cf(&opts, dir).unwrap_or_default();
        for name in wanted {
            if !families.iter().any(|f| f == name) {
                families.push((*name).to_string());
            }
        }
        let descriptors = families
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(name, family_options(name, &cache)));
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
            inner: Arc::new(Inner { db, scratch: None }),
            path: dir.to_path_buf(),
        })
    }

    /// Open the existing database at `dir` as a RocksDB *secondary* instance: read-only, no
    /// lock taken, so it works while a server holds `dir`, and caught up with everything the
    /// primary had acknowledged (its WAL included) at the time of the call.
    ///
    /// The secondary keeps a few files of its own in a private temporary folder, removed when
    /// the last clone of the handle is dropped. Nothing is ever created under `dir`.
    pub fn open_secondary(dir: &Path) -> Result<Self, DbError> {
        let open_error = |message: String| DbError::Open {
            path: dir.to_path_buf(),
            message,
        };
        let mut opts = Options::default();
        let families = DB::list_cf(&opts, dir).map_err(|e| open_error(e.to_string()))?;
        // A secondary must keep every table file open: the primary may delete compacted files
        // at any time, and an already-open file stays readable.
        opts.set_max_open_files(-1);
        let scratch = ScratchDir::create().map_err(|e| {
            open_error(format!("cannot create a temporary folder for reading: {e}"))
        })?;
        let descriptors = families
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(name, base_family_options(name)));
        let db = DB::open_cf_descriptors_as_secondary(&opts, dir, &scratch.0, descriptors)
            .map_err(|e| open_error(e.to_string()))?;
        let handle = Self {
            inner: Arc::new(Inner {
                db,
                scratch: Some(scratch),
            }),
            path: dir.to_path_buf(),
        };
        handle.catch_up()?;
        Ok(handle)
    }

    /// For a secondary instance: read what the primary has written since (RocksDB answers
    /// "not supported" on a primary, which is always current).
    pub fn catch_up(&self) -> Result<(), DbError> {
        Ok(self.inner.db.try_catch_up_with_primary()?)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the database has this column family (a data dir written by flowmcp has the
    /// conversation store's; a foreign RocksDB does not).
    pub fn has_family(&self, name: &str) -> bool {
        self.inner.db.cf_handle(name).is_some()
    }

    fn family(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, DbError> {
        self.inner
            .db
            .cf_handle(name)
            .ok_or(DbError::UnknownFamily(name))
    }

    /// Read one key of a column family.
    pub fn get(&self, family: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.inner.db.get_cf(self.family(family)?, key)?)
    }

    /// Flush a family's memtable and compact all of it (tests: see what compaction makes of it).
    #[cfg(test)]
    pub(crate) fn compact(&self, family: &'static str) -> Result<(), DbError> {
        let cf = self.family(family)?;
        self.inner.db.flush_cf(cf)?;
        self.inner
            .db
            .compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        Ok(())
    }

    /// True when the family has `key` (its value is not copied out).
    pub fn contains(&self, family: &'static str, key: &[u8]) -> Result<bool, DbError> {
        Ok(self
            .inner
            .db
            .get_pinned_cf(self.family(family)?, key)?
            .is_some())
    }

    /// Write one key of a column family (through the WAL).
    pub fn put(&self, family: &'static str, key: &[u8], value: &[u8]) -> Result<(), DbError> {
        Ok(self.inner.db.put_cf(self.family(family)?, key, value)?)
    }

    /// Apply several writes atomically: all or none survive a crash.
    pub fn write(&self, build: impl FnOnce(&mut Batch<'_>)) -> Result<(), DbError> {
        self.write_with(WriteWait::Block, build)
    }

    /// [`Self::write`], choosing whether the write may wait out a write stall.
    pub fn write_with(
        &self,
        wait: WriteWait,
        build: impl FnOnce(&mut Batch<'_>),
    ) -> Result<(), DbError> {
        let mut batch = Batch {
            db: self,
            batch: WriteBatch::default(),
            error: None,
        };
        build(&mut batch);
        if let Some(e) = batch.error {
            return Err(e);
        }
        // WAL on, no fsync (see the durability notes of `ConversationStore`).
        let mut options = WriteOptions::default();
        options.set_no_slowdown(wait == WriteWait::NoStall);
        self.inner
            .db
            .write_opt(batch.batch, &options)
            .map_err(|e| match e.kind() {
                rocksdb::ErrorKind::Incomplete if wait == WriteWait::NoStall => DbError::WouldStall,
                _ => DbError::Rocks(e),
            })
    }

    /// Write the WAL out and fsync it: after `Ok`, every write acknowledged so far also
    /// survives an operating-system crash or power loss. Meant for graceful shutdown (and for
    /// anything that needs that guarantee at a chosen point); ordinary writes do not pay it.
    pub fn sync(&self) -> Result<(), DbError> {
        Ok(self.inner.db.flush_wal(true)?)
    }

    /// A consistent, read-only view of the whole database as of now: later writes are not
    /// seen through it. Cheap; hold it only as long as needed (it pins old data).
    pub fn snapshot(&self) -> Snapshot<'_> {
        // RocksDB refuses snapshot reads on a secondary instance. None is needed there: a
        // secondary only changes when `catch_up` is called, so plain reads are already one
        // point in time.
        let snapshot = self
            .inner
            .scratch
            .is_none()
            .then(|| self.inner.db.snapshot());
        Snapshot { db: self, snapshot }
    }

    /// Every `(key, value)` of a family whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        family: &'static str,
        prefix: &[u8],
    ) -> Result<Vec<KeyValue>, DbError> {
        collect(
            |f| self.for_each_prefix(family, prefix, Order::Forward, f),
            usize::MAX,
        )
    }

    /// Up to `limit` entries whose key starts with `prefix`, last key first. Only the
    /// entries returned are read: the scan starts at the end of the prefix range.
    pub fn scan_prefix_rev(
        &self,
        family: &'static str,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, DbError> {
        collect(
            |f| self.for_each_prefix(family, prefix, Order::Reverse, f),
            limit,
        )
    }

    /// The last `(key, value)` whose key starts with `prefix`.
    pub fn last_with_prefix(
        &self,
        family: &'static str,
        prefix: &[u8],
    ) -> Result<Option<KeyValue>, DbError> {
        Ok(self.scan_prefix_rev(family, prefix, 1)?.into_iter().next())
    }

    /// The last key starting with `prefix`, without copying its value.
    pub fn last_key_with_prefix(
        &self,
        family: &'static str,
        prefix: &[u8],
    ) -> Result<Option<Vec<u8>>, DbError> {
        let mut last = None;
        self.for_each_prefix(family, prefix, Order::Reverse, |key, _| {
            last = Some(key.to_vec());
            Ok::<_, DbError>(ControlFlow::Break(()))
        })?;
        Ok(last)
    }

    /// True when at least one key starts with `prefix`.
    pub fn has_prefix(&self, family: &'static str, prefix: &[u8]) -> Result<bool, DbError> {
        Ok(self.last_key_with_prefix(family, prefix)?.is_some())
    }

    /// Call `visit` on each entry whose key starts with `prefix`, in `order`, until it returns
    /// `Break` or fails. Entries are borrowed, not copied: this is how a large range (an
    /// export) is streamed without holding it in memory.
    pub fn for_each_prefix<E: From<DbError>>(
        &self,
        family: &'static str,
        prefix: &[u8],
        order: Order,
        visit: impl FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E> {
        let cf = self.family(family)?;
        let iter = self
            .inner
            .db
            .raw_iterator_cf_opt(cf, bounded(prefix, ReadOptions::default()));
        walk(iter, order, visit)
    }
}

/// Which way a prefix scan goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Smallest key first.
    Forward,
    /// Largest key first.
    Reverse,
}

/// A point-in-time view of a [`Db`] (see [`Db::snapshot`]): every read through it sees the
/// same state, whatever is written meanwhile.
pub struct Snapshot<'a> {
    db: &'a Db,
    /// `None` on a secondary instance (see [`Db::snapshot`]).
    snapshot: Option<rocksdb::Snapshot<'a>>,
}

impl std::fmt::Debug for Snapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("db", self.db)
            .field("pinned", &self.snapshot.is_some())
            .finish()
    }
}

impl Snapshot<'_> {
    fn read_options(&self) -> ReadOptions {
        let mut opts = ReadOptions::default();
        if let Some(snapshot) = &self.snapshot {
            opts.set_snapshot(snapshot);
        }
        opts
    }

    /// Read one key as of the snapshot.
    pub fn get(&self, family: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, DbError> {
        let cf = self.db.family(family)?;
        Ok(self.db.inner.db.get_cf_opt(cf, key, &self.read_options())?)
    }

    /// [`Db::for_each_prefix`] as of the snapshot.
    pub fn for_each_prefix<E: From<DbError>>(
        &self,
        family: &'static str,
        prefix: &[u8],
        order: Order,
        visit: impl FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E> {
        let cf = self.db.family(family)?;
        let iter = self
            .db
            .inner
            .db
            .raw_iterator_cf_opt(cf, bounded(prefix, self.read_options()));
        walk(iter, order, visit)
    }
}

/// Restrict `opts` to the keys starting with `prefix`. RocksDB then stops at the bounds on its
/// own (and can skip whole files outside them), so no scan reads a neighbour's keys.
fn bounded(prefix: &[u8], mut opts: ReadOptions) -> ReadOptions {
    if !prefix.is_empty() {
        opts.set_iterate_lower_bound(prefix.to_vec());
    }
    if let Some(upper) = prefix_end(prefix) {
        opts.set_iterate_upper_bound(upper);
    }
    opts
}

/// The smallest key greater than every key starting with `prefix` (`None`: no such key, the
/// range is open-ended — an empty prefix or one made only of `0xFF`).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn walk<E: From<DbError>>(
    mut iter: DBRawIterator<'_>,
    order: Order,
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, E>,
) -> Result<(), E> {
    match order {
        Order::Forward => iter.seek_to_first(),
        Order::Reverse => iter.seek_to_last(),
    }
    while let (Some(key), Some(value)) = (iter.key(), iter.value()) {
        if visit(key, value)?.is_break() {
            return Ok(());
        }
        match order {
            Order::Forward => iter.next(),
            Order::Reverse => iter.prev(),
        }
    }
    // An invalid iterator is either the end of the range or a read error: tell them apart.
    iter.status().map_err(|e| E::from(DbError::from(e)))
}

fn collect(
    scan: impl FnOnce(
        &mut dyn FnMut(&[u8], &[u8]) -> Result<ControlFlow<()>, DbError>,
    ) -> Result<(), DbError>,
    limit: usize,
) -> Result<Vec<KeyValue>, DbError> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    scan(&mut |key, value| {
        out.push((key.to_vec(), value.to_vec()));
        Ok(if out.len() >= limit {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    })?;
    Ok(out)
}

impl ScratchDir {
    /// A new, empty folder only this user can enter. `create_dir` (not `create_dir_all`)
    /// refuses an existing path, so a name planted by someone else is never used.
    fn create() -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let mut last_error = None;
        for _ in 0..16 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = base.join(format!(
                "flowmcp-read-{}-{}-{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&path) {
                Ok(()) => return Ok(Self(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
    }
}

/// Writes collected for [`Db::write`].
pub struct Batch<'a> {
    db: &'a Db,
    batch: WriteBatch,
    error: Option<DbError>,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("writes", &self.batch.len())
            .field("error", &self.error)
            .finish()
    }
}

impl Batch<'_> {
    pub fn put(&mut self, family: &'static str, key: &[u8], value: &[u8]) {
        match self.db.family(family) {
            Ok(cf) => self.batch.put_cf(cf, key, value),
            Err(e) => self.error = Some(e),
        }
    }

    /// A merge operand for `key`, combined by the family's merge operator.
    pub fn merge(&mut self, family: &'static str, key: &[u8], operand: &[u8]) {
        match self.db.family(family) {
            Ok(cf) => self.batch.merge_cf(cf, key, operand),
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

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = super::super::CF_TURNS;

    fn open(dir: &Path) -> Db {
        Db::open(dir, super::super::COLUMN_FAMILIES).expect("open")
    }

    fn filled(dir: &Path) -> Db {
        let db = open(dir);
        for key in [
            &b"a"[..],
            b"a\0\x01",
            b"a\0\x02",
            b"a\xff",
            b"ab\0\x01",
            b"b",
        ] {
            db.put(CF, key, key).expect("put");
        }
        db
    }

    fn keys(rows: &[KeyValue]) -> Vec<&[u8]> {
        rows.iter().map(|(k, _)| k.as_slice()).collect()
    }

    #[test]
    fn prefix_scans_stay_inside_the_prefix_both_ways() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = filled(dir.path());
        let forward = db.scan_prefix(CF, b"a\0").expect("scan");
        assert_eq!(keys(&forward), vec![&b"a\0\x01"[..], b"a\0\x02"]);
        let reverse = db.scan_prefix_rev(CF, b"a\0", 10).expect("scan");
        assert_eq!(keys(&reverse), vec![&b"a\0\x02"[..], b"a\0\x01"]);
        assert_eq!(db.scan_prefix_rev(CF, b"a\0", 1).expect("scan").len(), 1);
        assert!(db.scan_prefix_rev(CF, b"a\0", 0).expect("scan").is_empty());
        // A prefix ending in 0xFF has no simple successor: still bounded correctly.
        assert_eq!(
            keys(&db.scan_prefix_rev(CF, b"a\xff", 10).expect("scan")),
            vec![&b"a\xff"[..]]
        );
        assert_eq!(
            db.last_key_with_prefix(CF, b"ab").expect("last"),
            Some(b"ab\0\x01".to_vec())
        );
        assert!(!db.has_prefix(CF, b"c").expect("has"));
        assert_eq!(db.scan_prefix(CF, b"").expect("all").len(), 6);
    }

    #[test]
    fn a_snapshot_does_not_see_later_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = filled(dir.path());
        let snapshot = db.snapshot();
        db.put(CF, b"a\0\x03", b"late").expect("put");
        let mut seen = 0;
        snapshot
            .for_each_prefix(CF, b"a\0", Order::Forward, |_, _| {
                seen += 1;
                Ok::<_, DbError>(ControlFlow::Continue(()))
            })
            .expect("scan");
        assert_eq!(seen, 2);
        assert_eq!(snapshot.get(CF, b"a\0\x03").expect("get"), None);
        assert_eq!(db.get(CF, b"a\0\x03").expect("get"), Some(b"late".to_vec()));
    }

    #[test]
    fn prefix_end_is_the_next_possible_key() {
        assert_eq!(prefix_end(b"a\0"), Some(b"a\x01".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
