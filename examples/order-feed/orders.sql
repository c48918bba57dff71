-- The order feed: several systems (shop, payment, warehouse) upsert their part of one wide row per order with
-- INSERT ... ON CONFLICT (id) DO UPDATE. Idempotent.
CREATE SCHEMA IF NOT EXISTS orderfeed;

CREATE TABLE IF NOT EXISTS orderfeed.orders (
  id           text PRIMARY KEY,                   -- the order number every system knows
  status       text NOT NULL DEFAULT 'placed'
               CHECK (status IN ('placed', 'paid', 'shipped', 'delivered')),
  customer     text,                               -- shop
  amount       numeric(12, 2),                     -- shop
  currency     text,                               -- shop
  payment_ref  text,                               -- payment
  carrier      text,                               -- warehouse
  tracking_no  text,                               -- warehouse
  updated_by   text,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
-- the old row on every update, so the route's rules can compare OLD and NEW (data.before / data.after)
ALTER TABLE orderfeed.orders REPLICA IDENTITY FULL;
