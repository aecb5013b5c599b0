-- Tokens and their permissions. Names and actions use the "C" collation so
-- that they compare and sort bytewise, as on the other engines.
CREATE TABLE IF NOT EXISTS {{prefix}}tokens (
    id               varchar(36)    NOT NULL PRIMARY KEY,
    name             text COLLATE "C" NOT NULL,
    description      text           NOT NULL DEFAULT '',
    type             varchar(16)    NOT NULL,
    key_hash         char(128)      NOT NULL,
    prev_key_hash    char(128)      NULL,
    prev_valid_until timestamptz(3) NULL,
    encrypted_key    text           NOT NULL DEFAULT '',
    salt_id          text           NOT NULL DEFAULT '',
    lifespan_ms      bigint         NULL,
    expires_at       timestamptz(3) NULL,
    last_used_at     timestamptz(3) NULL,
    created_at       timestamptz(3) NOT NULL,
    updated_at       timestamptz(3) NOT NULL,
    CONSTRAINT {{prefix}}tokens_name_uq UNIQUE (name),
    CONSTRAINT {{prefix}}tokens_key_hash_uq UNIQUE (key_hash),
    CONSTRAINT {{prefix}}tokens_prev_key_hash_uq UNIQUE (prev_key_hash)
);
CREATE TABLE IF NOT EXISTS {{prefix}}permissions (
    token_id varchar(36) NOT NULL,
    action   text COLLATE "C" NOT NULL,
    CONSTRAINT {{prefix}}permissions_pk PRIMARY KEY (token_id, action),
    CONSTRAINT {{prefix}}permissions_token_fk FOREIGN KEY (token_id)
        REFERENCES {{prefix}}tokens (id) ON DELETE CASCADE
);
