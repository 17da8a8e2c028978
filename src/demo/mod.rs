//! The demo workflow's back end: a small online store ("retail"), served when flowmcp runs
//! without `--workflow`.
//!
//! - [`generate`]: the store's data, generated deterministically from a fixed seed;
//! - [`model`]: the records (users, orders, products) and their RocksDB keys;
//! - [`handlers`]: one builtin handler per command of `tools/*.toml`, enforcing the store's rules;
//! - [`calc`]: the arithmetic evaluator behind `calculate`;
//! - [`RetailDemo`]: the plug-in that hands all of it to the engine (`App::builder`).
//!
//! The data lives in the [`CF_DEMO_RETAIL`] column family of the data dir's RocksDB. It is
//! written once, in one atomic batch, the first time a handler runs (or
//! [`Retail::ensure_seeded`] is called), and never again: changes made through the commands
//! persist across restarts.
//!
//! Records read by the handlers are kept decoded in memory ([`RecordCache`]): a repeated
//! `get_order_details` costs a hash lookup and a clone instead of a RocksDB read and a JSON
//! decode. RocksDB stays the only source of truth: every write goes through
//! [`Retail::commit`], which drops the keys it touched from the cache. One `Retail` per data
//! dir (the server makes one): a second would not see the first one's writes in its cache.

pub(crate) mod calc;
pub(crate) mod generate;
pub(crate) mod handlers;
pub(crate) mod model;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use anyhow::Context as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::Plugin;
use crate::exec::builtin::BuiltinRegistry;
use crate::store::Db;

use model::{Order, Product, User, keys};

/// Prefix of every demo handler name (`[run] handler = "retail.cancel_pending_order"`).
pub const HANDLER_PREFIX: &str = "retail.";

/// Column family of the demo's retail data.
pub const CF_DEMO_RETAIL: &str = "demo_retail";

/// The demo as a plug-in of the engine: its `retail.*` handlers, its data in the data dir.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetailDemo;

impl Plugin for RetailDemo {
    fn name(&self) -> &str {
        "retail demo"
    }

    fn provides(&self, handler: &str) -> bool {
        is_handler(handler)
    }

    fn column_families(&self) -> &[&'static str] {
        &[CF_DEMO_RETAIL]
    }

    fn install(
        &self,
        db: Option<&Db>,
        used: bool,
        registry: &mut BuiltinRegistry,
    ) -> anyhow::Result<()> {
        let Some(db) = db else {
            anyhow::ensure!(
                !used,
                "the retail demo keeps its data in a data dir; open the app with one"
            );
            return Ok(());
        };
        let retail = Retail::new(db.clone());
        if used {
            retail.ensure_seeded().context("seeding the demo data")?;
        }
        register(registry, retail);
        Ok(())
    }
}

/// The demo store: its data in RocksDB, and a lock serialising read-modify-write commands.
pub struct Retail {
    db: Db,
    /// Held by every command that changes data, from its first read to its write.
    write_lock: Mutex<()>,
    /// Set once the seed marker was seen or written: later checks cost nothing.
    seeded: AtomicBool,
    cache: RecordCache,
}

/// Decoded records by key. It holds at most one entry per record in the store (misses are
/// not cached), so it is bounded by the data, not by what callers ask for.
#[derive(Default)]
struct RecordCache {
    inner: RwLock<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    records: HashMap<String, Arc<dyn Any + Send + Sync>>,
    /// Bumped by every commit. A reader that decoded a record from RocksDB keeps it only if no
    /// commit ran meanwhile, so a value read just before a write can never outlive it.
    generation: u64,
}

impl RecordCache {
    fn get<T: Clone + 'static>(&self, key: &str) -> Option<T> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.records.get(key)?.downcast_ref::<T>().cloned()
    }

    fn generation(&self) -> u64 {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .generation
    }

    /// Keep `value`, read at `generation`, unless a commit has run since.
    fn insert<T: Send + Sync + 'static>(&self, key: &str, value: T, generation: u64) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.generation == generation {
            inner.records.insert(key.to_string(), Arc::new(value));
        }
    }
}

impl std::fmt::Debug for Retail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retail")
            .field("db", &self.db)
            .field("seeded", &self.seeded.load(Ordering::Relaxed))
            .finish()
    }
}

impl Retail {
    pub fn new(db: Db) -> Arc<Self> {
        Arc::new(Self {
            db,
            write_lock: Mutex::new(()),
            seeded: AtomicBool::new(false),
            cache: RecordCache::default(),
        })
    }

    /// Seed the generated data into `CF_DEMO_RETAIL` unless already seeded (marker key).
    /// Idempotent; never overwrites changes. The data and the marker go in one atomic batch, so
    /// a crash midway leaves either nothing or everything.
    pub fn ensure_seeded(&self) -> anyhow::Result<()> {
        if self.seeded.load(Ordering::Acquire) {
            return Ok(());
        }
        let _guard = self.lock();
        if self
            .db
            .get(CF_DEMO_RETAIL, keys::SEEDED.as_bytes())?
            .is_some()
        {
            self.seeded.store(true, Ordering::Release);
            return Ok(());
        }
        let data = generate::dataset(generate::SEED);
        let mut puts: Vec<(String, Vec<u8>)> = Vec::new();
        for user in data.users.values() {
            put_json(&mut puts, keys::user(&user.user_id), user)?;
            puts.push((keys::email(&user.email), user.user_id.clone().into_bytes()));
            puts.push((
                keys::name_zip(
                    &user.name.first_name,
                    &user.name.last_name,
                    &user.address.zip,
                ),
                user.user_id.clone().into_bytes(),
            ));
        }
        for order in data.orders.values() {
            put_json(&mut puts, keys::order(&order.order_id), order)?;
        }
        for product in data.products.values() {
            put_json(&mut puts, keys::product(&product.product_id), product)?;
        }
        let marker = serde_json::json!({
            "seed": generate::SEED,
            "users": data.users.len(),
            "orders": data.orders.len(),
            "products": data.products.len(),
        });
        put_json(&mut puts, keys::SEEDED.to_string(), &marker)?;
        self.commit(puts, Vec::new())
            .context("cannot write the demo store's data")?;
        self.seeded.store(true, Ordering::Release);
        tracing::info!(
            users = data.users.len(),
            orders = data.orders.len(),
            products = data.products.len(),
            "seeded the demo retail store"
        );
        Ok(())
    }

    /// Serialise read-modify-write sequences. A poisoned lock is still usable: every write is
    /// one atomic batch, so a panic elsewhere cannot have left data half-written.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        self.write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn load<T>(&self, key: &str) -> anyhow::Result<Option<T>>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        if let Some(value) = self.cache.get::<T>(key) {
            return Ok(Some(value));
        }
        let generation = self.cache.generation();
        match self.db.get(CF_DEMO_RETAIL, key.as_bytes())? {
            Some(bytes) => {
                let value: T = serde_json::from_slice(&bytes)
                    .with_context(|| format!("the stored record {key} is not valid"))?;
                self.cache.insert(key, value.clone(), generation);
                Ok(Some(value))
            }
            None => Ok(None),
        }
    }

    pub(crate) fn user(&self, user_id: &str) -> anyhow::Result<Option<User>> {
        self.load(&keys::user(user_id))
    }

    pub(crate) fn order(&self, order_id: &str) -> anyhow::Result<Option<Order>> {
        self.load(&keys::order(order_id))
    }

    pub(crate) fn product(&self, product_id: &str) -> anyhow::Result<Option<Product>> {
        self.load(&keys::product(product_id))
    }

    /// Every product, in product id order.
    pub(crate) fn products(&self) -> anyhow::Result<Vec<Product>> {
        let rows = self
            .db
            .scan_prefix(CF_DEMO_RETAIL, keys::PRODUCT_PREFIX.as_bytes())?;
        rows.iter()
            .map(|(key, value)| {
                serde_json::from_slice(value).with_context(|| {
                    format!(
                        "the stored record {} is not valid",
                        String::from_utf8_lossy(key)
                    )
                })
            })
            .collect()
    }

    /// The user id an index key (`email:…`, `namezip:…`) points at.
    pub(crate) fn lookup(&self, index_key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .db
            .get(CF_DEMO_RETAIL, index_key.as_bytes())?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Apply `puts` and `deletes` atomically, and forget the cached records they replace.
    pub(crate) fn commit(
        &self,
        puts: Vec<(String, Vec<u8>)>,
        deletes: Vec<String>,
    ) -> anyhow::Result<()> {
        // Held across the write: no reader can cache a value older than this commit.
        let mut cache = self.cache.inner.write().unwrap_or_else(|p| p.into_inner());
        cache.generation += 1;
        let written = self.db.write(|batch| {
            for key in &deletes {
                batch.delete(CF_DEMO_RETAIL, key.as_bytes());
            }
            for (key, value) in &puts {
                batch.put(CF_DEMO_RETAIL, key.as_bytes(), value);
            }
        });
        // Forgotten even if the write failed: the cache then simply reads RocksDB again.
        for key in deletes.iter().chain(puts.iter().map(|(key, _)| key)) {
            cache.records.remove(key);
        }
        written?;
        Ok(())
    }
}

/// Queue `value` as JSON under `key`.
pub(crate) fn put_json(
    puts: &mut Vec<(String, Vec<u8>)>,
    key: String,
    value: &impl Serialize,
) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(value).with_context(|| format!("cannot encode {key}"))?;
    puts.push((key, bytes));
    Ok(())
}

/// The value of a `calculate` expression (the accuracy benchmark compares expressions by it).
pub fn evaluate_expression(input: &str) -> Result<f64, String> {
    calc::evaluate(input)
}

/// True when `name` is one of the handlers [`register`] adds (`retail.cancel_pending_order`…):
/// lets `flowmcp check` validate `[run] handler = …` without opening a store.
pub fn is_handler(name: &str) -> bool {
    name.strip_prefix(HANDLER_PREFIX)
        .is_some_and(|command| handlers::HANDLERS.iter().any(|(n, _)| *n == command))
}

/// Register every `retail.*` handler. Handlers call [`Retail::ensure_seeded`] lazily too (a
/// cheap check once seeded) so they never see an empty store.
fn register(registry: &mut BuiltinRegistry, retail: Arc<Retail>) {
    for &(name, handler) in handlers::HANDLERS {
        let retail = Arc::clone(&retail);
        registry.register(format!("{HANDLER_PREFIX}{name}"), move |request| {
            handlers::run(&retail, handler, request)
        });
    }
}
