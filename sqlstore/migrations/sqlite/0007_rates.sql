-- Shared rate counts (apitoken.RateCounter): the requests taken of each
-- token's window, which TakeRate adds to in one statement, and what its
-- last take granted, for RETURNING. Counts are not token changes and are
-- not logged; rows of ended windows are deleted now and then by TakeRate.
CREATE TABLE IF NOT EXISTS {{prefix}}rates (
    token_id     TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    used         INTEGER NOT NULL,
    granted      INTEGER NOT NULL,
    PRIMARY KEY (token_id, window_start)
);
CREATE INDEX IF NOT EXISTS {{prefix}}rates_window_end ON {{prefix}}rates (window_end);
