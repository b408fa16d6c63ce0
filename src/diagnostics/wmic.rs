//! `wmic` output: the default table form (columns aligned to the header's column starts) and
//! `/format:list` (`Key=Value`). PowerShell tables (header underlined with dashes) share the table
//! parser.

use std::sync::LazyLock;

use regex::Regex;

use super::classes::{is_generic_key, is_known_property};
use super::reader::{ClassContext, FileScan, OutputForm};

// The `expect`s below compile literal patterns that the unit tests exercise: they cannot fail.
static LIST_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$").expect("valid list regex"));
static IDENTIFIER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").expect("valid identifier regex"));
static WIDE_GAP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s{2,}|\t").expect("valid gap regex"));

/// Whether `key` can be a property in this context.
pub(crate) fn accepts_key(ctx: &ClassContext, key: &str) -> bool {
    match ctx.fixed {
        Some(class) => {
            class.has_property(key)
                || ctx.requested.iter().any(|r| r.eq_ignore_ascii_case(key))
                || is_generic_key(key)
        }
        None => is_known_property(key) || is_generic_key(key),
    }
}

/// `Key=Value` records; a blank line or any other line ends a record.
pub(crate) fn parse_list(scan: &mut FileScan, ctx: &ClassContext, lines: &[&str], offset: usize) {
    let mut record: Vec<(String, String, usize)> = Vec::new();
    let mut found = false;
    for (index, line) in lines.iter().enumerate() {
        let parsed = LIST_LINE
            .captures(line)
            .map(|c| (c[1].to_string(), c[2].trim().to_string()))
            .filter(|(k, _)| accepts_key(ctx, k));
        match parsed {
            Some((key, value)) => record.push((key, value, offset + index + 1)),
            None if !record.is_empty() => {
                found |= scan.add_record(ctx, &record);
                record.clear();
            }
            None => {}
        }
    }
    if !record.is_empty() {
        found |= scan.add_record(ctx, &record);
    }
    if found {
        scan.add_form(OutputForm::WmicList);
    }
}

/// A header line: identifiers only, each a property the context accepts, starting at column 0.
fn is_header(ctx: &ClassContext, line: &str) -> bool {
    if line.starts_with([' ', '\t']) {
        return false;
    }
    let tokens: Vec<&str> = line.split_whitespace().collect();
    // Generic keys alone ("Caption", "Status") say nothing about hardware unless a command asked.
    let specific = ctx.fixed.is_some() || tokens.iter().any(|t| !is_generic_key(t));
    specific
        && !tokens.is_empty()
        && tokens
            .iter()
            .all(|t| IDENTIFIER.is_match(t) && accepts_key(ctx, t))
}

/// A PowerShell table puts a line of dashes under the header; its groups mark the columns.
fn is_dash_rule(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && trimmed.chars().all(|c| c == '-' || c == ' ')
}

/// Column starts (in characters) and names.
fn columns(header: &str, rule: Option<&str>) -> Vec<(usize, String)> {
    let names: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    let starts = token_starts(rule.unwrap_or(header));
    if starts.len() == names.len() {
        starts.into_iter().zip(names).collect()
    } else {
        token_starts(header).into_iter().zip(names).collect()
    }
}

fn token_starts(line: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut previous_space = true;
    for (i, c) in line.chars().enumerate() {
        if !c.is_whitespace() && previous_space {
            starts.push(i);
        }
        previous_space = c.is_whitespace();
    }
    starts
}

/// Splits a value row by the header's column starts. Values may contain single spaces ("HVM domU"),
/// so the columns, not the spaces, decide. When the row does not line up (re-typed or re-flowed
/// text), runs of two or more spaces are used, and the row is skipped if even that does not give one
/// value per column: a wrong column is worse than none.
pub(crate) fn split_row(row: &str, cols: &[(usize, String)]) -> Option<Vec<String>> {
    let chars: Vec<char> = row.chars().collect();
    let aligned = cols
        .iter()
        .skip(1)
        .all(|(start, _)| *start >= chars.len() || chars[start - 1].is_whitespace());
    if aligned {
        let values = cols
            .iter()
            .enumerate()
            .map(|(i, (start, _))| {
                let end = cols
                    .get(i + 1)
                    .map_or(chars.len(), |(next, _)| *next)
                    .min(chars.len());
                let start = (*start).min(end);
                chars[start..end]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string()
            })
            .collect();
        return Some(values);
    }
    if cols.len() == 1 {
        return Some(vec![row.trim().to_string()]);
    }
    let parts: Vec<String> = WIDE_GAP.split(row.trim()).map(str::to_string).collect();
    (parts.len() == cols.len()).then_some(parts)
}

/// Tables: a header, then one row per instance up to the first blank line. A blank line right after
/// the header is wmic's way of printing a property that has no value.
pub(crate) fn parse_table(scan: &mut FileScan, ctx: &ClassContext, lines: &[&str], offset: usize) {
    let mut index = 0;
    let mut found = false;
    while index < lines.len() {
        if !is_header(ctx, lines[index]) {
            index += 1;
            continue;
        }
        let header_line = offset + index + 1;
        let rule = lines.get(index + 1).copied().filter(|l| is_dash_rule(l));
        let cols = columns(lines[index], rule);
        let mut next = index + 1 + usize::from(rule.is_some());
        let mut rows = 0;
        while next < lines.len() && !lines[next].trim().is_empty() && !is_header(ctx, lines[next]) {
            if let Some(values) = split_row(lines[next], &cols) {
                let record: Vec<(String, String, usize)> = cols
                    .iter()
                    .zip(values)
                    .map(|((_, name), value)| (name.clone(), value, offset + next + 1))
                    .collect();
                found |= scan.add_record(ctx, &record);
            }
            rows += 1;
            next += 1;
        }
        if rows == 0 {
            let record: Vec<(String, String, usize)> = cols
                .iter()
                .map(|(_, name)| (name.clone(), String::new(), header_line))
                .collect();
            found |= scan.add_record(ctx, &record);
        }
        index = next.max(index + 1);
    }
    if found {
        scan.add_form(OutputForm::WmicTable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::classes::WmiClass;

    #[test]
    fn rows_split_at_the_header_column_starts() {
        let cases: &[(&str, &str, Option<Vec<&str>>)] = &[
            (
                "Manufacturer  Name      Version",
                "Xen           HVM domU  4.2.amazon",
                Some(vec!["Xen", "HVM domU", "4.2.amazon"]),
            ),
            (
                "Name                 Vendor",
                "System Product Name  System manufacturer",
                Some(vec!["System Product Name", "System manufacturer"]),
            ),
            (
                "Manufacturer  Product  SerialNumber",
                "HP            8767",
                Some(vec!["HP", "8767", ""]),
            ),
            ("SerialNumber", "  ABC 123  ", Some(vec!["ABC 123"])),
            // re-flowed: columns no longer line up, but double spaces still separate the values
            (
                "Manufacturer  Product",
                "Dell Inc.  0X1234",
                Some(vec!["Dell Inc.", "0X1234"]),
            ),
            // re-flowed and ambiguous: refused
            (
                "Manufacturer  Product  SerialNumber",
                "Dell Inc. 0X1234",
                None,
            ),
        ];
        for (header, row, expected) in cases {
            let cols = columns(header, None);
            let got = split_row(row, &cols);
            let expected = expected
                .as_ref()
                .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, expected, "{row}");
        }
    }

    #[test]
    fn powershell_dash_rules_define_columns() {
        let cols = columns("Manufacturer Model", Some("------------ -----"));
        assert_eq!(
            cols,
            vec![(0, "Manufacturer".to_string()), (13, "Model".to_string())]
        );
        assert!(is_dash_rule("------------ -----"));
        assert!(!is_dash_rule("   "));
    }

    #[test]
    fn headers_need_known_or_requested_properties() {
        let free = ClassContext::default();
        let fixed = ClassContext {
            fixed: Some(WmiClass::Baseboard),
            hint: None,
            requested: vec!["Status".into()],
        };
        let cases = [
            (&free, "SerialNumber", true),
            (&free, "IdentifyingNumber  Name", true),
            (&free, "Status", false),
            (&fixed, "Status", true),
            (&free, "HP            8767", false),
            (&free, "  SerialNumber", false),
            (&free, "", false),
        ];
        for (ctx, line, expected) in cases {
            assert_eq!(is_header(ctx, line), expected, "{line}");
        }
    }
}
