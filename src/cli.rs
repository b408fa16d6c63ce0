//! The command line: `casebook serve | demo | migrate | user add | user list | diagnose | …`.

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
    /// A working Casebook in one command: a fresh data directory with the seed case, generated
    /// cases in every state, diagnostics, and one account per role (passwords printed); then serve.
    Demo {
        /// Where to make the demo (must be absent or empty; default: a new folder in the temp dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Make the data and print the accounts, but do not start the server.
        #[arg(long)]
        no_serve: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Import mail: .eml files, folders of them, mbox files, Maildirs, thread transcripts, or - for stdin.
    Ingest {
        /// Print a JSON summary instead of text.
        #[arg(long)]
        json: bool,
        /// Retry every message in the quarantine first.
        #[arg(long)]
        retry_quarantine: bool,
        /// What to import.
        paths: Vec<PathBuf>,
    },
    /// Deliver one message from stdin to a running Casebook (for an MTA pipe transport).
    Mailgate {
        /// Casebook's base URL, e.g. https://help.example.com.
        #[arg(long)]
        url: String,
        /// File holding the inbound token (CASEBOOK_INBOUND_TOKEN of the server).
        #[arg(long)]
        token_file: PathBuf,
        /// Seconds to wait for Casebook before telling the MTA to retry.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Read cases from the shell.
    #[command(subcommand)]
    Cases(CasesCommand),
    /// Analyse activation diagnostics (wmic, systeminfo, PowerShell output, zip bundles, folders)
    /// without a server or database: one snapshot per path, oldest first.
    Diagnose(DiagnoseArgs),
    /// Outbound mail queue.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Manage API tokens (`Authorization: Bearer …` for /api/v1).
    #[command(subcommand)]
    Token(crate::api::cli::TokenCommand),
    /// The blob store (raw mail, attachments, diagnostics files).
    #[command(subcommand)]
    Blobs(BlobsCommand),
}

/// `casebook blobs …`.
#[derive(Debug, Subcommand)]
pub enum BlobsCommand {
    /// Check that every blob the database refers to is present and unchanged (after restoring a
    /// backup or moving the data dir). Exit 0 when all are, 1 when some are missing or corrupt.
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `casebook outbox …`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Deliver every due mail now (SMTP, or the file outbox without `[smtp]`) and exit.
    Flush,
}

/// `casebook cases …`.
#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// List cases, most recently active first.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only this state (new, defined, scoped, investigating, waiting_on_customer, escalated, resolved, archived).
        #[arg(long)]
        state: Option<String>,
    },
    /// Show one case with its messages and timeline.
    Show {
        /// The case number, e.g. CAS-06004-S8K5X3.
        number: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `casebook diagnose …`.
#[derive(Debug, clap::Args)]
pub struct DiagnoseArgs {
    /// Print JSON instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Report language: en or zh-CN.
    #[arg(long, default_value = "en")]
    pub lang: crate::i18n::Lang,
    /// A rules file adding to the built-in rules (default: the `diagnostics_rules` setting).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Files, zip bundles or folders; each is one snapshot.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
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
    // The mailgate runs on the mail server and needs no Casebook configuration at all.
    if let Command::Mailgate {
        url,
        token_file,
        timeout,
    } = &cli.command
    {
        return Ok(crate::ingest::cli::run_mailgate(url, token_file, *timeout));
    }
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Mailgate { .. } => Ok(crate::ingest::cli::EX_USAGE),
        Command::Ingest {
            json,
            retry_quarantine,
            paths,
        } => crate::ingest::cli::run_ingest(config, &paths, json, retry_quarantine),
        Command::Cases(CasesCommand::List { json, state }) => cases_list(config, json, state),
        Command::Cases(CasesCommand::Show { number, json }) => cases_show(config, &number, json),
        Command::Serve => serve(config).await,
        Command::Demo { data_dir, no_serve } => demo(config, data_dir, no_serve).await,
        Command::Migrate => {
            let prepared = startup::prepare(config)?;
            fill_sla_instants(&prepared)?;
            drop(prepared);
            println!("database is up to date");
            Ok(0)
        }
        Command::User(UserCommand::Add { email, name, role }) => {
            user_add(config, &email, &name, role)
        }
        Command::User(UserCommand::List { json }) => user_list(config, json),
        Command::Diagnose(args) => Ok(diagnose(&config, &args)),
        Command::Outbox(OutboxCommand::Flush) => outbox_flush(config).await,
        Command::Token(command) => crate::api::cli::run(config, command),
        Command::Blobs(BlobsCommand::Verify { json }) => blobs_verify(config, json),
    }
}

/// `casebook blobs verify`: 0 when every referenced blob is present and intact, 1 otherwise.
fn blobs_verify(config: Config, json: bool) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    let prepared = startup::prepare(config)?;
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "checking blobs [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    });
    let report = crate::db::verify::verify(&mut conn, &prepared.blobs, |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(
            out,
            "checked {} blobs referred to by {} rows: {} missing, {} corrupt",
            report.blobs,
            report.references,
            report.missing.len(),
            report.corrupt.len()
        )?;
        for (what, problems) in [("missing", &report.missing), ("corrupt", &report.corrupt)] {
            for p in problems {
                let rows: Vec<String> = p
                    .referenced_by
                    .iter()
                    .map(|r| format!("{} #{}", r.table, r.id))
                    .collect();
                let more = p.references.saturating_sub(rows.len());
                writeln!(
                    out,
                    "{what} {}: {}; referred to by {}{}",
                    p.sha256,
                    p.error,
                    rows.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )?;
            }
        }
    }
    Ok(if report.is_ok() { 0 } else { 1 })
}

/// `casebook diagnose`: exit 0 when every input was analysed, 1 when one was refused, 2 on usage
/// errors (no paths, an invalid rules file).
fn diagnose(config: &Config, args: &DiagnoseArgs) -> i32 {
    use crate::diagnostics::{Limits, Rules, cli};
    let rules_path = args
        .rules
        .as_deref()
        .or(config.diagnostics_rules.as_deref());
    let rules = match Rules::load_with_override(rules_path) {
        Ok(rules) => rules,
        Err(e) => {
            eprintln!("error: {e}");
            return cli::EXIT_USAGE;
        }
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    cli::run_with(
        &args.paths,
        args.json,
        args.lang,
        &rules,
        &Limits::default(),
        &mut stdout.lock(),
        &mut stderr.lock(),
    )
}

/// Data fix-ups that need the configuration, after the migrations: the near-breach instant of open
/// SLA clocks and the business time of met ones, stored before those columns existed
/// (`workflow::service::fill_near_breach`, `fill_elapsed`; no-ops once done).
fn fill_sla_instants(prepared: &startup::Prepared) -> anyhow::Result<()> {
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    let rules = crate::workflow::service::SlaRules::from_config(&prepared.config);
    let filled = crate::workflow::service::fill_near_breach(&mut conn, &rules)
        .context("filling the near-breach instants of SLA clocks")?;
    if filled > 0 {
        tracing::info!(clocks = filled, "SLA near-breach instants filled");
    }
    let filled = crate::workflow::service::fill_elapsed(&mut conn, &rules)
        .context("filling the business time of met SLA clocks")?;
    if filled > 0 {
        tracing::info!(clocks = filled, "SLA elapsed business times filled");
    }
    Ok(())
}

async fn demo(config: Config, data_dir: Option<PathBuf>, no_serve: bool) -> anyhow::Result<i32> {
    let (demo, prepared) = crate::demo::build(config, data_dir.as_deref())?;
    print!(
        "{}",
        crate::demo::welcome(&demo, prepared.config.base_url_trimmed())
    );
    if no_serve {
        return Ok(0);
    }
    run_server(prepared).await
}

async fn serve(config: Config) -> anyhow::Result<i32> {
    let prepared = startup::prepare(config)?;
    run_server(prepared).await
}

async fn run_server(prepared: startup::Prepared) -> anyhow::Result<i32> {
    let bind = prepared.config.bind.clone();
    fill_sla_instants(&prepared)?;
    let listener = std::net::TcpListener::bind(&bind).with_context(|| format!("binding {bind}"))?;
    let app = startup::build(&prepared, listener)?;
    // Background tasks start here and only here, never in `startup::build`: tests build the app
    // many times and run the sender and the sweep themselves, so a task there would race them.
    // Outbound mail: deliver the outbox (src/mail/sender.rs).
    crate::mail::sender::spawn_worker(
        prepared.pool.clone(),
        prepared.blobs.clone(),
        prepared.config.clone(),
    )?;
    // SLA: record breaches of overdue clocks every minute (src/workflow/service.rs).
    crate::workflow::service::start_breach_sweeper(&prepared.pool);
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
    password::check_policy(&pw, &[&email, name])?;
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

fn cases_list(config: Config, json: bool, state: Option<String>) -> anyhow::Result<i32> {
    let prepared = startup::prepare(config)?;
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    let filter = crate::cases::model::CaseFilter { state };
    let cases = crate::cases::views::list(&mut conn, &filter, i64::MAX, 0)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::json!({ "cases": cases }))?;
    } else if cases.is_empty() {
        writeln!(out, "no cases")?;
    } else {
        for c in cases {
            writeln!(
                out,
                "{}  {:<20} {:<8} {:>4} msgs  {}  {}",
                c.number, c.state, c.priority, c.messages, c.customer, c.title
            )?;
        }
    }
    Ok(0)
}

fn cases_show(config: Config, number: &str, json: bool) -> anyhow::Result<i32> {
    let number = crate::cases::CaseNumber::parse(number)?;
    let prepared = startup::prepare(config)?;
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    let Some(case) = crate::cases::views::detail(&mut conn, number.as_str())? else {
        eprintln!("error: no case {number}");
        return Ok(1);
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&case)?)?;
        return Ok(0);
    }
    writeln!(
        out,
        "{}  {}\nstate: {}  priority: {}  customer: {}",
        case.number, case.title, case.state, case.priority, case.customer.email
    )?;
    for m in &case.messages {
        let who = m.from_name.clone().unwrap_or_else(|| m.from.clone());
        writeln!(
            out,
            "\n--- {} · {} · {} ({})\n{}",
            m.date, who, m.direction, m.thread_method, m.new_text
        )?;
    }
    writeln!(out, "\ntimeline:")?;
    for e in &case.events {
        let change = match (&e.from, &e.to) {
            (Some(f), Some(t)) => format!(" {f} → {t}"),
            (None, Some(t)) => format!(" → {t}"),
            _ => String::new(),
        };
        writeln!(out, "  {} {} {}{change}", e.at, e.actor, e.kind)?;
    }
    Ok(0)
}
