//! Ingest throughput benchmark: a generated corpus of mixed mail into a fresh SQLite database.
//!
//! `cargo bench --bench ingest` (optionally `-- 20000` for another message count). The corpus mixes
//! UTF-8, GB2312 and GBK; base64, quoted-printable and 8-bit bodies; new cases and quoted replies
//! threaded by In-Reply-To/References and by subject token; 10% carry a ~16 KiB attachment. It
//! prints messages per second and the peak resident memory of the process. `-- --write-mbox PATH`
//! writes the same corpus as an mbox file instead, to time `casebook ingest PATH` on it.

use std::time::Instant;

use base64::Engine;
use casebook::config::Config;
use casebook::ingest::pipeline::{Incoming, Ingestor, Summary};

const DEFAULT_MESSAGES: usize = 12_000;

fn qp(text: &[u8]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for &b in text {
        let piece = if b == b'\n' {
            line = 0;
            out.push('\n');
            continue;
        } else if (33..=126).contains(&b) && b != b'=' || b == b' ' {
            (b as char).to_string()
        } else {
            format!("={b:02X}")
        };
        if line + piece.len() > 72 {
            out.push_str("=\n");
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out
}

fn encode_body(text: &str, scheme: usize) -> (String, String, String) {
    let b64 = |bytes: &[u8]| {
        let s = base64::engine::general_purpose::STANDARD.encode(bytes);
        s.as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    match scheme % 5 {
        0 => ("utf-8".into(), "base64".into(), b64(text.as_bytes())),
        1 => (
            "utf-8".into(),
            "quoted-printable".into(),
            qp(text.as_bytes()),
        ),
        2 => {
            let (bytes, _, _) = encoding_rs::GBK.encode(text);
            ("gb2312".into(), "base64".into(), b64(&bytes))
        }
        3 => {
            let (bytes, _, _) = encoding_rs::GBK.encode(text);
            ("gbk".into(), "quoted-printable".into(), qp(&bytes))
        }
        _ => ("utf-8".into(), "8bit".into(), text.to_string()),
    }
}

fn generate(n: usize) -> Vec<Incoming> {
    let topics = [
        "离线激活失败",
        "Device marker binding is Invalid",
        "SN已被另一计算机使用",
        "激活服务器无法连接",
        "license key rejected",
    ];
    let mut out = Vec::with_capacity(n);
    let mut threads: Vec<(String, String, usize)> = Vec::new(); // (root id, subject, customer)
    let attachment = base64::engine::general_purpose::STANDARD.encode(
        (0..16 * 1024)
            .map(|i| (i * 31 % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let attachment: String = attachment
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned() + "\n")
        .collect();
    for i in 0..n {
        let reply = i % 10 >= 3 && !threads.is_empty();
        let (customer, subject, refs) = if reply {
            let (root, subj, customer) = threads[(i * 7919) % threads.len()].clone();
            (customer, format!("Re: {subj}"), Some(root))
        } else {
            let customer = i % 997;
            let subj = format!("{} #{i}", topics[i % topics.len()]);
            threads.push((
                format!("m{i}@customer{customer}.example"),
                subj.clone(),
                customer,
            ));
            (customer, subj, None)
        };
        let body = if reply {
            format!(
                "王女士，您好：\n\n日志已上传，请帮忙确认具体原因。第{i}次更新。\nThe terminal still fails with the same error.\n\n在 2022年4月21日 17:45，Wang Binbin <wangbb@cmgos.com> 写道：\n> 陈女士，您好：\n> 如刚刚电话沟通，请您按照如下步骤收集日志。\n> 1) 首先，在有问题的计算机上下载附件zip文件并解压。\n> 2) 收集完毕后将在当前用户桌面生成CMGE_Log。\n\n--\n陈慧\n"
            )
        } else {
            format!(
                "hi 王女士！\n    用SN : ZZ02-2200-{i:05}依然无法激活，提示是SN已被另一计算机使用，请帮忙确认具体原因！\nwmic baseboard get serialnumber returns nothing.\n________________________________\ncustomer{customer}@example.com\n"
            )
        };
        let (charset, cte, encoded) = encode_body(&body, i);
        let subject_word = format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(subject.as_bytes())
        );
        let mut headers = format!(
            "From: =?UTF-8?B?{}?= <customer{customer}@customer{customer}.example>\nTo: support@cmgos.com\nSubject: {subject_word}\nDate: Thu, 21 Apr 2022 18:02:34 +0800\nMessage-ID: <m{i}@customer{customer}.example>\nMIME-Version: 1.0\n",
            base64::engine::general_purpose::STANDARD.encode("陈慧".as_bytes())
        );
        if let Some(root) = &refs {
            headers.push_str(&format!("In-Reply-To: <{root}>\nReferences: <{root}>\n"));
        }
        let raw = if i % 10 == 5 {
            format!(
                "{headers}Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\nContent-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n{encoded}\n--b{i}\nContent-Type: application/zip; name=\"CMGE_Log.zip\"\nContent-Disposition: attachment; filename=\"CMGE_Log.zip\"\nContent-Transfer-Encoding: base64\n\n{attachment}--b{i}--\n"
            )
        } else {
            format!(
                "{headers}Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n{encoded}\n"
            )
        };
        out.push(Incoming {
            origin: format!("bench#{i}"),
            bytes: raw.replace('\n', "\r\n").into_bytes(),
        });
    }
    out
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> anyhow::Result<()> {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(DEFAULT_MESSAGES);
    if let Some(path) = std::env::args().skip_while(|a| a != "--write-mbox").nth(1) {
        return write_mbox(&path, n);
    }
    let dir = tempfile::tempdir()?;
    let mut env = std::collections::BTreeMap::new();
    env.insert(
        "CASEBOOK_DATA_DIR".to_string(),
        dir.path().display().to_string(),
    );
    env.insert(
        "CASEBOOK_DATABASE_URL".to_string(),
        dir.path().join("bench.db").display().to_string(),
    );
    // Configured like the support team in the corpus: its mailbox and its domain.
    env.insert(
        "CASEBOOK_MAIL_FROM".to_string(),
        "support@cmgos.com".to_string(),
    );
    env.insert(
        "CASEBOOK_SUPPORT_DOMAINS".to_string(),
        "cmgos.com".to_string(),
    );
    let config = Config::from_sources(None, &env)?;
    let prepared = casebook::startup::prepare(config)?;
    let mut conn = prepared.pool.get()?;
    let ingestor = Ingestor::new(&mut conn, &prepared.config, &prepared.blobs)?;
    let sql_profile = std::env::args().any(|a| a == "--sql-profile");
    let statements = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        (u64, bool),
    >::new()));
    if sql_profile {
        use diesel::Connection;
        use diesel::connection::InstrumentationEvent;
        let seen = statements.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            let mut seen = seen.lock().unwrap();
            match event {
                InstrumentationEvent::StartQuery { query, .. } => {
                    let text = query.to_string();
                    let sql = text.split(" -- binds").next().unwrap_or("").to_string();
                    seen.entry(sql).or_default().0 += 1;
                }
                InstrumentationEvent::CacheQuery { sql, .. } => {
                    seen.entry(sql.to_string()).or_default().1 = true;
                }
                _ => {}
            }
        });
    }

    let corpus = generate(n);
    let bytes: usize = corpus.iter().map(|m| m.bytes.len()).sum();
    println!("corpus: {n} messages, {:.1} MiB", bytes as f64 / 1048576.0);

    let started = Instant::now();
    let mut summary = Summary::default();
    // The same streaming pipeline `casebook ingest` uses: batches staged on this thread while the
    // previous batch is placed in the database on another.
    let times = ingestor.ingest_stream(
        &mut conn,
        |feeder| {
            for item in corpus {
                feeder.push(item)?;
            }
            Ok(())
        },
        |outcome| summary.add(outcome),
    )?;
    let secs = started.elapsed().as_secs_f64();
    let quarantined = summary.quarantined;
    println!(
        "ingested {} messages in {secs:.2} s: {:.0} messages/s ({} new cases, {} appended, {} duplicates, {quarantined} quarantined)",
        summary.processed,
        summary.processed as f64 / secs,
        summary.created,
        summary.appended,
        summary.duplicates
    );
    println!(
        "busy: staging (store + parse) {:.2} s, database thread {:.2} s",
        times.staging.as_secs_f64(),
        times.placing.as_secs_f64()
    );
    let (files, stored) = folder_usage(&dir.path().join("blobs"));
    println!(
        "blob store: {files} files, {:.1} MiB",
        stored as f64 / 1048576.0
    );
    if let Some(kib) = peak_rss_kib() {
        println!("peak memory (VmHWM): {:.1} MiB", kib as f64 / 1024.0);
    }
    if sql_profile {
        let seen = statements.lock().unwrap();
        let mut rows: Vec<_> = seen.iter().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1.0));
        let total: u64 = rows.iter().map(|r| r.1.0).sum();
        println!(
            "SQL statements: {total} ({:.1} per message)",
            total as f64 / n as f64
        );
        for (sql, (count, cached)) in rows {
            let short: String = sql.chars().take(160).collect();
            println!(
                "{count:>8} {} {short}",
                if *cached { "cached" } else { "parsed" }
            );
        }
    }
    anyhow::ensure!(quarantined == 0, "the generated corpus must ingest cleanly");
    Ok(())
}

/// `--write-mbox PATH`: writes the corpus as an mbox file instead of ingesting it, to time
/// `casebook ingest PATH` (reading and splitting the file included) against the same mail.
fn write_mbox(path: &str, n: usize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for item in generate(n) {
        out.write_all(b"From bench@example.com Tue Nov  3 10:00:00 2026\n")?;
        for line in item.bytes.split_inclusive(|b| *b == b'\n') {
            if line
                .iter()
                .position(|b| *b != b'>')
                .is_some_and(|i| line[i..].starts_with(b"From "))
            {
                out.write_all(b">")?;
            }
            out.write_all(line)?;
        }
        if !item.bytes.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    println!("wrote {n} messages to {path}");
    Ok(())
}

/// Files under `dir` and their total size.
fn folder_usage(dir: &std::path::Path) -> (u64, u64) {
    let mut usage = (0, 0);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.metadata() {
            Ok(m) if m.is_dir() => {
                let (f, b) = folder_usage(&entry.path());
                usage = (usage.0 + f, usage.1 + b);
            }
            Ok(m) => usage = (usage.0 + 1, usage.1 + m.len()),
            Err(_) => {}
        }
    }
    usage
}
