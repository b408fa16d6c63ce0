//! Case page throughput by conversation length: the real app on a loopback port, an agent signed in,
//! `GET /cases/{number}` requested by 8 concurrent clients for a few seconds each, for a case with
//! 1 message (the baseline, measured in the same run), 100 and 1,000 messages (`-- 400` adds
//! another length). The page renders the newest messages open and the older ones one line each,
//! so the target is a 1,000-message case at no more than 2× the baseline's time per request.
//!
//! `cargo bench --bench case_page` (release build, SQLite).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use casebook::auth::{Role, User, password};
use casebook::cases::Case;
use casebook::cases::messages::{INBOUND, NewMessage, OUTBOUND};
use casebook::cases::model::NewCase;
use casebook::config::Config;
use casebook::db::DbConn;
use casebook::workflow::{CaseState, Priority};
use chrono::Utc;

const CLIENTS: usize = 8;
const SECONDS: u64 = 4;
const PASSWORD: &str = "bench-password-Casebook-2026";

const BODY: &str = "陈女士，您好：\n根据您提供的 wmic 输出，主板序列号和设备型号已补齐，但激活服务器返回 \
“该序列号已被另一台计算机使用”。请您提供 C:\\Windows\\Logs\\CBS 下的日志，以及 slmgr /dlv 的输出，\
我们将进一步分析。\nThe serial number is reported as already used by another computer; please \
send the CBS logs and the output of slmgr /dlv so that we can look further.\n";

fn case_with(conn: &mut DbConn, messages: usize) -> anyhow::Result<String> {
    let at = Utc::now() - chrono::Duration::days(30);
    let case = Case::create(
        conn,
        &NewCase {
            number: None,
            title: &format!("离线激活失败 Device marker binding is Invalid ({messages} messages)"),
            state: CaseState::Investigating,
            priority: Priority::Normal,
            customer_email: "chenhui.zd@centerm.example",
            customer_name: Some("陈女士"),
            language: "zh-CN",
            duplicate_of_id: None,
            at: at.naive_utc(),
        },
    )?;
    for n in 0..messages {
        let when = at + chrono::Duration::minutes(n as i64 * 7);
        let inbound = n % 2 == 0;
        NewMessage {
            case_id: case.id,
            direction: if inbound { INBOUND } else { OUTBOUND }.into(),
            message_id: Some(format!("bench-{}-{n}@centerm.example", case.id)),
            in_reply_to: None,
            references_ids: String::new(),
            from_email: if inbound {
                "chenhui.zd@centerm.example".into()
            } else {
                "support@cmgos.com".into()
            },
            from_name: None,
            to_addrs: "support@cmgos.com".into(),
            cc_addrs: String::new(),
            subject: "Re: 离线激活失败".into(),
            sent_at: Some(when.naive_utc()),
            received_at: when.naive_utc(),
            body_text: format!("{BODY}#{n}"),
            new_text: format!("{BODY}#{n}"),
            body_html: None,
            auto: false,
            thread_method: "bench".into(),
            raw_sha256: None,
            content_hash: format!("bench-{}-{n}", case.id),
            author_id: None,
            created_at: when.naive_utc(),
        }
        .insert(conn)?;
    }
    Ok(case.number)
}

/// Requests per second for `path` with [`CLIENTS`] concurrent signed-in clients.
async fn throughput(clients: &[reqwest::Client], url: &str) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for client in clients {
        let (client, url, done) = (client.clone(), url.to_string(), done.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let r = client.get(&url).send().await.expect("request");
                assert_eq!(r.status().as_u16(), 200, "{url}");
                r.bytes().await.expect("body");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    done.load(Ordering::Relaxed) as f64 / SECONDS as f64
}

async fn signed_in(base: &str) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = regex::Regex::new(r#"name="csrf_token" value="([^"]+)""#)?
        .captures(&html)
        .map(|c| c[1].to_string())
        .ok_or_else(|| anyhow::anyhow!("no csrf token on the sign-in page"))?;
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "agent@cmgos.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    anyhow::ensure!(r.status().as_u16() == 303, "sign-in failed: {}", r.status());
    Ok(client)
}

fn main() -> anyhow::Result<()> {
    let mut lengths = vec![1usize, 100, 1000];
    lengths.extend(
        std::env::args()
            .skip(1)
            .filter_map(|a| a.parse::<usize>().ok()),
    );
    let dir = tempfile::tempdir()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut env = std::collections::BTreeMap::new();
    env.insert("CASEBOOK_DATA_DIR".into(), dir.path().display().to_string());
    env.insert(
        "CASEBOOK_DATABASE_URL".into(),
        dir.path().join("bench.db").display().to_string(),
    );
    env.insert("CASEBOOK_BASE_URL".into(), base.clone());
    let config = Config::from_sources(None, &env)?;
    let prepared = casebook::startup::prepare(config)?;
    let mut numbers = Vec::new();
    {
        let mut conn = prepared.pool.get()?;
        let hash = password::hash_password(&secrecy::SecretString::from(PASSWORD.to_string()))?;
        User::create(
            &mut conn,
            "agent@cmgos.com",
            "Bench Agent",
            Role::Agent,
            &hash,
        )?;
        for &n in &lengths {
            numbers.push((n, case_with(&mut conn, n)?));
        }
    }
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = casebook::startup::build(&prepared, listener).expect("build app");
            handle_tx.send(app.server.handle()).expect("handle");
            let _ = app.server.await;
        })
    });
    let handle = handle_rx.recv()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let one = signed_in(&base).await?;
        let clients: Vec<reqwest::Client> = (0..CLIENTS).map(|_| one.clone()).collect();
        // Warm up every page once (templates, caches, the SQLite page cache).
        for (_, number) in &numbers {
            clients[0]
                .get(format!("{base}/cases/{number}"))
                .send()
                .await?
                .bytes()
                .await?;
        }
        println!(
            "case page, {CLIENTS} concurrent clients, {SECONDS} s each, release build, SQLite"
        );
        let mut baseline = None;
        for (n, number) in &numbers {
            let bytes = clients[0]
                .get(format!("{base}/cases/{number}"))
                .send()
                .await?
                .bytes()
                .await?
                .len();
            let rps = throughput(&clients, &format!("{base}/cases/{number}")).await;
            let base_rps = *baseline.get_or_insert(rps);
            println!(
                "{n:>6} messages: {rps:>8.0} req/s  {:>6.2} ms/req  page {:>4} KiB  {:.2}× the 1-message case's time",
                1000.0 / rps * CLIENTS as f64,
                bytes / 1024,
                base_rps / rps
            );
        }
        println!("target: the 1,000-message case at ≤ 2.00× the 1-message case's time per request");
        anyhow::Ok(())
    })?;
    drop(handle.stop(false));
    let _ = server.join();
    Ok(())
}
