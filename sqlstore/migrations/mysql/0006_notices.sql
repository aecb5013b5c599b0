-- Expiry notices given (apitoken.NoticeClaimer): one row per token, expiry
-- and kind, whose primary key lets exactly one instance claim each.
CREATE TABLE IF NOT EXISTS {{prefix}}notices (
    token_id   VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    expires_at DATETIME(3) NOT NULL,
    kind       VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (token_id, expires_at, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
