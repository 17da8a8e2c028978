//! Agent mode's model side: everything about talking to an LLM and shaping what it is told,
//! with no knowledge of channels or stores (the engine's `app::agent` runs the loop).
//!
//! - [`wire`]: the chat-completions format, read leniently (servers differ);
//! - [`sse`]: a Server-Sent Events parser for streamed completions;
//! - [`client`]: the [`LlmClient`] trait and the OpenAI-compatible client;
//! - [`plan`]: the plan kept between turns, the agent's own tools, prompt building.

pub mod client;
pub mod plan;
pub mod sse;
pub mod wire;

pub use client::{ApiKey, LlmClient, LlmError, LlmFuture, LlmSettings, OpenAiClient};
pub use plan::{OwnTools, PastTurn, Plan, Setting};
pub use wire::{ChatRequest, Completion, Message, Role, ToolCall, ToolSpec};
