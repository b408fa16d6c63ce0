//! Table definitions shared by both backends (kept in step with `migrations/*`).

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        locale -> Nullable<Text>,
        team -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    setup_tokens (token_hash) {
        token_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        last_failure_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        number -> Text,
        seq -> BigInt,
        title -> Text,
        state -> Text,
        priority -> Text,
        customer_email -> Text,
        customer_name -> Nullable<Text>,
        assignee_id -> Nullable<BigInt>,
        team -> Nullable<Text>,
        language -> Text,
        problem_definition -> Nullable<Text>,
        scope -> Nullable<Text>,
        resolution -> Nullable<Text>,
        duplicate_of_id -> Nullable<BigInt>,
        merged_into_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_activity_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    participants (id) {
        id -> BigInt,
        case_id -> BigInt,
        email -> Text,
        name -> Nullable<Text>,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        case_id -> BigInt,
        direction -> Text,
        message_id -> Nullable<Text>,
        in_reply_to -> Nullable<Text>,
        references_ids -> Text,
        from_email -> Text,
        from_name -> Nullable<Text>,
        to_addrs -> Text,
        cc_addrs -> Text,
        subject -> Text,
        sent_at -> Nullable<Timestamp>,
        received_at -> Timestamp,
        body_text -> Text,
        new_text -> Text,
        body_html -> Nullable<Text>,
        auto -> Bool,
        thread_method -> Text,
        raw_sha256 -> Nullable<Text>,
        content_hash -> Text,
        author_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        message_id -> BigInt,
        case_id -> BigInt,
        filename -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        content_id -> Nullable<Text>,
        inline -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_events (id) {
        id -> BigInt,
        case_id -> BigInt,
        actor_id -> Nullable<BigInt>,
        actor_label -> Text,
        kind -> Text,
        from_state -> Nullable<Text>,
        to_state -> Nullable<Text>,
        note -> Nullable<Text>,
        data -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

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

diesel::table! {
    quarantine (id) {
        id -> BigInt,
        raw_sha256 -> Text,
        source -> Text,
        error -> Text,
        status -> Text,
        attempts -> Integer,
        received_at -> Timestamp,
        retried_at -> Nullable<Timestamp>,
        resolved_case_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    ingest_log (id) {
        id -> BigInt,
        raw_sha256 -> Text,
        source -> Text,
        outcome -> Text,
        reason -> Nullable<Text>,
        message_id -> Nullable<Text>,
        from_email -> Nullable<Text>,
        case_id -> Nullable<BigInt>,
        auto -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The search index (`cases::search`): one document per message, case, summary and attachment,
    /// kept by triggers. `rowid` is the source's id * 4 + kind (0 message, 1 case, 2 summary,
    /// 3 attachment). On SQLite an FTS5 table (trigram), on PostgreSQL a table with pg_trgm indexes
    /// (and a `grams` column; SQLite keeps those in `search_pairs`), queried in SQL text only.
    search_docs (rowid) {
        rowid -> BigInt,
        case_id -> BigInt,
        body -> Text,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(cases -> users (assignee_id));
diesel::joinable!(participants -> cases (case_id));
diesel::joinable!(messages -> cases (case_id));
diesel::joinable!(attachments -> messages (message_id));
diesel::joinable!(case_events -> cases (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    setup_tokens,
    sessions,
    login_throttle,
    api_tokens,
    cases,
    participants,
    messages,
    attachments,
    case_events,
    outbox,
    quarantine,
    ingest_log,
    canned_responses,
    search_docs,
);
