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

# The harness cleans up what it starts (router, pg_recvlogical, PostgreSQL) in finally blocks and a JVM shutdown
# hook, and its child processes die with it (setpriv --pdeathsig). Last resorts, for a harness killed with -9:
# Maven runs in its own process group here and whatever is left of that group is killed, and a PostgreSQL still
# running on the bench's data directory (it daemonises into its own session) is shut down by its postmaster.pid.
stop_leftover_postgres() {
  local pidfile=target/bench/pg/postmaster.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(head -1 "$pidfile")
  if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "target/bench/pg"; then
    echo "[bench] stopping leftover PostgreSQL $pid on target/bench/pg" >&2
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
stop_leftover_postgres

set -m
mvn -B -q -Pbench package -Dbench.pgbin="$PG_BIN" "$@" &
MVN=$!
set +m
stop() {
  kill -TERM "$MVN" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$MVN" 2>/dev/null || break; sleep 1; done
}
trap 'stop; kill -KILL -- "-$MVN" 2>/dev/null || true; stop_leftover_postgres; exit 130' INT TERM
rc=0
wait "$MVN" || rc=$?
kill -KILL -- "-$MVN" 2>/dev/null || true
stop_leftover_postgres
exit "$rc"
