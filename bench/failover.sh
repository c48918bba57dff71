#!/usr/bin/env bash
# Leader-election failover figures:  bench/failover.sh [rounds] [mock|real]   (extra -D options go to Maven)
# Two packaged routers on one slot with the default Lease terms (15 s / 10 s / 1 s), rows written 20 a second
# throughout: <rounds> (default 10) kill -9 failovers, then <rounds> SIGTERM handovers, each measured from the signal
# to the first event the new leader delivers to the lake, with the events delivered twice; at the end every row
# written must be in the lake. It is LeaderElectionIT (mock: fabric8's mock API server) or RealApiServerIT (real: the
# kube-apiserver of k8s/test/apiserver.sh, built once beforehand) with more rounds. Prints the table docs/kubernetes.md shows.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-10}"
api="${2:-mock}"
shift $(( $# < 2 ? $# : 2 ))
case "$api" in
  mock) test=LeaderElectionIT; profile=() ;;
  real) test='RealApiServerIT#oneReplica*'; profile=(-Pk8s-real) ;;
  *) echo "usage: $0 [rounds] [mock|real]" >&2; exit 2 ;;
esac

echo "## Machine"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

mvn -B -ntp -q package -DskipTests
log=target/failover-$api.log
rc=0
mvn -B -ntp verify "${profile[@]}" -Dtest=NONE -Dit.test="$test" -Dsurefire.failIfNoSpecifiedTests=false \
  -Dfailsafe.failIfNoSpecifiedTests=false -Dpgrouter.it.failover-rounds="$rounds" \
  -Dpgrouter.it.lease-duration=15s -Dpgrouter.it.renew-deadline=10s -Dpgrouter.it.retry-period=1s "$@" >"$log" 2>&1 || rc=$?
grep -h '^\[leader-election\]' "$log" | sed 's/^\[leader-election\] //'
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$rc" -eq 0 ] || echo "the run failed (exit $rc): see $log" >&2
exit "$rc"
