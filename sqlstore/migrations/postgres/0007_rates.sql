-- Shared rate counts (apitoken.RateCounter): the requests taken of each
-- token's window, which TakeRate adds to in one statement, and what its
-- last take granted, for RETURNING. Counts are not token changes and are
-- not logged; rows of ended windows are deleted now and then by TakeRate.
CREATE TABLE IF NOT EXISTS {{prefix}}rates (
    token_id     varchar(128)   NOT NULL,
    window_start timestamptz(3) NOT NULL,
    window_end   timestamptz(3) NOT NULL,
    used         integer        NOT NULL,
    granted      integer        NOT NULL,
    PRIMARY KEY (token_id, window_start)
);
CREATE INDEX IF NOT EXISTS {{prefix}}rates_window_end ON {{prefix}}rates (window_end);
