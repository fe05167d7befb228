#!/usr/bin/env bash
# The full test suite on a fresh machine: installs and starts every test server it needs
# (MiniDFSCluster + MiniKdc via Maven, LocalStack, s3s-fs, MinIO, the OSS test server), then runs
# formatting and lint checks and every Rust test with all features. Idempotent: a second run reuses
# the installed servers. Nothing is skipped: a missing server fails its tests.
#
#   ./scripts/test-all.sh            # everything
#   ./scripts/test-all.sh hdfs       # only the HDFS suites (fs_hdfs, hdfs_*, Kerberos, SeaTunnel's
#                                    # plugins and Zeta engine as peers)
#   ./scripts/test-all.sh s3|oss|local
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
what="${1:-all}"
log() { printf '[test-all %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
started=$(date +%s)
# CI builds once from a clean checkout: incremental state would only cost disk (GBs for ~40 test
# binaries). A developer can still export CARGO_INCREMENTAL=1.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Kerberos client library (loaded at run time by hdfs-native and ckpt) and MIT tools for diagnostics.
if [ "$what" = all ] || [ "$what" = hdfs ]; then
    # kinit/kdestroy: the operator-ticket test uses them.
    if ! ldconfig -p | grep -q 'libgssapi_krb5.so.2' || ! command -v kinit >/dev/null; then
        log "installing the MIT Kerberos client library"
        sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq libgssapi-krb5-2 krb5-user >/dev/null
    fi
    log "building hdfs-testenv (MiniDFSCluster, MiniKdc, SeaTunnel codec peer)"
    hdfs-testenv/build.sh >/dev/null
    log "building compat-peer (SeaTunnel's plugins 2.3.8) and compat-engine (the Zeta engine 2.3.8)"
    compat-peer/build.sh >/dev/null
    compat-engine/build.sh >/dev/null
fi

if [ "$what" = all ] || [ "$what" = s3 ]; then
    log "starting S3 test servers (LocalStack, s3s-fs, MinIO)"
    eval "$(testenv/s3/up.sh)"
fi

if [ "$what" = all ] || [ "$what" = oss ]; then
    log "OSS test server: signer known-answer tests and validation by the official Aliyun Java SDK"
    python3 -m unittest -q testenv/oss/test_oss_server.py
    testenv/oss/sdk-check.sh >/dev/null
fi

if [ "$what" = all ]; then
    log "cargo fmt --check and clippy"
    cargo fmt --all -- --check
    cargo clippy --all-targets --all-features -- -D warnings
    log "API docs build without warnings"
    RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features -q
    log "default build without optional features still compiles"
    cargo build --no-default-features -p ckpt
fi

unset CKPT_ALLOW_SKIP
case "$what" in
    all) tests=() ;;
    hdfs) tests=(--test 'fs_hdfs*' --test 'hdfs_*' --test crash_hdfs --test faults_hdfs --test compat_plugin --test compat_engine) ;;
    s3) tests=(--test 'fs_s3*' --test 's3_*' --test faults_s3) ;;
    oss) tests=(--test 'fs_oss*' --test 'oss_*' --test faults_oss) ;;
    local) tests=(--lib --test fs_local --test fs_viewfs --test checkpoint_local --test checkpoint_sidecars --test golden_real_plugin --test cli --test config_validation --test seed_samples --test crash_local --test compat_config) ;;
    *) echo "unknown suite $what (all, hdfs, s3, oss, local)" >&2; exit 2 ;;
esac
log "cargo test --all-features --no-fail-fast ${tests[*]:-}"
cargo test --all-features --no-fail-fast "${tests[@]}" -- --test-threads="${CKPT_TEST_THREADS:-4}"

if [ "$what" = all ] || [ "$what" = local ]; then
    # Keeps scripts/bench-vs-java.sh from rotting: both sides must report; timings are not checked.
    log "bench-vs-java harness smoke (ckpt and the Java peer on local disk)"
    smoke_json="$(mktemp)"
    scripts/bench-vs-java.sh local --size 4K --pipelines 1 --checkpoints 5 --rounds 1 --debug \
        --json-out "$smoke_json" >/dev/null
    python3 - "$smoke_json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for impl in ("java", "ckpt"):
    runs = report["runs"][impl]
    assert len(runs) == 1, f"{impl}: {len(runs)} result sets"
    ops = {p["operation"]: p["count"] for p in runs[0]["phases"]}
    assert ops == {"store": 5, "restore_latest": 5}, f"{impl}: phases {ops}"
    assert runs[0]["state_bytes"] == 4096, f"{impl}: state_bytes {runs[0]['state_bytes']}"
assert report["runs"]["java"][0]["implementation"] == "java"
assert {m["metric"] for m in report["medians"]} >= {"p50 ms", "p99 ms", "MiB/s", "peak RSS MiB", "wall s"}
PY
    rm -f "$smoke_json"
fi

if [ "$what" = all ] || [ "$what" = local ]; then
    # The SeaTunnel plugin jar (bindings/seatunnel) with the debug native library: its JUnit
    # suite runs the CheckpointStorage interface against the ckpt plugin and SeaTunnel's own
    # hdfs plugin 2.3.8 on local disk.
    log "SeaTunnel plugin: JUnit suite (ckpt and SeaTunnel's hdfs plugin)"
    scripts/seatunnel-plugin.sh --debug >/dev/null
fi

if [ "$what" = all ]; then
    log "benches compile"
    cargo bench --no-run >/dev/null
fi
log "done in $(( $(date +%s) - started )) s"
