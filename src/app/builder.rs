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
use crate::agent::LlmClient;
use crate::assistant::{Assistant, Builtin};
use crate::exec::Executors;
use crate::exec::builtin::BuiltinRegistry;
use crate::session::Sessions;
use crate::store::rocks::{self, Db, RocksStore};
use crate::store::{ConversationStore, MemoryStore, TokenStore};
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
#[derive(Clone)]
enum StoreChoice {
    /// RocksDB under `<data-dir>/db`.
    DataDir(PathBuf),
    /// In memory, gone with the process (tests).
    Memory,
    /// A store of the caller's own (tests of the engine's handling of store behaviour).
    Given(Arc<dyn ConversationStore>),
}

impl std::fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DataDir(dir) => f.debug_tuple("DataDir").field(dir).finish(),
            Self::Memory => f.write_str("Memory"),
            Self::Given(store) => f.debug_tuple("Given").field(store).finish(),
        }
    }
}

/// Builds an [`App`]: `App::builder(source).data_dir(dir).plugin(p).open()`. Where
/// conversations are kept is always said (`data_dir`, `in_memory` or `store`): an app that
/// forgot its data dir must not serve without durability.
pub struct AppBuilder {
    source: WorkflowSource,
    store: Option<StoreChoice>,
    plugins: Vec<Arc<dyn Plugin>>,
    max_turns: usize,
    llm: Option<Arc<dyn LlmClient>>,
    agent_max_steps: u32,
}

/// Turns running at once, all channels together, unless the builder says otherwise.
pub const DEFAULT_MAX_TURNS: usize = 256;

impl std::fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plugins: Vec<&str> = self.plugins.iter().map(|p| p.name()).collect();
        f.debug_struct("AppBuilder")
            .field("store", &self.store)
            .field("plugins", &plugins)
            .field("max_turns", &self.max_turns)
            .field("llm", &self.llm.as_ref().map(|l| l.describe()))
            .finish_non_exhaustive()
    }
}

impl App {
    /// Start building an app serving `source`.
    pub fn builder(source: WorkflowSource) -> AppBuilder {
        AppBuilder {
            source,
            store: None,
            plugins: Vec::new(),
            max_turns: DEFAULT_MAX_TURNS,
            llm: None,
            agent_max_steps: super::agent::DEFAULT_MAX_STEPS,
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
        self.store = Some(StoreChoice::DataDir(data_dir.join("db")));
        self
    }

    /// Keep conversations in memory, gone with the process: for tests of the engine.
    pub fn in_memory(mut self) -> Self {
        self.store = Some(StoreChoice::Memory);
        self
    }

    /// Keep conversations in `store` (plug-ins then get no database).
    pub fn store(mut self, store: Arc<dyn ConversationStore>) -> Self {
        self.store = Some(StoreChoice::Given(store));
        self
    }

    /// Run at most `n` turns at once (all channels together); more are refused as busy.
    pub fn max_concurrent_turns(mut self, n: usize) -> Self {
        self.max_turns = n.max(1);
        self
    }

    /// Plan agent turns with `llm` (without one, `invoke_agent` borrows the MCP client's
    /// model, or the assistant router answers).
    pub fn llm(mut self, llm: Arc<dyn LlmClient>) -> Self {
        self.llm = Some(llm);
        self
    }

    /// Model calls an agent turn may make before it must answer (at least 1).
    pub fn agent_max_steps(mut self, steps: u32) -> Self {
        self.agent_max_steps = steps.max(1);
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
        let Some(choice) = self.store else {
            anyhow::bail!(
                "say where conversations are kept: AppBuilder::data_dir, in_memory or store"
            );
        };
        type Stores = (Arc<dyn ConversationStore>, Arc<dyn TokenStore>, Option<Db>);
        let (store, tokens, db): Stores = match choice {
            StoreChoice::Memory => {
                let memory = Arc::new(MemoryStore::new());
                (memory.clone(), memory, None)
            }
            StoreChoice::Given(store) => (store, Arc::new(MemoryStore::new()), None),
            StoreChoice::DataDir(dir) => {
                let mut families: Vec<&str> = rocks::COLUMN_FAMILIES.to_vec();
                for plugin in &self.plugins {
                    families.extend(plugin.column_families().iter().copied());
                }
                let db = Db::open(&dir, &families)?;
                let rocks = Arc::new(RocksStore::new(db.clone()));
                (rocks.clone(), rocks, Some(db))
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
                tokens,
                turns: Arc::new(tokio::sync::Semaphore::new(self.max_turns)),
                max_turns: self.max_turns,
                changes: super::changes::Changes::new(),
                llm: self.llm,
                agent_max_steps: self.agent_max_steps,
            }),
        })
    }
}
