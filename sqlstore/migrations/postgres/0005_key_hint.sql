-- Token.KeyHint: the key's prefix and last 4 characters, never more of it,
-- so that people can tell which key a token holds. Tokens made before this
-- version have none (''). It changes only with key_hash (SetKey), which the
-- change triggers of 0002 already compare, so they need no new column.
ALTER TABLE {{prefix}}tokens ADD COLUMN key_hint text NOT NULL DEFAULT '';
