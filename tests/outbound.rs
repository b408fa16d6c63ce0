//! Outbound mail through the front door: replies written in the case page, the outbox, the
//! sender against a real (test) SMTP server and the file outbox, threading of the customer's
//! answer, the credential warning, notes, canned responses, roles — on SQLite and PostgreSQL.

mod common;

use casebook::auth::Role;
use casebook::cases::messages::{CaseEvent, Message, NewMessage, Participant};
use casebook::cases::model::NewCase;
use casebook::cases::{Case, CaseNumber};
use casebook::db::blobs::BlobStore;
use casebook::ingest::thread::{ThreadInput, ThreadMethod, thread};
use casebook::mail::compose::SubjectKind;
use casebook::mail::outbox::{self, OutboxRow};
use casebook::mail::sender::{self, SendReport};
use casebook::mail::{canned::CannedResponse, message_id};
use casebook::workflow::events::EventData;
use common::smtp::TestSmtp;
use common::{BackendKind, TestApp, spawn_app, spawn_app_with};
use mail_parser::MimeHeaders;

both_backends!(
    a_reply_is_mailed_with_threading_headers_and_the_customers_answer_threads_back,
    acknowledgements_are_automatic_mail_and_workflow_mails_are_not,
    an_smtp_outage_keeps_mail_queued_with_backoff_and_each_mail_is_delivered_once,
    without_smtp_mail_goes_to_the_file_outbox,
    a_reply_that_looks_like_it_carries_a_password_needs_confirmation,
    notes_are_never_mailed_and_engineers_may_note_but_not_reply,
    canned_responses_prefill_the_reply_and_admins_manage_them,
    outbox_flush_delivers_due_mail_from_the_command_line,
    a_mail_that_cannot_be_sent_is_given_up_visibly,
    a_reply_written_while_the_case_changed_shows_the_changes_first,
    a_reply_form_sent_twice_at_once_queues_one_mail,
    a_note_form_sent_twice_adds_one_note,
);

const CUSTOMER: &str = "chenhui.zd@centerm.example";
const TOKEN_FORMAT: &str = "[案例号: {number} ]";

async fn app_with_smtp(backend: BackendKind, port: u16) -> Option<TestApp> {
    let port = port.to_string();
    spawn_app_with(
        backend,
        &[
            ("CASEBOOK_SMTP_HOST", "127.0.0.1"),
            ("CASEBOOK_SMTP_PORT", &port),
            ("CASEBOOK_SMTP_SECURITY", "none"),
            ("CASEBOOK_SUBJECT_TOKEN_FORMAT", TOKEN_FORMAT),
            ("CASEBOOK_MAIL_FROM", "support@cmgos.example"),
            ("CASEBOOK_MAIL_FROM_NAME", "CMGOS 技术支持"),
        ],
    )
    .await
}

fn blobs(app: &TestApp) -> BlobStore {
    BlobStore::new(&app.config.data_dir)
}

async fn flush(app: &TestApp) -> SendReport {
    sender::send_due_now(&app.pool, &blobs(app), &app.config)
        .await
        .expect("sender pass")
}

/// A case opened by the customer's first mail (as ingest would store it), with a colleague on Cc.
fn open_case(app: &TestApp, language: &str) -> (Case, String) {
    let mut conn = app.conn();
    let at = casebook::db::now();
    let case = Case::create(
        &mut conn,
        &NewCase {
            number: None,
            title: "CMGE版本激活失败问题",
            state: casebook::workflow::CaseState::New,
            priority: casebook::workflow::Priority::Normal,
            customer_email: CUSTOMER,
            customer_name: Some("陈女士"),
            language,
            duplicate_of_id: None,
            at,
        },
    )
    .unwrap();
    Participant::add(&mut conn, case.id, CUSTOMER, Some("陈女士"), "customer").unwrap();
    Participant::add(&mut conn, case.id, "colleague@centerm.example", None, "cc").unwrap();
    let inbound_id = format!("{}.first@mail.centerm.example", case.number.to_lowercase());
    NewMessage {
        case_id: case.id,
        direction: "inbound".into(),
        message_id: Some(inbound_id.clone()),
        in_reply_to: None,
        references_ids: "<older-1@mail.centerm.example>".into(),
        from_email: CUSTOMER.into(),
        from_name: Some("陈女士".into()),
        to_addrs: "support@cmgos.example".into(),
        cc_addrs: "colleague@centerm.example".into(),
        subject: "CMGE版本激活失败问题".into(),
        sent_at: Some(at),
        received_at: at,
        body_text: "离线激活失败，提示“Device marker binding is Invalid”。".into(),
        new_text: "离线激活失败，提示“Device marker binding is Invalid”。".into(),
        body_html: None,
        auto: false,
        thread_method: "new_case".into(),
        raw_sha256: None,
        content_hash: casebook::db::blobs::sha256_hex(inbound_id.as_bytes()),
        author_id: None,
        created_at: at,
    }
    .insert(&mut conn)
    .unwrap();
    (case, inbound_id)
}

/// Posts the multipart reply form like a browser.
async fn post_reply(
    app: &TestApp,
    number: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> reqwest::Response {
    app.post_reply(number, fields, files).await
}

fn outbox_rows(app: &TestApp, case: &Case) -> Vec<OutboxRow> {
    OutboxRow::for_case(&mut app.conn(), case.id).unwrap()
}

fn header_ids(v: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match v {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

async fn a_reply_is_mailed_with_threading_headers_and_the_customers_answer_threads_back(
    backend: BackendKind,
) {
    let smtp = TestSmtp::start();
    let Some(app) = app_with_smtp(backend, smtp.port).await else {
        return;
    };
    let agent = app.login_as(Role::Agent).await;
    let (case, inbound_id) = open_case(&app, "zh-CN");

    let (status, page) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert_eq!(status, 200);
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
    assert!(
        page.contains("name=\"cc\" value=\"\""),
        "Cc starts empty: {page}"
    );
    assert!(
        page.contains("<span class=\"mono\">colleague@centerm.example</span>"),
        "the customer's colleague is offered under the Cc field"
    );

    let body = "陈女士，您好：\n\n请运行 wmic baseboard get serialnumber <b>并</b> 把结果发给我们。\n.\n..以点开头的行";
    let r = post_reply(
        &app,
        &case.number,
        &[
            ("cc", "colleague@centerm.example, Boss@Centerm.example"),
            ("body", body),
        ],
        &[("日志说明.txt", "text/plain", "收集日志的步骤".as_bytes())],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());

    // Queued in the same transaction as the thread message; nothing sent yet.
    let rows = outbox_rows(&app, &case);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "queued");
    assert_eq!(rows[0].kind, "reply");
    assert!(smtp.received().is_empty());
    let thread_msgs = Message::for_case(&mut app.conn(), case.id).unwrap();
    let out = thread_msgs
        .iter()
        .find(|m| m.direction == "outbound")
        .expect("the reply is in the thread");
    assert_eq!(out.thread_method, "composed");
    assert_eq!(out.author_id, Some(agent.id));
    assert_eq!(out.message_id.as_deref(), Some(rows[0].message_id.as_str()));
    assert_eq!(out.in_reply_to.as_deref(), Some(inbound_id.as_str()));
    let events = CaseEvent::for_case(&mut app.conn(), case.id).unwrap();
    assert!(events.iter().any(|e| e.kind == "reply_sent"));
    let (_, page) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(
        page.contains("wmic baseboard get serialnumber &#60;b&#62;并"),
        "the reply shows (escaped) in the thread"
    );
    assert!(
        page.contains(&format!(
            "<span class=\"author\">written by {}</span>",
            agent.name
        )),
        "the thread names the agent who wrote the reply sent under the team's name: {page}"
    );

    let report = flush(&app).await;
    assert_eq!(
        report,
        SendReport {
            sent: 1,
            retrying: 0,
            failed: 0
        }
    );
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.mail_from, "support@cmgos.example");
    let mut rcpt = mail.rcpt_to.clone();
    rcpt.sort();
    assert_eq!(
        rcpt,
        vec![
            "boss@centerm.example",
            CUSTOMER,
            "colleague@centerm.example"
        ]
    );
    let parsed = mail.parsed();
    assert_eq!(
        parsed.subject().unwrap(),
        format!("Re: [案例号: {} ] CMGE版本激活失败问题", case.number)
    );
    assert!(
        parsed
            .header_raw("From")
            .unwrap()
            .contains("support@cmgos.example")
    );
    assert!(parsed.header_raw("To").unwrap().contains(CUSTOMER));
    let cc = parsed.header_raw("Cc").unwrap();
    assert!(
        cc.contains("colleague@centerm.example") && cc.contains("boss@centerm.example"),
        "{cc}"
    );
    let mid = parsed.message_id().unwrap().to_string();
    assert_eq!(mid, rows[0].message_id);
    assert_eq!(
        message_id::verify(app.config.secret().as_bytes(), &mid),
        Some(CaseNumber::parse(&case.number).unwrap()),
        "the Message-ID is signed for the case"
    );
    assert_eq!(header_ids(parsed.in_reply_to()), vec![inbound_id.clone()]);
    assert_eq!(
        header_ids(parsed.references()),
        vec![
            "older-1@mail.centerm.example".to_string(),
            inbound_id.clone()
        ]
    );
    assert!(
        parsed.header_raw("Auto-Submitted").is_none(),
        "a person's reply is not automatic"
    );
    assert!(parsed.header_raw("X-Casebook-Loop").is_some());
    let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("请运行 wmic baseboard get serialnumber <b>并</b> 把结果发给我们。"),
        "{text}"
    );
    assert!(
        text.contains("\n.\n..以点开头的行"),
        "dot lines survive stuffing: {text}"
    );
    assert!(text.contains("Test agent"), "signed by the agent");
    let html = parsed.body_html(0).unwrap();
    assert!(
        html.contains("&#60;b&#62;并&#60;/b&#62;"),
        "the agent's text is escaped: {html}"
    );
    assert!(!html.contains("<b>并</b>"));
    assert!(
        html.replace("\r\n", "\n").contains(".<br>\n..以点开头的行"),
        "lines starting with a dot survive SMTP dot-stuffing: {html}"
    );
    let att: Vec<_> = parsed.attachments().collect();
    assert_eq!(att.len(), 1);
    assert_eq!(att[0].attachment_name(), Some("日志说明.txt"));
    assert_eq!(att[0].contents(), "收集日志的步骤".as_bytes());

    let rows = outbox_rows(&app, &case);
    assert_eq!(rows[0].status, "sent");
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].sent_at.is_some());
    // A second pass sends nothing again.
    assert_eq!(flush(&app).await, SendReport::default());
    assert_eq!(smtp.received().len(), 1);

    // The customer answers our mail from a client that rewrites the subject: it still threads.
    let decision = thread(
        &mut app.conn(),
        app.config.secret().as_bytes(),
        &ThreadInput {
            in_reply_to: std::slice::from_ref(&mid),
            references: &[inbound_id, mid.clone()],
            subject: "答复: 结果",
            from_email: CUSTOMER,
            sender_is_staff: false,
        },
    )
    .unwrap();
    assert_eq!(decision.method, ThreadMethod::SignedMessageId);
    assert_eq!(decision.case_id, Some(case.id));

    // And through the whole ingest pipeline, as the customer's mail client would send it.
    let answer = format!(
        "From: <{CUSTOMER}>\r\nTo: support@cmgos.com\r\nSubject: =?UTF-8?B?562U5aSNOiDnu5Pmnpw=?=\r\n\
         Message-ID: <answer-1@centerm.com>\r\nIn-Reply-To: <{mid}>\r\nReferences: <{mid}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n已收到，谢谢。\r\n"
    );
    let blob_store = blobs(&app);
    let mut conn = app.conn();
    let ingestor =
        casebook::ingest::pipeline::Ingestor::new(&mut conn, &app.config, &blob_store).unwrap();
    let outcome = ingestor
        .ingest_batch(
            &mut conn,
            vec![casebook::ingest::pipeline::Incoming {
                origin: "reply".into(),
                bytes: answer.into_bytes(),
            }],
        )
        .unwrap()
        .remove(0);
    assert_eq!(
        outcome,
        casebook::ingest::pipeline::Outcome::Appended {
            case: case.number.clone()
        }
    );
    let last = Message::for_case(&mut conn, case.id)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.thread_method, "signed_message_id");
    assert_eq!(last.new_text, "已收到，谢谢。");
}

async fn acknowledgements_are_automatic_mail_and_workflow_mails_are_not(backend: BackendKind) {
    let smtp = TestSmtp::start();
    let Some(app) = app_with_smtp(backend, smtp.port).await else {
        return;
    };
    let (case, inbound_id) = open_case(&app, "zh-CN");
    let (en_case, _) = open_case(&app, "en");
    {
        let mut conn = app.conn();
        let inbound = Message::for_case(&mut conn, case.id).unwrap().remove(0);
        outbox::queue_acknowledgement(&mut conn, &blobs(&app), &app.config, &case, &inbound)
            .unwrap();
        outbox::queue_customer_mail(
            &mut conn,
            &blobs(&app),
            &app.config,
            &en_case,
            SubjectKind::Scope,
            "Problem definition: offline activation fails.\nScope: help analyse it.",
        )
        .unwrap();
    }
    assert_eq!(flush(&app).await.sent, 2);
    let received = smtp.received();
    assert_eq!(received.len(), 2);
    let ack = received
        .iter()
        .map(|r| r.parsed())
        .find(|p| p.subject().unwrap().contains(&case.number))
        .unwrap();
    assert_eq!(
        ack.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert_eq!(
        ack.header_raw("X-Auto-Response-Suppress").map(str::trim),
        Some("All")
    );
    assert_eq!(header_ids(ack.in_reply_to()), vec![inbound_id]);
    let text = ack.body_text(0).unwrap();
    assert!(
        text.contains(&case.number) && text.contains("感谢您的来信"),
        "{text}"
    );
    let scope = received
        .iter()
        .map(|r| r.parsed())
        .find(|p| p.subject().unwrap().contains(&en_case.number))
        .unwrap();
    assert_eq!(
        scope.subject().unwrap(),
        format!(
            "[案例号: {} ] Problem definition and scope · CMGE版本激活失败问题",
            en_case.number
        )
    );
    assert!(scope.header_raw("Auto-Submitted").is_none());
    assert!(
        scope
            .body_text(0)
            .unwrap()
            .contains("please keep this reference")
    );
    // Both show in their case's thread; the acknowledgement folded as automatic.
    let msgs = Message::for_case(&mut app.conn(), case.id).unwrap();
    assert!(msgs.iter().any(|m| m.direction == "outbound" && m.auto));
    assert_eq!(outbox_rows(&app, &case)[0].kind, "acknowledgement");
}

async fn an_smtp_outage_keeps_mail_queued_with_backoff_and_each_mail_is_delivered_once(
    backend: BackendKind,
) {
    let port = TestSmtp::free_port();
    let Some(app) = app_with_smtp(backend, port).await else {
        return;
    };
    app.login_as(Role::Admin).await;
    let (case, _) = open_case(&app, "en");
    for text in ["First answer", "Second answer"] {
        let r = post_reply(&app, &case.number, &[("cc", ""), ("body", text)], &[]).await;
        assert_eq!(r.status().as_u16(), 303);
    }

    // The relay is down: both stay queued for a retry, with the error and a backoff.
    let report = flush(&app).await;
    assert_eq!(
        report,
        SendReport {
            sent: 0,
            retrying: 2,
            failed: 0
        }
    );
    let before = casebook::db::now();
    for row in outbox_rows(&app, &case) {
        assert_eq!(row.status, "retry");
        assert_eq!(row.attempts, 1);
        assert!(row.last_error.as_deref().is_some_and(|e| !e.is_empty()));
        assert!(
            row.next_attempt_at > before + chrono::Duration::seconds(20),
            "backoff applied"
        );
    }
    assert_eq!(flush(&app).await, SendReport::default(), "not due yet");
    let (status, page) = app.get_text("/admin/outbox").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Waiting to retry") && page.contains("Retry now"),
        "{page}"
    );

    // The relay comes back, refusing the first mail once with 451.
    let smtp = TestSmtp::start_on(port);
    smtp.fail_next(1);
    for row in outbox_rows(&app, &case) {
        let r = app
            .post_form(&format!("/admin/outbox/{}/retry", row.id), &[])
            .await;
        assert_eq!(r.status().as_u16(), 303);
    }
    let report = flush(&app).await;
    assert_eq!(
        report,
        SendReport {
            sent: 1,
            retrying: 1,
            failed: 0
        }
    );
    let rows = outbox_rows(&app, &case);
    let waiting = rows.iter().find(|r| r.status == "retry").unwrap();
    assert_eq!(waiting.attempts, 2);
    assert!(
        waiting.last_error.as_deref().unwrap().contains("451"),
        "{:?}",
        waiting.last_error
    );
    OutboxRow::retry_now(&mut app.conn(), waiting.id).unwrap();

    // Two senders racing (two instances): the claim lets only one send each row.
    let (a, b) = tokio::join!(flush(&app), flush(&app));
    assert_eq!(a.sent + b.sent, 1);
    assert_eq!(flush(&app).await, SendReport::default());
    let received = smtp.received();
    let mut ids: Vec<String> = received
        .iter()
        .map(|r| r.parsed().message_id().unwrap().to_string())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = rows.iter().map(|r| r.message_id.clone()).collect();
    expected.sort();
    assert_eq!(
        ids, expected,
        "each mail delivered exactly once, with its original Message-ID"
    );
    assert!(outbox_rows(&app, &case).iter().all(|r| r.status == "sent"));
}

async fn without_smtp_mail_goes_to_the_file_outbox(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let (case, _) = open_case(&app, "en");
    let r = post_reply(
        &app,
        &case.number,
        &[("body", "Hello from the file outbox")],
        &[],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(flush(&app).await.sent, 1);
    let row = outbox_rows(&app, &case).remove(0);
    assert_eq!(row.status, "sent");
    let path = app
        .config
        .data_dir
        .join("outbox")
        .join(sender::eml_file_name(&row.message_id));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(parsed.message_id(), Some(row.message_id.as_str()));
    assert!(
        parsed
            .body_text(0)
            .unwrap()
            .contains("Hello from the file outbox")
    );
    assert_eq!(
        parsed.subject().unwrap(),
        format!("Re: [{}] CMGE版本激活失败问题", case.number),
        "default token format"
    );
}

async fn a_reply_that_looks_like_it_carries_a_password_needs_confirmation(backend: BackendKind) {
    let smtp = TestSmtp::start();
    let Some(app) = app_with_smtp(backend, smtp.port).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let (case, _) = open_case(&app, "zh-CN");
    let body = "请登录上传系统：\n5)     用户名：userchen\n6)     密码：chen123\n";
    let r = post_reply(&app, &case.number, &[("body", body)], &[]).await;
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("credential-warning"), "{page}");
    assert!(
        page.contains("密码：c•"),
        "the finding is shown masked: {page}"
    );
    assert!(page.contains("name=\"send_anyway\""));
    assert!(
        outbox_rows(&app, &case).is_empty(),
        "nothing queued without confirmation"
    );

    let r = post_reply(
        &app,
        &case.number,
        &[("body", body), ("send_anyway", "yes")],
        &[],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(outbox_rows(&app, &case).len(), 1);

    // Without the CSRF token the form is refused.
    let form = reqwest::multipart::Form::new().text("body", "hello");
    let r = app
        .client
        .post(app.url(&format!("/cases/{}/reply", case.number)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(outbox_rows(&app, &case).len(), 1);
}

async fn notes_are_never_mailed_and_engineers_may_note_but_not_reply(backend: BackendKind) {
    let smtp = TestSmtp::start();
    let Some(app) = app_with_smtp(backend, smtp.port).await else {
        return;
    };
    let engineer = app.login_as(Role::Engineer).await;
    let (case, _) = open_case(&app, "zh-CN");
    let (status, page) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert_eq!(status, 200);
    assert!(page.contains("/note\""), "engineers see the note form");
    assert!(
        !page.contains(&format!("action=\"/cases/{}/reply\"", case.number)),
        "but not the reply form"
    );

    let r = app
        .post_form(
            &format!("/cases/{}/note", case.number),
            &[("body", "研发：日志显示主板序列号为空。")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let msgs = Message::for_case(&mut app.conn(), case.id).unwrap();
    let note = msgs.iter().find(|m| m.direction == "note").unwrap();
    assert_eq!(note.author_id, Some(engineer.id));
    assert!(note.message_id.is_none());
    assert_eq!(flush(&app).await, SendReport::default());
    assert!(outbox_rows(&app, &case).is_empty());
    assert!(smtp.received().is_empty(), "a note is never mailed");

    let r = post_reply(&app, &case.number, &[("body", "hello")], &[]).await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        app.get(&format!("/cases/{}/reply", case.number))
            .await
            .status()
            .as_u16(),
        403
    );
    for admin_page in ["/admin/outbox", "/admin/canned"] {
        assert_eq!(
            app.get(admin_page).await.status().as_u16(),
            403,
            "{admin_page}"
        );
    }
    assert!(outbox_rows(&app, &case).is_empty());

    // Signed-out visitors are sent to sign in.
    let anon = app.another_browser();
    let r = anon.get(&format!("/cases/{}/reply", case.number)).await;
    assert_eq!(r.status().as_u16(), 303);
}

async fn canned_responses_prefill_the_reply_and_admins_manage_them(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (case, _) = open_case(&app, "zh-CN");
    let seeded = CannedResponse::list(&mut app.conn()).unwrap();
    assert_eq!(seeded.len(), 2, "one zh and one en collect-logs response");
    for c in &seeded {
        assert!(
            casebook::mail::credentials::scan(&c.body).is_empty(),
            "the seeded text never asks for a password: {}",
            c.body
        );
    }
    let zh = seeded.iter().find(|c| c.lang == "zh-CN").unwrap();
    assert!(zh.body.contains("上传链接"));

    app.login_as(Role::Agent).await;
    let (status, page) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("[zh-CN] 收集日志"),
        "picker lists the canned responses"
    );
    let (status, page) = app
        .get_text(&format!("/cases/{}/reply?canned={}", case.number, zh.id))
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("为进一步分析案例 {} 的问题", case.number)),
        "{page}"
    );
    assert!(page.contains("陈女士，您好"));
    assert!(page.contains("Test agent"));
    assert!(!page.contains("{{case_number}}"));

    // The pre-filled text sends without a credential warning.
    let body = zh.render(&case, "Test agent");
    let r = post_reply(&app, &case.number, &[("body", &body)], &[]).await;
    assert_eq!(r.status().as_u16(), 303);

    // Admins create, edit and delete canned responses; agents may not.
    let r = app
        .post_form(
            "/admin/canned",
            &[("name", "x"), ("lang", "en"), ("body", "y")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    let admin = app.another_browser();
    admin.login_as(Role::Admin).await;
    let r = admin
        .post_form(
            "/admin/canned",
            &[
                ("name", "Ask for systeminfo"),
                ("lang", "en"),
                ("body", "Hello {{customer_name}}, please run systeminfo."),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let r = admin
        .post_form(
            "/admin/canned",
            &[
                ("name", "Ask for systeminfo"),
                ("lang", "en"),
                ("body", "duplicate"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422, "names are unique per language");
    let created = CannedResponse::list(&mut app.conn())
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Ask for systeminfo")
        .unwrap();
    let (status, page) = admin
        .get_text(&format!("/admin/canned/{}", created.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("please run systeminfo"));
    let r = admin
        .post_form(
            &format!("/admin/canned/{}", created.id),
            &[
                ("action", "save"),
                ("name", "Ask for systeminfo"),
                ("lang", "en"),
                ("body", "Please run systeminfo, {{customer_name}}."),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let changed = CannedResponse::find(&mut app.conn(), created.id)
        .unwrap()
        .unwrap();
    assert_eq!(changed.body, "Please run systeminfo, {{customer_name}}.");
    assert_eq!(changed.render(&case, "A"), "Please run systeminfo, 陈女士.");
    let r = admin
        .post_form(
            &format!("/admin/canned/{}", created.id),
            &[("action", "delete")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(
        CannedResponse::find(&mut app.conn(), created.id)
            .unwrap()
            .is_none()
    );
    let (status, page) = admin.get_text("/admin/canned").await;
    assert_eq!(status, 200);
    assert!(page.contains("收集日志") && page.contains("Collect logs"));
}

async fn outbox_flush_delivers_due_mail_from_the_command_line(backend: BackendKind) {
    let smtp = TestSmtp::start();
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let agent = app.create_user("agent@casebook.test", "Wang Binbin", Role::Agent);
    let (case, _) = open_case(&app, "zh-CN");
    let queued = outbox::queue_reply(
        &mut app.conn(),
        &blobs(&app),
        &app.config,
        &case,
        &outbox::Author {
            id: agent.id,
            name: &agent.name,
        },
        "日志已收到，我们正在分析。",
        &[],
        &[],
    )
    .unwrap();

    let port = smtp.port.to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_casebook"))
        .args(["outbox", "flush"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(app.env.env_vars())
        .env("CASEBOOK_SMTP_HOST", "127.0.0.1")
        .env("CASEBOOK_SMTP_PORT", &port)
        .env("CASEBOOK_SMTP_SECURITY", "none")
        .output()
        .expect("run casebook outbox flush");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sent 1"), "{stdout}");
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].parsed().message_id(),
        Some(queued.message_id.as_str())
    );
    assert_eq!(outbox_rows(&app, &case)[0].status, "sent");
}

async fn a_mail_that_cannot_be_sent_is_given_up_visibly(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Admin).await;
    let (case, _) = open_case(&app, "en");
    let r = post_reply(&app, &case.number, &[("body", "Lost in storage")], &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    let row = outbox_rows(&app, &case).remove(0);
    let sha = &row.raw_sha256;
    std::fs::remove_file(blobs(&app).location(sha).unwrap()).unwrap();
    assert_eq!(
        flush(&app).await,
        SendReport {
            sent: 0,
            retrying: 0,
            failed: 1
        }
    );
    let row = outbox_rows(&app, &case).remove(0);
    assert_eq!(row.status, "failed");
    assert!(row.last_error.unwrap().contains("unreadable"));
    let events = CaseEvent::for_case(&mut app.conn(), case.id).unwrap();
    let failed = events
        .iter()
        .find(|e| e.kind == "delivery_failed")
        .expect("a delivery failure on the timeline");
    let failed = casebook::workflow::events::DeliveryFailed::parse(failed.data.as_deref())
        .expect("the one delivery failure payload");
    assert_eq!(failed.outbox_id, Some(row.id));
    assert_eq!(failed.message_ids, std::slice::from_ref(&row.message_id));
    assert!(failed.reason.contains("unreadable"), "{}", failed.reason);
    let (_, page) = app.get_text("/admin/outbox").await;
    assert!(page.contains("outbox-failed"), "{page}");
    let (_, page) = app.get_text(&format!("/cases/{}", case.number)).await;
    assert!(
        page.contains("Delivery failed"),
        "the case timeline shows it"
    );
}

async fn a_reply_written_while_the_case_changed_shows_the_changes_first(backend: BackendKind) {
    let smtp = TestSmtp::start();
    let Some(app) = app_with_smtp(backend, smtp.port).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let (case, _) = open_case(&app, "zh-CN");
    let (_, page) = app.get_text(&format!("/cases/{}", case.number)).await;
    let re = regex::Regex::new(r#"name="seen" value="([^"]+)""#).unwrap();
    let seen = re.captures(&page).expect("the form carries what was seen")[1].to_string();

    // A colleague notes something while this agent is still writing.
    let colleague = app.another_browser();
    colleague.login_as(Role::Admin).await;
    let r = colleague
        .post_form(
            &format!("/cases/{}/note", case.number),
            &[("body", "客户已电话确认，不要再催。")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);

    let r = post_reply(
        &app,
        &case.number,
        &[("body", "请尽快提供日志。"), ("seen", &seen)],
        &[],
    )
    .await;
    assert_eq!(r.status().as_u16(), 409, "not sent blindly");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("The case changed while you were writing"),
        "{html}"
    );
    assert!(html.contains("客户已电话确认"), "the change is shown");
    assert!(html.contains("请尽快提供日志。"), "the text is kept");
    assert!(outbox_rows(&app, &case).is_empty());

    let r = post_reply(
        &app,
        &case.number,
        &[
            ("body", "请尽快提供日志。"),
            ("seen", &seen),
            ("confirm_changes", "yes"),
        ],
        &[],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303, "sent after confirming");
    assert_eq!(outbox_rows(&app, &case).len(), 1);
}

/// A double click on Send, or the same form sent from two tabs: the two requests race, and only
/// one may become a mail; the other shows the reply that just went out.
async fn a_reply_form_sent_twice_at_once_queues_one_mail(backend: BackendKind) {
    let smtp = TestSmtp::start();
    let Some(app) = app_with_smtp(backend, smtp.port).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let (case, _) = open_case(&app, "zh-CN");
    let re = regex::Regex::new(r#"name="seen" value="([^"]+)""#).unwrap();
    for round in 0..3 {
        let (_, page) = app.get_text(&format!("/cases/{}", case.number)).await;
        let seen = re.captures(&page).expect("the form carries what was seen")[1].to_string();
        let text = format!("请运行 wmic baseboard get serialnumber（第 {round} 次）");
        let fields = [("body", text.as_str()), ("seen", seen.as_str())];
        let (a, b) = tokio::join!(
            post_reply(&app, &case.number, &fields, &[]),
            post_reply(&app, &case.number, &fields, &[])
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(
            statuses,
            [303, 409],
            "round {round}: one sent, one held back"
        );
        assert_eq!(outbox_rows(&app, &case).len(), round + 1);
    }
}

/// The note form sent twice (a double click, at once or one after the other) adds one note; the
/// same words written again from a freshly loaded page are a second note.
async fn a_note_form_sent_twice_adds_one_note(backend: BackendKind) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.login_as(Role::Agent).await;
    let (case, _) = open_case(&app, "zh-CN");
    let re = regex::Regex::new(r#"name="seen" value="([^"]+)""#).unwrap();
    let seen_now = || async {
        let (_, page) = app.get_text(&format!("/cases/{}", case.number)).await;
        re.captures(&page)
            .expect("the note form carries what was seen")[1]
            .to_string()
    };
    let notes = || {
        Message::for_case(&mut app.conn(), case.id)
            .unwrap()
            .into_iter()
            .filter(|m| m.direction == "note")
            .count()
    };
    let path = format!("/cases/{}/note", case.number);
    let text = "客户说周一上午可以远程。";
    let seen = seen_now().await;
    let fields = [("body", text), ("seen", seen.as_str())];
    let (a, b) = tokio::join!(app.post_form(&path, &fields), app.post_form(&path, &fields));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (303, 303));
    assert_eq!(notes(), 1, "sent twice at once");
    let again = app.post_form(&path, &fields).await;
    assert_eq!(again.status().as_u16(), 303);
    assert_eq!(notes(), 1, "sent again with the same page state");

    let seen = seen_now().await;
    let r = app
        .post_form(&path, &[("body", text), ("seen", seen.as_str())])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        notes(),
        2,
        "the same words from a fresh page are a new note"
    );
}
