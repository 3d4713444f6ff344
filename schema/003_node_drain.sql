-- Hourglass schema, migration 003: an operator's drain outlives the master
-- that received it. `hourglass node drain` sets drained = 1 and `node
-- activate` clears it; a master that starts leading reads the drained
-- nodes, so a drained worker that re-joins after a leader change or a
-- master restart stays draining instead of taking jobs again.

ALTER TABLE nodes ADD COLUMN drained TINYINT(1) NOT NULL DEFAULT 0
;
