-- Shared rate counts (apitoken.RateCounter): the requests taken of each
-- token's window, which TakeRate adds to in one statement, and what its
-- last take granted. Counts are not token changes and are not logged; rows
-- of ended windows are deleted now and then by TakeRate.
CREATE TABLE IF NOT EXISTS {{prefix}}rates (
    token_id     VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    window_start DATETIME(3) NOT NULL,
    window_end   DATETIME(3) NOT NULL,
    used         INT NOT NULL,
    granted      INT NOT NULL,
    PRIMARY KEY (token_id, window_start),
    INDEX {{prefix}}rates_window_end (window_end)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
