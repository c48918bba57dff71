-- The demo's marketplace: sellers list products, buyers subscribe to categories. Idempotent.
CREATE SCHEMA IF NOT EXISTS marketplace;

CREATE TABLE IF NOT EXISTS marketplace.sellers (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  email      text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS marketplace.categories (
  slug text PRIMARY KEY,
  name text NOT NULL
);

CREATE TABLE IF NOT EXISTS marketplace.products (
  id          bigserial PRIMARY KEY,
  seller_id   bigint NOT NULL REFERENCES marketplace.sellers (id),
  category    text NOT NULL REFERENCES marketplace.categories (slug),
  title       text NOT NULL,
  description text,
  price       numeric(12, 2) NOT NULL,
  tags        text[] NOT NULL DEFAULT '{}',
  attributes  jsonb NOT NULL DEFAULT '{}',
  listed_at   timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- old values on update and delete, so events carry "before" and an exact "changed" list
ALTER TABLE marketplace.products REPLICA IDENTITY FULL;

-- buyers subscribe to categories; a composite key
CREATE TABLE IF NOT EXISTS marketplace.subscriptions (
  buyer_email text NOT NULL,
  category    text NOT NULL REFERENCES marketplace.categories (slug),
  webhook_url text,
  note        text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (buyer_email, category)
);

INSERT INTO marketplace.categories (slug, name) VALUES
  ('books', 'Books'), ('games', 'Games'), ('garden', 'Garden'), ('music', 'Music')
ON CONFLICT (slug) DO NOTHING;
INSERT INTO marketplace.sellers (name, email) VALUES
  ('Ada Books', 'ada@example.com'), ('Gus Garden', 'gus@example.com')
ON CONFLICT (email) DO NOTHING;
