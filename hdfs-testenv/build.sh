#!/usr/bin/env bash
# Builds hdfs-testenv when needed (pom.xml or sources changed, or the jar/classpath is missing), quietly.
# Prints the java class path to use (also kept in target/classpath.txt, without our jar).
#   CP=$(hdfs-testenv/build.sh) && java -cp "$CP" ckpt.testenv.MiniCluster single /tmp/hdfs1
# The first build downloads the dependency tree into ~/.m2 (a few minutes); later ones need no network.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAR="$HERE/target/hdfs-testenv.jar"
CPFILE="$HERE/target/classpath.txt"
STAMP="$HERE/target/.build-stamp"

fingerprint() {
  (cd "$HERE" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

up_to_date() {
  [[ -f "$JAR" && -f "$CPFILE" && -f "$STAMP" ]] || return 1
  [[ "$(cat "$STAMP")" == "$(fingerprint)" ]] || return 1
  # every dependency jar must still be in the local repository
  local IFS=':'
  for j in $(cat "$CPFILE"); do [[ -f "$j" ]] || return 1; done
  return 0
}

if ! up_to_date; then
  command -v mvn >/dev/null || { echo "hdfs-testenv: mvn not found (apt-get install maven)" >&2; exit 1; }
  command -v java >/dev/null || { echo "hdfs-testenv: java not found (Java 17 needed)" >&2; exit 1; }
  log="$(mktemp)"
  # Try offline first (fast when ~/.m2 already has everything), then online.
  if ! (cd "$HERE" && mvn -q -B -o package >"$log" 2>&1); then
    if ! (cd "$HERE" && mvn -q -B package >"$log" 2>&1); then
      cat "$log" >&2; rm -f "$log"
      echo "hdfs-testenv: maven build failed" >&2
      exit 1
    fi
  fi
  rm -f "$log"
  fingerprint >"$STAMP"
fi
echo "$JAR:$(cat "$CPFILE")"
