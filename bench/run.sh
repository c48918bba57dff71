#!/usr/bin/env bash
# The benchmark, in one command:  bench/run.sh   (extra -D options go to Maven, e.g. bench/run.sh -Dbench.tx1=5000)
# Builds the router (mvn package), then runs the harness (src/bench) with exec:java: embedded PostgreSQL, the
# packaged router as a child process, pg_recvlogical and a LISTEN loop as baselines. Prints the results table
# and writes it to target/bench/results.md. Needs Java 17, Maven, and pg_recvlogical (Debian postgresql-client-15).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
if [ ! -x "$PG_BIN/pg_recvlogical" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[bench] $PG_BIN/pg_recvlogical is missing: installing postgresql-client-15 with apt-get" >&2
    apt-get install -y postgresql-client-15 >&2 || { apt-get update >&2 && apt-get install -y postgresql-client-15 >&2; }
  fi
  if [ ! -x "$PG_BIN/pg_recvlogical" ]; then
    echo "[bench] $PG_BIN/pg_recvlogical is missing: install postgresql-client-15 (Debian/Ubuntu) or set PG_BIN to a PostgreSQL bin directory" >&2
    exit 2
  fi
fi

echo "## Machine"
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- memory (free -g):"; free -g | sed 's/^/    /'
echo "- java -version:"; java -version 2>&1 | sed 's/^/    /'
echo "- pg_recvlogical: $("$PG_BIN/pg_recvlogical" --version)"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if awk '{ exit !($1 > 0.5) }' /proc/loadavg; then
  echo "[bench] WARNING: the machine is not idle (1-min load average $(cut -d' ' -f1 /proc/loadavg)); on a small machine the numbers will move with it" >&2
fi

. "$(dirname "$0")/lib.sh"
rc=0
run_harness target/bench/pg -B -q -Pbench package -Dbench.pgbin="$PG_BIN" "$@" || rc=$?
exit "$rc"
