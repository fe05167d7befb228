#!/usr/bin/env bash
# Builds one of the Java test peers (a Maven module: hdfs-testenv, compat-peer, compat-engine)
# when needed (pom.xml or sources changed, or its jar or a class path entry is missing), quietly,
# and prints the java class path to use: the module's jar first, then its runtime dependencies
# (kept in <module>/target/classpath.txt by the module's maven-dependency-plugin execution).
#   CP=$(scripts/maven-peer.sh compat-engine) && java -cp "$CP" ckpt.compat.EngineRun ...
# The first build downloads the module's dependencies into ~/.m2; later ones need no network.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 MODULE_DIR" >&2; exit 2; }
HERE="$(cd "$1" && pwd)"
NAME="$(basename "$HERE")"
JAR="$HERE/target/$NAME.jar"
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
  command -v mvn >/dev/null || { echo "$NAME: mvn not found (apt-get install maven)" >&2; exit 1; }
  command -v java >/dev/null || { echo "$NAME: java not found (Java 17 needed)" >&2; exit 1; }
  log="$(mktemp)"
  # Offline first (fast when ~/.m2 already has everything), then online.
  if ! (cd "$HERE" && mvn -q -B -o package >"$log" 2>&1); then
    if ! (cd "$HERE" && mvn -q -B package >"$log" 2>&1); then
      cat "$log" >&2; rm -f "$log"
      echo "$NAME: maven build failed" >&2
      exit 1
    fi
  fi
  rm -f "$log"
  fingerprint >"$STAMP"
fi
echo "$JAR:$(cat "$CPFILE")"
