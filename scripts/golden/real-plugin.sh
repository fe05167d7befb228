#!/usr/bin/env bash
# Regenerates tests/fixtures/real-plugin/: checkpoints written by SeaTunnel 2.3.8's own `hdfs`
# plugin (fs.defaultFS file:///, with Hadoop's `.crc` sidecars) under hdfs/ and by its
# `localfile` plugin under localfile/, found by factory discovery as the engine finds them, plus
# manifest.json: what each plugin stored and what its getCheckpoint and
# getLatestCheckpointByJobIdAndPipelineId return. The golden vectors of
# tests/golden_real_plugin.rs. File names carry the writer's clock and a random part: a rerun
# gives other names (and manifest), both kept as written.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CP="$("$ROOT/compat-peer/build.sh")"
out="$ROOT/tests/fixtures/real-plugin"
rm -rf "$out" && mkdir -p "$out"
log="$(mktemp)"
if ! java -cp "$CP" "$ROOT/scripts/golden/RealPluginGolden.java" "$out" 2>"$log"; then
  cat "$log" >&2; rm -f "$log"; exit 1
fi
rm -f "$log"
(cd "$out" && find . -type f | sort)
