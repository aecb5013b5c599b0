-- Expiry notices given (apitoken.NoticeClaimer): one row per token, expiry
-- and kind, whose primary key lets exactly one instance claim each.
CREATE TABLE IF NOT EXISTS {{prefix}}notices (
    token_id   TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    PRIMARY KEY (token_id, expires_at, kind)
);
