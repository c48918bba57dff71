#!/usr/bin/env bash
# The WAL -> webhook benchmark, in one command:  bench/webhook.sh   (extra -D options go to Maven)
# Builds the router (mvn package), fetches and unpacks Debezium Server 3.0.0.Final (Maven Central) into
# target/dbz, then runs io.pgrouter.bench.WebhookBench with exec:java: embedded PostgreSQL, an HTTP receiver in
# the harness, the packaged router (pg:wal -> kamelet:webhook-sink), then Debezium Server's HTTP sink on the same
# table. Prints the results table and writes it to target/bench-webhook/results.md.
# Debezium Server needs Java 21+: DBZ_JAVA_HOME (default /usr/lib/jvm/temurin-25-jdk-amd64). Without it, or with
# SKIP_DEBEZIUM=1, only the router is measured.
set -euo pipefail
cd "$(dirname "$0")/.."

DBZ_JAVA_HOME="${DBZ_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
DBZ_DIR=target/dbz
DBZ_HOME="$DBZ_DIR/debezium-server"
DBZ_ARGS=()
if [ "${SKIP_DEBEZIUM:-0}" != 1 ]; then
  if [ ! -f "$DBZ_HOME/debezium-server-dist-3.0.0.Final-runner.jar" ]; then
    echo "[bench] fetching io.debezium:debezium-server-dist:3.0.0.Final:tar.gz into $DBZ_DIR" >&2
    mvn -B -q dependency:copy -Dartifact=io.debezium:debezium-server-dist:3.0.0.Final:tar.gz -DoutputDirectory="$DBZ_DIR" >&2
    tar -xzf "$DBZ_DIR/debezium-server-dist-3.0.0.Final.tar.gz" -C "$DBZ_DIR"
  fi
  if [ -x "$DBZ_JAVA_HOME/bin/java" ]; then
    DBZ_ARGS=(-Dbench.dbz.home="$PWD/$DBZ_HOME" -Dbench.dbz.java="$DBZ_JAVA_HOME/bin/java")
  else
    echo "[bench] $DBZ_JAVA_HOME/bin/java is missing (Debezium Server 3 needs Java 21+): measuring the router only" >&2
  fi
fi

echo "## Machine"
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- memory (free -g):"; free -g | sed 's/^/    /'
echo "- java -version (harness, router):"; java -version 2>&1 | sed 's/^/    /'
[ ${#DBZ_ARGS[@]} -gt 0 ] && { echo "- java -version (Debezium Server):"; "$DBZ_JAVA_HOME/bin/java" -version 2>&1 | sed 's/^/    /'; }
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

. "$(dirname "$0")/lib.sh"
rc=0
run_harness target/bench-webhook/pg -B -q -Pbench package -Dbench.main=io.pgrouter.bench.WebhookBench "${DBZ_ARGS[@]}" "$@" || rc=$?
exit "$rc"
