//! Mail built for tests that look at how HTML mail reads on the case page.

use base64::Engine;

/// A 4×3 red PNG: an image whose decoded width the browser can report.
pub const RED_PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAEElEQVR4nGP4z8AARww4OQD1MQv1NXv7ggAAAABJRU5ErkJggg==";

/// The bytes of [`RED_PNG_BASE64`].
pub fn red_png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(RED_PNG_BASE64)
        .unwrap()
}

/// Content-ID of the PNG in [`styled_mail_with_inline_image`].
pub const PNG_CID: &str = "shot.png@01D84A3B.12345670";
/// Content-ID of the SVG (with a script) in [`styled_mail_with_inline_image`].
pub const SVG_CID: &str = "diagram.svg@01D84A3B.12345670";
/// A Content-ID the mail refers to but does not carry.
pub const MISSING_CID: &str = "missing@01D84A3B.12345670";
/// The text the mail shows in red.
pub const RED_TEXT: &str = "Activation failed again";

/// An Outlook-style `multipart/related` HTML mail: a paragraph coloured by a `style` attribute, a
/// screenshot by `cid:`, an SVG by `cid:`, and a `cid:` naming no part of the mail.
pub fn styled_mail_with_inline_image(message_id: &str) -> String {
    format!(
        "From: Chen Hui <chenhui.zd@centerm.example>\r\n\
         To: support@example.net\r\n\
         Subject: Screenshot of the activation error\r\n\
         Message-ID: <{message_id}>\r\n\
         Date: Thu, 07 Apr 2022 14:30:29 +0800\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/related; boundary=\"REL\"; type=\"text/html\"\r\n\
         \r\n\
         --REL\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         \r\n\
         <p style=\"color: rgb(255, 0, 0)\">{RED_TEXT}</p>\
         <p><img src=\"cid:{PNG_CID}\" alt=\"screenshot\"></p>\
         <p><img src=\"cid:{SVG_CID}\" alt=\"diagram\"></p>\
         <p><img src=\"cid:{MISSING_CID}\" alt=\"missing\"></p>\r\n\
         --REL\r\n\
         Content-Type: image/png; name=\"shot.png\"\r\n\
         Content-Disposition: inline; filename=\"shot.png\"\r\n\
         Content-ID: <{PNG_CID}>\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {RED_PNG_BASE64}\r\n\
         --REL\r\n\
         Content-Type: image/svg+xml; name=\"diagram.svg\"\r\n\
         Content-Disposition: inline; filename=\"diagram.svg\"\r\n\
         Content-ID: <{SVG_CID}>\r\n\
         \r\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"><script>alert(1)</script></svg>\r\n\
         --REL--\r\n"
    )
}
