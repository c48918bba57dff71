-- The least a role needs to run pg-event-router (no superuser), created by an administrator (a superuser, or the
-- owner of the tables for the GRANT and CREATE PUBLICATION lines). Run with psql, e.g.:
--   psql -v password="$PGROUTER_POSTGRES_PASSWORD" -v schema=marketplace -v tables=marketplace.products -f sql/least-privilege.sql
-- then give the router  pgrouter.postgres.user=pgrouter, pgrouter.postgres.schema=pgrouter,
-- pgrouter.wal.publication=pgrouter  (and the same password).

-- logs in, and may stream from a replication slot (the router creates its slot itself)
CREATE ROLE pgrouter LOGIN REPLICATION PASSWORD :'password';

-- its schema: the stored WAL position, dead letters and events waiting to be retried (the router creates these
-- tables and owns them; the schema may already hold the trigger functions of sql/pgrouter.sql)
CREATE SCHEMA IF NOT EXISTS pgrouter;
GRANT USAGE, CREATE ON SCHEMA pgrouter TO pgrouter;

-- reads the routed tables' structure (and their rows, for snapshot-mode=initial)
GRANT USAGE ON SCHEMA :"schema" TO pgrouter;
GRANT SELECT ON :tables TO pgrouter;

-- the signal table through which backfill requests (bin/pgrouter backfill) reach the router in the WAL: the router's
-- own, published with the routed tables
CREATE TABLE IF NOT EXISTS pgrouter.debezium_signal (id text PRIMARY KEY, type text NOT NULL, data text);
ALTER TABLE pgrouter.debezium_signal OWNER TO pgrouter;

-- the publication of the routed tables: made by their owner, so the router needs no ownership. A route on another
-- table needs it added (ALTER PUBLICATION pgrouter ADD TABLE ...) before the router is started with that route.
CREATE PUBLICATION pgrouter FOR TABLE :tables, pgrouter.debezium_signal;
