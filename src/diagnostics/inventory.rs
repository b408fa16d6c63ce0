//! Two whole-machine inventories customers send instead of `wmic` output:
//!
//! - `msinfo32 /report FILE` (System Information saved as text): UTF-16 with a byte-order mark
//!   (decoded before this reader), sections in brackets (`[System Summary]`), and one
//!   `Item<TAB>Value` line per fact, labelled in the system's language (English and Simplified
//!   Chinese here). When Windows runs on a hypervisor the Hyper-V lines are replaced by one item,
//!   "A hypervisor has been detected…", with an empty value.
//! - PowerShell `Get-ComputerInfo` (`Key : Value`, one object): `CsManufacturer`, `CsModel`,
//!   `BiosManufacturer`, `BiosSMBIOSBIOSVersion`, `BiosSeralNumber` (Windows spells it so; the
//!   correct spelling is read too), `HyperVisorPresent`.
//!
//! Both fill the same fingerprint fields as the other readers.

use super::fingerprint::Field;
use super::reader::{FileScan, OutputForm, Target};

/// msinfo32 items, English and Chinese, and the field each fills.
const MSINFO_ITEMS: [(&str, Field); 14] = [
    ("System Manufacturer", Field::SystemManufacturer),
    ("系统制造商", Field::SystemManufacturer),
    ("System Model", Field::SystemModel),
    ("系统型号", Field::SystemModel),
    ("BaseBoard Manufacturer", Field::BaseboardManufacturer),
    ("主板制造商", Field::BaseboardManufacturer),
    ("BaseBoard Product", Field::BaseboardProduct),
    ("主板产品", Field::BaseboardProduct),
    ("BIOS Version/Date", Field::BiosVersion),
    ("BIOS 版本/日期", Field::BiosVersion),
    (
        "Hyper-V - VM Monitor Mode Extensions",
        Field::HypervisorPresent,
    ),
    ("Hyper-V - 虚拟机监视器模式扩展", Field::HypervisorPresent),
    ("A hypervisor has been detected.", Field::HypervisorPresent),
    ("已检测到虚拟机监控程序。", Field::HypervisorPresent),
];

/// `Get-ComputerInfo` properties and the field each fills.
const COMPUTER_INFO: [(&str, Field); 7] = [
    ("CsManufacturer", Field::SystemManufacturer),
    ("CsModel", Field::SystemModel),
    ("BiosManufacturer", Field::BiosVendor),
    ("BiosSMBIOSBIOSVersion", Field::BiosVersion),
    ("BiosSeralNumber", Field::BiosSerial),
    ("BiosSerialNumber", Field::BiosSerial),
    ("HyperVisorPresent", Field::HypervisorPresent),
];

/// The msinfo32 item a line starts with, and its value.
fn msinfo_item(line: &str) -> Option<(&'static str, Field, &str)> {
    let (label, value) = match line.split_once('\t') {
        Some((l, v)) => (l.trim(), v.trim()),
        None => (line.trim(), ""),
    };
    MSINFO_ITEMS.iter().find_map(|(item, field)| {
        // The hypervisor notice goes on with "Features required for Hyper-V will not be displayed."
        let matches = if *field == Field::HypervisorPresent && item.ends_with(['.', '。']) {
            label.starts_with(item)
        } else {
            label.eq_ignore_ascii_case(item)
        };
        matches.then_some((*item, *field, value))
    })
}

/// Reads msinfo32 items; returns whether any was found. Requires a tab-separated item (or the
/// hypervisor notice) so that other outputs with the same words are left to their own readers.
pub(crate) fn parse_msinfo(scan: &mut FileScan, lines: &[&str], offset: usize) -> bool {
    let mut found = false;
    for (index, line) in lines.iter().enumerate() {
        let Some((item, field, value)) = msinfo_item(line) else {
            continue;
        };
        let tabbed = line.contains('\t');
        let notice = item.ends_with(['.', '。']);
        if !tabbed && !notice {
            continue;
        }
        let value = if field == Field::HypervisorPresent {
            if notice {
                "true"
            } else if ["yes", "是"].contains(&value.to_lowercase().as_str()) {
                // The Hyper-V requirements are listed only when no hypervisor runs.
                "false"
            } else {
                continue;
            }
        } else {
            value
        };
        found = true;
        scan.push(Target::Field(field), item, value, offset + index + 1);
    }
    if found {
        scan.add_form(OutputForm::Msinfo32);
    }
    found
}

/// Reads `Get-ComputerInfo` properties; returns whether any was found.
pub(crate) fn parse_computer_info(scan: &mut FileScan, lines: &[&str], offset: usize) -> bool {
    // Only Get-ComputerInfo prefixes its properties (`Cs…`, `Bios…`); Win32_ComputerSystem's
    // own `HypervisorPresent` in a Format-List is that class's record, read by the list reader.
    let own_key = |line: &&str| {
        line.split_once(':').is_some_and(|(k, _)| {
            let k = k.trim();
            (k.starts_with("Cs") || k.starts_with("Bios"))
                && COMPUTER_INFO.iter().any(|(p, _)| p.eq_ignore_ascii_case(k))
        })
    };
    if !lines.iter().any(own_key) {
        return false;
    }
    let mut found = false;
    for (index, line) in lines.iter().enumerate() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        let Some(field) = COMPUTER_INFO
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, f)| *f)
        else {
            continue;
        };
        let value = value.trim();
        let value = if field == Field::HypervisorPresent {
            match value.to_lowercase().as_str() {
                "true" => "true",
                "false" => "false",
                _ => continue,
            }
        } else {
            value
        };
        found = true;
        scan.push(Target::Field(field), key, value, offset + index + 1);
    }
    if found {
        scan.add_form(OutputForm::ComputerInfo);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(scan: &FileScan) -> Vec<(Field, String)> {
        scan.observations
            .iter()
            .filter_map(|o| match &o.target {
                Target::Field(f) => Some((*f, o.value.clone())),
                Target::Raw(_) => None,
            })
            .collect()
    }

    #[test]
    fn msinfo_items_in_english_and_chinese_fill_the_fields() {
        let text = "System Information report written at: 12/06/26 10:00:00\n[System Summary]\n\nItem\tValue\t\nSystem Manufacturer\tVMware, Inc.\t\nSystem Model\tVMware7,1\t\nBaseBoard Manufacturer\tIntel Corporation\t\n主板产品\t440BX Desktop Reference Platform\t\nA hypervisor has been detected. Features required for Hyper-V will not be displayed.\t\t\n";
        let lines: Vec<&str> = text.lines().collect();
        let mut scan = FileScan::default();
        assert!(parse_msinfo(&mut scan, &lines, 0));
        assert_eq!(
            fields(&scan),
            vec![
                (Field::SystemManufacturer, "VMware, Inc.".into()),
                (Field::SystemModel, "VMware7,1".into()),
                (Field::BaseboardManufacturer, "Intel Corporation".into()),
                (
                    Field::BaseboardProduct,
                    "440BX Desktop Reference Platform".into()
                ),
                (Field::HypervisorPresent, "true".into()),
            ]
        );
        assert_eq!(scan.forms, vec![OutputForm::Msinfo32]);
    }

    #[test]
    fn systeminfo_lines_are_not_taken_for_msinfo_items() {
        let lines = ["System Manufacturer:       Dell Inc."];
        let mut scan = FileScan::default();
        assert!(!parse_msinfo(&mut scan, &lines, 0));
    }

    #[test]
    fn computer_info_reads_the_misspelled_serial_and_the_hypervisor_flag() {
        let lines = [
            "CsManufacturer          : VMware, Inc.",
            "CsModel                 : VMware Virtual Platform",
            "BiosSeralNumber         : VMware-56 4d 2b 7a",
            "HyperVisorPresent       : True",
            "OsName                  : Microsoft Windows 10 IoT Enterprise",
        ];
        let mut scan = FileScan::default();
        assert!(parse_computer_info(&mut scan, &lines, 0));
        assert_eq!(
            fields(&scan),
            vec![
                (Field::SystemManufacturer, "VMware, Inc.".into()),
                (Field::SystemModel, "VMware Virtual Platform".into()),
                (Field::BiosSerial, "VMware-56 4d 2b 7a".into()),
                (Field::HypervisorPresent, "true".into()),
            ]
        );
    }
}
