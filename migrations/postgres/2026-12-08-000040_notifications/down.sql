ALTER TABLE sla_clocks DROP COLUMN warned_at;
DROP TABLE notification_settings;
DROP TABLE notifications;
