DROP TABLE ingest_log;
