-- Config version per merchant: bumped (and announced with NOTIFY switchboard_config) by every
-- change to connectors, their credentials or policies. Gateways cache config and check the
-- version optimistically inside the payment's first transaction, so a change committed before a
-- payment starts is always used by it.

CREATE TABLE config_versions (
    merchant_id uuid PRIMARY KEY REFERENCES merchants(id),
    version     bigint NOT NULL DEFAULT 1,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION bump_config_version() RETURNS trigger AS $$
DECLARE
    m uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN m := OLD.merchant_id; ELSE m := NEW.merchant_id; END IF;
    INSERT INTO config_versions (merchant_id) VALUES (m)
    ON CONFLICT (merchant_id) DO UPDATE SET version = config_versions.version + 1, changed_at = now();
    PERFORM pg_notify('switchboard_config', m::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER connectors_config_version AFTER INSERT OR UPDATE OR DELETE ON connectors
    FOR EACH ROW EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER credentials_config_version AFTER INSERT OR UPDATE OR DELETE ON connector_credentials
    FOR EACH ROW EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER policies_config_version AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION bump_config_version();

INSERT INTO config_versions (merchant_id) SELECT id FROM merchants ON CONFLICT DO NOTHING;
