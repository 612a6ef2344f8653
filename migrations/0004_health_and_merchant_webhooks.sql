-- Issue 5: connector health (circuit breaker state shared by every gateway) and merchant
-- webhooks (outbox written in the transaction of the payment change, delivery log).

-- ---------------------------------------------------------------------------------------------
-- Circuit breaker: the shared state lives on the connector row (the existing `circuit` column is
-- the phase), so the console, `load_config` and the config-version/NOTIFY and audit triggers of
-- 0001/0002 see every transition. `circuit_generation` is bumped by every transition; gateways
-- write a transition only with `WHERE circuit_generation = <the one they saw>` (compare-and-set).
ALTER TABLE connectors
    ADD COLUMN circuit_generation  bigint NOT NULL DEFAULT 0,
    ADD COLUMN circuit_since       timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN circuit_forced      text CHECK (circuit_forced IN ('open', 'closed')),
    -- Settings (routing::CircuitSettings; defaults = CircuitSettings::default()).
    ADD COLUMN circuit_failure_threshold_pct smallint NOT NULL DEFAULT 50
        CHECK (circuit_failure_threshold_pct BETWEEN 1 AND 100),
    ADD COLUMN circuit_window_ms          integer NOT NULL DEFAULT 10000 CHECK (circuit_window_ms >= 100),
    ADD COLUMN circuit_min_samples        integer NOT NULL DEFAULT 20 CHECK (circuit_min_samples >= 1),
    ADD COLUMN circuit_cooldown_ms        integer NOT NULL DEFAULT 5000 CHECK (circuit_cooldown_ms >= 0),
    ADD COLUMN circuit_probe_interval_ms  integer NOT NULL DEFAULT 200 CHECK (circuit_probe_interval_ms >= 0);

-- One row per circuit transition (breaker or operator), written by trigger in the transaction of
-- the change. cause/actor/reason come from `switchboard.cause`, `.actor`, `.reason`.
CREATE TABLE connector_health_events (
    merchant_id  uuid NOT NULL,
    id           bigserial NOT NULL,
    connector_id uuid NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    from_state   text NOT NULL,
    to_state     text NOT NULL,
    forced       text,
    generation   bigint NOT NULL,
    cause        text NOT NULL CHECK (cause IN ('breaker', 'operator')),
    actor        text NOT NULL,
    detail       text NOT NULL DEFAULT '',
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX connector_health_events_by_connector ON connector_health_events (merchant_id, connector_id, id DESC);

CREATE FUNCTION record_circuit_change() RETURNS trigger AS $$
BEGIN
    INSERT INTO connector_health_events
        (merchant_id, connector_id, from_state, to_state, forced, generation, cause, actor, detail)
    VALUES (NEW.merchant_id, NEW.id, OLD.circuit, NEW.circuit, NEW.circuit_forced, NEW.circuit_generation,
            CASE WHEN current_setting('switchboard.cause', true) = 'breaker' THEN 'breaker' ELSE 'operator' END,
            coalesce(nullif(current_setting('switchboard.actor', true), ''), session_user::text),
            coalesce(current_setting('switchboard.reason', true), ''));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER connectors_circuit_change AFTER UPDATE ON connectors
    FOR EACH ROW WHEN (OLD.circuit_generation IS DISTINCT FROM NEW.circuit_generation)
    EXECUTE FUNCTION record_circuit_change();

-- ---------------------------------------------------------------------------------------------
-- Merchant webhooks. One endpoint per merchant; `secret` signs deliveries (HMAC-SHA256) and is
-- never selected by a read model.
CREATE TABLE merchant_webhook_endpoints (
    merchant_id uuid PRIMARY KEY REFERENCES merchants(id),
    url         text NOT NULL,
    secret      text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one row per payment change to announce, inserted by trigger in the SAME statement
-- (hence transaction) as the payment_events row of the change. The delivery worker claims due
-- rows with FOR UPDATE SKIP LOCKED, so any number of gateways can run it.
CREATE TABLE merchant_webhook_outbox (
    merchant_id     uuid NOT NULL,
    id              bigserial NOT NULL,
    payment_id      uuid NOT NULL,
    event_id        bigint NOT NULL,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX merchant_webhook_outbox_due ON merchant_webhook_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX merchant_webhook_outbox_by_payment ON merchant_webhook_outbox (merchant_id, payment_id, id);

-- One row per delivery attempt (worker or operator replay).
CREATE TABLE merchant_webhook_deliveries (
    merchant_id uuid NOT NULL,
    id          bigserial NOT NULL,
    outbox_id   bigint NOT NULL,
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    url         text NOT NULL,
    status_code integer,
    latency_ms  integer NOT NULL,
    error       text,
    source      text NOT NULL CHECK (source IN ('worker', 'replay')),
    actor       text,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, outbox_id) REFERENCES merchant_webhook_outbox (merchant_id, id)
);
CREATE INDEX merchant_webhook_deliveries_by_outbox ON merchant_webhook_deliveries (merchant_id, outbox_id, id);

-- Announces status changes (and finished refunds) of a payment to its merchant's endpoint.
-- Runs at the end of the inserting statement, so it sees the payment row written by the same
-- statement (T1/T2 are single statements of data-modifying CTEs).
CREATE FUNCTION enqueue_merchant_webhook() RETURNS trigger AS $$
DECLARE
    p payments%ROWTYPE;
    etype text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM merchant_webhook_endpoints e
                   WHERE e.merchant_id = NEW.merchant_id AND e.enabled) THEN
        RETURN NULL;
    END IF;
    IF NEW.kind = 'refund_finished' THEN
        etype := 'payment.refund_finished';
    ELSIF NEW.to_status IS NOT NULL AND NEW.kind <> 'transition_refused'
          AND NEW.from_status IS DISTINCT FROM NEW.to_status THEN
        etype := 'payment.' || NEW.to_status;
    ELSE
        RETURN NULL;
    END IF;
    SELECT * INTO p FROM payments WHERE merchant_id = NEW.merchant_id AND id = NEW.payment_id;
    INSERT INTO merchant_webhook_outbox (merchant_id, payment_id, event_id, event_type, payload)
    VALUES (NEW.merchant_id, NEW.payment_id, NEW.id, etype, jsonb_build_object(
        'id', 'evt_' || NEW.id,
        'type', etype,
        'created', floor(extract(epoch FROM NEW.at))::bigint,
        'data', jsonb_build_object(
            'payment_id', NEW.payment_id,
            'previous_status', NEW.from_status,
            'status', coalesce(NEW.to_status, p.status),
            'amount', p.amount_minor,
            'currency', p.currency,
            'captured_amount', p.captured_minor,
            'refunded_amount', p.refunded_minor,
            'failure_code', p.failure_code,
            'merchant_reference', p.merchant_reference,
            'detail', NEW.detail)));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payment_events_merchant_webhook AFTER INSERT ON payment_events
    FOR EACH ROW EXECUTE FUNCTION enqueue_merchant_webhook();
