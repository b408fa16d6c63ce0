ALTER TABLE sla_clocks DROP COLUMN near_breach_at;
