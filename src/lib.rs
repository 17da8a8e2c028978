//! flowmcp serves conversational workflows to LLM clients and agents over the Model Context
//! Protocol.
//!
//! # Layout
//! ```text
//! cli.rs, config.rs   raw flags (clap) → validated Settings
//! app/                the engine every transport calls: workflow + executors + store
//! assistant/          assistant mode: explicit syntax, intent index, parameter extraction
//! workflow/           folder format: source files → loader → Catalog; schema + validation
//! exec/               executors (builtin, exec, template) and the CommandOutput shapes
//! session/            ChannelId, live sessions, the turn lock
//! store/              RocksDB: conversations, turns, channel state, demo data
//! mcp/                ServerHandler generated from the Catalog; stdio and streamable HTTP
//! demo/               the embedded retail demo: generated data + builtin handlers
//! logging.rs          tracing to stderr (stdout belongs to MCP in stdio mode)
//! ```
//! `main.rs` only parses the command line and calls [`run`].

pub mod app;
pub mod assistant;
pub mod cli;
pub mod config;
pub mod demo;
pub mod exec;
mod logging;
pub mod mcp;
pub mod session;
pub mod store;
pub mod trace;
pub mod workflow;

use std::process::ExitCode;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use app::App;
use cli::{Cli, CliCommand};
use config::{ServeSettings, Settings, WorkflowChoice};
use exec::Caller;
use mcp::FlowServer;

/// How often idle sessions are looked for, and how long unused before they leave memory.
const SESSION_SWEEP: std::time::Duration = std::time::Duration::from_secs(60);
const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Run one CLI invocation to completion.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    logging::init();
    match &cli.command {
        CliCommand::Check { dir } => check(dir.clone().or(cli.global.workflow.clone())),
        CliCommand::Export { output } => export(&cli.global, output.as_deref()),
        CliCommand::Stdio => {
            let settings = Settings::from_args(&cli.global)?;
            runtime()?.block_on(async {
                let app = App::open(&settings)?;
                mcp::stdio::serve(FlowServer::new(app.clone(), caller(&settings))).await?;
                store_sync(&app)
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
    Caller {
        channel_id: settings.channel.clone(),
        user_id: settings.user.clone(),
    }
}

/// `flowmcp check`: every load error on stderr as path:line, exit 1; a summary otherwise.
fn check(dir: Option<std::path::PathBuf>) -> anyhow::Result<ExitCode> {
    let choice = dir.map_or(WorkflowChoice::Embedded, WorkflowChoice::Dir);
    let source = match app::workflow_source(&choice) {
        Ok(source) => source,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match app::check(&source) {
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
    let data_dir = config::data_dir(global)?;
    let channel = global
        .channel
        .as_deref()
        .map(session::ChannelId::parse)
        .transpose()
        .context("invalid --channel")?;
    let count = match output {
        None => {
            store::export::export_jsonl(&data_dir, channel.as_ref(), &mut std::io::stdout().lock())?
        }
        Some(path) if path.as_os_str() == "-" => {
            store::export::export_jsonl(&data_dir, channel.as_ref(), &mut std::io::stdout().lock())?
        }
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            let count = store::export::export_jsonl(&data_dir, channel.as_ref(), &mut writer)?;
            std::io::Write::flush(&mut writer)
                .with_context(|| format!("writing {}", path.display()))?;
            count
        }
    };
    tracing::info!(conversations = count, "exported");
    Ok(ExitCode::SUCCESS)
}

async fn serve_http(settings: Settings, serve: ServeSettings) -> anyhow::Result<()> {
    let app = App::open(&settings)?;
    let listener = TcpListener::bind(serve.addr)
        .await
        .with_context(|| format!("cannot listen on {}", serve.addr))?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    app.sessions()
        .spawn_evictor(SESSION_SWEEP, SESSION_IDLE, shutdown.clone());
    let app_handle = app.clone();
    let router = mcp::http::router(
        FlowServer::new(app, caller(&settings)),
        &serve,
        shutdown.clone(),
    );
    // The readiness line scripts wait for: keep its wording.
    eprintln!("listening on http://{addr}");
    tokio::spawn(stop_on_signal(shutdown.clone()));
    mcp::http::serve(listener, router, shutdown).await?;
    // In-flight requests have drained: make every acknowledged turn durable on disk too.
    store_sync(&app_handle)
}

fn store_sync(app: &App) -> anyhow::Result<()> {
    app.sessions()
        .store()
        .db()
        .sync()
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
