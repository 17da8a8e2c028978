//! The engine behind every transport: the loaded workflow, its executors and the store.
//!
//! MCP (stdio and HTTP) and, later, the REST shim call the same `App` methods, so a command
//! behaves the same whichever way it is reached. `App` is a cheap cloneable handle.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::config::{Settings, WorkflowChoice};
use crate::demo;
use crate::exec::builtin::BuiltinRegistry;
use crate::exec::output::CommandOutput;
use crate::exec::{Caller, Executors};
use crate::store::Db;
use crate::workflow::catalog::GLOBAL_CONTEXT;
use crate::workflow::validate::{self, FieldError};
use crate::workflow::{self, Catalog, ContentSpec, RunSpec, WorkflowSource};

/// Bounds on a caller's `timeout_seconds` (DESIGN §6).
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=600;

/// Why an action was refused before or instead of an answer.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("unknown command \"{name}\"{}", suggestion_text(.suggestion))]
    UnknownCommand {
        name: String,
        suggestion: Option<String>,
    },
    #[error("invalid parameters for {command}: {}", validate::describe(.errors))]
    InvalidParams {
        command: String,
        errors: Vec<FieldError>,
    },
    #[error("timeout_seconds must be between 1 and 600, not {0}")]
    InvalidTimeout(u64),
    #[error("{command} produced no output within {seconds} s")]
    TimedOut { command: String, seconds: u64 },
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

/// A finished action: the seed-compatible output plus extra content blocks.
#[derive(Debug, Clone)]
pub struct ActionOutcome {
    pub output: CommandOutput,
    pub content: Vec<ContentSpec>,
}

#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    executors: Executors,
    #[allow(dead_code)] // conversations and channel state will live here too
    db: Db,
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
        Ok(Self {
            inner: Arc::new(Inner {
                catalog,
                executors,
                db,
            }),
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// Run `command_name` with `params` (validated first), within `timeout_seconds`.
    pub async fn perform_action(
        &self,
        caller: &Caller,
        command_name: &str,
        params: Option<&Value>,
        timeout_seconds: Option<u64>,
    ) -> Result<ActionOutcome, ActionError> {
        let catalog = &self.inner.catalog;
        let Some(command) = catalog.command(command_name) else {
            return Err(ActionError::UnknownCommand {
                name: command_name.chars().take(80).collect(),
                suggestion: closest_name(command_name, catalog.commands.keys().map(String::as_str)),
            });
        };
        let seconds = timeout_seconds.unwrap_or(catalog.default_timeout_seconds);
        if !TIMEOUT_RANGE.contains(&seconds) {
            return Err(ActionError::InvalidTimeout(seconds));
        }
        let params = validate::validate_params(command, params).map_err(|errors| {
            ActionError::InvalidParams {
                command: command.name.clone(),
                errors,
            }
        })?;
        let run = self
            .inner
            .executors
            .run(command.clone(), params.clone(), caller);
        // A late answer is dropped with the future: it can never reach a later response.
        let execution = tokio::time::timeout(Duration::from_secs(seconds), run)
            .await
            .map_err(|_| ActionError::TimedOut {
                command: command.name.clone(),
                seconds,
            })?;
        Ok(ActionOutcome {
            output: CommandOutput {
                command_responses: vec![execution.response],
                workflow_name: catalog.name.clone(),
                context: GLOBAL_CONTEXT.to_string(),
                command_name: command.name.clone(),
                command_parameters: params,
            },
            content: execution.content,
        })
    }
}

/// The known name nearest to `wanted` by edit distance, if it is plausibly a typo.
fn closest_name<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Option<String> {
    let wanted = wanted.to_ascii_lowercase();
    names
        .map(|name| (levenshtein(&wanted, &name.to_ascii_lowercase()), name))
        .filter(|(distance, name)| *distance <= (name.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(current)
            };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let names = ["get_order_details", "cancel_pending_order"];
        assert_eq!(
            closest_name("get_order_detail", names.into_iter()).as_deref(),
            Some("get_order_details")
        );
        assert_eq!(closest_name("launch_rocket", names.into_iter()), None);
    }
}
