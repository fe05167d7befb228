#!/usr/bin/env bash
# s3s-fs (Rust S3 server on a local directory, enforces SigV4) for the ckpt S3 tests.
# Usage: s3s-fs.sh install|start|stop|status
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

S3S_VERSION=0.14.1
S3S_PORT="${S3S_PORT:-9011}"
S3S_ACCESS_KEY="${S3S_ACCESS_KEY:-ckpt-test-ak}"
S3S_SECRET_KEY="${S3S_SECRET_KEY:-ckpt-test-sk}"
S3S_START_TIMEOUT="${S3S_START_TIMEOUT:-30}"
ROOT="$CKPT_TESTENV_HOME/s3s-fs"
BIN="$ROOT/bin/s3s-fs"
DATA="${S3S_DATA_DIR:-$CKPT_TESTENV_HOME/s3s-fs-data-$S3S_PORT}"
PIDFILE="$RUN_DIR/s3s-fs-$S3S_PORT.pid"
LOGFILE="$LOG_DIR/s3s-fs-$S3S_PORT.log"

installed() {
    [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q " $S3S_VERSION\$"
}

do_install() {
    if installed; then
        return 0
    fi
    command -v cargo >/dev/null || die "cargo not found (needed to build s3s-fs)"
    log "building s3s-fs $S3S_VERSION with cargo install (a few minutes; log: $LOG_DIR/s3s-fs-install.log)"
    # --locked: build with the dependency versions the release was tested with.
    if ! cargo install s3s-fs --version "$S3S_VERSION" --features binary --locked \
            --root "$ROOT" >"$LOG_DIR/s3s-fs-install.log" 2>&1; then
        tail -n 40 "$LOG_DIR/s3s-fs-install.log" >&2
        die "cargo install s3s-fs failed (full log: $LOG_DIR/s3s-fs-install.log)"
    fi
}

running() {
    pid_alive "$PIDFILE" && port_open "$S3S_PORT"
}

do_start() {
    stop_if_stale "$PIDFILE" s3s-fs
    if running; then
        return 0
    fi
    do_install
    if ! pid_alive "$PIDFILE"; then
        if port_open "$S3S_PORT"; then
            die "port $S3S_PORT is already in use by another process"
        fi
        mkdir -p "$DATA"
        start_bg "$PIDFILE" "$LOGFILE" "$BIN" --host 127.0.0.1 --port "$S3S_PORT" \
            --access-key "$S3S_ACCESS_KEY" --secret-key "$S3S_SECRET_KEY" "$DATA"
    fi
    local deadline=$((SECONDS + S3S_START_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if port_open "$S3S_PORT"; then
            log "s3s-fs ready on http://127.0.0.1:$S3S_PORT (pid $(cat "$PIDFILE"), data $DATA)"
            return 0
        fi
        if ! pid_alive "$PIDFILE"; then
            tail -n 40 "$LOGFILE" >&2 || true
            die "s3s-fs exited during startup (log: $LOGFILE)"
        fi
        sleep 0.1
    done
    tail -n 40 "$LOGFILE" >&2 || true
    stop_pidfile "$PIDFILE" s3s-fs
    die "s3s-fs did not listen on port $S3S_PORT within ${S3S_START_TIMEOUT}s"
}

do_status() {
    if running; then
        echo "s3s-fs: running on http://127.0.0.1:$S3S_PORT (pid $(cat "$PIDFILE"))"
        return 0
    fi
    echo "s3s-fs: not running"
    return 1
}

case "${1:-}" in
    install) lock_service "s3s-fs-$S3S_PORT"; do_install ;;
    start) lock_service "s3s-fs-$S3S_PORT"; do_start ;;
    stop) stop_pidfile "$PIDFILE" s3s-fs ;;
    status) do_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
