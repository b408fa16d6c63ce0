-- Full-text search over cases, messages (new and quoted text, notes), summaries and attachment names.
-- One FTS5 document per source row; its rowid encodes the source: id * 4 + kind
-- (0 message, 1 case, 2 summary, 3 attachment), so every trigger finds its document by rowid.
-- `body` is indexed as trigrams (any substring of three or more characters, any script);
-- `grams` holds every two-character pair of each CJK run as " 激活 活码 … " (see
-- `cases::search`), so a two-character Chinese or Japanese word is the trigram-searchable phrase
-- " 激活 ". casebook_cjk_bigrams() is registered on every connection by `db::conn::establish`.
-- The triggers keep the index in the writer's own transaction: ingest, replies, notes, merges.
CREATE VIRTUAL TABLE search_docs USING fts5(body, grams, case_id UNINDEXED, tokenize = 'trigram');

CREATE TRIGGER search_messages_insert AFTER INSERT ON messages BEGIN
    INSERT INTO search_docs (rowid, body, grams, case_id)
    VALUES (new.id * 4, new.subject || char(10) || new.body_text,
            casebook_cjk_bigrams(new.subject || char(10) || new.body_text), new.case_id);
END;
CREATE TRIGGER search_messages_update AFTER UPDATE OF case_id, subject, body_text ON messages BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4;
    INSERT INTO search_docs (rowid, body, grams, case_id)
    VALUES (new.id * 4, new.subject || char(10) || new.body_text,
            casebook_cjk_bigrams(new.subject || char(10) || new.body_text), new.case_id);
END;
CREATE TRIGGER search_messages_delete AFTER DELETE ON messages BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4;
END;

CREATE TRIGGER search_cases_insert AFTER INSERT ON cases BEGIN
    INSERT INTO search_docs (rowid, body, grams, case_id)
    VALUES (new.id * 4 + 1,
            new.number || char(10) || new.title || char(10) || new.customer_email || ' '
                || coalesce(new.customer_name, '') || char(10) || coalesce(new.problem_definition, '')
                || char(10) || coalesce(new.scope, '') || char(10) || coalesce(new.resolution, ''),
            casebook_cjk_bigrams(new.title || char(10) || coalesce(new.customer_name, '') || char(10)
                || coalesce(new.problem_definition, '') || char(10) || coalesce(new.scope, '')
                || char(10) || coalesce(new.resolution, '')),
            new.id);
END;
CREATE TRIGGER search_cases_update
AFTER UPDATE OF number, title, customer_email, customer_name, problem_definition, scope, resolution ON cases
BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 1;
    INSERT INTO search_docs (rowid, body, grams, case_id)
    VALUES (new.id * 4 + 1,
            new.number || char(10) || new.title || char(10) || new.customer_email || ' '
                || coalesce(new.customer_name, '') || char(10) || coalesce(new.problem_definition, '')
                || char(10) || coalesce(new.scope, '') || char(10) || coalesce(new.resolution, ''),
            casebook_cjk_bigrams(new.title || char(10) || coalesce(new.customer_name, '') || char(10)
                || coalesce(new.problem_definition, '') || char(10) || coalesce(new.scope, '')
                || char(10) || coalesce(new.resolution, '')),
            new.id);
END;
CREATE TRIGGER search_cases_delete AFTER DELETE ON cases BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 1;
END;

CREATE TRIGGER search_summaries_insert AFTER INSERT ON case_summaries BEGIN
    INSERT INTO search_docs (rowid, body, grams, case_id)
    VALUES (new.id * 4 + 2, new.body, casebook_cjk_bigrams(new.body), new.case_id);
END;
CREATE TRIGGER search_summaries_update AFTER UPDATE OF case_id, body ON case_summaries BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 2;
    INSERT INTO search_docs (rowid, body, grams, case_id)
    VALUES (new.id * 4 + 2, new.body, casebook_cjk_bigrams(new.body), new.case_id);
END;
CREATE TRIGGER search_summaries_delete AFTER DELETE ON case_summaries BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 2;
END;

CREATE TRIGGER search_attachments_insert AFTER INSERT ON attachments BEGIN
    INSERT INTO search_docs (rowid, body, grams, case_id)
    VALUES (new.id * 4 + 3, new.filename, casebook_cjk_bigrams(new.filename), new.case_id);
END;
CREATE TRIGGER search_attachments_update AFTER UPDATE OF case_id, filename ON attachments BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 3;
    INSERT INTO search_docs (rowid, body, grams, case_id)
    VALUES (new.id * 4 + 3, new.filename, casebook_cjk_bigrams(new.filename), new.case_id);
END;
CREATE TRIGGER search_attachments_delete AFTER DELETE ON attachments BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 3;
END;

-- Existing rows.
INSERT INTO search_docs (rowid, body, grams, case_id)
SELECT id * 4, subject || char(10) || body_text, casebook_cjk_bigrams(subject || char(10) || body_text), case_id
  FROM messages;
INSERT INTO search_docs (rowid, body, grams, case_id)
SELECT id * 4 + 1,
       number || char(10) || title || char(10) || customer_email || ' ' || coalesce(customer_name, '')
           || char(10) || coalesce(problem_definition, '') || char(10) || coalesce(scope, '')
           || char(10) || coalesce(resolution, ''),
       casebook_cjk_bigrams(title || char(10) || coalesce(customer_name, '') || char(10)
           || coalesce(problem_definition, '') || char(10) || coalesce(scope, '')
           || char(10) || coalesce(resolution, '')),
       id
  FROM cases;
INSERT INTO search_docs (rowid, body, grams, case_id)
SELECT id * 4 + 2, body, casebook_cjk_bigrams(body), case_id FROM case_summaries;
INSERT INTO search_docs (rowid, body, grams, case_id)
SELECT id * 4 + 3, filename, casebook_cjk_bigrams(filename), case_id FROM attachments;
