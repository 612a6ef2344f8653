-- Switchboard schema. Forward-only. Every payment-data table carries merchant_id and every key
-- starts with it, so the schema can be distributed by merchant_id (Citus) without change.
-- Amounts are bigint minor units + ISO 4217 currency; times are timestamptz (UTC).

CREATE TABLE merchants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Merchant API keys for the gateway, stored as SHA-256 hashes; only a display prefix is kept.
CREATE TABLE api_keys (
    key_hash    bytea PRIMARY KEY,
    merchant_id uuid NOT NULL REFERENCES merchants(id),
    mode        text NOT NULL CHECK (mode IN ('test', 'live')),
    key_prefix  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE SEQUENCE connector_created_seq;

CREATE TABLE connectors (
    merchant_id  uuid NOT NULL REFERENCES merchants(id),
    id           uuid NOT NULL,
    name         text NOT NULL,
    provider     text NOT NULL CHECK (provider IN ('stripe', 'square', 'braintree', 'mollie', 'simulator')),
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    weight       integer NOT NULL CHECK (weight >= 0),
    is_primary   boolean NOT NULL DEFAULT false,
    status       text NOT NULL CHECK (status IN ('active', 'disabled')),
    circuit      text NOT NULL DEFAULT 'closed' CHECK (circuit IN ('closed', 'open', 'half_open')),
    capabilities jsonb NOT NULL,
    base_url     text NOT NULL,
    created_seq  bigint NOT NULL DEFAULT nextval('connector_created_seq'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, name)
);
-- At most one primary per merchant and mode.
CREATE UNIQUE INDEX connectors_one_primary ON connectors (merchant_id, mode) WHERE is_primary;

-- Connector secrets (API keys, webhook secrets). Kept apart from connectors so that no read
-- model ever selects them. Encrypted by the vault in a later migration (issue 6).
CREATE TABLE connector_credentials (
    merchant_id  uuid NOT NULL,
    connector_id uuid NOT NULL,
    field        text NOT NULL,
    secret       text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, connector_id, field),
    FOREIGN KEY (merchant_id, connector_id) REFERENCES connectors (merchant_id, id)
);

CREATE TABLE policies (
    merchant_id  uuid NOT NULL REFERENCES merchants(id),
    id           uuid NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    version      integer NOT NULL,
    status       text NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    body         jsonb NOT NULL,
    note         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, mode, version)
);
CREATE UNIQUE INDEX policies_one_published ON policies (merchant_id, mode) WHERE status = 'published';

-- Idempotency: one row per (merchant, mode, key). The fingerprint is SHA-256 of the operation
-- and its canonical request body. response_* is set in the transaction of the final update.
CREATE TABLE idempotency_keys (
    merchant_id     uuid NOT NULL,
    mode            text NOT NULL,
    key             text NOT NULL,
    fingerprint     bytea NOT NULL,
    payment_id      uuid,
    response_status integer,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    PRIMARY KEY (merchant_id, mode, key)
);

CREATE TABLE payments (
    merchant_id        uuid NOT NULL REFERENCES merchants(id),
    id                 uuid NOT NULL,
    mode               text NOT NULL,
    amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
    currency           char(3) NOT NULL,
    country            char(2) NOT NULL,
    method             text NOT NULL,
    card_brand         text,
    capture_mode       text NOT NULL CHECK (capture_mode IN ('automatic', 'manual')),
    merchant_reference text,
    metadata           jsonb NOT NULL DEFAULT '{}',
    tokens             jsonb NOT NULL,
    status             text NOT NULL CHECK (status IN ('processing', 'requires_action', 'authorized', 'captured', 'failed', 'canceled', 'unknown')),
    failure_code       text,
    failure_message    text,
    next_action_url    text,
    captured_minor     bigint NOT NULL DEFAULT 0,
    refunded_minor     bigint NOT NULL DEFAULT 0,
    policy_id          uuid,
    route_roll         double precision NOT NULL,
    route              jsonb NOT NULL,
    attempt_count      integer NOT NULL DEFAULT 0,
    last_connector_id  uuid,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX payments_by_created ON payments (merchant_id, created_at DESC);
CREATE INDEX payments_by_reference ON payments (merchant_id, merchant_reference text_pattern_ops);
CREATE INDEX payments_by_status ON payments (merchant_id, status, created_at DESC);

CREATE TABLE attempts (
    merchant_id        uuid NOT NULL,
    id                 uuid NOT NULL,
    payment_id         uuid NOT NULL,
    seq                integer NOT NULL,
    connector_id       uuid NOT NULL,
    connector_name     text NOT NULL,
    provider           text NOT NULL,
    status             text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'requires_action', 'unknown')),
    outcome            text,
    provider_reference text,
    provider_status    text,
    http_status        integer,
    raw_code           text,
    decline_code       text,
    message            text,
    created_at         timestamptz NOT NULL,
    requested_at       timestamptz,
    responded_at       timestamptz,
    latency_ms         integer,
    next_step          text,
    next_step_detail   text,
    reconciliation     text,
    PRIMARY KEY (merchant_id, id),
    UNIQUE (merchant_id, payment_id, seq),
    FOREIGN KEY (merchant_id, payment_id) REFERENCES payments (merchant_id, id)
);
CREATE INDEX attempts_by_provider_reference ON attempts (merchant_id, provider_reference) WHERE provider_reference IS NOT NULL;
CREATE INDEX attempts_by_connector_time ON attempts (merchant_id, connector_id, created_at);

-- Capture, void and refund calls on an existing payment.
CREATE TABLE payment_operations (
    merchant_id        uuid NOT NULL,
    id                 uuid NOT NULL,
    payment_id         uuid NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('capture', 'void', 'refund')),
    amount_minor       bigint,
    reason             text,
    attempt_id         uuid NOT NULL,
    status             text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown')),
    outcome            text,
    provider_reference text,
    raw_code           text,
    message            text,
    created_at         timestamptz NOT NULL,
    responded_at       timestamptz,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, payment_id) REFERENCES payments (merchant_id, id)
);

-- Append-only log of every change to a payment. The console's timeline is built from it.
CREATE TABLE payment_events (
    merchant_id uuid NOT NULL,
    id          bigserial NOT NULL,
    payment_id  uuid NOT NULL,
    at          timestamptz NOT NULL,
    cause       text NOT NULL CHECK (cause IN ('api', 'provider_response', 'webhook', 'reconciler', 'operator')),
    kind        text NOT NULL,
    from_status text,
    to_status   text,
    attempt_id  uuid,
    detail      text NOT NULL DEFAULT '',
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX payment_events_by_payment ON payment_events (merchant_id, payment_id, id);

-- Audit log, written by triggers so that changes made outside the console are audited too.
-- The console sets `switchboard.actor` and `switchboard.reason` for its transaction.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    merchant_id uuid,
    actor       text NOT NULL,
    entity      text NOT NULL,
    entity_id   text NOT NULL,
    action      text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb
);
CREATE INDEX audit_log_by_merchant ON audit_log (merchant_id, id DESC);

CREATE FUNCTION audit_connector_change() RETURNS trigger AS $$
DECLARE
    actor  text := coalesce(nullif(current_setting('switchboard.actor', true), ''), session_user::text);
    reason text := coalesce(current_setting('switchboard.reason', true), '');
    action text;
    b jsonb;
    a jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        action := 'create';
        a := to_jsonb(NEW) - 'capabilities';
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.weight IS DISTINCT FROM OLD.weight AND NEW.status = OLD.status AND NEW.circuit = OLD.circuit THEN
            action := 'set_weight';
            b := jsonb_build_object('weight', OLD.weight);
            a := jsonb_build_object('weight', NEW.weight);
        ELSE
            action := 'update';
            b := to_jsonb(OLD) - 'capabilities';
            a := to_jsonb(NEW) - 'capabilities';
        END IF;
    ELSE
        action := 'delete';
        b := to_jsonb(OLD) - 'capabilities';
    END IF;
    INSERT INTO audit_log (merchant_id, actor, entity, entity_id, action, reason, before, after)
    VALUES (coalesce(NEW.merchant_id, OLD.merchant_id), actor, 'connector',
            coalesce(NEW.id, OLD.id)::text, action, reason, b, a);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER connectors_audit AFTER INSERT OR UPDATE OR DELETE ON connectors
    FOR EACH ROW EXECUTE FUNCTION audit_connector_change();
