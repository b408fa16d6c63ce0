//! Tables of two-factor sign-in and page-editable settings (kept in step with
//! `migrations/*/2026-12-05-000030_two_factor`). They live with the feature that owns them.

diesel::table! {
    user_totp (user_id) {
        user_id -> BigInt,
        secret -> Text,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    app_settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    /// Per-person reading preferences (`auth::preferences`, migration
    /// `2026-12-06-000041_user_preferences`, `2026-12-11-000060_user_timezone`).
    user_preferences (user_id) {
        user_id -> BigInt,
        thread_order -> Text,
        updated_at -> Timestamp,
        timezone -> Nullable<Text>,
    }
}
