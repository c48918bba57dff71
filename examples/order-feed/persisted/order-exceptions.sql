-- The persisted alternative: the rules run in a trigger, in the writer's transaction, and each exception becomes a
-- row of orderfeed.order_exceptions (the feedback table) that the router hands on in batches. Needs ../orders.sql.
-- Idempotent.
CREATE TABLE IF NOT EXISTS orderfeed.order_exceptions (
  id         bigserial PRIMARY KEY,
  order_id   text NOT NULL,
  rule       text NOT NULL,
  detail     jsonb NOT NULL,
  raised_at  timestamptz NOT NULL DEFAULT now()
);

-- The same two rules as ../wal-orders-to-alerts.yaml. An exception is raised when the row crosses into it, never
-- again while it stays there: an upsert that sets the same values, or another system's columns, raises nothing.
CREATE OR REPLACE FUNCTION orderfeed.check_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  amount_limit constant numeric := 10000;
  stages constant text[] := ARRAY['placed', 'paid', 'shipped', 'delivered'];
BEGIN
  IF NEW.amount > amount_limit AND (TG_OP = 'INSERT' OR OLD.amount IS NULL OR OLD.amount <= amount_limit) THEN
    INSERT INTO orderfeed.order_exceptions (order_id, rule, detail)
    VALUES (NEW.id, 'amount-over-limit', jsonb_build_object('amount', NEW.amount, 'limit', amount_limit));
  END IF;
  IF TG_OP = 'UPDATE' AND array_position(stages, NEW.status) < array_position(stages, OLD.status) THEN
    INSERT INTO orderfeed.order_exceptions (order_id, rule, detail)
    VALUES (NEW.id, 'status-backwards', jsonb_build_object('from', OLD.status, 'to', NEW.status, 'by', NEW.updated_by));
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER check_order AFTER INSERT OR UPDATE ON orderfeed.orders
  FOR EACH ROW EXECUTE FUNCTION orderfeed.check_order();
