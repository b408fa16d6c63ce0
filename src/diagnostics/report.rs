//! The report a customer can read: per snapshot the verdict and the evidence behind it, each finding
//! with what to do, and a side-by-side fingerprint table. [`build_view`] gives a view model for the
//! HTML template; [`render_text`] the plain-text form for mail; [`json_view`] the CLI's JSON.

use serde::Serialize;

use super::findings::{Evidence, Finding, FindingCode, Verdict};
use super::fingerprint::Field;
use super::{Analysis, Snapshot};
use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// Everything the report shows, already in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportView {
    /// `en` or `zh-CN`.
    pub lang: String,
    /// The report title.
    pub title: String,
    /// One line per snapshot: source and verdict.
    pub summary: Vec<String>,
    /// One section per snapshot.
    pub snapshots: Vec<SnapshotSection>,
    /// All snapshots side by side, changed fields flagged.
    pub fingerprint_table: FingerprintTable,
    /// Findings across snapshots (fingerprint drift).
    pub cross_findings: Vec<FindingRow>,
    /// Fixed labels the template needs.
    pub labels: ReportLabels,
}

/// Headings and column names in the report's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLabels {
    /// "Verdict".
    pub verdict: String,
    /// "Why".
    pub why: String,
    /// "Findings".
    pub findings: String,
    /// "Evidence".
    pub evidence: String,
    /// "Field".
    pub field: String,
    /// "Value".
    pub value: String,
    /// "Source".
    pub source: String,
    /// "Files".
    pub files: String,
    /// "Hardware fingerprint".
    pub fingerprint: String,
    /// "Across snapshots".
    pub across: String,
    /// "changed".
    pub changed: String,
}

/// One snapshot's part of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotSection {
    /// The input's name.
    pub source: String,
    /// `virtual`, `physical` or `unknown` (for CSS classes).
    pub verdict: String,
    /// The verdict in words.
    pub verdict_label: String,
    /// Why this verdict, in a sentence.
    pub verdict_explanation: String,
    /// The values the verdict rests on.
    pub verdict_evidence: Vec<EvidenceRow>,
    /// The findings.
    pub findings: Vec<FindingRow>,
    /// The files looked at.
    pub files: Vec<FileRow>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    /// `missing-hardware-id`…
    pub code: String,
    /// `info`, `warning` or `error` (for CSS classes).
    pub severity: String,
    /// The severity in words.
    pub severity_label: String,
    /// The explanation with what to do.
    pub message: String,
    /// The values it rests on.
    pub evidence: Vec<EvidenceRow>,
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRow {
    /// The field's label in the report's language (or the raw property name).
    pub field: String,
    /// The machine name (`baseboard_serial`).
    pub field_name: String,
    /// The value, quoted for display; "(empty)" when answered with nothing.
    pub value: String,
    /// `file:line`.
    pub source: String,
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRow {
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// What was recognised, or why it was only listed.
    pub note: String,
}

/// The side-by-side fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FingerprintTable {
    /// One column per snapshot (its source).
    pub columns: Vec<String>,
    /// One row per field.
    pub rows: Vec<FingerprintRow>,
}

/// One field across snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FingerprintRow {
    /// `baseboard_serial`.
    pub field: String,
    /// Its label.
    pub label: String,
    /// One cell per snapshot.
    pub cells: Vec<FingerprintCell>,
    /// True when the value differs between snapshots that read it.
    pub changed: bool,
}

/// One field of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FingerprintCell {
    /// The value, or "(empty)" / "(not queried)".
    pub value: String,
    /// `value`, `empty` or `not-queried` (for CSS classes).
    pub state: String,
    /// `file:line`, when read.
    pub source: Option<String>,
    /// True for firmware placeholders.
    pub placeholder: bool,
}

fn labels(lang: Lang) -> ReportLabels {
    let text = builtin(lang);
    ReportLabels {
        verdict: text.t("diagnostics.report.verdict").to_string(),
        why: text.t("diagnostics.report.why").to_string(),
        findings: text.t("diagnostics.findings").to_string(),
        evidence: text.t("diagnostics.report.evidence").to_string(),
        field: text.t("diagnostics.field").to_string(),
        value: text.t("diagnostics.value").to_string(),
        source: text.t("diagnostics.report.source").to_string(),
        files: text.t("diagnostics.report.files").to_string(),
        fingerprint: text.t("diagnostics.report.fingerprint").to_string(),
        across: text.t("diagnostics.across").to_string(),
        changed: text.t("diagnostics.changed").to_string(),
    }
}

fn empty_text(lang: Lang) -> &'static str {
    builtin(lang).t("diagnostics.value.empty")
}

fn evidence_row(evidence: &Evidence, lang: Lang) -> EvidenceRow {
    let field = super::fingerprint::plain_label(&evidence.field, lang);
    let value = if evidence.value.is_empty() {
        empty_text(lang).to_string()
    } else {
        builtin(lang)
            .t("diagnostics.quoted")
            .replace("{value}", &evidence.value)
    };
    EvidenceRow {
        field,
        field_name: evidence.field.clone(),
        value,
        source: evidence.source.clone(),
    }
}

fn finding_row(finding: &Finding, lang: Lang) -> FindingRow {
    FindingRow {
        code: finding.code.as_str().to_string(),
        severity: format!("{:?}", finding.severity).to_lowercase(),
        severity_label: finding.severity.label(lang).to_string(),
        message: finding.message.get(lang).to_string(),
        evidence: finding
            .evidence
            .iter()
            .map(|e| evidence_row(e, lang))
            .collect(),
    }
}

fn explanation(snapshot: &Snapshot, lang: Lang) -> String {
    let text = builtin(lang);
    match snapshot.verdict {
        Verdict::Virtual => text.t("diagnostics.verdict.virtual.why"),
        Verdict::Physical => text.t("diagnostics.verdict.physical.why"),
        Verdict::Unknown => text.t("diagnostics.verdict.unknown.why"),
    }
    .to_string()
}

fn file_row(file: &super::InputFile, lang: Lang) -> FileRow {
    let note = if !file.read {
        builtin(lang)
            .t("diagnostics.report.file.not_read")
            .to_string()
    } else if file.forms.is_empty() {
        builtin(lang)
            .t("diagnostics.report.file.no_hardware")
            .to_string()
    } else {
        let forms: Vec<String> = file
            .forms
            .iter()
            .map(|f| f.label(lang).to_string())
            .collect();
        format!(
            "{} ({})",
            forms.join(", "),
            file.encoding.as_deref().unwrap_or("?")
        )
    };
    FileRow {
        name: file.name.clone(),
        size: file.size,
        note,
    }
}

fn fingerprint_table(analysis: &Analysis, lang: Lang) -> FingerprintTable {
    let rows = Field::ALL
        .into_iter()
        .map(|field| {
            let cells: Vec<FingerprintCell> = analysis
                .snapshots
                .iter()
                .map(|s| match s.fingerprint.display(field) {
                    None => FingerprintCell {
                        value: builtin(lang).t("diagnostics.value.not_queried").to_string(),
                        state: "not-queried".into(),
                        source: None,
                        placeholder: false,
                    },
                    Some((value, source)) if value.is_empty() => FingerprintCell {
                        value: empty_text(lang).to_string(),
                        state: "empty".into(),
                        source: Some(source),
                        placeholder: false,
                    },
                    Some((value, source)) => FingerprintCell {
                        // Taken from the findings, so an administrator's extra placeholders count too.
                        placeholder: s.findings.iter().any(|f| {
                            f.code == FindingCode::PlaceholderHardwareId
                                && f.evidence.iter().any(|e| e.field == field.name())
                        }),
                        value,
                        state: "value".into(),
                        source: Some(source),
                    },
                })
                .collect();
            let read: Vec<String> = cells
                .iter()
                .filter(|c| c.state != "not-queried")
                .map(|c| {
                    if c.state == "empty" {
                        String::new()
                    } else {
                        c.value.trim().to_lowercase()
                    }
                })
                .collect();
            let changed = read.windows(2).any(|w| w[0] != w[1]);
            FingerprintRow {
                field: field.name().to_string(),
                label: field.label(lang).to_string(),
                cells,
                changed,
            }
        })
        .collect();
    FingerprintTable {
        columns: analysis
            .snapshots
            .iter()
            .map(|s| s.source.clone())
            .collect(),
        rows,
    }
}

/// The report's view model in one language.
pub fn build_view(analysis: &Analysis, lang: Lang) -> ReportView {
    let snapshots: Vec<SnapshotSection> = analysis
        .snapshots
        .iter()
        .map(|s| SnapshotSection {
            source: s.source.clone(),
            verdict: format!("{:?}", s.verdict).to_lowercase(),
            verdict_label: s.verdict.label(lang).to_string(),
            verdict_explanation: explanation(s, lang),
            verdict_evidence: s
                .verdict_evidence
                .iter()
                .map(|e| evidence_row(e, lang))
                .collect(),
            findings: s.findings.iter().map(|f| finding_row(f, lang)).collect(),
            files: s.files.iter().map(|f| file_row(f, lang)).collect(),
        })
        .collect();
    ReportView {
        lang: lang.code().to_string(),
        title: builtin(lang).t("diagnostics.report.title").to_string(),
        summary: snapshots
            .iter()
            .map(|s| format!("{}: {}", s.source, s.verdict_label))
            .collect(),
        fingerprint_table: fingerprint_table(analysis, lang),
        cross_findings: analysis
            .findings
            .iter()
            .map(|f| finding_row(f, lang))
            .collect(),
        labels: labels(lang),
        snapshots,
    }
}

fn push_finding(out: &mut String, row: &FindingRow, evidence_label: &str) {
    out.push_str(&format!("  [{}] {}\n", row.severity_label, row.code));
    out.push_str(&format!("    {}\n", row.message));
    if !row.evidence.is_empty() {
        out.push_str(&format!("    {evidence_label}:\n"));
        for e in &row.evidence {
            out.push_str(&format!(
                "      - {}: {} ({})\n",
                e.field, e.value, e.source
            ));
        }
    }
}

/// Columns a monospace font gives the text: Chinese characters and full-width punctuation take two,
/// so the zh table lines up too.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

/// The plain-text report (for mail and the CLI).
pub fn render_text(analysis: &Analysis, lang: Lang) -> String {
    let view = build_view(analysis, lang);
    let l = &view.labels;
    let mut out = String::new();
    out.push_str(&view.title);
    out.push('\n');
    out.push_str(&"=".repeat(view.title.chars().count().max(20)));
    out.push_str("\n\n");
    if view.snapshots.is_empty() {
        out.push_str(builtin(lang).t("diagnostics.report.none"));
        out.push('\n');
    }
    for (index, section) in view.snapshots.iter().enumerate() {
        out.push_str(&format!(
            "{} {}: {}\n",
            builtin(lang).t("diagnostics.report.snapshot"),
            index + 1,
            section.source
        ));
        out.push_str(&format!("{}: {}\n", l.verdict, section.verdict_label));
        out.push_str(&format!("{}: {}\n", l.why, section.verdict_explanation));
        for e in &section.verdict_evidence {
            out.push_str(&format!("  - {}: {} ({})\n", e.field, e.value, e.source));
        }
        if !section.findings.is_empty() {
            out.push_str(&format!("{}:\n", l.findings));
            for row in &section.findings {
                push_finding(&mut out, row, &l.evidence);
            }
        }
        if !section.files.is_empty() {
            out.push_str(&format!("{}:\n", l.files));
            for file in &section.files {
                out.push_str(&format!(
                    "  - {} ({} bytes): {}\n",
                    file.name, file.size, file.note
                ));
            }
        }
        out.push('\n');
    }
    if view.snapshots.len() > 1 {
        out.push_str(&format!("{}\n", l.fingerprint));
        let table = &view.fingerprint_table;
        let mut rows: Vec<Vec<String>> = vec![
            std::iter::once(l.field.clone())
                .chain(table.columns.iter().cloned())
                .collect(),
        ];
        for row in &table.rows {
            let mut line = vec![if row.changed {
                format!("* {}", row.label)
            } else {
                format!("  {}", row.label)
            }];
            line.extend(row.cells.iter().map(|c| c.value.clone()));
            rows.push(line);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| rows.iter().map(|r| display_width(&r[i])).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell}{}", " ".repeat(width - display_width(cell))))
                .collect();
            out.push_str(cells.join(" | ").trim_end());
            out.push('\n');
        }
        out.push_str(&format!("(* = {})\n\n", l.changed));
    }
    if !view.cross_findings.is_empty() {
        out.push_str(&format!("{}:\n", l.across));
        for row in &view.cross_findings {
            push_finding(&mut out, row, &l.evidence);
        }
    }
    out
}

/// A finding with its message in one language (the CLI's JSON).
#[derive(Debug, Serialize)]
pub struct FindingJson<'a> {
    /// `virtual-machine`…
    pub code: &'static str,
    /// `info`, `warning`, `error`.
    pub severity: super::Severity,
    /// The message in the chosen language.
    pub message: &'a str,
    /// The evidence.
    pub evidence: &'a [Evidence],
}

/// A snapshot with messages in one language (the CLI's JSON).
#[derive(Debug, Serialize)]
pub struct SnapshotJson<'a> {
    /// The input's name.
    pub source: &'a str,
    /// The fingerprint; a field never queried is `null`, one answered with nothing has `"value": ""`.
    pub fingerprint: &'a super::Fingerprint,
    /// `virtual`, `physical`, `unknown`.
    pub verdict: Verdict,
    /// The values the verdict rests on.
    pub verdict_evidence: &'a [Evidence],
    /// The findings.
    pub findings: Vec<FindingJson<'a>>,
    /// The files looked at.
    pub files: &'a [super::InputFile],
}

/// The whole analysis with messages in one language (the CLI's JSON).
#[derive(Debug, Serialize)]
pub struct AnalysisJson<'a> {
    /// One per input.
    pub snapshots: Vec<SnapshotJson<'a>>,
    /// Cross-snapshot findings.
    pub findings: Vec<FindingJson<'a>>,
}

fn finding_json(finding: &Finding, lang: Lang) -> FindingJson<'_> {
    FindingJson {
        code: finding.code.as_str(),
        severity: finding.severity,
        message: finding.message.get(lang),
        evidence: &finding.evidence,
    }
}

/// The CLI's JSON: `{"snapshots":[{"source","fingerprint","verdict","verdict_evidence","findings",
/// "files"}],"findings":[…]}`, each message in `lang`. Serialize it with `serde_json`.
pub fn json_view(analysis: &Analysis, lang: Lang) -> AnalysisJson<'_> {
    AnalysisJson {
        snapshots: analysis
            .snapshots
            .iter()
            .map(|s| SnapshotJson {
                source: &s.source,
                fingerprint: &s.fingerprint,
                verdict: s.verdict,
                verdict_evidence: &s.verdict_evidence,
                findings: s.findings.iter().map(|f| finding_json(f, lang)).collect(),
                files: &s.files,
            })
            .collect(),
        findings: analysis
            .findings
            .iter()
            .map(|f| finding_json(f, lang))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_characters_take_two_columns() {
        let cases = [
            ("abc", 3),
            ("主板", 4),
            ("（空）", 6),
            ("BIOS 版本", 9),
            ("", 0),
        ];
        for (text, width) in cases {
            assert_eq!(display_width(text), width, "{text}");
        }
    }

    #[test]
    fn an_empty_analysis_still_renders() {
        let analysis = Analysis {
            snapshots: Vec::new(),
            findings: Vec::new(),
        };
        for (lang, says) in [
            (Lang::En, "No snapshot could be analysed.\n"),
            (Lang::ZhCn, "没有可分析的快照。\n"),
        ] {
            let text = render_text(&analysis, lang);
            assert!(text.contains(says), "{text}");
        }
    }
}
