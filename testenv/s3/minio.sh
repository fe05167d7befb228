#!/usr/bin/env bash
# MinIO (optional) for the ckpt S3 tests, built from the Go module proxy with `go install`.
# MinIO is archived upstream; if it does not build, `install` exits 3 and the tests skip MinIO.
# Usage: minio.sh install|start|stop|status
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Newest module version the Go proxy serves (MinIO's RELEASE.* tags are not semver, so it is a
# pseudo-version of the last commit).
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
MINIO_PORT="${MINIO_PORT:-9012}"
MINIO_CONSOLE_PORT="${MINIO_CONSOLE_PORT:-$((MINIO_PORT + 1))}"
MINIO_ROOT_USER="${MINIO_ROOT_USER:-ckpt-minio-ak}"
MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-ckpt-minio-sk}"
MINIO_START_TIMEOUT="${MINIO_START_TIMEOUT:-60}"
MINIO_BUILD_TIMEOUT="${MINIO_BUILD_TIMEOUT:-600}"
ROOT="$CKPT_TESTENV_HOME/minio"
BIN="$ROOT/bin/minio"
STAMP="$ROOT/bin/.version"
FAILED="$ROOT/install-failed"
DATA="$CKPT_TESTENV_HOME/minio-data-$MINIO_PORT"
PIDFILE="$RUN_DIR/minio-$MINIO_PORT.pid"
LOGFILE="$LOG_DIR/minio-$MINIO_PORT.log"
INSTALL_LOG="$LOG_DIR/minio-install.log"

installed() {
    [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$MINIO_VERSION" ]
}

do_install() {
    if installed; then
        return 0
    fi
    # A failed build is remembered per version so that every `up.sh` does not retry it
    # (MINIO_RETRY=1 forces a new attempt).
    if [ -f "$FAILED" ] && [ "$(head -n1 "$FAILED")" = "$MINIO_VERSION" ] && [ "${MINIO_RETRY:-0}" != 1 ]; then
        log "MinIO $MINIO_VERSION did not build earlier: $(sed -n 2p "$FAILED") (log: $INSTALL_LOG; MINIO_RETRY=1 to try again)"
        exit 3
    fi
    command -v go >/dev/null || { log "go not found: cannot build MinIO"; exit 3; }
    mkdir -p "$ROOT/bin"
    log "building MinIO $MINIO_VERSION with go install (up to ${MINIO_BUILD_TIMEOUT}s; log: $INSTALL_LOG)"
    local rc=0
    GOBIN="$ROOT/bin" GOFLAGS=-mod=mod CGO_ENABLED=0 timeout "$MINIO_BUILD_TIMEOUT" \
        go install "github.com/minio/minio@$MINIO_VERSION" >"$INSTALL_LOG" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        local why
        if [ "$rc" -eq 124 ]; then
            why="go install timed out after ${MINIO_BUILD_TIMEOUT}s"
        else
            why="go install exited $rc: $(grep -m1 -E 'error|cannot|not found|go: ' "$INSTALL_LOG" || tail -n1 "$INSTALL_LOG")"
        fi
        printf '%s\n%s\n' "$MINIO_VERSION" "$why" >"$FAILED"
        tail -n 20 "$INSTALL_LOG" >&2 || true
        log "MinIO is not available: $why"
        exit 3
    fi
    echo "$MINIO_VERSION" >"$STAMP"
    rm -f "$FAILED"
}

healthy() {
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$MINIO_PORT/minio/health/live" 2>/dev/null
}

do_start() {
    stop_if_stale "$PIDFILE" minio
    if healthy; then
        return 0
    fi
    do_install
    if ! pid_alive "$PIDFILE"; then
        if port_open "$MINIO_PORT"; then
            die "port $MINIO_PORT is already in use by another process"
        fi
        mkdir -p "$DATA"
        start_bg "$PIDFILE" "$LOGFILE" env \
            MINIO_ROOT_USER="$MINIO_ROOT_USER" MINIO_ROOT_PASSWORD="$MINIO_ROOT_PASSWORD" \
            MINIO_BROWSER=off MINIO_UPDATE=off CI=true \
            "$BIN" server --quiet --address "127.0.0.1:$MINIO_PORT" \
            --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" "$DATA"
    fi
    local deadline=$((SECONDS + MINIO_START_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if healthy; then
            log "minio ready on http://127.0.0.1:$MINIO_PORT (pid $(cat "$PIDFILE"))"
            return 0
        fi
        if ! pid_alive "$PIDFILE"; then
            tail -n 40 "$LOGFILE" >&2 || true
            die "minio exited during startup (log: $LOGFILE)"
        fi
        sleep 0.2
    done
    tail -n 40 "$LOGFILE" >&2 || true
    stop_pidfile "$PIDFILE" minio
    die "minio not healthy after ${MINIO_START_TIMEOUT}s"
}

do_status() {
    if healthy; then
        echo "minio: running on http://127.0.0.1:$MINIO_PORT"
        return 0
    fi
    echo "minio: not running"
    return 1
}

case "${1:-}" in
    install) lock_service "minio-$MINIO_PORT"; do_install ;;
    start) lock_service "minio-$MINIO_PORT"; do_start ;;
    stop) stop_pidfile "$PIDFILE" minio ;;
    status) do_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
