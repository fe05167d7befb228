#!/usr/bin/env bash
# Builds hdfs-testenv when needed (pom.xml or sources changed, or the jar/classpath is missing), quietly.
# Prints the java class path to use (also kept in target/classpath.txt, without our jar).
#   CP=$(hdfs-testenv/build.sh) && java -cp "$CP" ckpt.testenv.MiniCluster single /tmp/hdfs1
# The first build downloads the dependency tree into ~/.m2 (a few minutes); later ones need no network.
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/maven-peer.sh" "$(dirname "${BASH_SOURCE[0]}")"
