-- Vault (issue 6): connector secrets are stored encrypted (AES-256-GCM envelope encryption,
-- crates/vault). The master key never reaches the database: only a per-version check value
-- (HMAC of the key) is kept, so a wrong key is reported as such.

-- Master key versions this database has seen. retired_at is set when a rotation has
-- re-wrapped every data key with a newer version (the old key may then be removed).
CREATE TABLE vault_master_keys (
    version     integer PRIMARY KEY CHECK (version >= 1),
    check_value text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- One data key per merchant (and data key version), wrapped by a master key version.
-- AAD of the wrap = merchant id + data key version + master version (crates/vault).
CREATE TABLE merchant_data_keys (
    merchant_id    uuid NOT NULL REFERENCES merchants(id),
    version        integer NOT NULL CHECK (version >= 1),
    master_version integer NOT NULL REFERENCES vault_master_keys(version),
    nonce          bytea NOT NULL CHECK (length(nonce) = 12),
    wrapped        bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    rewrapped_at   timestamptz,
    PRIMARY KEY (merchant_id, version)
);
CREATE INDEX merchant_data_keys_by_master ON merchant_data_keys (master_version);

-- Rotation runs (progress itself is per row: merchant_data_keys.master_version).
CREATE TABLE vault_rotations (
    id          bigserial PRIMARY KEY,
    to_version  integer NOT NULL REFERENCES vault_master_keys(version),
    actor       text NOT NULL DEFAULT session_user,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    rewrapped   integer NOT NULL DEFAULT 0
);

-- Ciphertext columns. Each row keeps the data key version and its own random 96-bit nonce;
-- the AAD binds merchant, connector and field, so a ciphertext copied to another row fails.
-- last4 = at most the last 4 characters, for display ('' for short secrets).
ALTER TABLE connector_credentials
    ADD COLUMN key_version integer,
    ADD COLUMN nonce       bytea CHECK (length(nonce) = 12),
    ADD COLUMN ciphertext  bytea,
    ADD COLUMN last4       text NOT NULL DEFAULT '',
    ALTER COLUMN secret DROP NOT NULL;
-- Every new or changed row must be encrypted. NOT VALID: rows written before this migration
-- keep their plaintext until `switchboard-vault rotate` encrypts them (it reports how many).
ALTER TABLE connector_credentials ADD CONSTRAINT connector_credentials_encrypted
    CHECK (secret IS NULL AND ciphertext IS NOT NULL AND nonce IS NOT NULL AND key_version IS NOT NULL) NOT VALID;
