-- Notifications to staff (assigned to you, escalated to you or your team, handed back to you, the
-- customer wrote on your case, an SLA clock within an hour of its deadline). One row per recipient,
-- written in the transaction of the event that causes it; the list at /notifications and the unread
-- count in the navigation bar read it. `mail_state` is 'none' (the recipient switched mail off),
-- 'pending' (the outbox sender composes and queues it, outside the event's transaction) or 'queued'.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    case_id BIGINT REFERENCES cases(id) ON DELETE CASCADE,
    actor_label TEXT NOT NULL,
    detail TEXT,
    excerpt TEXT,
    in_app BOOLEAN NOT NULL,
    mail_state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_unread ON notifications(user_id, read_at);
CREATE INDEX notifications_mail_pending ON notifications(id) WHERE mail_state = 'pending';

-- Each person's switches, per notification kind and channel. No row means the default: both on.
CREATE TABLE notification_settings (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    in_app BOOLEAN NOT NULL,
    by_mail BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- When the breach sweep warned about a clock (within an hour of its deadline): at most once per clock.
ALTER TABLE sla_clocks ADD COLUMN warned_at TIMESTAMP;
