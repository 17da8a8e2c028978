#!/usr/bin/env bash
# Property-based checks of the REST shim against its own OpenAPI document: Schemathesis
# generates requests from /openapi.json (valid ones and deliberately wrong ones) and checks
# every response — no 5xx, status codes and bodies the document declares, a 401 and not a
# 200 without credentials, content types as declared.
#
# Two passes against one `flowmcp serve` (secure auth, the embedded demo workflow): a
# channel's token for every path but /admin, then an admin token for /admin.
#
# Schemathesis (PyPI) is installed into target/python-venv on first use (override:
# PYTHON_VENV). FLOWMCP_BIN picks the binary (default target/debug/flowmcp);
# SCHEMATHESIS_EXAMPLES the examples per operation (default 40); SCHEMATHESIS_SEED the seed
# (default a fixed one, so that a CI run can be replayed; "random" for a new one each run).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${FLOWMCP_BIN:-$root/target/debug/flowmcp}
venv=${PYTHON_VENV:-$root/target/python-venv}
examples=${SCHEMATHESIS_EXAMPLES:-40}
seed=${SCHEMATHESIS_SEED:-20261207}
seed_args=()
[[ $seed == random ]] || seed_args=(--seed "$seed")
# shellcheck source=lib/serve.sh
source "$root/scripts/lib/serve.sh"

[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
[[ -x $venv/bin/st ]] || "$venv/bin/pip" install --quiet "schemathesis>=4.3,<5"

data=$(mktemp -d)
log=$(mktemp)
cleanup() {
    serve_stop || true
    rm -rf "$data" "$log"
}
trap cleanup EXIT

# Minted before the server starts: the server holds the data dir while it runs.
channel=$("$bin" token mint --channel schemathesis --name schemathesis --days 1 \
    --data-dir "$data")
admin=$("$bin" token admin --days 1 --data-dir "$data")

serve_start "$log" 60 "$bin" serve --port 0 --data-dir "$data"
base=http://$SERVE_ADDR

run() {
    local token=$1
    shift
    "$venv/bin/st" run "$base/openapi.json" --url "$base" --checks all \
        --max-examples "$examples" --header "Authorization: Bearer $token" \
        --suppress-health-check all --generation-database none --no-color \
        "${seed_args[@]}" "$@"
}

status=0
echo "schemathesis: every path but /admin, as a channel"
run "$channel" --exclude-path-regex '^/admin' || status=1
echo "schemathesis: /admin, as an admin"
run "$admin" --include-path-regex '^/admin' || status=1
if ((status != 0)); then
    echo "last lines of the server log:" >&2
    tail -n 30 "$log" | sed 's/^/  | /' >&2
fi
exit "$status"
