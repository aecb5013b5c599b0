-- Expiry notices given (apitoken.NoticeClaimer): one row per token, expiry
-- and kind, whose primary key lets exactly one instance claim each.
CREATE TABLE IF NOT EXISTS {{prefix}}notices (
    token_id   varchar(36)    NOT NULL,
    expires_at timestamptz(3) NOT NULL,
    kind       varchar(16)    NOT NULL,
    PRIMARY KEY (token_id, expires_at, kind)
);
