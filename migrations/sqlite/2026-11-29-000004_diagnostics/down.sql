DROP TABLE diagnostic_snapshots;
DROP TABLE upload_links;
