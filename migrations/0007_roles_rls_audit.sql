-- Roles, per-merchant memberships, Row-Level Security and audit triggers (issue 6).
--
-- Who may do what is enforced by Postgres itself, not by the console:
--   * five NOLOGIN group roles carry the table privileges (GRANT):
--       switchboard_support   read payments, attempts, events (and the other non-secret tables)
--       switchboard_finance   read + export (same reads; exports are reads), no credentials
--       switchboard_operator  + connector weights, drains, circuit overrides, publish policies
--       switchboard_admin     + connectors, credentials, memberships (users)
--       switchboard_gateway   the checkout gateway: reads and writes payment data of every merchant
--   * memberships (db_role, merchant_id, role) say which merchants a login role sees and with which
--     role; RLS policies on every merchant-scoped table check them, so another merchant's rows
--     are invisible and a write needs the right role FOR THAT merchant.
--   * A console user is a LOGIN role granted the group role(s) it needs and given memberships:
--       CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE switchboard_operator;
--       INSERT INTO memberships (db_role, merchant_id, role) VALUES ('alice', '<merchant>', 'operator');
--   * Superusers and the table owner (the migration role) bypass RLS, as Postgres defines it.
-- Roles are cluster-wide: created idempotently (many databases may run this migration at once).

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['switchboard_support', 'switchboard_finance', 'switchboard_operator',
                             'switchboard_admin', 'switchboard_gateway'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- created concurrently by another database's migration
            END;
        END IF;
    END LOOP;
END $$;

-- Which login role sees which merchant, with which role.
CREATE TABLE memberships (
    db_role     text NOT NULL,
    merchant_id uuid NOT NULL REFERENCES merchants(id),
    role        text NOT NULL CHECK (role IN ('support', 'finance', 'operator', 'admin')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (db_role, merchant_id)
);
CREATE INDEX memberships_by_merchant ON memberships (merchant_id);

-- The merchants `who` may act on with one of `roles` (NULL = any role). SECURITY DEFINER so
-- policies can consult memberships without exposing it; `who` is the caller's current_user,
-- passed in by the policy (inside this function current_user is the owner). Answers only for
-- the login role itself or a role it may SET ROLE to, so nobody can list another user's merchants.
CREATE FUNCTION sb_merchants(who text, roles text[]) RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT merchant_id FROM memberships
    WHERE db_role = who AND (roles IS NULL OR role = ANY (roles))
      AND (who = session_user::text OR pg_has_role(session_user, who, 'MEMBER'))
$$;
REVOKE ALL ON FUNCTION sb_merchants(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sb_merchants(text, text[]) TO switchboard_support, switchboard_finance,
    switchboard_operator, switchboard_admin, switchboard_gateway;

-- The database role behind every audit row (the login role; a console may add its own
-- switchboard.actor, which goes to `actor` as before).
ALTER TABLE audit_log ADD COLUMN db_role text NOT NULL DEFAULT session_user;

-- Trigger functions write audit rows, config versions, health events, outbox rows and rollups
-- that the acting role may not write itself: they run as their owner.
DO $$
DECLARE f record;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.prorettype = 'trigger'::regtype LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = public, pg_temp', f.sig);
    END LOOP;
END $$;

-- ---------------------------------------------------------------- audit: credentials, memberships
-- Credentials: who set/replaced/removed which field of which connector, and the key version.
-- Never the secret, the ciphertext or its last 4 characters.
CREATE FUNCTION audit_credential_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    actor  text := coalesce(nullif(current_setting('switchboard.actor', true), ''), session_user::text);
    reason text := coalesce(current_setting('switchboard.reason', true), '');
    b jsonb;
    a jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        b := jsonb_build_object('field', OLD.field, 'key_version', OLD.key_version,
                                'encrypted', OLD.ciphertext IS NOT NULL, 'updated_at', OLD.updated_at);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        a := jsonb_build_object('field', NEW.field, 'key_version', NEW.key_version,
                                'encrypted', NEW.ciphertext IS NOT NULL, 'updated_at', NEW.updated_at);
    END IF;
    INSERT INTO audit_log (merchant_id, actor, entity, entity_id, action, reason, before, after)
    VALUES (coalesce(NEW.merchant_id, OLD.merchant_id), actor, 'credential',
            coalesce(NEW.connector_id, OLD.connector_id)::text || ':' || coalesce(NEW.field, OLD.field),
            CASE TG_OP WHEN 'INSERT' THEN 'set_credential' WHEN 'UPDATE' THEN 'replace_credential'
                       ELSE 'delete_credential' END,
            reason, b, a);
    RETURN NULL;
END;
$$;
CREATE TRIGGER connector_credentials_audit AFTER INSERT OR UPDATE OR DELETE ON connector_credentials
    FOR EACH ROW EXECUTE FUNCTION audit_credential_change();

CREATE FUNCTION audit_membership_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    actor  text := coalesce(nullif(current_setting('switchboard.actor', true), ''), session_user::text);
    reason text := coalesce(current_setting('switchboard.reason', true), '');
BEGIN
    INSERT INTO audit_log (merchant_id, actor, entity, entity_id, action, reason, before, after)
    VALUES (coalesce(NEW.merchant_id, OLD.merchant_id), actor, 'membership',
            coalesce(NEW.db_role, OLD.db_role),
            CASE TG_OP WHEN 'INSERT' THEN 'grant' WHEN 'UPDATE' THEN 'change_role' ELSE 'revoke' END,
            reason,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE jsonb_build_object('role', OLD.role) END,
            CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE jsonb_build_object('role', NEW.role) END);
    RETURN NULL;
END;
$$;
CREATE TRIGGER memberships_audit AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION audit_membership_change();

-- ---------------------------------------------------------------- table privileges
GRANT USAGE ON SCHEMA public TO switchboard_support, switchboard_finance, switchboard_operator,
    switchboard_admin, switchboard_gateway;

-- Reads: every console role reads every table, except the secret ones below.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO switchboard_support, switchboard_finance,
    switchboard_operator, switchboard_admin;
-- Secrets and key material: admin and gateway only (credential ciphertext, wrapped data keys);
-- merchant API key hashes, idempotency responses, vault bookkeeping: not for console readers.
REVOKE ALL ON connector_credentials, merchant_data_keys FROM switchboard_support,
    switchboard_finance, switchboard_operator;
REVOKE ALL ON api_keys, idempotency_keys, vault_master_keys, vault_rotations FROM switchboard_support,
    switchboard_finance, switchboard_operator;
DO $$
BEGIN
    IF to_regclass('merchant_webhook_endpoints') IS NOT NULL THEN
        -- holds the merchant webhook signing secret
        REVOKE ALL ON merchant_webhook_endpoints FROM switchboard_support, switchboard_finance,
            switchboard_operator;
        GRANT SELECT, INSERT, UPDATE, DELETE ON merchant_webhook_endpoints TO switchboard_admin;
    END IF;
END $$;

-- Operator: weights, drains (weight 0 / status), circuit overrides; draft and publish policies.
GRANT UPDATE ON connectors TO switchboard_operator, switchboard_admin;
GRANT INSERT, UPDATE ON policies TO switchboard_operator, switchboard_admin;
-- Admin: connectors, credentials, users.
GRANT INSERT, DELETE ON connectors TO switchboard_admin;
GRANT INSERT, UPDATE, DELETE ON connector_credentials TO switchboard_admin;
GRANT INSERT ON merchant_data_keys TO switchboard_admin;
GRANT INSERT ON vault_master_keys TO switchboard_admin;
GRANT INSERT, UPDATE, DELETE ON memberships TO switchboard_admin;
GRANT USAGE ON SEQUENCE connector_created_seq TO switchboard_admin;

-- Gateway: everything it needs to run payments, webhooks, health, reconciler and outbox for
-- every merchant; not memberships or the audit log (triggers write that).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO switchboard_gateway;
REVOKE INSERT, UPDATE, DELETE ON memberships, audit_log FROM switchboard_gateway;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO switchboard_gateway;

-- ---------------------------------------------------------------- Row-Level Security
-- Every table with a merchant_id column (whatever migration created it) gets RLS with:
--   gateway: every row; console roles: SELECT of their merchants' rows.
DO $$
DECLARE t record;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'merchant_id' AND NOT a.attisdropped
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
        EXECUTE format('CREATE POLICY gateway_all ON %I TO switchboard_gateway USING (true) WITH CHECK (true)',
                       t.relname);
        EXECUTE format(
            'CREATE POLICY member_read ON %I FOR SELECT TO switchboard_support, switchboard_finance, '
            'switchboard_operator, switchboard_admin '
            'USING (merchant_id IN (SELECT sb_merchants(current_user::text, NULL)))', t.relname);
    END LOOP;
END $$;

ALTER TABLE merchants ENABLE ROW LEVEL SECURITY;
CREATE POLICY gateway_all ON merchants TO switchboard_gateway USING (true) WITH CHECK (true);
CREATE POLICY member_read ON merchants FOR SELECT TO switchboard_support, switchboard_finance,
    switchboard_operator, switchboard_admin
    USING (id IN (SELECT sb_merchants(current_user::text, NULL)));

-- Writes, per merchant and role.
CREATE POLICY operator_update ON connectors FOR UPDATE TO switchboard_operator, switchboard_admin
    USING (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['operator', 'admin'])))
    WITH CHECK (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['operator', 'admin'])));
CREATE POLICY admin_insert ON connectors FOR INSERT TO switchboard_admin
    WITH CHECK (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));
CREATE POLICY admin_delete ON connectors FOR DELETE TO switchboard_admin
    USING (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));

CREATE POLICY operator_insert ON policies FOR INSERT TO switchboard_operator, switchboard_admin
    WITH CHECK (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['operator', 'admin'])));
CREATE POLICY operator_update ON policies FOR UPDATE TO switchboard_operator, switchboard_admin
    USING (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['operator', 'admin'])))
    WITH CHECK (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['operator', 'admin'])));

-- Credentials and data keys: only an admin of the merchant (member_read above grants SELECT
-- only to roles that also hold the table privilege, i.e. admin).
CREATE POLICY admin_write ON connector_credentials FOR ALL TO switchboard_admin
    USING (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])))
    WITH CHECK (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));
DROP POLICY member_read ON connector_credentials;
CREATE POLICY admin_read ON connector_credentials FOR SELECT TO switchboard_admin
    USING (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));
DROP POLICY member_read ON merchant_data_keys;
CREATE POLICY admin_read ON merchant_data_keys FOR SELECT TO switchboard_admin
    USING (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));
CREATE POLICY admin_insert ON merchant_data_keys FOR INSERT TO switchboard_admin
    WITH CHECK (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));

-- Memberships: everyone sees their own; an admin of a merchant sees and manages its members.
DROP POLICY member_read ON memberships;
CREATE POLICY own_or_admin_read ON memberships FOR SELECT TO switchboard_support, switchboard_finance,
    switchboard_operator, switchboard_admin
    USING (db_role = current_user::text
           OR merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));
CREATE POLICY admin_write ON memberships FOR ALL TO switchboard_admin
    USING (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])))
    WITH CHECK (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));
DO $$
BEGIN
    IF to_regclass('merchant_webhook_endpoints') IS NOT NULL THEN
        DROP POLICY member_read ON merchant_webhook_endpoints;
        CREATE POLICY admin_all ON merchant_webhook_endpoints FOR ALL TO switchboard_admin
            USING (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])))
            WITH CHECK (merchant_id IN (SELECT sb_merchants(current_user::text, ARRAY['admin'])));
    END IF;
END $$;
