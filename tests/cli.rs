//! The command line through the real binary: migrate, user add (password on stdin), user list;
//! a database that cannot be reached, reported with its cause; `serve` starting the SLA sweep.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use casebook::cases::Case;
use casebook::cases::messages::CaseEvent;
use casebook::cases::model::NewCase;
use casebook::workflow::Priority;
use casebook::workflow::service::{self, SlaRules};
use chrono::Utc;
use common::{BackendKind, TestEnv};

fn casebook(env: &TestEnv, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebook"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env.env_vars() {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run casebook");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn users_are_added_from_the_shell_and_listed(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let (code, out, err) = casebook(&env, &["migrate"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("up to date"));

    let (code, out, err) = casebook(&env, &["user", "list"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no accounts yet"));

    let (code, out, err) = casebook(
        &env,
        &[
            "user",
            "add",
            "--email",
            "Wangbb@cmgos.com",
            "--name",
            "Wang Binbin",
            "--role",
            "agent",
        ],
        Some("a long enough password\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("created Wang Binbin <wangbb@cmgos.com> as agent"),
        "{out}"
    );
    assert!(
        !out.contains("a long enough password") && !err.contains("a long enough password"),
        "password never echoed"
    );

    let (code, _, err) = casebook(
        &env,
        &[
            "user",
            "add",
            "--email",
            "wangbb@cmgos.com",
            "--name",
            "Again",
            "--role",
            "agent",
        ],
        Some("a long enough password\n"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");

    let (code, _, err) = casebook(
        &env,
        &[
            "user",
            "add",
            "--email",
            "x@cmgos.com",
            "--name",
            "X",
            "--role",
            "boss",
        ],
        Some("a long enough password\n"),
    );
    assert_ne!(code, 0);
    assert!(err.contains("boss"), "{err}");

    let (code, _, err) = casebook(
        &env,
        &[
            "user",
            "add",
            "--email",
            "x@cmgos.com",
            "--name",
            "X",
            "--role",
            "admin",
        ],
        Some("short\n"),
    );
    assert_eq!(code, 2);
    assert!(err.contains("at least 10 characters"), "{err}");

    // The shell is held to the same rule as the pages: no common or repeated passwords.
    for (password, why) in [
        ("password123\n", "most commonly used passwords"),
        ("1111111111\n", "repeats the same characters"),
    ] {
        let (code, _, err) = casebook(
            &env,
            &[
                "user",
                "add",
                "--email",
                "x@cmgos.com",
                "--name",
                "X",
                "--role",
                "admin",
            ],
            Some(password),
        );
        assert_eq!(code, 2, "{password}");
        assert!(err.contains(why), "{err}");
    }

    let (code, out, err) = casebook(&env, &["user", "list", "--json"], None);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["users"].as_array().unwrap().len(), 1);
    assert_eq!(v["users"][0]["email"], "wangbb@cmgos.com");
    assert_eq!(v["users"][0]["role"], "agent");
}

#[test]
fn users_are_added_from_the_shell_and_listed_on_sqlite() {
    users_are_added_from_the_shell_and_listed(BackendKind::Sqlite);
}

#[test]
fn users_are_added_from_the_shell_and_listed_on_postgres() {
    users_are_added_from_the_shell_and_listed(BackendKind::Postgres);
}

#[test]
fn bad_configuration_is_reported_with_the_key_name() {
    let Some(env) = TestEnv::new(BackendKind::Sqlite) else {
        return;
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebook"));
    cmd.args(["migrate"])
        .env_clear()
        .env("CASEBOOK_DATA_DIR", env.data_dir.path())
        .env("CASEBOOK_BIND_ADDRESS", "x");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CASEBOOK_BIND_ADDRESS"));
}

/// Runs `casebook migrate` against `database_url` with a fresh data dir: exit code, stderr, and how
/// long the binary took to give up.
fn migrate_against(database_url: &str) -> (i32, String, Duration) {
    let data_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_casebook"))
        .arg("migrate")
        .env_clear()
        .env("CASEBOOK_DATABASE_URL", database_url)
        .env("CASEBOOK_DATA_DIR", data_dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// A generous bound, far above the few milliseconds a refusal takes and below the pool's wait that
/// used to pass before anything was said: only a hang fails it, never a slow machine.
const GIVES_UP_WITHIN: Duration = Duration::from_secs(10);

#[test]
fn a_closed_postgres_port_is_reported_as_refused_without_the_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://nobody:pa55-w0rd-x@127.0.0.1:{port}/postgres");
    let (code, err, took) = migrate_against(&url);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "cannot connect to the PostgreSQL database at postgres://nobody:[redacted]@127.0.0.1:{port}/postgres"
        )),
        "{err}"
    );
    assert!(err.contains("Connection refused"), "{err}");
    assert!(
        !err.contains("pa55-w0rd-x"),
        "the password is never shown: {err}"
    );
    assert!(!err.contains("multiconnection"), "{err}");
    assert!(took < GIVES_UP_WITHIN, "took {took:?}: {err}");
}

/// The server of `CASEBOOK_TEST_POSTGRES_URL` with `change` applied to its URL.
fn test_server_url(change: impl FnOnce(&mut url::Url)) -> Option<String> {
    let Ok(admin) = std::env::var("CASEBOOK_TEST_POSTGRES_URL") else {
        common::require_all_or_skip("PostgreSQL", "CASEBOOK_TEST_POSTGRES_URL is not set");
        eprintln!("\n!!! SKIPPED: CASEBOOK_TEST_POSTGRES_URL is not set !!!\n");
        return None;
    };
    let mut url = url::Url::parse(&admin).expect("CASEBOOK_TEST_POSTGRES_URL is a URL");
    change(&mut url);
    Some(url.to_string())
}

#[test]
fn a_postgres_database_that_does_not_exist_is_named() {
    let Some(url) = test_server_url(|u| u.set_path("/casebook_no_such_db")) else {
        return;
    };
    let (code, err, took) = migrate_against(&url);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("database \"casebook_no_such_db\" does not exist"),
        "{err}"
    );
    assert!(took < GIVES_UP_WITHIN, "took {took:?}: {err}");
}

#[test]
fn an_unknown_postgres_role_is_named() {
    let Some(url) = test_server_url(|u| {
        u.set_username("no_such_role").unwrap();
        u.set_password(None).unwrap();
    }) else {
        return;
    };
    let (code, err, took) = migrate_against(&url);
    assert_eq!(code, 2, "{err}");
    // Trust authentication answers that the role does not exist; password authentication
    // answers that authentication failed for it. Either way the user reads the role's name.
    assert!(err.contains("\"no_such_role\""), "{err}");
    assert!(
        err.contains("does not exist") || err.contains("authentication failed"),
        "{err}"
    );
    assert!(took < GIVES_UP_WITHIN, "took {took:?}: {err}");
}

/// Background work belongs to `serve` alone (tests build the app without it): the SLA sweep must
/// run there, recording the breaches of a case whose clocks ran out long ago.
#[test]
fn serve_runs_the_sla_breach_sweep() {
    let Some(env) = TestEnv::new(BackendKind::Sqlite) else {
        return;
    };
    let config = env.config(&[]);
    let rules = SlaRules::from_config(&config);
    let prepared = casebook::startup::prepare(config.clone()).unwrap();
    let mut conn = prepared.pool.get().unwrap();
    let case = Case::create(
        &mut conn,
        &NewCase {
            number: None,
            title: "Clocks that ran out",
            state: casebook::workflow::CaseState::New,
            priority: casebook::workflow::Priority::Urgent,
            customer_email: "old@customer.test",
            customer_name: None,
            language: "en",
            duplicate_of_id: None,
            at: casebook::db::now(),
        },
    )
    .unwrap();
    let long_ago = Utc::now() - chrono::Duration::days(30);
    service::start_clocks_for_new_case(&mut conn, case.id, Priority::Urgent, long_ago, &rules)
        .unwrap();
    let breaches = |conn: &mut casebook::db::PooledConn| {
        CaseEvent::for_case(conn, case.id)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "sla_breached")
            .count()
    };
    assert_eq!(breaches(&mut conn), 0, "nothing sweeps before serve runs");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebook"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CASEBOOK_BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env.env_vars() {
        cmd.env(k, v);
    }
    let mut server = cmd.spawn().expect("run casebook serve");
    // The sweep runs as soon as the server starts, then every minute.
    let mut found = 0;
    for _ in 0..200 {
        found = breaches(&mut conn);
        if found == 2 || server.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let exited = server.try_wait().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(exited, None, "serve stopped on its own");
    assert_eq!(found, 2, "first response and resolution breached");
}
