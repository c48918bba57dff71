#!/usr/bin/env bash
# The Kafka tier, in one command:  bench/tier2.sh   (extra -D options go to Maven, e.g. -Dbench.tier2.routers=1,2)
# Builds the router (mvn package), then runs io.pgrouter.bench.TierBench with exec:java: embedded PostgreSQL, a
# one-node Kafka and a webhook receiver answering after 50 ms in the harness, the packaged router as the first tier
# (pg:wal -> kafka sink) and 1, 2 and 4 packaged routers as the second tier (pg:kafka -> webhook, one consumer group).
# Prints events/s per number of second-tier routers and commit -> received latency through both tiers at a paced
# load, and writes the table to target/bench-tier2/results.md. Needs Java 17, Maven, and pg_recvlogical (see bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

. "$(dirname "$0")/lib.sh"
run_bench tier2 io.pgrouter.bench.TierBench "$@"
