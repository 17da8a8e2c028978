//! The MCP face of flowmcp: one hand-written `ServerHandler` whose tools and prompts are
//! generated from the workflow, served on stdio and on streamable HTTP.
//!
//! - [`tools`]: the tool list (`perform_action` + one tool per command) and result mapping;
//! - [`conversation_tools`]: new / list / activate conversations, feedback;
//! - `resources`: the workflow's resources and the conversations, reads and subscriptions;
//! - `events`: a call's trace events as progress notifications and log messages;
//! - `session`: what one session asked for (subscriptions, log level);
//! - `elicit`: asking the client for missing parameters;
//! - `sampling`: the client's model for agent turns (deprecated by the spec, kept here);
//! - [`server`]: the handler itself (completions included);
//! - [`stdio`] and [`http`]: the two transports.

pub mod conversation_tools;
mod elicit;
mod events;
pub mod http;
mod resources;
mod sampling;
pub mod server;
mod session;
pub mod stdio;
pub mod tools;

pub use server::FlowServer;
