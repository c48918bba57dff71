-- Services publish by inserting a row into broker.outbox, in the same transaction as their own change.
-- The trigger that turns each row into a durable notification is installed by the router's command (README):
--   bin/pgrouter install --table broker.outbox --mode durable --channel outbox
-- Idempotent.
CREATE SCHEMA IF NOT EXISTS broker;

CREATE TABLE IF NOT EXISTS broker.outbox (
  id          bigserial PRIMARY KEY,
  topic       text NOT NULL,                  -- e.g. order.placed, customer.moved
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
