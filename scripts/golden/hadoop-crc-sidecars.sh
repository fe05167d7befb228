#!/usr/bin/env bash
# Regenerates tests/fixtures/hadoop-crc/: files and their `.crc` sidecars written by Hadoop's
# own LocalFileSystem (hdfs-testenv's Hadoop), the golden vectors of tests/checkpoint_sidecars.rs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$ROOT/hdfs-testenv/build.sh" >/dev/null
out="$ROOT/tests/fixtures/hadoop-crc"
rm -rf "$out" && mkdir -p "$out"
java -cp "$(cat "$ROOT/hdfs-testenv/target/classpath.txt")" \
    "$ROOT/scripts/golden/HadoopCrcSidecars.java" "$out" 2>/dev/null
ls -A "$out"
