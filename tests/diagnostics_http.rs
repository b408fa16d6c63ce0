//! Activation diagnostics on cases through the front door, on SQLite and PostgreSQL: uploads on the
//! case page, the fingerprint table and drift, the report in both languages, refusals that store
//! nothing, customer upload links, the send request, related cases, the ingest hook, and roles.

mod common;

use std::path::{Path, PathBuf};

use casebook::auth::Role;
use casebook::cases::Case;
use casebook::cases::messages::{Attachment, CaseEvent, NewMessage};
use casebook::cases::model::NewCase;
use casebook::db::blobs::{BlobStore, sha256_hex};
use casebook::diagnostics::store::{self, SnapshotRow, StoreError};
use casebook::diagnostics::{Limits, Rules};
use casebook::i18n::Lang;
use common::{BackendKind, TestApp, spawn_app, spawn_app_with};
use diesel::RunQueryDsl;

both_backends!(
    agent_uploads_the_seed_and_the_case_page_shows_verdicts_table_and_drift,
    the_report_explains_the_vmware_evidence_in_english_and_chinese,
    a_zip_bomb_is_refused_naming_the_limit_and_nothing_is_stored,
    uploads_over_the_attachment_limit_are_refused_naming_it,
    a_customer_uploads_through_a_link_without_signing_in,
    revoked_expired_and_unknown_links_are_refused,
    sending_the_report_records_the_event_with_the_text,
    cases_sharing_a_serial_number_are_linked,
    mail_attachments_are_analysed_only_when_they_are_diagnostics,
    roles_are_enforced_on_diagnostics,
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/diagnostics")
        .join(name)
}

fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

fn new_case(app: &TestApp, title: &str) -> Case {
    Case::create(
        &mut app.conn(),
        &NewCase {
            number: None,
            title,
            state: casebook::workflow::CaseState::New,
            priority: casebook::workflow::Priority::Normal,
            customer_email: "chenhui.zd@centerm.com",
            customer_name: Some("陈女士"),
            language: "zh-CN",
            duplicate_of_id: None,
            at: casebook::db::now(),
        },
    )
    .expect("create case")
}

/// Posts fixtures as a multipart upload, with the session's CSRF token as the form's first field.
async fn upload_as(
    app: &TestApp,
    path: &str,
    csrf: Option<&str>,
    files: &[(&str, Vec<u8>)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    if let Some(token) = csrf {
        form = form.text("csrf_token", token.to_string());
    }
    for (name, bytes) in files {
        form = form.part(
            "files",
            reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.to_string())
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    }
    app.client
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

async fn upload(app: &TestApp, case: &Case, names: &[&str]) -> reqwest::Response {
    let csrf = app.csrf().await;
    let files: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (*n, read_fixture(n))).collect();
    upload_as(
        app,
        &format!("/cases/{}/diagnostics", case.number),
        Some(&csrf),
        &files,
    )
    .await
}

fn assert_redirects_to_case(r: &reqwest::Response, case: &Case) {
    assert_eq!(r.status().as_u16(), 303, "upload answers with a redirect");
    assert_eq!(
        r.headers()["location"],
        format!("/cases/{}#diagnostics", case.number).as_str()
    );
}

fn events(app: &TestApp, case: &Case, kind: &str) -> Vec<CaseEvent> {
    CaseEvent::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

/// The upload link shown once on the page after creating it.
async fn create_link(app: &TestApp, case: &Case, days: &str) -> String {
    let r = app
        .post_form(
            &format!("/cases/{}/upload-links", case.number),
            &[("days", days)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    let re = regex::Regex::new(r"http://127\.0\.0\.1:\d+/upload/[A-Za-z0-9_-]{43}").unwrap();
    let url = re
        .find(&html)
        .unwrap_or_else(|| panic!("the page shows the link: {html}"))
        .as_str()
        .to_string();
    url.strip_prefix(&app.address).unwrap().to_string()
}

fn form_csrf(html: &str) -> String {
    assert!(
        !html.contains("csrf_token="),
        "no CSRF token in a URL of the page: {html}"
    );
    let re = regex::Regex::new(r#"name="csrf_token" value="([A-Za-z0-9_-]+)""#).unwrap();
    re.captures(html)
        .map(|c| c[1].to_string())
        .unwrap_or_else(|| panic!("upload form names its CSRF token: {html}"))
}

async fn agent_uploads_the_seed_and_the_case_page_shows_verdicts_table_and_drift(
    backend: BackendKind,
) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = new_case(&app, "CMGE版本激活失败问题");
    app.login_as(Role::Agent).await;

    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("Activation diagnostics"), "panel shown");
    assert!(html.contains("No diagnostics yet"), "empty state");
    assert!(html.contains("enctype=\"multipart/form-data\""));

    let r = upload(
        &app,
        &case,
        &["seed-before-console.txt", "seed-after-console.txt"],
    )
    .await;
    assert_redirects_to_case(&r, &case);

    let (status, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Analysed:"), "flash names the files: {html}");
    assert!(html.contains("verdict-unknown"), "before: unknown");
    assert!(html.contains("verdict-virtual"), "after: virtual");
    assert!(html.contains("seed-before-console.txt"));
    // The fingerprint table: the filled-in fields are marked as changed, the BIOS serial is not.
    for field in ["baseboard_serial", "system_model", "baseboard_manufacturer"] {
        assert!(
            html.contains(&format!("<tr class=\"changed\" data-field=\"{field}\">")),
            "{field} highlighted"
        );
    }
    assert!(html.contains("<tr class=\"\" data-field=\"bios_serial\">"));
    assert!(html.contains("CT2204S00033"));
    assert!(html.contains("fingerprint-drift"), "drift finding shown");
    assert!(html.contains("known-activation-error"));
    assert!(
        html.contains("seed-after-console.txt:"),
        "evidence names file:line"
    );
    assert!(html.contains("Diagnostics uploaded"), "timeline entry");

    let rows = SnapshotRow::for_case(&mut app.conn(), case.id).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].via, "page");
    assert_eq!(rows[1].verdict, "virtual");
    assert_eq!(rows[1].baseboard_serial.as_deref(), Some("ct2204s00033"));
    let blobs = BlobStore::new(app.env.data_dir.path());
    assert_eq!(
        blobs.get(&rows[0].blob_sha256).unwrap(),
        read_fixture("seed-before-console.txt"),
        "raw bytes kept"
    );
    let analysis = store::analysis_for_case(&mut app.conn(), case.id, &Rules::builtin()).unwrap();
    assert_eq!(analysis.snapshots.len(), 2);
    assert!(
        analysis
            .findings
            .iter()
            .any(|f| f.code.as_str() == "fingerprint-drift")
    );
}

async fn the_report_explains_the_vmware_evidence_in_english_and_chinese(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = new_case(&app, "Activation fails on a VM");
    app.login_as(Role::Agent).await;
    let r = upload(&app, &case, &["vmware-systeminfo-en.txt"]).await;
    assert_redirects_to_case(&r, &case);

    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("verdict-virtual"));

    let report = format!("/cases/{}/diagnostics/report", case.number);
    let (status, en) = app.get_text(&format!("{report}?lang=en")).await;
    assert_eq!(status, 200);
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Activation diagnostics report"), "{en}");
    assert!(en.contains("virtual machine"));
    assert!(
        en.contains("Identified as a virtual machine because"),
        "explains the verdict"
    );
    assert!(en.contains("VMware, Inc."), "names the evidence value");
    assert!(
        en.contains("vmware-systeminfo-en.txt:"),
        "evidence names file:line"
    );
    assert!(
        en.contains("/diagnostics/diagnostics.css"),
        "print stylesheet linked"
    );

    let (status, zh) = app.get_text(&format!("{report}?lang=zh-CN")).await;
    assert_eq!(status, 200);
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    assert!(zh.contains("激活诊断报告"), "{zh}");
    assert!(zh.contains("判定为虚拟机"));
    assert!(zh.contains("系统制造商"));

    let css = app.get("/diagnostics/diagnostics.css").await;
    assert_eq!(css.status().as_u16(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.text().await.unwrap().contains("@media print"));

    let r = app
        .get(&format!(
            "/cases/{}/diagnostics/report.txt?lang=en",
            case.number
        ))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let text = r.text().await.unwrap();
    assert!(text.contains(&case.number));
    assert!(text.contains("Activation diagnostics report"));
    assert!(text.contains("Verdict: virtual machine"), "{text}");
    let (_, zh_text) = app
        .get_text(&format!(
            "/cases/{}/diagnostics/report.txt?lang=zh-CN",
            case.number
        ))
        .await;
    assert!(
        zh_text.contains("结论: 虚拟机") || zh_text.contains("结论：虚拟机"),
        "{zh_text}"
    );
}

async fn a_zip_bomb_is_refused_naming_the_limit_and_nothing_is_stored(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = new_case(&app, "Log bundle");
    app.login_as(Role::Agent).await;
    let r = upload(&app, &case, &["zip-bomb.zip"]).await;
    assert_redirects_to_case(&r, &case);
    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("Refused, nothing stored:"), "{html}");
    assert!(
        html.contains("compression ratio (max_ratio)"),
        "names the limit"
    );
    assert_eq!(
        SnapshotRow::count_for_case(&mut app.conn(), case.id).unwrap(),
        0
    );
    let blobs = BlobStore::new(app.env.data_dir.path());
    assert!(
        !blobs.contains(&sha256_hex(&read_fixture("zip-bomb.zip"))),
        "no blob left behind"
    );

    // Random bytes too; and a good file next to a bad one is still stored.
    let r = upload(&app, &case, &["garbage.bin", "physical-hp-console.txt"]).await;
    assert_redirects_to_case(&r, &case);
    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("is not text"), "{html}");
    assert!(html.contains("verdict-physical"));
    assert_eq!(
        SnapshotRow::count_for_case(&mut app.conn(), case.id).unwrap(),
        1
    );
}

async fn uploads_over_the_attachment_limit_are_refused_naming_it(backend: BackendKind) {
    let Some(app) = spawn_app_with(backend, &[("CASEBOOK_MAX_ATTACHMENT_BYTES", "4096")]).await
    else {
        return;
    };
    let case = new_case(&app, "Big upload");
    app.login_as(Role::Agent).await;
    let csrf = app.csrf().await;
    let r = upload_as(
        &app,
        &format!("/cases/{}/diagnostics", case.number),
        Some(&csrf),
        &[("big.txt", vec![b'a'; 8192])],
    )
    .await;
    assert_eq!(r.status().as_u16(), 413);
    let body = r.text().await.unwrap();
    assert!(body.contains("max_attachment_bytes"), "{body}");
    assert_eq!(
        SnapshotRow::count_for_case(&mut app.conn(), case.id).unwrap(),
        0
    );
}

async fn a_customer_uploads_through_a_link_without_signing_in(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = new_case(&app, "CMGE版本激活失败问题");
    app.login_as(Role::Agent).await;
    let path = create_link(&app, &case, "7").await;
    let token = path.rsplit('/').next().unwrap().to_string();

    // Only a keyed hash of the token is stored.
    let stored: Vec<String> = diesel::sql_query("SELECT token_hash FROM upload_links")
        .load::<TokenHash>(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|r| r.token_hash)
        .collect();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&token));
    assert_ne!(stored[0], casebook::auth::tokens::token_hash(&token));

    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("Customer upload links"));
    assert!(
        !html.contains(&token),
        "the case page never shows the token again"
    );
    assert!(html.contains(">Active<"));

    // A customer's browser: no account, no staff navigation.
    let customer = app.another_browser();
    let (status, form) = customer.get_text(&path).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("上传诊断信息") && form.contains("Upload diagnostics"),
        "bilingual"
    );
    assert!(form.contains(&case.number));
    assert!(!form.contains("/cases\""), "no staff navigation");
    let csrf = form_csrf(&form);

    // Without the form's token the post is refused and nothing is stored.
    let r = upload_as(
        &customer,
        &path,
        None,
        &[(
            "seed-after-console.txt",
            read_fixture("seed-after-console.txt"),
        )],
    )
    .await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        SnapshotRow::count_for_case(&mut app.conn(), case.id).unwrap(),
        0
    );

    let r = upload_as(
        &customer,
        &path,
        Some(&csrf),
        &[
            (
                "seed-after-console.txt",
                read_fixture("seed-after-console.txt"),
            ),
            ("garbage.bin", read_fixture("garbage.bin")),
        ],
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let done = r.text().await.unwrap();
    assert!(
        done.contains("文件已收到") && done.contains("Your files were received"),
        "{done}"
    );
    assert!(done.contains("received"));
    assert!(
        done.contains(
            "not accepted: this is not a text file: please save the command output as a .txt file"
        ) && done.contains("未接受：这不是文本文件"),
        "the customer is told in both languages what to send instead: {done}"
    );
    assert!(
        !done.contains("expected wmic"),
        "the staff wording stays on the case: {done}"
    );

    let rows = SnapshotRow::for_case(&mut app.conn(), case.id).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].via, "upload_link");
    assert!(rows[0].upload_link_id.is_some());
    assert_eq!(rows[0].uploaded_by, None);
    let uploaded = events(&app, &case, "customer_uploaded");
    assert_eq!(uploaded.len(), 1);
    let data: serde_json::Value =
        serde_json::from_str(uploaded[0].data.as_deref().unwrap()).unwrap();
    assert_eq!(data["snapshots"][0]["source"], "seed-after-console.txt");
    assert_eq!(data["snapshots"][0]["verdict"], "virtual");
    assert_eq!(data["refused"][0]["source"], "garbage.bin");

    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("uploaded by the customer (upload link)"));
    assert!(html.contains("Customer uploaded files"), "timeline");
    assert!(html.contains("<td>1</td>"), "the link counts one upload");
}

#[derive(diesel::QueryableByName)]
struct TokenHash {
    #[diesel(sql_type = diesel::sql_types::Text)]
    token_hash: String,
}

#[derive(diesel::QueryableByName)]
struct LinkId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

async fn revoked_expired_and_unknown_links_are_refused(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = new_case(&app, "Links");
    app.login_as(Role::Agent).await;
    let customer = app.another_browser();

    // Revoked.
    let revoked = create_link(&app, &case, "").await;
    let (status, form) = customer.get_text(&revoked).await;
    assert_eq!(status, 200);
    let csrf = form_csrf(&form);
    let ids: Vec<LinkId> = diesel::sql_query("SELECT id FROM upload_links")
        .load(&mut app.conn())
        .unwrap();
    let r = app
        .post_form(
            &format!("/cases/{}/upload-links/{}/revoke", case.number, ids[0].id),
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (status, page) = customer.get_text(&revoked).await;
    assert_eq!(status, 410);
    assert!(
        page.contains("This upload link is no longer valid"),
        "{page}"
    );
    assert!(page.contains("此上传链接已失效"));
    let r = upload_as(
        &customer,
        &revoked,
        Some(&csrf),
        &[(
            "seed-after-console.txt",
            read_fixture("seed-after-console.txt"),
        )],
    )
    .await;
    assert_eq!(r.status().as_u16(), 410, "a revoked link takes no upload");
    assert_eq!(events(&app, &case, "upload_link_revoked").len(), 1);
    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains(">Revoked<"));
    // Revoking twice is not found.
    let r = app
        .post_form(
            &format!("/cases/{}/upload-links/{}/revoke", case.number, ids[0].id),
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);

    // Expired.
    let expired = create_link(&app, &case, "1").await;
    let (status, _) = customer.get_text(&expired).await;
    assert_eq!(status, 200);
    diesel::sql_query("UPDATE upload_links SET expires_at = created_at WHERE revoked_at IS NULL")
        .execute(&mut app.conn())
        .unwrap();
    let (status, page) = customer.get_text(&expired).await;
    assert_eq!(status, 410);
    assert!(page.contains("expired"), "{page}");
    let r = upload_as(
        &customer,
        &expired,
        Some(&csrf),
        &[(
            "seed-after-console.txt",
            read_fixture("seed-after-console.txt"),
        )],
    )
    .await;
    assert_eq!(r.status().as_u16(), 410);
    assert_eq!(
        SnapshotRow::count_for_case(&mut app.conn(), case.id).unwrap(),
        0
    );

    // Used up: a link takes a bounded number of uploads.
    let busy = create_link(&app, &case, "7").await;
    diesel::sql_query(format!(
        "UPDATE upload_links SET uses = {} WHERE revoked_at IS NULL AND expires_at > created_at",
        casebook::diagnostics::links::MAX_UPLOADS
    ))
    .execute(&mut app.conn())
    .unwrap();
    let (status, page) = customer.get_text(&busy).await;
    assert_eq!(status, 410);
    assert!(page.contains("upload limit"), "{page}");
    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains(">Upload limit reached<"));

    // Unknown or malformed tokens.
    let (status, page) = customer
        .get_text("/upload/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(status, 404);
    assert!(page.contains("Upload link not found") && page.contains("找不到上传链接"));
    let (status, _) = customer.get_text("/upload/short").await;
    assert_eq!(status, 404);

    // Validity outside 1..=90 days is refused with the range named.
    let r = app
        .post_form(
            &format!("/cases/{}/upload-links", case.number),
            &[("days", "365")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("from 1 to 90"), "{html}");
}

async fn sending_the_report_records_the_event_with_the_text(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = new_case(&app, "Report");
    app.login_as(Role::Agent).await;

    // Nothing to send yet.
    let r = app
        .post_form(
            &format!("/cases/{}/diagnostics/report/send", case.number),
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(events(&app, &case, "report_sent").is_empty());
    assert_eq!(
        store::report_mail_text(&mut app.conn(), case.id, &Rules::builtin(), Lang::En).unwrap(),
        None
    );

    upload(&app, &case, &["vmware-systeminfo-en.txt"]).await;
    // Default: the customer's language (zh-CN for this case).
    let r = app
        .post_form(
            &format!("/cases/{}/diagnostics/report/send", case.number),
            &[("lang", "")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let sent = events(&app, &case, "report_sent");
    assert_eq!(sent.len(), 1);
    let data: serde_json::Value = serde_json::from_str(sent[0].data.as_deref().unwrap()).unwrap();
    assert_eq!(data["lang"], "zh-CN");
    // The report is queued to the customer as an outbound mail on the thread.
    let outbound: Vec<_> = casebook::cases::messages::Message::for_case(&mut app.conn(), case.id)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == "outbound")
        .collect();
    assert_eq!(outbound.len(), 1);
    assert_eq!(
        outbound[0].message_id.as_deref(),
        data["message_id"].as_str()
    );
    let text = &outbound[0].body_text;
    assert!(
        text.contains("激活诊断报告") && text.contains("虚拟机"),
        "{text}"
    );
    assert!(text.contains(&case.number));

    let mail = store::report_mail_text(&mut app.conn(), case.id, &Rules::builtin(), Lang::En)
        .unwrap()
        .expect("a report once there are diagnostics");
    assert!(mail.contains("virtual machine"));

    let (_, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(html.contains("Diagnostics report sent"), "timeline");
}

async fn cases_sharing_a_serial_number_are_linked(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = new_case(&app, "SN ZZ02-2200-00033");
    let second = new_case(&app, "SN ZZ02-2200-00034");
    let unrelated = new_case(&app, "Another customer");
    app.login_as(Role::Agent).await;
    upload(&app, &first, &["seed-after-console.txt"]).await;
    upload(&app, &second, &["seed-after-console.txt"]).await;
    upload(&app, &unrelated, &["physical-hp-console.txt"]).await;
    // Placeholders never link: two white-box PCs are not the same device.
    upload(&app, &unrelated, &["placeholders-format-list-console.txt"]).await;
    let other_white_box = new_case(&app, "White box");
    upload(
        &app,
        &other_white_box,
        &["placeholders-format-list-console.txt"],
    )
    .await;

    let related = store::related_cases(&mut app.conn(), first.id).unwrap();
    assert_eq!(related.len(), 1, "{related:?}");
    assert_eq!(related[0].number, second.number);
    let fields: Vec<&str> = related[0].matched.iter().map(|(f, _)| f.as_str()).collect();
    assert!(fields.contains(&"baseboard_serial"), "{fields:?}");
    assert!(fields.contains(&"fingerprint"), "{fields:?}");
    assert!(
        store::related_cases(&mut app.conn(), other_white_box.id)
            .unwrap()
            .is_empty()
    );

    let (_, html) = app.get_text(&format!("/cases/{}", first.number)).await;
    assert!(html.contains(&format!("href=\"/cases/{}\"", second.number)));
    assert!(!html.contains(&format!("href=\"/cases/{}\"", unrelated.number)));
}

async fn mail_attachments_are_analysed_only_when_they_are_diagnostics(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = new_case(&app, "Mail");
    let mut conn = app.conn();
    let at = casebook::db::now();
    let message = NewMessage {
        case_id: case.id,
        direction: "inbound".into(),
        message_id: Some("seed-4@centerm.com".into()),
        in_reply_to: None,
        references_ids: String::new(),
        from_email: "chenhui.zd@centerm.com".into(),
        from_name: None,
        to_addrs: "support@casebook.test".into(),
        cc_addrs: String::new(),
        subject: "信息如附件".into(),
        sent_at: Some(at),
        received_at: at,
        body_text: "现我们的终端已经可以获取您们要求的这几条指令，信息如附件。".into(),
        new_text: "信息如附件".into(),
        body_html: None,
        auto: false,
        thread_method: "new".into(),
        raw_sha256: None,
        content_hash: "h1".into(),
        author_id: None,
        created_at: at,
    }
    .insert(&mut conn)
    .unwrap();
    let blobs = BlobStore::new(app.env.data_dir.path());
    let mut attach = |name: &str, content_type: &str, bytes: &[u8]| {
        let sha = blobs.put(bytes).unwrap();
        Attachment::insert(
            &mut conn,
            message,
            case.id,
            name,
            content_type,
            bytes.len() as i64,
            &sha,
            None,
            false,
        )
        .unwrap();
        let id = Attachment::for_case(&mut conn, case.id)
            .unwrap()
            .last()
            .unwrap()
            .id;
        store::analyse_mail_attachment(
            &mut conn,
            &blobs,
            &Rules::builtin(),
            &Limits::default(),
            case.id,
            id,
            name,
            content_type,
            bytes,
        )
    };

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    assert!(
        attach("screenshot.png", "image/png", &png)
            .unwrap()
            .is_none()
    );
    assert!(
        attach(
            "minutes.txt",
            "text/plain",
            "会议纪要：下周二再沟通。".as_bytes()
        )
        .unwrap()
        .is_none()
    );
    let row = attach(
        "wmic.txt",
        "text/plain",
        &read_fixture("seed-after-console.txt"),
    )
    .unwrap()
    .expect("diagnostics are stored");
    assert_eq!(row.via, "mail");
    assert!(row.attachment_id.is_some());
    assert_eq!(row.verdict, "virtual");
    let bomb = attach(
        "CMGE_Log.zip",
        "application/zip",
        &read_fixture("zip-bomb.zip"),
    );
    match bomb {
        Err(StoreError::Refused(e)) => assert!(e.to_string().contains("max_ratio"), "{e}"),
        Err(other) => panic!("refused, not {other}"),
        Ok(row) => assert!(
            row.is_none(),
            "a bomb that does not look like diagnostics is skipped"
        ),
    }
    assert_eq!(SnapshotRow::count_for_case(&mut conn, case.id).unwrap(), 1);
}

async fn roles_are_enforced_on_diagnostics(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let case = new_case(&app, "Roles");
    let report = format!("/cases/{}/diagnostics/report", case.number);

    // Anonymous visitors are sent to sign in.
    for path in [
        format!("/cases/{}", case.number),
        report.clone(),
        format!("{report}.txt"),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?next="),
            "{path}"
        );
    }
    let csrf = app.csrf().await;
    let r = upload_as(
        &app,
        &format!("/cases/{}/diagnostics", case.number),
        Some(&csrf),
        &[("a.txt", read_fixture("physical-hp-console.txt"))],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303, "anonymous upload goes to sign-in");
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );

    // Engineers read the evidence but do not contact customers.
    app.login_as(Role::Engineer).await;
    let (status, html) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Activation diagnostics"));
    assert!(
        !html.contains("Create upload link"),
        "no link form for engineers"
    );
    assert_eq!(app.get_text(&report).await.0, 200);
    assert_eq!(app.get_text(&format!("{report}.txt")).await.0, 200);
    let r = app
        .post_form(
            &format!("/cases/{}/upload-links", case.number),
            &[("days", "7")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let r = app
        .post_form(
            &format!("/cases/{}/diagnostics/report/send", case.number),
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let csrf = app.csrf().await;
    let r = upload_as(
        &app,
        &format!("/cases/{}/diagnostics", case.number),
        Some(&csrf),
        &[("a.txt", read_fixture("physical-hp-console.txt"))],
    )
    .await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        SnapshotRow::count_for_case(&mut app.conn(), case.id).unwrap(),
        0
    );
    assert_eq!(
        app.get_text("/cases/CAS-99999-ZZZZZZ/diagnostics/report")
            .await
            .0,
        404
    );
}
