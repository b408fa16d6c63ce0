//! `casebook demo` through the real binary: one command makes a fresh data directory, prints an
//! account per role with its password, and serves a Casebook where the seed case, its diagnostics
//! and a case in every state are there to see; a second run never touches existing data.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn demo_command(dir: &std::path::Path, port: u16, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebook"));
    cmd.arg("demo")
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CASEBOOK_BIND", format!("127.0.0.1:{port}"))
        .env("CASEBOOK_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[actix_web::test]
async fn one_command_serves_the_seed_case_and_a_case_in_every_state() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let port = free_port();
    let mut server = Server(
        demo_command(&dir, port, &[])
            .spawn()
            .expect("run casebook demo"),
    );

    // Read what it prints until it listens.
    let stdout = server.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => {
                let done = line.contains("Casebook is listening");
                printed.push(line);
                if done {
                    break;
                }
            }
            Err(e) => panic!("the demo did not start ({e}): {printed:#?}"),
        }
    }
    let text = printed.join("\n");
    let password_of = |email: &str| -> String {
        let line = printed
            .iter()
            .find(|l| l.contains(email))
            .unwrap_or_else(|| panic!("{email} is printed: {text}"));
        line.rsplit("password: ").next().unwrap().trim().to_string()
    };
    for role in ["admin", "manager", "agent", "engineer"] {
        assert!(
            printed.iter().any(|l| l.trim_start().starts_with(role)),
            "an account for {role}: {text}"
        );
    }
    let states = [
        "new",
        "defined",
        "scoped",
        "investigating",
        "waiting_on_customer",
        "escalated",
        "resolved",
        "archived",
    ];
    let mut numbers = Vec::new();
    for state in states {
        let line = printed
            .iter()
            .find(|l| l.trim_end().ends_with(&format!("  {state}")))
            .unwrap_or_else(|| panic!("a case in {state}: {text}"));
        numbers.push((state, line.split_whitespace().next().unwrap().to_string()));
    }

    // The agent signs in with the printed password and finds it all.
    let base = format!("http://127.0.0.1:{port}");
    let client = common::new_client();
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", common::csrf_from(&html).as_str()),
            ("email", "wangbb@cmgos.com"),
            ("password", password_of("wangbb@cmgos.com").as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "the printed password signs in");
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let r = client.get(url).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.text().await.unwrap()
        }
    };
    let seed = get("/cases/CAS-06004-S8K5X3".into()).await;
    assert!(
        seed.contains("Device marker binding is Invalid"),
        "the seed thread"
    );
    assert!(seed.contains("wmic-console.txt"), "its diagnostics");
    for (state, number) in &numbers {
        let list = get(format!("/cases?state={state}")).await;
        assert!(list.contains(number.as_str()), "{number} is {state}");
    }
    // The walk mailed the customer as an agent would: the scoped case shows its scope mail.
    let scoped = &numbers.iter().find(|(s, _)| *s == "scoped").unwrap().1;
    let page = get(format!("/cases/{scoped}")).await;
    assert!(
        page.contains("问题定义与范围确认"),
        "the scope mail is in the thread"
    );

    // A second demo never reuses a directory with data in it.
    let out = demo_command(&dir, free_port(), &["--no-serve"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not empty"), "{err}");
}
