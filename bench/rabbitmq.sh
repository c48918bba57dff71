#!/usr/bin/env bash
# The WAL -> RabbitMQ benchmark, in one command:  bench/rabbitmq.sh   (extra -D options go to Maven)
# The harness of bench/run.sh with -Dbench.suite=rabbitmq: the same WAL baseline (pg_recvlogical), then the packaged
# router publishing every change of bench.events to a real RabbitMQ (Debian's rabbitmq-server, started by the
# harness on its own ports, as in the tests) with a consumer in the harness. 1-row and 1000-row transactions,
# events/s and commit -> received by the consumer p50/p99. Writes target/bench/results-rabbitmq.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
  echo "[bench] rabbitmq-server is missing: installing Debian's package" >&2
  apt-get install -y -qq --no-install-recommends rabbitmq-server >&2 \
    || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends rabbitmq-server >&2; }
fi
echo "- RabbitMQ: $(dpkg-query -W -f '${Version}' rabbitmq-server) (Debian package), Erlang $(dpkg-query -W -f '${Version}' erlang-base)"
exec bench/run.sh -Dbench.suite=rabbitmq -Dbench.repeats="${REPEATS:-3}" "$@"
