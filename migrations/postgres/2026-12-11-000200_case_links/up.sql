-- Links between cases: related cases, or a parent case and its children (one customer problem
-- split into several, or many customers' cases under one engineering problem). One row per pair,
-- read from either side; `relation` is from `from_case_id`'s side: 'related' or 'parent_of'.
CREATE TABLE case_links (
    id BIGSERIAL PRIMARY KEY,
    from_case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    to_case_id BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    relation TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX case_links_pair ON case_links(from_case_id, to_case_id);
CREATE INDEX case_links_to ON case_links(to_case_id);
