//! Putting an [`App`] together: the workflow, where conversations are kept, and the plug-ins
//! that provide its `builtin` handlers. The engine knows no plug-in by name; the binary's
//! composition root (`lib.rs`) hands them in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::requests::{
    ActivateConversation, GetAllConversations, InvokeAgent, InvokeAssistant, NewConversation,
    PerformAction, PostFeedback, Request,
};
use super::{App, Inner};
use crate::assistant::{Assistant, Builtin};
use crate::exec::Executors;
use crate::exec::builtin::BuiltinRegistry;
use crate::session::Sessions;
use crate::store::rocks::{self, Db, RocksStore};
use crate::store::{ConversationStore, MemoryStore};
use crate::workflow::{self, Catalog, LoadRules, RunSpec, WorkflowSource};

/// The tools the engine serves on every face: no workflow command may take these names.
pub const RESERVED_TOOLS: &[&str] = &[
    InvokeAgent::NAME,
    InvokeAssistant::NAME,
    PerformAction::NAME,
    NewConversation::NAME,
    GetAllConversations::NAME,
    ActivateConversation::NAME,
    PostFeedback::NAME,
];

/// A provider of `builtin` handlers (`[run] kind = "builtin", handler = "…"`), and of
/// whatever those handlers keep: a plug-in may keep data in column families of the data dir's
/// RocksDB.
pub trait Plugin: Send + Sync {
    /// A short name for messages ("help desk").
    fn name(&self) -> &str;

    /// True when `handler` is one of this plug-in's: answered without opening anything, so
    /// `flowmcp check` can validate a workflow.
    fn provides(&self, handler: &str) -> bool;

    /// RocksDB column families the plug-in keeps its data in (created when missing).
    fn column_families(&self) -> &[&'static str] {
        &[]
    }

    /// Register the handlers. `db` is the data dir's database (`None` for an in-memory app);
    /// `used` says whether the loaded workflow calls any of this plug-in's handlers, so a
    /// plug-in prepares its data (seeds a store) only when it will be asked for it.
    fn install(
        &self,
        db: Option<&Db>,
        used: bool,
        registry: &mut BuiltinRegistry,
    ) -> anyhow::Result<()>;
}

/// Where conversations are kept.
#[derive(Debug, Clone)]
enum StoreChoice {
    /// RocksDB under `<data-dir>/db`.
    DataDir(PathBuf),
    /// In memory, gone with the process (tests).
    Memory,
}

/// Builds an [`App`]: `App::builder(source).data_dir(dir).plugin(p).open()`.
pub struct AppBuilder {
    source: WorkflowSource,
    store: StoreChoice,
    plugins: Vec<Arc<dyn Plugin>>,
}

impl std::fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plugins: Vec<&str> = self.plugins.iter().map(|p| p.name()).collect();
        f.debug_struct("AppBuilder")
            .field("store", &self.store)
            .field("plugins", &plugins)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Start building an app serving `source`; by default conversations are kept in memory.
    pub fn builder(source: WorkflowSource) -> AppBuilder {
        AppBuilder {
            source,
            store: StoreChoice::Memory,
            plugins: Vec::new(),
        }
    }
}

/// The names the loader checks commands against, given the plug-ins' handlers.
fn rules<'a>(is_handler: &'a dyn Fn(&str) -> bool, builtins: &'a [&'a str]) -> LoadRules<'a> {
    LoadRules {
        is_handler,
        reserved_tools: RESERVED_TOOLS,
        builtin_commands: builtins,
    }
}

/// Load a workflow without opening any store, with `plugins`' handlers: what `flowmcp check`
/// and server start-up both run.
pub fn check(
    source: &WorkflowSource,
    plugins: &[Arc<dyn Plugin>],
) -> Result<Catalog, workflow::LoadErrors> {
    let is_handler = |name: &str| plugins.iter().any(|p| p.provides(name));
    let builtins = Builtin::names();
    workflow::load(source, &rules(&is_handler, &builtins))
}

impl AppBuilder {
    /// Keep conversations (and plug-in data) in RocksDB under `<data_dir>/db`.
    pub fn data_dir(mut self, data_dir: &Path) -> Self {
        self.store = StoreChoice::DataDir(data_dir.join("db"));
        self
    }

    /// Keep conversations in memory (the default): for tests of the engine.
    pub fn in_memory(mut self) -> Self {
        self.store = StoreChoice::Memory;
        self
    }

    /// Add a provider of builtin handlers.
    pub fn plugin(mut self, plugin: Arc<dyn Plugin>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// Load the workflow, open the store, install the plug-ins.
    pub fn open(self) -> anyhow::Result<App> {
        let catalog = check(&self.source, &self.plugins)?;
        let (store, db): (Arc<dyn ConversationStore>, Option<Db>) = match &self.store {
            StoreChoice::Memory => (Arc::new(MemoryStore::new()), None),
            StoreChoice::DataDir(dir) => {
                let mut families: Vec<&str> = rocks::COLUMN_FAMILIES.to_vec();
                for plugin in &self.plugins {
                    families.extend(plugin.column_families().iter().copied());
                }
                let db = Db::open(dir, &families)?;
                (Arc::new(RocksStore::new(db.clone())), Some(db))
            }
        };
        let mut registry = BuiltinRegistry::default();
        for plugin in &self.plugins {
            let used = catalog.commands.values().any(
                |c| matches!(&c.run, RunSpec::Builtin { handler } if plugin.provides(handler)),
            );
            plugin
                .install(db.as_ref(), used, &mut registry)
                .with_context(|| format!("starting the {}", plugin.name()))?;
        }
        let executors = Executors::new(registry, catalog.root.clone());
        let assistant = Assistant::new(&catalog);
        Ok(App {
            inner: Arc::new(Inner {
                assistant,
                catalog,
                executors,
                sessions: Sessions::default(),
                store,
            }),
        })
    }
}
