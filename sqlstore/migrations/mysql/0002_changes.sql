-- The change log that WatchChanges reads: one row per change to a token,
-- written by triggers, so that every writer (another instance, the CLI, a
-- script) is reported. changed_at is UTC, as elsewhere. A NULL token_id
-- marks where pruning cut the log.
-- Each trigger's body is one statement, so no DELIMITER is needed, and each
-- trigger is dropped before it is created, so that a migration cut short can
-- be run again (MySQL 8 before 8.0.29 has no CREATE TRIGGER IF NOT EXISTS).
-- With binary logging on, creating triggers needs SUPER (MySQL), or
-- log_bin_trust_function_creators=1: see the README.
CREATE TABLE IF NOT EXISTS {{prefix}}changes (
    seq        BIGINT      NOT NULL AUTO_INCREMENT,
    token_id   VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
    changed_at DATETIME(3) NOT NULL,
    PRIMARY KEY (seq),
    KEY {{prefix}}changes_changed_at_ix (changed_at)
) ENGINE=InnoDB;
DROP TRIGGER IF EXISTS {{prefix}}tokens_insert_change;
CREATE TRIGGER {{prefix}}tokens_insert_change AFTER INSERT ON {{prefix}}tokens FOR EACH ROW
    INSERT INTO {{prefix}}changes (token_id, changed_at) VALUES (NEW.id, UTC_TIMESTAMP(3));
-- Updates of last_used_at alone (Touch) are not changes: they would flood
-- the log. Text is compared as bytes, since the PAD SPACE collations would
-- call "a" and "a " equal. A migration that adds a column to the tokens
-- table must add it here too.
DROP TRIGGER IF EXISTS {{prefix}}tokens_update_change;
CREATE TRIGGER {{prefix}}tokens_update_change AFTER UPDATE ON {{prefix}}tokens FOR EACH ROW
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    SELECT NEW.id, UTC_TIMESTAMP(3) FROM DUAL
    WHERE NOT (CAST(OLD.id AS BINARY) <=> CAST(NEW.id AS BINARY) AND CAST(OLD.name AS BINARY) <=> CAST(NEW.name AS BINARY)
        AND CAST(OLD.description AS BINARY) <=> CAST(NEW.description AS BINARY)
        AND CAST(OLD.type AS BINARY) <=> CAST(NEW.type AS BINARY) AND OLD.key_hash <=> NEW.key_hash
        AND OLD.prev_key_hash <=> NEW.prev_key_hash AND OLD.prev_valid_until <=> NEW.prev_valid_until
        AND OLD.encrypted_key <=> NEW.encrypted_key AND OLD.salt_id <=> NEW.salt_id
        AND OLD.lifespan_ms <=> NEW.lifespan_ms AND OLD.expires_at <=> NEW.expires_at
        AND OLD.created_at <=> NEW.created_at AND OLD.updated_at <=> NEW.updated_at)
    UNION ALL SELECT OLD.id, UTC_TIMESTAMP(3) FROM DUAL WHERE NOT (CAST(OLD.id AS BINARY) <=> CAST(NEW.id AS BINARY));
DROP TRIGGER IF EXISTS {{prefix}}tokens_delete_change;
CREATE TRIGGER {{prefix}}tokens_delete_change AFTER DELETE ON {{prefix}}tokens FOR EACH ROW
    INSERT INTO {{prefix}}changes (token_id, changed_at) VALUES (OLD.id, UTC_TIMESTAMP(3));
-- A custom token's permissions are part of it. MySQL fires no trigger for a
-- foreign key's cascade, but a token's deletion is reported by its own.
DROP TRIGGER IF EXISTS {{prefix}}permissions_insert_change;
CREATE TRIGGER {{prefix}}permissions_insert_change AFTER INSERT ON {{prefix}}permissions FOR EACH ROW
    INSERT INTO {{prefix}}changes (token_id, changed_at) VALUES (NEW.token_id, UTC_TIMESTAMP(3));
DROP TRIGGER IF EXISTS {{prefix}}permissions_update_change;
CREATE TRIGGER {{prefix}}permissions_update_change AFTER UPDATE ON {{prefix}}permissions FOR EACH ROW
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    SELECT NEW.token_id, UTC_TIMESTAMP(3) FROM DUAL
    UNION ALL SELECT OLD.token_id, UTC_TIMESTAMP(3) FROM DUAL
    WHERE NOT (CAST(OLD.token_id AS BINARY) <=> CAST(NEW.token_id AS BINARY));
DROP TRIGGER IF EXISTS {{prefix}}permissions_delete_change;
CREATE TRIGGER {{prefix}}permissions_delete_change AFTER DELETE ON {{prefix}}permissions FOR EACH ROW
    INSERT INTO {{prefix}}changes (token_id, changed_at) VALUES (OLD.token_id, UTC_TIMESTAMP(3));
