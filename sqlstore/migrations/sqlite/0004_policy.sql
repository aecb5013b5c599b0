-- Token policies (apitoken.Policy): disabled, allowed networks and rate
-- limit as JSON in policy (NULL: none), and the usage quota in columns of
-- its own, which SpendQuota updates in one statement. Spending a use, like
-- a use's last_used_at, is not a change of the token and is not logged; a
-- change of the policy or of the quota's limit is.
ALTER TABLE {{prefix}}tokens ADD COLUMN policy TEXT NULL;
ALTER TABLE {{prefix}}tokens ADD COLUMN quota_limit INTEGER NULL;
ALTER TABLE {{prefix}}tokens ADD COLUMN quota_remaining INTEGER NULL;
ALTER TABLE {{prefix}}tokens ADD COLUMN quota_refilled_at INTEGER NULL;
DROP TRIGGER IF EXISTS {{prefix}}tokens_update_change;
-- +StatementBegin
CREATE TRIGGER {{prefix}}tokens_update_change AFTER UPDATE ON {{prefix}}tokens
WHEN OLD.id IS NOT NEW.id OR OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
    OR OLD.type IS NOT NEW.type OR OLD.key_hash IS NOT NEW.key_hash OR OLD.prev_key_hash IS NOT NEW.prev_key_hash
    OR OLD.prev_valid_until IS NOT NEW.prev_valid_until OR OLD.encrypted_key IS NOT NEW.encrypted_key
    OR OLD.salt_id IS NOT NEW.salt_id OR OLD.lifespan_ms IS NOT NEW.lifespan_ms OR OLD.expires_at IS NOT NEW.expires_at
    OR OLD.created_at IS NOT NEW.created_at OR OLD.updated_at IS NOT NEW.updated_at
    OR OLD.policy IS NOT NEW.policy OR OLD.quota_limit IS NOT NEW.quota_limit
BEGIN
    INSERT INTO {{prefix}}changes (token_id, changed_at)
    SELECT NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    UNION ALL SELECT OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) WHERE OLD.id IS NOT NEW.id;
END;
-- +StatementEnd
