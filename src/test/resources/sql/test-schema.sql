CREATE SCHEMA IF NOT EXISTS test;
CREATE TABLE IF NOT EXISTS test.types (
  tenant    int,
  code      text,
  amount    numeric(20, 6),
  ratio     numeric,
  big       bigint,
  flag      boolean,
  happened  timestamptz,
  local_ts  timestamp,
  day       date,
  at_time   time,
  doc       jsonb,
  tags      text[],
  nums      int[],
  uid       uuid,
  blob      bytea,
  empty     text,
  long_text text,
  PRIMARY KEY (tenant, code)
);
ALTER TABLE test.types ALTER COLUMN long_text SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS test.fragile (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.metered (id int PRIMARY KEY, keep boolean NOT NULL, target text NOT NULL);
CREATE TABLE IF NOT EXISTS test.echo (id int PRIMARY KEY);
CREATE TABLE IF NOT EXISTS test.hooks (id int PRIMARY KEY, target text NOT NULL, note text);
CREATE TABLE IF NOT EXISTS test.durable_hooks (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.parallel_hooks (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.batched_hooks (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.mq_orders (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
CREATE TABLE IF NOT EXISTS test.mq_news (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.mq_forbidden (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.mq_blocked (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.mq_outage (id int PRIMARY KEY, version int NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS test.mq_items (id int PRIMARY KEY, version int NOT NULL DEFAULT 1, note text);
-- Kafka over TLS and SASL/SCRAM (KafkaSecurityTest): one table per listener and credentials
CREATE TABLE IF NOT EXISTS test.kafka_tls (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.kafka_scram (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.kafka_wrong (id int PRIMARY KEY, note text);
-- any Camel endpoint on the delivery contract (DurableSinkTest)
CREATE TABLE IF NOT EXISTS test.durable_mqtt (id int PRIMARY KEY, version int NOT NULL);
CREATE TABLE IF NOT EXISTS test.durable_http (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.jms_direct (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.durable_redis (id int PRIMARY KEY, version int NOT NULL);
CREATE TABLE IF NOT EXISTS test.durable_nats (id int PRIMARY KEY, version int NOT NULL);
-- a subject with a backlog in the retry store (webhook sink)
CREATE TABLE test.backlog_hooks (id int PRIMARY KEY, n int NOT NULL);
-- batched webhook with a linger across source batches
CREATE TABLE test.linger_hooks (id int PRIMARY KEY, note text);
-- search-index sink (SearchSinkTest): body is stored out of line, so an update of another column leaves it unsent
CREATE TABLE IF NOT EXISTS test.search_items (id int PRIMARY KEY, title text NOT NULL, price numeric(10, 2), qty int, body text);
ALTER TABLE test.search_items ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS test.search_strict (id int PRIMARY KEY, code text, note text);
-- RabbitMQ sink (RabbitMqSinkTest): one table per scenario, so each route's destination is its own
CREATE TABLE IF NOT EXISTS test.rabbit_orders (id int PRIMARY KEY, status text, version int NOT NULL DEFAULT 1, note text);
-- the subscribers read `changed`, which needs the old row: REPLICA IDENTITY FULL
ALTER TABLE test.rabbit_orders REPLICA IDENTITY FULL;
CREATE TABLE IF NOT EXISTS test.rabbit_unrouted (id int PRIMARY KEY);
CREATE TABLE IF NOT EXISTS test.rabbit_lost (id int PRIMARY KEY);
CREATE TABLE IF NOT EXISTS test.rabbit_regions (id int PRIMARY KEY, region text);
CREATE TABLE IF NOT EXISTS test.rabbit_outage (id int PRIMARY KEY, version int NOT NULL);
-- RabbitMQ over TLS (RabbitMqTlsTest)
CREATE TABLE IF NOT EXISTS test.rabbit_tls (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.rabbit_untrusted (id int PRIMARY KEY, note text);
-- data-lake sink tests (DatalakeSinkTest, DatalakeKillIT)
CREATE TABLE IF NOT EXISTS test.lake_types (
  id       int PRIMARY KEY,
  small    smallint,
  big      bigint,
  amount   numeric(20, 6),
  ratio    numeric,
  real_v   real,
  dbl      double precision,
  flag     boolean,
  note     text,
  happened timestamptz,
  local_ts timestamp,
  day      date,
  at_time  time,
  doc      jsonb,
  tags     text[],
  nums     int[],
  uid      uuid,
  blob     bytea
);
CREATE TABLE IF NOT EXISTS test.lake_orders (id int PRIMARY KEY, customer text, total numeric(12, 2), placed timestamptz);
CREATE TABLE IF NOT EXISTS test.lake_bulk (id int PRIMARY KEY, payload text);
CREATE TABLE IF NOT EXISTS test.lake_linger (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.mq_kafka_outage (id int PRIMARY KEY, version int NOT NULL DEFAULT 1);
-- replica identities (ReplicaIdentityTest): one shape under each identity; description holds large values stored out of line
CREATE TABLE IF NOT EXISTS test.ident_default (id int PRIMARY KEY, code text NOT NULL, title text NOT NULL, price numeric(10, 2) NOT NULL,
  tags text[], description text, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS test.ident_full (LIKE test.ident_default INCLUDING ALL);
ALTER TABLE test.ident_full REPLICA IDENTITY FULL;
CREATE TABLE IF NOT EXISTS test.ident_index (LIKE test.ident_default INCLUDING ALL);
CREATE UNIQUE INDEX IF NOT EXISTS ident_index_code ON test.ident_index (code);
ALTER TABLE test.ident_index REPLICA IDENTITY USING INDEX ident_index_code;
CREATE TABLE IF NOT EXISTS test.ident_nothing (LIKE test.ident_default INCLUDING ALL);
ALTER TABLE test.ident_nothing REPLICA IDENTITY NOTHING;
CREATE TABLE IF NOT EXISTS test.ident_keyless (id int, note text);
CREATE TABLE IF NOT EXISTS test.ident_install (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.flush_hooks (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.down_hooks (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.mq_flush (id int PRIMARY KEY);
CREATE TABLE IF NOT EXISTS test.mq_regions (id int PRIMARY KEY, region text);
-- a retry store that cannot take events (tests): counts each refused insert (a sequence survives the rollback)
CREATE SEQUENCE IF NOT EXISTS test.refused_parks;
CREATE OR REPLACE FUNCTION test.refuse_parks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM nextval('test.refused_parks');
  RAISE EXCEPTION 'retry store unavailable';
END $$;
-- LeaderElectionIT: rows written while the leader is killed or handed over
CREATE TABLE IF NOT EXISTS test.ha_orders (id int PRIMARY KEY, note text);
-- RoutesReloadIT: a route changed under load, and a route on a table the stream did not carry
CREATE TABLE IF NOT EXISTS test.reload_items (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.reload_new (id int PRIMARY KEY, note text);
-- PostgresTlsIT: a role that may only log in over TLS
CREATE TABLE IF NOT EXISTS test.tls_orders (id int PRIMARY KEY, note text);
-- LeastPrivilegeIT: a table the router's role does not own
CREATE TABLE IF NOT EXISTS test.lp_orders (id int PRIMARY KEY, note text);
-- email sink (EmailSinkTest): new users get a welcome email; a new product is emailed to its category's subscribers
CREATE TABLE IF NOT EXISTS test.email_users (id int PRIMARY KEY, email text NOT NULL, name text NOT NULL);
CREATE TABLE IF NOT EXISTS test.email_products (id int PRIMARY KEY, category text NOT NULL, title text NOT NULL, price numeric(10, 2) NOT NULL);
CREATE TABLE IF NOT EXISTS test.email_outage (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE IF NOT EXISTS test.email_broken (id int PRIMARY KEY, email text NOT NULL);
-- the durable trigger per row and per statement on the same shape (StatementTriggerTest)
CREATE TABLE IF NOT EXISTS test.feed_rows (id int PRIMARY KEY, status text, amount numeric(10, 2), note text);
CREATE TABLE IF NOT EXISTS test.feed_statements (LIKE test.feed_rows INCLUDING ALL);
-- the Kafka tier (KafkaSourceTest): first tier to Kafka, second tier from Kafka, compared with the WAL route's events
CREATE TABLE IF NOT EXISTS test.tier_orders (id int PRIMARY KEY, version int NOT NULL, note text);
