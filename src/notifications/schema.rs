//! Tables of the notifications feature (kept in step with `migrations/*/2026-12-08-000040_notifications`).

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        case_id -> Nullable<BigInt>,
        actor_label -> Text,
        detail -> Nullable<Text>,
        excerpt -> Nullable<Text>,
        in_app -> Bool,
        mail_state -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notification_settings (user_id, kind) {
        user_id -> BigInt,
        kind -> Text,
        in_app -> Bool,
        by_mail -> Bool,
    }
}

use crate::db::schema::{cases, users};

diesel::joinable!(notifications -> cases (case_id));
diesel::joinable!(notifications -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(notifications, cases);
diesel::allow_tables_to_appear_in_same_query!(notifications, users);
