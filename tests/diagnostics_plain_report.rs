//! The customer-readable diagnostics report speaks plain language: for every fixture in
//! tests/fixtures/diagnostics and in both languages, the text report and the view the HTML page is
//! rendered from carry no `|`-joined field paths, no `class.Property` paths, no backticks and no
//! internal reader names.

use std::path::Path;

use casebook::diagnostics::{Limits, Rules, analyse_path, analyse_set, report};
use casebook::i18n::Lang;
use regex::Regex;

const INTERNAL_NAMES: &[&str] = &[
    "wmic-table",
    "wmic-list",
    "powershell-list",
    "WmicTable",
    "WmicList",
    "PowershellList",
    "Win32_",
    "systemenclosure",
    "computersystem",
    "baseboard_",
    "bios_",
    "system_",
    "hypervisor_present",
];

/// Every string the HTML template can show: the view as JSON, minus the keys kept only for
/// machines (`field_name`, the fingerprint rows' snake_case `field`).
fn visible_strings(value: &serde_json::Value, key: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) if key != "field_name" => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| visible_strings(v, key, out)),
        serde_json::Value::Object(map) => {
            let is_fingerprint_row = map.contains_key("label") && map.contains_key("cells");
            for (k, v) in map {
                if is_fingerprint_row && k == "field" {
                    continue;
                }
                visible_strings(v, k, out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_fixture_renders_without_jargon_in_both_languages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnostics");
    let rules = Rules::builtin();
    let piped_path = Regex::new(r"[A-Za-z_]+\|[A-Za-z_|]+").unwrap();
    let dotted_path =
        Regex::new(r"\b(baseboard|bios|csproduct|computersystem|systemenclosure)\.[A-Z]").unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md") && !n.ends_with(".py"))
        .collect();
    names.sort();
    let mut rendered = 0;
    for name in &names {
        let Ok(snapshot) = analyse_path(&dir.join(name), &rules, &Limits::default()) else {
            continue;
        };
        let analysis = analyse_set(vec![snapshot], &rules);
        for lang in Lang::ALL {
            let text = report::render_text(&analysis, lang);
            let view = serde_json::to_value(report::build_view(&analysis, lang)).unwrap();
            let mut strings = vec![text];
            visible_strings(&view, "", &mut strings);
            for s in &strings {
                // File names are the customer's own and may contain anything.
                let s = s.replace(name.as_str(), "FILE");
                let s = s.replace(dir.to_string_lossy().as_ref(), "DIR");
                assert!(!s.contains('`'), "{name} {lang:?}: backtick in {s:?}");
                assert!(
                    !piped_path.is_match(&s),
                    "{name} {lang:?}: |-joined path in {s:?}"
                );
                assert!(
                    !dotted_path.is_match(&s),
                    "{name} {lang:?}: class.Property path in {s:?}"
                );
                for internal in INTERNAL_NAMES {
                    assert!(
                        !s.contains(internal),
                        "{name} {lang:?}: {internal} in {s:?}"
                    );
                }
            }
            rendered += 1;
        }
    }
    assert!(rendered >= 30, "only {rendered} reports rendered");
}

#[test]
fn raw_readings_and_forms_are_named_in_plain_words() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnostics");
    let rules = Rules::builtin();
    let snapshot = analyse_path(
        &dir.join("hyperv-powershell-console.txt"),
        &rules,
        &Limits::default(),
    )
    .unwrap();
    let analysis = analyse_set(vec![snapshot], &rules);
    let en = report::render_text(&analysis, Lang::En);
    assert!(
        en.contains("BIOS name: \"Hyper-V UEFI Release v4.1\""),
        "{en}"
    );
    assert!(en.contains("the output of PowerShell (list)"), "{en}");
    let zh = report::render_text(&analysis, Lang::ZhCn);
    assert!(zh.contains("BIOS 名称"), "{zh}");
    assert!(zh.contains("PowerShell 的输出（列表）"), "{zh}");
}
