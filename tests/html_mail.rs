//! HTML mail reads as sent: the case page points a message's `cid:` images at an authorised route of
//! that case's attachments, and the page's policy lets the sanitised `style` attributes apply while
//! scripts and style sheets stay same-origin only. Every test runs on SQLite and PostgreSQL.

mod common;

use casebook::auth::Role;
use common::mail::{MISSING_CID, PNG_CID, SVG_CID, red_png, styled_mail_with_inline_image};
use common::{BackendKind, spawn_app_with};

/// Delivers raw mail over HTTP inbound; returns the case number.
async fn deliver(app: &common::TestApp, body: String) -> String {
    app.deliver(body).await["case"]
        .as_str()
        .expect("a case")
        .to_string()
}

/// The id of the attachment listed under `filename` on a case page.
fn attachment_id(html: &str, number: &str, filename: &str) -> String {
    let re = regex::Regex::new(&format!(
        r#"href="/cases/{number}/attachments/(\d+)">{}</a>"#,
        regex::escape(filename)
    ))
    .unwrap();
    re.captures(html)
        .unwrap_or_else(|| panic!("{filename} listed on {number}"))[1]
        .to_string()
}

both_backends!(
    a_cid_image_is_served_from_its_case_to_staff_only,
    pages_allow_style_attributes_but_no_inline_script_or_style_sheet
);

async fn a_cid_image_is_served_from_its_case_to_staff_only(backend: BackendKind) {
    let Some(app) = spawn_app_with(
        backend,
        &[("CASEBOOK_INBOUND_TOKEN", common::INBOUND_TOKEN)],
    )
    .await
    else {
        return;
    };
    let number = deliver(
        &app,
        styled_mail_with_inline_image("styled@centerm.example"),
    )
    .await;
    let other = deliver(
        &app,
        styled_mail_with_inline_image("other@oem.example")
            .replace("chenhui.zd@centerm.example", "li@oem.example"),
    )
    .await;
    assert_ne!(number, other, "a second customer's mail opens its own case");

    app.login_as(Role::Agent).await;
    let (status, html) = app.get_text(&format!("/cases/{number}")).await;
    assert_eq!(status, 200);
    let png_id = attachment_id(&html, &number, "shot.png");
    let inline = format!("/cases/{number}/attachments/{png_id}/inline");
    assert!(
        html.contains(&format!("<img src=\"{inline}\" alt=\"screenshot\">")),
        "the screenshot points at its case's attachment: {html}"
    );
    assert!(
        !html.contains(&format!("cid:{PNG_CID}")),
        "no cid: source left for the screenshot"
    );
    // Not raster images, or not in the mail: left as cid: sources, which no browser loads.
    assert!(html.contains(&format!("<img src=\"cid:{SVG_CID}\" alt=\"diagram\">")));
    assert!(html.contains(&format!("<img src=\"cid:{MISSING_CID}\" alt=\"missing\">")));

    let r = app.get(&inline).await;
    assert_eq!(r.status().as_u16(), 200);
    let headers = r.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        red_png(),
        "the image as sent"
    );

    // An SVG can carry script: even on the inline route it is only downloaded.
    let svg_id = attachment_id(&html, &number, "diagram.svg");
    let r = app
        .get(&format!("/cases/{number}/attachments/{svg_id}/inline"))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );

    // Another case's attachment is not reachable through this case.
    let (_, other_html) = app.get_text(&format!("/cases/{other}")).await;
    let other_png = attachment_id(&other_html, &other, "shot.png");
    let r = app
        .get(&format!("/cases/{number}/attachments/{other_png}/inline"))
        .await;
    assert_eq!(
        r.status().as_u16(),
        404,
        "attachment of {other} under {number}"
    );
    let r = app
        .get(&format!("/cases/{other}/attachments/{other_png}/inline"))
        .await;
    assert_eq!(r.status().as_u16(), 200, "and is served under its own case");

    // Signed out, the image is not served: the page answer is the way to sign in.
    let stranger = app.another_browser();
    let r = stranger.get(&inline).await;
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        status == 401 || (status == 303 && location.starts_with("/login")),
        "anonymous: {status} {location}"
    );
    assert_ne!(r.bytes().await.unwrap().to_vec(), red_png());
}

async fn pages_allow_style_attributes_but_no_inline_script_or_style_sheet(backend: BackendKind) {
    let Some(app) = spawn_app_with(
        backend,
        &[("CASEBOOK_INBOUND_TOKEN", common::INBOUND_TOKEN)],
    )
    .await
    else {
        return;
    };
    let number = deliver(
        &app,
        styled_mail_with_inline_image("styled@centerm.example"),
    )
    .await;
    app.login_as(Role::Agent).await;
    let r = app.get(&format!("/cases/{number}")).await;
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("style=\"color:rgb(255, 0, 0)\""),
        "the sanitised style attribute is kept: {html}"
    );
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for expected in [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(directives.contains(&expected), "{expected} in {csp}");
    }
    assert_eq!(
        csp.matches("unsafe-inline").count(),
        1,
        "only style attributes are inline-allowed: {csp}"
    );
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("style-src-elem"),
        "{csp}"
    );
}
