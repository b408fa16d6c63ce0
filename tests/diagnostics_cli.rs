//! `casebook diagnose` through the real binary: exit codes, JSON shape, languages, rules override,
//! and refusals of hostile input (zip bomb, random bytes) without a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/diagnostics")
        .join(name)
}

/// Runs the binary in an empty folder with no `CASEBOOK_*` settings, so no config file is found.
fn diagnose(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_casebook"));
    cmd.current_dir(dir.path()).arg("diagnose").args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("CASEBOOK_") {
            cmd.env_remove(key);
        }
    }
    cmd.output().expect("run casebook diagnose")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}): {}", text(&output.stdout)))
}

#[test]
fn seed_before_and_after_give_json_with_verdicts_findings_and_drift() {
    let out = diagnose(&[
        "--json",
        &path("seed-before-console.txt"),
        &path("seed-after-console.txt"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    let snapshots = v["snapshots"].as_array().expect("snapshots array");
    assert_eq!(snapshots.len(), 2);
    for s in snapshots {
        for key in ["source", "fingerprint", "verdict", "findings"] {
            assert!(s.get(key).is_some(), "snapshot lacks {key}: {s}");
        }
        for f in s["findings"].as_array().unwrap() {
            for key in ["code", "severity", "message", "evidence"] {
                assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
            }
        }
    }
    assert!(
        snapshots[0]["source"]
            .as_str()
            .unwrap()
            .ends_with("seed-before-console.txt")
    );
    assert_eq!(snapshots[0]["verdict"], "unknown");
    assert_eq!(snapshots[1]["verdict"], "virtual");
    let codes: Vec<&str> = snapshots[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"missing-hardware-id"), "{codes:?}");
    assert!(codes.contains(&"known-activation-error"), "{codes:?}");
    assert_eq!(
        snapshots[1]["fingerprint"]["baseboard_serial"]["value"],
        "CT2204S00033"
    );

    let cross = v["findings"].as_array().expect("findings array");
    let drift = cross
        .iter()
        .find(|f| f["code"] == "fingerprint-drift")
        .expect("fingerprint-drift across the two snapshots");
    let fields: Vec<&str> = drift["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["system_model", "baseboard_manufacturer", "baseboard_serial"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    // Evidence points at file:line.
    let source = drift["evidence"][0]["source"].as_str().unwrap();
    assert!(
        source.contains("console.txt:"),
        "evidence names file:line: {source}"
    );
}

#[test]
fn the_text_report_follows_the_language() {
    let en = diagnose(&[&path("vmware-systeminfo-en.txt")]);
    assert_eq!(en.status.code(), Some(0), "{}", text(&en.stderr));
    let en = text(&en.stdout);
    assert!(en.contains("Activation diagnostics report"), "{en}");
    assert!(en.contains("virtual machine"), "{en}");
    assert!(en.contains("VMware"), "{en}");

    let zh = diagnose(&["--lang", "zh-CN", &path("vmware-systeminfo-en.txt")]);
    assert_eq!(zh.status.code(), Some(0));
    let zh = text(&zh.stdout);
    assert!(zh.contains("激活诊断报告"), "{zh}");
    assert!(zh.contains("虚拟机"), "{zh}");
}

#[test]
fn refused_inputs_exit_1_with_the_reason_and_the_rest_is_still_analysed() {
    let out = diagnose(&[
        "--json",
        &path("physical-hp-console.txt"),
        &path("zip-bomb.zip"),
        &path("garbage.bin"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("zip-bomb.zip"), "{err}");
    assert!(err.contains("compression ratio (max_ratio)"), "{err}");
    assert!(err.contains("garbage.bin"), "{err}");
    assert!(err.contains("not text"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let v = json(&out);
    assert_eq!(v["snapshots"].as_array().unwrap().len(), 1);
    assert_eq!(v["snapshots"][0]["verdict"], "physical");

    let missing = diagnose(&["/no/such/file.txt"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("/no/such/file.txt"));
}

#[test]
fn garbage_of_every_kind_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty.txt", Vec::new()),
        ("zeros.txt", vec![0; 4096]),
        ("truncated.zip", b"PK\x03\x04\x14\x00\x00\x00".to_vec()),
        ("bom-only.txt", vec![0xFF, 0xFE]),
        ("lonely-header.txt", b"SerialNumber\r\n".to_vec()),
        (
            "invalid-utf8.txt",
            vec![0xC3, 0x28, 0xA0, 0xA1, b'\n', 0xE2, 0x82],
        ),
    ];
    for (name, bytes) in &inputs {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = diagnose(&["--json", p.to_str().unwrap()]);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(1),
            "{name}: exit {code:?}, stderr {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("panicked"), "{name}");
        json(&out);
    }
}

#[test]
fn usage_errors_exit_2() {
    let none = diagnose(&[]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none.stderr).contains("usage: casebook diagnose"));

    let bad_lang = diagnose(&["--lang", "fr", &path("physical-hp-console.txt")]);
    assert_eq!(bad_lang.status.code(), Some(2));
    assert!(text(&bad_lang.stderr).contains("fr"));

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[vm_signature]]\nplatform = \"X\"\nstrength = \"sure\"\n",
    )
    .unwrap();
    let bad_rules = diagnose(&[
        "--rules",
        rules.to_str().unwrap(),
        &path("physical-hp-console.txt"),
    ]);
    assert_eq!(bad_rules.status.code(), Some(2));
    let err = text(&bad_rules.stderr);
    assert!(err.contains("rules.toml"), "names the file: {err}");

    let missing_rules = diagnose(&[
        "--rules",
        "/no/rules.toml",
        &path("physical-hp-console.txt"),
    ]);
    assert_eq!(missing_rules.status.code(), Some(2));
    assert!(text(&missing_rules.stderr).contains("/no/rules.toml"));
}

#[test]
fn a_rules_override_adds_a_vendor_string() {
    let before = diagnose(&["--json", &path("seed-before-console.txt")]);
    assert_eq!(json(&before)["snapshots"][0]["verdict"], "unknown");

    // The seed's edge platform: treat this BIOS serial prefix as a hypervisor's.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("edge.toml");
    std::fs::write(
        &rules,
        r#"
[[vm_signature]]
platform = "Edge hypervisor"
strength = "strong"
all = [{ fields = ["bios_serial"], regex = '^ZZ02' }]
"#,
    )
    .unwrap();
    let after = diagnose(&[
        "--json",
        "--rules",
        rules.to_str().unwrap(),
        &path("seed-before-console.txt"),
    ]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after.stderr));
    let v = json(&after);
    assert_eq!(v["snapshots"][0]["verdict"], "virtual", "{v}");
}
