-- Token.Kind and Token.Owner: admin tokens share the table with content-API
-- tokens, as in Strapi, whose column kind is also 'content-api' or 'admin'.
-- Tokens made before this version become content-API tokens. A CHECK keeps
-- out any other kind, which a reader could take for a content-API token:
-- whoever writes the row, the store fails closed. owner is the id of the
-- administrator an admin token acts for, NULL for content-API tokens.
-- Both are written by Create alone (Update, SetKey and MoveKey leave them),
-- so a token's insert, which the triggers of 0002 log, is the only change
-- of them: the triggers need no new column.
-- SQLite does not bound TEXT: the store checks owner's 255 bytes.
ALTER TABLE {{prefix}}tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'content-api'
    CONSTRAINT {{prefix}}tokens_kind_ck CHECK (kind IN ('content-api', 'admin'));
ALTER TABLE {{prefix}}tokens ADD COLUMN owner TEXT NULL;
