-- The managers' dashboard (`reports::dashboard`) aggregates in SQL over stored numbers and instants.

-- Business time each SLA clock ran from its start until it was met, pauses excluded (whole seconds),
-- stored when the clock is met: the calendar is applied in Rust when the value is stored, as for
-- `due_at`, so medians and 90th percentiles are plain SQL. Clocks met before this migration are filled
-- when `casebook serve` or `casebook migrate` starts (`workflow::service::fill_elapsed`).
ALTER TABLE sla_clocks ADD COLUMN elapsed_seconds BIGINT;

-- Period queries: cases opened in a range, clocks met or due in a range, state changes in a range
-- (the transition events only: partial indexes, so the many other events cost nothing more), customer
-- mail received in a range (the chaser count).
CREATE INDEX cases_created ON cases(created_at);
CREATE INDEX sla_clocks_metric_met ON sla_clocks(metric, met_at);
CREATE INDEX sla_clocks_metric_due ON sla_clocks(metric, due_at);
CREATE INDEX case_events_transition_to ON case_events(to_state, created_at) WHERE kind = 'transition';
CREATE INDEX case_events_transition_from ON case_events(from_state, created_at) WHERE kind = 'transition';
CREATE INDEX messages_inbound_received ON messages(received_at) WHERE direction = 'inbound';
