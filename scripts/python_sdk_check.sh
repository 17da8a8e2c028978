#!/usr/bin/env bash
# A token minted with `flowmcp token mint` works from the Python MCP SDK against
# `flowmcp serve` with its default `--auth secure`, bound to a non-loopback address
# (0.0.0.0, reached over 127.0.0.1 with `--allowed-host 127.0.0.1`).
#
# The SDK (PyPI `mcp`) is installed into target/python-venv on first use (override:
# PYTHON_VENV). FLOWMCP_BIN picks the binary (default target/debug/flowmcp).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${FLOWMCP_BIN:-$root/target/debug/flowmcp}
venv=${PYTHON_VENV:-$root/target/python-venv}
# shellcheck source=lib/serve.sh
source "$root/scripts/lib/serve.sh"

[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import mcp, httpx2' 2>/dev/null ||
    "$venv/bin/pip" install --quiet "mcp>=2.3,<3"

data=$(mktemp -d)
log=$(mktemp)
cleanup() {
    serve_stop || true
    rm -rf "$data" "$log"
}
trap cleanup EXIT

# Minted before the server starts: the server holds the data dir while it runs.
token=$("$bin" token mint --channel python-sdk --name "python SDK check" --days 1 \
    --data-dir "$data")

serve_start "$log" 60 "$bin" serve --host 0.0.0.0 --port 0 --allowed-host 127.0.0.1 \
    --data-dir "$data"
port=${SERVE_ADDR##*:}

"$venv/bin/python" "$root/scripts/python_sdk_check.py" "http://127.0.0.1:$port/mcp" "$token"
