//! Table definitions of the diagnostics feature (kept in step with
//! `migrations/*/2026-11-29-000004_diagnostics`). They live here, not in `db/schema.rs`, because
//! only this feature queries them; cases are read through [`crate::cases::Case`].

diesel::table! {
    /// Signed, expiring links through which a customer uploads diagnostics without an account.
    upload_links (id) {
        id -> BigInt,
        case_id -> BigInt,
        token_hash -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        uses -> Integer,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// One analysed diagnostics input on a case.
    diagnostic_snapshots (id) {
        id -> BigInt,
        case_id -> BigInt,
        attachment_id -> Nullable<BigInt>,
        upload_link_id -> Nullable<BigInt>,
        source_name -> Text,
        blob_sha256 -> Text,
        size -> BigInt,
        uploaded_by -> Nullable<BigInt>,
        via -> Text,
        verdict -> Text,
        analysis -> Text,
        baseboard_serial -> Nullable<Text>,
        system_serial -> Nullable<Text>,
        system_uuid -> Nullable<Text>,
        bios_serial -> Nullable<Text>,
        fingerprint_key -> Nullable<Text>,
        created_at -> Timestamp,
    }
}
