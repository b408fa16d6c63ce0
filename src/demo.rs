//! `casebook demo`: a working Casebook in one command for someone seeing it for the first time.
//!
//! It makes a fresh data directory (SQLite), one account per role with a printed random password,
//! imports the seed thread (`CAS-06004-S8K5X3`, the offline-activation case that motivated
//! Casebook) with its agents, attaches the customer's `wmic` console output to it as activation
//! diagnostics, and opens a few generated cases and walks each to a different state (new, defined,
//! scoped, investigating, waiting on the customer, escalated, resolved, archived) through the same
//! services the pages use, so their timelines, clocks and customer mail are real. Then it serves.
//!
//! Nothing here is special-cased elsewhere: the demo is ordinary data made by ordinary operations.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::Utc;
use rand::Rng;

use crate::auth::{Role, User, password};
use crate::cases::Case;
use crate::config::Config;
use crate::diagnostics::service::{Engine, Staff, Uploader};
use crate::diagnostics::store::{Via, rules_for, upload_limits};
use crate::diagnostics::upload::UploadedFile;
use crate::ingest::pipeline::{Incoming, Ingestor};
use crate::startup::{self, Prepared};
use crate::workflow::service::{self, ActorRef, CaseKey, Move, TransitionCommand};
use crate::workflow::state::CaseState;
use crate::workflow::transitions::TransitionInput;

/// The seed thread as exported from the old helpdesk.
const SEED_THREAD: &[u8] = include_bytes!("../tests/fixtures/transcripts/seed-thread.txt");
/// The customer's console with the `wmic` output once the hardware IDs were filled in.
const SEED_DIAGNOSTICS: &[u8] =
    include_bytes!("../tests/fixtures/diagnostics/seed-after-console.txt");
/// The seed case's number.
pub const SEED_CASE: &str = "CAS-06004-S8K5X3";

/// The support team's domain in the demo (the seed thread's).
const SUPPORT_DOMAIN: &str = "cmgos.com";

/// One demo account.
#[derive(Debug, Clone)]
pub struct DemoUser {
    /// Sign-in address.
    pub email: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Role.
    pub role: Role,
    /// The generated password (printed once).
    pub password: String,
}

/// What `casebook demo` made.
#[derive(Debug)]
pub struct Demo {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The accounts, one per role (the seed thread's agent and engineer among them).
    pub users: Vec<DemoUser>,
    /// The generated cases and the state each was walked to.
    pub cases: Vec<(String, CaseState)>,
}

/// A random password of 16 letters and digits (never a common one).
fn random_password() -> String {
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// The data directory to use: `wanted` if it is absent or empty, else a refusal; without one, a
/// new folder in the system's temporary directory.
fn fresh_dir(wanted: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match wanted {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!(
            "casebook-demo-{}",
            Utc::now().format("%Y%m%d-%H%M%S")
        )),
    };
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty: the demo starts from a fresh data directory (name another with --data-dir)",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The demo's configuration: `config` (bind address, base URL, SMTP…) with a fresh SQLite data
/// directory and the seed thread's support domain.
pub fn demo_config(mut config: Config, data_dir: &Path) -> Config {
    config.database_url = data_dir.join("casebook.db").display().to_string();
    config.data_dir = data_dir.to_path_buf();
    config.support_domains = vec![SUPPORT_DOMAIN.to_string()];
    config.mail_from = format!("support@{SUPPORT_DOMAIN}");
    config
}

/// Builds the demo in a fresh directory (see the module documentation).
pub fn build(config: Config, wanted_dir: Option<&Path>) -> anyhow::Result<(Demo, Prepared)> {
    let data_dir = fresh_dir(wanted_dir)?;
    let prepared = startup::prepare(demo_config(config, &data_dir))?;
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;

    // Accounts: the seed thread's agent and engineer keep their names and addresses, so the import
    // recognises their messages as the support team's.
    let mut users = Vec::new();
    let mut accounts = Vec::new();
    for (email, name, role) in [
        ("admin@cmgos.com", "Demo Admin", Role::Admin),
        ("gaomeng@cmgos.com", "Gao Meng", Role::Manager),
        ("wangbb@cmgos.com", "Wang Binbin", Role::Agent),
        ("shign@cmgos.com", "Shi Guannan", Role::Engineer),
    ] {
        let pw = random_password();
        let secret = secrecy::SecretString::from(pw.clone());
        password::check_policy(&secret, &[email, name])?;
        let hash = password::hash_password(&secret)?;
        accounts.push(User::create(&mut conn, email, name, role, &hash)?);
        users.push(DemoUser {
            email,
            name,
            role,
            password: pw,
        });
    }
    crate::auth::setup::consume_all(&mut conn)?;
    let agent = accounts[2].clone();
    let engineer = accounts[3].clone();

    // The seed thread, then its diagnostics.
    let ingestor = Ingestor::new(&mut conn, &prepared.config, &prepared.blobs)?;
    let raw_sha = prepared.blobs.put(SEED_THREAD)?;
    let transcript = crate::ingest::sources::transcript::parse_transcript(
        &crate::ingest::sources::transcript::decode_text(SEED_THREAD),
    )
    .context("reading the seed thread")?;
    crate::ingest::transcript_import::import(
        &mut conn,
        ingestor.staff(),
        &transcript,
        &raw_sha,
        &ingestor.sla_rules(),
    )?;
    let seed = Case::find_by_number(&mut conn, SEED_CASE)?.context("the seed case")?;
    let rules = rules_for(&prepared.config).context("loading the diagnostics rules")?;
    let limits = upload_limits(&prepared.config);
    crate::diagnostics::service::attach_files(
        &mut conn,
        &Engine {
            blobs: &prepared.blobs,
            rules: &rules,
            limits: &limits,
        },
        seed.id,
        &[UploadedFile {
            field: "files".into(),
            filename: "wmic-console.txt".into(),
            content_type: "text/plain".into(),
            bytes: SEED_DIAGNOSTICS.to_vec(),
        }],
        &Uploader::Staff {
            staff: Staff {
                id: agent.id,
                name: agent.name.clone(),
            },
            via: Via::Page,
        },
    )
    .map_err(|e| anyhow::anyhow!("attaching the seed diagnostics: {e}"))?;

    // Generated cases, one per state, each walked there through the workflow service.
    let as_agent = ActorRef::User {
        id: agent.id,
        name: agent.name.clone(),
        role: Role::Agent,
    };
    let as_engineer = ActorRef::User {
        id: engineer.id,
        name: engineer.name.clone(),
        role: Role::Engineer,
    };
    let mut cases = Vec::new();
    for (i, (subject, target)) in GENERATED.iter().enumerate() {
        let raw = customer_mail(i, subject);
        let outcome = ingestor.ingest_batch(
            &mut conn,
            vec![Incoming {
                origin: "demo".into(),
                bytes: raw.into_bytes(),
            }],
        )?;
        let number = outcome[0]
            .case()
            .context("a generated mail opened no case")?
            .to_string();
        service::assign(
            &mut conn,
            CaseKey::Number(&number),
            &as_agent,
            Some(agent.id),
            Utc::now(),
        )
        .map_err(|e| anyhow::anyhow!("assigning {number}: {e}"))?;
        for (to, input) in path_to(*target, &engineer) {
            let actor = if to == CaseState::Investigating && input.findings.is_some() {
                &as_engineer
            } else {
                &as_agent
            };
            service::take_transition(
                &mut conn,
                &prepared.blobs,
                &prepared.config,
                &TransitionCommand {
                    case: CaseKey::Number(&number),
                    actor: actor.clone(),
                    how: Move::To {
                        to,
                        expected_from: None,
                    },
                    input,
                    at: Utc::now(),
                },
            )
            .map_err(|e| anyhow::anyhow!("{number} → {to}: {e}"))?;
        }
        cases.push((number, *target));
    }
    drop(conn);
    Ok((
        Demo {
            data_dir,
            users,
            cases,
        },
        prepared,
    ))
}

/// The generated cases: a subject each and the state it ends in.
const GENERATED: &[(&str, CaseState)] = &[
    ("KMS 激活报错 0xC004F074", CaseState::New),
    (
        "Office 2021 LTSC volume activation fails on 12 PCs",
        CaseState::Defined,
    ),
    ("批量激活密钥 MAK 次数不足", CaseState::Scoped),
    (
        "Activation lost after motherboard replacement",
        CaseState::Investigating,
    ),
    ("离线激活确认 ID 无法生成", CaseState::WaitingOnCustomer),
    (
        "Thin client image: activation says the device is virtual",
        CaseState::Escalated,
    ),
    ("Windows 11 IoT 激活后水印仍在", CaseState::Resolved),
    (
        "License transfer between two OEM devices",
        CaseState::Archived,
    ),
];

/// A customer's first mail for generated case `i`.
fn customer_mail(i: usize, subject: &str) -> String {
    let at = Utc::now() - chrono::Duration::hours(30 - i as i64 * 3);
    format!(
        "From: Customer {i} <customer{i}@oem{i}.example>\r\n\
         To: support@{SUPPORT_DOMAIN}\r\n\
         Subject: {subject}\r\n\
         Message-ID: <demo-{i}-{}@oem{i}.example>\r\n\
         Date: {}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         {subject}\r\n\r\n\
         您好，我们的设备在激活时遇到上述问题，请协助排查。\r\n\
         Hello, our devices hit the problem above; please help.\r\n",
        at.timestamp(),
        at.to_rfc2822()
    )
}

fn input(f: impl FnOnce(&mut TransitionInput)) -> TransitionInput {
    let mut i = TransitionInput::default();
    f(&mut i);
    i
}

/// The transitions that take a new case to `target`, with the texts each requires.
fn path_to(target: CaseState, engineer: &User) -> Vec<(CaseState, TransitionInput)> {
    use CaseState::*;
    let define = (
        Defined,
        input(|i| i.definition = Some("The customer's activation fails as described.".into())),
    );
    let scope = (
        Scoped,
        input(|i| i.scope = Some("Find why activation fails on the named devices.".into())),
    );
    let investigate = (Investigating, TransitionInput::default());
    let steps: Vec<(CaseState, TransitionInput)> = match target {
        New => vec![],
        Defined => vec![define],
        Scoped => vec![define, scope],
        Investigating => vec![define, scope, investigate],
        WaitingOnCustomer => vec![
            define,
            scope,
            investigate,
            (
                WaitingOnCustomer,
                input(|i| {
                    i.question =
                        Some("请提供 wmic csproduct get name,identifyingnumber 的输出。".into())
                }),
            ),
        ],
        Escalated => vec![
            define,
            scope,
            investigate,
            (
                Escalated,
                input(|i| {
                    i.target = Some(engineer.email.clone());
                    i.reason = Some("The device reports a hypervisor; need engineering.".into());
                    i.tried = Some("Collected wmic and systeminfo output.".into());
                }),
            ),
        ],
        Resolved => vec![
            define,
            scope,
            investigate,
            (
                Resolved,
                input(|i| i.resolution = Some("重新导入 OEM 密钥后激活成功，水印消失。".into())),
            ),
        ],
        Archived => vec![
            define,
            scope,
            investigate,
            (
                Resolved,
                input(|i| i.resolution = Some("The licence was moved to the new device.".into())),
            ),
            (
                Archived,
                input(|i| {
                    i.summary = Some(
                        "Problem: licence transfer between OEM devices.\n\
                         Resolution: moved with the OEM's approval.\nNext steps: none."
                            .into(),
                    )
                }),
            ),
        ],
    };
    steps
}

/// The welcome text `casebook demo` prints.
pub fn welcome(demo: &Demo, base_url: &str) -> String {
    let mut out = format!(
        "\nCasebook demo data in {}\n\nOpen {base_url}/login and sign in as one of:\n\n",
        demo.data_dir.display()
    );
    for u in &demo.users {
        out.push_str(&format!(
            "    {:<9} {:<20} {:<14} password: {}\n",
            u.role.as_str(),
            u.email,
            u.name,
            u.password
        ));
    }
    out.push_str(&format!(
        "\nThe seed case {SEED_CASE} (offline activation, \"Device marker binding is Invalid\") has its \
         whole thread and the customer's wmic output analysed as diagnostics.\nGenerated cases:\n"
    ));
    for (number, state) in &demo.cases {
        out.push_str(&format!("    {number}  {}\n", state.as_str()));
    }
    out.push_str(
        "\nNo SMTP server is configured: mail to customers is written as .eml files to the outbox folder of the data directory.\n",
    );
    out
}
