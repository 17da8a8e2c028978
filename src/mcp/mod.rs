//! The MCP face of flowmcp: one hand-written `ServerHandler` whose tools and prompts are
//! generated from the workflow, served on stdio and on streamable HTTP.
//!
//! - [`tools`]: the tool list (`perform_action` + one tool per command) and result mapping;
//! - [`conversation_tools`]: new / list / activate conversations, feedback, `conversation://`
//!   resources;
//! - [`server`]: the handler itself;
//! - [`stdio`] and [`http`]: the two transports.

pub mod conversation_tools;
mod elicit;
pub mod http;
pub mod server;
pub mod stdio;
pub mod tools;

pub use server::FlowServer;
