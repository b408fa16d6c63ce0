-- The case summaries page lists closed cases newest closure first and pages by (closed_at, id)
-- (src/reports/summaries): this index answers that order and the date filter without a sort.
CREATE INDEX cases_closed ON cases(closed_at, id);
-- Its customer filter (and the case list's) matches part of lower(customer_email) or lower(customer_name):
-- trigram indexes answer those patterns (a domain is a suffix) instead of a scan that lower() makes slow here.
-- pg_trgm exists since 2026-12-05-000020_full_text_search.
CREATE INDEX cases_customer_email_trgm ON cases USING gin (lower(customer_email) gin_trgm_ops);
CREATE INDEX cases_customer_name_trgm ON cases USING gin (lower(customer_name) gin_trgm_ops);
