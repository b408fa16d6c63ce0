//! `casebook ingest` and `casebook mailgate`.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::pipeline::{Incoming, Ingestor, Outcome, Summary};
use super::quarantine;
use super::sources::{self, SizeHint, SourceKind};
use crate::config::Config;
use crate::startup;

/// sysexits(3): delivered.
pub const EX_OK: i32 = 0;
/// sysexits(3): the message was refused; the MTA bounces it.
pub const EX_DATAERR: i32 = 65;
/// sysexits(3): Casebook unreachable; the MTA keeps the message and retries.
pub const EX_TEMPFAIL: i32 = 75;
/// sysexits(3): bad invocation.
pub const EX_USAGE: i32 = 64;

/// Runs `casebook ingest`. Exit 0 when every message was stored or deliberately ignored, 1 when
/// some went to quarantine (they are kept), 2 on usage or I/O errors.
pub fn run_ingest(
    config: Config,
    paths: &[PathBuf],
    json: bool,
    retry_quarantine: bool,
) -> anyhow::Result<i32> {
    if paths.is_empty() && !retry_quarantine {
        eprintln!(
            "error: name at least one PATH (a .eml file, a folder, an mbox, a Maildir, a transcript, or - for stdin)"
        );
        return Ok(2);
    }
    let prepared = startup::prepare(config)?;
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    let ingestor = Ingestor::new(&mut conn, &prepared.config, &prepared.blobs)?;
    let mut summary = Summary::default();
    let mut io_errors = 0u64;
    let mut err = std::io::stderr();

    if retry_quarantine {
        for r in quarantine::retry(&mut conn, &ingestor, &prepared.blobs, None)? {
            if let Outcome::Quarantined { reason, .. } = &r.outcome {
                writeln!(err, "quarantine #{} still refused: {reason}", r.id)?;
            }
            summary.add(&r.outcome);
        }
    }

    let show_progress = !json && std::io::stderr().is_terminal();
    for path in paths {
        let kind = match sources::detect(path) {
            Ok(k) => k,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                io_errors += 1;
                continue;
            }
        };
        if kind == SourceKind::Transcript {
            match import_transcript(&mut conn, &ingestor, &prepared.blobs, path) {
                Ok(o) => summary.add(&o),
                Err(e) => {
                    writeln!(err, "error: {}: {e:#}", path.display())?;
                    io_errors += 1;
                }
            }
            continue;
        }
        let hint = if show_progress {
            sources::size_hint(path).ok().flatten()
        } else {
            None
        };
        let by_bytes = matches!(hint, Some(SizeHint::Bytes(_)));
        let bar = progress_bar(show_progress, hint, path);
        let items = match sources::open(path) {
            Ok(items) => items,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                io_errors += 1;
                continue;
            }
        };
        let times = ingestor.ingest_stream(
            &mut conn,
            |feeder| {
                for item in items {
                    match item {
                        Ok(raw) => {
                            if let Some(b) = &bar {
                                b.inc(if by_bytes { raw.bytes.len() as u64 } else { 1 });
                            }
                            feeder.push(Incoming {
                                origin: raw.origin,
                                bytes: raw.bytes,
                            })?;
                        }
                        Err(e) => {
                            writeln!(err, "error: {e}")?;
                            io_errors += 1;
                        }
                    }
                }
                Ok(())
            },
            |outcome| summary.add(outcome),
        )?;
        tracing::debug!(
            path = %path.display(),
            staging_s = times.staging.as_secs_f64(),
            database_s = times.placing.as_secs_f64(),
            "ingest busy times"
        );
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    }

    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    } else {
        writeln!(
            out,
            "processed {}: {} new cases, {} appended, {} duplicates, {} ignored, {} quarantined",
            summary.processed,
            summary.created,
            summary.appended,
            summary.duplicates,
            summary.ignored,
            summary.quarantined
        )?;
        if !summary.cases.is_empty() {
            writeln!(out, "cases: {}", summary.cases.join(", "))?;
        }
        if summary.quarantined > 0 {
            writeln!(
                out,
                "quarantined mail is kept; see /admin/quarantine or retry with `casebook ingest --retry-quarantine`"
            )?;
        }
    }
    Ok(if io_errors > 0 {
        2
    } else if summary.quarantined > 0 {
        1
    } else {
        0
    })
}

fn progress_bar(show: bool, hint: Option<SizeHint>, path: &Path) -> Option<ProgressBar> {
    if !show {
        return None;
    }
    let bar = match hint {
        Some(SizeHint::Messages(n)) => ProgressBar::new(n),
        Some(SizeHint::Bytes(n)) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template(
        "{spinner} {msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(path.display().to_string());
    Some(bar)
}

fn import_transcript(
    conn: &mut crate::db::DbConn,
    ingestor: &Ingestor<'_>,
    blobs: &crate::db::blobs::BlobStore,
    path: &Path,
) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let raw_sha = blobs.put(&bytes)?;
    let transcript = super::sources::transcript::parse_transcript(
        &super::sources::transcript::decode_text(&bytes),
    )
    .with_context(|| format!("reading the transcript {}", path.display()))?;
    super::transcript_import::import(
        conn,
        ingestor.staff(),
        &transcript,
        &raw_sha,
        &ingestor.sla_rules(),
    )
}

/// Runs `casebook mailgate`: one message on stdin, POSTed to Casebook for an MTA pipe transport.
/// Exit codes follow sysexits: 0 delivered, 65 refused (the MTA bounces it), 75 Casebook
/// unreachable or not authorised (the MTA keeps the message and retries, so a wrong token never
/// bounces a customer's mail).
pub fn run_mailgate(url: &str, token_file: &Path, timeout_secs: u64) -> i32 {
    let token = match std::fs::read_to_string(token_file) {
        Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
        Ok(_) => {
            eprintln!("mailgate: {} is empty", token_file.display());
            return EX_USAGE;
        }
        Err(e) => {
            eprintln!(
                "mailgate: cannot read the token file {}: {e}",
                token_file.display()
            );
            return EX_TEMPFAIL;
        }
    };
    let mut message = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut message) {
        eprintln!("mailgate: reading the message from stdin: {e}");
        return EX_TEMPFAIL;
    }
    let endpoint = format!("{}/inbound/mail", url.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(timeout_secs)))
        .build()
        .into();
    let response = agent
        .post(&endpoint)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "message/rfc822")
        .send(&message[..]);
    match response {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let body = r.body_mut().read_to_string().unwrap_or_default();
            match status {
                200..=299 => EX_OK,
                400 | 413 | 422 => {
                    eprintln!("mailgate: Casebook refused the message ({status}): {body}");
                    EX_DATAERR
                }
                _ => {
                    eprintln!("mailgate: Casebook answered {status}; the MTA should retry: {body}");
                    EX_TEMPFAIL
                }
            }
        }
        Err(e) => {
            eprintln!("mailgate: cannot reach {endpoint}: {e}; the MTA should retry");
            EX_TEMPFAIL
        }
    }
}
