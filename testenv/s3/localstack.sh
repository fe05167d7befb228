#!/usr/bin/env bash
# LocalStack (S3 only) for the ckpt S3 tests, installed from PyPI into a venv, run natively.
# Usage: localstack.sh install|start|stop|status
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LOCALSTACK_VERSION=4.4.0
LOCALSTACK_PORT="${LOCALSTACK_PORT:-4566}"
LOCALSTACK_START_TIMEOUT="${LOCALSTACK_START_TIMEOUT:-120}"
VENV="$CKPT_TESTENV_HOME/localstack-venv"
CONSTRAINTS="$TESTENV_S3_DIR/localstack-4.4-py311-constraints.txt"
PIDFILE="$RUN_DIR/localstack-$LOCALSTACK_PORT.pid"
LOGFILE="$LOG_DIR/localstack-$LOCALSTACK_PORT.log"
STAMP="$VENV/.ckpt-installed"
URL="http://127.0.0.1:$LOCALSTACK_PORT"

# service_identity is not a declared dependency but twisted's TLS support (loaded by the
# LocalStack gateway) imports it.
PACKAGES=("localstack-core[runtime]==$LOCALSTACK_VERSION" service_identity)

want_stamp() {
    echo "${PACKAGES[*]} $(cksum <"$CONSTRAINTS" | cut -d' ' -f1)"
}

installed() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(want_stamp)" ] && [ -x "$VENV/bin/python" ]
}

do_install() {
    if installed; then
        return 0
    fi
    local py
    py="$(pick_python)"
    log "installing localstack-core[runtime]==$LOCALSTACK_VERSION into $VENV (python: $py)"
    rm -rf "$VENV"
    "$py" -m venv "$VENV"
    local pipcache="${PIP_CACHE_DIR:-$CKPT_TESTENV_HOME/pip-cache}"
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            --cache-dir "$pipcache" -c "$CONSTRAINTS" \
            "${PACKAGES[@]}" >"$LOG_DIR/localstack-install.log" 2>&1; then
        tail -n 40 "$LOG_DIR/localstack-install.log" >&2
        die "pip install failed (full log: $LOG_DIR/localstack-install.log)"
    fi
    want_stamp >"$STAMP"
}

healthy() {
    curl -fsS --max-time 2 "$URL/_localstack/health" 2>/dev/null \
        | grep -Eq '"s3": *"(available|running)"'
}

do_start() {
    stop_if_stale "$PIDFILE" localstack
    if healthy; then
        return 0
    fi
    do_install
    if pid_alive "$PIDFILE"; then
        log "localstack (pid $(cat "$PIDFILE")) is starting; waiting"
    else
        if port_open "$LOCALSTACK_PORT"; then
            die "port $LOCALSTACK_PORT is in use by something that is not a healthy LocalStack"
        fi
        mkdir -p "$CKPT_TESTENV_HOME/localstack-data-$LOCALSTACK_PORT"
        # DNS_ADDRESS=0: no DNS server (would want port 53); data lives under the cache dir.
        start_bg "$PIDFILE" "$LOGFILE" env \
            GATEWAY_LISTEN="127.0.0.1:$LOCALSTACK_PORT" \
            SERVICES=s3 \
            DNS_ADDRESS=0 \
            LOCALSTACK_TELEMETRY=0 \
            DISABLE_EVENTS=1 \
            SKIP_SSL_CERT_DOWNLOAD=1 \
            FILESYSTEM_ROOT="${CKPT_TESTENV_HOME}/localstack-data-$LOCALSTACK_PORT" \
            "$VENV/bin/python" -m localstack.runtime.main
    fi
    local deadline=$((SECONDS + LOCALSTACK_START_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if healthy; then
            # The S3 provider loads lazily on the first request: do that here (ListBuckets),
            # so the first test request is not the slow one.
            curl -s -o /dev/null --max-time 60 "$URL/" || true
            log "localstack ready on $URL (pid $(cat "$PIDFILE"))"
            return 0
        fi
        if ! pid_alive "$PIDFILE"; then
            tail -n 40 "$LOGFILE" >&2 || true
            die "localstack exited during startup (log: $LOGFILE)"
        fi
        sleep 0.5
    done
    tail -n 40 "$LOGFILE" >&2 || true
    stop_pidfile "$PIDFILE" localstack
    die "localstack not healthy after ${LOCALSTACK_START_TIMEOUT}s (log: $LOGFILE)"
}

do_status() {
    if healthy; then
        echo "localstack: running on $URL"
        return 0
    fi
    echo "localstack: not running"
    return 1
}

case "${1:-}" in
    install) lock_service "localstack-$LOCALSTACK_PORT"; do_install ;;
    start) lock_service "localstack-$LOCALSTACK_PORT"; do_start ;;
    stop) stop_pidfile "$PIDFILE" localstack ;;
    status) do_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
