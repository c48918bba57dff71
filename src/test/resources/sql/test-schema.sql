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
CREATE TABLE IF NOT EXISTS test.echo (id int PRIMARY KEY);
CREATE TABLE IF NOT EXISTS test.hooks (id int PRIMARY KEY, target text NOT NULL, note text);
CREATE TABLE IF NOT EXISTS test.durable_hooks (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.parallel_hooks (id int PRIMARY KEY, note text);
CREATE TABLE IF NOT EXISTS test.batched_hooks (id int PRIMARY KEY, note text);
-- a subject with a backlog in the retry store (webhook sink)
CREATE TABLE test.backlog_hooks (id int PRIMARY KEY, n int NOT NULL);
-- batched webhook with a linger across source batches
CREATE TABLE test.linger_hooks (id int PRIMARY KEY, note text);
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
