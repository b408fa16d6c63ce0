-- The reader's time zone (an IANA name such as 'Asia/Shanghai'); NULL: the configured default
-- (`timezone`, else the business calendar's zone). Checked by the application, which only stores
-- names chrono-tz parses.
ALTER TABLE user_preferences ADD COLUMN timezone TEXT NULL;
