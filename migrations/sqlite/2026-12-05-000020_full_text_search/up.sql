-- Full-text search over cases, messages (new and quoted text, notes), summaries and attachment names.
-- One document per source row in each table; its rowid encodes the source: id * 4 + kind
-- (0 message, 1 case, 2 summary, 3 attachment), so every trigger finds its documents by rowid.
-- search_docs indexes the text as trigrams (any substring of three or more characters, any script).
-- search_pairs holds every two-character pair of each CJK run (" 激活 活码 … ", see `cases::search`)
-- as words, so a two-character Chinese or Japanese word, which no trigram can find, is one token.
-- It is a table of its own because pairs as trigrams cost three index entries each (ingest
-- measured 2.3x slower); neither keeps column sizes (no ranking) and search_docs merges its
-- segments less eagerly than the default, both for ingest speed.
-- casebook_cjk_bigrams() is registered on every connection by `db::conn::establish`.
-- The triggers keep the index in the writer's own transaction: ingest, replies, notes, merges.
CREATE VIRTUAL TABLE search_docs USING fts5(body, case_id UNINDEXED, tokenize = 'trigram', columnsize = 0);
INSERT INTO search_docs (search_docs, rank) VALUES ('automerge', 16);
CREATE VIRTUAL TABLE search_pairs USING fts5(grams, case_id UNINDEXED, detail = none, columnsize = 0);

CREATE TRIGGER search_messages_insert AFTER INSERT ON messages BEGIN
    INSERT INTO search_docs (rowid, body, case_id) VALUES (new.id * 4, new.subject || char(10) || new.body_text, new.case_id);
    INSERT INTO search_pairs (rowid, grams, case_id) VALUES (new.id * 4, casebook_cjk_bigrams(new.subject || char(10) || new.body_text), new.case_id);
END;
CREATE TRIGGER search_messages_update AFTER UPDATE OF case_id, subject, body_text ON messages BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4;
    DELETE FROM search_pairs WHERE rowid = old.id * 4;
    INSERT INTO search_docs (rowid, body, case_id) VALUES (new.id * 4, new.subject || char(10) || new.body_text, new.case_id);
    INSERT INTO search_pairs (rowid, grams, case_id) VALUES (new.id * 4, casebook_cjk_bigrams(new.subject || char(10) || new.body_text), new.case_id);
END;
CREATE TRIGGER search_messages_delete AFTER DELETE ON messages BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4;
    DELETE FROM search_pairs WHERE rowid = old.id * 4;
END;

CREATE TRIGGER search_cases_insert AFTER INSERT ON cases BEGIN
    INSERT INTO search_docs (rowid, body, case_id) VALUES (new.id * 4 + 1, new.number || char(10) || new.title || char(10) || new.customer_email || ' ' || coalesce(new.customer_name, '')
                || char(10) || coalesce(new.problem_definition, '') || char(10) || coalesce(new.scope, '')
                || char(10) || coalesce(new.resolution, ''), new.id);
    INSERT INTO search_pairs (rowid, grams, case_id) VALUES (new.id * 4 + 1, casebook_cjk_bigrams(new.number || char(10) || new.title || char(10) || new.customer_email || ' ' || coalesce(new.customer_name, '')
                || char(10) || coalesce(new.problem_definition, '') || char(10) || coalesce(new.scope, '')
                || char(10) || coalesce(new.resolution, '')), new.id);
END;
CREATE TRIGGER search_cases_update AFTER UPDATE OF number, title, customer_email, customer_name, problem_definition, scope, resolution ON cases BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 1;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 1;
    INSERT INTO search_docs (rowid, body, case_id) VALUES (new.id * 4 + 1, new.number || char(10) || new.title || char(10) || new.customer_email || ' ' || coalesce(new.customer_name, '')
                || char(10) || coalesce(new.problem_definition, '') || char(10) || coalesce(new.scope, '')
                || char(10) || coalesce(new.resolution, ''), new.id);
    INSERT INTO search_pairs (rowid, grams, case_id) VALUES (new.id * 4 + 1, casebook_cjk_bigrams(new.number || char(10) || new.title || char(10) || new.customer_email || ' ' || coalesce(new.customer_name, '')
                || char(10) || coalesce(new.problem_definition, '') || char(10) || coalesce(new.scope, '')
                || char(10) || coalesce(new.resolution, '')), new.id);
END;
CREATE TRIGGER search_cases_delete AFTER DELETE ON cases BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 1;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 1;
END;

CREATE TRIGGER search_summaries_insert AFTER INSERT ON case_summaries BEGIN
    INSERT INTO search_docs (rowid, body, case_id) VALUES (new.id * 4 + 2, new.body, new.case_id);
    INSERT INTO search_pairs (rowid, grams, case_id) VALUES (new.id * 4 + 2, casebook_cjk_bigrams(new.body), new.case_id);
END;
CREATE TRIGGER search_summaries_update AFTER UPDATE OF case_id, body ON case_summaries BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 2;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 2;
    INSERT INTO search_docs (rowid, body, case_id) VALUES (new.id * 4 + 2, new.body, new.case_id);
    INSERT INTO search_pairs (rowid, grams, case_id) VALUES (new.id * 4 + 2, casebook_cjk_bigrams(new.body), new.case_id);
END;
CREATE TRIGGER search_summaries_delete AFTER DELETE ON case_summaries BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 2;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 2;
END;

CREATE TRIGGER search_attachments_insert AFTER INSERT ON attachments BEGIN
    INSERT INTO search_docs (rowid, body, case_id) VALUES (new.id * 4 + 3, new.filename, new.case_id);
    INSERT INTO search_pairs (rowid, grams, case_id) VALUES (new.id * 4 + 3, casebook_cjk_bigrams(new.filename), new.case_id);
END;
CREATE TRIGGER search_attachments_update AFTER UPDATE OF case_id, filename ON attachments BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 3;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 3;
    INSERT INTO search_docs (rowid, body, case_id) VALUES (new.id * 4 + 3, new.filename, new.case_id);
    INSERT INTO search_pairs (rowid, grams, case_id) VALUES (new.id * 4 + 3, casebook_cjk_bigrams(new.filename), new.case_id);
END;
CREATE TRIGGER search_attachments_delete AFTER DELETE ON attachments BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 3;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 3;
END;

-- Existing rows.
INSERT INTO search_docs (rowid, body, case_id) SELECT id * 4, subject || char(10) || body_text, case_id FROM messages;
INSERT INTO search_pairs (rowid, grams, case_id) SELECT id * 4, casebook_cjk_bigrams(subject || char(10) || body_text), case_id FROM messages;
INSERT INTO search_docs (rowid, body, case_id) SELECT id * 4 + 1, number || char(10) || title || char(10) || customer_email || ' ' || coalesce(customer_name, '')
                || char(10) || coalesce(problem_definition, '') || char(10) || coalesce(scope, '')
                || char(10) || coalesce(resolution, ''), id FROM cases;
INSERT INTO search_pairs (rowid, grams, case_id) SELECT id * 4 + 1, casebook_cjk_bigrams(number || char(10) || title || char(10) || customer_email || ' ' || coalesce(customer_name, '')
                || char(10) || coalesce(problem_definition, '') || char(10) || coalesce(scope, '')
                || char(10) || coalesce(resolution, '')), id FROM cases;
INSERT INTO search_docs (rowid, body, case_id) SELECT id * 4 + 2, body, case_id FROM case_summaries;
INSERT INTO search_pairs (rowid, grams, case_id) SELECT id * 4 + 2, casebook_cjk_bigrams(body), case_id FROM case_summaries;
INSERT INTO search_docs (rowid, body, case_id) SELECT id * 4 + 3, filename, case_id FROM attachments;
INSERT INTO search_pairs (rowid, grams, case_id) SELECT id * 4 + 3, casebook_cjk_bigrams(filename), case_id FROM attachments;
