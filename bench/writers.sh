#!/usr/bin/env bash
# Writers' cost, in one command:  bench/writers.sh [--quick]
# What the router's triggers cost the application that writes: pgbench throughput of a plain insert and of an order
# feed (several systems upserting their own columns of one wide order row, INSERT ... ON CONFLICT DO UPDATE), one row
# and several rows per statement, with no trigger, the NOTIFY trigger, the durable trigger per row and per statement,
# all installed by bin/pgrouter install. Then commit -> delivered latency of the durable path through the router to a
# webhook receiver, at a paced load. Prints the machine and markdown tables; writes them to target/bench-writers/results.md.
#
# Builds the router (mvn package) unless target/quarkus-app is there. Starts its own PostgreSQL cluster (initdb, scram-sha-256
# like a stock install, wal_level=logical, synchronous_commit=on, fsync on) on a free port, and a logical replication
# slot read by pg_recvlogical (pgoutput, messages=true) all the time, so the WAL messages are decoded as in production.
# Needs Java 17, Maven and PostgreSQL 15 server binaries with pgbench (PG_BIN, default /usr/lib/postgresql/15/bin).
#
# Settings (environment): DURATION=20 (s per pgbench run), REPEATS=3, CLIENTS="4 8", WORKLOADS="insert upsert upsert-batch"
# (also: insert-batch), MODES="none notify durable statement wal" (wal: no trigger, REPLICA IDENTITY FULL: what the
# WAL source costs writers), BATCH=10 (rows per statement in the -batch workloads),
# ORDERS=100000 (orders loaded before the runs), LATENCY=1 (0 skips the router run), PACED_SECONDS=30.
# --quick: DURATION=5 REPEATS=1 PACED_SECONDS=10.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-20}"; REPEATS="${REPEATS:-3}"; PACED_SECONDS="${PACED_SECONDS:-30}"
if [ "${1:-}" = "--quick" ]; then DURATION=5; REPEATS=1; PACED_SECONDS=10; fi
CLIENTS="${CLIENTS:-4 8}"
WORKLOADS="${WORKLOADS:-insert upsert upsert-batch}"
MODES="${MODES:-none notify durable statement wal}"
BATCH="${BATCH:-10}"; ORDERS="${ORDERS:-100000}"; LATENCY="${LATENCY:-1}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
for tool in initdb pg_ctl pgbench psql pg_recvlogical; do
  [ -x "$PG_BIN/$tool" ] || { echo "[bench] $PG_BIN/$tool is missing: install postgresql-15 (Debian/Ubuntu) or set PG_BIN" >&2; exit 2; }
done

WORK="$PWD/target/bench-writers"
PGDATA="$WORK/pg"
OUT="$WORK/results.md"
rm -rf "$WORK"; mkdir -p "$WORK/scripts" "$WORK/routes"

if [ ! -f target/quarkus-app/quarkus-run.jar ]; then
  echo "[bench] building the router (mvn package -DskipTests)" >&2
  mvn -B -q -ntp package -DskipTests >&2
fi

# initdb refuses to run as root: the cluster belongs to the postgres user then
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PORT=$(for p in $(seq 54400 54499); do (echo > /dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; break; }; done)
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres PGPASSWORD="bench-$RANDOM-$RANDOM"
printf '%s\n' "$PGPASSWORD" > "$WORK/pwfile"
if [ "$(id -u)" = 0 ]; then chown -R postgres "$WORK"; fi
ROUTER_PID=""; RECEIVER_PID=""; RECV_PID=""
cleanup() {
  for pid in $ROUTER_PID $RECEIVER_PID $RECV_PID; do kill "$pid" 2>/dev/null || true; done
  as_owner "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_owner "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A scram-sha-256 --pwfile="$WORK/pwfile" >/dev/null
cat >> "$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
wal_level = logical
max_replication_slots = 4
max_wal_senders = 4
synchronous_commit = on
max_connections = 50
# no checkpoint in the middle of a run (each run starts with one)
max_wal_size = 8GB
checkpoint_timeout = 30min
EOF
as_owner "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/postgres.log" -w start >/dev/null
sql() { "$PG_BIN/psql" -qAtX -v ON_ERROR_STOP=1 "$@"; }

# ---- tables: one per workload kind and trigger mode, so every mode is installed once and runs alternate
sql <<EOF
CREATE SCHEMA bench_w;
EOF
for mode in $MODES; do
  sql <<EOF
CREATE TABLE bench_w.events_$mode (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
  kind text NOT NULL, account_id bigint NOT NULL, amount numeric(12, 2), payload text);
-- the order feed: one wide row per order; checkout, payments, warehouse, shipping, billing and CRM each upsert their columns
CREATE TABLE bench_w.orders_$mode (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  status text, customer_id bigint, amount numeric(12, 2), currency text, channel text,
  payment_status text, payment_ref text, risk_score int,
  warehouse text, picked_at timestamptz, packages int,
  carrier text, tracking_no text, shipping_status text,
  invoice_no text, invoiced_at timestamptz,
  crm_segment text, loyalty_points int);
INSERT INTO bench_w.orders_$mode (id, status, customer_id, amount, currency, channel)
  SELECT g, 'placed', g % 50000, (g % 10000) / 7.0, 'EUR', 'web' FROM generate_series(1, $ORDERS) g;
CREATE SEQUENCE bench_w.orders_${mode}_new START $((ORDERS + 1));
EOF
done
sql -c "VACUUM ANALYZE"

# ---- triggers, installed by the router's own command
install() { PGROUTER_POSTGRES_URL="jdbc:postgresql://127.0.0.1:$PORT/postgres" PGROUTER_POSTGRES_PASSWORD="$PGPASSWORD" \
  bin/pgrouter install "$@" | sed 's/^/    /' >&2; }
for kind in events orders; do
  for mode in $MODES; do
    case $mode in
      none) ;;
      notify) install --table "bench_w.${kind}_$mode" --mode notify --channel "${kind}_$mode" ;;
      durable) install --table "bench_w.${kind}_$mode" --mode durable --channel "${kind}_$mode" ;;
      statement) install --table "bench_w.${kind}_$mode" --mode durable --per statement --channel "${kind}_$mode" ;;
      # no trigger: the WAL source reads the change itself; old values (before, changed) need REPLICA IDENTITY FULL
      wal) sql -c "ALTER TABLE bench_w.${kind}_$mode REPLICA IDENTITY FULL" ;;
      *) echo "[bench] unknown mode $mode (none, notify, durable, statement, wal)" >&2; exit 2 ;;
    esac
  done
done

# ---- a slot decoding everything all the time, as the router's would (messages included; the wal mode's tables published)
pub_tables=""
for mode in $MODES; do [ "$mode" = wal ] && pub_tables="FOR TABLE bench_w.events_wal, bench_w.orders_wal"; done
sql -c "CREATE PUBLICATION bench_writers $pub_tables" -c "SELECT pg_create_logical_replication_slot('bench_writers', 'pgoutput')" >/dev/null
"$PG_BIN/pg_recvlogical" -d postgres --slot bench_writers --start -f /dev/null -o proto_version=1 \
  -o publication_names=bench_writers -o messages=true 2>"$WORK/recvlogical.log" &
RECV_PID=$!

# ---- pgbench scripts: @T@ is the table, @K@ the order id the values are made from
systems=(
  "checkout|status, customer_id, amount, currency, channel|'placed', @K@ % 50000, (@K@ % 10000) / 7.0, 'EUR', 'web'"
  "payments|payment_status, payment_ref, risk_score|'captured', 'pay-' || @K@, @K@ % 100"
  "warehouse|warehouse, picked_at, packages|'wh-' || (@K@ % 7), now(), 1 + @K@ % 3"
  "shipping|carrier, tracking_no, shipping_status|'dhl', 'trk-' || @K@, 'in_transit'"
  "billing|invoice_no, invoiced_at, status|'inv-' || @K@, now(), 'invoiced'"
  "crm|crm_segment, loyalty_points|'seg-' || (@K@ % 5), @K@ % 1000"
)
write_scripts() {
  local dir="$WORK/scripts"
  cat > "$dir/insert.sql" <<'EOF'
\set a random(1, 100000)
INSERT INTO @T@ (kind, account_id, amount, payload) VALUES ('click', :a, :a / 100.0, repeat('x', 100));
EOF
  cat > "$dir/insert-batch.sql" <<'EOF'
\set a random(1, 100000)
INSERT INTO @T@ (kind, account_id, amount, payload) SELECT 'click', :a + g, (:a + g) / 100.0, repeat('x', 100) FROM generate_series(1, :batch) g;
EOF
  local s name cols vals set
  for s in "${systems[@]}"; do
    IFS='|' read -r name cols vals <<< "$s"
    set=$(echo "$cols" | tr ',' '\n' | sed 's/^ *//; s/.*/& = EXCLUDED.&/' | paste -sd, - | sed 's/,/, /g')
    # one order per statement: 1 in 5 a new order, else one of the existing ones
    cat > "$dir/upsert-$name.sql" <<EOF
\\set pick random(1, 100)
\\set k random(1, :orders)
INSERT INTO @T@ AS o (id, $cols, updated_at) VALUES (CASE WHEN :pick <= 20 THEN nextval('@T@_new') ELSE :k END, ${vals//@K@/:k}, now()) ON CONFLICT (id) DO UPDATE SET $set, updated_at = EXCLUDED.updated_at;
EOF
    # :batch orders per statement (a system syncing what changed since its last run): a fifth new, the rest existing,
    # distinct and in id order (rows are locked in that order: no deadlock between two batches)
    cat > "$dir/upsert-batch-$name.sql" <<EOF
\\set start random(1, :orders)
INSERT INTO @T@ AS o (id, $cols, updated_at) SELECT id, ${vals//@K@/id}, now() FROM (SELECT CASE WHEN g <= :batch / 5 THEN nextval('@T@_new') ELSE (:start + g * 9973) % :orders + 1 END AS id FROM generate_series(1, :batch) g) s ORDER BY id ON CONFLICT (id) DO UPDATE SET $set, updated_at = EXCLUDED.updated_at;
EOF
  done
}
write_scripts
# pgbench -f arguments of a workload on a mode's table (templates copied with the table name in place)
scripts_for() {
  local workload="$1" mode="$2" table f args=()
  case $workload in insert*) table="bench_w.events_$mode" ;; *) table="bench_w.orders_$mode" ;; esac
  case $workload in
    insert|insert-batch) f="$WORK/scripts/$workload-$mode.run.sql"; sed "s/@T@/$table/g" "$WORK/scripts/$workload.sql" > "$f"; args+=(-f "$f") ;;
    upsert|upsert-batch)
      for s in "${systems[@]}"; do
        f="$WORK/scripts/$workload-${s%%|*}-$mode.run.sql"
        sed "s/@T@/$table/g" "$WORK/scripts/$workload-${s%%|*}.sql" > "$f"; args+=(-f "$f")
      done ;;
    *) echo "[bench] unknown workload $workload (insert, insert-batch, upsert, upsert-batch)" >&2; exit 2 ;;
  esac
  printf '%s\n' "${args[@]}"
}

machine() {
  echo "## Machine"
  echo "- nproc: $(nproc)"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- memory: $(free -g | awk '/^Mem:/ {print $2 " GiB total, " $7 " GiB available"}')"
  echo "- PostgreSQL: $("$PG_BIN/postgres" --version); pgbench: $("$PG_BIN/pgbench" --version)"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- cluster: initdb -A scram-sha-256, wal_level=logical, synchronous_commit=on, fsync=on, max_wal_size=8GB"
  echo "- slot: bench_writers (pgoutput, messages=true, only the wal mode's tables published), read by pg_recvlogical throughout"
  echo "- runs: ${DURATION} s each, pgbench -M prepared -j 2, repeats $REPEATS (modes in rotating order), batch $BATCH rows, $ORDERS orders preloaded"
  echo
}
machine | tee "$OUT"
if awk '{ exit !($1 > 0.5) }' /proc/loadavg; then
  echo "[bench] WARNING: the machine is not idle (1-min load average $(cut -d' ' -f1 /proc/loadavg)); compare ratios within this run" >&2
fi

# ---- writers' cost
RAW="$WORK/tps.txt"; : > "$RAW"
mode_list=($MODES)
for rep in $(seq 1 "$REPEATS"); do
  for workload in $WORKLOADS; do
    for clients in $CLIENTS; do
      # rotate the order of the modes each repetition: none of them always runs first or last
      n=${#mode_list[@]}
      for i in $(seq 0 $((n - 1))); do
        mode=${mode_list[$(( (i + rep - 1) % n ))]}
        mapfile -t files < <(scripts_for "$workload" "$mode")
        sql -c "CHECKPOINT"
        tps=$("$PG_BIN/pgbench" -n -M prepared -c "$clients" -j 2 -T "$DURATION" -D orders="$ORDERS" -D batch="$BATCH" \
          "${files[@]}" postgres 2>"$WORK/pgbench.err" | awk '/^tps = / {print $3; exit}')
        [ -n "$tps" ] || { echo "[bench] pgbench failed ($workload, $mode, $clients clients):" >&2; cat "$WORK/pgbench.err" >&2; exit 1; }
        echo "$workload $mode $clients $rep $tps" >> "$RAW"
        printf '[bench] rep %s %-13s %-9s %s clients: %s tps (load %s)\n' "$rep" "$workload" "$mode" "$clients" "$tps" "$(cut -d' ' -f1 /proc/loadavg)" >&2
      done
    done
  done
done

# median [min-max] per workload, mode and clients; cost = median tps without trigger / median tps with it
summary() {
  sort -k1,1 -k2,2 -k3,3n -k5,5g "$RAW" | awk '
    function flush() { if (key == "") return; med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      print k1, k2, k3, med, v[1], v[n]; n = 0 }
    { k = $1 " " $2 " " $3; if (k != key) { flush(); key = k; k1 = $1; k2 = $2; k3 = $3 } v[++n] = $5 }
    END { flush() }'
}
label() { case $1 in none) echo "no trigger";; notify) echo "NOTIFY (pg_notify per row)";; durable) echo "durable, per row";;
  statement) echo "durable, per statement";; wal) echo "none: WAL source, REPLICA IDENTITY FULL";; *) echo "$1";; esac; }
{
  echo "## Writers' cost"
  echo
  echo "| workload | trigger | clients | tps median [min–max] | cost × vs no trigger |"
  echo "|---|---|---:|---:|---:|"
  summary > "$WORK/medians.txt"
  for workload in $WORKLOADS; do
    for clients in $CLIENTS; do
      base=$(awk -v w="$workload" -v c="$clients" '$1 == w && $2 == "none" && $3 == c {print $4}' "$WORK/medians.txt")
      for mode in $MODES; do
        awk -v w="$workload" -v m="$mode" -v c="$clients" -v base="${base:-0}" -v l="$(label "$mode")" -v b="$BATCH" '
          $1 == w && $2 == m && $3 == c {
            wl = w; sub(/-batch$/, " (" b " rows/statement)", wl)
            cost = (base > 0 && $4 > 0) ? sprintf("%.2f×", base / $4) : "—"
            printf "| %s | %s | %d | %.0f [%.0f–%.0f] | %s |\n", wl, l, c, $4, $5, $6, cost }' "$WORK/medians.txt"
      done
    done
  done
  echo
  echo "- load average at end of the writers' runs: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
} | tee -a "$OUT"

# ---- commit -> delivered: the durable path through the router to a webhook receiver, paced
if [ "$LATENCY" = 1 ]; then
  kill "$RECV_PID" 2>/dev/null || true; wait "$RECV_PID" 2>/dev/null || true; RECV_PID=""
  sql -c "SELECT pg_drop_replication_slot('bench_writers')" >/dev/null
  java bench/writers/Receiver.java "$WORK/receiver.port" > "$WORK/receiver.log" 2>&1 &
  RECEIVER_PID=$!
  for _ in $(seq 1 100); do [ -s "$WORK/receiver.port" ] && break; sleep 0.2; done
  RPORT=$(cat "$WORK/receiver.port")
  cp bench/writers/wal-orders-to-webhook.yaml "$WORK/routes/"
  java -Xmx512m -Dpgrouter.postgres.url="jdbc:postgresql://127.0.0.1:$PORT/postgres" -Dpgrouter.routes.dir="$WORK/routes" \
    -Dpgrouter.bench.channels=orders_durable,orders_statement -Dpgrouter.bench.webhook-url="http://127.0.0.1:$RPORT/hook" \
    -Dquarkus.http.port=0 -Dpgrouter.sinks.lake.root="$WORK/lake" -Dpgrouter.postgres.password="$PGPASSWORD" \
    -jar target/quarkus-app/quarkus-run.jar > "$WORK/router.log" 2>&1 &
  ROUTER_PID=$!
  for _ in $(seq 1 120); do
    [ "$(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgrouter' AND active")" = 1 ] && break
    kill -0 "$ROUTER_PID" 2>/dev/null || { echo "[bench] the router stopped: $WORK/router.log" >&2; tail -20 "$WORK/router.log" >&2; exit 1; }
    sleep 0.5
  done
  stats() { curl -s "http://127.0.0.1:$RPORT/stats?channel=$1"; }
  paced() { # workload mode rate: warm-up, then the measured run; prints "events p50 p99"
    local workload="$1" mode="$2" rate="$3" files
    mapfile -t files < <(scripts_for "$workload" "$mode")
    "$PG_BIN/pgbench" -n -M prepared -c 4 -j 2 -T 5 -R "$rate" -D orders="$ORDERS" -D batch="$BATCH" "${files[@]}" postgres >/dev/null 2>&1
    sleep 2; stats "orders_$mode" >/dev/null
    "$PG_BIN/pgbench" -n -M prepared -c 4 -j 2 -T "$PACED_SECONDS" -R "$rate" -D orders="$ORDERS" -D batch="$BATCH" "${files[@]}" postgres >/dev/null 2>"$WORK/pgbench.err"
    sleep 3; stats "orders_$mode"
  }
  {
    echo "## Commit → delivered, durable path (router → webhook receiver, paced, 4 clients)"
    echo
    echo "| workload | trigger | rate | events | p50 ms | p99 ms |"
    echo "|---|---|---:|---:|---:|---:|"
    for spec in "upsert durable 200" "upsert statement 200" "upsert-batch durable 50" "upsert-batch statement 50"; do
      read -r workload mode rate <<< "$spec"
      read -r events p50 p99 < <(paced "$workload" "$mode" "$rate")
      wl=$workload; [ "$workload" = upsert-batch ] && wl="upsert ($BATCH rows/statement)"
      echo "| $wl | $(label "$mode") | $rate statements/s | $events | $p50 | $p99 |"
    done
    echo
    echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  } | tee -a "$OUT"
fi
echo "[bench] results: $OUT" >&2
