//! Activation diagnostics through the front door: every fixture in tests/fixtures/diagnostics, the
//! zip limits, and the CLI's exit codes and JSON.

use std::io::Write;
use std::path::{Path, PathBuf};

use casebook::diagnostics::{
    DiagnosticsError, Field, FindingCode, LimitKind, Limits, OutputForm, Rules, Snapshot, Verdict,
    analyse_bytes, analyse_path, analyse_set, cli, looks_like_diagnostics, report,
};
use casebook::i18n::Lang;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/diagnostics")
        .join(name)
}

fn analyse(name: &str) -> Snapshot {
    analyse_path(&fixture(name), &Rules::builtin(), &Limits::default())
        .unwrap_or_else(|e| panic!("{name} should be analysed: {e}"))
}

fn codes(snapshot: &Snapshot) -> Vec<&'static str> {
    snapshot.findings.iter().map(|f| f.code.as_str()).collect()
}

/// Every (field, value) of the verdict evidence and of all findings' evidence.
fn evidence(snapshot: &Snapshot) -> Vec<(String, String)> {
    snapshot
        .verdict_evidence
        .iter()
        .chain(snapshot.findings.iter().flat_map(|f| f.evidence.iter()))
        .map(|e| (e.field.clone(), e.value.clone()))
        .collect()
}

fn evidence_of(snapshot: &Snapshot, code: FindingCode) -> Vec<(String, String)> {
    snapshot
        .findings
        .iter()
        .filter(|f| f.code == code)
        .flat_map(|f| {
            f.evidence
                .iter()
                .map(|e| (e.field.clone(), e.value.clone()))
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

struct Case {
    file: &'static str,
    verdict: Verdict,
    has: &'static [&'static str],
    lacks: &'static [&'static str],
    evidence: &'static [(&'static str, &'static str)],
}

#[test]
fn every_fixture_gets_its_expected_verdict_codes_and_evidence() {
    let cases = [
        Case {
            file: "physical-hp-console.txt",
            verdict: Verdict::Physical,
            has: &[],
            lacks: &[
                "missing-hardware-id",
                "placeholder-hardware-id",
                "virtual-machine",
            ],
            evidence: &[
                ("baseboard_manufacturer", "HP"),
                ("baseboard_serial", "PGQMN028JEA0XY"),
            ],
        },
        Case {
            file: "vmware-systeminfo-en.txt",
            verdict: Verdict::Virtual,
            has: &["virtual-machine"],
            lacks: &["hypervisor-present"],
            evidence: &[
                ("system_manufacturer", "VMware, Inc."),
                ("system_model", "VMware Virtual Platform"),
                ("hypervisor_present", "true"),
            ],
        },
        Case {
            file: "missing-ids-console.txt",
            verdict: Verdict::Unknown,
            has: &["missing-hardware-id"],
            lacks: &["virtual-machine"],
            evidence: &[
                ("baseboard_serial", ""),
                ("system_model", ""),
                ("baseboard_manufacturer", ""),
            ],
        },
        Case {
            file: "xen-wmic-utf16.txt",
            verdict: Verdict::Virtual,
            has: &["virtual-machine", "ambiguous-source"],
            lacks: &[],
            evidence: &[
                ("baseboard|bios|systemenclosure.Manufacturer", "Xen"),
                ("baseboard|bios|systemenclosure.Name", "HVM domU"),
            ],
        },
        Case {
            file: "asus-placeholders-console.txt",
            verdict: Verdict::Physical,
            has: &["placeholder-hardware-id"],
            lacks: &["virtual-machine", "possible-virtual-machine"],
            evidence: &[
                ("system_model", "System Product Name"),
                ("system_manufacturer", "System manufacturer"),
            ],
        },
        Case {
            file: "virtualbox-csproduct-utf16le-bom.txt",
            verdict: Verdict::Virtual,
            has: &["virtual-machine", "placeholder-hardware-id"],
            lacks: &["ambiguous-source"],
            evidence: &[
                ("system_model", "VirtualBox"),
                ("system_manufacturer", "innotek GmbH"),
                ("system_serial", "0"),
            ],
        },
        Case {
            file: "qemu-bios-utf16be.txt",
            verdict: Verdict::Virtual,
            has: &["virtual-machine"],
            lacks: &[],
            evidence: &[("bios_vendor", "SeaBIOS"), ("bios.Version", "BOCHS  - 1")],
        },
        Case {
            file: "kvm-systeminfo-zh-gbk.txt",
            verdict: Verdict::Virtual,
            has: &["virtual-machine"],
            lacks: &["hypervisor-present"],
            evidence: &[
                ("system_manufacturer", "QEMU"),
                ("system_model", "Standard PC (i440FX + PIIX, 1996)"),
                ("hypervisor_present", "true"),
            ],
        },
        Case {
            file: "dell-vbs-systeminfo-en.txt",
            verdict: Verdict::Physical,
            has: &["hypervisor-present"],
            lacks: &["virtual-machine", "possible-virtual-machine"],
            evidence: &[
                ("system_manufacturer", "Dell Inc."),
                ("system_model", "OptiPlex 7090"),
                ("hypervisor_present", "true"),
            ],
        },
        Case {
            file: "hyperv-powershell-console.txt",
            verdict: Verdict::Virtual,
            has: &["virtual-machine"],
            lacks: &[],
            evidence: &[
                ("system_manufacturer", "Microsoft Corporation"),
                ("system_model", "Virtual Machine"),
                ("bios_version", "Hyper-V UEFI Release v4.1"),
                ("bios.Version", "VRTUAL - 1"),
            ],
        },
        Case {
            file: "surface-powershell-list.txt",
            verdict: Verdict::Physical,
            has: &["hypervisor-present"],
            lacks: &["virtual-machine", "possible-virtual-machine"],
            evidence: &[
                ("system_manufacturer", "Microsoft Corporation"),
                ("system_model", "Surface Pro 7"),
            ],
        },
        Case {
            file: "lenovo-baseboard-format-list.txt",
            verdict: Verdict::Physical,
            has: &[],
            lacks: &["missing-hardware-id", "placeholder-hardware-id"],
            evidence: &[
                ("baseboard_manufacturer", "LENOVO"),
                ("baseboard_serial", "L1HF16S00AB"),
            ],
        },
        Case {
            file: "placeholders-format-list-console.txt",
            verdict: Verdict::Unknown,
            has: &["placeholder-hardware-id"],
            lacks: &["virtual-machine"],
            evidence: &[
                ("system_serial", "Default string"),
                ("system_model", "To be filled by O.E.M."),
                ("system_uuid", "03000200-0400-0500-0006-000700080009"),
                ("system_manufacturer", "To Be Filled By O.E.M."),
                ("baseboard_serial", "Default string"),
            ],
        },
        Case {
            file: "seed-before-console.txt",
            verdict: Verdict::Unknown,
            has: &["missing-hardware-id", "known-activation-error"],
            lacks: &["virtual-machine"],
            evidence: &[
                ("baseboard_serial", ""),
                (
                    "device-marker-binding-invalid",
                    "激活失败，提示：Device marker binding is Invalid",
                ),
            ],
        },
        Case {
            file: "seed-after-console.txt",
            verdict: Verdict::Virtual,
            has: &["virtual-machine", "known-activation-error"],
            lacks: &["missing-hardware-id"],
            evidence: &[
                ("bios_vendor", "SeaBIOS"),
                (
                    "sn-used-by-another-computer",
                    "激活失败：SN已被另一计算机使用",
                ),
            ],
        },
        Case {
            file: "serialnumber-only.txt",
            verdict: Verdict::Unknown,
            has: &["ambiguous-source"],
            lacks: &["virtual-machine"],
            evidence: &[("columns", "SerialNumber")],
        },
        Case {
            file: "bundle-cmge-log.zip",
            verdict: Verdict::Physical,
            has: &["known-activation-error"],
            lacks: &["virtual-machine", "ambiguous-source", "hypervisor-present"],
            evidence: &[
                ("system_manufacturer", "LENOVO"),
                ("baseboard_serial", "L1HF16S00AB"),
                (
                    "0xC004F074",
                    "2022-04-21 17:58:09 ERROR activation failed: 0xC004F074",
                ),
            ],
        },
    ];
    for case in cases {
        let snapshot = analyse(case.file);
        assert_eq!(
            snapshot.verdict, case.verdict,
            "{}: {:#?}",
            case.file, snapshot.findings
        );
        let found = codes(&snapshot);
        for code in case.has {
            assert!(
                found.contains(code),
                "{}: expected {code} in {found:?}",
                case.file
            );
        }
        for code in case.lacks {
            assert!(
                !found.contains(code),
                "{}: did not expect {code} in {found:?}",
                case.file
            );
        }
        let all = evidence(&snapshot);
        for pair in pairs(case.evidence) {
            assert!(
                all.contains(&pair),
                "{}: expected evidence {pair:?} in {all:#?}",
                case.file
            );
        }
    }
}

#[test]
fn missing_ids_name_the_exact_command_to_check_each_field() {
    let snapshot = analyse("missing-ids-console.txt");
    let messages: Vec<&str> = snapshot
        .findings
        .iter()
        .filter(|f| f.code == FindingCode::MissingHardwareId)
        .map(|f| f.message.en.as_str())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    for command in [
        "wmic baseboard get serialnumber",
        "wmic csproduct get name",
        "wmic baseboard get manufacturer",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(command)),
            "{command} missing from {messages:#?}"
        );
    }
    let sources: Vec<(String, String)> = evidence_of(&snapshot, FindingCode::MissingHardwareId)
        .into_iter()
        .collect();
    assert_eq!(sources.len(), 3);
    let serial = snapshot.fingerprint.baseboard_serial.as_ref().unwrap();
    assert_eq!(
        (serial.value.as_str(), serial.file.as_str(), serial.line),
        ("", "missing-ids-console.txt", 2)
    );
}

#[test]
fn queried_but_empty_differs_from_never_queried() {
    let snapshot = analyse("missing-ids-console.txt");
    assert!(
        snapshot
            .fingerprint
            .baseboard_serial
            .as_ref()
            .is_some_and(|r| r.is_empty())
    );
    assert!(snapshot.fingerprint.system_serial.is_none());
    assert!(snapshot.fingerprint.bios_vendor.is_none());
}

#[test]
fn encodings_and_forms_are_recorded_per_file() {
    let cases = [
        ("xen-wmic-utf16.txt", "UTF-16LE", OutputForm::WmicTable),
        (
            "virtualbox-csproduct-utf16le-bom.txt",
            "UTF-16LE",
            OutputForm::WmicTable,
        ),
        ("qemu-bios-utf16be.txt", "UTF-16BE", OutputForm::WmicTable),
        ("kvm-systeminfo-zh-gbk.txt", "GBK", OutputForm::Systeminfo),
        ("vmware-systeminfo-en.txt", "UTF-8", OutputForm::Systeminfo),
        (
            "lenovo-baseboard-format-list.txt",
            "UTF-8",
            OutputForm::WmicList,
        ),
        (
            "hyperv-powershell-console.txt",
            "UTF-8",
            OutputForm::PowershellList,
        ),
    ];
    for (file, encoding, form) in cases {
        let snapshot = analyse(file);
        let input = &snapshot.files[0];
        assert_eq!(input.encoding.as_deref(), Some(encoding), "{file}");
        assert_eq!(input.forms, vec![form], "{file}");
    }
}

#[test]
fn bundle_lists_files_it_does_not_parse_and_uses_file_names_as_class_hints() {
    let snapshot = analyse("bundle-cmge-log.zip");
    let listed: Vec<(&str, bool)> = snapshot
        .files
        .iter()
        .map(|f| (f.name.as_str(), f.read))
        .collect();
    assert!(
        listed.contains(&("bundle-cmge-log.zip/CMGE_Log/screenshot.png", false)),
        "{listed:?}"
    );
    assert!(
        listed.contains(&("bundle-cmge-log.zip/CMGE_Log/events/System.evtx", false)),
        "{listed:?}"
    );
    let serial = snapshot.fingerprint.baseboard_serial.as_ref().unwrap();
    assert_eq!(
        serial.file,
        "bundle-cmge-log.zip/CMGE_Log/hardware/baseboard.txt"
    );
    assert_eq!(serial.line, 2);
    assert_eq!(
        snapshot
            .fingerprint
            .hypervisor_present
            .as_ref()
            .map(|r| r.value),
        Some(false)
    );
}

#[test]
fn a_folder_is_analysed_like_the_same_files_zipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("CMGE_Log");
    std::fs::create_dir_all(root.join("hardware")).unwrap();
    std::fs::copy(
        fixture("physical-hp-console.txt"),
        root.join("hardware/wmic.txt"),
    )
    .unwrap();
    std::fs::copy(
        fixture("dell-vbs-systeminfo-en.txt"),
        root.join("systeminfo.txt"),
    )
    .unwrap();
    std::fs::write(root.join("photo.jpg"), [0xFF, 0xD8, 0xFF, 0xE0]).unwrap();
    let snapshot = analyse_path(&root, &Rules::builtin(), &Limits::default()).unwrap();
    assert_eq!(snapshot.verdict, Verdict::Physical);
    assert_eq!(snapshot.files.len(), 3);
    let model = snapshot.fingerprint.system_model.as_ref().unwrap();
    assert_eq!(model.file, "CMGE_Log/hardware/wmic.txt");
    assert_eq!(model.value, "HP EliteDesk 800 G6 Desktop Mini PC");
}

#[test]
fn seed_drift_pair_explains_another_computer() {
    let rules = Rules::builtin();
    let analysis = analyse_set(
        vec![
            analyse("seed-before-console.txt"),
            analyse("seed-after-console.txt"),
        ],
        &rules,
    );
    assert_eq!(analysis.findings.len(), 1);
    let drift = &analysis.findings[0];
    assert_eq!(drift.code, FindingCode::FingerprintDrift);
    let changed: Vec<(&str, &str)> = drift
        .evidence
        .iter()
        .map(|e| (e.field.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        changed,
        vec![
            ("system_model", ""),
            ("system_model", "Centerm F620"),
            ("baseboard_manufacturer", ""),
            ("baseboard_manufacturer", "Centerm"),
            ("baseboard_serial", ""),
            ("baseboard_serial", "CT2204S00033"),
        ]
    );
    assert!(
        drift.message.en.contains("another computer"),
        "{}",
        drift.message.en
    );
    assert!(
        drift.message.zh.contains("另一计算机"),
        "{}",
        drift.message.zh
    );

    let view = report::build_view(&analysis, Lang::En);
    let changed_rows: Vec<&str> = view
        .fingerprint_table
        .rows
        .iter()
        .filter(|r| r.changed)
        .map(|r| r.field.as_str())
        .collect();
    assert_eq!(
        changed_rows,
        vec!["system_model", "baseboard_manufacturer", "baseboard_serial"]
    );
    let bios = view
        .fingerprint_table
        .rows
        .iter()
        .find(|r| r.field == "bios_vendor")
        .unwrap();
    assert_eq!(bios.cells[0].state, "not-queried");
    assert_eq!(bios.cells[1].value, "SeaBIOS");
}

#[test]
fn text_report_explains_verdict_and_findings_in_both_languages() {
    let rules = Rules::builtin();
    let analysis = analyse_set(
        vec![
            analyse("seed-before-console.txt"),
            analyse("seed-after-console.txt"),
        ],
        &rules,
    );
    let en = report::render_text(&analysis, Lang::En);
    for needle in [
        "Verdict: virtual machine",
        "Verdict: unknown",
        "wmic baseboard get serialnumber",
        "* Baseboard serial number",
        "fingerprint-drift",
        "seed-after-console.txt:19",
    ] {
        assert!(en.contains(needle), "missing {needle:?} in\n{en}");
    }
    let zh = report::render_text(&analysis, Lang::ZhCn);
    for needle in ["结论: 虚拟机", "主板序列号", "已被另一计算机使用", "（空）"]
    {
        assert!(zh.contains(needle), "missing {needle:?} in\n{zh}");
    }
}

#[test]
fn snapshots_round_trip_through_json_for_storage() {
    let snapshot = analyse("hyperv-powershell-console.txt");
    let json = serde_json::to_string(&snapshot).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snapshot);
    let analysis = analyse_set(vec![snapshot], &Rules::builtin());
    let json = serde_json::to_string(&analysis).unwrap();
    assert_eq!(
        serde_json::from_str::<casebook::diagnostics::Analysis>(&json).unwrap(),
        analysis
    );
}

#[test]
fn garbage_and_unrelated_text_are_refused_with_a_clear_message() {
    let rules = Rules::builtin();
    let limits = Limits::default();
    let err = analyse_path(&fixture("garbage.bin"), &rules, &limits).unwrap_err();
    assert!(matches!(err, DiagnosticsError::NotText { .. }), "{err}");
    assert!(err.to_string().contains("garbage.bin"), "{err}");

    let err = analyse_bytes(
        "notes.txt",
        "Hello, please call me back.\r\n".as_bytes(),
        &rules,
        &limits,
    )
    .unwrap_err();
    assert!(
        matches!(err, DiagnosticsError::NothingRecognised { .. }),
        "{err}"
    );

    let err =
        analyse_bytes("broken.zip", b"PK\x03\x04not really a zip", &rules, &limits).unwrap_err();
    assert!(matches!(err, DiagnosticsError::BadArchive { .. }), "{err}");

    let err = analyse_bytes("empty.txt", b"", &rules, &limits).unwrap_err();
    assert!(
        matches!(err, DiagnosticsError::NothingRecognised { .. }),
        "{err}"
    );
}

fn limit_of(err: DiagnosticsError) -> LimitKind {
    match err {
        DiagnosticsError::LimitExceeded { limit, .. } => limit,
        other => panic!("expected a limit error, got {other}"),
    }
}

#[test]
fn zip_bomb_is_refused_naming_the_ratio_limit() {
    // Refused from the archive's directory, before inflating anything; how fast that is belongs in
    // a benchmark, not in a debug-build test on a shared machine.
    let bytes = std::fs::read(fixture("zip-bomb.zip")).unwrap();
    let err = analyse_bytes(
        "zip-bomb.zip",
        &bytes,
        &Rules::builtin(),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("compression ratio"), "{err}");
    assert_eq!(limit_of(err), LimitKind::CompressionRatio);
}

#[test]
fn zip_bomb_without_a_ratio_limit_still_stops_at_the_size_limits() {
    let bytes = std::fs::read(fixture("zip-bomb.zip")).unwrap();
    let rules = Rules::builtin();
    let no_ratio = Limits {
        max_ratio: u64::MAX,
        ..Limits::default()
    };
    let small_total = Limits {
        max_ratio: u64::MAX,
        max_total_uncompressed_bytes: 1024 * 1024,
        ..Limits::default()
    };
    // Per-file limit below the entry: listed, not decompressed, and then nothing is left to read.
    let small_file = Limits {
        max_ratio: u64::MAX,
        max_file_bytes: 1024 * 1024,
        ..Limits::default()
    };
    assert_eq!(
        limit_of(analyse_bytes("b.zip", &bytes, &rules, &small_total).unwrap_err()),
        LimitKind::TotalUncompressedBytes
    );
    let listed = analyse_bytes("b.zip", &bytes, &rules, &small_file).unwrap();
    assert_eq!(listed.verdict, Verdict::Unknown);
    assert!(codes(&listed).contains(&"file-not-read"));
    // 16 MiB of zeros is within the defaults once the ratio is ignored: it is read and holds nothing.
    assert!(matches!(
        analyse_bytes("b.zip", &bytes, &rules, &no_ratio).unwrap_err(),
        DiagnosticsError::NothingRecognised { .. }
    ));
}

#[test]
fn zip_entry_larger_than_declared_is_refused_while_reading() {
    let bytes = std::fs::read(fixture("zip-lying-size.zip")).unwrap();
    let err =
        analyse_bytes("lying.zip", &bytes, &Rules::builtin(), &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("declared"), "{err}");
    assert_eq!(limit_of(err), LimitKind::DeclaredSize);
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn zip_limits_on_entries_and_sizes_name_the_limit() {
    let rules = Rules::builtin();
    let hp = std::fs::read(fixture("physical-hp-console.txt")).unwrap();
    let many: Vec<(String, &[u8])> = (0..10)
        .map(|i| (format!("f{i}.txt"), hp.as_slice()))
        .collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let bytes = zip_of(&many);
    let cases = [
        (
            Limits {
                max_entries: 5,
                ..Limits::default()
            },
            LimitKind::Entries,
            "entry count",
        ),
        (
            Limits {
                max_total_uncompressed_bytes: 1000,
                ..Limits::default()
            },
            LimitKind::TotalUncompressedBytes,
            "total uncompressed size",
        ),
    ];
    for (limits, kind, words) in cases {
        let err = analyse_bytes("many.zip", &bytes, &rules, &limits).unwrap_err();
        assert!(err.to_string().contains(words), "{err}");
        assert_eq!(limit_of(err), kind);
    }
    let ok = analyse_bytes("many.zip", &bytes, &rules, &Limits::default()).unwrap();
    assert_eq!(ok.verdict, Verdict::Physical);

    let err = analyse_bytes(
        "big.txt",
        &hp,
        &rules,
        &Limits {
            max_file_bytes: 100,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert_eq!(limit_of(err), LimitKind::FileBytes);
}

#[test]
fn attachments_are_sniffed_cheaply() {
    let hp = std::fs::read(fixture("physical-hp-console.txt")).unwrap();
    let xen = std::fs::read(fixture("xen-wmic-utf16.txt")).unwrap();
    let gbk = std::fs::read(fixture("kvm-systeminfo-zh-gbk.txt")).unwrap();
    let bundle = std::fs::read(fixture("bundle-cmge-log.zip")).unwrap();
    let plain_zip = zip_of(&[("holiday.txt", b"Greetings from the seaside")]);
    let garbage = std::fs::read(fixture("garbage.bin")).unwrap();
    let cases: Vec<(&str, &str, &[u8], bool)> = vec![
        ("wmic.txt", "text/plain", &hp, true),
        ("out.txt", "application/octet-stream", &xen, true),
        ("系统信息.txt", "text/plain; charset=gbk", &gbk, true),
        ("CMGE_Log.zip", "application/zip", &bundle, true),
        ("photos.zip", "application/zip", &plain_zip, false),
        (
            "letter.txt",
            "text/plain",
            b"Dear support, thank you.",
            false,
        ),
        ("screenshot.png", "image/png", &hp, false),
        ("data.bin", "application/octet-stream", &garbage, false),
    ];
    for (name, content_type, bytes, expected) in cases {
        assert_eq!(
            looks_like_diagnostics(name, content_type, bytes),
            expected,
            "{name}"
        );
    }
}

#[test]
fn override_rules_add_signatures_and_bad_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("rules.toml");
    std::fs::write(
        &good,
        "[[vm_signature]]\nplatform = \"Intel edge VM\"\nstrength = \"strong\"\nall = [{ fields = [\"system_model\"], equals = \"Centerm F620\" }]\n",
    )
    .unwrap();
    let rules = Rules::load_with_override(Some(&good)).unwrap();
    let snapshot = analyse_path(
        &fixture("seed-after-console.txt"),
        &rules,
        &Limits::default(),
    )
    .unwrap();
    let vm = snapshot
        .findings
        .iter()
        .find(|f| f.code == FindingCode::VirtualMachine)
        .unwrap();
    assert!(vm.message.en.contains("Intel edge VM"), "{}", vm.message.en);

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[vm_signature]]\nplatform = \"X\"\nstrength = \"strong\"\nall = [{ fields = [\"modle\"], equals = \"x\" }]\n").unwrap();
    let err = Rules::load_with_override(Some(&bad))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.toml") && err.contains("modle"), "{err}");
    let err = Rules::load_with_override(Some(&dir.path().join("absent.toml")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.toml"), "{err}");
    assert!(Rules::load_with_override(None).is_ok());
}

fn run_cli(paths: &[PathBuf], json: bool, lang: Lang) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = cli::run(paths, json, lang, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn cli_exit_codes_follow_the_contract() {
    let (code, _, err) = run_cli(&[], false, Lang::En);
    assert_eq!(code, 2);
    assert!(err.contains("usage"), "{err}");

    let (code, out, err) = run_cli(
        &[
            fixture("physical-hp-console.txt"),
            fixture("vmware-systeminfo-en.txt"),
        ],
        false,
        Lang::En,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Verdict: physical machine") && out.contains("Verdict: virtual machine"),
        "{out}"
    );

    let (code, out, err) = run_cli(
        &[
            fixture("garbage.bin"),
            fixture("vmware-systeminfo-en.txt"),
            fixture("zip-bomb.zip"),
        ],
        false,
        Lang::En,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("garbage.bin") && err.contains("is not text"),
        "{err}"
    );
    assert!(
        err.contains("zip-bomb.zip") && err.contains("compression ratio"),
        "{err}"
    );
    assert!(
        out.contains("Verdict: virtual machine"),
        "the other input is still analysed: {out}"
    );
}

#[test]
fn cli_json_has_the_documented_shape_in_the_chosen_language() {
    let (code, out, err) = run_cli(
        &[
            fixture("seed-before-console.txt"),
            fixture("seed-after-console.txt"),
        ],
        true,
        Lang::ZhCn,
    );
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let snapshots = json["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 2);
    let after = &snapshots[1];
    assert_eq!(after["verdict"], "virtual");
    assert!(
        after["source"]
            .as_str()
            .unwrap()
            .ends_with("seed-after-console.txt")
    );
    assert_eq!(
        after["fingerprint"]["baseboard_serial"]["value"],
        "CT2204S00033"
    );
    assert_eq!(after["fingerprint"]["baseboard_serial"]["line"], 3);
    assert!(
        after["fingerprint"]["system_uuid"].is_null(),
        "never queried is null"
    );
    assert_eq!(
        snapshots[0]["fingerprint"]["baseboard_serial"]["value"], "",
        "queried but empty"
    );
    let finding = &after["findings"][0];
    assert_eq!(finding["code"], "virtual-machine");
    assert_eq!(finding["severity"], "error");
    assert!(
        finding["message"].as_str().unwrap().contains("虚拟机"),
        "{finding}"
    );
    let evidence = finding["evidence"].as_array().unwrap();
    let seabios = evidence
        .iter()
        .find(|e| e["field"] == "bios_vendor")
        .unwrap();
    assert_eq!(seabios["value"], "SeaBIOS");
    assert_eq!(seabios["source"], "seed-after-console.txt:19");
    let cross = json["findings"].as_array().unwrap();
    assert_eq!(cross[0]["code"], "fingerprint-drift");
    assert!(cross[0]["message"].as_str().unwrap().contains("另一计算机"));
    let _ = Field::ALL;
}

#[test]
fn arbitrary_and_truncated_inputs_never_panic() {
    let rules = Rules::builtin();
    let limits = Limits::default();
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for name in [
        "physical-hp-console.txt",
        "xen-wmic-utf16.txt",
        "kvm-systeminfo-zh-gbk.txt",
        "hyperv-powershell-console.txt",
        "qemu-bios-utf16be.txt",
        "bundle-cmge-log.zip",
    ] {
        seeds.push(std::fs::read(fixture(name)).unwrap());
    }
    // A fixed linear congruential generator: reproducible without a dependency.
    let mut state: u64 = 0x2022_0424;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for round in 0..300 {
        let seed = &seeds[round % seeds.len()];
        let mut bytes = seed[..next() % (seed.len() + 1)].to_vec();
        for _ in 0..next() % 4 {
            if !bytes.is_empty() {
                let at = next() % bytes.len();
                bytes[at] = next() as u8;
            }
        }
        let _ = analyse_bytes("fuzz.txt", &bytes, &rules, &limits);
        let _ = looks_like_diagnostics("fuzz.txt", "text/plain", &bytes);
    }
}

/// `msinfo32 /report` text (UTF-16LE, English and Chinese labels) and `Get-ComputerInfo` output
/// (with Windows' own `BiosSeralNumber` spelling) fill the same fields as wmic and systeminfo: the
/// VMware guest is called a virtual machine with the same evidence, the Centerm terminal is not.
#[test]
fn msinfo32_reports_and_get_computerinfo_are_read_in_english_and_chinese() {
    let cases = [
        (
            "msinfo32-vmware-en-utf16le.txt",
            "UTF-16LE",
            OutputForm::Msinfo32,
            true,
            &[
                ("system_manufacturer", "VMware, Inc."),
                ("system_model", "VMware7,1"),
                ("baseboard_product", "440BX Desktop Reference Platform"),
                ("hypervisor_present", "true"),
            ][..],
        ),
        (
            "get-computerinfo-vmware-console.txt",
            "UTF-8",
            OutputForm::ComputerInfo,
            true,
            &[
                ("system_manufacturer", "VMware, Inc."),
                ("bios_vendor", "VMware, Inc."),
                (
                    "bios_serial",
                    "VMware-56 4d 9a 1b 2c 3d 4e 5f-60 71 82 93 a4 b5 c6 d7",
                ),
            ][..],
        ),
        (
            "msinfo32-centerm-zh-utf16le.txt",
            "UTF-16LE",
            OutputForm::Msinfo32,
            false,
            &[][..],
        ),
        (
            "get-computerinfo-centerm.txt",
            "UTF-8",
            OutputForm::ComputerInfo,
            false,
            &[][..],
        ),
    ];
    for (file, encoding, form, virtual_machine, expected) in cases {
        let snapshot = analyse(file);
        let input = &snapshot.files[0];
        assert_eq!(input.encoding.as_deref(), Some(encoding), "{file}");
        assert_eq!(input.forms, vec![form], "{file}");
        // Each value is in the fingerprint under its field.
        let fingerprint = serde_json::to_value(&snapshot.fingerprint).unwrap();
        for (field, value) in expected {
            let got = &fingerprint[*field]["value"];
            assert!(
                got.as_str() == Some(*value) || got == &serde_json::Value::Bool(*value == "true"),
                "{file}: {field} = {value:?}, read {got}"
            );
        }
        if virtual_machine {
            assert_eq!(snapshot.verdict, Verdict::Virtual, "{file}");
            assert!(codes(&snapshot).contains(&"virtual-machine"), "{file}");
        } else {
            assert_ne!(snapshot.verdict, Verdict::Virtual, "{file}");
            assert!(!codes(&snapshot).contains(&"virtual-machine"), "{file}");
        }
    }
    // The Chinese report names the terminal's own maker and model, read from the Chinese labels.
    let terminal = analyse("msinfo32-centerm-zh-utf16le.txt");
    let json = serde_json::to_string(&terminal.fingerprint).unwrap();
    for value in [
        "CentermTech",
        "C92",
        "C92-MB",
        "American Megatrends Inc. 5.13, 2021/3/18",
    ] {
        assert!(json.contains(value), "{value} in {json}");
    }
    // Get-ComputerInfo's misspelled property fills the BIOS serial number.
    let terminal = analyse("get-computerinfo-centerm.txt");
    let json = serde_json::to_string(&terminal.fingerprint).unwrap();
    assert!(json.contains("CT92A2103000815"), "{json}");
    // The report names the input in plain words.
    let set = analyse_set(
        vec![analyse("msinfo32-vmware-en-utf16le.txt")],
        &Rules::builtin(),
    );
    let text = report::render_text(&set, Lang::En);
    assert!(
        text.contains("System Information report (msinfo32)"),
        "{text}"
    );
}
