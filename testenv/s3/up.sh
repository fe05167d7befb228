#!/usr/bin/env bash
# Install (first run only) and start the S3 test servers, then print `export` lines for the tests:
#     eval "$(testenv/s3/up.sh)"
# Idempotent: servers already running are reused; a second run takes well under a second.
# MinIO is built once (a failed build is remembered and not retried) and started after the
# others; CKPT_TESTENV_MINIO=0 skips it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/common.sh"

LOCALSTACK_PORT="${LOCALSTACK_PORT:-4566}"
S3S_PORT="${S3S_PORT:-9011}"
S3S_ACCESS_KEY="${S3S_ACCESS_KEY:-ckpt-test-ak}"
S3S_SECRET_KEY="${S3S_SECRET_KEY:-ckpt-test-sk}"
MINIO_PORT="${MINIO_PORT:-9012}"
MINIO_ROOT_USER="${MINIO_ROOT_USER:-ckpt-minio-ak}"
MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-ckpt-minio-sk}"
export LOCALSTACK_PORT S3S_PORT S3S_ACCESS_KEY S3S_SECRET_KEY MINIO_PORT MINIO_ROOT_USER MINIO_ROOT_PASSWORD

# The first run builds s3s-fs (CPU) while pip fetches LocalStack (network): do both at once.
"$HERE/localstack.sh" start >&2 &
ls_pid=$!
"$HERE/s3s-fs.sh" start >&2 &
s3s_pid=$!
rc=0
wait "$ls_pid" || { log "LocalStack failed to start"; rc=1; }
wait "$s3s_pid" || { log "s3s-fs failed to start"; rc=1; }

minio=0
if [ "${CKPT_TESTENV_MINIO:-1}" != 0 ]; then
    if "$HERE/minio.sh" start >&2; then
        minio=1
    else
        log "MinIO not available; continuing without it"
    fi
fi
[ "$rc" -eq 0 ] || exit "$rc"

echo "export CKPT_TEST_LOCALSTACK_ENDPOINT=http://127.0.0.1:$LOCALSTACK_PORT"
echo "export CKPT_TEST_S3S_ENDPOINT=http://127.0.0.1:$S3S_PORT"
echo "export CKPT_TEST_S3S_ACCESS_KEY=$S3S_ACCESS_KEY"
echo "export CKPT_TEST_S3S_SECRET_KEY=$S3S_SECRET_KEY"
if [ "$minio" = 1 ]; then
    echo "export CKPT_TEST_MINIO_ENDPOINT=http://127.0.0.1:$MINIO_PORT"
    echo "export CKPT_TEST_MINIO_ACCESS_KEY=$MINIO_ROOT_USER"
    echo "export CKPT_TEST_MINIO_SECRET_KEY=$MINIO_ROOT_PASSWORD"
fi
echo "export CKPT_TEST_IMDS_SCRIPT=$HERE/imds.py"
