-- Every ingest decision, one row per raw message: what happened and why. Ignored and duplicate
-- mail is therefore still accounted for, and the daily cap on automatic mail counts from here.
CREATE TABLE ingest_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    raw_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    message_id TEXT,
    from_email TEXT,
    case_id BIGINT REFERENCES cases(id) ON DELETE SET NULL,
    auto BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ingest_log_sender ON ingest_log(from_email, created_at);
CREATE INDEX ingest_log_created ON ingest_log(created_at);
