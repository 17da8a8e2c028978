//! Logs go to stderr through `tracing`; `RUST_LOG` overrides the default filter.
//!
//! The default keeps rmcp at `warn`: in the stateless 2026-07-28 era it logs three `info`
//! lines per request (service start/stop), which cost more than serving a small tool call.

use tracing_subscriber::EnvFilter;

pub(crate) fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
