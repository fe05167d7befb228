#!/usr/bin/env bash
# Stop the S3 test servers started by up.sh (same env vars for ports). Idempotent.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rc=0
"$HERE/localstack.sh" stop || rc=1
"$HERE/s3s-fs.sh" stop || rc=1
"$HERE/minio.sh" stop || rc=1
exit "$rc"
