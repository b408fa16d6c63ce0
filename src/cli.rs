//! The command line: `casebook serve | migrate | user add | user list`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::SecretString;

use crate::auth::{Role, User, password};
use crate::config::Config;
use crate::startup;

/// Casebook: support case management by email.
#[derive(Debug, Parser)]
#[command(name = "casebook", version, about)]
pub struct Cli {
    /// Configuration file (default: $CASEBOOK_CONFIG, else ./casebook.toml when present).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web application (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Outbound mail queue.
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

/// `casebook outbox …`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Deliver every due mail now (SMTP, or the file outbox without `[smtp]`) and exit.
    Flush,
}

/// `casebook user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from stdin (or a hidden prompt on a terminal).
    Add {
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// admin, manager, agent or engineer.
        #[arg(long)]
        role: Role,
    },
    /// List accounts.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let prepared = startup::prepare(config)?;
            drop(prepared);
            println!("database is up to date");
            Ok(0)
        }
        Command::User(UserCommand::Add { email, name, role }) => {
            user_add(config, &email, &name, role)
        }
        Command::User(UserCommand::List { json }) => user_list(config, json),
        Command::Outbox(OutboxCommand::Flush) => outbox_flush(config).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<i32> {
    let bind = config.bind.clone();
    let prepared = startup::prepare(config)?;
    let listener = std::net::TcpListener::bind(&bind).with_context(|| format!("binding {bind}"))?;
    let app = startup::build(&prepared, listener)?;
    // Outbound mail: deliver the outbox in the background (src/mail/sender.rs).
    crate::mail::sender::spawn_worker(
        prepared.pool.clone(),
        prepared.blobs.clone(),
        prepared.config.clone(),
    )?;
    if let Some(link) = startup::setup_link(&prepared)? {
        // Printed to the console, never logged: whoever holds it can create the first admin.
        println!(
            "\nNo accounts yet. Open this one-time link to create the first admin:\n\n    {link}\n"
        );
    }
    println!(
        "Casebook is listening on {}",
        prepared.config.base_url_trimmed()
    );
    app.server.await.context("running the server")?;
    Ok(0)
}

async fn outbox_flush(config: Config) -> anyhow::Result<i32> {
    let prepared = startup::prepare(config)?;
    let report =
        crate::mail::sender::send_due_now(&prepared.pool, &prepared.blobs, &prepared.config)
            .await?;
    println!(
        "sent {}, waiting to retry {}, failed {}",
        report.sent, report.retrying, report.failed
    );
    Ok(if report.retrying + report.failed == 0 {
        0
    } else {
        1
    })
}

fn read_password() -> anyhow::Result<SecretString> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        let second =
            rpassword::prompt_password("Repeat password: ").context("reading the password")?;
        if first != second {
            bail!("the passwords do not match");
        }
        Ok(SecretString::from(first))
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        Ok(SecretString::from(
            line.trim_end_matches(['\r', '\n']).to_string(),
        ))
    }
}

fn user_add(config: Config, email: &str, name: &str, role: Role) -> anyhow::Result<i32> {
    let email = crate::auth::users::validate_email(email).map_err(anyhow::Error::msg)?;
    if name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    let pw = read_password()?;
    password::check_policy(&pw)?;
    let prepared = startup::prepare(config)?;
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    if User::find_by_email(&mut conn, &email)?.is_some() {
        bail!("an account with the email {email} already exists");
    }
    let hash = password::hash_password(&pw)?;
    let user = User::create(&mut conn, &email, name, role, &hash)?;
    // The first account makes any printed setup link useless.
    crate::auth::setup::consume_all(&mut conn)?;
    println!("created {} <{}> as {}", user.name, user.email, role);
    Ok(0)
}

fn user_list(config: Config, json: bool) -> anyhow::Result<i32> {
    let prepared = startup::prepare(config)?;
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    let users = User::list(&mut conn)?;
    let mut out = std::io::stdout().lock();
    if json {
        let list: Vec<_> = users
            .iter()
            .map(|u| {
                serde_json::json!({"email": u.email, "name": u.name, "role": u.role().as_str(), "disabled": u.disabled})
            })
            .collect();
        writeln!(out, "{}", serde_json::json!({ "users": list }))?;
    } else if users.is_empty() {
        writeln!(
            out,
            "no accounts yet (run `casebook serve` for the setup link, or `casebook user add`)"
        )?;
    } else {
        for u in users {
            let flag = if u.disabled { " (disabled)" } else { "" };
            writeln!(
                out,
                "{:<9} {:<32} {}{flag}",
                u.role().as_str(),
                u.email,
                u.name
            )?;
        }
    }
    Ok(0)
}
