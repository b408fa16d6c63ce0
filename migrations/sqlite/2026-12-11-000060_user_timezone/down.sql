ALTER TABLE user_preferences DROP COLUMN timezone;
