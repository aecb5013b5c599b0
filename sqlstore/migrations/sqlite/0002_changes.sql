-- The change log that WatchChanges reads: one row per change to a token,
-- written by triggers, so that every writer (another instance, the CLI, a
-- script) is reported. AUTOINCREMENT, so that a seq is never reused even
-- when the newest rows are deleted. changed_at is milliseconds since the
-- Unix epoch, UTC, as elsewhere; julianday rather than unixepoch so that
-- older sqlite3 shells can still write the tables. A NULL token_id marks
-- where pruning cut the log.
CREATE TABLE IF NOT EXISTS {{prefix}}changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id   TEXT    NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS {{prefix}}changes_changed_at_ix ON {{prefix}}changes (changed_at);
-- +StatementBegin
CREATE TRIGGER IF NOT EXISTS {{prefix}}tokens_insert_change AFTER INSERT ON {{prefix}}tokens
BEGIN
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    VALUES (NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
-- +StatementEnd
-- Updates of last_used_at alone (Touch) are not changes: they would flood
-- the log. A migration that adds a column to the tokens table must add it
-- here too.
-- +StatementBegin
CREATE TRIGGER IF NOT EXISTS {{prefix}}tokens_update_change AFTER UPDATE ON {{prefix}}tokens
WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
    OR OLD.type IS NOT NEW.type OR OLD.key_hash IS NOT NEW.key_hash OR OLD.prev_key_hash IS NOT NEW.prev_key_hash
    OR OLD.prev_valid_until IS NOT NEW.prev_valid_until OR OLD.encrypted_key IS NOT NEW.encrypted_key
    OR OLD.salt_id IS NOT NEW.salt_id OR OLD.lifespan_ms IS NOT NEW.lifespan_ms OR OLD.expires_at IS NOT NEW.expires_at
    OR OLD.created_at IS NOT NEW.created_at OR OLD.updated_at IS NOT NEW.updated_at
BEGIN
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    SELECT NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    UNION ALL SELECT OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) WHERE OLD.id IS NOT NEW.id;
END;
-- +StatementEnd
-- +StatementBegin
CREATE TRIGGER IF NOT EXISTS {{prefix}}tokens_delete_change AFTER DELETE ON {{prefix}}tokens
BEGIN
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    VALUES (OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
-- +StatementEnd
-- A custom token's permissions are part of it.
-- +StatementBegin
CREATE TRIGGER IF NOT EXISTS {{prefix}}permissions_insert_change AFTER INSERT ON {{prefix}}permissions
BEGIN
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    VALUES (NEW.token_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
-- +StatementEnd
-- +StatementBegin
CREATE TRIGGER IF NOT EXISTS {{prefix}}permissions_update_change AFTER UPDATE ON {{prefix}}permissions
BEGIN
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    SELECT NEW.token_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    UNION ALL SELECT OLD.token_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE OLD.token_id IS NOT NEW.token_id;
END;
-- +StatementEnd
-- +StatementBegin
CREATE TRIGGER IF NOT EXISTS {{prefix}}permissions_delete_change AFTER DELETE ON {{prefix}}permissions
BEGIN
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    VALUES (OLD.token_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
-- +StatementEnd
