-- A SaaS backend's accounts. Idempotent.
CREATE SCHEMA IF NOT EXISTS saas;

CREATE TABLE IF NOT EXISTS saas.users (
  id                bigserial PRIMARY KEY,
  email             text NOT NULL UNIQUE,
  name              text NOT NULL,
  plan              text NOT NULL DEFAULT 'free',
  export_requested  boolean NOT NULL DEFAULT false,   -- set by the app when the user asks for a data export
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_seen_at      timestamptz                        -- touched on every login: bookkeeping, not a change to audit
);
-- old and new values in every update and delete: the audit log gets both, and the routes see which columns changed
ALTER TABLE saas.users REPLICA IDENTITY FULL;
