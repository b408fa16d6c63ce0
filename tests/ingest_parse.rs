//! The parsing front of ingest against the fixture corpus in tests/fixtures/mail (see its README.md).

use std::path::{Path, PathBuf};

use casebook::ingest::loops::AutoKind;
use casebook::ingest::parse::{ParseError, ParsedMail, parse_mail};

const TOKEN: &str = "CAS-06004-S8K5X3";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail")
}

fn read(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(name: &str) -> ParsedMail {
    parse_mail(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_no_replacement(name: &str, mail: &ParsedMail) {
    let from_name = mail
        .from
        .as_ref()
        .and_then(|f| f.name.as_deref())
        .unwrap_or_default();
    for (field, text) in [
        ("subject", mail.subject.as_str()),
        ("body", mail.body_text.as_str()),
        ("from", from_name),
    ] {
        assert!(
            !text.contains('\u{FFFD}'),
            "{name}: U+FFFD in {field}: {text:?}"
        );
    }
}

fn kind(auto: &AutoKind) -> &'static str {
    match auto {
        AutoKind::Human => "human",
        AutoKind::AutoReply { .. } => "auto_reply",
        AutoKind::Bounce { .. } => "bounce",
        AutoKind::Bulk { .. } => "bulk",
    }
}

#[test]
fn every_charset_decodes_to_the_exact_text_without_replacement_characters() {
    let cases = [
        (
            "01-utf8-new-case.eml",
            "CMGE版本激活失败问题",
            "用户反馈离线激活失败。提示“Device marker binding is Invalid”",
            Some("陈慧"),
        ),
        (
            "02-gb2312-with-gbk-only-chars.eml",
            "朱镕基与陶喆：激活失败",
            "朱镕基和陶喆的名字只有 GBK 能编码",
            None,
        ),
        (
            "03-gbk-quoted-printable.eml",
            "主板序列号异常",
            "主板序列号异常，请收集日志",
            None,
        ),
        (
            "04-gb18030-four-byte.eml",
            "吉祥𠮷与€",
            "四字节字符：𠮷㐀，欧元 €",
            None,
        ),
        (
            "05-big5.eml",
            "啟用失敗",
            "您好，啟用失敗，請協助確認主機板序號",
            None,
        ),
        (
            "06-shift-jis.eml",
            "ライセンス認証エラー",
            "ライセンス認証に失敗しました",
            None,
        ),
        (
            "07-iso-2022-jp.eml",
            "認証エラーの件",
            "① 手順を確認しました",
            None,
        ),
        (
            "08-ks-c-5601-cp949.eml",
            "정품 인증 실패",
            "정품 인증 실패 (똠방각하)",
            None,
        ),
        (
            "09-utf8-qp-q-subject.eml",
            "日志已上传！",
            "日志已上传！",
            None,
        ),
        (
            "19-split-encoded-words.eml",
            "回复: 激活失败问题",
            "内容正常。",
            Some("陈慧"),
        ),
        (
            "10-raw-gbk-undeclared.eml",
            "回复: [案例号: CAS-06004-S8K5X3 ] 激活失败，请尽快处理",
            "提示是SN已被另一计算机使用。有新进展吗？",
            Some("陈慧"),
        ),
        (
            "11-raw-big5-undeclared.eml",
            "回覆: 啟用失敗，請盡快處理",
            "啟用仍然失敗，請協助確認主機板序號",
            Some("林先生"),
        ),
        (
            "12-raw-shift-jis-undeclared.eml",
            "Re: ライセンス認証エラーの件",
            "ログを収集しましたので",
            Some("田中"),
        ),
    ];
    for (file, subject, body, from_name) in cases {
        let mail = load(file);
        assert_no_replacement(file, &mail);
        assert_eq!(mail.subject, subject, "{file}");
        assert!(
            mail.body_text.contains(body),
            "{file}: {:?}",
            mail.body_text
        );
        if let Some(name) = from_name {
            assert_eq!(
                mail.from.as_ref().and_then(|f| f.name.as_deref()),
                Some(name),
                "{file}"
            );
        }
        assert!(mail.auto.is_human(), "{file}: {:?}", mail.auto);
    }
}

#[test]
fn headers_dates_and_addresses_of_a_plain_message() {
    let mail = load("01-utf8-new-case.eml");
    assert_eq!(
        mail.message_id.as_deref(),
        Some("20220407143029.1@centerm.com")
    );
    assert_eq!(
        mail.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2022-04-07T06:30:29+00:00")
    );
    let from = mail.from.as_ref().map(|f| f.email.as_str());
    assert_eq!(from, Some("chenhui.zd@centerm.com"));
    assert_eq!(mail.to[0].email, "support@cmgos.com");
    assert_eq!(mail.return_path.as_deref(), Some("chenhui.zd@centerm.com"));
    assert_eq!(mail.content_hash.len(), 64);
    assert!(mail.case_token().is_none());
    assert_eq!(mail.title(), "CMGE版本激活失败问题");
}

#[test]
fn case_tokens_and_titles_come_out_of_every_subject_form() {
    let cases = [
        (
            "10-raw-gbk-undeclared.eml",
            Some(TOKEN),
            "激活失败，请尽快处理",
        ),
        ("13-references-only-reply.eml", None, "CMGE版本激活失败问题"),
        (
            "14-token-fullwidth-brackets.eml",
            Some(TOKEN),
            "CMGE版本激活失败问题",
        ),
        (
            "15-token-bare-lowercase.eml",
            Some(TOKEN),
            "activation failed",
        ),
        (
            "16-seed-subject-transcript-tags.eml",
            Some(TOKEN),
            "CMGE版本激活失败问题",
        ),
        (
            "17-forwarded-by-colleague.eml",
            Some(TOKEN),
            "CMGE版本激活失败问题",
        ),
        (
            "18-stranger-stolen-token.eml",
            Some(TOKEN),
            "please reset the licence to my new machine",
        ),
        (
            "40-html-only-gmail.eml",
            Some(TOKEN),
            "CMGE版本激活失败问题",
        ),
        (
            "41-html-only-outlook.eml",
            Some(TOKEN),
            "CMGE版本激活失败问题",
        ),
        ("31-no-message-id.eml", None, "Licence question"),
    ];
    for (file, token, title) in cases {
        let mail = load(file);
        assert_eq!(
            mail.case_token().map(|t| t.to_string()).as_deref(),
            token,
            "{file}: {}",
            mail.subject
        );
        assert_eq!(mail.title(), title, "{file}");
    }
}

#[test]
fn thread_headers_are_kept_in_order() {
    let reply = load("13-references-only-reply.eml");
    assert!(reply.in_reply_to.is_empty());
    assert_eq!(
        reply.references,
        ["20220407143029.1@centerm.com", "casebook.reply.1@cmgos.com"]
    );
    let seed = load("16-seed-subject-transcript-tags.eml");
    assert_eq!(seed.in_reply_to, ["token-fullwidth@centerm.com"]);
    let stranger = load("18-stranger-stolen-token.eml");
    assert!(stranger.in_reply_to.is_empty() && stranger.references.is_empty());
    let forwarded = load("17-forwarded-by-colleague.eml");
    assert!(
        forwarded
            .body_text
            .contains("发件人: 陈慧 <chenhui.zd@centerm.com>")
    );
    assert_eq!(
        forwarded.from.map(|f| f.email).as_deref(),
        Some("lilei@cmgos.com")
    );
}

#[test]
fn automatic_mail_is_classified_by_the_rule_that_fired() {
    let cases = [
        (
            "20-autoreply-auto-submitted.eml",
            "auto_reply",
            "Auto-Submitted: auto-replied",
        ),
        (
            "21-autoreply-x-autoreply.eml",
            "auto_reply",
            "X-Autoreply: yes",
        ),
        (
            "22-autoreply-precedence.eml",
            "auto_reply",
            "Precedence: auto_reply",
        ),
        (
            "23-autoreply-outlook.eml",
            "auto_reply",
            "X-Auto-Response-Suppress: All",
        ),
        (
            "24-autoreply-x-autorespond.eml",
            "auto_reply",
            "X-Autorespond: yes",
        ),
        ("25-bulk-list.eml", "bulk", "Precedence: list"),
        (
            "26-bounce-dsn.eml",
            "bounce",
            "multipart/report; report-type=delivery-status",
        ),
        (
            "27-bounce-headers-only.eml",
            "bounce",
            "multipart/report; report-type=delivery-status",
        ),
        ("18-stranger-stolen-token.eml", "human", ""),
        ("17-forwarded-by-colleague.eml", "human", ""),
    ];
    for (file, expected_kind, reason) in cases {
        let mail = load(file);
        assert_eq!(kind(&mail.auto), expected_kind, "{file}: {:?}", mail.auto);
        assert_eq!(mail.auto.reason().unwrap_or_default(), reason, "{file}");
    }
}

#[test]
fn bounces_name_the_undelivered_original() {
    let cases = [
        (
            "26-bounce-dsn.eml",
            "casebook.CAS-06004-S8K5X3.77@cmgos.com",
        ),
        (
            "27-bounce-headers-only.eml",
            "casebook.CAS-06004-S8K5X3.78@cmgos.com",
        ),
    ];
    for (file, original) in cases {
        let mail = load(file);
        assert_eq!(mail.return_path.as_deref(), Some(""), "{file}");
        match &mail.auto {
            AutoKind::Bounce {
                original_message_ids,
                ..
            } => {
                assert_eq!(original_message_ids, &[original.to_string()], "{file}")
            }
            other => panic!("{file}: {other:?}"),
        }
    }
    let headers_only = load("27-bounce-headers-only.eml");
    assert!(headers_only.body_text.contains("退信：无法投递"));
}

#[test]
fn duplicates_share_a_message_id_and_missing_ids_fall_back_to_a_hash() {
    let a = load("30-duplicate-a.eml");
    let b = load("30-duplicate-b.eml");
    assert_eq!(a.dedup_key(), "duplicate@centerm.com");
    assert_eq!(a.dedup_key(), b.dedup_key());
    assert_ne!(a.content_hash, b.content_hash);

    let no_id = load("31-no-message-id.eml");
    assert_eq!(no_id.message_id, None);
    assert_eq!(no_id.dedup_key(), format!("sha256:{}", no_id.content_hash));
    assert!(no_id.date.is_some());

    let no_date = load("32-no-date.eml");
    assert_eq!(no_date.date, None);
    assert_eq!(no_date.message_id.as_deref(), Some("no-date@example.net"));
}

#[test]
fn html_only_mail_is_sanitised_and_its_new_text_excludes_the_quote() {
    let gmail = load("40-html-only-gmail.eml");
    let html = gmail.body_html.as_deref().unwrap_or_default();
    for absent in ["<script", "onclick", "tracker.example.com", "alert(1)"] {
        assert!(!html.contains(absent), "gmail html keeps {absent}: {html}");
    }
    assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
    assert!(
        gmail.body_text.contains("新的进展：已经在实机上复现。"),
        "{}",
        gmail.body_text
    );
    assert!(
        gmail.body_text.contains("> 陈女士，您好："),
        "{}",
        gmail.body_text
    );
    assert!(
        gmail.body_text.contains("> • 主板序列号异常"),
        "{}",
        gmail.body_text
    );
    let new_text = gmail.html_new_text.as_deref().unwrap_or_default();
    assert!(
        new_text.contains("新的进展")
            && !new_text.contains("陈女士")
            && !new_text.contains("wrote:"),
        "{new_text}"
    );

    let outlook = load("41-html-only-outlook.eml");
    assert_eq!(
        outlook.html_new_text.as_deref(),
        Some("王女士，日志已上传 & 请查收。")
    );
    assert!(outlook.body_text.contains("请您按照如下步骤收集日志"));
    assert!(
        !outlook.body_text.contains("ignored title") && !outlook.body_text.contains("color:red")
    );

    let desktop = load("42-html-only-outlook-desktop.eml");
    assert_eq!(desktop.html_new_text.as_deref(), Some("已收到，谢谢。"));

    let plain = load("01-utf8-new-case.eml");
    assert_eq!((plain.body_html, plain.html_new_text), (None, None));
}

#[test]
fn attachments_keep_names_bytes_and_content_ids() {
    let mail = load("50-attachment.eml");
    assert_eq!(mail.attachments.len(), 1);
    let zip = &mail.attachments[0];
    assert_eq!(zip.filename, "日志CMGE_Log.zip");
    assert_eq!(zip.content_type, "application/zip");
    assert_eq!(zip.data, b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    assert!(!zip.inline);
    assert_eq!(mail.body_text.trim(), "日志见附件。");

    let inline = load("51-inline-cid-image.eml");
    let image = &inline.attachments[0];
    assert_eq!(
        image.content_id.as_deref(),
        Some("image001.png@01D84A3B.12345670")
    );
    assert!(image.inline);
    assert!(image.data.starts_with(b"\x89PNG"));
    assert!(
        inline
            .body_html
            .unwrap_or_default()
            .contains("src=\"cid:image001.png@01D84A3B.12345670\"")
    );

    let raw_name = load("52-attachment-raw-gbk-filename.eml");
    assert_eq!(raw_name.attachments.len(), 1);
    assert_eq!(raw_name.attachments[0].filename, "系统信息.txt");
    let (text, _, had_errors) = encoding_rs::GB18030.decode(&raw_name.attachments[0].data);
    assert!(
        !had_errors && text.contains("系统制造商: VMware, Inc."),
        "{text}"
    );
    assert_eq!(raw_name.body_text.trim(), "附件是系统信息。");
}

#[test]
fn a_big_attachment_round_trips() {
    // Megabytes are generated here rather than committed.
    let data: Vec<u8> = (0..6_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut encoded = String::with_capacity(data.len() * 4 / 3 + data.len() / 38);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (i, chunk) in data.chunks(3).enumerate() {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (j, b)| n | (u32::from(*b) << (16 - 8 * j)));
        for k in 0..4 {
            if k <= chunk.len() {
                encoded.push(alphabet[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                encoded.push('=');
            }
        }
        if i % 19 == 18 {
            encoded.push_str("\r\n");
        }
    }
    let raw = format!(
        "From: <chenhui.zd@centerm.com>\r\nSubject: [{TOKEN}] big log\r\nMessage-ID: <big@centerm.com>\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n日志\r\n\
         --B\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {encoded}\r\n--B--\r\n"
    );
    let mail = parse_mail(raw.as_bytes()).expect("big mail parses");
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].filename, "big.bin");
    assert_eq!(mail.attachments[0].data.len(), data.len());
    assert!(mail.attachments[0].data == data);
}

#[test]
fn non_mail_is_rejected_with_a_reason() {
    let cases = [
        ("90-garbage.bin", "not a `Name: value` header field"),
        (
            "91-text-without-headers.txt",
            "not a `Name: value` header field",
        ),
        ("92-empty.eml", "empty"),
    ];
    for (file, reason) in cases {
        let err: ParseError = parse_mail(&read(file)).expect_err(file);
        assert!(err.to_string().contains(reason), "{file}: {err}");
    }
}

/// Every file parses or fails cleanly; a panic fails the test.
fn parse_everything_in(dir: &Path) -> usize {
    let mut count = 0;
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("LICENSE") || name == "COPYING" {
            // The vendored corpora's licences, not mail.
            continue;
        }
        if path.is_dir() {
            count += parse_everything_in(&path);
        } else {
            let raw =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            if let Ok(mail) = parse_mail(&raw) {
                assert!(!mail.content_hash.is_empty(), "{}", path.display());
            }
            count += 1;
        }
    }
    count
}

#[test]
fn the_robustness_corpus_parses_or_errors_without_panicking() {
    // Every message of both upstream corpora is vendored (tests/fixtures/mail/README.md): CPython's
    // 48 and mail-parser's 113.
    let committed = parse_everything_in(&fixture_dir().join("robustness"));
    assert!(committed >= 161, "only {committed} robustness files");
    assert!(parse_everything_in(&fixture_dir()) > committed);
}

#[test]
fn mail_parser_alone_widens_declared_gb2312_but_not_split_words() {
    // Checks the assumption charset.rs relies on: mail-parser maps a gb2312 label to GB18030 itself, so 镕/喆
    // survive; and documents why decode_encoded_words exists (words split inside a character).
    let parser = mail_parser::MessageParser::new();
    let raw = read("02-gb2312-with-gbk-only-chars.eml");
    let message = parser.parse(&raw).expect("fixture parses");
    assert_eq!(message.subject(), Some("朱镕基与陶喆：激活失败"));
    assert!(
        message
            .body_text(0)
            .unwrap_or_default()
            .contains("朱镕基和陶喆")
    );

    let raw = read("19-split-encoded-words.eml");
    let message = parser.parse(&raw).expect("fixture parses");
    assert!(message.subject().unwrap_or_default().contains('\u{FFFD}'));
    assert_eq!(
        load("19-split-encoded-words.eml").subject,
        "回复: 激活失败问题"
    );
}
