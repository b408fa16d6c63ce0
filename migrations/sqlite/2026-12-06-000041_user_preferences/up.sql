-- Per-person reading preferences, one row per account that changed one (defaults otherwise).
-- thread_order: how the case page orders a conversation, 'newest_first' or 'oldest_first'.
CREATE TABLE user_preferences (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    thread_order TEXT NOT NULL DEFAULT 'newest_first'
        CHECK (thread_order IN ('newest_first', 'oldest_first')),
    updated_at TIMESTAMP NOT NULL
);
