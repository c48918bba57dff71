-- pg-event-router: what the router's triggers need in the source database. Idempotent: safe to run again.
-- Applied by `install` (see README); can also be run by hand with psql.

CREATE SCHEMA IF NOT EXISTS pgrouter;
CREATE SEQUENCE IF NOT EXISTS pgrouter.event_seq;

-- The canonical row payload both trigger variants emit; the router maps it to a CloudEvent. json, not jsonb,
-- so columns and key columns keep the table's order.
-- key_cols: the primary-key columns, passed by the installer so the trigger needs no catalogue lookup per row.
-- with_rows = false leaves before/after out and sets "claim": the router then reads the row itself.
CREATE OR REPLACE FUNCTION pgrouter.change_payload(op text, old_row json, new_row json, key_cols text[], schema_name name,
    table_name name, with_rows boolean DEFAULT true)
RETURNS json LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  -- PL/pgSQL, not SQL: a SQL function called from a trigger is planned again in every transaction (3x the trigger's cost)
  RETURN json_build_object(
    'pgrouter', 1,
    'id', txid_current()::text || '-' || nextval('pgrouter.event_seq')::text,
    'schema', schema_name,
    'table', table_name,
    'op', op,
    'key', (SELECT json_object_agg(k, coalesce(new_row, old_row) -> k ORDER BY n) FROM unnest(key_cols) WITH ORDINALITY AS u(k, n)),
    'before', CASE WHEN with_rows THEN old_row END,
    'after', CASE WHEN with_rows THEN new_row END,
    'claim', NOT with_rows,
    'txid', txid_current(),
    'time', clock_timestamp());
END
$$;

-- NOTIFY variant (at-most-once). TG_ARGV[0] = channel, TG_ARGV[1] = comma-separated key columns.
-- A payload over NOTIFY's 8000-byte limit is replaced by the key only ("claim": true): the router reads the row.
CREATE OR REPLACE FUNCTION pgrouter.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  key_cols text[] := coalesce(string_to_array(nullif(TG_ARGV[1], ''), ','), '{}');
  old_row json := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_json(OLD) END;
  new_row json := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_json(NEW) END;
  body text;
BEGIN
  body := pgrouter.change_payload(lower(TG_OP), old_row, new_row, key_cols, TG_TABLE_SCHEMA, TG_TABLE_NAME)::text;
  IF octet_length(body) > 7999 THEN
    body := pgrouter.change_payload(lower(TG_OP), old_row, new_row, key_cols, TG_TABLE_SCHEMA, TG_TABLE_NAME, false)::text;
  END IF;
  PERFORM pg_notify(TG_ARGV[0], body);
  RETURN NULL;
END
$$;

-- Durable variant: the row change as a transactional logical-decoding message on the WAL (prefix = channel).
-- No size limit, survives the router being down, and cheaper for writers than NOTIFY (no global commit lock).
-- Leaner than change_payload, because every writer pays for it: the router takes the event's id, position, transaction
-- and commit time from the WAL, and the key from the key columns named (TG_ARGV[1], passed on as comma-separated text).
-- Payload: {"pgrouter":1, "schema", "table", "op", "key_columns", "before", "after"}.
CREATE OR REPLACE FUNCTION pgrouter.emit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    PERFORM pg_logical_emit_message(true, TG_ARGV[0], json_build_object('pgrouter', 1, 'schema', TG_TABLE_SCHEMA,
        'table', TG_TABLE_NAME, 'op', 'update', 'key_columns', TG_ARGV[1], 'before', to_json(OLD), 'after', to_json(NEW))::text);
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM pg_logical_emit_message(true, TG_ARGV[0], json_build_object('pgrouter', 1, 'schema', TG_TABLE_SCHEMA,
        'table', TG_TABLE_NAME, 'op', 'insert', 'key_columns', TG_ARGV[1], 'after', to_json(NEW))::text);
  ELSE -- DELETE, and TRUNCATE (a statement trigger: no row)
    PERFORM pg_logical_emit_message(true, TG_ARGV[0], json_build_object('pgrouter', 1, 'schema', TG_TABLE_SCHEMA,
        'table', TG_TABLE_NAME, 'op', lower(TG_OP), 'key_columns', TG_ARGV[1], 'before', to_json(OLD))::text);
  END IF;
  RETURN NULL;
END
$$;

-- Durable variant, one message per statement (install --per statement): the rows the statement changed, read from its
-- transition tables (new_rows, old_rows), go out as one message. TG_ARGV as above. The router turns the message into
-- one event per row, the same events emit_change gives. Installed as three AFTER ... FOR EACH STATEMENT triggers
-- (PostgreSQL allows transition tables only on a trigger for one event); TRUNCATE keeps emit_change.
-- Payload: {"pgrouter":1, "schema", "table", "op", "key_columns", "txid", "rows": [{"before", "after"}, ...]}.
CREATE OR REPLACE FUNCTION pgrouter.emit_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed json;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT json_agg(json_build_object('after', to_json(n))) INTO changed FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT json_agg(json_build_object('before', to_json(o))) INTO changed FROM old_rows o;
  ELSE
    -- the executor appends each updated row to both transition tables at once: the n-th old row is the n-th new row's
    SELECT json_agg(json_build_object('before', o.r, 'after', n.r) ORDER BY o.i) INTO changed
      FROM (SELECT to_json(t) AS r, row_number() OVER () AS i FROM old_rows t) o
      JOIN (SELECT to_json(t) AS r, row_number() OVER () AS i FROM new_rows t) n USING (i);
  END IF;
  IF changed IS NOT NULL THEN
    PERFORM pg_logical_emit_message(true, TG_ARGV[0], json_build_object('pgrouter', 1, 'schema', TG_TABLE_SCHEMA,
        'table', TG_TABLE_NAME, 'op', lower(TG_OP), 'key_columns', coalesce(string_to_array(nullif(TG_ARGV[1], ''), ','), '{}'),
        'txid', txid_current(), 'rows', changed)::text);
  END IF;
  RETURN NULL;
END
$$;
