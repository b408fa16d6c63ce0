//! Quote stripping against real client shapes: every `tests/fixtures/quotes/NAME.eml` is parsed as
//! the ingest pipeline parses it, and its new text must equal `NAME.expected.txt` exactly. All
//! mismatches are reported together, so one run shows the whole picture.

use std::path::Path;

use casebook::ingest::parse::parse_mail;
use casebook::ingest::quote::new_text_of;

#[test]
fn every_fixture_yields_exactly_its_expected_new_text() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quotes");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".eml"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 60, "only {} fixtures", names.len());

    let mut failures = Vec::new();
    for name in &names {
        let raw = std::fs::read(dir.join(format!("{name}.eml"))).expect("fixture");
        let expected = std::fs::read_to_string(dir.join(format!("{name}.expected.txt")))
            .unwrap_or_else(|_| panic!("{name}.expected.txt is missing"));
        let expected = expected.strip_suffix('\n').unwrap_or(&expected);
        let actual = match parse_mail(&raw) {
            Ok(mail) => new_text_of(&mail),
            Err(e) => format!("<parse error: {e}>"),
        };
        if actual != expected {
            failures.push(format!(
                "--- {name}\nexpected:\n{expected}\n\nactual:\n{actual}\n"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

/// Structure that matters in the new text but is not a client's whole reply.
#[test]
fn html_structure_rules_in_isolation() {
    use casebook::ingest::html::html_to_text_without_quotes as new_text;
    let cases = [
        (
            "a rule followed by prose keeps the prose",
            "<p>one</p><hr><p>two matters</p>",
            "one\n________________________________\ntwo matters",
        ),
        (
            "a top border without a header below is not a quote",
            "<p>new</p><div style=\"border-top-style: solid\"><p>Note: keep this</p></div>",
            "new\nNote: keep this",
        ),
        (
            "NetEase's reply blockquote is dropped, text after it kept",
            "<p>new</p><blockquote id=\"isReplyContent\">old</blockquote><p>after</p>",
            "new\nafter",
        ),
        (
            "a Yahoo container with a generated prefix is dropped",
            "<p>new</p><div class=\"ydp1234yahoo_quoted\">old</div>",
            "new",
        ),
        (
            "a forwarded message in a Gmail container is kept",
            "<p>fyi</p><div class=\"gmail_quote\">---------- Forwarded message ---------<br>From: a</div>",
            "fyi\n---------- Forwarded message ---------\nFrom: a",
        ),
    ];
    let mut failures = Vec::new();
    for (name, html, expected) in cases {
        let actual = new_text(html);
        if actual != expected {
            failures.push(format!("{name}: expected {expected:?}, got {actual:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn forward_subjects_are_recognised() {
    use casebook::ingest::quote::is_forward_subject;
    for subject in [
        "Fwd: x",
        "FW: x",
        "fw：x",
        "转发：激活失败",
        "转发: x",
        "轉寄: x",
        "TR: x",
    ] {
        assert!(is_forward_subject(subject), "{subject}");
    }
    for subject in [
        "Re: Fwd: x",
        "回复: 转发: x",
        "Forward planning",
        "fwiw",
        "激活失败",
    ] {
        assert!(!is_forward_subject(subject), "{subject}");
    }
}

/// Pathological HTML (thousands of bordered blocks, rules and nested quotes) stays fast: the look-ahead
/// for a header below a rule is bounded per document, and the renderer is a single pass.
#[test]
fn pathological_html_is_processed_quickly() {
    use casebook::ingest::html::{new_text_from_sanitised, sanitise_html};
    let bordered = "<div style=\"border-top:solid 1px\">text ".repeat(20_000);
    let rules = "<hr>line ".repeat(50_000);
    let nested = format!(
        "{}deep{}",
        "<blockquote>".repeat(5_000),
        "</blockquote>".repeat(5_000)
    );
    for html in [bordered, rules, nested] {
        let sanitised = sanitise_html(&html);
        let started = std::time::Instant::now();
        let text = new_text_from_sanitised(&sanitised, false);
        let elapsed = started.elapsed();
        assert!(!text.is_empty());
        assert!(
            elapsed < std::time::Duration::from_secs(2),
            "took {elapsed:?}"
        );
    }
}
