//! Separating what a sender wrote this time from the history and signature their client added.
//!
//! Mail clients mark earlier messages in three different ways, and all three occur in Chinese
//! support mail:
//!
//! * **Prefix quoting** (`> `, any depth): Gmail, Apple Mail, Thunderbird. The quoted lines may be
//!   interleaved with the sender's answers, so only the `>` lines themselves (and the "On … wrote:"
//!   / "在 … 写道：" attribution that introduces them) are removed; every other line is kept.
//! * **Header blocks** (`From:`/`Sent:`/`To:`… or `发件人：`/`发送时间：`/`收件人：`…): Outlook,
//!   Foxmail, QQ Mail. The history that follows is not prefixed, so everything from the block to the
//!   end of the body is history.
//! * **Separator lines** (`-----Original Message-----`, `-----原始邮件-----`, QQ Mail's
//!   `------------------ Original ------------------`): everything from the separator on is history.
//!
//! Header fields and attributions are recognised in English, simplified and traditional Chinese,
//! Japanese, Russian, German and French; an attribution may also be a date, a name and an address
//! followed by a colon (Japanese and Russian Gmail, Mail.ru).
//!
//! Forwarded mail is new content for a case (a colleague forwarding the customer's problem): from a
//! forward separator ("---------- Forwarded message ---------", "---------- 转发的邮件 ----------",
//! "Begin forwarded message:"), or under a forward's subject from the first history block (QQ Mail's
//! "原始邮件", Outlook's header block), everything is kept; only the note above it loses its quotes
//! and signature. HTML mail goes through [`crate::ingest::html`]'s structural pass first
//! ([`new_text_of`]).
//!
//! Signatures are cut after a sig-dash line (`-- `, or `--` because many transports strip trailing
//! spaces) and after a final `____…` rule (≥ 10 underscores) whose short tail looks like contact
//! details (an address, a link, a phone number). A rule followed by ordinary prose is kept, because
//! losing what a customer wrote is worse than showing a signature.
//!
//! Whatever happens, a non-empty body never yields an empty new text: if stripping removes
//! everything, the whole body is returned. Every step is a single pass over the lines (look-ahead is
//! bounded), so the cost is linear in the body's length.

use std::sync::LazyLock;

use regex::Regex;

// The `expect`s on `Regex::new` below cannot fire at run time: every pattern is a literal, and the
// unit tests compile each one.

/// The sender field that opens a quoted header block, in the languages of the clients seen in
/// support mail (English, Chinese simplified and traditional, Japanese, Russian, German, French).
const FROM_FIELDS: &str = "from|发件人|寄件者|寄件人|差出人|от|von|de";

/// The other fields of a quoted header block.
const OTHER_FIELDS: &str = "sent|date|to|cc|subject|发送时间|发送日期|时间|日期|收件人|抄送|主\\s*题|\
     寄件日期|已傳送|傳送時間|收件者|副本|主旨|送信日時|日付|宛先|件名|отправлено|дата|кому|копия|тема|\
     gesendet|datum|an|betreff|envoyé|à|objet";

/// Header fields that open an Outlook/Foxmail/QQ Mail quoted header block.
static HEADER_FROM: LazyLock<Regex> = LazyLock::new(|| header_regex(FROM_FIELDS));

/// Header fields that follow `From:` in a quoted header block; one of them must appear close
/// below for the `From:` line to count, so a customer writing "From: our side…" is not cut.
static HEADER_OTHER: LazyLock<Regex> = LazyLock::new(|| header_regex(OTHER_FIELDS));

/// Separator lines after which everything is history: the original message of a reply (or of a
/// forward, when the subject says so), or a forwarded message.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            -{2,}\s*(?:original(?:\s+message)?|原始邮件|原始郵件|原邮件|回复的原邮件|
                forwarded\s+message|forwarding\s+messages?|转发的邮件|转发邮件|转发邮件信息|轉寄的郵件)\s*-{2,}
            | begin\s+forwarded\s+message\s*:
            | (?:开始)?转发的邮件\s*[:：]
            | (?:開始)?轉寄的郵件\s*[:：]
        )\s*$",
    )
    .expect("separator regex is valid")
});

/// The separators that always open a forwarded message, whatever the subject.
static FORWARD_SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:
            -{2,}\s*(?:forwarded\s+message|forwarding\s+messages?|转发的邮件|转发邮件|转发邮件信息|轉寄的郵件)\s*-{2,}
            | begin\s+forwarded\s+message\s*:
            | (?:开始)?转发的邮件\s*[:：]
            | (?:開始)?轉寄的郵件\s*[:：]
        )\s*$",
    )
    .expect("forward separator regex is valid")
});

/// A long rule of dashes, which Alibaba Mail and others put above a quoted header block.
static DASH_RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*-{10,}\s*$").expect("dash rule regex is valid"));

/// A horizontal rule of underscores, used by Outlook above header blocks and above signatures.
static UNDERSCORE_RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*_{10,}\s*$").expect("rule regex is valid"));

/// Something that makes a short tail below a rule look like a signature rather than prose.
static CONTACT_DETAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)@|https?://|www\.|\d{7,}|\d{3,4}-\d{7,8}|电话|手机|邮箱|\btel\b|\bphone\b|\bmobile\b",
    )
    .expect("contact regex is valid")
});

/// Builds a regex matching a header line such as `From:`, `*From:*`, `**发件人**：`.
fn header_regex(fields: &str) -> Regex {
    let pattern =
        format!(r"(?i)^\s*\*{{0,2}}\s*(?:{fields})\s*(?:[:：]\s*\*{{0,2}}|\*{{0,2}}\s*[:：])");
    // Only ever called with the literal field lists above, which the unit tests exercise.
    Regex::new(&pattern).expect("header regex is valid")
}

/// Lines below a signature rule beyond which the tail is treated as content, not a signature.
const MAX_SIGNATURE_LINES: usize = 15;
/// How far below a `From:` line the other header fields of a quoted block are looked for.
const HEADER_LOOKAHEAD: usize = 6;
/// Attributions longer than this are prose that happens to start with "On", not an attribution.
const MAX_ATTRIBUTION_CHARS: usize = 400;

/// What the sender wrote this time: `body_text` without quoted history, attributions, header
/// blocks and signature. Never empty for a body with visible text.
pub fn extract_new_text(body_text: &str) -> String {
    split_quoted(body_text).0
}

/// As [`extract_new_text`], knowing the subject: under a forward's subject (`Fwd:`, `FW:`, `转发：`,
/// `轉寄：`) the first history block is the forwarded message, which is kept.
pub fn extract_new_text_with_subject(body_text: &str, subject: &str) -> String {
    split_quoted_with_subject(body_text, subject).0
}

/// The new text of a parsed message, as the ingest pipeline stores it. HTML-only mail goes through
/// the HTML's own structure first (quote containers, Outlook header blocks; see
/// [`crate::ingest::html`]) and then through the text rules; otherwise the text part does.
pub fn new_text_of(mail: &crate::ingest::parse::ParsedMail) -> String {
    let forwarded = is_forward_subject(&mail.subject);
    let structural = match (&mail.html_new_text, &mail.body_html) {
        // The stored new text was rendered without knowing the subject; a forward keeps its
        // history, so it is rendered again from the sanitised HTML (a tokenizer pass, no parse).
        (Some(_), Some(html)) if forwarded => {
            Some(crate::ingest::html::new_text_from_sanitised(html, true))
        }
        (Some(t), _) => Some(t.clone()),
        _ => None,
    };
    match structural {
        Some(t) if !t.trim().is_empty() => extract_new_text_with_subject(&t, &mail.subject),
        _ => extract_new_text_with_subject(&mail.body_text, &mail.subject),
    }
}

/// Whether a subject marks a forward: its first prefix is `Fwd:`, `FW:`, `TR:`, `WG:`, `转发：` or
/// `轉寄：` (`Re: Fwd:` is a reply to a forward, not a forward).
pub fn is_forward_subject(subject: &str) -> bool {
    let s = subject.trim_start();
    let head: String = s.chars().take(6).flat_map(char::to_lowercase).collect();
    ["fwd", "fw", "tr", "wg", "转发", "轉寄", "轉發", "转寄"]
        .iter()
        .any(|prefix| {
            head.strip_prefix(prefix)
                .is_some_and(|rest| rest.trim_start().starts_with([':', '：']))
        })
}

/// Whether a line opens a forwarded message whatever the subject ("---------- Forwarded message
/// ---------", "Begin forwarded message:", "---------- 转发的邮件 ----------").
pub fn is_forward_separator(line: &str) -> bool {
    line.len() < 200 && FORWARD_SEPARATOR.is_match(line)
}

/// Splits `body` into the new text (as [`extract_new_text`]) and, when something was removed, the
/// removed part (quotes, history, signature) for a "show quoted text" fold. Quote blocks removed
/// from between inline answers appear in the history in order, separated by a blank line.
pub fn split_quoted(body: &str) -> (String, Option<String>) {
    split_quoted_with_subject(body, "")
}

/// As [`split_quoted`], knowing the subject (see [`extract_new_text_with_subject`]).
pub fn split_quoted_with_subject(body: &str, subject: &str) -> (String, Option<String>) {
    let lines: Vec<&str> = body.lines().collect();
    let mut removed = vec![false; lines.len()];

    let (mut end, forward) = match history_start(&lines, is_forward_subject(subject)) {
        Some((start, forward)) => (start, forward),
        None => (lines.len(), false),
    };
    mark_prefix_quotes(&lines[..end], &mut removed[..end]);
    if let Some(sig) = signature_start(&lines[..end], &removed[..end]) {
        removed[sig..end].iter_mut().for_each(|r| *r = true);
        if !forward {
            end = sig;
        }
    }
    // A forwarded message is what the case is about: it stays, with its own history.
    if !forward {
        removed[end..].iter_mut().for_each(|r| *r = true);
    }

    let new_text = join_kept(&lines, &removed);
    if new_text.is_empty() {
        return (whole_body(body), None);
    }
    let history = join_removed(&lines, &removed);
    (new_text, (!history.is_empty()).then_some(history))
}

/// The body with blank lines at either end removed, or the body itself if it is all blank.
fn whole_body(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let trimmed = trim_blank_lines(&lines).join("\n");
    if trimmed.is_empty() {
        body.to_string()
    } else {
        trimmed
    }
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_prefix_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The first line from which everything is unprefixed history: a separator, a header block or an
/// attribution not followed by `>` lines. A rule (underscores or a long run of dashes) just above
/// it belongs to the block it opens. The flag says the block is a forwarded message: a forward
/// separator, or the first block under a forward's subject.
fn history_start(lines: &[&str], forward_subject: bool) -> Option<(usize, bool)> {
    let start = (0..lines.len()).find(|&i| {
        let line = lines[i];
        !is_prefix_quoted(line)
            && ((line.len() < 200 && SEPARATOR.is_match(line))
                || starts_header_block(lines, i)
                || attribution_len(lines, i).is_some_and(|len| {
                    // Without `>` lines below, only a "wrote" attribution that opens like one ("On
                    // …", "在 …") or names an address cuts the rest: "Meeting at 14:30 with
                    // bob@example.com:" or "Yesterday at 3:00 John wrote:" open a customer's text.
                    let attribution = &lines[i..i + len];
                    !followed_by_quote(lines, i + len)
                        && closes_attribution(attribution[len - 1].trim()) == Some(Close::Verb)
                        && names_sender_or_time(attribution)
                        && (opens_attribution(line.trim())
                            || attribution.iter().any(|l| l.contains('@')))
                }))
    })?;
    let forward = forward_subject || is_forward_separator(lines[start]);
    let above = (0..start).rev().find(|&j| !is_blank(lines[j]));
    Some(match above {
        Some(j) if UNDERSCORE_RULE.is_match(lines[j]) || DASH_RULE.is_match(lines[j]) => {
            (j, forward)
        }
        _ => (start, forward),
    })
}

fn has_colon(line: &str) -> bool {
    line.contains(':') || line.contains('：')
}

/// Whether a quoted header block starts at line `i`: a `From:` line with another field close below
/// (Outlook, Foxmail, QQ Mail), or a run of at least three field lines that includes `From:`
/// (Outlook.com and Hotmail begin with `Date:`).
fn starts_header_block(lines: &[&str], i: usize) -> bool {
    // The colon check keeps the regexes off the great majority of lines.
    if !has_colon(lines[i]) || lines[i].len() > 1000 {
        return false;
    }
    let is_field = |l: &str| !is_prefix_quoted(l) && has_colon(l) && HEADER_OTHER.is_match(l);
    let window = || lines[i + 1..].iter().take(HEADER_LOOKAHEAD);
    if HEADER_FROM.is_match(lines[i]) {
        return window().any(|l| is_field(l));
    }
    if !is_field(lines[i]) {
        return false;
    }
    let run: Vec<&&str> = window().take_while(|l| !is_blank(l)).collect();
    let from = run
        .iter()
        .any(|l| !is_prefix_quoted(l) && has_colon(l) && HEADER_FROM.is_match(l));
    from && run.iter().filter(|l| is_field(l)).count() + 1 >= 3
}

/// If an attribution ("On … wrote:", "在 … 写道：", "… 于 … 写道：", "… <addr>:") starts at line
/// `i`, the number of lines it spans (clients wrap long ones over two lines).
fn attribution_len(lines: &[&str], i: usize) -> Option<usize> {
    let first = lines[i].trim();
    if first.is_empty() || first.len() > MAX_ATTRIBUTION_CHARS * 3 {
        return None;
    }
    if let Some(close) = closes_attribution(first) {
        return (attribution_evidence(first, "", close)).then_some(1);
    }
    if !opens_attribution(first) {
        return None;
    }
    let second = lines.get(i + 1)?.trim();
    let close = closes_attribution(second)?;
    attribution_evidence(first, second, close).then_some(2)
}

fn opens_attribution(line: &str) -> bool {
    line.starts_with("On ") || line.starts_with('在') || has_date_after_yu(line)
}

/// Gmail's Chinese attribution reads "Name <addr> 于2022年4月7日周四 14:05写道：".
fn has_date_after_yu(line: &str) -> bool {
    line.match_indices('于').any(|(at, yu)| {
        line[at + yu.len()..]
            .trim_start()
            .starts_with(|c: char| c.is_ascii_digit())
    })
}

/// Whether an attribution carries an address or a clock time, as every client's does. Cutting all
/// that follows an attribution is only safe with this evidence: a customer's sentence such as
/// "在2022年重装系统后，客服写道：" must not swallow the text after it.
fn names_sender_or_time(lines: &[&str]) -> bool {
    lines
        .iter()
        .any(|line| line.contains('@') || has_clock_time(line))
}

fn has_clock_time(line: &str) -> bool {
    line.as_bytes().windows(4).any(|w| {
        w[0].is_ascii_digit() && w[1] == b':' && w[2].is_ascii_digit() && w[3].is_ascii_digit()
    })
}

/// How a line closes an attribution.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    /// With a "wrote" verb, in any of the languages below.
    Verb,
    /// With the sender's address and a colon, as Japanese and Russian Gmail and Mail.ru write it:
    /// "2022年4月7日(木) 14:05 Wang Binbin <wangbb@cmgos.com>:".
    Address,
}

/// "Wrote" in the languages of the attributions seen in support mail.
const WROTE: &[&str] = &[
    "wrote",
    "writes",
    "写道",
    "寫道",
    "写到",
    "寫到",
    "のメッセージ",
    "のメール",
    "書きました",
    "написал",
    "написала",
    "написал(а)",
    "пишет",
    "a écrit",
    "schrieb",
    "escribió",
    "scrisse",
    "ha scritto",
    "schreef",
    "skrev",
    "napisał",
    "kirjoitti",
    "escreveu",
];

fn closes_attribution(line: &str) -> Option<Close> {
    let head = line.trim_end().strip_suffix([':', '：'])?.trim_end();
    let lower = head.to_lowercase();
    if WROTE.iter().any(|verb| lower.ends_with(verb)) {
        return Some(Close::Verb);
    }
    let last = head.rsplit(char::is_whitespace).next().unwrap_or(head);
    (last.contains('@') && (head.ends_with('>') || !last.contains(['<', '>'])))
        .then_some(Close::Address)
}

/// Real attributions carry a date or time, which keeps "On Monday my colleague wrote:" as text; an
/// attribution without a "wrote" verb needs a clock time, so "Please write to <a@b.com>:" stays.
fn attribution_evidence(first: &str, second: &str, close: Close) -> bool {
    let chars = first.chars().count() + second.chars().count();
    if chars > MAX_ATTRIBUTION_CHARS {
        return false;
    }
    match close {
        Close::Verb => {
            first.bytes().any(|b| b.is_ascii_digit()) || second.bytes().any(|b| b.is_ascii_digit())
        }
        Close::Address => has_clock_time(first) || has_clock_time(second),
    }
}

/// Whether the first non-blank line at or after `i` is `>`-quoted (or there is none).
fn followed_by_quote(lines: &[&str], i: usize) -> bool {
    lines[i.min(lines.len())..]
        .iter()
        .find(|l| !is_blank(l))
        .is_none_or(|l| is_prefix_quoted(l))
}

/// Marks `>` lines and the attributions introducing them; inline answers stay unmarked.
fn mark_prefix_quotes(lines: &[&str], removed: &mut [bool]) {
    let mut i = 0;
    while i < lines.len() {
        if is_prefix_quoted(lines[i]) {
            removed[i] = true;
            i += 1;
        } else if let Some(len) =
            attribution_len(lines, i).filter(|&len| followed_by_quote(lines, i + len))
        {
            removed[i..i + len].iter_mut().for_each(|r| *r = true);
            i += len;
        } else {
            i += 1;
        }
    }
}

/// Where the signature starts among the kept lines: a sig-dash line, or a last `____` rule whose
/// tail is short and carries contact details.
fn signature_start(lines: &[&str], removed: &[bool]) -> Option<usize> {
    let kept = |i: &usize| !removed[*i];
    if let Some(dash) = (0..lines.len())
        .filter(kept)
        .find(|&i| matches!(lines[i].trim_end_matches('\r'), "-- " | "--"))
    {
        return Some(dash);
    }
    let rule = (0..lines.len())
        .filter(kept)
        .rfind(|&i| UNDERSCORE_RULE.is_match(lines[i]))?;
    let tail: Vec<&str> = (rule + 1..lines.len())
        .filter(kept)
        .map(|i| lines[i])
        .filter(|l| !is_blank(l))
        .collect();
    let is_signature =
        tail.len() <= MAX_SIGNATURE_LINES && tail.iter().any(|l| CONTACT_DETAIL.is_match(l));
    (tail.is_empty() || is_signature).then_some(rule)
}

fn trim_blank_lines<'a>(lines: &'a [&'a str]) -> &'a [&'a str] {
    let start = lines
        .iter()
        .position(|l| !is_blank(l))
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !is_blank(l))
        .map_or(start, |e| e + 1);
    &lines[start..end]
}

/// Joins the kept lines. A gap left by removed lines becomes exactly one blank line, so answers
/// given between quote blocks stay visibly apart without piling up empty lines.
fn join_kept(lines: &[&str], removed: &[bool]) -> String {
    join_selected(lines, |i| !removed[i])
}

/// Joins the removed lines, one blank line between blocks that were not adjacent.
fn join_removed(lines: &[&str], removed: &[bool]) -> String {
    join_selected(lines, |i| removed[i])
}

fn join_selected(lines: &[&str], selected: impl Fn(usize) -> bool) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut in_gap = false;
    for (i, line) in lines.iter().enumerate() {
        if !selected(i) {
            in_gap = true;
            continue;
        }
        if in_gap {
            // Blank lines on either side of the gap collapse into the one separator line.
            if is_blank(line) {
                continue;
            }
            while out.last().is_some_and(|l| is_blank(l)) {
                out.pop();
            }
            if !out.is_empty() {
                out.push("");
            }
            in_gap = false;
        }
        out.push(line);
    }
    trim_blank_lines(&out).join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (what the case shows, body, expected new text)
    const CASES: &[(&str, &str, &str)] = &[
        (
            "gmail top-post drops attribution and quote",
            "Thanks, the log is uploaded.\n\nOn Thu, Apr 7, 2022 at 2:05 PM Wang Binbin <wangbb@cmgos.com> wrote:\n> Please collect the logs.\n>\n> Regards\n",
            "Thanks, the log is uploaded.",
        ),
        (
            "attribution wrapped over two lines is dropped",
            "Done.\n\nOn Thu, Apr 7, 2022 at 2:05 PM Wang Binbin <\nwangbb@cmgos.com> wrote:\n\n> Please collect the logs.\n",
            "Done.",
        ),
        (
            "inline answers between quote blocks are kept",
            "Hi Binbin,\n\nOn 2022-04-07 14:05, Wang Binbin wrote:\n> 1. Does wmic bios get SerialNumber return a value?\nYes, it returns ZZ02-2200-00033.\n> 2. Is the device a virtual machine?\nNo, it is a physical terminal.\n\n>> older quote\n> 3. Which edition?\n\nEnterprise G.\n\nChen Hui\n",
            "Hi Binbin,\n\nYes, it returns ZZ02-2200-00033.\n\nNo, it is a physical terminal.\n\nEnterprise G.\n\nChen Hui",
        ),
        (
            "quotes without a space and at any depth are dropped",
            ">Can you send the log?\n>>Hello\n>>>> deep\nSent it just now.",
            "Sent it just now.",
        ),
        (
            "outlook zh-CN header block after a rule cuts the rest",
            "王女士，您好：\n日志已上传，请查收。\n\n________________________________\n发件人: Wang Binbin <wangbb@cmgos.com>\n发送时间: 2022年4月21日 17:45\n收件人: chenhui.zd@centerm.com\n主题: 答复: [案例号: CAS-06004-S8K5X3 ] 激活失败\n\n陈女士，您好：\n请您按照如下步骤收集日志：\n",
            "王女士，您好：\n日志已上传，请查收。",
        ),
        (
            "outlook header block with full-width colons and no rule",
            "已确认是同一台终端。\n\n发件人：Wang Binbin\n发送时间：2022年4月20日 16:45\n收件人：chenhui.zd@centerm.com\n抄送：gaomeng@cmgos.com\n主题：回复: 激活失败\n\n陈女士，您好：",
            "已确认是同一台终端。",
        ),
        (
            "outlook english header block in bold",
            "Please see attached.\n\n*From:* Wang Binbin <wangbb@cmgos.com>\n*Sent:* Thursday, April 7, 2022 2:05 PM\n*To:* Chen Hui <chenhui.zd@centerm.com>\n*Subject:* RE: activation failed\n\nDear Ms Chen,\nplease run wmic.",
            "Please see attached.",
        ),
        (
            "foxmail reply drops the rule signature and the header block",
            "好的，感谢！\n________________________________\nchenhui.zd@centerm.com\n \nFrom: Wang Binbin\nDate: 2022-04-24 15:50\nTo: chenhui.zd@centerm.com\nSubject: 回复: Re: [案例号: CAS-06004-S8K5X3 ]\n陈女士，您好：\n如刚刚电话沟通……",
            "好的，感谢！",
        ),
        (
            "qq mail original-message rule with no-break spaces",
            "收到，我们明天测试。\n\n------------------\u{a0}原始邮件\u{a0}------------------\n发件人: \"Wang Binbin\"<wangbb@cmgos.com>;\n发送时间: 2022年4月22日(星期五) 下午1:23\n收件人: \"chenhui.zd\"<chenhui.zd@centerm.com>;\n主题: 回复: 激活失败\n\n陈女士，您好：",
            "收到，我们明天测试。",
        ),
        (
            "original message separator cuts the rest",
            "I tried again, same error.\n\n-----Original Message-----\nFrom: Wang Binbin\nSent: Friday, April 22, 2022 1:23 PM\nTo: Chen Hui\n\nWe have escalated this.",
            "I tried again, same error.",
        ),
        (
            "chinese original message separator cuts the rest",
            "补充一下设备型号：CT-8000。\n-----原始邮件-----\n发件人：Wang Binbin\n发送时间：2022-04-07 14:05\n陈女士，您好：",
            "补充一下设备型号：CT-8000。",
        ),
        (
            "forwarding note and the forwarded message are both kept",
            "Please look at the customer's mail below.\n\n---------- Forwarded message ---------\nFrom: Chen Hui <chenhui.zd@centerm.com>\nDate: Thu, Apr 7, 2022 at 2:30 PM\nSubject: activation\nTo: <support@cmgos.com>\n\nSN ZZ02 fails.",
            "Please look at the customer's mail below.\n\n---------- Forwarded message ---------\nFrom: Chen Hui <chenhui.zd@centerm.com>\nDate: Thu, Apr 7, 2022 at 2:30 PM\nSubject: activation\nTo: <support@cmgos.com>\n\nSN ZZ02 fails.",
        ),
        (
            "forward without a note keeps the forwarded message",
            "---------- 转发的邮件 ----------\n发件人：Chen Hui\n日期：2022年4月7日\n主题：激活失败\n收件人：support\n\n激活失败。\n",
            "---------- 转发的邮件 ----------\n发件人：Chen Hui\n日期：2022年4月7日\n主题：激活失败\n收件人：support\n\n激活失败。",
        ),
        (
            "apple mail zh attribution before quote is dropped",
            "好的，我们下午测试。\n\n发自我的iPhone\n\n在 2022年4月24日，下午3:50，Wang Binbin <wangbb@cmgos.com> 写道：\n\n> 陈女士，您好：\n> 如刚刚电话沟通……\n",
            "好的，我们下午测试。\n\n发自我的iPhone",
        ),
        (
            "gmail zh attribution with 于 is dropped",
            "日志已上传！\n\nWang Binbin <wangbb@cmgos.com> 于2022年4月21日周四 17:45写道：\n\n> 陈女士，您好：\n",
            "日志已上传！",
        ),
        (
            "attribution followed by unprefixed history cuts the rest",
            "OK.\n\nOn 2022/4/7 14:05, Wang Binbin wrote:\nDear Ms Chen,\nplease collect logs.",
            "OK.",
        ),
        (
            "sig-dash signature is dropped",
            "Logs uploaded.\n\n-- \nChen Hui\nCentrem, thin client software",
            "Logs uploaded.",
        ),
        (
            "seed thread rule-and-address signature is dropped",
            "hi 王女士，\n    日志已上传！\n________________________________\nchenhui.zd@centerm.com\n\t",
            "hi 王女士，\n    日志已上传！",
        ),
        (
            "rule followed by prose is kept",
            "Part one.\n__________\nPart two is here and it matters.",
            "Part one.\n__________\nPart two is here and it matters.",
        ),
        (
            "body that is all quote falls back to the whole text",
            "\n> only quoted\n> text\n",
            "> only quoted\n> text",
        ),
        (
            "attribution-like prose without a date is kept",
            "On Monday my colleague wrote:\nthe device fails after reboot.",
            "On Monday my colleague wrote:\nthe device fails after reboot.",
        ),
        (
            "chinese prose ending in 写道 does not cut the text after it",
            "在2022年重装系统后，客服写道：\n请重新输入SN。\n我们照做了，还是失败。",
            "在2022年重装系统后，客服写道：\n请重新输入SN。\n我们照做了，还是失败。",
        ),
        (
            "prose with 于 and 写道 but no date after 于 is kept",
            "关于这个问题，同事写道：\n> 请检查主板序列号\n已检查。",
            "关于这个问题，同事写道：\n\n已检查。",
        ),
        (
            "a time and an address before a colon do not cut unquoted text",
            "Meeting at 14:30 with bob@example.com:\n1. logs\n2. screenshots",
            "Meeting at 14:30 with bob@example.com:\n1. logs\n2. screenshots",
        ),
        (
            "a wrote line with a time but no opener or address does not cut unquoted text",
            "Yesterday at 3:00 John wrote:\nthe device fails.",
            "Yesterday at 3:00 John wrote:\nthe device fails.",
        ),
        (
            "japanese gmail attribution before quotes is dropped",
            "了解です。\n\n2022年4月7日(木) 14:05 Wang Binbin <wangbb@cmgos.com>:\n\n> 質問です\n",
            "了解です。",
        ),
        (
            "a lone From: line in prose is kept",
            "From: our side the error persists.\nWe tried twice.",
            "From: our side the error persists.\nWe tried twice.",
        ),
        (
            "blank lines at both ends are trimmed, indentation kept",
            "\n\n   hello\n\n\n",
            "   hello",
        ),
        (
            "crlf line endings are handled",
            "Thanks\r\n\r\n> quoted\r\n",
            "Thanks",
        ),
    ];

    #[test]
    fn extract_new_text_strips_quotes_history_and_signatures() {
        for (name, body, expected) in CASES {
            assert_eq!(extract_new_text(body), *expected, "case: {name}");
        }
    }

    #[test]
    fn split_quoted_returns_what_was_removed() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("nothing removed gives no history", "Just text.", None),
            (
                "top-post history starts at the attribution",
                "Yes.\n\nOn 2022-04-07, X wrote:\n> q",
                Some("On 2022-04-07, X wrote:\n> q"),
            ),
            (
                "separate quote blocks are separated by a blank line",
                "> q1\na1\n> q2\na2",
                Some("> q1\n\n> q2"),
            ),
            (
                "everything quoted gives the whole text and no history",
                "> q1\n> q2",
                None,
            ),
            (
                "signature goes to the history",
                "Hi.\n-- \nChen",
                Some("-- \nChen"),
            ),
        ];
        for (name, body, expected) in cases {
            let (_, history) = split_quoted(body);
            assert_eq!(history.as_deref(), *expected, "case: {name}");
        }
    }

    #[test]
    fn never_returns_empty_text_for_a_non_empty_body() {
        for body in [
            "-- \nsig",
            "________________________________\nme@example.com",
            ">",
            "   ",
            "\n",
        ] {
            let new_text = extract_new_text(body);
            assert!(!new_text.is_empty(), "body {body:?} gave empty new text");
        }
    }

    #[test]
    fn long_bodies_are_processed_in_linear_time() {
        let block = "> quoted line with some words\nanswer line\n\n";
        let body = block.repeat(50_000);
        let started = std::time::Instant::now();
        let new_text = extract_new_text(&body);
        assert_eq!(
            new_text.lines().filter(|l| *l == "answer line").count(),
            50_000
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }
}
