//! Outbound mail: signed Message-IDs (and, with the workspace, the outbox and its sender).

pub mod message_id;
