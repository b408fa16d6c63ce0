DROP TABLE escalations;
DROP TABLE case_summaries;
DROP TABLE sla_clocks;
