#!/usr/bin/env bash
# How long bin/pgrouter routes check takes for N route files (default 50): the figure the application prints (the
# check itself, once it has started) and the whole command (JVM and application start included), 3 runs each.
#   bench/routes-check.sh [N]
# Needs: mvn package -DskipTests (target/quarkus-app), PostgreSQL 15 binaries (PG_BIN, default /usr/lib/postgresql/15/bin).
# Starts a throwaway PostgreSQL (password authentication, the demo schema) on a free port and stops it at the end.
set -euo pipefail
n="${1:-50}"
cd "$(dirname "$0")/.."
pgbin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
work=$(mktemp -d)
chmod 755 "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password="bench-$RANDOM$RANDOM"
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
mkdir -p "$work/pg" && [ "$(id -u)" = 0 ] && chown nobody:nogroup "$work/pg"
echo "$password" > "$work/pw" && chmod 644 "$work/pw"
as_pg "$pgbin/initdb" -D "$work/pg" -U postgres --pwfile="$work/pw" --auth=scram-sha-256 >/dev/null
trap 'as_pg "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
as_pg "$pgbin/pg_ctl" -D "$work/pg" -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1 -c wal_level=logical" -l "$work/pg/log" -w start >/dev/null
PGPASSWORD="$password" "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -qf sql/demo/marketplace.sql >/dev/null
routes="$work/routes"
mkdir -p "$routes"
for i in $(seq 0 $((n - 1))); do
  if [ $((i % 2)) = 0 ]; then to="kamelet:datalake-sink?target=$work/lake"; else to="kamelet:webhook-sink?url=http://127.0.0.1:1/hook"; fi
  cat > "$routes/route-$i.yaml" <<ROUTE
- route:
    id: r$i
    from:
      uri: pg:wal
      parameters:
        tables: marketplace.products
      steps:
        - to: "$to"
ROUTE
done
echo "## Machine"
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## bin/pgrouter routes check, $n route files"
for run in 1 2 3; do
  start=$(date +%s%N)
  out=$(PGROUTER_POSTGRES_URL="jdbc:postgresql://127.0.0.1:$port/postgres" PGROUTER_POSTGRES_PASSWORD="$password" bin/pgrouter routes check "$routes" 2>&1 | tail -1)
  end=$(date +%s%N)
  echo "- run $run: whole command $(( (end - start) / 1000000 )) ms; $out"
done
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
