DROP INDEX cases_customer_name_trgm;
DROP INDEX cases_customer_email_trgm;
DROP INDEX cases_closed;
