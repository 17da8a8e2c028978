//! Workflows: the folder format (DESIGN §2), its loader and what it becomes.
//!
//! - [`source`]: reads a folder (or the embedded demo) into raw files;
//! - [`loader`]: parses and validates them into a [`Catalog`], every error with path:line;
//! - [`schema`] and [`validate`]: one parameter list, two views — the JSON Schema clients see
//!   and the checks the server enforces;
//! - [`template`]: `{param}` responses and `{{argument}}` prompts;
//! - [`resources`]: `resources/*.toml` — fixed resources and command-read templates.

pub mod catalog;
pub mod error;
pub mod loader;
pub mod resources;
pub mod schema;
pub mod source;
pub mod template;
pub mod validate;

pub use catalog::{
    AppliesWhen, Catalog, Command, ContentSpec, Param, ParamType, Prompt, RunSpec, Vocabulary,
};
pub use error::{LoadError, LoadErrors};
pub use loader::{LoadRules, load};
pub use source::WorkflowSource;

/// The small workflow the engine's own tests run on (`tests/fixtures/engine`), so they depend
/// on no demo.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Catalog, LoadRules, WorkflowSource, load};

    pub(crate) fn helpdesk() -> Catalog {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engine");
        let source = WorkflowSource::from_dir(&dir).expect("the fixture is readable");
        let rules = LoadRules {
            is_handler: &|_| false,
            reserved_tools: &[],
            builtin_commands: &[],
        };
        load(&source, &rules).expect("the fixture loads")
    }
}
