# Shared helpers for the testenv/s3 scripts (sourced, not executed).
# shellcheck shell=bash

CKPT_TESTENV_HOME="${CKPT_TESTENV_HOME:-$HOME/.cache/ckpt-testenv}"
TESTENV_S3_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_DIR="$CKPT_TESTENV_HOME/logs"
RUN_DIR="$CKPT_TESTENV_HOME/run"
mkdir -p "$LOG_DIR" "$RUN_DIR"

log() { printf '%s\n' "[$(basename "$0" .sh)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# lock_service NAME: serialise install/start of one service across concurrent callers
# (e.g. two up.sh at once). Held until the calling script exits.
lock_service() {
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$RUN_DIR/$1.lock"
        flock 9
    fi
}

# pid_alive PIDFILE -> 0 if the pid recorded in PIDFILE is a live process.
pid_alive() {
    local pid
    [ -f "$1" ] || return 1
    pid="$(cat "$1" 2>/dev/null)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# port_open PORT -> 0 if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_bg PIDFILE LOGFILE CMD... : start CMD in its own session (pid == process group id).
start_bg() {
    local pidfile="$1" logfile="$2"
    shift 2
    : >"$logfile"
    # 9>&-: do not hand the service lock (see lock_service) to the long-lived server.
    # env -C: run from our own home, never the caller's directory (a CI checkout that is
    # deleted later would leave a reused server without a working directory).
    setsid env -C "$CKPT_TESTENV_HOME" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
    echo $! >"$pidfile"
}

# stop_if_stale PIDFILE NAME: stop a running server that can no longer work although its port
# answers: its working directory or its executable was deleted (e.g. started from a checkout
# that is gone, or the binary was reinstalled). The caller then starts a fresh one.
stop_if_stale() {
    local pidfile="$1" name="$2" pid what
    pid_alive "$pidfile" || return 0
    pid="$(cat "$pidfile")"
    for what in cwd exe; do
        if readlink "/proc/$pid/$what" 2>/dev/null | grep -q ' (deleted)$'; then
            log "$name (pid $pid) has a deleted $what; restarting it"
            stop_pidfile "$pidfile" "$name"
            return 0
        fi
    done
}

# stop_pidfile PIDFILE NAME: TERM the process group recorded in PIDFILE, KILL after 15 s.
stop_pidfile() {
    local pidfile="$1" name="$2" pid i
    if ! pid_alive "$pidfile"; then
        rm -f "$pidfile"
        log "$name not running"
        return 0
    fi
    pid="$(cat "$pidfile")"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    log "$name stopped (pid $pid)"
}

# python interpreter used to build venvs (LocalStack 4.4 pins are for CPython 3.11).
pick_python() {
    if [ -n "${CKPT_PYTHON:-}" ]; then echo "$CKPT_PYTHON"; return; fi
    if command -v python3.11 >/dev/null 2>&1; then echo python3.11; return; fi
    echo python3
}
