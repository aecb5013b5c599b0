-- Token policies (apitoken.Policy): disabled, allowed networks and rate
-- limit as JSON in policy (NULL: none), and the usage quota in columns of
-- its own, which SpendQuota updates in one statement. Spending a use, like
-- a use's last_used_at, is not a change of the token and is not logged; a
-- change of the policy or of the quota's limit is.
ALTER TABLE {{prefix}}tokens ADD COLUMN IF NOT EXISTS policy text NULL;
ALTER TABLE {{prefix}}tokens ADD COLUMN IF NOT EXISTS quota_limit bigint NULL;
ALTER TABLE {{prefix}}tokens ADD COLUMN IF NOT EXISTS quota_remaining bigint NULL;
ALTER TABLE {{prefix}}tokens ADD COLUMN IF NOT EXISTS quota_refilled_at timestamptz(3) NULL;
DROP TRIGGER IF EXISTS {{prefix}}tokens_update_change ON {{prefix}}tokens;
CREATE TRIGGER {{prefix}}tokens_update_change AFTER UPDATE ON {{prefix}}tokens
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.name IS DISTINCT FROM NEW.name
        OR OLD.description IS DISTINCT FROM NEW.description OR OLD.type IS DISTINCT FROM NEW.type
        OR OLD.key_hash IS DISTINCT FROM NEW.key_hash OR OLD.prev_key_hash IS DISTINCT FROM NEW.prev_key_hash
        OR OLD.prev_valid_until IS DISTINCT FROM NEW.prev_valid_until
        OR OLD.encrypted_key IS DISTINCT FROM NEW.encrypted_key OR OLD.salt_id IS DISTINCT FROM NEW.salt_id
        OR OLD.lifespan_ms IS DISTINCT FROM NEW.lifespan_ms OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
        OR OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.updated_at IS DISTINCT FROM NEW.updated_at
        OR OLD.policy IS DISTINCT FROM NEW.policy OR OLD.quota_limit IS DISTINCT FROM NEW.quota_limit)
    EXECUTE FUNCTION {{prefix}}tokens_changed();
