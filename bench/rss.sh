#!/usr/bin/env bash
# The router's memory, in one command:  bench/rss.sh   (extra -D options go to Maven: -Dbench.rss.rate=5000,
# -Dbench.rss.variants="-Xmx512m|-Xmx256m", ...). Builds the router (mvn package), then runs io.pgrouter.bench.RssBench with
# exec:java: embedded PostgreSQL, the packaged router with the lake route as a leader under a paced load, then as a
# standby (leader election on fabric8's mock API server), per set of JVM options. Needs Java 17 and Maven.
set -euo pipefail
cd "$(dirname "$0")/.."

. "$(dirname "$0")/lib.sh"
run_bench rss io.pgrouter.bench.RssBench "$@"
