# Sourced by bench/run.sh and bench/webhook.sh:  run_harness <PostgreSQL data dir> <mvn arguments...>
# The harness cleans up what it starts (router, baselines, PostgreSQL) in finally blocks and a JVM shutdown hook,
# and its child processes die with it (setpriv --pdeathsig). Last resorts, for a harness killed with -9: Maven runs
# in its own process group here and whatever is left of that group is killed, and a PostgreSQL still running on
# the bench's data directory (it daemonises into its own session) is shut down by its postmaster.pid.

stop_leftover_postgres() {
  local dir="$1" pidfile="$1/postmaster.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(head -1 "$pidfile")
  if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$dir"; then
    echo "[bench] stopping leftover PostgreSQL $pid on $dir" >&2
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

run_harness() {
  local pgdir="$1"
  shift
  stop_leftover_postgres "$pgdir"
  set -m
  mvn "$@" &
  MVN=$!
  set +m
  BENCH_PGDIR="$pgdir"
  trap 'kill -TERM "$MVN" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$MVN" 2>/dev/null || break; sleep 1; done
        kill -KILL -- "-$MVN" 2>/dev/null || true; stop_leftover_postgres "$BENCH_PGDIR"; exit 130' INT TERM
  local rc=0
  wait "$MVN" || rc=$?
  kill -KILL -- "-$MVN" 2>/dev/null || true
  stop_leftover_postgres "$pgdir"
  return "$rc"
}
