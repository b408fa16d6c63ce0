CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    locale TEXT,
    team TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One-time first-run links: only the hash is kept, the token itself is printed once.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

-- Server-side sessions; the cookie carries only the random id, so logout really ends a session.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Login throttling, per account and per client address, shared by all app instances.
CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);

CREATE TABLE cases (
    id BIGSERIAL PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    seq BIGINT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    state TEXT NOT NULL,
    priority TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    customer_name TEXT,
    assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    team TEXT,
    language TEXT NOT NULL,
    problem_definition TEXT,
    scope TEXT,
    resolution TEXT,
    duplicate_of_id BIGINT REFERENCES cases(id) ON DELETE SET NULL,
    merged_into_id BIGINT REFERENCES cases(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
CREATE INDEX cases_state ON cases(state);
CREATE INDEX cases_assignee ON cases(assignee_id);
CREATE INDEX cases_updated ON cases(updated_at);
CREATE INDEX cases_customer ON cases(customer_email);

CREATE TABLE participants (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT,
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, email)
);
CREATE INDEX participants_email ON participants(email);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    direction TEXT NOT NULL,
    message_id TEXT UNIQUE,
    in_reply_to TEXT,
    references_ids TEXT NOT NULL,
    from_email TEXT NOT NULL,
    from_name TEXT,
    to_addrs TEXT NOT NULL,
    cc_addrs TEXT NOT NULL,
    subject TEXT NOT NULL,
    sent_at TIMESTAMP,
    received_at TIMESTAMP NOT NULL,
    body_text TEXT NOT NULL,
    new_text TEXT NOT NULL,
    body_html TEXT,
    auto BOOLEAN NOT NULL DEFAULT FALSE,
    thread_method TEXT NOT NULL,
    raw_sha256 TEXT,
    content_hash TEXT NOT NULL,
    author_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_case ON messages(case_id, received_at);
CREATE INDEX messages_content_hash ON messages(content_hash);

CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content_id TEXT,
    inline BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);

CREATE TABLE case_events (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    actor_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    actor_label TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    note TEXT,
    data TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX case_events_case ON case_events(case_id, created_at);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT REFERENCES cases(id) ON DELETE SET NULL,
    message_row_id BIGINT REFERENCES messages(id) ON DELETE SET NULL,
    message_id TEXT NOT NULL UNIQUE,
    to_addrs TEXT NOT NULL,
    cc_addrs TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

CREATE TABLE quarantine (
    id BIGSERIAL PRIMARY KEY,
    raw_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    error TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    received_at TIMESTAMP NOT NULL,
    retried_at TIMESTAMP,
    resolved_case_id BIGINT REFERENCES cases(id) ON DELETE SET NULL
);
CREATE INDEX quarantine_status ON quarantine(status);
