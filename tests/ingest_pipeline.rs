//! Ingest end to end: the seed transcript, the fixture corpus (every threading rule, charset,
//! automatic mail, bounce, duplicate and broken input), the CLI, HTTP inbound and the mailgate.
//! Every database test runs on SQLite and PostgreSQL.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::messages::{CaseEvent, Message, NewMessage};
use casebook::ingest::pipeline::{Incoming, Ingestor, Outcome};
use casebook::workflow::events::{EventData, EventKind, Transition};
use casebook::workflow::transitions::Action;
use common::{BackendKind, TestEnv, spawn_app_with};

const SEED: &str = "CAS-06004-S8K5X3";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn casebook(
    env: &TestEnv,
    extra: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebook"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env.env_vars() {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run casebook");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn seed_transcript_imports_as_one_case_with_its_history(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let extra = [("CASEBOOK_SUPPORT_DOMAINS", "cmgos.com")];
    let (code, _, err) = casebook(&env, &extra, &["migrate"], None);
    assert_eq!(code, 0, "{err}");
    // Before the agents exist, nothing in the thread is recognisably staff: the import is refused
    // rather than filing every reply as the customer's.
    let transcript = fixtures().join("transcripts/seed-thread.txt");
    let (code, _, err) = casebook(
        &env,
        &extra,
        &["ingest", transcript.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("Wang Binbin") && err.contains("casebook user add"),
        "{err}"
    );
    let (_, out, _) = casebook(&env, &extra, &["cases", "list", "--json"], None);
    assert_eq!(
        json(&out)["cases"],
        serde_json::json!([]),
        "nothing imported"
    );

    // Wang Binbin signs with a display name only: the agent account makes those blocks outbound.
    let pool = casebook::db::connect_pool(&env.database_url).unwrap();
    let hash = casebook::auth::password::hash_password(&"x".repeat(12).into()).unwrap();
    let wang = casebook::auth::User::create(
        &mut pool.get().unwrap(),
        "wangbb@cmgos.com",
        "Wang Binbin",
        Role::Agent,
        &hash,
    )
    .unwrap();

    let (code, out, err) = casebook(
        &env,
        &extra,
        &["ingest", "--json", transcript.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["processed"], 1);
    assert_eq!(v["created"], 1);
    assert_eq!(v["cases"], serde_json::json!([SEED]));

    let (code, out, err) = casebook(
        &env,
        &extra,
        &["cases", "show", "cas-06004-s8k5x3", "--json"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let case = json(&out);
    assert_eq!(case["number"], SEED);
    assert_eq!(case["title"], "CMGE版本激活失败问题");
    assert_eq!(case["priority"], "normal", "普通事件 in the subject tags");
    assert_eq!(case["customer"]["email"], "chenhui.zd@centerm.com");
    let messages = case["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 21);
    assert_eq!(messages[0]["from_name"], "Wang Binbin");
    assert_eq!(messages[0]["from"], "wangbb@cmgos.com");
    assert_eq!(messages[0]["direction"], "outbound");
    assert_eq!(messages[0]["date"], "2022-04-07T14:05:29Z");
    assert!(
        messages[0]["body_text"]
            .as_str()
            .unwrap()
            .starts_with("陈女士，您好：")
    );
    assert_eq!(messages[1]["from"], "chenhui.zd@centerm.com");
    assert_eq!(messages[1]["direction"], "inbound");
    assert_eq!(messages[17]["from_name"], "张坚亮");
    assert_eq!(messages[20]["date"], "2022-05-06T10:58:00Z");
    assert!(messages.iter().all(|m| m["thread_method"] == "transcript"));
    let dates: Vec<&str> = messages
        .iter()
        .map(|m| m["date"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "messages in order");

    // The structured mails became the workflow's events, at the mails' times.
    let transitions: Vec<(String, String)> = case["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "transition")
        .map(|e| {
            (
                e["to"].as_str().unwrap().to_string(),
                e["at"].as_str().unwrap()[..10].to_string(),
            )
        })
        .collect();
    let expected = [
        ("defined", "2022-04-07"),
        ("scoped", "2022-04-07"),
        ("escalated", "2022-04-22"),
        ("archived", "2022-05-06"),
    ];
    assert_eq!(
        transitions,
        expected
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec()
    );
    assert_eq!(case["state"], "archived");
    let archive = case["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["to"] == "archived")
        .unwrap();
    assert!(
        archive["note"].as_str().unwrap().contains("问题进展"),
        "the archive summary is kept"
    );
    let assigned: Vec<&serde_json::Value> = case["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "assigned")
        .collect();
    assert_eq!(assigned.len(), 1);
    assert_eq!(
        assigned[0]["note"], "Wang Binbin",
        "the agent of the first reply"
    );
    assert_eq!(assigned[0]["at"], "2022-04-07T14:05:29Z");
    let row = Case::find_by_number(&mut pool.get().unwrap(), SEED)
        .unwrap()
        .unwrap();
    // Imported steps carry the transition payload, marked imported, with their texts.
    let stored = CaseEvent::for_case(&mut pool.get().unwrap(), row.id).unwrap();
    for e in &stored {
        assert!(e.kind.fits(e.data.as_deref()), "{}: {:?}", e.kind, e.data);
    }
    let imported: Vec<Transition> = stored
        .iter()
        .filter(|e| e.kind == EventKind::Transition)
        .map(|e| Transition::parse(e.data.as_deref()).unwrap())
        .collect();
    assert!(imported.iter().all(|t| t.imported));
    assert_eq!(
        imported.iter().map(|t| t.action).collect::<Vec<_>>(),
        [
            Action::Define,
            Action::Scope,
            Action::Escalate,
            Action::Archive
        ]
    );
    assert!(imported[3].summary.as_deref().unwrap().contains("问题进展"));
    assert_eq!(imported[3].summary_version, Some(1));
    assert!(imported[2].target.is_some(), "the escalation's target");
    assert_eq!(row.assignee_id, Some(wang.id), "and owns the case");

    // Importing again changes nothing.
    let (code, out, _) = casebook(
        &env,
        &extra,
        &["ingest", "--json", transcript.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0);
    assert_eq!(json(&out)["duplicates"], 1);

    // The same thread exported without a case number: the next number, and a re-import is still
    // recognised.
    let text = std::fs::read_to_string(&transcript).unwrap();
    let subject_line = text.lines().next().unwrap();
    let unnumbered = text.replacen(subject_line, "邮件主题：回复: CMGE版本激活失败问题", 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unnumbered.txt");
    std::fs::write(&path, unnumbered).unwrap();
    let (code, out, err) = casebook(
        &env,
        &extra,
        &["ingest", "--json", path.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let created = json(&out)["cases"][0].as_str().unwrap().to_string();
    assert!(created.starts_with("CAS-06005-"), "{created}");
    let (code, out, err) = casebook(
        &env,
        &extra,
        &["ingest", "--json", path.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["duplicates"], 1);
    assert_eq!(json(&out)["cases"][0], created.as_str());
}

/// Imports the seed, records one outbound mail of ours (so its bounce can be matched), then feeds
/// every fixture in name order, one at a time as mail arrives.
fn corpus_outcomes(env: &TestEnv) -> (casebook::db::DbPool, HashMap<String, Outcome>) {
    let config = env.config(&[
        ("CASEBOOK_SUPPORT_DOMAINS", "cmgos.com"),
        ("CASEBOOK_SECRET_KEY", &"k".repeat(40)),
    ]);
    let prepared = casebook::startup::prepare(config.clone()).unwrap();
    let mut conn = prepared.pool.get().unwrap();
    let hash = casebook::auth::password::hash_password(&"x".repeat(12).into()).unwrap();
    casebook::auth::User::create(
        &mut conn,
        "wangbb@cmgos.com",
        "Wang Binbin",
        Role::Agent,
        &hash,
    )
    .unwrap();
    let ingestor = Ingestor::new(&mut conn, &prepared.config, &prepared.blobs).unwrap();
    let text = std::fs::read_to_string(fixtures().join("transcripts/seed-thread.txt")).unwrap();
    let transcript = casebook::ingest::sources::transcript::parse_transcript(&text).unwrap();
    casebook::ingest::transcript_import::import(
        &mut conn,
        ingestor.staff(),
        &transcript,
        &"0".repeat(64),
        &ingestor.sla_rules(),
    )
    .unwrap();
    let seed = Case::find_by_number(&mut conn, SEED).unwrap().unwrap();
    let at = casebook::db::now();
    NewMessage {
        case_id: seed.id,
        direction: "outbound".into(),
        message_id: Some("casebook.CAS-06004-S8K5X3.77@cmgos.com".into()),
        in_reply_to: None,
        references_ids: String::new(),
        from_email: "support@cmgos.com".into(),
        from_name: None,
        to_addrs: "chenhui.zd@centerm.com".into(),
        cc_addrs: String::new(),
        subject: "Re: [CAS-06004-S8K5X3] reply".into(),
        sent_at: Some(at),
        received_at: at,
        body_text: "reply".into(),
        new_text: "reply".into(),
        body_html: None,
        auto: false,
        thread_method: "composed".into(),
        raw_sha256: None,
        content_hash: "our-reply-77".into(),
        author_id: None,
        created_at: at,
    }
    .insert(&mut conn)
    .unwrap();

    let mut names: Vec<String> = std::fs::read_dir(fixtures().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml") || n.ends_with(".bin") || n.ends_with(".txt"))
        .collect();
    names.sort();
    let mut outcomes = HashMap::new();
    for name in names {
        let bytes = std::fs::read(fixtures().join("mail").join(&name)).unwrap();
        let mut o = ingestor
            .ingest_batch(
                &mut conn,
                vec![Incoming {
                    origin: name.clone(),
                    bytes,
                }],
            )
            .unwrap();
        outcomes.insert(name, o.pop().unwrap());
    }
    // The same bytes twice (no Message-ID) are a duplicate the second time.
    let again = std::fs::read(fixtures().join("mail/31-no-message-id.eml")).unwrap();
    let o = ingestor
        .ingest_batch(
            &mut conn,
            vec![Incoming {
                origin: "again".into(),
                bytes: again,
            }],
        )
        .unwrap();
    outcomes.insert("31-again".into(), o[0].clone());
    drop(conn);
    (prepared.pool, outcomes)
}

fn fixture_corpus_lands_on_the_right_cases(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let (pool, o) = corpus_outcomes(&env);
    let mut conn = pool.get().unwrap();
    let appended_to_seed = |name: &str| {
        assert_eq!(o[name], Outcome::Appended { case: SEED.into() }, "{name}");
    };
    let created = |name: &str| -> String {
        match &o[name] {
            Outcome::Created { case } => case.clone(),
            other => panic!("{name}: expected a new case, got {other:?}"),
        }
    };

    let case_a = created("01-utf8-new-case.eml");
    for name in [
        "02-gb2312-with-gbk-only-chars.eml",
        "03-gbk-quoted-printable.eml",
        "04-gb18030-four-byte.eml",
        "05-big5.eml",
        "06-shift-jis.eml",
        "07-iso-2022-jp.eml",
        "08-ks-c-5601-cp949.eml",
        "09-utf8-qp-q-subject.eml",
        "11-raw-big5-undeclared.eml",
        "12-raw-shift-jis-undeclared.eml",
        "19-split-encoded-words.eml",
        "31-no-message-id.eml",
        "32-no-date.eml",
    ] {
        created(name);
    }
    // Titles are decoded, never mojibake.
    let title_of = |conn: &mut casebook::db::PooledConn, name: &str| {
        let n = created(name);
        Case::find_by_number(conn, &n).unwrap().unwrap().title
    };
    assert_eq!(
        title_of(&mut conn, "02-gb2312-with-gbk-only-chars.eml"),
        "朱镕基与陶喆：激活失败"
    );
    assert_eq!(
        title_of(&mut conn, "06-shift-jis.eml"),
        "ライセンス認証エラー"
    );
    assert_eq!(
        title_of(&mut conn, "19-split-encoded-words.eml"),
        "激活失败问题"
    );

    // Rule c: the token from a participant (and the customer's colleague by domain), in every form.
    for name in [
        "10-raw-gbk-undeclared.eml",
        "14-token-fullwidth-brackets.eml",
        "15-token-bare-lowercase.eml",
    ] {
        appended_to_seed(name);
    }
    // The archived seed case was reopened by the customer's mail (file 10 came first), by the system.
    let seed = Case::find_by_number(&mut conn, SEED).unwrap().unwrap();
    assert_eq!(seed.state, "investigating");
    let events = CaseEvent::for_case(&mut conn, seed.id).unwrap();
    let reopen = events
        .iter()
        .find(|e| {
            e.from_state.as_deref() == Some("archived")
                && e.to_state.as_deref() == Some("investigating")
        })
        .expect("a reopen event");
    assert!(reopen.actor_id.is_none(), "the system reopened it");
    assert!(
        reopen
            .note
            .as_deref()
            .unwrap_or("")
            .contains("客户再次来信"),
        "{:?}",
        reopen.note
    );

    // Rule b: References only (no In-Reply-To) finds case A.
    assert_eq!(
        o["13-references-only-reply.eml"],
        Outcome::Appended {
            case: case_a.clone()
        }
    );
    let a = Case::find_by_number(&mut conn, &case_a).unwrap().unwrap();
    let a_msgs = Message::for_case(&mut conn, a.id).unwrap();
    assert_eq!(a_msgs.last().unwrap().thread_method, "known_message_id");

    // Staff mail: a reply copying support is outbound; a forward to support alone is a note.
    appended_to_seed("16-seed-subject-transcript-tags.eml");
    appended_to_seed("17-forwarded-by-colleague.eml");
    let seed_msgs = Message::for_case(&mut conn, seed.id).unwrap();
    let fwd = seed_msgs
        .iter()
        .find(|m| m.from_email == "lilei@cmgos.com")
        .unwrap();
    assert_eq!(fwd.direction, "note");
    assert_eq!(
        seed.customer_email, "chenhui.zd@centerm.com",
        "a colleague's forward does not change the customer"
    );

    // Rule d: a stranger's stolen token opens a new case, linked as a possible duplicate.
    for name in ["18-stranger-stolen-token.eml", "40-html-only-gmail.eml"] {
        let n = created(name);
        let c = Case::find_by_number(&mut conn, &n).unwrap().unwrap();
        assert_eq!(c.duplicate_of_id, Some(seed.id), "{name}");
        let ev = CaseEvent::for_case(&mut conn, c.id).unwrap();
        assert!(ev.iter().any(|e| e.kind == "possible_duplicate"), "{name}");
    }

    // Auto-replies on a case are kept but folded; elsewhere they never open a case.
    for name in [
        "20-autoreply-auto-submitted.eml",
        "21-autoreply-x-autoreply.eml",
        "22-autoreply-precedence.eml",
        "23-autoreply-outlook.eml",
    ] {
        appended_to_seed(name);
    }
    let autos = Message::for_case(&mut conn, seed.id)
        .unwrap()
        .into_iter()
        .filter(|m| m.auto)
        .count();
    assert!(autos >= 4);
    for name in ["24-autoreply-x-autorespond.eml", "25-bulk-list.eml"] {
        assert!(
            matches!(o[name], Outcome::Ignored { .. }),
            "{name}: {:?}",
            o[name]
        );
    }

    // Bounces land on the case of the mail that bounced, as a delivery failure.
    appended_to_seed("26-bounce-dsn.eml");
    appended_to_seed("27-bounce-headers-only.eml");
    let failures = CaseEvent::for_case(&mut conn, seed.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "delivery_failed")
        .count();
    assert_eq!(failures, 2);

    // Duplicates add nothing.
    appended_to_seed("30-duplicate-a.eml");
    assert_eq!(
        o["30-duplicate-b.eml"],
        Outcome::Duplicate {
            case: Some(SEED.into())
        }
    );
    assert!(matches!(o["31-again"], Outcome::Duplicate { .. }));

    // HTML-only mail keeps only what is new; attachments are stored.
    for name in [
        "41-html-only-outlook.eml",
        "42-html-only-outlook-desktop.eml",
        "50-attachment.eml",
        "51-inline-cid-image.eml",
        "52-attachment-raw-gbk-filename.eml",
    ] {
        appended_to_seed(name);
    }
    let msgs = Message::for_case(&mut conn, seed.id).unwrap();
    assert!(
        msgs.iter()
            .any(|m| m.new_text == "王女士，日志已上传 & 请查收。")
    );
    assert!(
        msgs.iter().all(|m| !m.body_text.contains('\u{fffd}')),
        "no replacement characters"
    );
    let atts = casebook::cases::messages::Attachment::for_case(&mut conn, seed.id).unwrap();
    let names: Vec<&str> = atts.iter().map(|a| a.filename.as_str()).collect();
    assert!(names.contains(&"日志CMGE_Log.zip"), "{names:?}");
    assert!(names.contains(&"系统信息.txt"), "{names:?}");
    assert!(atts.iter().any(|a| a.inline && a.content_id.is_some()));

    // A customer's diagnostics attachment (GBK systeminfo text) was analysed on arrival.
    {
        use casebook::diagnostics::schema::diagnostic_snapshots as ds;
        use diesel::prelude::*;
        let via: Vec<String> = ds::table
            .filter(ds::case_id.eq(seed.id))
            .select(ds::via)
            .load(&mut conn)
            .unwrap();
        assert!(
            via.iter().any(|v| v == "mail"),
            "diagnostics from mail: {via:?}"
        );
    }

    // Broken input is quarantined with a reason, never lost.
    for name in [
        "90-garbage.bin",
        "91-text-without-headers.txt",
        "92-empty.eml",
    ] {
        assert!(
            matches!(o[name], Outcome::Quarantined { .. }),
            "{name}: {:?}",
            o[name]
        );
    }
    let q = casebook::ingest::quarantine::Quarantined::list(&mut conn, true).unwrap();
    assert_eq!(q.len(), 3);
    assert!(q.iter().all(|e| !e.error.is_empty()));
}

fn robustness_corpus_is_stored_or_quarantined_never_lost(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let prepared = casebook::startup::prepare(env.config(&[])).unwrap();
    let mut conn = prepared.pool.get().unwrap();
    let ingestor = Ingestor::new(&mut conn, &prepared.config, &prepared.blobs).unwrap();
    let mut files = Vec::new();
    collect(&fixtures().join("mail/robustness"), &mut files);
    assert!(files.len() > 50, "corpus present");
    let items: Vec<Incoming> = files
        .iter()
        .map(|f| Incoming {
            origin: f.display().to_string(),
            bytes: std::fs::read(f).unwrap(),
        })
        .collect();
    let n = items.len();
    let outcomes = ingestor.ingest_batch(&mut conn, items).unwrap();
    assert_eq!(outcomes.len(), n);
    use diesel::prelude::*;
    let logged: i64 = casebook::db::schema::ingest_log::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(logged as usize, n, "every message has a recorded outcome");
    for (f, o) in files.iter().zip(&outcomes) {
        if let Outcome::Quarantined { reason, .. } = o {
            assert!(!reason.is_empty(), "{}", f.display());
        }
    }
    assert!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Created { .. } | Outcome::Appended { .. }))
            .count()
            > n / 2
    );
}

/// Every fixture, cut, corrupted and spliced in reproducible ways (what a broken MTA, a full disk
/// or a bad export produces): each copy gets an outcome and every raw byte is kept. One of them trips
/// a debug assertion in mail-parser (a panic in this debug build): that message is quarantined
/// instead of failing the batch.
fn mangled_mail_is_stored_or_quarantined_never_lost(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let prepared = casebook::startup::prepare(env.config(&[])).unwrap();
    let mut conn = prepared.pool.get().unwrap();
    let ingestor = Ingestor::new(&mut conn, &prepared.config, &prepared.blobs).unwrap();
    let mut files = Vec::new();
    collect(&fixtures().join("mail"), &mut files);
    let seeds: Vec<Vec<u8>> = files
        .iter()
        .filter(|f| f.extension().is_none_or(|e| e != "md" && e != "py"))
        .map(|f| std::fs::read(f).unwrap())
        .filter(|b| b.len() > 1)
        .collect();
    assert!(seeds.len() > 100, "corpus present");
    // xorshift64*: the same mangling on every run, so a failure can be reproduced.
    let mut state = 0x5eed_cafe_f00d_u64;
    let mut rand = move |below: usize| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as usize % below.max(1)
    };
    let mut items = Vec::new();
    for (i, seed) in seeds.iter().enumerate() {
        for kind in 0..6 {
            let mut m = seed.clone();
            match kind {
                0 => m.truncate(rand(m.len())),
                1 => {
                    for _ in 0..8 {
                        let at = rand(m.len());
                        m[at] = rand(256) as u8;
                    }
                }
                2 => {
                    for _ in 0..8 {
                        let at = rand(m.len());
                        m.insert(at, 0x80 + rand(128) as u8);
                    }
                }
                3 => {
                    let other = &seeds[(i + 1 + rand(seeds.len() - 1)) % seeds.len()];
                    m.truncate(rand(m.len()));
                    m.extend_from_slice(&other[rand(other.len())..]);
                }
                4 => {
                    let (a, b) = (rand(m.len()), rand(m.len()));
                    let (a, b) = (a.min(b), a.max(b));
                    let slice = m[a..b].to_vec();
                    m.splice(a..a, slice.iter().cycle().take(slice.len() * 3).copied());
                }
                _ => m.retain(|b| *b != b'\n'),
            }
            items.push(Incoming {
                origin: format!("mangled#{i}.{kind}"),
                bytes: m,
            });
        }
    }
    let n = items.len();
    let originals: Vec<Vec<u8>> = items.iter().map(|i| i.bytes.clone()).collect();
    let outcomes = ingestor.ingest_batch(&mut conn, items).unwrap();
    assert_eq!(outcomes.len(), n, "one outcome per message");
    let logged = logged_sources(&mut conn);
    assert_eq!(logged.len(), n, "every message has a recorded outcome");
    for (source, sha) in &logged {
        let (i, kind) = source
            .trim_start_matches("mangled#")
            .split_once('.')
            .unwrap();
        let index = i.parse::<usize>().unwrap() * 6 + kind.parse::<usize>().unwrap();
        assert_eq!(
            prepared.blobs.get(sha).unwrap(),
            originals[index],
            "raw bytes of {source} kept"
        );
    }
}

fn a_stream_spanning_many_batches_threads_replies_onto_cases_from_earlier_batches(
    backend: BackendKind,
) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let prepared = casebook::startup::prepare(env.config(&[])).unwrap();
    let mut conn = prepared.pool.get().unwrap();
    let ingestor = Ingestor::new(&mut conn, &prepared.config, &prepared.blobs).unwrap();
    let roots = casebook::ingest::pipeline::STREAM_BATCH + 44;
    let mail = |i: usize| {
        let reply = i >= roots;
        let root = i % roots;
        let mut m = format!(
            "From: Customer {root} <c{root}@example{root}.com>\r\nTo: support@example.net\r\n\
             Subject: {}Activation fails #{root}\r\nMessage-ID: <m{i}@example{root}.com>\r\n",
            if reply { "Re: " } else { "" }
        );
        if reply {
            m.push_str(&format!("In-Reply-To: <m{root}@example{root}.com>\r\n"));
            m.push_str("Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n");
        }
        m.push_str(&format!("\r\nMessage {i} about device {root}.\r\n"));
        Incoming {
            origin: format!("stream#{i}"),
            bytes: m.into_bytes(),
        }
    };
    let mut outcomes = Vec::new();
    ingestor
        .ingest_stream(
            &mut conn,
            |feeder| {
                for i in 0..roots * 2 {
                    feeder.push(mail(i))?;
                }
                Ok(())
            },
            |o| outcomes.push(o.clone()),
        )
        .unwrap();
    assert_eq!(
        outcomes.len(),
        roots * 2,
        "one outcome per message, none lost"
    );
    for i in 0..roots {
        let Outcome::Created { case } = &outcomes[i] else {
            panic!("message {i}: {:?}", outcomes[i]);
        };
        assert_eq!(
            outcomes[i + roots],
            Outcome::Appended { case: case.clone() },
            "the reply to message {i}, in a later batch, lands on its case"
        );
    }
    use diesel::prelude::*;
    let stored: i64 = casebook::db::schema::messages::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(stored as usize, roots * 2);
    let Outcome::Created { case } = &outcomes[roots - 1] else {
        unreachable!()
    };
    let case = Case::find_by_number(&mut conn, case).unwrap().unwrap();
    assert_eq!(
        case.last_activity_at.to_string(),
        "2026-11-03 10:00:00",
        "the reply's time is the case's last activity"
    );

    // Every raw mail reads back exactly, through a store that did not write it (as the server
    // beside a `casebook ingest` would), and the mail went into pack files, not a file each.
    let logged = logged_sources(&mut conn);
    assert_eq!(logged.len(), roots * 2);
    let reader = casebook::db::blobs::BlobStore::new(&prepared.config.data_dir);
    for (source, sha) in &logged {
        let i: usize = source.trim_start_matches("stream#").parse().unwrap();
        assert_eq!(
            reader.get(sha).unwrap(),
            mail(i).bytes,
            "raw mail of {source}"
        );
    }
    let mut files = Vec::new();
    collect(&prepared.config.data_dir.join("blobs"), &mut files);
    assert!(
        files.len() <= (roots * 2).div_ceil(casebook::ingest::pipeline::STREAM_BATCH) * 8,
        "at most a pack per staging thread (up to 8) and batch: {} files for {} messages",
        files.len(),
        roots * 2
    );
}

/// `(source, raw sha256)` of every `ingest_log` row.
fn logged_sources(conn: &mut casebook::db::DbConn) -> Vec<(String, String)> {
    use casebook::db::schema::ingest_log;
    use diesel::prelude::*;
    ingest_log::table
        .select((ingest_log::source, ingest_log::raw_sha256))
        .load(conn)
        .unwrap()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("LICENSE") || name == "COPYING" {
            // The vendored corpora's licences, not mail.
            continue;
        }
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn cli_reads_mbox_maildir_and_stdin_and_reports_quarantine_with_exit_1(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let mbox = fixtures().join("mbox/escaped-from.mbox");
    let (code, out, err) = casebook(
        &env,
        &[],
        &["ingest", "--json", mbox.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert!(v["processed"].as_u64().unwrap() >= 2, "{v}");

    let maildir = tempfile::tempdir().unwrap();
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir(maildir.path().join(sub)).unwrap();
    }
    std::fs::copy(
        fixtures().join("mail/03-gbk-quoted-printable.eml"),
        maildir.path().join("new/1.host"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("mail/05-big5.eml"),
        maildir.path().join("cur/2.host:2,S"),
    )
    .unwrap();
    let (code, out, err) = casebook(
        &env,
        &[],
        &["ingest", "--json", maildir.path().to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["created"], 2);

    let raw = std::fs::read(fixtures().join("mail/09-utf8-qp-q-subject.eml")).unwrap();
    let (code, out, _) = casebook(&env, &[], &["ingest", "--json", "-"], Some(&raw));
    assert_eq!(code, 0);
    assert_eq!(json(&out)["created"], 1);

    // A message over the limit is quarantined (exit 1), then released once the limit is raised.
    let big = std::fs::read(fixtures().join("mail/50-attachment.eml")).unwrap();
    let limit = [("CASEBOOK_MAX_MESSAGE_BYTES", "200")];
    let (code, out, _) = casebook(&env, &limit, &["ingest", "--json", "-"], Some(&big));
    assert_eq!(code, 1);
    assert_eq!(json(&out)["quarantined"], 1);
    let (code, out, err) = casebook(&env, &limit, &["ingest", "--retry-quarantine"], None);
    assert_eq!(code, 1, "still over the limit");
    assert!(err.contains("max_message_bytes"), "{err}");
    assert!(out.contains("1 quarantined"), "{out}");
    let (code, out, err) = casebook(&env, &[], &["ingest", "--json", "--retry-quarantine"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["quarantined"], 0);

    let (code, _, err) = casebook(&env, &[], &["ingest", "/no/such/file.eml"], None);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/file.eml"), "{err}");
    let (code, _, _) = casebook(&env, &[], &["ingest"], None);
    assert_eq!(code, 2);

    let (code, out, _) = casebook(&env, &[], &["cases", "list", "--json"], None);
    assert_eq!(code, 0);
    let cases = json(&out)["cases"].as_array().unwrap().clone();
    assert!(cases.len() >= 5);
    for key in [
        "number",
        "title",
        "state",
        "priority",
        "customer",
        "messages",
        "updated_at",
    ] {
        assert!(cases[0].get(key).is_some(), "{key} missing");
    }
}

both_backends_sync!(
    seed_transcript_imports_as_one_case_with_its_history,
    fixture_corpus_lands_on_the_right_cases,
    robustness_corpus_is_stored_or_quarantined_never_lost,
    mangled_mail_is_stored_or_quarantined_never_lost,
    a_stream_spanning_many_batches_threads_replies_onto_cases_from_earlier_batches,
    cli_reads_mbox_maildir_and_stdin_and_reports_quarantine_with_exit_1,
    mboxes_from_every_common_writer_import_every_message_once,
    blobs_verify_finds_missing_and_corrupt_blobs_in_files_and_packs,
);

/// The same three-message thread as Python's `mailbox` writes it (envelopes `From sender`, no
/// date), as Thunderbird (`From - <date>`), Gmail Takeout (`From <id>@xxx <date>`, CRLF) and mutt
/// write it: each imports as three messages on one case, never one message holding the others.
fn mboxes_from_every_common_writer_import_every_message_once(backend: BackendKind) {
    for writer in ["python-mailbox", "thunderbird", "gmail-takeout", "mutt"] {
        let Some(env) = TestEnv::new(backend) else {
            return;
        };
        let path = fixtures().join(format!("mbox/{writer}.mbox"));
        let (code, out, err) = casebook(
            &env,
            &[],
            &["ingest", "--json", path.to_str().unwrap()],
            None,
        );
        assert_eq!(code, 0, "{writer}: {err}");
        let report = json(&out);
        assert_eq!(report["processed"], 3, "{writer}: {out}");
        assert_eq!(report["created"], 1, "{writer}: {out}");
        assert_eq!(report["quarantined"], 0, "{writer}: {out}");
        let (code, out, _) = casebook(&env, &[], &["cases", "list", "--json"], None);
        assert_eq!(code, 0);
        let cases = json(&out)["cases"].as_array().unwrap().clone();
        assert_eq!(cases.len(), 1, "{writer}: {out}");
        assert_eq!(cases[0]["messages"], 3, "{writer}: {out}");
        // The body's escaped ">From the log" line comes back as the customer wrote it.
        let number = cases[0]["number"].as_str().unwrap();
        let (code, out, _) = casebook(&env, &[], &["cases", "show", "--json", number], None);
        assert_eq!(code, 0);
        assert!(
            out.contains("From the log it fails at step 3."),
            "{writer}: {out}"
        );
        assert!(!out.contains(">From the log"), "{writer}: {out}");
    }
}

/// `casebook blobs verify` after a restore gone wrong: a blob file deleted, a pack damaged.
fn blobs_verify_finds_missing_and_corrupt_blobs_in_files_and_packs(backend: BackendKind) {
    let Some(env) = TestEnv::new(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        let mail = format!(
            "From: Customer {i} <c{i}@oem{i}.example>\r\nTo: support@example.net\r\n\
             Subject: Log {i}\r\nMessage-ID: <v{i}@oem{i}.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nAttached.\r\n--b\r\n\
             Content-Type: text/plain; name=log{i}.txt\r\n\
             Content-Disposition: attachment; filename=log{i}.txt\r\n\r\nline {i}\r\n--b--\r\n"
        );
        std::fs::write(dir.path().join(format!("{i:02}.eml")), mail).unwrap();
    }
    let folder = dir.path().display().to_string();
    let (code, _, err) = casebook(&env, &[], &["ingest", &folder], None);
    assert_eq!(code, 0, "{err}");
    let single = std::fs::read(fixtures().join("mail/01-utf8-new-case.eml")).unwrap();
    let (code, _, err) = casebook(&env, &[], &["ingest", "-"], Some(&single));
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = casebook(&env, &[], &["blobs", "verify", "--json"], None);
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    assert_eq!(report["missing"], serde_json::json!([]));
    assert_eq!(report["corrupt"], serde_json::json!([]));
    assert_eq!(
        report["blobs"], 41,
        "20 mails, 20 attachments, 1 mail alone"
    );

    let blobs = env.data_dir.path().join("blobs");
    let mut files = Vec::new();
    collect(&blobs, &mut files);
    let pack = files
        .iter()
        .find(|f| f.extension().is_some_and(|e| e == "pack"))
        .expect("the folder import wrote a pack");
    let mut bytes = std::fs::read(pack).unwrap();
    bytes[3] ^= 0x20;
    std::fs::write(pack, bytes).unwrap();
    let single_sha = casebook::db::blobs::sha256_hex(&single);
    std::fs::remove_file(blobs.join(&single_sha[..2]).join(&single_sha)).unwrap();

    let (code, out, _) = casebook(&env, &[], &["blobs", "verify", "--json"], None);
    assert_eq!(code, 1, "{out}");
    let report = json(&out);
    let missing = report["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{out}");
    assert_eq!(missing[0]["sha256"], single_sha.as_str());
    let tables: Vec<&str> = missing[0]["referenced_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["table"].as_str().unwrap())
        .collect();
    assert!(
        tables.contains(&"messages") && tables.contains(&"ingest_log"),
        "{tables:?}"
    );
    let corrupt = report["corrupt"].as_array().unwrap();
    assert_eq!(corrupt.len(), 1, "the damaged blob in the pack: {out}");
    assert!(corrupt[0]["error"].as_str().unwrap().contains("hash to"));

    let (code, out, _) = casebook(&env, &[], &["blobs", "verify"], None);
    assert_eq!(code, 1);
    assert!(out.contains("1 missing, 1 corrupt"), "{out}");
    assert!(out.contains(&format!("missing {single_sha}")), "{out}");
}

both_backends!(
    http_inbound_stores_mail_and_the_case_page_shows_the_thread,
    mailgate_delivers_and_tells_the_mta_when_to_retry,
    mail_imported_by_the_command_line_beside_the_running_server_is_readable_on_its_pages,
    mail_delivered_at_the_same_moment_is_stored_once_and_new_cases_get_distinct_numbers,
    replies_arriving_together_reopen_a_waiting_case_once_with_one_response_clock
);

/// A customer answers a question with several mails in the same second: the case leaves "waiting
/// on customer" once, and one next-response clock runs, not one per mail.
async fn replies_arriving_together_reopen_a_waiting_case_once_with_one_response_clock(
    backend: BackendKind,
) {
    use casebook::workflow::schema::sla_clocks;
    use diesel::prelude::*;
    let Some(app) = inbound_app(backend).await else {
        return;
    };
    let mail = |i: usize, extra: &str| {
        format!(
            "From: Chen Hui <chenhui.zd@centerm.example>\r\nTo: support@example.net\r\n\
             Subject: Re: Activation fails\r\nMessage-ID: <r{i}@centerm.example>\r\n{extra}\
             Date: Tue, 03 Nov 2026 10:00:0{i} +0000\r\n\r\nPart {i} of the wmic output.\r\n"
        )
    };
    let post = |body: String| deliver(&app, body);
    let first = post(mail(0, "")).await;
    let number = first["case"].as_str().unwrap().to_string();
    let case = Case::find_by_number(&mut app.conn(), &number)
        .unwrap()
        .unwrap();
    // The agent answered and asked for the wmic output: first response met, waiting on the customer.
    diesel::update(sla_clocks::table.filter(sla_clocks::case_id.eq(case.id)))
        .set(sla_clocks::met_at.eq(casebook::db::now()))
        .execute(&mut app.conn())
        .unwrap();
    Case::set_state(
        &mut app.conn(),
        case.id,
        casebook::workflow::CaseState::WaitingOnCustomer,
    )
    .unwrap();

    let reply = |i: usize| post(mail(i, "In-Reply-To: <r0@centerm.example>\r\n"));
    let answers = futures_util::future::join_all((1..=5).map(reply)).await;
    assert!(
        answers.iter().all(|a| a["outcome"] == "appended"),
        "{answers:?}"
    );
    let case = Case::find_by_number(&mut app.conn(), &number)
        .unwrap()
        .unwrap();
    assert_eq!(case.state, "investigating");
    let reopened = CaseEvent::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "transition" && e.to_state.as_deref() == Some("investigating"))
        .count();
    assert_eq!(reopened, 1, "one transition, not one per mail");
    let open_next: i64 = sla_clocks::table
        .filter(sla_clocks::case_id.eq(case.id))
        .filter(sla_clocks::metric.eq("next_response"))
        .filter(sla_clocks::met_at.is_null())
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    assert_eq!(open_next, 1, "one next-response clock");
}

/// The app with HTTP inbound enabled (token `inbound-secret-token`).
async fn inbound_app(backend: BackendKind) -> Option<common::TestApp> {
    spawn_app_with(
        backend,
        &[("CASEBOOK_INBOUND_TOKEN", common::INBOUND_TOKEN)],
    )
    .await
}

/// POSTs raw mail to `/inbound/mail` as the mailgate does; the answer must be 202.
async fn deliver(app: &common::TestApp, body: String) -> serde_json::Value {
    app.deliver(body).await
}

/// A message sent to two support aliases arrives twice at once, while other customers write in:
/// every delivery is accepted, the doubled message is stored once, and the new cases racing for
/// the next number each get their own.
async fn mail_delivered_at_the_same_moment_is_stored_once_and_new_cases_get_distinct_numbers(
    backend: BackendKind,
) {
    let Some(app) = inbound_app(backend).await else {
        return;
    };
    let mail = |from: usize, id: &str| {
        format!(
            "From: Customer {from} <c{from}@oem{from}.example>\r\nTo: support@example.net\r\n\
             Subject: Activation fails on line {from}\r\nMessage-ID: <{id}@oem{from}.example>\r\n\
             Date: Tue, 03 Nov 2026 10:00:00 +0000\r\n\r\nDevice marker binding is Invalid.\r\n"
        )
    };
    let post = |body: String| deliver(&app, body);
    let mut deliveries: Vec<_> = (0..6).map(|_| post(mail(0, "twice"))).collect();
    deliveries.extend((1..=6).map(|i| post(mail(i, &format!("own{i}")))));
    let answers = futures_util::future::join_all(deliveries).await;
    let outcome = |v: &serde_json::Value| v["outcome"].as_str().unwrap().to_string();
    let doubled: Vec<String> = answers[..6].iter().map(outcome).collect();
    assert_eq!(
        doubled.iter().filter(|o| *o == "created").count(),
        1,
        "{doubled:?}"
    );
    assert_eq!(
        doubled.iter().filter(|o| *o == "duplicate").count(),
        5,
        "{doubled:?}"
    );
    let mut numbers: Vec<String> = answers
        .iter()
        .filter(|v| outcome(v) == "created")
        .map(|v| v["case"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(numbers.len(), 7, "{answers:?}");
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 7, "distinct case numbers: {numbers:?}");
    use diesel::prelude::*;
    let stored: i64 = casebook::db::schema::messages::table
        .filter(casebook::db::schema::messages::direction.eq("inbound"))
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    assert_eq!(stored, 7, "the doubled message once, the others once each");
}

/// A bulk import writes pack files in another process; the server, which had already looked at its
/// blob store, must still find those blobs when an agent opens an attachment.
async fn mail_imported_by_the_command_line_beside_the_running_server_is_readable_on_its_pages(
    backend: BackendKind,
) {
    let Some(app) = inbound_app(backend).await else {
        return;
    };
    let r = app
        .client
        .post(app.url("/inbound/mail"))
        .bearer_auth(common::INBOUND_TOKEN)
        .body(std::fs::read(fixtures().join("mail/50-attachment.eml")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        202,
        "the server's blob store is in use"
    );

    let dir = tempfile::tempdir().unwrap();
    let log = |i: usize| format!("ERROR 0x8004FE21 device {i}\n").repeat(40 + i);
    for i in 0..24 {
        let mail = format!(
            "From: Customer {i} <c{i}@oem{i}.example>\r\nTo: support@example.net\r\n\
             Subject: Activation log {i}\r\nMessage-ID: <bulk{i}@oem{i}.example>\r\n\
             Date: Tue, 03 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe log is attached.\r\n\
             --b\r\nContent-Type: text/plain; name=activation-{i}.log\r\n\
             Content-Disposition: attachment; filename=activation-{i}.log\r\n\r\n{}\r\n--b--\r\n",
            log(i).replace('\n', "\r\n")
        );
        std::fs::write(dir.path().join(format!("{i:02}.eml")), mail).unwrap();
    }
    let env = app.env.clone();
    let folder = dir.path().display().to_string();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        casebook(&env, &[], &["ingest", "--json", &folder], None)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    assert_eq!(report["created"], 24, "{out}");
    let packs: Vec<_> = std::fs::read_dir(app.config.data_dir.join("blobs").join("packs"))
        .expect("the import wrote pack files")
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!packs.is_empty());

    app.login_as(Role::Agent).await;
    let log_name = regex::Regex::new(r"activation-(\d+)\.log").unwrap();
    for number in report["cases"].as_array().unwrap() {
        let number = number.as_str().unwrap();
        let (status, html) = app.get_text(&format!("/cases/{number}")).await;
        assert_eq!(status, 200);
        let i: usize = log_name.captures(&html).expect("attachment listed")[1]
            .parse()
            .unwrap();
        let href = regex::Regex::new(&format!(r#"/cases/{number}/attachments/(\d+)"#))
            .unwrap()
            .find(&html)
            .unwrap()
            .as_str()
            .to_string();
        let r = app.get(&href).await;
        assert_eq!(r.status().as_u16(), 200, "attachment of {number}");
        let body = r.text().await.unwrap();
        assert_eq!(body.trim_end(), log(i).replace('\n', "\r\n").trim_end());
    }
}

async fn http_inbound_stores_mail_and_the_case_page_shows_the_thread(backend: BackendKind) {
    let Some(app) = spawn_app_with(
        backend,
        &[
            ("CASEBOOK_INBOUND_TOKEN", common::INBOUND_TOKEN),
            ("CASEBOOK_MAX_MESSAGE_BYTES", "100000"),
        ],
    )
    .await
    else {
        return;
    };
    let url = app.url("/inbound/mail");
    let raw = std::fs::read(fixtures().join("mail/01-utf8-new-case.eml")).unwrap();
    let r = app
        .client
        .post(&url)
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "no token");
    let r = app
        .client
        .post(&url)
        .bearer_auth("wrong")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = app
        .client
        .post(&url)
        .bearer_auth(common::INBOUND_TOKEN)
        .body(Vec::<u8>::new())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = app
        .client
        .post(&url)
        .bearer_auth(common::INBOUND_TOKEN)
        .body(vec![b'a'; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("max_message_bytes")
    );

    let r = app
        .client
        .post(&url)
        .bearer_auth(common::INBOUND_TOKEN)
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["outcome"], "created");
    let number = v["case"].as_str().unwrap().to_string();

    let attached = std::fs::read(fixtures().join("mail/50-attachment.eml")).unwrap();
    let with_token = String::from_utf8_lossy(&attached).replace("CAS-06004-S8K5X3", &number);
    let r = app
        .client
        .post(&url)
        .bearer_auth(common::INBOUND_TOKEN)
        .body(with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);

    app.login_as(Role::Agent).await;
    let (status, html) = app.get_text("/cases").await;
    assert_eq!(status, 200);
    assert!(html.contains(&number));
    assert!(html.contains("CMGE版本激活失败问题"));
    let (status, html) = app.get_text(&format!("/cases/{number}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("陈慧"), "sender shown");
    assert!(html.contains("日志CMGE_Log.zip"), "attachment listed");
    let re = regex::Regex::new(&format!(r#"/cases/{number}/attachments/(\d+)"#)).unwrap();
    let href = re
        .find(&html)
        .expect("attachment link")
        .as_str()
        .to_string();
    let r = app.get(&href).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}

async fn mailgate_delivers_and_tells_the_mta_when_to_retry(backend: BackendKind) {
    let Some(app) = inbound_app(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "inbound-secret-token\n").unwrap();
    let bad_token = dir.path().join("bad");
    std::fs::write(&bad_token, "nope\n").unwrap();
    let raw = std::fs::read(fixtures().join("mail/03-gbk-quoted-printable.eml")).unwrap();
    let gate = |url: String, token: PathBuf, input: Vec<u8>| {
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_casebook"))
                .args([
                    "mailgate",
                    "--url",
                    &url,
                    "--token-file",
                    token.to_str().unwrap(),
                    "--timeout",
                    "10",
                ])
                .env_clear()
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&input).unwrap();
            child.wait_with_output().unwrap().status.code().unwrap()
        })
    };
    assert_eq!(
        gate(app.address.clone(), token_file.clone(), raw.clone())
            .await
            .unwrap(),
        0,
        "delivered"
    );
    assert_eq!(
        gate(app.address.clone(), bad_token, raw.clone())
            .await
            .unwrap(),
        75,
        "wrong token: retry, never bounce"
    );
    assert_eq!(
        gate(app.address.clone(), token_file.clone(), Vec::new())
            .await
            .unwrap(),
        65,
        "empty message refused"
    );
    assert_eq!(
        gate("http://127.0.0.1:9".into(), token_file, raw)
            .await
            .unwrap(),
        75,
        "unreachable: retry"
    );
    let cases = casebook::cases::views::list(&mut app.conn(), &Default::default(), 10, 0).unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].title, "主板序列号异常");
}
