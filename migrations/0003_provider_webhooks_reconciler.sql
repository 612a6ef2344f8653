-- Provider webhook intake and the background reconciler (issue 3).
-- Every table keeps merchant_id first in its keys (Citus-ready, RLS-ready).

-- One row per webhook delivery received on POST /webhooks/{connector_id}, verified or rejected.
-- The body is stored as received (webhook bodies carry no secret of ours; the signature headers
-- are NOT stored). A verified event is unique per (connector, provider event id): a redelivery
-- is answered 200 and has no second effect.
CREATE TABLE provider_webhooks (
    merchant_id        uuid NOT NULL,
    id                 uuid NOT NULL,
    connector_id       uuid NOT NULL,
    provider           text NOT NULL,
    received_at        timestamptz NOT NULL,
    verdict            text NOT NULL CHECK (verdict IN ('verified', 'rejected')),
    rejection_code     text,
    provider_event_id  text,
    event_type         text,
    provider_reference text,
    effect             text,
    payment_id         uuid,
    attempt_id         uuid,
    -- What intake did with it: applied | no_change | late_failure_flagged | extra_charge_reversed |
    -- unmatched | unknown_type | pending | rejected | fetch_failed.
    result             text NOT NULL,
    result_detail      text NOT NULL DEFAULT '',
    body               text NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, connector_id) REFERENCES connectors (merchant_id, id),
    CHECK ((verdict = 'verified') = (provider_event_id IS NOT NULL)),
    CHECK ((verdict = 'rejected') = (rejection_code IS NOT NULL))
);
CREATE UNIQUE INDEX provider_webhooks_dedup
    ON provider_webhooks (merchant_id, connector_id, provider_event_id) WHERE verdict = 'verified';
CREATE INDEX provider_webhooks_by_payment
    ON provider_webhooks (merchant_id, payment_id, received_at) WHERE payment_id IS NOT NULL;
CREATE INDEX provider_webhooks_by_time ON provider_webhooks (merchant_id, received_at DESC);

-- A payment that a provider reported as failed/canceled after we recorded it captured/authorized
-- (or any other change the state machine refused) is kept as it is and flagged for the console.
ALTER TABLE payments
    ADD COLUMN needs_review  boolean NOT NULL DEFAULT false,
    ADD COLUMN review_reason text;
CREATE INDEX payments_needing_review ON payments (merchant_id, updated_at DESC) WHERE needs_review;

-- Reconciler bookkeeping on the attempt whose outcome is unknown, and the reversal of an extra
-- authorization found on a connector after the payment succeeded elsewhere.
ALTER TABLE attempts
    ADD COLUMN reconcile_attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN next_reconcile_at    timestamptz,
    ADD COLUMN last_reconcile_error text,
    ADD COLUMN reconcile_gave_up_at timestamptz,
    ADD COLUMN reversal             text CHECK (reversal IN ('pending', 'voided', 'refunded', 'failed')),
    ADD COLUMN reversal_detail      text;
CREATE INDEX attempts_to_reconcile ON attempts (next_reconcile_at)
    WHERE status = 'unknown' AND reconcile_gave_up_at IS NULL;
CREATE INDEX attempts_reversal_pending ON attempts (merchant_id, id) WHERE reversal = 'pending';
