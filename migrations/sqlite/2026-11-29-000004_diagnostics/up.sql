-- Customer upload links: only a keyed hash of the token is stored, the link is shown once.
CREATE TABLE upload_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    uses INTEGER NOT NULL DEFAULT 0,
    last_used_at TIMESTAMP
);
CREATE INDEX upload_links_case ON upload_links(case_id);

-- One analysed diagnostics input (file, zip) on a case. `analysis` is the serialized Snapshot; the
-- identity columns are normalised copies (lower case, placeholders left out) for linking cases.
CREATE TABLE diagnostic_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    attachment_id BIGINT REFERENCES attachments(id) ON DELETE SET NULL,
    upload_link_id BIGINT REFERENCES upload_links(id) ON DELETE SET NULL,
    source_name TEXT NOT NULL,
    blob_sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploaded_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    via TEXT NOT NULL,
    verdict TEXT NOT NULL,
    analysis TEXT NOT NULL,
    baseboard_serial TEXT,
    system_serial TEXT,
    system_uuid TEXT,
    bios_serial TEXT,
    fingerprint_key TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX diagnostic_snapshots_case ON diagnostic_snapshots(case_id, created_at);
CREATE INDEX diagnostic_snapshots_baseboard_serial ON diagnostic_snapshots(baseboard_serial);
CREATE INDEX diagnostic_snapshots_system_serial ON diagnostic_snapshots(system_serial);
CREATE INDEX diagnostic_snapshots_system_uuid ON diagnostic_snapshots(system_uuid);
CREATE INDEX diagnostic_snapshots_bios_serial ON diagnostic_snapshots(bios_serial);
CREATE INDEX diagnostic_snapshots_fingerprint_key ON diagnostic_snapshots(fingerprint_key);
