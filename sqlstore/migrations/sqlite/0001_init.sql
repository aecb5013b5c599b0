-- Tokens and their permissions. Times are INTEGER milliseconds since the Unix
-- epoch, UTC: exact, compact, and compared as numbers.
CREATE TABLE IF NOT EXISTS {{prefix}}tokens (
    id               TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    type             TEXT    NOT NULL,
    key_hash         TEXT    NOT NULL,
    prev_key_hash    TEXT    NULL,
    prev_valid_until INTEGER NULL,
    encrypted_key    TEXT    NOT NULL DEFAULT '',
    salt_id          TEXT    NOT NULL DEFAULT '',
    lifespan_ms      INTEGER NULL,
    expires_at       INTEGER NULL,
    last_used_at     INTEGER NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CONSTRAINT {{prefix}}tokens_name_uq UNIQUE (name)
);
CREATE UNIQUE INDEX IF NOT EXISTS {{prefix}}tokens_key_hash_uq ON {{prefix}}tokens (key_hash);
CREATE UNIQUE INDEX IF NOT EXISTS {{prefix}}tokens_prev_key_hash_uq ON {{prefix}}tokens (prev_key_hash);
CREATE TABLE IF NOT EXISTS {{prefix}}permissions (
    token_id TEXT NOT NULL REFERENCES {{prefix}}tokens (id) ON DELETE CASCADE,
    action   TEXT NOT NULL,
    PRIMARY KEY (token_id, action)
) WITHOUT ROWID;
