//! Reading mail sources and thread transcripts, end to end on files, and what the importer makes
//! of the seed thread: its messages, their new text and the workflow events they announce.

use std::path::Path;

use casebook::ingest::quote::extract_new_text;
use casebook::ingest::sources::transcript::{Transcript, read_transcript};
use casebook::ingest::sources::{
    RawItem, SizeHint, SourceError, SourceKind, detect, open, size_hint,
};
use casebook::ingest::structured::{Structured, recognise};

const SEED: &str = "tests/fixtures/transcripts/seed-thread.txt";
const MBOX: &str = "tests/fixtures/mbox/escaped-from.mbox";

fn seed() -> Transcript {
    read_transcript(Path::new(SEED)).expect("the seed transcript parses")
}

fn read_all(path: &Path) -> Vec<RawItem> {
    open(path)
        .expect("source opens")
        .map(|item| item.expect("message reads"))
        .collect()
}

#[test]
fn seed_transcript_has_21_messages_in_order_with_senders_and_times() {
    let expected = [
        ("Wang Binbin", "2022-04-07 14:05:29.682"),
        ("chenhui.zd@centerm.com", "2022-04-07 14:30:29.374"),
        ("Wang Binbin", "2022-04-07 15:07:24.966"),
        ("chenhui.zd@centerm.com", "2022-04-20 16:45:32.967"),
        ("Wang Binbin", "2022-04-21 17:45:30.977"),
        ("chenhui.zd@centerm.com", "2022-04-21 18:02:34.814"),
        ("chenhui.zd@centerm.com", "2022-04-22 11:29:45.762"),
        ("Wang Binbin", "2022-04-22 13:23:23.752"),
        ("chenhui.zd@centerm.com", "2022-04-22 15:03:35.106"),
        ("Wang Binbin", "2022-04-22 16:06:46.539"),
        ("chenhui.zd@centerm.com", "2022-04-22 17:31:00.072"),
        ("chenhui.zd@centerm.com", "2022-04-24 13:55:49.247"),
        ("Wang Binbin", "2022-04-24 15:50:32.867"),
        ("chenhui.zd@centerm.com", "2022-04-24 15:54:21.572"),
        ("Shi Guannan", "2022-04-24 16:31:13.635"),
        ("chenhui.zd@centerm.com", "2022-04-24 16:50:59.298"),
        ("Wang Binbin", "2022-04-24 18:00:33.883"),
        ("张坚亮", "2022-04-24 18:03:33.993"),
        ("chenhui.zd@centerm.com", "2022-04-25 09:25:48.286"),
        ("Wang Binbin", "2022-04-25 10:40:00.059"),
        ("Wang Binbin", "2022-05-06 10:58:00.932"),
    ];
    let transcript = seed();
    // The export separates the case number with thin spaces (U+2009); they are kept as written.
    assert!(
        transcript
            .subject
            .starts_with("回复: Re: [案例号:\u{2009}CAS-06004-S8K5X3\u{2009}]"),
        "{}",
        transcript.subject
    );
    assert_eq!(
        transcript.case_number().map(|n| n.to_string()).as_deref(),
        Some("CAS-06004-S8K5X3")
    );
    assert_eq!(transcript.messages.len(), 21);
    for (i, (message, (sender, time))) in transcript.messages.iter().zip(expected).enumerate() {
        assert_eq!(message.index as usize, i + 1);
        assert_eq!(message.sender, sender, "message {}", i + 1);
        assert_eq!(
            message.sent_at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            time,
            "message {}",
            i + 1
        );
        let is_address = sender.contains('@');
        assert_eq!(
            message.sender_email.as_deref(),
            is_address.then_some(sender),
            "message {}",
            i + 1
        );
    }
}

#[test]
fn seed_bodies_start_at_the_text_and_stop_before_the_next_marker() {
    let transcript = seed();
    let body = |n: usize| transcript.messages[n - 1].body.as_str();
    assert!(body(1).starts_with("陈女士，您好："), "{}", body(1));
    assert!(body(1).ends_with("来查询主板制造商信息。"), "{}", body(1));
    assert!(!body(18).contains("===="), "{}", body(18));
    assert!(body(18).ends_with("请您立即电话或邮件通知"), "{}", body(18));
    assert_eq!(
        body(14),
        "好的，感谢！\n________________________________\nchenhui.zd@centerm.com"
    );
}

#[test]
fn seed_new_text_drops_the_senders_signatures() {
    let transcript = seed();
    let new_text = |n: usize| extract_new_text(&transcript.messages[n - 1].body);
    assert_eq!(new_text(6), "hi 王女士，\n    日志已上传！");
    assert_eq!(new_text(14), "好的，感谢！");
    assert_eq!(new_text(18), "增加朱星方总。\n感谢王彬彬老师的持续支持。");
    for message in &transcript.messages {
        let text = extract_new_text(&message.body);
        assert!(!text.is_empty(), "message {}", message.index);
        assert!(
            !text.contains("________"),
            "message {}: {text}",
            message.index
        );
    }
    // The agent's messages carry no signature marker and are kept whole.
    assert_eq!(new_text(1), transcript.messages[0].body);
    assert_eq!(new_text(21), transcript.messages[20].body);
}

#[test]
fn seed_messages_announce_definition_escalation_and_archive_only() {
    let transcript = seed();
    for message in &transcript.messages {
        let found = recognise(&message.body);
        match message.index {
            1 => assert_eq!(
                found,
                [Structured::ProblemDefinition {
                    definition: "用户反馈离线激活失败。提示“Device marker binding is Invalid”。"
                        .to_string(),
                    scope: Some("协助用户分析上述问题。".to_string()),
                }]
            ),
            8 => assert!(
                matches!(found.as_slice(), [Structured::Escalation { note }] if note.contains("升级处理")),
                "{found:?}"
            ),
            21 => match found.as_slice() {
                [Structured::ArchiveSummary { summary }] => {
                    assert!(
                        summary.starts_with("问题定义：\n用户反馈离线激活失败。"),
                        "{summary}"
                    );
                    assert!(
                        summary.contains("问题进展：\n鉴于Cet这个系统比较特殊"),
                        "{summary}"
                    );
                }
                other => panic!("message 21 gave {other:?}"),
            },
            n => assert_eq!(found, [], "message {n}"),
        }
    }
}

#[test]
fn transcript_is_detected_and_not_opened_as_mail() {
    let path = Path::new(SEED);
    assert_eq!(detect(path).expect("detects"), SourceKind::Transcript);
    assert!(matches!(open(path), Err(SourceError::IsTranscript { .. })));
}

#[test]
fn mbox_file_streams_messages_with_from_lines_unescaped() {
    let path = Path::new(MBOX);
    assert_eq!(detect(path).expect("detects"), SourceKind::Mbox);
    let items = read_all(path);
    let origins: Vec<&str> = items.iter().map(|i| i.origin.as_str()).collect();
    assert_eq!(origins, [format!("{MBOX}#1"), format!("{MBOX}#2")]);
    let first = String::from_utf8(items[0].bytes.clone()).expect("UTF-8 fixture");
    assert!(
        first.starts_with("From: chenhui.zd@centerm.com\n"),
        "{first}"
    );
    assert!(
        first.ends_with("\nFrom the log folder on the desktop:\n>From here on it is CMGE_Log.\n"),
        "{first}"
    );
    let second = String::from_utf8(items[1].bytes.clone()).expect("UTF-8 fixture");
    assert!(second.ends_with("激活失败原因？\n"), "{second}");
    let file_len = std::fs::metadata(path).expect("fixture exists").len();
    assert_eq!(
        size_hint(path).expect("hint"),
        Some(SizeHint::Bytes(file_len))
    );
}

#[test]
fn maildir_folder_and_single_file_are_read_in_a_stable_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("maildir/cur/1650000002.b:2,S", "Subject: two\n\n2\n");
    write("maildir/new/1650000001.a", "Subject: one\n\n1\n");
    write("maildir/tmp/1650000003.c", "Subject: partial\n");
    write("folder/2022/b.eml", "Subject: b\n\nb\n");
    write("folder/a.eml", "Subject: a\n\na\n");
    write("folder/readme.txt", "not mail");
    write("single.eml", "Subject: single\n\nx\n");

    let cases: &[(&str, SourceKind, &[&str])] = &[
        (
            "maildir",
            SourceKind::Maildir,
            &["Subject: one\n\n1\n", "Subject: two\n\n2\n"],
        ),
        (
            "folder",
            SourceKind::EmlFolder,
            &["Subject: b\n\nb\n", "Subject: a\n\na\n"],
        ),
        ("single.eml", SourceKind::Eml, &["Subject: single\n\nx\n"]),
    ];
    for (rel, kind, bodies) in cases {
        let path = root.join(rel);
        assert_eq!(detect(&path).expect("detects"), *kind, "{rel}");
        let items = read_all(&path);
        let got: Vec<&[u8]> = items.iter().map(|i| i.bytes.as_slice()).collect();
        let want: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
        assert_eq!(got, want, "{rel}");
        assert!(
            items
                .iter()
                .all(|i| i.origin.starts_with(&path.display().to_string())),
            "{rel}"
        );
        assert_eq!(
            size_hint(&path).expect("hint"),
            Some(SizeHint::Messages(bodies.len() as u64)),
            "{rel}"
        );
    }
}

#[test]
fn missing_path_is_reported_by_name() {
    let err = detect(Path::new("tests/fixtures/no-such-box.mbox")).expect_err("missing");
    assert!(matches!(err, SourceError::NotFound { .. }));
    assert!(err.to_string().contains("no-such-box.mbox"), "{err}");
}
