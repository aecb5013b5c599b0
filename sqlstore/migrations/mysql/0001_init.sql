-- Tokens and their permissions. Text that is compared uses binary collations,
-- so that names are case-sensitive and sort bytewise as on the other engines;
-- times are DATETIME(3) holding UTC, which no session time zone shifts.
-- Each statement is one DDL (MySQL commits DDL at once), and IF NOT EXISTS
-- lets a migration cut short be run again.
CREATE TABLE IF NOT EXISTS {{prefix}}tokens (
    id               VARCHAR(36)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name             VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    description      TEXT         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    type             VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_hash         CHAR(128)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    prev_key_hash    CHAR(128)    CHARACTER SET ascii COLLATE ascii_bin NULL,
    prev_valid_until DATETIME(3)  NULL,
    encrypted_key    TEXT         CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    salt_id          VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    lifespan_ms      BIGINT       NULL,
    expires_at       DATETIME(3)  NULL,
    last_used_at     DATETIME(3)  NULL,
    created_at       DATETIME(3)  NOT NULL,
    updated_at       DATETIME(3)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY {{prefix}}tokens_name_uq (name),
    UNIQUE KEY {{prefix}}tokens_key_hash_uq (key_hash),
    UNIQUE KEY {{prefix}}tokens_prev_key_hash_uq (prev_key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS {{prefix}}permissions (
    token_id VARCHAR(36)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    action   VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (token_id, action),
    CONSTRAINT {{prefix}}permissions_token_fk FOREIGN KEY (token_id)
        REFERENCES {{prefix}}tokens (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
