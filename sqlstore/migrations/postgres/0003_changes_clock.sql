-- A change's time is when it was written, not when its transaction began
-- (now()): a watch starts below the newest change old enough that no
-- transaction should still be writing beneath it, and a long transaction's
-- changes stamped with its start would look older than they are.
ALTER TABLE {{prefix}}changes ALTER COLUMN changed_at SET DEFAULT clock_timestamp();
