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
//! agent/              agent mode's model side: the OpenAI-compatible client (lenient wire
//!                     types, SSE), the plan kept between turns, prompt building
//! assistant/          assistant mode without an LLM: intent index, parameter extraction,
//!                     built-in commands, the assistant's wording
//! auth/               RS256 tokens: the key pair, minting, verifying, refresh, revocation
//! workflow/           folder format: source files → loader → Catalog; schema + validation
//! exec/               executors (builtin, exec, http, template)
//! session/            live channels in memory, the turn lock
//! store/              ConversationStore: its contract, RocksDB and in-memory implementations
//! mcp/                ServerHandler generated from the Catalog; stdio and streamable HTTP
//! rest/               the REST shim (axum): fastworkflow's paths, streaming, /openapi.json
//! demo/               the embedded retail demo, a plug-in: generated data + builtin handlers
//! logging.rs          tracing to stderr (stdout belongs to MCP in stdio mode)
//! ```
//! `main.rs` only parses the command line and calls [`run`]; this file is the composition
//! root that hands the demo plug-in to the engine.

pub mod agent;
pub mod app;
pub mod assistant;
pub mod auth;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod exec;
mod logging;
pub mod mcp;
pub mod rest;
pub mod session;
pub mod store;
pub mod workflow;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use app::{App, Plugin};
use auth::{Gate, KeyPair, Tokens, Verification};
use cli::{AuthMode, Cli, CliCommand, TokenCommand};
use config::{ServeSettings, Settings, WorkflowChoice};
use domain::{Caller, ChannelId, TokenRecord};
use mcp::FlowServer;
use store::rocks::{COLUMN_FAMILIES, Db, DbError, RocksStore};
use store::{MemoryStore, TokenStore};
use workflow::{Catalog, LoadErrors, WorkflowSource};

/// How often idle sessions are looked for, and how long unused before they leave memory.
const SESSION_SWEEP: std::time::Duration = std::time::Duration::from_secs(60);
const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How often the last uses of MCP tokens are written (not once per request).
const LAST_USED_FLUSH: std::time::Duration = std::time::Duration::from_secs(60);

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
    open_app_with(settings, app::builder::DEFAULT_MAX_TURNS)
}

fn open_app_with(settings: &Settings, max_turns: usize) -> anyhow::Result<App> {
    let source = workflow_source(&settings.workflow)?;
    let mut builder = App::builder(source)
        .data_dir(&settings.data_dir)
        .max_concurrent_turns(max_turns)
        .agent_max_steps(settings.agent_max_steps);
    if let Some(llm) = &settings.llm {
        let client = agent::OpenAiClient::new(llm.clone()).context("setting up the LLM client")?;
        tracing::info!(llm = %agent::LlmClient::describe(&client), "agent mode plans with");
        builder = builder.llm(Arc::new(client));
    }
    for plugin in plugins() {
        builder = builder.plugin(plugin);
    }
    builder.open()
}

/// Run one CLI invocation to completion. `release_memory` hands the allocator's free pages
/// back to the operating system (the binary chooses the allocator, so it knows how); the
/// server calls it once it is ready, the start-up work done, and after sweeps that evicted
/// idle channels.
pub fn run(cli: Cli, release_memory: fn()) -> anyhow::Result<ExitCode> {
    logging::init();
    match &cli.command {
        CliCommand::Check { dir } => check(dir.clone().or(cli.global.workflow.clone())),
        CliCommand::Export { output } => export(&cli.global, output.as_deref()),
        CliCommand::Token(command) => token(&cli.global, command),
        CliCommand::Stdio => {
            let settings = Settings::from_args(&cli.global)?;
            runtime()?.block_on(async {
                let app = open_app(&settings)?;
                release_memory();
                mcp::stdio::serve(FlowServer::new(app.clone(), caller(&settings))).await?;
                store_sync(&app).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CliCommand::Serve(args) => {
            let settings = Settings::from_args(&cli.global)?;
            let serve = ServeSettings::from_args(args)?;
            runtime()?.block_on(serve_http(settings, serve, release_memory))?;
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
                "ok: workflow \"{}\": {} commands, {} prompts, {} resources, {} contexts",
                catalog.name,
                catalog.commands.len(),
                catalog.prompts.len(),
                catalog.resources.fixed.len() + catalog.resources.templates.len(),
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

/// How `serve` authenticates, per `--auth`.
fn gate(settings: &Settings, serve: &ServeSettings, app: &App) -> anyhow::Result<Gate> {
    let verification = match serve.auth {
        AuthMode::None => return Ok(Gate::Open(caller(settings))),
        AuthMode::Secure => Verification::Signed,
        AuthMode::Trusted => {
            tracing::warn!(
                "--auth trusted: token signatures are NOT checked; anyone who can reach this \
                 server can act for any channel. Use it only behind a gateway that verified them."
            );
            Verification::Unsigned
        }
    };
    let keys = KeyPair::load_or_create(&settings.data_dir)?;
    let tokens =
        Tokens::open(verification, keys, app.token_store()).context("reading the token records")?;
    Ok(Gate::Tokens(Arc::new(tokens)))
}

async fn serve_http(
    settings: Settings,
    serve: ServeSettings,
    release_memory: fn(),
) -> anyhow::Result<()> {
    let app = open_app_with(&settings, serve.max_concurrent_turns)?;
    let gate = gate(&settings, &serve, &app)?;
    let listener = TcpListener::bind(serve.addr)
        .await
        .with_context(|| format!("cannot listen on {}", serve.addr))?;
    let addr = listener.local_addr()?;
    let public_base = serve
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let shutdown = CancellationToken::new();
    app.sessions().spawn_evictor(
        SESSION_SWEEP,
        SESSION_IDLE,
        release_memory,
        shutdown.clone(),
    );
    if let Some(tokens) = gate.tokens() {
        spawn_last_used_flusher(tokens.clone(), shutdown.clone());
    }
    let mcp = mcp::http::router(
        FlowServer::for_http(app.clone()),
        &serve,
        gate.clone(),
        public_base.clone(),
        shutdown.clone(),
    );
    let rest = rest::router(rest::RestState {
        app: app.clone(),
        gate: gate.clone(),
        public_base,
        max_token_days: serve.max_token_days,
    });
    // Start-up (seeding, the routing index, the workflow's files) leaves garbage behind.
    release_memory();
    // The readiness line scripts wait for: keep its wording.
    eprintln!("listening on http://{addr}");
    tokio::spawn(stop_on_signal(shutdown.clone()));
    mcp::http::serve(listener, rest.merge(mcp), shutdown).await?;
    // In-flight requests have drained: make every acknowledged turn durable on disk too.
    if let Some(tokens) = gate.tokens() {
        let tokens = tokens.clone();
        let flushed = tokio::task::spawn_blocking(move || tokens.flush_last_used()).await;
        if let Ok(Err(e)) = flushed {
            tracing::warn!(error = %e, "the last uses of tokens were not written");
        }
    }
    store_sync(&app).await
}

/// Write the last uses of MCP tokens every [`LAST_USED_FLUSH`] until `shutdown`.
fn spawn_last_used_flusher(tokens: Arc<Tokens>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(LAST_USED_FLUSH);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    let tokens = tokens.clone();
                    let flushed =
                        tokio::task::spawn_blocking(move || tokens.flush_last_used()).await;
                    if let Ok(Err(e)) = flushed {
                        tracing::warn!(error = %e, "the last uses of tokens were not written");
                    }
                }
            }
        }
    });
}

/// `flowmcp token …`: mint, list and revoke tokens with the data dir's key pair.
#[expect(
    clippy::print_stdout,
    reason = "the token or the list is the command's output"
)]
fn token(global: &cli::GlobalArgs, command: &TokenCommand) -> anyhow::Result<ExitCode> {
    let data_dir = config::data_dir(global)?;
    let db_dir = data_dir.join("db");
    // The record of minted tokens lives in the database a running server holds.
    let writable = || -> anyhow::Result<Arc<RocksStore>> {
        match Db::open(&db_dir, COLUMN_FAMILIES) {
            Ok(db) => Ok(Arc::new(RocksStore::new(db))),
            Err(DbError::Locked { path }) => anyhow::bail!(
                "{} is in use by a running flowmcp server. Mint and revoke through its admin \
                 API instead (POST /admin/generate_mcp_token, POST /admin/revoke_token, with a \
                 token from `flowmcp token admin`), or stop the server first.",
                path.display()
            ),
            Err(e) => Err(e.into()),
        }
    };
    match command {
        TokenCommand::Admin { days } => {
            anyhow::ensure!(*days >= 1, "--days must be at least 1");
            // Admin tokens are not recorded: this works beside a running server.
            let keys = KeyPair::load_or_create(&data_dir)?;
            let tokens = Tokens::open(Verification::Signed, keys, Arc::new(MemoryStore::new()))?;
            println!("{}", tokens.mint_admin(*days)?.token);
        }
        TokenCommand::Mint { days, name } => {
            anyhow::ensure!(*days >= 1, "--days must be at least 1");
            let channel_id = global.channel.as_deref().ok_or_else(|| {
                anyhow::anyhow!("token mint needs --channel ID: the channel the token acts for")
            })?;
            let channel = ChannelId::parse(channel_id).context("invalid --channel")?;
            let user = global
                .user
                .as_deref()
                .map(domain::parse_user_id)
                .transpose()
                .context("invalid --user")?;
            let store = writable()?;
            let keys = KeyPair::load_or_create(&data_dir)?;
            let tokens = Tokens::open(Verification::Signed, keys, store)?;
            let (minted, record) =
                tokens.mint_mcp(&channel, user.as_deref(), name.as_deref(), *days)?;
            eprintln!(
                "minted {} for channel {} (expires {}); it is shown once:",
                record.jti,
                record.channel_id,
                utc(record.expires_at)
            );
            println!("{}", minted.token);
        }
        TokenCommand::List => {
            if !db_dir.join("CURRENT").is_file() {
                println!("(no tokens: {} has no database yet)", data_dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            // A read-only view: works beside a running server.
            let db = Db::open_secondary(&db_dir)?;
            let records = RocksStore::new(db).tokens()?;
            print_tokens(&records);
        }
        TokenCommand::Revoke { jti, reason } => {
            let store = writable()?;
            let record = store.revoke_token(
                jti,
                domain::Revocation {
                    at: domain::now_ms(),
                    reason: reason.clone(),
                },
            )?;
            eprintln!("revoked {} (channel {})", record.jti, record.channel_id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[expect(clippy::print_stdout, reason = "the list is the command's output")]
fn print_tokens(records: &[TokenRecord]) {
    println!(
        "{:<32}  {:<20}  {:<24}  {:<16}  {:<17}  {:<17}  {:<17}  revoked",
        "jti", "name", "channel", "user", "created", "expires", "last used"
    );
    for r in records {
        println!(
            "{:<32}  {:<20}  {:<24}  {:<16}  {:<17}  {:<17}  {:<17}  {}",
            r.jti,
            r.name.as_deref().unwrap_or("-"),
            r.channel_id,
            r.user_id.as_deref().unwrap_or("-"),
            utc(r.created_at),
            utc(r.expires_at),
            r.last_used_at.map_or("-".to_string(), utc),
            r.revoked.as_ref().map_or("no".to_string(), |v| {
                format!("{} {}", utc(v.at), v.reason.as_deref().unwrap_or(""))
            }),
        );
    }
}

/// `2026-12-07 01:30Z` for ms since the Unix epoch.
fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60
    )
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
