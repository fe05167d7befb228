#!/usr/bin/env bash
# Builds compat-peer when needed (pom.xml or sources changed, or the jar/classpath is missing),
# quietly, and prints the java class path (our jar first). The first build downloads SeaTunnel
# 2.3.8's plugins and their Hadoop 3.1.4 client into ~/.m2; later ones need no network.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAR="$HERE/target/compat-peer.jar"
CPFILE="$HERE/target/classpath.txt"
STAMP="$HERE/target/.build-stamp"
fingerprint() {
  (cd "$HERE" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}
up_to_date() {
  [[ -f "$JAR" && -f "$CPFILE" && -f "$STAMP" ]] || return 1
  [[ "$(cat "$STAMP")" == "$(fingerprint)" ]] || return 1
  local IFS=':'
  for j in $(cat "$CPFILE"); do [[ -f "$j" ]] || return 1; done
}
if ! up_to_date; then
  log="$(mktemp)"
  if ! (cd "$HERE" && mvn -q -B -o package >"$log" 2>&1); then
    if ! (cd "$HERE" && mvn -q -B package >"$log" 2>&1); then
      cat "$log" >&2; rm -f "$log"; echo "compat-peer: maven build failed" >&2; exit 1
    fi
  fi
  rm -f "$log"
  fingerprint >"$STAMP"
fi
echo "$JAR:$(cat "$CPFILE")"
