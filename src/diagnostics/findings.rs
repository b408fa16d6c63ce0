//! Findings and verdicts: what the rules conclude from a fingerprint, and why.

use serde::{Deserialize, Serialize};

use super::fingerprint::{Field, Fingerprint, RawReading};
use super::rules::{Matcher, Rules, Scope, Signature, Strength};
use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// The same text in both interface languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalizedText {
    /// English.
    pub en: String,
    /// Simplified Chinese.
    pub zh: String,
}

impl LocalizedText {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.en, &self.zh)
    }

    /// Fills `{name}` placeholders; `vars` gives the values for each language.
    pub(crate) fn fill(&self, vars: impl Fn(Lang) -> Vec<(&'static str, String)>) -> LocalizedText {
        let render = |template: &str, lang: Lang| {
            vars(lang)
                .into_iter()
                .fold(template.to_string(), |text, (name, value)| {
                    text.replace(&format!("{{{name}}}"), &value)
                })
        };
        LocalizedText {
            en: render(&self.en, Lang::En),
            zh: render(&self.zh, Lang::ZhCn),
        }
    }
}

/// What kind of finding this is. The kebab-case names are stable: they are stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    /// A field an activation binding needs was queried and answered with nothing.
    MissingHardwareId,
    /// A field holds a firmware placeholder ("To be filled by O.E.M.").
    PlaceholderHardwareId,
    /// Strong evidence of a virtual machine.
    VirtualMachine,
    /// Supporting evidence only; the verdict stays unknown.
    PossibleVirtualMachine,
    /// Windows reports a hypervisor, which physical PCs with Hyper-V/VBS do too.
    HypervisorPresent,
    /// Identity fields changed between two snapshots.
    FingerprintDrift,
    /// A known activation error message or code was found in the text.
    KnownActivationError,
    /// Output whose WMI class could not be decided.
    AmbiguousSource,
    /// A file in a bundle or folder was listed but not read.
    FileNotRead,
}

impl FindingCode {
    /// Every code (each needs a message in the rules).
    pub const ALL: [FindingCode; 9] = [
        FindingCode::MissingHardwareId,
        FindingCode::PlaceholderHardwareId,
        FindingCode::VirtualMachine,
        FindingCode::PossibleVirtualMachine,
        FindingCode::HypervisorPresent,
        FindingCode::FingerprintDrift,
        FindingCode::KnownActivationError,
        FindingCode::AmbiguousSource,
        FindingCode::FileNotRead,
    ];

    /// The kebab-case name (`missing-hardware-id`).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::MissingHardwareId => "missing-hardware-id",
            FindingCode::PlaceholderHardwareId => "placeholder-hardware-id",
            FindingCode::VirtualMachine => "virtual-machine",
            FindingCode::PossibleVirtualMachine => "possible-virtual-machine",
            FindingCode::HypervisorPresent => "hypervisor-present",
            FindingCode::FingerprintDrift => "fingerprint-drift",
            FindingCode::KnownActivationError => "known-activation-error",
            FindingCode::AmbiguousSource => "ambiguous-source",
            FindingCode::FileNotRead => "file-not-read",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(name: &str) -> Option<FindingCode> {
        FindingCode::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context worth knowing.
    Info,
    /// Likely to cause trouble.
    Warning,
    /// Explains an activation failure.
    Error,
}

impl Severity {
    /// A label in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            Severity::Info => text.t("diagnostics.severity.info"),
            Severity::Warning => text.t("diagnostics.severity.warning"),
            Severity::Error => text.t("diagnostics.severity.error"),
        }
    }
}

/// One value that led to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The field (`baseboard_serial`), other property (`bios.Version`) or `text`.
    pub field: String,
    /// The value as read (empty when answered with nothing).
    pub value: String,
    /// `file:line`.
    pub source: String,
}

/// A conclusion with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What kind of finding.
    pub code: FindingCode,
    /// How serious.
    pub severity: Severity,
    /// The explanation, including what to do, in both languages.
    pub message: LocalizedText,
    /// The values it rests on.
    pub evidence: Vec<Evidence>,
}

/// What a snapshot's device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Strong virtual-machine evidence.
    Virtual,
    /// Enough real hardware identity and no virtual-machine evidence.
    Physical,
    /// Too little information, or only supporting evidence.
    Unknown,
}

impl Verdict {
    /// A label in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            Verdict::Virtual => text.t("diagnostics.verdict.virtual"),
            Verdict::Physical => text.t("diagnostics.verdict.physical"),
            Verdict::Unknown => text.t("diagnostics.verdict.unknown"),
        }
    }
}

/// The verdict, the evidence it rests on, and the per-snapshot findings about hardware identity.
pub(crate) struct Judgement {
    pub verdict: Verdict,
    pub evidence: Vec<Evidence>,
    pub findings: Vec<Finding>,
}

fn field_evidence(fingerprint: &Fingerprint, field: Field) -> Option<Evidence> {
    fingerprint.text(field).map(|r| Evidence {
        field: field.name().to_string(),
        value: r.value.clone(),
        source: r.source(),
    })
}

/// Quoted values for a message: `System model "VMware Virtual Platform" (a.txt:5)`.
fn summarise(evidence: &[Evidence], lang: Lang) -> String {
    let text = builtin(lang);
    evidence
        .iter()
        .map(|e| {
            let label = super::fingerprint::plain_label(&e.field, lang);
            let value = text.t("diagnostics.quoted").replace("{value}", &e.value);
            format!("{label} {value} ({})", e.source)
        })
        .collect::<Vec<_>>()
        .join(text.t("diagnostics.list_separator"))
}

/// The evidence a signature produces, or `None` when one of its conditions does not match.
fn match_signature(
    signature: &Signature,
    fingerprint: &Fingerprint,
    raw: &[RawReading],
) -> Option<Vec<Evidence>> {
    let mut evidence = Vec::new();
    for condition in &signature.all {
        let found = match_condition(&condition.scope, &condition.matcher, fingerprint, raw);
        if found.is_empty() {
            return None;
        }
        evidence.extend(found);
    }
    Some(evidence)
}

fn match_condition(
    scope: &Scope,
    matcher: &Matcher,
    fingerprint: &Fingerprint,
    raw: &[RawReading],
) -> Vec<Evidence> {
    let fields: &[Field] = match scope {
        Scope::Any => &Field::TEXT,
        Scope::Fields(fields) => fields,
    };
    let mut found: Vec<Evidence> = fields
        .iter()
        .filter_map(|f| field_evidence(fingerprint, *f))
        .filter(|e| !e.value.is_empty() && matcher.matches(&e.value))
        .collect();
    if matches!(scope, Scope::Any) {
        found.extend(
            raw.iter()
                .filter(|r| matcher.matches(&r.value))
                .map(|r| Evidence {
                    field: r.label(),
                    value: r.value.clone(),
                    source: r.source(),
                }),
        );
    }
    found
}

fn push_unique(list: &mut Vec<Evidence>, items: impl IntoIterator<Item = Evidence>) {
    for item in items {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

/// Judges one snapshot's hardware identity.
pub(crate) fn judge(fingerprint: &Fingerprint, raw: &[RawReading], rules: &Rules) -> Judgement {
    let mut findings = Vec::new();

    for field in &rules.required_fields {
        let Some(reading) = fingerprint.text(*field).filter(|r| r.is_empty()) else {
            continue;
        };
        let command = rules.command_for(*field).to_string();
        let source = reading.source();
        let message = rules.message(FindingCode::MissingHardwareId).fill(|lang| {
            vec![
                ("field", field.label(lang).to_string()),
                ("source", source.clone()),
                ("command", command.clone()),
            ]
        });
        findings.push(Finding {
            code: FindingCode::MissingHardwareId,
            severity: Severity::Error,
            message,
            evidence: field_evidence(fingerprint, *field).into_iter().collect(),
        });
    }

    for field in Field::TEXT {
        let Some(reading) = fingerprint
            .text(field)
            .filter(|r| rules.is_placeholder(&r.value))
        else {
            continue;
        };
        let command = rules.command_for(field).to_string();
        let (source, value) = (reading.source(), reading.value.clone());
        let message = rules
            .message(FindingCode::PlaceholderHardwareId)
            .fill(|lang| {
                vec![
                    ("field", field.label(lang).to_string()),
                    ("value", value.clone()),
                    ("source", source.clone()),
                    ("command", command.clone()),
                ]
            });
        findings.push(Finding {
            code: FindingCode::PlaceholderHardwareId,
            severity: Severity::Warning,
            message,
            evidence: field_evidence(fingerprint, field).into_iter().collect(),
        });
    }

    let mut strong: (Vec<String>, Vec<Evidence>) = (Vec::new(), Vec::new());
    let mut supporting: (Vec<String>, Vec<Evidence>) = (Vec::new(), Vec::new());
    for signature in &rules.signatures {
        let Some(evidence) = match_signature(signature, fingerprint, raw) else {
            continue;
        };
        let bucket = match signature.strength {
            Strength::Strong => &mut strong,
            Strength::Supporting => &mut supporting,
        };
        if !bucket.0.contains(&signature.platform) {
            bucket.0.push(signature.platform.clone());
        }
        push_unique(&mut bucket.1, evidence);
    }
    let hypervisor = fingerprint
        .hypervisor_present
        .as_ref()
        .filter(|r| r.value)
        .map(|r| Evidence {
            field: Field::HypervisorPresent.name().to_string(),
            value: "true".to_string(),
            source: r.source(),
        });

    let vm_finding = |code: FindingCode,
                      severity: Severity,
                      (platforms, evidence): (Vec<String>, Vec<Evidence>)| {
        let platform = platforms.join(", ");
        let message = rules.message(code).fill(|lang| {
            vec![
                ("platform", platform.clone()),
                ("summary", summarise(&evidence, lang)),
            ]
        });
        Finding {
            code,
            severity,
            message,
            evidence,
        }
    };

    let verdict;
    let mut verdict_evidence = Vec::new();
    if !strong.0.is_empty() {
        verdict = Verdict::Virtual;
        // Not sufficient alone, but consistent with the strong evidence, so it is shown beside it.
        push_unique(&mut strong.1, hypervisor.clone());
        push_unique(&mut strong.1, supporting.1.clone());
        verdict_evidence = strong.1.clone();
        findings.insert(
            0,
            vm_finding(FindingCode::VirtualMachine, Severity::Error, strong),
        );
    } else {
        let real = |fields: &[Field]| -> Vec<Evidence> {
            fields
                .iter()
                .filter_map(|f| field_evidence(fingerprint, *f))
                .filter(|e| !e.value.is_empty() && !rules.is_placeholder(&e.value))
                .collect()
        };
        let manufacturers = real(&rules.physical_manufacturer_fields);
        let identities = real(&rules.physical_identity_fields);
        if !supporting.0.is_empty() {
            verdict = Verdict::Unknown;
            findings.insert(
                0,
                vm_finding(
                    FindingCode::PossibleVirtualMachine,
                    Severity::Warning,
                    supporting,
                ),
            );
        } else if !manufacturers.is_empty() && !identities.is_empty() {
            verdict = Verdict::Physical;
            push_unique(&mut verdict_evidence, manufacturers);
            push_unique(&mut verdict_evidence, identities);
        } else {
            verdict = Verdict::Unknown;
        }
        if let Some(evidence) = hypervisor {
            let source = evidence.source.clone();
            let message = rules
                .message(FindingCode::HypervisorPresent)
                .fill(|_| vec![("source", source.clone())]);
            findings.push(Finding {
                code: FindingCode::HypervisorPresent,
                severity: Severity::Info,
                message,
                evidence: vec![evidence],
            });
        }
    }
    Judgement {
        verdict,
        evidence: verdict_evidence,
        findings,
    }
}

/// Compares two fingerprints: the text fields read in both whose values differ (an empty answer that
/// was later filled in counts: that is the seed's case).
pub(crate) fn drift(
    before_name: &str,
    before: &Fingerprint,
    after_name: &str,
    after: &Fingerprint,
    rules: &Rules,
) -> Option<Finding> {
    let changed: Vec<(Field, Evidence, Evidence)> = Field::TEXT
        .into_iter()
        .filter_map(|f| {
            let (b, a) = (field_evidence(before, f)?, field_evidence(after, f)?);
            (b.value.trim().to_lowercase() != a.value.trim().to_lowercase()).then_some((f, b, a))
        })
        .collect();
    if changed.is_empty() {
        return None;
    }
    let message = rules.message(FindingCode::FingerprintDrift).fill(|lang| {
        let text = builtin(lang);
        let quote = |v: &str| {
            if v.is_empty() {
                text.t("diagnostics.value.empty").to_string()
            } else {
                text.t("diagnostics.quoted").replace("{value}", v)
            }
        };
        let changes = changed
            .iter()
            .map(|(f, b, a)| {
                format!(
                    "{} {} → {}",
                    f.label(lang),
                    quote(&b.value),
                    quote(&a.value)
                )
            })
            .collect::<Vec<_>>()
            .join(text.t("diagnostics.list_separator"));
        vec![
            ("before", before_name.to_string()),
            ("after", after_name.to_string()),
            ("changes", changes),
        ]
    });
    Some(Finding {
        code: FindingCode::FingerprintDrift,
        severity: Severity::Error,
        message,
        evidence: changed.into_iter().flat_map(|(_, b, a)| [b, a]).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(values: &[(Field, &str)]) -> Fingerprint {
        let mut fp = Fingerprint::default();
        for (i, (field, value)) in values.iter().enumerate() {
            fp.record(*field, value, "t.txt", i + 1);
        }
        fp
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn verdicts_follow_the_rules_table() {
        use Field::*;
        let rules = Rules::builtin();
        type Case = (
            &'static str,
            Vec<(Field, &'static str)>,
            Verdict,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "vmware",
                vec![
                    (SystemManufacturer, "VMware, Inc."),
                    (SystemModel, "VMware Virtual Platform"),
                ],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "hyper-v",
                vec![
                    (SystemManufacturer, "Microsoft Corporation"),
                    (SystemModel, "Virtual Machine"),
                ],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "surface",
                vec![
                    (SystemManufacturer, "Microsoft Corporation"),
                    (SystemModel, "Surface Pro 7"),
                    (HypervisorPresent, "TRUE"),
                ],
                Verdict::Physical,
                vec!["hypervisor-present"],
            ),
            (
                "dell with vbs",
                vec![
                    (SystemManufacturer, "Dell Inc."),
                    (SystemModel, "OptiPlex 7090"),
                    (HypervisorPresent, "TRUE"),
                ],
                Verdict::Physical,
                vec!["hypervisor-present"],
            ),
            (
                "hypervisor only",
                vec![(HypervisorPresent, "TRUE")],
                Verdict::Unknown,
                vec!["hypervisor-present"],
            ),
            (
                "qemu i440fx",
                vec![
                    (SystemModel, "Standard PC (i440FX + PIIX, 1996)"),
                    (SystemManufacturer, "QEMU"),
                ],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "q35",
                vec![(SystemModel, "Standard PC (Q35 + ICH9, 2009)")],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "seabios",
                vec![(BiosVendor, "SeaBIOS")],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "ovmf",
                vec![(BiosVendor, "EDK II")],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "virtualbox",
                vec![
                    (BaseboardManufacturer, "Oracle Corporation"),
                    (BaseboardProduct, "VirtualBox"),
                ],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "oracle alone",
                vec![
                    (BaseboardManufacturer, "Oracle Corporation"),
                    (BaseboardProduct, "X7-2"),
                ],
                Verdict::Unknown,
                vec!["possible-virtual-machine"],
            ),
            (
                "xen",
                vec![(SystemManufacturer, "Xen"), (SystemModel, "HVM domU")],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "ec2",
                vec![
                    (SystemManufacturer, "Amazon EC2"),
                    (SystemModel, "t3.large"),
                ],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "gce",
                vec![
                    (SystemManufacturer, "Google"),
                    (SystemModel, "Google Compute Engine"),
                ],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "alibaba",
                vec![
                    (SystemManufacturer, "Alibaba Cloud"),
                    (SystemModel, "Alibaba Cloud ECS"),
                ],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "nutanix",
                vec![(SystemManufacturer, "Nutanix"), (SystemModel, "AHV")],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "parallels",
                vec![
                    (SystemManufacturer, "Parallels Software International Inc."),
                    (SystemModel, "Parallels Virtual Platform"),
                ],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "bhyve",
                vec![(SystemManufacturer, "FreeBSD"), (SystemModel, "BHYVE")],
                Verdict::Virtual,
                vec!["virtual-machine"],
            ),
            (
                "hp",
                vec![
                    (SystemManufacturer, "HP"),
                    (SystemModel, "HP EliteDesk 800 G6"),
                    (BaseboardSerial, "PGQMN028JEA0XY"),
                ],
                Verdict::Physical,
                vec![],
            ),
            (
                "xenon is not xen",
                vec![(SystemManufacturer, "Xenon Systems"), (SystemModel, "NS-1")],
                Verdict::Physical,
                vec![],
            ),
            (
                "placeholders only",
                vec![
                    (SystemManufacturer, "System manufacturer"),
                    (SystemModel, "System Product Name"),
                ],
                Verdict::Unknown,
                vec!["placeholder-hardware-id", "placeholder-hardware-id"],
            ),
            (
                "missing",
                vec![
                    (BaseboardSerial, ""),
                    (SystemModel, ""),
                    (BaseboardManufacturer, ""),
                ],
                Verdict::Unknown,
                vec![
                    "missing-hardware-id",
                    "missing-hardware-id",
                    "missing-hardware-id",
                ],
            ),
            ("nothing", vec![], Verdict::Unknown, vec![]),
        ];
        for (name, values, verdict, expected_codes) in cases {
            let judgement = judge(&fingerprint(&values), &[], &rules);
            assert_eq!(judgement.verdict, verdict, "{name}");
            assert_eq!(codes(&judgement.findings), expected_codes, "{name}");
        }
    }

    #[test]
    fn vm_strings_in_other_properties_count_for_any_field_rules() {
        let raw = vec![RawReading {
            classes: vec!["bios".into()],
            key: "Version".into(),
            value: "VRTUAL - 1".into(),
            file: "b.txt".into(),
            line: 3,
        }];
        let judgement = judge(&Fingerprint::default(), &raw, &Rules::builtin());
        assert_eq!(judgement.verdict, Verdict::Virtual);
        assert_eq!(
            judgement.evidence,
            vec![Evidence {
                field: "bios.Version".into(),
                value: "VRTUAL - 1".into(),
                source: "b.txt:3".into()
            }]
        );
    }

    #[test]
    fn drift_lists_changed_fields_including_filled_in_empties() {
        use Field::*;
        let before = fingerprint(&[
            (BaseboardSerial, ""),
            (SystemModel, ""),
            (BiosSerial, "ZZ02"),
        ]);
        let after = fingerprint(&[
            (BaseboardSerial, "CT2204"),
            (SystemModel, "Centerm F620"),
            (BiosSerial, "ZZ02"),
        ]);
        let finding = drift(
            "before.txt",
            &before,
            "after.txt",
            &after,
            &Rules::builtin(),
        )
        .unwrap();
        let fields: Vec<&str> = finding.evidence.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "system_model",
                "system_model",
                "baseboard_serial",
                "baseboard_serial"
            ]
        );
        assert!(
            finding.message.en.contains("(empty) → \"CT2204\""),
            "{}",
            finding.message.en
        );
        assert!(finding.message.zh.contains("已被另一计算机使用"));
        assert_eq!(drift("a", &before, "b", &before, &Rules::builtin()), None);
    }
}
