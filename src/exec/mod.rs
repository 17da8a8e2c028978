//! Executors: how a command runs once its parameters are valid.
//!
//! - [`builtin`]: Rust handlers registered by name, run inline (quick by contract);
//! - [`process`]: the `exec` kind, a child program speaking JSON on stdin/stdout;
//! - `http`: the `http` kind, an upstream API (the caller's token forwarded if asked);
//! - `template`: a fixed or templated answer (rendered by `workflow::template`).
//!
//! Every failure becomes a failed [`CommandResponse`] naming its cause: a broken command
//! never takes the server or the channel down with it.

pub mod builtin;
mod http;
pub mod process;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::domain::{Caller, CommandResponse};
use crate::workflow::{Command, ContentSpec, RunSpec, template};
use builtin::{BuiltinRegistry, BuiltinRequest};

/// A command's answer plus any extra content blocks (images, embedded resources).
#[derive(Debug, Clone)]
pub struct Execution {
    pub response: CommandResponse,
    pub content: Vec<ContentSpec>,
}

/// Runs commands of one workflow.
#[derive(Debug, Clone)]
pub struct Executors {
    builtins: BuiltinRegistry,
    /// The workflow folder: `exec` programs run here.
    workdir: Option<PathBuf>,
}

impl Executors {
    pub fn new(builtins: BuiltinRegistry, workdir: Option<PathBuf>) -> Self {
        Self { builtins, workdir }
    }

    /// Run `command` with already-validated `params`.
    pub async fn run(
        &self,
        command: &Command,
        params: &Map<String, Value>,
        caller: &Caller,
    ) -> Execution {
        let response = match &command.run {
            RunSpec::Builtin { handler } => {
                let Some(handler) = self.builtins.get(handler) else {
                    return failed(format!(
                        "{}: handler {handler} is not registered",
                        command.name
                    ));
                };
                // Inline on the async worker: builtins are quick by contract (see
                // `builtin.rs`), and a hop to the blocking pool costs more than they do.
                let joined = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    handler(&BuiltinRequest {
                        command_name: &command.name,
                        params,
                        channel_id: caller.channel_id.as_str(),
                        user_id: caller.user_id.as_deref(),
                    })
                }));
                match joined {
                    Ok(response) => response,
                    Err(_) => {
                        tracing::error!(command = %command.name, "builtin handler panicked");
                        CommandResponse::fail(format!(
                            "{} failed with an internal error",
                            command.name
                        ))
                    }
                }
            }
            RunSpec::Exec {
                command: program,
                timeout_seconds,
                max_output_bytes,
            } => {
                let Some(workdir) = &self.workdir else {
                    return failed(format!(
                        "{}: exec commands need a workflow folder",
                        command.name
                    ));
                };
                // Boxed: the child's I/O buffers would otherwise swell every caller's future.
                Box::pin(process::run(process::ExecRequest {
                    program,
                    workdir,
                    command_name: &command.name,
                    params,
                    channel_id: caller.channel_id.as_str(),
                    user_id: caller.user_id.as_deref(),
                    timeout: Duration::from_secs(*timeout_seconds),
                    max_output_bytes: *max_output_bytes,
                }))
                .await
            }
            RunSpec::Http {
                method,
                url,
                headers,
                body,
                forward_bearer,
                timeout_seconds,
                max_response_bytes,
            } => {
                // Boxed, like `exec`: the call's state would swell every caller's future.
                Box::pin(http::run(
                    http::HttpRequest {
                        command_name: &command.name,
                        method,
                        url,
                        headers,
                        body: body.as_ref(),
                        forward_bearer: *forward_bearer,
                        timeout: Duration::from_secs(*timeout_seconds),
                        max_response_bytes: *max_response_bytes,
                    },
                    params,
                    caller,
                ))
                .await
            }
            RunSpec::Template {
                response,
                success,
                content,
            } => {
                let text = template::render_response(response, params);
                let response = if *success {
                    CommandResponse::ok(text)
                } else {
                    CommandResponse::fail(text)
                };
                return Execution {
                    response,
                    content: content.clone(),
                };
            }
        };
        Execution {
            response,
            content: Vec::new(),
        }
    }
}

fn failed(message: String) -> Execution {
    Execution {
        response: CommandResponse::fail(message),
        content: Vec::new(),
    }
}
