# shellcheck shell=bash
# Sourced by the scripts that test a running server: start `flowmcp serve` on port 0 and
# learn its address from its log line "listening on http://ADDR", without polling.
#
#   serve_start LOG TIMEOUT BIN ARGS...   start BIN ARGS...; its output goes to LOG.
#                                         Sets SERVE_PID and SERVE_ADDR (host:port);
#                                         returns 1 (log printed) if it never listened.
#   serve_stop                            SIGTERM, wait; returns the server's status.

SERVE_PID=""
SERVE_ADDR=""
_serve_drain_pid=""

serve_start() {
    local log=$1 timeout=$2
    shift 2
    local fifo
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    : >"$log"
    # A hermetic server: no FLOWMCP_* settings from the caller's environment leak in.
    local -a unset_env=()
    local var
    for var in $(compgen -e); do
        [[ $var == FLOWMCP_* ]] && unset_env+=(-u "$var")
    done
    NO_COLOR=1 env "${unset_env[@]}" "$@" >"$fifo" 2>&1 &
    SERVE_PID=$!
    exec {fd}<"$fifo"
    rm -f "$fifo"

    local line re='listening on http://([][0-9A-Za-z.:_-]+)'
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)) && IFS= read -r -t "$((deadline - SECONDS))" line <&"$fd"; do
        printf '%s\n' "$line" >>"$log"
        if [[ $line =~ $re ]]; then
            SERVE_ADDR=${BASH_REMATCH[1]}
            break
        fi
    done
    # Keep draining the server's output so that it never blocks on a full pipe.
    cat <&"$fd" >>"$log" &
    _serve_drain_pid=$!
    exec {fd}<&-

    if [[ -z $SERVE_ADDR ]]; then
        printf 'the server exited or did not print "listening on http://ADDR" within %ss:\n' \
            "$timeout" >&2
        serve_stop || true
        sed 's/^/  | /' "$log" >&2
        return 1
    fi
}

serve_stop() {
    local status=0
    if [[ -n $SERVE_PID ]]; then
        kill -TERM "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" || status=$?
        SERVE_PID=""
    fi
    if [[ -n $_serve_drain_pid ]]; then
        wait "$_serve_drain_pid" || true
        _serve_drain_pid=""
    fi
    return "$status"
}
