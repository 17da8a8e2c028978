//! flowmcp serves conversational workflows to LLM clients and agents over the Model Context
//! Protocol.
//!
//! # Layout
//! ```text
//! domain/             the shared vocabulary: ChannelId, Caller, Timeout, Turn, TraceEvent,
//!                     CommandOutput, the deterministic summary — imports nothing of the crate
//! cli.rs, config.rs   raw flags (clap) → validated Settings
//! app/                the engine every face calls: request types, EngineError, the builder
//!                     and plug-ins, perform_action, invoke_assistant, conversations
//! assistant/          assistant mode without an LLM: intent index, parameter extraction,
//!                     built-in commands, the assistant's wording
//! workflow/           folder format: source files → loader → Catalog; schema + validation
//! exec/               executors (builtin, exec, template)
//! session/            live channels in memory, the turn lock
//! store/              ConversationStore: its contract, RocksDB and in-memory implementations
//! mcp/                ServerHandler generated from the Catalog; stdio and streamable HTTP
//! demo/               the embedded retail demo, a plug-in: generated data + builtin handlers
//! logging.rs          tracing to stderr (stdout belongs to MCP in stdio mode)
//! ```
//! `main.rs` only parses the command line and calls [`run`]; this file is the composition
//! root that hands the demo plug-in to the engine.

pub mod app;
pub mod assistant;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod exec;
mod logging;
pub mod mcp;
pub mod session;
pub mod store;
pub mod workflow;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use app::{App, Plugin};
use cli::{Cli, CliCommand};
use config::{ServeSettings, Settings, WorkflowChoice};
use domain::{Caller, ChannelId};
use mcp::FlowServer;
use workflow::{Catalog, LoadErrors, WorkflowSource};

/// How often idle sessions are looked for, and how long unused before they leave memory.
const SESSION_SWEEP: std::time::Duration = std::time::Duration::from_secs(60);
const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The plug-ins this binary serves workflows with: the embedded retail demo's handlers.
pub fn plugins() -> Vec<Arc<dyn Plugin>> {
    vec![Arc::new(demo::RetailDemo)]
}

/// Read the chosen workflow's files.
pub fn workflow_source(choice: &WorkflowChoice) -> Result<WorkflowSource, LoadErrors> {
    match choice {
        WorkflowChoice::Embedded => Ok(WorkflowSource::embedded()),
        WorkflowChoice::Dir(dir) => WorkflowSource::from_dir(dir),
    }
}

/// Load a workflow with this binary's plug-ins, opening nothing: what `flowmcp check` runs.
pub fn check_workflow(source: &WorkflowSource) -> Result<Catalog, LoadErrors> {
    app::check(source, &plugins())
}

/// The engine for `settings`: its workflow, the data dir's store, this binary's plug-ins.
pub fn open_app(settings: &Settings) -> anyhow::Result<App> {
    let source = workflow_source(&settings.workflow)?;
    let mut builder = App::builder(source).data_dir(&settings.data_dir);
    for plugin in plugins() {
        builder = builder.plugin(plugin);
    }
    builder.open()
}

/// Run one CLI invocation to completion.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    logging::init();
    match &cli.command {
        CliCommand::Check { dir } => check(dir.clone().or(cli.global.workflow.clone())),
        CliCommand::Export { output } => export(&cli.global, output.as_deref()),
        CliCommand::Stdio => {
            let settings = Settings::from_args(&cli.global)?;
            runtime()?.block_on(async {
                let app = open_app(&settings)?;
                mcp::stdio::serve(FlowServer::new(app.clone(), caller(&settings))).await?;
                store_sync(&app).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Serve(args) => {
            let settings = Settings::from_args(&cli.global)?;
            let serve = ServeSettings::from_args(args)?;
            runtime()?.block_on(serve_http(settings, serve))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn caller(settings: &Settings) -> Caller {
    Caller::new(settings.channel.clone(), settings.user.clone())
}

/// `flowmcp check`: every load error on stderr as path:line, exit 1; a summary otherwise.
#[expect(clippy::print_stdout, reason = "the summary is the command's output")]
fn check(dir: Option<std::path::PathBuf>) -> anyhow::Result<ExitCode> {
    let choice = dir.map_or(WorkflowChoice::Embedded, WorkflowChoice::Dir);
    let source = match workflow_source(&choice) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match check_workflow(&source) {
        Ok(catalog) => {
            println!(
                "ok: workflow \"{}\": {} commands, {} prompts, {} contexts",
                catalog.name,
                catalog.commands.len(),
                catalog.prompts.len(),
                catalog.contexts.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{} error(s)", errors.0.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `flowmcp export`: JSONL of every conversation (or one channel's) to a file or stdout.
fn export(global: &cli::GlobalArgs, output: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    use store::rocks::export::export_jsonl;
    let data_dir = config::data_dir(global)?;
    let channel = global
        .channel
        .as_deref()
        .map(ChannelId::parse)
        .transpose()
        .context("invalid --channel")?;
    let count = match output {
        None => export_jsonl(&data_dir, channel.as_ref(), &mut std::io::stdout().lock())?,
        Some(path) if path.as_os_str() == "-" => {
            export_jsonl(&data_dir, channel.as_ref(), &mut std::io::stdout().lock())?
        }
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            let count = export_jsonl(&data_dir, channel.as_ref(), &mut writer)?;
            std::io::Write::flush(&mut writer)
                .with_context(|| format!("writing {}", path.display()))?;
            count
        }
    };
    tracing::info!(conversations = count, "exported");
    Ok(ExitCode::SUCCESS)
}

async fn serve_http(settings: Settings, serve: ServeSettings) -> anyhow::Result<()> {
    let app = open_app(&settings)?;
    let listener = TcpListener::bind(serve.addr)
        .await
        .with_context(|| format!("cannot listen on {}", serve.addr))?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    app.sessions()
        .spawn_evictor(SESSION_SWEEP, SESSION_IDLE, shutdown.clone());
    let router = mcp::http::router(
        FlowServer::new(app.clone(), caller(&settings)),
        &serve,
        shutdown.clone(),
    );
    // The readiness line scripts wait for: keep its wording.
    eprintln!("listening on http://{addr}");
    tokio::spawn(stop_on_signal(shutdown.clone()));
    mcp::http::serve(listener, router, shutdown).await?;
    // In-flight requests have drained: make every acknowledged turn durable on disk too.
    store_sync(&app).await
}

async fn store_sync(app: &App) -> anyhow::Result<()> {
    app.sync()
        .await
        .context("flushing the write-ahead log at shutdown")
}

/// Cancel `shutdown` on SIGINT or SIGTERM.
async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM");
            let _ = ctrl_c.await;
            shutdown.cancel();
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    shutdown.cancel();
}
