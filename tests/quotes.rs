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
