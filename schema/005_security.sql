-- Hourglass schema, migration 005: trust and security (DESIGN.md section 11).
--
-- api_tokens: the REST API's bearer tokens. A token is 32 random bytes
-- shown once at creation; only its BLAKE2b-256 hash (libsodium's
-- crypto_generichash) is kept, so a copy of this table grants nothing. A
-- fast hash suffices because the token carries 256 bits of entropy: there
-- is nothing to guess. Revocation sets revoked_at; every master checks the
-- row on each request, so it takes effect at once everywhere.
--
-- audit: one row per write through the API (who, with which role, what,
-- on which object, from where, and the HTTP status it got).
--
-- worker_keys: the CURVE public keys the masters admit, each bound to one
-- node name (a key registered for worker-1 can be no other node). A node
-- may have several keys at once, so a worker key can be rotated without
-- downtime: add the new key, restart the worker with it, delete the old.
-- Public certificates in the master's keys.workers directory are admitted
-- the same way, from their "node" metadata.

CREATE TABLE IF NOT EXISTS api_tokens (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name          VARCHAR(128) NOT NULL,                  -- unique label, shown in the audit log
    role          ENUM('viewer','operator','editor','admin') NOT NULL,
    namespace     VARCHAR(128) NULL,                      -- scope; NULL = every namespace
    token_hash    BINARY(32)   NOT NULL,                  -- crypto_generichash of the token
    created_at    DATETIME(3)  NOT NULL,
    created_by    VARCHAR(128) NOT NULL,                  -- token name, or "bootstrap"/"cli"
    expires_at    DATETIME(3)  NULL,
    revoked_at    DATETIME(3)  NULL,
    last_used_at  DATETIME(3)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_api_tokens_hash (token_hash),
    UNIQUE KEY uq_api_tokens_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS audit (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    at            DATETIME(3)  NOT NULL,
    token_name    VARCHAR(128) NOT NULL,
    role          VARCHAR(16)  NOT NULL,
    action        VARCHAR(64)  NOT NULL,                  -- e.g. job.create, token.revoke
    object        VARCHAR(512) NOT NULL,                  -- e.g. default/ping, worker-1
    address       VARCHAR(64)  NOT NULL,                  -- client address
    status        SMALLINT UNSIGNED NOT NULL,             -- HTTP status answered
    PRIMARY KEY (id),
    KEY ix_audit_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS worker_keys (
    public_key    CHAR(40)     NOT NULL,                  -- Z85 CURVE public key
    node          VARCHAR(191) NOT NULL,                  -- the only node this key may be
    created_at    DATETIME(3)  NOT NULL,
    created_by    VARCHAR(128) NOT NULL,
    comment       VARCHAR(255) NOT NULL DEFAULT '',
    PRIMARY KEY (public_key),
    KEY ix_worker_keys_node (node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
