#!/usr/bin/env bash
# Builds ckpt's SeaTunnel checkpoint storage plugin: the native library (ckpt-jni, release)
# and the jar of bindings/seatunnel with that library inside (linux-x86_64). The jar's path is
# the last line printed. Maven works offline first (artifacts cached under ~/.m2), online
# otherwise.
#
#   scripts/seatunnel-plugin.sh            # release build, runs the JUnit suite
#   scripts/seatunnel-plugin.sh --debug    # debug native library (faster to build; tests)
#   scripts/seatunnel-plugin.sh --skip-tests
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
profile=release
mvn_args=()
for arg in "$@"; do
    case "$arg" in
        --debug) profile=debug ;;
        --skip-tests) mvn_args+=(-DskipTests) ;;
        *) echo "unknown option $arg (--debug, --skip-tests)" >&2; exit 2 ;;
    esac
done
cargo_args=(-p ckpt-jni)
[ "$profile" = release ] && cargo_args+=(--release)
cargo build -q "${cargo_args[@]}" >&2
lib="$ROOT/target/$profile/libckpt_jni.so"
[ -f "$lib" ] || { echo "seatunnel-plugin: $lib was not built" >&2; exit 1; }
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
mvn_cmd=(mvn -B -q -f bindings/seatunnel/pom.xml package "-Dckpt.native.dir=$ROOT/target/$profile" "${mvn_args[@]}")
if ! "${mvn_cmd[@]}" -o >"$log" 2>&1; then
    if ! "${mvn_cmd[@]}" >"$log" 2>&1; then
        cat "$log" >&2
        echo "seatunnel-plugin: maven build failed" >&2
        exit 1
    fi
fi
jar="$ROOT/bindings/seatunnel/target/ckpt-seatunnel-0.1.0.jar"
unzip -l "$jar" | grep -q 'native/linux-x86_64/libckpt_jni.so' \
    || { echo "seatunnel-plugin: $jar lacks the native library" >&2; exit 1; }
echo "$jar"
