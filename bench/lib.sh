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

# The bench scripts that only run one harness class: the machine, the harness (run_harness), the load at the end.
#   run_bench <name> <main class> <mvn arguments...>   (results under target/bench-<name>)
run_bench() {
  local name="$1" main="$2" rc=0
  shift 2
  echo "## Machine"
  echo "- nproc: $(nproc)"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  run_harness "target/bench-$name/pg" -B -q -Pbench package -Dbench.main="$main" -Dbench.pgbin="${PG_BIN:-/usr/lib/postgresql/15/bin}" "$@" || rc=$?
  echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  return "$rc"
}
