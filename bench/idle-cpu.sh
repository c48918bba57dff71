#!/usr/bin/env bash
# Idle CPU of the router for a given Debezium poll interval: starts the packaged router against a database
# with nothing happening, waits for it to settle, and reports the CPU it burns per second of wall time.
#   bench/idle-cpu.sh <jdbc-url> [poll-interval-ms ...]
# Needs: mvn package -DskipTests (target/quarkus-app), a PostgreSQL with wal_level=logical and the demo schema.
set -euo pipefail
url="$1"; shift
intervals=("${@:-20}")
cd "$(dirname "$0")/.."
hz=$(getconf CLK_TCK)
for ms in "${intervals[@]}"; do
  java -Xmx256m -Dpgrouter.postgres.url="$url" -Dpgrouter.wal.poll-interval-ms="$ms" -Dpgrouter.wal.slot="idle_$ms" \
       -Dpgrouter.wal.publication="idle_$ms" -Dquarkus.http.port=0 -Dpgrouter.sinks.lake.root="$(mktemp -d)" \
       -jar target/quarkus-app/quarkus-run.jar >/dev/null 2>&1 &
  pid=$!
  sleep 20
  t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  sleep 30
  t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill $pid; wait $pid 2>/dev/null || true
  psql "${url#jdbc:}" -U "${PGUSER:-postgres}" -qc "SELECT pg_drop_replication_slot('idle_$ms')" >/dev/null 2>&1 || true
  echo "poll-interval-ms=$ms idle CPU: $(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN{printf "%.1f%% of one core", (b-a)/hz/30*100}')"
done
