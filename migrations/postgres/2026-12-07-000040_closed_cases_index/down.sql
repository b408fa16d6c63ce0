DROP INDEX cases_closed;
