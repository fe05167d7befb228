#!/usr/bin/env bash
# Builds compat-engine when needed, quietly, and prints the java class path (our jar first). The
# first build downloads SeaTunnel 2.3.8's Zeta engine, the Fake and Console connectors, the
# checkpoint storage plugins and their Hadoop 3.1.4 client into ~/.m2.
exec "$(dirname "${BASH_SOURCE[0]}")/../scripts/maven-peer.sh" "$(dirname "${BASH_SOURCE[0]}")"
