//! Validated settings, built once from the raw CLI flags: the rest of the code never sees an
//! unchecked channel id, path or address.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::agent::{ApiKey, LlmSettings};
use crate::cli::{AuthMode, GlobalArgs, LlmArgs, ServeArgs};
use crate::domain::{ChannelId, parse_user_id};

/// The channel of stdio and `--auth none` requests when `--channel` is not given.
pub const DEFAULT_CHANNEL: &str = "local";

/// Which workflow to serve.
#[derive(Debug, Clone)]
pub enum WorkflowChoice {
    Embedded,
    Dir(PathBuf),
}

/// What every subcommand shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub workflow: WorkflowChoice,
    pub data_dir: PathBuf,
    pub channel: ChannelId,
    pub user: Option<String>,
    /// The LLM of agent mode, if one is configured.
    pub llm: Option<LlmSettings>,
    pub agent_max_steps: u32,
}

impl Settings {
    pub fn from_args(args: &GlobalArgs) -> anyhow::Result<Self> {
        let data_dir = data_dir(args)?;
        let channel = ChannelId::parse(args.channel.as_deref().unwrap_or(DEFAULT_CHANNEL))
            .context("invalid --channel")?;
        let user = args
            .user
            .as_deref()
            .map(parse_user_id)
            .transpose()
            .context("invalid --user")?;
        Ok(Self {
            workflow: args
                .workflow
                .clone()
                .map_or(WorkflowChoice::Embedded, WorkflowChoice::Dir),
            data_dir,
            channel,
            user,
            llm: llm_settings(&args.llm)?,
            agent_max_steps: args.llm.agent_max_steps,
        })
    }
}

/// `--llm-*`: none, or a base URL and a model (the key optional: local servers need none).
fn llm_settings(args: &LlmArgs) -> anyhow::Result<Option<LlmSettings>> {
    let Some(raw) = args
        .llm_base_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    else {
        if args.llm_model.is_some() {
            bail!("--llm-model needs --llm-base-url: say where the model is served");
        }
        return Ok(None);
    };
    let url: axum::http::Uri = raw.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "invalid --llm-base-url {raw:?}: give the /v1 URL of an OpenAI-compatible server, \
             such as http://127.0.0.1:11434/v1"
        )
    })?;
    if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
        bail!(
            "invalid --llm-base-url {raw:?}: give the /v1 URL of an OpenAI-compatible server, \
             such as http://127.0.0.1:11434/v1"
        );
    }
    let Some(model) = args
        .llm_model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    else {
        bail!("--llm-base-url needs --llm-model: name the model to ask (e.g. qwen2.5:7b)");
    };
    if args.llm_timeout == 0 {
        bail!("--llm-timeout must be at least 1 second");
    }
    if args.agent_max_steps == 0 {
        bail!("--agent-max-steps must be at least 1");
    }
    Ok(Some(LlmSettings {
        base_url: raw.trim().trim_end_matches('/').to_string(),
        model: model.to_string(),
        api_key: args.llm_api_key.as_deref().and_then(ApiKey::new),
        timeout: std::time::Duration::from_secs(args.llm_timeout),
        retries: 3,
    }))
}

/// `--data-dir`, else `$XDG_DATA_HOME/flowmcp`, else `~/.local/share/flowmcp`.
pub fn data_dir(args: &GlobalArgs) -> anyhow::Result<PathBuf> {
    match &args.data_dir {
        Some(dir) => Ok(dir.clone()),
        None => default_data_dir(),
    }
}

/// `$XDG_DATA_HOME/flowmcp`, else `~/.local/share/flowmcp`.
fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("flowmcp"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("cannot find a data dir: set --data-dir, XDG_DATA_HOME or HOME")?;
    Ok(PathBuf::from(home).join(".local/share/flowmcp"))
}

/// `serve`'s own settings.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub addr: SocketAddr,
    pub auth: AuthMode,
    /// The base URL clients reach the server at (behind a proxy), without a trailing `/`;
    /// `None`: `http://` and the bound address.
    pub public_url: Option<String>,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Longest lifetime an admin may give an MCP token (days).
    pub max_token_days: u64,
    /// Turns running at once, all channels together.
    pub max_concurrent_turns: usize,
}

impl ServeSettings {
    pub fn from_args(args: &ServeArgs) -> anyhow::Result<Self> {
        let ip: IpAddr = args.host.parse().with_context(|| {
            format!(
                "invalid --host {:?}: give an IP address such as 127.0.0.1",
                args.host
            )
        })?;
        if args.auth == AuthMode::None && !ip.is_loopback() {
            bail!(
                "--auth none is only allowed on a loopback address, not {ip}: anyone who can \
                 reach it would act as --channel"
            )
        }
        let public_url = args.public_url.as_deref().map(public_url).transpose()?;
        let mut allowed_hosts = args.allowed_hosts.clone();
        if allowed_hosts.is_empty() {
            allowed_hosts = vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "::1".into(),
                "[::1]".into(),
            ];
        }
        // The public URL's host is how clients reach the server: it must pass the Host check.
        if let Some(host) = public_url
            .as_deref()
            .and_then(|url| url.parse::<axum::http::Uri>().ok())
            .and_then(|uri| uri.host().map(str::to_string))
            && !allowed_hosts.contains(&host)
        {
            allowed_hosts.push(host);
        }
        if args.max_token_days == 0 {
            bail!("--max-token-days must be at least 1");
        }
        if args.max_concurrent_turns == 0 {
            bail!("--max-concurrent-turns must be at least 1");
        }
        for origin in &args.allowed_origins {
            if !(origin.starts_with("http://")
                || origin.starts_with("https://")
                || origin == "null")
            {
                bail!(
                    "invalid --allowed-origin {origin:?}: include the scheme, e.g. \
                     http://localhost:3000"
                );
            }
        }
        Ok(Self {
            addr: SocketAddr::new(ip, args.port),
            auth: args.auth,
            public_url,
            allowed_hosts,
            allowed_origins: args.allowed_origins.clone(),
            max_token_days: args.max_token_days,
            max_concurrent_turns: args.max_concurrent_turns,
        })
    }
}

/// `--public-url`: an absolute `http(s)://host[:port][/path]` URL, kept without a trailing `/`.
fn public_url(raw: &str) -> anyhow::Result<String> {
    let problem = || {
        anyhow::anyhow!(
            "invalid --public-url {raw:?}: give the URL clients reach the server at, such as \
             https://flowmcp.example.com"
        )
    };
    let uri: axum::http::Uri = raw.parse().map_err(|_| problem())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none() || uri.query().is_some() {
        return Err(problem());
    }
    Ok(raw.trim_end_matches('/').to_string())
}
