-- Token.PreviousSaltID: the salt id of the previous key (prev_key_hash), so
-- that the salt it needs is counted until prev_valid_until: a previous key
-- never moves to the current salt. SetKey copies salt_id into it in the
-- UPDATE that copies key_hash into prev_key_hash, and clears it with them;
-- Update and MoveKey leave it. NULL reads as "": no previous key, or one
-- kept before this version, whose salt cannot be told. It changes only with
-- prev_key_hash, which the change triggers of 0002 already compare, so they
-- need no new column.
ALTER TABLE {{prefix}}tokens ADD COLUMN prev_salt_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL;
