-- pg_trgm stays: other schemas in the database may use it, and it holds no data of ours.
DROP TRIGGER search_attachments ON attachments;
DROP TRIGGER search_summaries ON case_summaries;
DROP TRIGGER search_cases ON cases;
DROP TRIGGER search_messages ON messages;
DROP FUNCTION search_docs_attachment();
DROP FUNCTION search_docs_summary();
DROP FUNCTION search_docs_case();
DROP FUNCTION search_docs_message();
DROP TABLE search_docs;
DROP FUNCTION casebook_cjk_bigrams(TEXT);
