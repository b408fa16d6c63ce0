-- Full-text search over cases, messages (new and quoted text, notes), summaries and attachment names.
-- One document per source row in each table; its rowid encodes the source: id * 4 + kind
-- (0 message, 1 case, 2 summary, 3 attachment), so every trigger finds its documents by rowid.
-- search_docs indexes the text as trigrams (any substring of three or more characters, any script).
-- search_pairs holds every two-character pair of each CJK run (" 激活 活码 … ", see `cases::search`)
-- as words, so a two-character Chinese or Japanese word, which no trigram can find, is one token.
-- casebook_cjk_bigrams() is registered on every connection by `db::conn::establish`.
--
-- New rows are queued by the triggers in search_queue and indexed by `cases::search::index_queued`
-- before the writer's transaction commits (`db::write_transaction` calls it; a search first indexes
-- whatever another path left queued). Why not index in the trigger: FTS5 writes its pending terms to
-- disk at every statement savepoint, and a statement that fires a trigger always opens one, so a
-- row-by-row index cost a segment per message (ingest 4x slower); one INSERT … SELECT per
-- transaction writes one. Updates and deletes (merges, edits: rare) change the index in the trigger.
CREATE VIRTUAL TABLE search_docs USING fts5(body, case_id UNINDEXED, tokenize = 'trigram', columnsize = 0);
CREATE VIRTUAL TABLE search_pairs USING fts5(grams, case_id UNINDEXED, detail = none, columnsize = 0);
CREATE TABLE search_queue (rowid INTEGER PRIMARY KEY NOT NULL);

CREATE TRIGGER search_messages_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO search_queue (rowid) VALUES (new.id * 4);
END;
CREATE TRIGGER search_messages_update AFTER UPDATE OF case_id, subject, body_text ON messages BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4;
    DELETE FROM search_pairs WHERE rowid = old.id * 4;
    DELETE FROM search_queue WHERE rowid = old.id * 4;
    INSERT OR IGNORE INTO search_queue (rowid) VALUES (new.id * 4);
END;
CREATE TRIGGER search_messages_delete AFTER DELETE ON messages BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4;
    DELETE FROM search_pairs WHERE rowid = old.id * 4;
    DELETE FROM search_queue WHERE rowid = old.id * 4;
END;

CREATE TRIGGER search_cases_insert AFTER INSERT ON cases BEGIN
    INSERT OR IGNORE INTO search_queue (rowid) VALUES (new.id * 4 + 1);
END;
CREATE TRIGGER search_cases_update AFTER UPDATE OF number, title, customer_email, customer_name, problem_definition, scope, resolution ON cases BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 1;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 1;
    DELETE FROM search_queue WHERE rowid = old.id * 4 + 1;
    INSERT OR IGNORE INTO search_queue (rowid) VALUES (new.id * 4 + 1);
END;
CREATE TRIGGER search_cases_delete AFTER DELETE ON cases BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 1;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 1;
    DELETE FROM search_queue WHERE rowid = old.id * 4 + 1;
END;

CREATE TRIGGER search_summaries_insert AFTER INSERT ON case_summaries BEGIN
    INSERT OR IGNORE INTO search_queue (rowid) VALUES (new.id * 4 + 2);
END;
CREATE TRIGGER search_summaries_update AFTER UPDATE OF case_id, body ON case_summaries BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 2;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 2;
    DELETE FROM search_queue WHERE rowid = old.id * 4 + 2;
    INSERT OR IGNORE INTO search_queue (rowid) VALUES (new.id * 4 + 2);
END;
CREATE TRIGGER search_summaries_delete AFTER DELETE ON case_summaries BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 2;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 2;
    DELETE FROM search_queue WHERE rowid = old.id * 4 + 2;
END;

CREATE TRIGGER search_attachments_insert AFTER INSERT ON attachments BEGIN
    INSERT OR IGNORE INTO search_queue (rowid) VALUES (new.id * 4 + 3);
END;
CREATE TRIGGER search_attachments_update AFTER UPDATE OF case_id, filename ON attachments BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 3;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 3;
    DELETE FROM search_queue WHERE rowid = old.id * 4 + 3;
    INSERT OR IGNORE INTO search_queue (rowid) VALUES (new.id * 4 + 3);
END;
CREATE TRIGGER search_attachments_delete AFTER DELETE ON attachments BEGIN
    DELETE FROM search_docs WHERE rowid = old.id * 4 + 3;
    DELETE FROM search_pairs WHERE rowid = old.id * 4 + 3;
    DELETE FROM search_queue WHERE rowid = old.id * 4 + 3;
END;

-- Existing rows.
INSERT INTO search_docs (rowid, body, case_id) SELECT id * 4, subject || char(10) || body_text, case_id FROM messages;
INSERT INTO search_docs (rowid, body, case_id) SELECT id * 4 + 1, number || char(10) || title || char(10) || customer_email || ' ' || coalesce(customer_name, '')
                || char(10) || coalesce(problem_definition, '') || char(10) || coalesce(scope, '')
                || char(10) || coalesce(resolution, ''), id FROM cases;
INSERT INTO search_docs (rowid, body, case_id) SELECT id * 4 + 2, body, case_id FROM case_summaries;
INSERT INTO search_docs (rowid, body, case_id) SELECT id * 4 + 3, filename, case_id FROM attachments;
INSERT INTO search_pairs (rowid, grams, case_id) SELECT rowid, casebook_cjk_bigrams(body), case_id FROM search_docs;
