-- The case summaries page lists closed cases newest closure first and pages by (closed_at, id)
-- (src/reports/summaries): this index answers that order and the date filter without a sort.
CREATE INDEX cases_closed ON cases(closed_at, id);
