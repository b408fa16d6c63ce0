-- SLA clocks: one row per clock of a case (first response, next response, resolution).
-- A breach is stored when it is noticed (breached_at = due_at), so reports never recompute history.
CREATE TABLE sla_clocks (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    target_seconds BIGINT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    met_at TIMESTAMP,
    breached_at TIMESTAMP,
    paused_since TIMESTAMP,
    paused_seconds BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sla_clocks_case ON sla_clocks(case_id);
-- The breach sweep and the case list look only at open clocks by deadline.
CREATE INDEX sla_clocks_open ON sla_clocks(met_at, due_at);

-- Case summaries (案例总结) keep every version; a new one never overwrites the last.
CREATE TABLE case_summaries (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    author_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    author_label TEXT NOT NULL,
    messages_at_write BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, version)
);

-- Escalations to engineering: the engineers' queue is the open rows.
CREATE TABLE escalations (
    id BIGSERIAL PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    target_team TEXT,
    target_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    reason TEXT NOT NULL,
    tried TEXT NOT NULL,
    findings TEXT,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    handed_back_at TIMESTAMP,
    handed_back_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    closed_at TIMESTAMP
);
CREATE INDEX escalations_case ON escalations(case_id);
CREATE INDEX escalations_open ON escalations(closed_at, target_user_id);
