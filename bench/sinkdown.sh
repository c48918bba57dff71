#!/usr/bin/env bash
# One sink's destination down, in one command:  bench/sinkdown.sh   (extra -D options go to Maven)
# Builds the router (mvn package), then runs io.pgrouter.bench.SinkDownBench with exec:java: embedded PostgreSQL,
# the packaged router with the lake route alone, then with a second route to a webhook that refuses connections, then
# with one to a webhook that answers, in turn. Prints the lake route's throughput in each case and the ratios, and writes the table to
# target/bench-sinkdown/results.md. Needs Java 17, Maven, and pg_recvlogical (see bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

. "$(dirname "$0")/lib.sh"
run_bench sinkdown io.pgrouter.bench.SinkDownBench "$@"
