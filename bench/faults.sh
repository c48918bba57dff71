#!/usr/bin/env bash
# The fault suite, in one command:  bench/faults.sh [--quick]   (extra -D options go to Maven)
# Builds the router (mvn package), then runs io.pgrouter.bench.FaultsBench with exec:java: embedded PostgreSQL, ActiveMQ
# Artemis, Kafka and a webhook receiver in the harness JVM, RabbitMQ and OpenSearch beside it, the packaged router with
# seven routes (rows to the data lake as Parquet and to a search index; rows and durable messages to the webhook, a JMS
# queue, a Kafka topic and a RabbitMQ queue; NOTIFY to the webhook) under a steady mixed load, and one fault kind at a
# time: router kill -9, PostgreSQL fast and immediate restarts, each destination down in turn, a slow webhook receiver,
# the lake's disk full, a silent network partition to PostgreSQL, a PostgreSQL 17 primary failover. Prints the table
# (fault, cycles, events written, delivered, lost, duplicated, recovery p50/max, NOTIFY missed), writes it to
# target/bench-faults/results.md, and exits non-zero when a durable event was lost. --quick: fewer cycles and shorter
# windows (what CI runs). Loopback only. Parts can be left out, e.g. -Dbench.faults.kills=0 -Dbench.faults.failover=false
# -Dbench.faults.outages=kafka,rabbitmq (FaultsBench lists the options).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=()
if [ "${1:-}" = "--quick" ]; then mode=(-Dbench.faults.quick=true); shift; fi

. "$(dirname "$0")/lib.sh"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
run_bench faults io.pgrouter.bench.FaultsBench -Dbench.warmup.tx1=500 -Dbench.warmup.txn=2 "${mode[@]}" "$@"
