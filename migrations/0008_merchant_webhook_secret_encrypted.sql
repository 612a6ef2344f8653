-- Merchant webhook signing secrets encrypted like connector credentials (issue 6 §4, DESIGN §8).
--
-- Each endpoint gets a stable id (bound into the AAD with the merchant id and the field name
-- `merchant_webhook_secret`, so a ciphertext copied to another row or merchant fails to open),
-- the data key version, its own random 96-bit nonce, the AES-256-GCM ciphertext (sealed with the
-- merchant's data key, migration 0006) and at most the last 4 characters for display.
-- Data keys are per merchant, so a master key rotation (re-wrapping data keys) covers these rows.
ALTER TABLE merchant_webhook_endpoints
    ADD COLUMN id          uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    ADD COLUMN key_version integer,
    ADD COLUMN nonce       bytea CHECK (length(nonce) = 12),
    ADD COLUMN ciphertext  bytea,
    ADD COLUMN last4       text NOT NULL DEFAULT '',
    ALTER COLUMN secret DROP NOT NULL;

-- Every new or changed row must be encrypted (the plaintext column stays NULL). NOT VALID: rows
-- written before this migration keep their plaintext until a gateway's delivery worker starts
-- (it encrypts them first: store::outbox::encrypt_legacy_endpoints) or `switchboard-vault rotate`
-- runs.
ALTER TABLE merchant_webhook_endpoints ADD CONSTRAINT merchant_webhook_endpoints_encrypted
    CHECK (secret IS NULL AND ciphertext IS NOT NULL AND nonce IS NOT NULL AND key_version IS NOT NULL) NOT VALID;

-- Privileges as in 0007 (table-level, so they cover the new columns): admin and gateway only;
-- restated so the intent is explicit for these columns.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_support') THEN
        REVOKE ALL ON merchant_webhook_endpoints FROM switchboard_support, switchboard_finance,
            switchboard_operator;
        GRANT SELECT, INSERT, UPDATE, DELETE ON merchant_webhook_endpoints TO switchboard_admin,
            switchboard_gateway;
    END IF;
END $$;
