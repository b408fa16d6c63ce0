//! HTML bodies: sanitising for display, and turning into readable text with or without the quoted history.
//!
//! Both jobs start from one ammonia/html5ever pass, so malformed mail HTML (unclosed tags, stray `</div>`, Word
//! markup) is repaired by a real HTML parser. The sanitiser keeps the few class/id/type values that mark quote
//! containers, and its serialised output is well-formed with a tiny set of entities, so the text renderer is a
//! small tokenizer over the sanitised HTML rather than a second parse.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

/// Image sources that are safe to load when the page is shown: attached parts and embedded data images.
fn is_local_image(src: &str) -> bool {
    let src = src.trim_start();
    // Only the scheme and media type matter; a data URL can be megabytes long.
    let head = src.get(..15).unwrap_or(src).to_ascii_lowercase();
    head.starts_with("cid:")
        || [
            "data:image/png",
            "data:image/jpeg",
            "data:image/gif",
            "data:image/webp",
        ]
        .iter()
        .any(|prefix| head.starts_with(prefix))
}

/// CSS properties kept on `style`: presentation only. Nothing that takes a `url()` (background, list-style,
/// content), so styles cannot load remote resources.
const SAFE_STYLE_PROPERTIES: [&str; 17] = [
    "color",
    "background-color",
    "font-weight",
    "font-style",
    "font-size",
    "font-family",
    "text-decoration",
    "text-align",
    "border",
    "border-left",
    "border-top",
    "border-top-style",
    "border-top-width",
    "border-top-color",
    "padding-left",
    "margin-left",
    "white-space",
];

/// CSS functions a kept declaration may call: colours. Everything else (`url()`, `image-set()`, `var()`, old IE's
/// `expression()`) goes, whatever the property.
const SAFE_STYLE_FUNCTIONS: [&str; 4] = ["rgb", "rgba", "hsl", "hsla"];

/// The declarations of a `style` value that call no function but [`SAFE_STYLE_FUNCTIONS`] and contain no CSS
/// escape (which could spell a function name in disguise); `None` when nothing is left. Runs before ammonia's own
/// property filter, which then keeps only [`SAFE_STYLE_PROPERTIES`]: pages allow `style` attributes
/// (`style-src-attr 'unsafe-inline'`), so what survives here is what the browser applies.
fn harmless_declarations(style: &str) -> Option<Cow<'_, str>> {
    let harmless = |declaration: &str| {
        if declaration.contains('\\') {
            return false;
        }
        let lower = declaration.to_ascii_lowercase();
        lower.match_indices('(').all(|(open, _)| {
            // The function name is what follows the last character that cannot be part of one
            // (which may be multi-byte, as in `background€url(…)`).
            let name = lower[..open]
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .next()
                .unwrap_or_default();
            SAFE_STYLE_FUNCTIONS.contains(&name)
        })
    };
    if style.split(';').all(harmless) {
        return Some(Cow::Borrowed(style));
    }
    let kept: Vec<&str> = style.split(';').filter(|d| harmless(d)).collect();
    (!kept.iter().all(|d| d.trim().is_empty())).then(|| Cow::Owned(kept.join(";")))
}

/// Classes that mark quoted history (Gmail, Yahoo, Thunderbird, Outlook Web and 2003, Coremail).
const QUOTE_CLASSES: &[&str] = &[
    "gmail_quote",
    "gmail_quote_container",
    "gmail_attr",
    "yahoo_quoted",
    "moz-cite-prefix",
    "OutlookMessageHeader",
    "ReferenceQuote",
];

/// Outlook's ids for the start of the quoted original.
const QUOTE_IDS: &[&str] = &["divRplyFwdMsg", "appendonsend"];

/// NetEase (163/126/yeah.net) wraps the quoted original in `blockquote id="isReplyContent"`.
const QUOTE_BLOCK_IDS: &[&str] = &["isReplyContent"];

/// Hotmail and old Outlook.com put `hr id="stopSpelling"` above the quoted original.
const QUOTE_RULE_IDS: &[&str] = &["stopSpelling"];

/// Class lists with the variants some clients generate reduced to the marker kept by the sanitiser:
/// Yahoo writes `ydp1a2b3c4yahoo_quoted`, and Outlook.com prefixes forwarded Gmail classes `ecx`.
fn canonical_classes(value: &str) -> Cow<'_, str> {
    let variant = |c: &str| {
        (c.ends_with("yahoo_quoted") && c != "yahoo_quoted") || c.starts_with("ecxgmail_quote")
    };
    if !value.split_ascii_whitespace().any(variant) {
        return Cow::Borrowed(value);
    }
    let classes: Vec<&str> = value
        .split_ascii_whitespace()
        .map(|c| match c {
            c if c.ends_with("yahoo_quoted") => "yahoo_quoted",
            c if c.starts_with("ecxgmail_quote") => "gmail_quote",
            c => c,
        })
        .collect();
    Cow::Owned(classes.join(" "))
}

fn display_builder(block_remote_images: bool) -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["font", "center"])
        .add_generic_attributes(["dir", "style"])
        .filter_style_properties(SAFE_STYLE_PROPERTIES.into_iter().collect())
        .add_url_schemes(["cid", "data"])
        .clean_content_tags(HashSet::from(["script", "style", "title"]))
        .link_rel(Some("noopener noreferrer"))
        // The markers of quoted history, kept (and nothing else of class/id) so the text renderer can find the
        // quote in the sanitised HTML without parsing the original a second time.
        .add_allowed_classes("div", QUOTE_CLASSES)
        .add_allowed_classes("blockquote", QUOTE_CLASSES)
        .add_tag_attribute_values("div", "id", QUOTE_IDS)
        .add_tag_attribute_values("blockquote", "id", QUOTE_BLOCK_IDS)
        .add_tag_attribute_values("hr", "id", QUOTE_RULE_IDS)
        .add_tag_attribute_values("blockquote", "type", &["cite"])
        .attribute_filter(
            move |element, attribute, value| match (element, attribute) {
                (_, "style") => harmless_declarations(value),
                (_, "class") => Some(canonical_classes(value)),
                ("img", "src") if is_local_image(value) => Some(Cow::Borrowed(value)),
                // Remote images are tracking pixels as often as content; the viewer can offer to load them from the
                // original message.
                ("img", "src") if block_remote_images => None,
                ("img", "src") if value.trim_start().to_ascii_lowercase().starts_with("data:") => {
                    None
                }
                (_, "href") if value.trim_start().to_ascii_lowercase().starts_with("data:") => None,
                _ => Some(Cow::Borrowed(value)),
            },
        );
    builder
}

static DISPLAY_BLOCKING_REMOTE: LazyLock<ammonia::Builder<'static>> =
    LazyLock::new(|| display_builder(true));
static DISPLAY_ALLOWING_REMOTE: LazyLock<ammonia::Builder<'static>> =
    LazyLock::new(|| display_builder(false));

/// Sanitises mail HTML for display: no scripts, styles sheets, event handlers or `javascript:` links; links get
/// `rel="noopener noreferrer"`; `cid:` and data images stay; remote images are removed so opening a message does
/// not tell the sender it was read.
pub fn sanitise_html(html: &str) -> String {
    DISPLAY_BLOCKING_REMOTE.clean(html).to_string()
}

/// As [`sanitise_html`], but keeps remote images, for when a person asks to load them.
pub fn sanitise_html_allowing_remote_images(html: &str) -> String {
    DISPLAY_ALLOWING_REMOTE.clean(html).to_string()
}

/// Points the `cid:` images of sanitised HTML (as [`sanitise_html`] returns it) at the URLs `resolve` gives for
/// their Content-IDs (without angle brackets, percent-decoded as RFC 2392 says). Done when a page is drawn, not at
/// ingest: the stored HTML stays as sanitised, and the URL names the case the message is on now. An id `resolve`
/// does not know keeps its `cid:` source, which no browser loads: a broken image, never a request elsewhere.
///
/// The sanitiser's output is well-formed with every `"` in a value escaped, so a tag is found by walking the tags
/// (text cannot hold a raw `<`) and ` src="` inside a tag is always the attribute itself.
pub fn rewrite_cid_images<'a>(
    html: &'a str,
    resolve: impl Fn(&str) -> Option<String>,
) -> Cow<'a, str> {
    if !html
        .as_bytes()
        .windows(4)
        .any(|w| w.eq_ignore_ascii_case(b"cid:"))
    {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let Some(gt) = tag_end(rest) else { break };
        let tag = &rest[..=gt];
        rest = &rest[gt + 1..];
        match tag.strip_prefix("<img ").and_then(|_| cid_source(tag)) {
            Some((start, end, content_id)) => match resolve(&content_id) {
                Some(url) => {
                    out.push_str(&tag[..start]);
                    out.push_str(&url.replace('&', "&amp;").replace('"', "&quot;"));
                    out.push_str(&tag[end..]);
                }
                None => out.push_str(tag),
            },
            None => out.push_str(tag),
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Where the value of an `<img>` tag's `src` attribute lies, and the Content-ID it names when it is a `cid:` URL.
fn cid_source(tag: &str) -> Option<(usize, usize, String)> {
    let start = tag.find(" src=\"")? + " src=\"".len();
    let end = start + tag[start..].find('"')?;
    let value = decode_entities(&tag[start..end]);
    let value = value.trim();
    let scheme = value.get(..4)?;
    if !scheme.eq_ignore_ascii_case("cid:") {
        return None;
    }
    Some((start, end, percent_decode(&value[4..])))
}

/// `%XX` escapes decoded (a `cid:` URL escapes what a URL cannot hold); anything malformed is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|b| (*b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2))
        {
            // Two hex digits make at most 255.
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Sanitised HTML for display together with its two text renderings, from a single HTML parse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SanitisedHtml {
    /// As [`sanitise_html`] returns it.
    pub html: String,
    /// As [`html_to_text`] returns it: everything, quotes prefixed with `> `.
    pub text: String,
    /// As [`html_to_text_without_quotes`] returns it: only what the sender wrote in this message.
    pub new_text: String,
}

/// Sanitises `html` and renders both texts from the sanitised markup: one html5ever parse instead of three, which
/// matters because parsing dominates the cost of HTML mail.
pub fn sanitise_html_with_text(html: &str) -> SanitisedHtml {
    let html = sanitise_html(html);
    let text = render(&html, Render::Everything);
    let new_text = render(&html, Render::NewText { forwarded: false });
    SanitisedHtml {
        html,
        text,
        new_text,
    }
}

/// Readable text from HTML: block elements become line breaks, list items keep bullets (`• `, or `1. ` in
/// ordered lists), blockquote lines are prefixed `> ` so quote stripping can see them, entities are decoded,
/// scripts and styles dropped.
pub fn html_to_text(html: &str) -> String {
    render(&sanitise_html(html), Render::Everything)
}

/// As [`html_to_text`], but without the quoted history marked by the HTML's structure (see `quote_mark`: Gmail,
/// Yahoo, Thunderbird/Apple, NetEase and Coremail containers; Outlook, Hotmail, Foxmail and Windows Mail header
/// blocks and everything after them). The text rules of [`crate::ingest::quote`] then apply to the result.
pub fn html_to_text_without_quotes(html: &str) -> String {
    render(&sanitise_html(html), Render::NewText { forwarded: false })
}

/// The structural new text of HTML already sanitised by [`sanitise_html`] (as stored in
/// `ParsedMail::body_html`), without parsing it again. With `forwarded` (the subject marks a forward),
/// the first quote mark opens the forwarded message, which is kept. The text rules
/// ([`crate::ingest::quote`]) still apply to the result.
pub fn new_text_from_sanitised(sanitised: &str, forwarded: bool) -> String {
    render(sanitised, Render::NewText { forwarded })
}

/// What [`render`] writes.
#[derive(Clone, Copy)]
enum Render {
    /// All the text, quotes prefixed with `> `.
    Everything,
    /// The new text: quote containers dropped, the text stops at the quoted original, and rules
    /// become `____` lines for the text rules' signature check. A forwarded message (a quote mark
    /// right after a forward separator, one whose text opens with one, or the first mark under a
    /// forward's subject) is kept, with its quotes unprefixed.
    NewText { forwarded: bool },
}

/// Elements after which text continues on a new line.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "li"
            | "ul"
            | "ol"
            | "blockquote"
            | "table"
            | "tr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "pre"
            | "hr"
            | "dd"
            | "dt"
            | "dl"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "center"
    )
}

/// Elements html5ever serialises without an end tag.
fn is_void(name: &str) -> bool {
    matches!(
        name,
        "br" | "hr" | "img" | "wbr" | "col" | "area" | "input" | "meta" | "link" | "base"
    )
}

/// What a quote-marking start tag means for the rest of the document.
enum QuoteMark {
    /// The element (and its content) is quoted history.
    Container,
    /// The element starts the quoted original; everything from here on is history.
    RestOfDocument,
}

/// How many times one document may look ahead at the text after a tag (for a header block behind a
/// rule or border): enough for any real mail, and a bound on the work for a hostile one.
const MAX_LOOKAHEADS: usize = 64;
/// How far (in bytes of markup) a look-ahead reads.
const LOOKAHEAD_BYTES: usize = 3000;

/// The structural marks of quoted history: Gmail/Yahoo/Thunderbird/Coremail containers and
/// `blockquote type="cite"` and NetEase's `blockquote id="isReplyContent"`, which are dropped with
/// their content, and Outlook's `#divRplyFwdMsg`/`#appendonsend`/`.OutlookMessageHeader`, Hotmail's
/// `hr#stopSpelling`, and a rule or top-bordered block (Outlook 2007–365, Foxmail, Windows Mail,
/// Outlook.com) followed by a `From:` header, from which the rest of the document is history.
fn quote_mark(
    name: &str,
    attrs: &str,
    following: &str,
    lookaheads: &mut usize,
) -> Option<QuoteMark> {
    if attrs.is_empty() && name != "hr" {
        return None;
    }
    let id = attribute(attrs, "id");
    match (name, id.as_deref()) {
        (_, Some("divRplyFwdMsg" | "appendonsend")) | ("hr", Some("stopSpelling")) => {
            return Some(QuoteMark::RestOfDocument);
        }
        ("blockquote", Some("isReplyContent")) => return Some(QuoteMark::Container),
        _ => {}
    }
    if let Some(class) = attribute(attrs, "class") {
        let classes = || class.split_whitespace();
        // Gmail's `div.gmail_quote` only wraps its attribution (`div.gmail_attr`) and quoted
        // `blockquote.gmail_quote`s; answers typed between those blockquotes sit in the div too, so the
        // div itself is transparent and its two parts are dropped.
        if classes().any(|c| {
            (c.starts_with("gmail_quote") && name != "div")
                || matches!(
                    c,
                    "gmail_attr" | "yahoo_quoted" | "moz-cite-prefix" | "ReferenceQuote"
                )
        }) {
            return Some(QuoteMark::Container);
        }
        if classes().any(|c| c == "OutlookMessageHeader") {
            return Some(QuoteMark::RestOfDocument);
        }
    }
    if name == "blockquote" && attribute(attrs, "type").as_deref() == Some("cite") {
        return Some(QuoteMark::Container);
    }
    let ruled =
        name == "hr" || attribute(attrs, "style").is_some_and(|style| has_solid_top_border(&style));
    if ruled && *lookaheads < MAX_LOOKAHEADS {
        *lookaheads += 1;
        if starts_with_header_label(&leading_text(following, 60)) {
            return Some(QuoteMark::RestOfDocument);
        }
    }
    None
}

/// Whether a `style` value draws a solid top border, as the block above a quoted header does.
fn has_solid_top_border(style: &str) -> bool {
    let compact: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    compact.split(';').any(|declaration| {
        (declaration.starts_with("border-top:") && declaration.contains("solid"))
            || declaration == "border-top-style:solid"
    })
}

/// The first `max_chars` characters of text in the markup `following` (tags skipped, entities
/// decoded, whitespace runs collapsed), reading at most [`LOOKAHEAD_BYTES`] of it.
fn leading_text(following: &str, max_chars: usize) -> String {
    let mut end = following.len().min(LOOKAHEAD_BYTES);
    while !following.is_char_boundary(end) {
        end -= 1;
    }
    let mut raw = String::new();
    let mut in_tag = false;
    for c in following[..end].chars() {
        match c {
            '<' => {
                in_tag = true;
                raw.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => raw.push(c),
            _ => {}
        }
        if raw.len() > max_chars * 4 {
            break;
        }
    }
    let decoded = decode_entities(&raw);
    let mut text = String::new();
    for word in decoded.split_whitespace() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
        if text.chars().count() >= max_chars {
            break;
        }
    }
    text
}

/// Whether text starts with the sender field of a quoted header block, in the client's language.
fn starts_with_header_label(text: &str) -> bool {
    const LABELS: [&str; 12] = [
        "From",
        "Date",
        "发件人",
        "寄件者",
        "寄件人",
        "差出人",
        "От",
        "Von",
        "De",
        "Da",
        "Van",
        "Från",
    ];
    let text = text.trim_start_matches(['*', ' ']);
    LABELS.iter().any(|label| {
        text.strip_prefix(label)
            .is_some_and(|rest| rest.trim_start_matches(['*', ' ']).starts_with([':', '：']))
    })
}

/// Whether text starts with a forwarded-message separator (Gmail's "---------- Forwarded message
/// ---------", its Chinese "转发的邮件", NetEase's "Forwarding messages").
fn opens_forward(text: &str) -> bool {
    let line = text.trim_start_matches(['-', ' ']).to_lowercase();
    [
        "forwarded message",
        "forwarding messages",
        "begin forwarded message",
        "转发的邮件",
        "转发邮件",
        "开始转发的邮件",
        "轉寄的郵件",
        "開始轉寄的郵件",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// The decoded value of attribute `name` in a serialised start tag's attribute text.
fn attribute<'a>(attrs: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let mut rest = attrs;
    while let Some(pos) = rest.find(name) {
        let before_ok = pos == 0 || rest.as_bytes()[pos - 1] == b' ';
        let after = &rest[pos + name.len()..];
        if before_ok && let Some(value) = after.strip_prefix("=\"") {
            let end = value.find('"').unwrap_or(value.len());
            return Some(decode_entities(&value[..end]));
        }
        rest = after;
    }
    None
}

/// Decodes the entities html5ever's serialiser emits (`&amp; &lt; &gt; &quot; &nbsp;`) and numeric references.
fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let end = rest.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let entity = &rest[1..e];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Position of the `>` closing the tag that starts at `s[0] == '<'`, skipping quoted attribute values (the
/// serialiser does not escape `>` inside them).
fn tag_end(s: &str) -> Option<usize> {
    let mut in_quotes = false;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'>' if !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

/// Builds the text line by line, so quote prefixes and bullets land at line starts.
struct TextWriter {
    out: String,
    at_line_start: bool,
    quote_depth: usize,
    /// Inside a kept forwarded message, blockquotes are not prefixed with `>`.
    unprefixed: bool,
    pre_depth: usize,
    /// `None` for a bulleted list, `Some(next number)` for an ordered one.
    lists: Vec<Option<u32>>,
    cell_in_row: usize,
}

impl TextWriter {
    fn line_break(&mut self) {
        if !self.at_line_start {
            self.out.push('\n');
            self.at_line_start = true;
        }
    }

    fn hard_break(&mut self) {
        if self.at_line_start && self.quote_depth > 0 {
            self.start_line();
        }
        self.out.push('\n');
        self.at_line_start = true;
    }

    fn start_line(&mut self) {
        if self.at_line_start {
            let depth = if self.unprefixed { 0 } else { self.quote_depth };
            for _ in 0..depth {
                self.out.push('>');
            }
            if depth > 0 {
                self.out.push(' ');
            }
            self.at_line_start = false;
        }
    }

    fn text(&mut self, raw: &str) {
        let text = decode_entities(raw);
        if self.pre_depth > 0 {
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    self.hard_break();
                }
                if !line.is_empty() {
                    self.start_line();
                    self.out.push_str(line);
                }
            }
            return;
        }
        let mut words = text.split_whitespace().peekable();
        if words.peek().is_none() {
            if !self.at_line_start && !text.is_empty() && !self.out.ends_with(' ') {
                self.out.push(' ');
            }
            return;
        }
        if text.starts_with(char::is_whitespace) && !self.at_line_start && !self.out.ends_with(' ')
        {
            self.out.push(' ');
        }
        self.start_line();
        let mut first = true;
        for word in words {
            if !first {
                self.out.push(' ');
            }
            self.out.push_str(word);
            first = false;
        }
        if text.ends_with(char::is_whitespace) {
            self.out.push(' ');
        }
    }

    fn finish(self) -> String {
        let mut result = String::with_capacity(self.out.len());
        let mut blank_run = 0;
        for line in self.out.lines() {
            let line = line.trim_end();
            if line.is_empty() || line == ">" {
                blank_run += 1;
                if blank_run > 1 {
                    continue;
                }
            } else {
                blank_run = 0;
            }
            result.push_str(line);
            result.push('\n');
        }
        result.trim_matches('\n').to_string()
    }
}

fn render(normalised: &str, mode: Render) -> String {
    let mut writer = TextWriter {
        out: String::with_capacity(normalised.len() / 2),
        at_line_start: true,
        quote_depth: 0,
        unprefixed: false,
        pre_depth: 0,
        lists: Vec::new(),
        cell_in_row: 0,
    };
    let (drop_quotes, mut forward_pending) = match mode {
        Render::Everything => (false, false),
        Render::NewText { forwarded } => (true, forwarded),
    };
    let mut lookaheads = 0;
    let mut open: Vec<&str> = Vec::new();
    // Stack depth at which a dropped quote container was opened; text is skipped while inside it.
    let mut dropping_from: Option<usize> = None;
    let mut rest = normalised;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if dropping_from.is_none() {
                writer.text(rest);
            }
            break;
        };
        if lt > 0 && dropping_from.is_none() {
            writer.text(&rest[..lt]);
        }
        rest = &rest[lt..];
        let Some(gt) = tag_end(rest) else { break };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            if let Some(pos) = open.iter().rposition(|n| *n == name) {
                open.truncate(pos);
            }
            if dropping_from.is_some_and(|depth| open.len() < depth) {
                dropping_from = None;
            }
            if dropping_from.is_none() {
                end_element(&mut writer, name);
            }
            continue;
        }
        let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        if !is_void(name) {
            open.push(name);
        }
        if dropping_from.is_some() {
            continue;
        }
        if drop_quotes && !writer.unprefixed {
            let mark = quote_mark(name, attrs, rest, &mut lookaheads);
            if mark.is_some()
                && (std::mem::take(&mut forward_pending)
                    || last_line(&writer.out)
                        .is_some_and(crate::ingest::quote::is_forward_separator)
                    || opens_forward(&leading_text(rest, 40)))
            {
                // A forwarded message: kept, and nothing after it is dropped.
                writer.unprefixed = true;
            } else {
                match mark {
                    Some(QuoteMark::RestOfDocument) => break,
                    Some(QuoteMark::Container) if !is_void(name) => {
                        dropping_from = Some(open.len());
                        continue;
                    }
                    _ => {}
                }
            }
        }
        if drop_quotes && name == "hr" {
            writer.line_break();
            writer.start_line();
            writer.out.push_str("________________________________");
            writer.line_break();
            continue;
        }
        start_element(&mut writer, name);
    }
    writer.finish()
}

/// The last non-blank line written so far.
fn last_line(out: &str) -> Option<&str> {
    out.lines().rev().take(3).find(|l| !l.trim().is_empty())
}

fn start_element(writer: &mut TextWriter, name: &str) {
    match name {
        "br" => writer.hard_break(),
        "blockquote" => {
            writer.line_break();
            writer.quote_depth += 1;
        }
        "pre" => {
            writer.line_break();
            writer.pre_depth += 1;
        }
        "ul" => {
            writer.line_break();
            writer.lists.push(None);
        }
        "ol" => {
            writer.line_break();
            writer.lists.push(Some(1));
        }
        "li" => {
            writer.line_break();
            writer.start_line();
            let indent = writer.lists.len().saturating_sub(1);
            for _ in 0..indent {
                writer.out.push_str("  ");
            }
            match writer.lists.last_mut() {
                Some(Some(n)) => {
                    writer.out.push_str(&format!("{n}. "));
                    *n += 1;
                }
                _ => writer.out.push_str("• "),
            }
        }
        "tr" => {
            writer.line_break();
            writer.cell_in_row = 0;
        }
        "td" | "th" => {
            if writer.cell_in_row > 0 {
                writer.out.push('\t');
            }
            writer.cell_in_row += 1;
        }
        _ if is_block(name) => writer.line_break(),
        _ => {}
    }
}

fn end_element(writer: &mut TextWriter, name: &str) {
    match name {
        "blockquote" => {
            writer.line_break();
            writer.quote_depth = writer.quote_depth.saturating_sub(1);
        }
        "pre" => {
            writer.line_break();
            writer.pre_depth = writer.pre_depth.saturating_sub(1);
        }
        "ul" | "ol" => {
            writer.lists.pop();
            writer.line_break();
        }
        _ if is_block(name) => writer.line_break(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each input, sanitised, contains every `present` text and none of the `absent` ones.
    fn assert_sanitised(cases: &[(&str, &[&str], &[&str])]) {
        for (html, present, absent) in cases {
            let clean = sanitise_html(html);
            for p in *present {
                assert!(clean.contains(p), "{html} -> {clean} lacks {p}");
            }
            for a in *absent {
                assert!(!clean.contains(a), "{html} -> {clean} has {a}");
            }
        }
    }

    #[test]
    fn sanitising_removes_active_content_and_keeps_safe_markup() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "<p onclick=\"x()\">hi<script>alert(1)</script></p>",
                &["<p>hi</p>"],
                &["script", "onclick", "alert"],
            ),
            (
                "<a href=\"javascript:alert(1)\">x</a>",
                &[">x</a>"],
                &["javascript"],
            ),
            (
                "<a href=\"https://e.com\">x</a>",
                &["rel=\"noopener noreferrer\"", "https://e.com"],
                &[],
            ),
            (
                "<img src=\"cid:image001.png@01D8\">",
                &["src=\"cid:image001.png@01D8\""],
                &[],
            ),
            (
                "<img src=\"https://tracker.example/p.gif\">",
                &["<img>"],
                &["tracker"],
            ),
            (
                "<style>p{}</style><title>t</title><p>x</p>",
                &["<p>x</p>"],
                &["p{}", "<title>"],
            ),
            (
                "<p style=\"color:red;background:url(https://x/y)\">x</p>",
                &["color:red"],
                &["url("],
            ),
            (
                "<a href=\"data:text/html,evil\">x</a>",
                &[">x</a>"],
                &["data:"],
            ),
        ];
        assert_sanitised(cases);
    }

    #[test]
    fn style_attributes_keep_presentation_and_lose_what_could_load_or_run() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "<p style=\"color: rgb(255, 0, 0); font-weight: bold\">x</p>",
                &["rgb(255", "font-weight:bold"],
                &[],
            ),
            (
                "<p style=\"color: expression(alert(1))\">x</p>",
                &["<p>x</p>"],
                &["expression", "alert"],
            ),
            (
                "<p style=\"color:red;background-color:url(javascript:alert(1))\">x</p>",
                &["color:red"],
                &["url(", "javascript"],
            ),
            (
                "<p style=\"color:ex\\70ression(alert(1));font-style:italic\">x</p>",
                &["font-style:italic"],
                &["ression", "alert"],
            ),
            (
                "<p style=\"font-family:ex/**/pression(alert(1))\">x</p>",
                &["<p>x</p>"],
                &["alert"],
            ),
            (
                "<p style=\"behavior:url(x.htc);-moz-binding:url(x.xml#y);position:fixed\">x</p>",
                &[">x</p>"],
                &["url", "binding", "fixed"],
            ),
            (
                "<style>p{color:red}</style><p>x</p>",
                &["<p>x</p>"],
                &["color"],
            ),
        ];
        assert_sanitised(cases);
    }

    #[test]
    fn cid_images_point_at_the_urls_given_for_their_content_ids() {
        let html = sanitise_html(concat!(
            "<p>see cid:a@b</p>",
            "<img alt=\"<img src=&quot;cid:a@b&quot;>\" src=\"cid:other@b\">",
            "<img src=\" CID:a%40b\" alt=\"shot\">",
            "<img src=\"data:image/png;base64,AAAA\">",
        ));
        let rewritten = rewrite_cid_images(&html, |id| {
            (id == "a@b").then(|| "/cases/CAS-06004-S8K5X3/attachments/7/inline".to_string())
        });
        assert_eq!(
            rewritten,
            html.replace(
                "src=\" CID:a%40b\"",
                "src=\"/cases/CAS-06004-S8K5X3/attachments/7/inline\""
            ),
            "only the image whose src names a@b changes: {html}"
        );
        assert!(
            rewritten.contains("src=\"cid:other@b\""),
            "unknown ids stay"
        );
        assert!(matches!(
            rewrite_cid_images("<img src=\"data:image/png;base64,AAAA\">", |_| None),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn remote_images_can_be_allowed_on_request() {
        let html = "<img src=\"https://example.com/logo.png\">";
        assert!(
            sanitise_html_allowing_remote_images(html).contains("https://example.com/logo.png")
        );
    }

    #[test]
    fn html_becomes_readable_text() {
        let cases = [
            ("<p>one</p><p>two</p>", "one\ntwo"),
            ("a<br>b<br><br>c", "a\nb\n\nc"),
            (
                "<div>x &amp; y &lt;z&gt;&nbsp;w &#20320;&#x597D;</div>",
                "x & y <z> w 你好",
            ),
            ("<ul><li>主板</li><li>型号</li></ul>", "• 主板\n• 型号"),
            ("<ol><li>a</li><li>b</li></ol>", "1. a\n2. b"),
            (
                "<p>reply</p><blockquote><p>old</p><p>older</p></blockquote>",
                "reply\n> old\n> older",
            ),
            (
                "<blockquote>a<blockquote>b</blockquote></blockquote>",
                "> a\n>> b",
            ),
            ("<script>var x;</script><style>p{}</style>text", "text"),
            ("<pre>  keep\n  spacing</pre>", "  keep\n  spacing"),
            (
                "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
                "a\tb\nc",
            ),
            ("<b>bold</b> and <i>it</i>", "bold and it"),
            ("<p>unclosed<div>nested", "unclosed\nnested"),
        ];
        for (html, expected) in cases {
            assert_eq!(html_to_text(html), expected, "{html}");
        }
    }

    #[test]
    fn quote_containers_are_dropped_from_the_new_text() {
        let cases = [
            (
                "<div>new</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On x wrote:</div><blockquote class=\"gmail_quote\">old</blockquote></div>",
                "new",
            ),
            (
                "<p>new</p><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\">From: a</div><p>old</p>",
                "new",
            ),
            (
                "<p>new</p><div id=\"divRplyFwdMsg\"><b>发件人:</b> a</div><p>old</p>",
                "new",
            ),
            (
                "<p>new</p><div style=\"border:none;border-top:solid #E1E1E1 1.0pt\"><p><b>From:</b> a</p></div><p>old</p>",
                "new",
            ),
            (
                "<p>new</p><blockquote type=\"cite\">old</blockquote><p>after</p>",
                "new\nafter",
            ),
            (
                "<p>new</p><div style=\"border-top:solid 1px\">not a header</div>",
                "new\nnot a header",
            ),
        ];
        for (html, expected) in cases {
            assert_eq!(html_to_text_without_quotes(html), expected, "{html}");
        }
    }

    #[test]
    fn one_parse_gives_html_and_both_texts() {
        let all = sanitise_html_with_text(
            "<p>new</p><blockquote type=\"cite\" onclick=\"x()\">old</blockquote>",
        );
        assert_eq!(
            all.html,
            "<p>new</p><blockquote type=\"cite\">old</blockquote>"
        );
        assert_eq!(all.text, "new\n> old");
        assert_eq!(all.new_text, "new");
    }

    #[test]
    fn only_quote_markers_survive_among_classes_and_ids() {
        let html = "<div class=\"gmail_quote evil\" id=\"divRplyFwdMsg\">a</div><div id=\"main\" class=\"x\">b</div>";
        assert_eq!(
            sanitise_html(html),
            "<div class=\"gmail_quote\" id=\"divRplyFwdMsg\">a</div><div class=\"\">b</div>"
        );
    }
}
