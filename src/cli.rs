//! The command line (DESIGN §1): clap derive; every flag also reads its `FLOWMCP_*` variable.
//! `config.rs` turns these raw flags into validated settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Serve conversational workflows to LLM clients and agents over MCP.
#[derive(Debug, Parser)]
#[command(name = "flowmcp", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: CliCommand,
}

/// Flags accepted before or after the subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Workflow folder (workflow.toml, tools/, prompts/); default: the embedded demo.
    #[arg(long, global = true, env = "FLOWMCP_WORKFLOW", value_name = "DIR")]
    pub workflow: Option<PathBuf>,
    /// Where RocksDB and keys live; default: $XDG_DATA_HOME/flowmcp.
    #[arg(long, global = true, env = "FLOWMCP_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Channel of stdio and `--auth none` requests (default "local"); for `export`, the one
    /// channel to export (default: all).
    #[arg(long, global = true, env = "FLOWMCP_CHANNEL", value_name = "ID")]
    pub channel: Option<String>,
    /// User id recorded with stdio and `--auth none` requests.
    #[arg(long, global = true, env = "FLOWMCP_USER", value_name = "ID")]
    pub user: Option<String>,
    #[command(flatten)]
    pub llm: LlmArgs,
}

/// The LLM agent mode plans with (all optional: without one, `invoke_agent` uses the MCP
/// client's model if it lends it, else the assistant router).
#[derive(Debug, Clone, Args)]
pub struct LlmArgs {
    /// Any OpenAI-compatible /v1 endpoint (Ollama, vLLM, llama.cpp, LiteLLM, OpenAI).
    #[arg(long, global = true, env = "FLOWMCP_LLM_BASE_URL", value_name = "URL")]
    pub llm_base_url: Option<String>,
    /// The model to ask (required with --llm-base-url).
    #[arg(long, global = true, env = "FLOWMCP_LLM_MODEL", value_name = "NAME")]
    pub llm_model: Option<String>,
    /// Sent as `Authorization: Bearer`; prefer the variable (flags show in `ps`).
    #[arg(
        long,
        global = true,
        env = "FLOWMCP_LLM_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub llm_api_key: Option<String>,
    /// Longest wait for one model call, in seconds.
    #[arg(
        long,
        global = true,
        env = "FLOWMCP_LLM_TIMEOUT",
        default_value_t = 120,
        value_name = "SECS"
    )]
    pub llm_timeout: u64,
    /// Model calls one agent turn may make before it must answer.
    #[arg(
        long,
        global = true,
        env = "FLOWMCP_AGENT_MAX_STEPS",
        default_value_t = 25,
        value_name = "N"
    )]
    pub agent_max_steps: u32,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Serve MCP on stdin/stdout (logs go to stderr only).
    Stdio,
    /// Serve over HTTP: the REST API at /, MCP at /mcp.
    Serve(ServeArgs),
    /// Validate a workflow folder; exit 1 with path:line errors.
    Check {
        /// The folder to check; default: --workflow, else the embedded demo.
        dir: Option<PathBuf>,
    },
    /// Write every conversation (or one channel's, with --channel) as JSONL; works while a
    /// server is running on the same data dir.
    Export {
        /// Where to write; "-" or nothing is stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Mint, list and revoke tokens (the data dir's key pair signs them).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a long-lived access token for an MCP client of a channel (recorded, revocable):
    /// the channel is --channel (required), the user in its traces --user.
    Mint {
        /// Days until it expires.
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// A label for `token list`.
        #[arg(long)]
        name: Option<String>,
    },
    /// Print an admin token (mints, lists and revokes tokens over the admin API).
    Admin {
        /// Days until it expires.
        #[arg(long, default_value_t = 30)]
        days: u64,
    },
    /// List minted MCP tokens: name, channel, user, created, expires, last used, revoked.
    List,
    /// Revoke an MCP token by its id (refused from the next request on).
    Revoke {
        jti: String,
        /// Why (kept with the record).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, env = "FLOWMCP_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// 0 picks a free port; the bound address is printed.
    #[arg(long, env = "FLOWMCP_PORT", default_value_t = 8000)]
    pub port: u16,
    /// How requests are authenticated.
    #[arg(long, env = "FLOWMCP_AUTH", value_enum, default_value_t = AuthMode::Secure)]
    pub auth: AuthMode,
    /// Accepted `Host` header (repeatable); default: loopback names only.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Accepted browser `Origin` (repeatable, with scheme); default: no Origin check.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// The URL clients reach the server at, when behind a proxy (used in the documents that
    /// name it); its host is also an allowed `Host`.
    #[arg(long, env = "FLOWMCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Longest lifetime an admin may give an MCP token, in days.
    #[arg(long, env = "FLOWMCP_MAX_TOKEN_DAYS", default_value_t = 365)]
    pub max_token_days: u64,
    /// Turns running at once, all channels together; more get 503 with Retry-After.
    #[arg(long, env = "FLOWMCP_MAX_CONCURRENT_TURNS", default_value_t = 256)]
    pub max_concurrent_turns: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// RS256 JWTs, verified.
    Secure,
    /// JWTs read without signature check (opt-in, for trusted networks).
    Trusted,
    /// No tokens: every request is `--channel`. Loopback only.
    #[value(name = "none")]
    None,
}
