//! Tables owned by outbound mail.
//!
//! `outbox` is declared here in full, with the two columns the `outbound` migration adds (`kind`,
//! `claimed_at`); `crate::db::schema::outbox` predates them. The definitions describe the same SQL
//! table, and everything in `crate::mail` uses this one.

diesel::table! {
    outbox (id) {
        id -> BigInt,
        case_id -> Nullable<BigInt>,
        message_row_id -> Nullable<BigInt>,
        message_id -> Text,
        to_addrs -> Text,
        cc_addrs -> Text,
        subject -> Text,
        raw_sha256 -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        kind -> Text,
        claimed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    canned_responses (id) {
        id -> BigInt,
        name -> Text,
        lang -> Text,
        body -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
