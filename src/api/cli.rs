//! `casebook token create | list | revoke`.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::tokens::{ApiToken, TokenName};
use crate::auth::User;
use crate::config::Config;
use crate::startup;

/// `casebook token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an API token for an account; the token is printed once and stored only as a hash.
    Create {
        /// The account's email; the token acts with its role.
        #[arg(long)]
        user: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List tokens (never their secrets).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id (see `token list`).
    Revoke {
        /// Token id.
        id: i64,
    },
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs a `token` subcommand; returns the exit code.
pub fn run(config: Config, command: TokenCommand) -> anyhow::Result<i32> {
    let prepared = startup::prepare(config)?;
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    match command {
        TokenCommand::Create { user, name } => {
            let name = TokenName::parse(&name).map_err(anyhow::Error::msg)?;
            let Some(owner) = User::find_by_email(&mut conn, &user)? else {
                bail!("no account with the email {user}");
            };
            if owner.disabled {
                bail!("the account {} is disabled", owner.email);
            }
            let (token, secret) = ApiToken::create(&mut conn, owner.id, &name)?;
            // The secret alone on stdout (for `TOKEN=$(casebook token create …)`); the rest on stderr.
            eprintln!(
                "created API token {} {:?} for {} ({}); it is shown only now:",
                token.id,
                token.name,
                owner.email,
                owner.role()
            );
            println!("{secret}");
            Ok(0)
        }
        TokenCommand::List { json } => {
            let tokens = ApiToken::list(&mut conn)?;
            let mut out = std::io::stdout().lock();
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.token.id,
                            "user": t.user_email,
                            "name": t.token.name,
                            "created_at": rfc3339(t.token.created_at),
                            "last_used_at": t.token.last_used_at.map(rfc3339),
                            "revoked_at": t.token.revoked_at.map(rfc3339),
                            "user_disabled": t.user_disabled,
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::json!({ "tokens": list }))?;
            } else if tokens.is_empty() {
                writeln!(out, "no API tokens")?;
            } else {
                for t in tokens {
                    let status = match (t.token.revoked_at, t.user_disabled) {
                        (Some(at), _) => format!("revoked {}", rfc3339(at)),
                        (None, true) => "account disabled".to_string(),
                        (None, false) => "active".to_string(),
                    };
                    let used = t
                        .token
                        .last_used_at
                        .map(rfc3339)
                        .unwrap_or_else(|| "never used".into());
                    writeln!(
                        out,
                        "{:>4}  {:<32} {:<24} created {}  {}  {}",
                        t.token.id,
                        t.user_email,
                        t.token.name,
                        rfc3339(t.token.created_at),
                        used,
                        status
                    )?;
                }
            }
            Ok(0)
        }
        TokenCommand::Revoke { id } => {
            if ApiToken::find_by_id(&mut conn, id)?.is_none() {
                eprintln!("error: no API token {id}");
                return Ok(1);
            }
            if ApiToken::revoke(&mut conn, id)? {
                println!("revoked API token {id}");
            } else {
                println!("API token {id} was already revoked");
            }
            Ok(0)
        }
    }
}
