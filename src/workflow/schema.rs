//! Tables of the workflow feature (kept in step with `migrations/*/2026-11-29-000003_workflow`,
//! `2026-12-05-000001_sla_near_breach`, `2026-12-08-000040_notifications` (`warned_at`) and
//! `2026-12-10-000100_reports` (`elapsed_seconds`)).
//!
//! They live here rather than in `crate::db::schema` so the feature owns its storage; the joins with
//! `cases` and `users` are declared below.

diesel::table! {
    sla_clocks (id) {
        id -> BigInt,
        case_id -> BigInt,
        metric -> Text,
        target_seconds -> BigInt,
        started_at -> Timestamp,
        due_at -> Timestamp,
        near_breach_at -> Nullable<Timestamp>,
        met_at -> Nullable<Timestamp>,
        breached_at -> Nullable<Timestamp>,
        paused_since -> Nullable<Timestamp>,
        paused_seconds -> BigInt,
        created_at -> Timestamp,
        /// Business seconds from start to met, pauses excluded; set when met (migration
        /// `2026-12-10-000100_reports`), NULL while open.
        elapsed_seconds -> Nullable<BigInt>,
        warned_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_summaries (id) {
        id -> BigInt,
        case_id -> BigInt,
        version -> Integer,
        body -> Text,
        author_id -> Nullable<BigInt>,
        author_label -> Text,
        messages_at_write -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    escalations (id) {
        id -> BigInt,
        case_id -> BigInt,
        target -> Text,
        target_team -> Nullable<Text>,
        target_user_id -> Nullable<BigInt>,
        reason -> Text,
        tried -> Text,
        findings -> Nullable<Text>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        handed_back_at -> Nullable<Timestamp>,
        handed_back_by -> Nullable<BigInt>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Migration `2026-12-11-000200_case_links`.
    case_links (id) {
        id -> BigInt,
        from_case_id -> BigInt,
        to_case_id -> BigInt,
        relation -> Text,
        reason -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(sla_clocks -> cases (case_id));
diesel::joinable!(case_summaries -> cases (case_id));
diesel::joinable!(escalations -> cases (case_id));

use crate::db::schema::cases;

diesel::allow_tables_to_appear_in_same_query!(sla_clocks, case_summaries, escalations, cases);
