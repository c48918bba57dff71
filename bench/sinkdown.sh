#!/usr/bin/env bash
# One sink's destination down, in one command:  bench/sinkdown.sh   (extra -D options go to Maven)
# Builds the router (mvn package), then runs io.pgrouter.bench.SinkDownBench with exec:java: embedded PostgreSQL,
# the packaged router with the lake route alone, then with a second route to a webhook that refuses connections, then
# with one to a webhook that answers, in turn. Prints the lake route's throughput in each case and the ratios, and writes the table to
# target/bench-sinkdown/results.md. Needs Java 17, Maven, and pg_recvlogical (see bench/run.sh).
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
run_harness target/bench-sinkdown/pg -B -q -Pbench package -Dbench.main=io.pgrouter.bench.SinkDownBench -Dbench.pgbin="$PG_BIN" "$@" || rc=$?
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"
