#!/usr/bin/env bash
# Validates oss_server.py with the official Aliyun OSS Java SDK (com.aliyun.oss:aliyun-sdk-oss).
# Builds testenv/oss/sdk-check (skipped when the jar is newer than its sources), starts a fresh
# server on an ephemeral 127.0.0.1 port, runs the checks, stops the server. Exit code = checks' result.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJ="$HERE/sdk-check"
JAR="$PROJ/target/oss-sdk-check.jar"
PYTHON="${PYTHON:-python3}"

needs_build=0
if [[ ! -f "$JAR" ]]; then
  needs_build=1
elif [[ -n "$(find "$PROJ/pom.xml" "$PROJ/src" -newer "$JAR" -print -quit)" ]]; then
  needs_build=1
fi
if [[ $needs_build == 1 ]]; then
  (cd "$PROJ" && mvn -q -B -Dstyle.color=never package -DskipTests) >&2
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

AK="ckptTestAccessKeyId"; SK="ckptTestAccessKeySecret0123456789"
STS_AK="STS.ckptTempAccessKeyId"; STS_SK="ckptTempAccessKeySecret9876543210"
STS_TOKEN="CAIS+ckpt/test=token&with?odd%chars"
REGION="cn-hangzhou"

"$PYTHON" "$HERE/oss_server.py" --port 0 --port-file "$WORK/port" --data-dir "$WORK/data" \
  --access-key-id "$AK" --access-key-secret "$SK" \
  --sts-access-key-id "$STS_AK" --sts-access-key-secret "$STS_SK" --sts-token "$STS_TOKEN" \
  --region "$REGION" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  [[ -s "$WORK/port" ]] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.err" >&2; echo "oss_server.py exited" >&2; exit 1; fi
  sleep 0.1
done
PORT="$(cat "$WORK/port")"

set +e
java -jar "$JAR" "http://127.0.0.1:$PORT" "$AK" "$SK" "$STS_AK" "$STS_SK" "$STS_TOKEN" "$REGION"
rc=$?
set -e
if [[ $rc != 0 && -s "$WORK/server.err" ]]; then
  echo "--- oss_server.py stderr ---" >&2; tail -50 "$WORK/server.err" >&2
fi
exit $rc
