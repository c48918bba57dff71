#!/usr/bin/env bash
# The WAL -> message queues benchmark, in one command:  bench/queues.sh   (extra -D options go to Maven)
# Builds the router (mvn package), then runs io.pgrouter.bench.QueuesBench with exec:java: embedded PostgreSQL,
# ActiveMQ Artemis and a one-node KRaft Kafka in the harness JVM, the WAL baseline (pg_recvlogical), then the packaged
# router with pg:wal -> kamelet:jms-sink and pg:wal -> kamelet:kafka-sink, each read by a consumer in the harness.
# Prints the results table and writes it to target/bench-queues/results.md. Needs pg_recvlogical like bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "## Machine"
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- memory (free -g):"; free -g | sed 's/^/    /'
echo "- java -version:"; java -version 2>&1 | sed 's/^/    /'
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

. "$(dirname "$0")/lib.sh"
rc=0
run_harness target/bench-queues/pg -B -q -Pbench package -Dbench.main=io.pgrouter.bench.QueuesBench -Dbench.repeats=3 "$@" || rc=$?
exit "$rc"
