//! The engine behind every transport: the loaded workflow, its executors, live channel
//! sessions and the conversation store.
//!
//! MCP (stdio and HTTP) and, later, the REST shim call the same `App` methods, so a command
//! behaves the same whichever way it is reached. `App` is a cheap cloneable handle.
//!
//! - [`actions`]: `perform_action` — validate, run, record the turn;
//! - [`assistant`]: `invoke_assistant` — words → command, clarification dialog, contexts;
//! - `route`: [`App::route`] — the router's choice, settled by the data (`[applies_when]`);
//! - [`conversations`]: new / list / activate conversations, feedback, reading turns.

pub mod actions;
pub mod assistant;
pub mod conversations;
mod route;

use std::sync::Arc;

use anyhow::Context;

pub use actions::{ActionError, ActionOutcome, TIMEOUT_RANGE};
pub use assistant::{AskAnswer, AskRequest, AssistantError, ParamAsker};
pub use conversations::ConversationError;

use crate::assistant::Assistant;
use crate::config::{Settings, WorkflowChoice};
use crate::demo;
use crate::exec::Executors;
use crate::exec::builtin::BuiltinRegistry;
use crate::session::Sessions;
use crate::store::Db;
use crate::store::conversations::RocksConversationStore;
use crate::workflow::{self, Catalog, RunSpec, WorkflowSource};

#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    assistant: Assistant,
    executors: Executors,
    sessions: Sessions,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("workflow", &self.inner.catalog.name)
            .finish()
    }
}

/// Read the chosen workflow's files.
pub fn workflow_source(choice: &WorkflowChoice) -> anyhow::Result<WorkflowSource> {
    Ok(match choice {
        WorkflowChoice::Embedded => WorkflowSource::embedded(),
        WorkflowChoice::Dir(dir) => WorkflowSource::from_dir(dir)?,
    })
}

/// Load a workflow without opening any store: what `flowmcp check` runs.
pub fn check(source: &WorkflowSource) -> Result<Catalog, workflow::LoadErrors> {
    workflow::load(source, &demo::is_handler)
}

impl App {
    /// Load the workflow, open the data dir, seed demo data if the workflow uses it.
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        let source = workflow_source(&settings.workflow)?;
        let db = Db::open(&settings.data_dir.join("db"))?;
        let retail = demo::Retail::new(db.clone());
        let mut builtins = BuiltinRegistry::default();
        demo::register(&mut builtins, retail.clone());
        let catalog = workflow::load(&source, &|name| builtins.contains(name))?;
        let uses_demo = catalog.commands.values().any(
            |c| matches!(&c.run, RunSpec::Builtin { handler } if handler.starts_with(demo::HANDLER_PREFIX)),
        );
        if uses_demo {
            retail.ensure_seeded().context("seeding the demo data")?;
        }
        let executors = Executors::new(builtins, catalog.root.clone());
        let sessions = Sessions::new(Arc::new(RocksConversationStore::new(db)));
        let assistant = Assistant::new(&catalog);
        Ok(Self {
            inner: Arc::new(Inner {
                assistant,
                catalog,
                executors,
                sessions,
            }),
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The routing model built from the catalog at load.
    pub fn assistant(&self) -> &Assistant {
        &self.inner.assistant
    }

    /// The context `caller`'s channel is in ("*" = global).
    pub async fn current_context(
        &self,
        caller: &crate::exec::Caller,
    ) -> Result<String, crate::store::conversations::StoreError> {
        let session = self.sessions().get(&caller.channel_id).await?;
        Ok(session.assistant_state().context().to_string())
    }

    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    fn executors(&self) -> &Executors {
        &self.inner.executors
    }
}
