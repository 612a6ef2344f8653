-- Console read models at scale (issue 4): incrementally maintained rollups, search indexes,
-- one policy draft per merchant and mode, and an audit trigger on policies.
--
-- attempt_rollup: one row per (merchant, connector, currency, UTC hour of the attempt's
-- created_at). Maintained by triggers on attempts: a row contributes once it has an outcome;
-- an update that changes outcome, next_step, latency or connector subtracts the old
-- contribution and adds the new one, so the rollup always equals a GROUP BY over attempts
-- (tested in crates/engine/tests/console.rs). Console charts/finance read only this table.
--
-- Counters (calls = answered provider calls, retries included; counts are integer so that
-- sums over many rows use the fast int8 accumulator, only the amount is bigint):
--   n_<class>          calls per outcome class
--   retried            non-approved calls followed by a retry on the same connector
--                      (next_step = 'retry_same'): excluded from the approval-rate denominator
--                      so a retried decline/failure is not counted twice
--   approved_amount_minor  sum of the payment amount (minor units) of approved calls
--   h1..h24            calls per latency bucket (plain columns, so sums over many rows stay
--                      cheap); bounds (ms) in console_latency_bounds(): bucket i holds
--                      latency < bound[i] (and >= bound[i-1]); h24 holds >= the last bound
CREATE TABLE attempt_rollup (
    merchant_id            uuid NOT NULL,
    connector_id           uuid NOT NULL,
    currency               char(3) NOT NULL,
    bucket                 timestamptz NOT NULL,
    calls                  integer NOT NULL DEFAULT 0,
    n_approved             integer NOT NULL DEFAULT 0,
    n_hard_decline         integer NOT NULL DEFAULT 0,
    n_soft_decline         integer NOT NULL DEFAULT 0,
    n_needs_customer_action integer NOT NULL DEFAULT 0,
    n_validation_error     integer NOT NULL DEFAULT 0,
    n_auth_config_error    integer NOT NULL DEFAULT 0,
    n_rate_limited         integer NOT NULL DEFAULT 0,
    n_provider_unavailable integer NOT NULL DEFAULT 0,
    n_unknown_outcome      integer NOT NULL DEFAULT 0,
    retried                integer NOT NULL DEFAULT 0,
    approved_amount_minor  bigint NOT NULL DEFAULT 0,
    h1                      integer NOT NULL DEFAULT 0,
    h2                      integer NOT NULL DEFAULT 0,
    h3                      integer NOT NULL DEFAULT 0,
    h4                      integer NOT NULL DEFAULT 0,
    h5                      integer NOT NULL DEFAULT 0,
    h6                      integer NOT NULL DEFAULT 0,
    h7                      integer NOT NULL DEFAULT 0,
    h8                      integer NOT NULL DEFAULT 0,
    h9                      integer NOT NULL DEFAULT 0,
    h10                     integer NOT NULL DEFAULT 0,
    h11                     integer NOT NULL DEFAULT 0,
    h12                     integer NOT NULL DEFAULT 0,
    h13                     integer NOT NULL DEFAULT 0,
    h14                     integer NOT NULL DEFAULT 0,
    h15                     integer NOT NULL DEFAULT 0,
    h16                     integer NOT NULL DEFAULT 0,
    h17                     integer NOT NULL DEFAULT 0,
    h18                     integer NOT NULL DEFAULT 0,
    h19                     integer NOT NULL DEFAULT 0,
    h20                     integer NOT NULL DEFAULT 0,
    h21                     integer NOT NULL DEFAULT 0,
    h22                     integer NOT NULL DEFAULT 0,
    h23                     integer NOT NULL DEFAULT 0,
    h24                     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, bucket, connector_id, currency)
);

-- Fallback rescues: attempts (distinct per payment, connector and class) whose payment was
-- later approved on ANOTHER connector. Keyed by the rescued attempt's connector, class and hour.
CREATE TABLE rescue_rollup (
    merchant_id  uuid NOT NULL,
    connector_id uuid NOT NULL,
    outcome      text NOT NULL,
    bucket       timestamptz NOT NULL,
    rescued      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, bucket, connector_id, outcome)
);

-- Upper bounds (exclusive, ms) of the latency histogram buckets; 23 bounds = 24 buckets.
CREATE FUNCTION console_latency_bounds() RETURNS integer[] LANGUAGE sql IMMUTABLE AS
$$ SELECT ARRAY[25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1250, 1500, 2000,
                3000, 4000, 5000, 7500, 10000, 20000, 30000] $$;

CREATE FUNCTION console_hour(t timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS
$$ SELECT date_bin('1 hour', t, timestamptz '2000-01-01 00:00:00+00') $$;

CREATE FUNCTION attempt_rollup_apply(r attempts, sign integer) RETURNS void AS $$
DECLARE
    cur char(3);
    amt bigint;
    i integer;
BEGIN
    IF r.outcome IS NULL THEN
        RETURN;
    END IF;
    SELECT p.currency, p.amount_minor INTO cur, amt FROM payments p
    WHERE p.merchant_id = r.merchant_id AND p.id = r.payment_id;
    IF cur IS NULL THEN
        RETURN;
    END IF;
    IF r.latency_ms IS NOT NULL THEN
        i := width_bucket(r.latency_ms, console_latency_bounds()) + 1;
    END IF;
    INSERT INTO attempt_rollup AS t (merchant_id, connector_id, currency, bucket, calls, n_approved,
        n_hard_decline, n_soft_decline, n_needs_customer_action, n_validation_error,
        n_auth_config_error, n_rate_limited, n_provider_unavailable, n_unknown_outcome, retried,
        approved_amount_minor, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24)
    VALUES (r.merchant_id, r.connector_id, cur, console_hour(r.created_at), sign,
        CASE WHEN r.outcome = 'approved' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'hard_decline' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'soft_decline' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'needs_customer_action' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'validation_error' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'auth_config_error' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'rate_limited' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'provider_unavailable' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'unknown_outcome' THEN sign ELSE 0 END,
        CASE WHEN r.next_step = 'retry_same' AND r.outcome <> 'approved' THEN sign ELSE 0 END,
        CASE WHEN r.outcome = 'approved' THEN sign * amt ELSE 0 END,
        CASE WHEN i = 1 THEN sign ELSE 0 END,
        CASE WHEN i = 2 THEN sign ELSE 0 END,
        CASE WHEN i = 3 THEN sign ELSE 0 END,
        CASE WHEN i = 4 THEN sign ELSE 0 END,
        CASE WHEN i = 5 THEN sign ELSE 0 END,
        CASE WHEN i = 6 THEN sign ELSE 0 END,
        CASE WHEN i = 7 THEN sign ELSE 0 END,
        CASE WHEN i = 8 THEN sign ELSE 0 END,
        CASE WHEN i = 9 THEN sign ELSE 0 END,
        CASE WHEN i = 10 THEN sign ELSE 0 END,
        CASE WHEN i = 11 THEN sign ELSE 0 END,
        CASE WHEN i = 12 THEN sign ELSE 0 END,
        CASE WHEN i = 13 THEN sign ELSE 0 END,
        CASE WHEN i = 14 THEN sign ELSE 0 END,
        CASE WHEN i = 15 THEN sign ELSE 0 END,
        CASE WHEN i = 16 THEN sign ELSE 0 END,
        CASE WHEN i = 17 THEN sign ELSE 0 END,
        CASE WHEN i = 18 THEN sign ELSE 0 END,
        CASE WHEN i = 19 THEN sign ELSE 0 END,
        CASE WHEN i = 20 THEN sign ELSE 0 END,
        CASE WHEN i = 21 THEN sign ELSE 0 END,
        CASE WHEN i = 22 THEN sign ELSE 0 END,
        CASE WHEN i = 23 THEN sign ELSE 0 END,
        CASE WHEN i = 24 THEN sign ELSE 0 END)
    ON CONFLICT (merchant_id, bucket, connector_id, currency) DO UPDATE SET
        calls = t.calls + EXCLUDED.calls,
        n_approved = t.n_approved + EXCLUDED.n_approved,
        n_hard_decline = t.n_hard_decline + EXCLUDED.n_hard_decline,
        n_soft_decline = t.n_soft_decline + EXCLUDED.n_soft_decline,
        n_needs_customer_action = t.n_needs_customer_action + EXCLUDED.n_needs_customer_action,
        n_validation_error = t.n_validation_error + EXCLUDED.n_validation_error,
        n_auth_config_error = t.n_auth_config_error + EXCLUDED.n_auth_config_error,
        n_rate_limited = t.n_rate_limited + EXCLUDED.n_rate_limited,
        n_provider_unavailable = t.n_provider_unavailable + EXCLUDED.n_provider_unavailable,
        n_unknown_outcome = t.n_unknown_outcome + EXCLUDED.n_unknown_outcome,
        retried = t.retried + EXCLUDED.retried,
        approved_amount_minor = t.approved_amount_minor + EXCLUDED.approved_amount_minor,
        h1 = t.h1 + EXCLUDED.h1,
        h2 = t.h2 + EXCLUDED.h2,
        h3 = t.h3 + EXCLUDED.h3,
        h4 = t.h4 + EXCLUDED.h4,
        h5 = t.h5 + EXCLUDED.h5,
        h6 = t.h6 + EXCLUDED.h6,
        h7 = t.h7 + EXCLUDED.h7,
        h8 = t.h8 + EXCLUDED.h8,
        h9 = t.h9 + EXCLUDED.h9,
        h10 = t.h10 + EXCLUDED.h10,
        h11 = t.h11 + EXCLUDED.h11,
        h12 = t.h12 + EXCLUDED.h12,
        h13 = t.h13 + EXCLUDED.h13,
        h14 = t.h14 + EXCLUDED.h14,
        h15 = t.h15 + EXCLUDED.h15,
        h16 = t.h16 + EXCLUDED.h16,
        h17 = t.h17 + EXCLUDED.h17,
        h18 = t.h18 + EXCLUDED.h18,
        h19 = t.h19 + EXCLUDED.h19,
        h20 = t.h20 + EXCLUDED.h20,
        h21 = t.h21 + EXCLUDED.h21,
        h22 = t.h22 + EXCLUDED.h22,
        h23 = t.h23 + EXCLUDED.h23,
        h24 = t.h24 + EXCLUDED.h24;

    -- An approval on a later attempt rescues the earlier attempts on other connectors.
    IF r.outcome = 'approved' AND r.seq > 1 THEN
        INSERT INTO rescue_rollup AS t (merchant_id, connector_id, outcome, bucket, rescued)
        SELECT r.merchant_id, e.connector_id, e.outcome, console_hour(min(e.created_at)), sign
        FROM attempts e
        WHERE e.merchant_id = r.merchant_id AND e.payment_id = r.payment_id AND e.seq < r.seq
          AND e.connector_id <> r.connector_id AND e.outcome IS NOT NULL
        GROUP BY e.connector_id, e.outcome
        ON CONFLICT (merchant_id, bucket, connector_id, outcome) DO UPDATE SET
            rescued = t.rescued + EXCLUDED.rescued;
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION attempt_rollup_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM attempt_rollup_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM attempt_rollup_apply(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER attempts_rollup_insert AFTER INSERT ON attempts
    FOR EACH ROW WHEN (NEW.outcome IS NOT NULL) EXECUTE FUNCTION attempt_rollup_trigger();
CREATE TRIGGER attempts_rollup_update AFTER UPDATE ON attempts
    FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome
                       OR OLD.next_step IS DISTINCT FROM NEW.next_step
                       OR OLD.latency_ms IS DISTINCT FROM NEW.latency_ms
                       OR OLD.connector_id IS DISTINCT FROM NEW.connector_id
                       OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION attempt_rollup_trigger();
CREATE TRIGGER attempts_rollup_delete AFTER DELETE ON attempts
    FOR EACH ROW WHEN (OLD.outcome IS NOT NULL) EXECUTE FUNCTION attempt_rollup_trigger();

-- Rebuilds both rollups from attempts (used after a bulk load with triggers disabled, e.g. the
-- console bench). Replaces the whole content.
CREATE FUNCTION console_rebuild_rollups() RETURNS void AS $$
BEGIN
    DELETE FROM attempt_rollup;
    DELETE FROM rescue_rollup;
    INSERT INTO attempt_rollup (merchant_id, connector_id, currency, bucket, calls, n_approved,
        n_hard_decline, n_soft_decline, n_needs_customer_action, n_validation_error,
        n_auth_config_error, n_rate_limited, n_provider_unavailable, n_unknown_outcome, retried,
        approved_amount_minor, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19, h20, h21, h22, h23, h24)
    SELECT g.merchant_id, g.connector_id, g.currency, g.bucket, sum(g.calls), sum(g.n_approved),
        sum(g.n_hard_decline), sum(g.n_soft_decline), sum(g.n_needs_customer_action),
        sum(g.n_validation_error), sum(g.n_auth_config_error), sum(g.n_rate_limited),
        sum(g.n_provider_unavailable), sum(g.n_unknown_outcome), sum(g.retried),
        sum(g.approved_amount_minor),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 1), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 2), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 3), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 4), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 5), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 6), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 7), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 8), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 9), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 10), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 11), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 12), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 13), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 14), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 15), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 16), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 17), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 18), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 19), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 20), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 21), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 22), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 23), 0),
        coalesce(sum(g.calls) FILTER (WHERE g.lb = 24), 0)
    FROM (
        SELECT a.merchant_id, a.connector_id, p.currency, console_hour(a.created_at) AS bucket,
            CASE WHEN a.latency_ms IS NULL THEN 0 ELSE width_bucket(a.latency_ms, console_latency_bounds()) + 1 END AS lb,
            count(*) AS calls,
            count(*) FILTER (WHERE a.outcome = 'approved') AS n_approved,
            count(*) FILTER (WHERE a.outcome = 'hard_decline') AS n_hard_decline,
            count(*) FILTER (WHERE a.outcome = 'soft_decline') AS n_soft_decline,
            count(*) FILTER (WHERE a.outcome = 'needs_customer_action') AS n_needs_customer_action,
            count(*) FILTER (WHERE a.outcome = 'validation_error') AS n_validation_error,
            count(*) FILTER (WHERE a.outcome = 'auth_config_error') AS n_auth_config_error,
            count(*) FILTER (WHERE a.outcome = 'rate_limited') AS n_rate_limited,
            count(*) FILTER (WHERE a.outcome = 'provider_unavailable') AS n_provider_unavailable,
            count(*) FILTER (WHERE a.outcome = 'unknown_outcome') AS n_unknown_outcome,
            count(*) FILTER (WHERE a.next_step = 'retry_same' AND a.outcome <> 'approved') AS retried,
            coalesce(sum(p.amount_minor) FILTER (WHERE a.outcome = 'approved'), 0) AS approved_amount_minor
        FROM attempts a JOIN payments p ON p.merchant_id = a.merchant_id AND p.id = a.payment_id
        WHERE a.outcome IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5
    ) g
    GROUP BY g.merchant_id, g.connector_id, g.currency, g.bucket;

    INSERT INTO rescue_rollup (merchant_id, connector_id, outcome, bucket, rescued)
    SELECT merchant_id, connector_id, outcome, bucket, count(*) FROM (
        SELECT e.merchant_id, e.connector_id, e.outcome, console_hour(min(e.created_at)) AS bucket
        FROM attempts w
        JOIN attempts e ON e.merchant_id = w.merchant_id AND e.payment_id = w.payment_id
             AND e.seq < w.seq AND e.connector_id <> w.connector_id AND e.outcome IS NOT NULL
        WHERE w.outcome = 'approved' AND w.seq > 1
        GROUP BY e.merchant_id, e.payment_id, w.id, e.connector_id, e.outcome
    ) r
    GROUP BY 1, 2, 3, 4;
END;
$$ LANGUAGE plpgsql;

SELECT console_rebuild_rollups();

-- Search: keyset pagination on (created_at, id) for every filter combination the console offers.
DROP INDEX IF EXISTS payments_by_created;
CREATE INDEX payments_by_created ON payments (merchant_id, created_at DESC, id DESC);
DROP INDEX IF EXISTS payments_by_status;
CREATE INDEX payments_by_status ON payments (merchant_id, status, created_at DESC, id DESC);
CREATE INDEX payments_by_amount ON payments (merchant_id, amount_minor, created_at DESC, id DESC);
-- Connector / outcome filters (and the fallback-matrix cell drill-down) are driven from attempts.
CREATE INDEX attempts_by_connector_outcome ON attempts (merchant_id, connector_id, outcome, created_at DESC);
CREATE INDEX attempts_by_outcome ON attempts (merchant_id, outcome, created_at DESC);
CREATE INDEX audit_log_by_entity ON audit_log (merchant_id, entity, id DESC);

-- One draft per merchant and mode.
CREATE UNIQUE INDEX policies_one_draft ON policies (merchant_id, mode) WHERE status = 'draft';

-- Policies are audited like connectors: draft saves, publications and archiving.
CREATE FUNCTION audit_policy_change() RETURNS trigger AS $$
DECLARE
    actor  text := coalesce(nullif(current_setting('switchboard.actor', true), ''), session_user::text);
    reason text := coalesce(nullif(current_setting('switchboard.reason', true), ''), '');
    action text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        action := CASE NEW.status WHEN 'published' THEN 'publish' WHEN 'draft' THEN 'save_draft' ELSE 'create' END;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.status = 'published' AND OLD.status <> 'published' THEN
            action := 'publish';
        ELSIF NEW.status = 'archived' AND OLD.status <> 'archived' THEN
            action := 'archive';
        ELSE
            action := 'save_draft';
        END IF;
    ELSE
        action := 'delete';
    END IF;
    IF reason = '' AND TG_OP <> 'DELETE' AND action = 'publish' THEN
        reason := NEW.note;
    END IF;
    INSERT INTO audit_log (merchant_id, actor, entity, entity_id, action, reason, before, after)
    VALUES (coalesce(NEW.merchant_id, OLD.merchant_id), actor, 'policy',
            coalesce(NEW.id, OLD.id)::text, action, reason,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE jsonb_build_object('version', OLD.version, 'status', OLD.status, 'body', OLD.body) END,
            CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE jsonb_build_object('version', NEW.version, 'status', NEW.status, 'body', NEW.body, 'note', NEW.note) END);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER policies_audit AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION audit_policy_change();
