#!/usr/bin/env bash
# The router's memory, in one command:  bench/rss.sh   (extra -D options go to Maven: -Dbench.rss.rate=5000,
# -Dbench.rss.variants="-Xmx512m|-Xmx256m", ...). Builds the router (mvn package), then runs io.pgrouter.bench.RssBench with
# exec:java: embedded PostgreSQL, the packaged router with the lake route as a leader under a paced load, then as a
# standby (leader election on fabric8's mock API server), per set of JVM options. Needs Java 17 and Maven.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
echo "## Machine"
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

. "$(dirname "$0")/lib.sh"
rc=0
run_harness target/bench-rss/pg -B -q -Pbench package -Dbench.main=io.pgrouter.bench.RssBench -Dbench.pgbin="$PG_BIN" "$@" || rc=$?
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"
