//! The `builtin` executor: Rust handlers registered by name (`[run] handler = "shop.…"`), by
//! the plug-ins the app is built with.
//!
//! Handlers are plain synchronous functions run inline on the async worker that serves the
//! request: no thread hop, which on a 2-core machine costs more than a RocksDB point read or
//! write. So a handler must be quick: in-memory work and RocksDB point reads and writes.
//! Anything that may take long (network, large scans, sleeping) belongs in an `exec` command:
//! a builtin cannot be interrupted by the command's timeout.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::domain::CommandResponse;

/// What a builtin handler is given: the validated parameters and who is asking.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinRequest<'a> {
    pub command_name: &'a str,
    /// Parameters after schema validation, defaults applied.
    pub params: &'a Map<String, Value>,
    pub channel_id: &'a str,
    pub user_id: Option<&'a str>,
}

impl<'a> BuiltinRequest<'a> {
    /// A string parameter. Validation already enforced presence and type for required ones.
    pub fn str(&self, name: &str) -> Option<&'a str> {
        self.params.get(name).and_then(Value::as_str)
    }

    /// An array-of-strings parameter (item ids…).
    pub fn str_list(&self, name: &str) -> Vec<&'a str> {
        self.params
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

type HandlerFn = dyn Fn(&BuiltinRequest<'_>) -> CommandResponse + Send + Sync;

/// Handlers by name. Built once at start; the loader checks every `handler = …` against it.
#[derive(Clone, Default)]
pub struct BuiltinRegistry {
    handlers: HashMap<String, Arc<HandlerFn>>,
}

impl std::fmt::Debug for BuiltinRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.handlers.keys().collect();
        names.sort();
        f.debug_struct("BuiltinRegistry")
            .field("handlers", &names)
            .finish()
    }
}

impl BuiltinRegistry {
    /// Register `handler` under `name`; a later registration of the same name replaces it.
    pub fn register(
        &mut self,
        name: impl Into<String>,
        handler: impl Fn(&BuiltinRequest<'_>) -> CommandResponse + Send + Sync + 'static,
    ) {
        self.handlers.insert(name.into(), Arc::new(handler));
    }

    pub fn contains(&self, name: &str) -> bool {
        self.handlers.contains_key(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<HandlerFn>> {
        self.handlers.get(name).cloned()
    }
}
