//! Workflows: the folder format (DESIGN §2), its loader and what it becomes.
//!
//! - [`source`]: reads a folder (or the embedded demo) into raw files;
//! - [`loader`]: parses and validates them into a [`Catalog`], every error with path:line;
//! - [`schema`] and [`validate`]: one parameter list, two views — the JSON Schema clients see
//!   and the checks the server enforces;
//! - [`template`]: `{param}` responses and `{{argument}}` prompts.

pub mod catalog;
pub mod error;
pub mod loader;
pub mod schema;
pub mod source;
pub mod template;
pub mod validate;

pub use catalog::{AppliesWhen, Catalog, Command, ContentSpec, Param, ParamType, Prompt, RunSpec};
pub use error::{LoadError, LoadErrors};
pub use loader::load;
pub use source::WorkflowSource;
