-- The instant a running clock becomes "near breach" (the configured share of its target's business time
-- has elapsed), computed in Rust with the business calendar wherever `due_at` is set or moved, so the
-- case list's `sla=due_soon` filter and the badge compare `now` against the same stored instants.
-- Existing open clocks are filled by `casebook serve` / `casebook migrate` at start
-- (`workflow::service::fill_near_breach`); until then NULL means "not near breach" in both places.
ALTER TABLE sla_clocks ADD COLUMN near_breach_at TIMESTAMP;
