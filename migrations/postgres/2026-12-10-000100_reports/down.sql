DROP INDEX messages_inbound_received;
DROP INDEX case_events_transition_from;
DROP INDEX case_events_transition_to;
DROP INDEX sla_clocks_metric_due;
DROP INDEX sla_clocks_metric_met;
DROP INDEX cases_created;
ALTER TABLE sla_clocks DROP COLUMN elapsed_seconds;
