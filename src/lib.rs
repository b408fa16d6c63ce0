//! Casebook: support case management by email.
//!
//! See `docs/ARCHITECTURE.md` for the module map and how a request flows.

pub mod api;
pub mod auth;
pub mod cases;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod diagnostics;
pub mod error;
pub mod i18n;
pub mod ingest;
pub mod mail;
pub mod notifications;
pub mod reports;
pub mod startup;
pub mod web;
pub mod workflow;
