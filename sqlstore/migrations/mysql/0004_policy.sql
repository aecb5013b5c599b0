-- Token policies (apitoken.Policy): disabled, allowed networks and rate
-- limit as JSON in policy (NULL: none), and the usage quota in columns of
-- its own, which SpendQuota updates in one statement. Spending a use, like
-- a use's last_used_at, is not a change of the token and is not logged; a
-- change of the policy or of the quota's limit is. One ALTER, which MySQL
-- applies atomically (MySQL 8 has no ADD COLUMN IF NOT EXISTS).
ALTER TABLE {{prefix}}tokens
    ADD COLUMN policy TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    ADD COLUMN quota_limit BIGINT NULL,
    ADD COLUMN quota_remaining BIGINT NULL,
    ADD COLUMN quota_refilled_at DATETIME(3) NULL;
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
        AND OLD.created_at <=> NEW.created_at AND OLD.updated_at <=> NEW.updated_at
        AND CAST(OLD.policy AS BINARY) <=> CAST(NEW.policy AS BINARY) AND OLD.quota_limit <=> NEW.quota_limit)
    UNION ALL SELECT OLD.id, UTC_TIMESTAMP(3) FROM DUAL WHERE NOT (CAST(OLD.id AS BINARY) <=> CAST(NEW.id AS BINARY));
