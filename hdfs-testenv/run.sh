#!/usr/bin/env bash
# hdfs-testenv/run.sh MODE DIR [options]   (MODE: single | ha | kerberos | ha-kerberos)
# Builds if needed (see build.sh), then runs the MiniDFSCluster launcher in the foreground:
# prints "HDFS-TESTENV READY DIR/info.json" on stdout, then answers commands read on stdin.
# "hdfs-testenv/run.sh peer ARGS..." runs the Java peer instead (encode/decode/fs-smoke/...).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CP="$("$HERE/build.sh")"
JAVA_OPTS=(-Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true)
if [[ "${1:-}" == "peer" ]]; then
  shift
  exec java "${JAVA_OPTS[@]}" -cp "$CP" ckpt.testenv.Peer "$@"
fi
# The NameNode superuser must be "hdfs", not whoever runs the tests.
exec env -u HADOOP_USER_NAME -u HADOOP_CONF_DIR java "${JAVA_OPTS[@]}" -cp "$CP" ckpt.testenv.MiniCluster "$@"
