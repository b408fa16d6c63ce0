//! The command line through the real binary: migrate, user add (password on stdin), user list.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

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
