//! PowerShell `Get-CimInstance … | Format-List` / `Get-WmiObject … | fl` output (`Key : Value`).

use std::sync::LazyLock;

use regex::Regex;

use super::reader::{ClassContext, FileScan, OutputForm};
use super::wmic::accepts_key;

// The `expect`s below compile literal patterns that the unit tests exercise: they cannot fail.
static PROPERTY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:(?:\s(.*))?$").expect("valid Format-List regex")
});

/// Records are separated by blank lines. Indented lines continue a wrapped value and are skipped
/// without ending the record.
pub(crate) fn parse_list(scan: &mut FileScan, ctx: &ClassContext, lines: &[&str], offset: usize) {
    let mut record: Vec<(String, String, usize)> = Vec::new();
    let mut found = false;
    let mut flush = |scan: &mut FileScan, record: &mut Vec<(String, String, usize)>| {
        if !record.is_empty() {
            found |= scan.add_record(ctx, record);
            record.clear();
        }
    };
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            flush(scan, &mut record);
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        match PROPERTY_LINE.captures(line) {
            Some(caps) if accepts_key(ctx, &caps[1]) => {
                let value = caps.get(2).map_or("", |m| m.as_str()).trim();
                record.push((caps[1].to_string(), value.to_string(), offset + index + 1));
            }
            _ => flush(scan, &mut record),
        }
    }
    flush(scan, &mut record);
    if found {
        scan.add_form(OutputForm::PowershellList);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::fingerprint::Field;
    use crate::diagnostics::reader::Target;

    #[test]
    fn format_list_records_are_classified_by_their_keys() {
        let text = "\nSMBIOSBIOSVersion : 1.15.0\nManufacturer      : Dell Inc.\nName              : 1.15.0\nSerialNumber      : 7XK2QH3\nVersion           : DELL   - 1072009\n\n";
        let lines: Vec<&str> = text.lines().collect();
        let mut scan = FileScan::default();
        parse_list(&mut scan, &ClassContext::default(), &lines, 0);
        let got: Vec<(Target, &str, usize)> = scan
            .observations
            .iter()
            .map(|o| (o.target.clone(), o.value.as_str(), o.line))
            .collect();
        let raw = Target::Raw(vec![crate::diagnostics::classes::WmiClass::Bios]);
        assert_eq!(
            got,
            vec![
                (Target::Field(Field::BiosVersion), "1.15.0", 2),
                (Target::Field(Field::BiosVendor), "Dell Inc.", 3),
                (raw.clone(), "1.15.0", 4),
                (Target::Field(Field::BiosSerial), "7XK2QH3", 5),
                (raw, "DELL   - 1072009", 6),
            ]
        );
        assert_eq!(scan.forms, vec![OutputForm::PowershellList]);
    }

    #[test]
    fn empty_values_are_kept_as_answered_with_nothing() {
        let lines = ["Manufacturer : ", "Product      :", "SerialNumber : "];
        let mut scan = FileScan::default();
        parse_list(&mut scan, &ClassContext::default(), &lines, 10);
        let got: Vec<(Target, &str)> = scan
            .observations
            .iter()
            .map(|o| (o.target.clone(), o.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Target::Field(Field::BaseboardManufacturer), ""),
                (Target::Field(Field::BaseboardProduct), ""),
                (Target::Field(Field::BaseboardSerial), ""),
            ]
        );
    }
}
