-- Full-text search over cases, messages (new and quoted text, notes), summaries and attachment names.
-- One document per source row; `rowid` (named as SQLite's FTS5 rowid, so one diesel table! serves
-- both backends) encodes the source: id * 4 + kind (0 message, 1 case, 2 summary, 3 attachment).
-- `body` has a pg_trgm GIN index (ILIKE '%…%' of three or more characters, any script);
-- `grams` holds every two-character pair of each CJK run as " 激活 活码 … ", so a two-character
-- Chinese or Japanese word is the indexed pattern '% 激活 %' (see `cases::search`).
-- The triggers keep the index in the writer's own transaction: ingest, replies, notes, merges.
-- pg_trgm is a trusted extension (PostgreSQL >= 13): a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Must agree with `cases::search::cjk_bigrams` (the SQLite side): the same ranges, pairs within runs.
CREATE FUNCTION casebook_cjk_bigrams(t TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(' ' || string_agg(DISTINCT g, ' ') || ' ', '')
      FROM (SELECT substr(run[1], i, 2) AS g
              FROM regexp_matches(coalesce(t, ''),
                       '[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]{2,}', 'g') AS run,
                   generate_series(1, char_length(run[1]) - 1) AS i) AS pairs
$$;

CREATE TABLE search_docs (
    rowid BIGINT PRIMARY KEY,
    case_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    grams TEXT NOT NULL
);
CREATE INDEX search_docs_case ON search_docs (case_id);

CREATE FUNCTION search_docs_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_docs WHERE rowid = OLD.id * 4;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO search_docs (rowid, case_id, body, grams)
        VALUES (NEW.id * 4, NEW.case_id, NEW.subject || E'\n' || NEW.body_text,
                casebook_cjk_bigrams(NEW.subject || E'\n' || NEW.body_text));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER search_messages AFTER INSERT OR DELETE OR UPDATE OF case_id, subject, body_text
    ON messages FOR EACH ROW EXECUTE FUNCTION search_docs_message();

CREATE FUNCTION search_docs_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_docs WHERE rowid = OLD.id * 4 + 1;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO search_docs (rowid, case_id, body, grams)
        VALUES (NEW.id * 4 + 1, NEW.id,
                NEW.number || E'\n' || NEW.title || E'\n' || NEW.customer_email || ' '
                    || coalesce(NEW.customer_name, '') || E'\n' || coalesce(NEW.problem_definition, '')
                    || E'\n' || coalesce(NEW.scope, '') || E'\n' || coalesce(NEW.resolution, ''),
                casebook_cjk_bigrams(NEW.title || E'\n' || coalesce(NEW.customer_name, '') || E'\n'
                    || coalesce(NEW.problem_definition, '') || E'\n' || coalesce(NEW.scope, '')
                    || E'\n' || coalesce(NEW.resolution, '')));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER search_cases AFTER INSERT OR DELETE
    OR UPDATE OF number, title, customer_email, customer_name, problem_definition, scope, resolution
    ON cases FOR EACH ROW EXECUTE FUNCTION search_docs_case();

CREATE FUNCTION search_docs_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_docs WHERE rowid = OLD.id * 4 + 2;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO search_docs (rowid, case_id, body, grams)
        VALUES (NEW.id * 4 + 2, NEW.case_id, NEW.body, casebook_cjk_bigrams(NEW.body));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER search_summaries AFTER INSERT OR DELETE OR UPDATE OF case_id, body
    ON case_summaries FOR EACH ROW EXECUTE FUNCTION search_docs_summary();

CREATE FUNCTION search_docs_attachment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_docs WHERE rowid = OLD.id * 4 + 3;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO search_docs (rowid, case_id, body, grams)
        VALUES (NEW.id * 4 + 3, NEW.case_id, NEW.filename, casebook_cjk_bigrams(NEW.filename));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER search_attachments AFTER INSERT OR DELETE OR UPDATE OF case_id, filename
    ON attachments FOR EACH ROW EXECUTE FUNCTION search_docs_attachment();

-- Existing rows.
INSERT INTO search_docs (rowid, case_id, body, grams)
SELECT id * 4, case_id, subject || E'\n' || body_text, casebook_cjk_bigrams(subject || E'\n' || body_text)
  FROM messages;
INSERT INTO search_docs (rowid, case_id, body, grams)
SELECT id * 4 + 1, id,
       number || E'\n' || title || E'\n' || customer_email || ' ' || coalesce(customer_name, '')
           || E'\n' || coalesce(problem_definition, '') || E'\n' || coalesce(scope, '')
           || E'\n' || coalesce(resolution, ''),
       casebook_cjk_bigrams(title || E'\n' || coalesce(customer_name, '') || E'\n'
           || coalesce(problem_definition, '') || E'\n' || coalesce(scope, '')
           || E'\n' || coalesce(resolution, ''))
  FROM cases;
INSERT INTO search_docs (rowid, case_id, body, grams)
SELECT id * 4 + 2, case_id, body, casebook_cjk_bigrams(body) FROM case_summaries;
INSERT INTO search_docs (rowid, case_id, body, grams)
SELECT id * 4 + 3, case_id, filename, casebook_cjk_bigrams(filename) FROM attachments;

-- Built after the backfill (one pass instead of row by row).
CREATE INDEX search_docs_body_trgm ON search_docs USING gin (body gin_trgm_ops);
CREATE INDEX search_docs_grams_trgm ON search_docs USING gin (grams gin_trgm_ops);
