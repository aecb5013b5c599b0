-- The change log that WatchChanges reads: one row per change to a token,
-- written by triggers, so that every writer (another instance, the CLI, a
-- script) is reported. Each change also notifies the channel
-- <prefix>changes, which PostgreSQL delivers at commit (once per
-- transaction: identical notifications are folded), so that a listener
-- (sqlstore/pgnotify) can poll at once. A NULL token_id marks where pruning
-- cut the log.
CREATE TABLE IF NOT EXISTS {{prefix}}changes (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_id   varchar(36)    NULL,
    changed_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS {{prefix}}changes_changed_at_ix ON {{prefix}}changes (changed_at);
-- +StatementBegin
CREATE OR REPLACE FUNCTION {{prefix}}tokens_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO {{prefix}}changes (token_id) VALUES (NEW.id);
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.id IS DISTINCT FROM NEW.id) THEN
        INSERT INTO {{prefix}}changes (token_id) VALUES (OLD.id);
    END IF;
    PERFORM pg_notify('{{prefix}}changes', '');
    RETURN NULL;
END
$$;
-- +StatementEnd
-- +StatementBegin
CREATE OR REPLACE FUNCTION {{prefix}}permissions_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO {{prefix}}changes (token_id) VALUES (NEW.token_id);
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.token_id IS DISTINCT FROM NEW.token_id) THEN
        INSERT INTO {{prefix}}changes (token_id) VALUES (OLD.token_id);
    END IF;
    PERFORM pg_notify('{{prefix}}changes', '');
    RETURN NULL;
END
$$;
-- +StatementEnd
-- The functions run as their owner (SECURITY DEFINER, as MySQL's triggers
-- run as their definer), so that a role allowed to write the tokens needs
-- no grant on the log. Their search_path is pinned to the schema the tables
-- were just created in, with pg_temp last, so that no caller's table or
-- function stands in for the log's.
-- +StatementBegin
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION {{prefix}}tokens_changed() SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION {{prefix}}permissions_changed() SET search_path = %I, pg_temp', current_schema());
END
$$;
-- +StatementEnd
DROP TRIGGER IF EXISTS {{prefix}}tokens_change ON {{prefix}}tokens;
CREATE TRIGGER {{prefix}}tokens_change AFTER INSERT OR DELETE ON {{prefix}}tokens
    FOR EACH ROW EXECUTE FUNCTION {{prefix}}tokens_changed();
-- Updates of last_used_at alone (Touch) are not changes: they would flood
-- the log. A migration that adds a column to the tokens table must add it
-- here too.
DROP TRIGGER IF EXISTS {{prefix}}tokens_update_change ON {{prefix}}tokens;
CREATE TRIGGER {{prefix}}tokens_update_change AFTER UPDATE ON {{prefix}}tokens
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.name IS DISTINCT FROM NEW.name
        OR OLD.description IS DISTINCT FROM NEW.description OR OLD.type IS DISTINCT FROM NEW.type
        OR OLD.key_hash IS DISTINCT FROM NEW.key_hash OR OLD.prev_key_hash IS DISTINCT FROM NEW.prev_key_hash
        OR OLD.prev_valid_until IS DISTINCT FROM NEW.prev_valid_until
        OR OLD.encrypted_key IS DISTINCT FROM NEW.encrypted_key OR OLD.salt_id IS DISTINCT FROM NEW.salt_id
        OR OLD.lifespan_ms IS DISTINCT FROM NEW.lifespan_ms OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
        OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.updated_at IS DISTINCT FROM NEW.updated_at)
    EXECUTE FUNCTION {{prefix}}tokens_changed();
-- A custom token's permissions are part of it.
DROP TRIGGER IF EXISTS {{prefix}}permissions_change ON {{prefix}}permissions;
CREATE TRIGGER {{prefix}}permissions_change AFTER INSERT OR UPDATE OR DELETE ON {{prefix}}permissions
    FOR EACH ROW EXECUTE FUNCTION {{prefix}}permissions_changed();
