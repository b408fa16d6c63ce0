//! `systeminfo` output, English and Chinese.

use super::fingerprint::Field;
use super::reader::{FileScan, OutputForm, Target};

/// The labels systeminfo prints, in English and in Chinese, and the field each fills.
const LABELS: [(&str, Field); 8] = [
    ("System Manufacturer", Field::SystemManufacturer),
    ("系统制造商", Field::SystemManufacturer),
    ("System Model", Field::SystemModel),
    ("系统型号", Field::SystemModel),
    ("BIOS Version", Field::BiosVersion),
    ("BIOS 版本", Field::BiosVersion),
    ("Hyper-V Requirements", Field::HypervisorPresent),
    ("Hyper-V 要求", Field::HypervisorPresent),
];

/// What the "Hyper-V Requirements" block says when Windows runs on top of a hypervisor. Note that a
/// physical PC with Hyper-V or virtualisation-based security enabled says the same.
const HYPERVISOR_DETECTED: [&str; 2] = ["hypervisor has been detected", "已检测到虚拟机监控程序"];
/// What it says when no hypervisor runs: the list of virtualisation requirements.
const NO_HYPERVISOR: [&str; 4] = [
    "VM Monitor Mode Extensions",
    "Virtualization Enabled In Firmware",
    "虚拟机监视器模式扩展",
    "固件中已启用虚拟化",
];

fn split_label(line: &str) -> Option<(&str, &str)> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    let index = line.find([':', '：'])?;
    let separator_len = line[index..].chars().next().map_or(1, char::len_utf8);
    Some((line[..index].trim(), line[index + separator_len..].trim()))
}

/// Reads the hardware lines; other lines (and other outputs in the same text) are ignored.
pub(crate) fn parse(scan: &mut FileScan, lines: &[&str], offset: usize) {
    let mut found = false;
    for (index, line) in lines.iter().enumerate() {
        let Some((label, value)) = split_label(line) else {
            continue;
        };
        let Some(field) = LABELS
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(label))
            .map(|(_, f)| *f)
        else {
            continue;
        };
        let line_no = offset + index + 1;
        found = true;
        if field == Field::HypervisorPresent {
            // The answer may sit on the label line or on the indented lines below it.
            let block: Vec<&str> = std::iter::once(value)
                .chain(
                    lines[index + 1..]
                        .iter()
                        .take_while(|l| l.starts_with([' ', '\t']))
                        .copied(),
                )
                .collect();
            let block = block.join("\n").to_lowercase();
            let flag = if HYPERVISOR_DETECTED
                .iter()
                .any(|p| block.contains(&p.to_lowercase()))
            {
                "true"
            } else if NO_HYPERVISOR
                .iter()
                .any(|p| block.contains(&p.to_lowercase()))
            {
                "false"
            } else {
                continue;
            };
            scan.push(Target::Field(field), label, flag, line_no);
        } else {
            scan.push(Target::Field(field), label, value, line_no);
        }
    }
    if found {
        scan.add_form(OutputForm::Systeminfo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(Target, String)> {
        let lines: Vec<&str> = text.lines().collect();
        let mut scan = FileScan::default();
        parse(&mut scan, &lines, 0);
        scan.observations
            .into_iter()
            .map(|o| (o.target, o.value))
            .collect()
    }

    #[test]
    fn english_and_chinese_labels_fill_the_same_fields() {
        let cases = [
            (
                "System Manufacturer:       Dell Inc.",
                Field::SystemManufacturer,
                "Dell Inc.",
            ),
            (
                "系统制造商:               Dell Inc.",
                Field::SystemManufacturer,
                "Dell Inc.",
            ),
            (
                "System Model:              OptiPlex 7090",
                Field::SystemModel,
                "OptiPlex 7090",
            ),
            (
                "系统型号:                 OptiPlex 7090",
                Field::SystemModel,
                "OptiPlex 7090",
            ),
            (
                "BIOS 版本:                Dell Inc. 1.2.3, 2021/3/4",
                Field::BiosVersion,
                "Dell Inc. 1.2.3, 2021/3/4",
            ),
            (
                "系统制造商：  全角冒号",
                Field::SystemManufacturer,
                "全角冒号",
            ),
        ];
        for (line, field, value) in cases {
            assert_eq!(
                read(line),
                vec![(Target::Field(field), value.to_string())],
                "{line}"
            );
        }
    }

    #[test]
    fn hyper_v_block_tells_whether_a_hypervisor_runs() {
        let cases = [
            (
                "Hyper-V Requirements:      A hypervisor has been detected. Features required for Hyper-V will not be displayed.",
                Some("true"),
            ),
            (
                "Hyper-V 要求:              已检测到虚拟机监控程序。将不显示 Hyper-V 所需的功能。",
                Some("true"),
            ),
            (
                "Hyper-V Requirements:      VM Monitor Mode Extensions: Yes\n                           Virtualization Enabled In Firmware: Yes",
                Some("false"),
            ),
            (
                "Hyper-V 要求:              虚拟机监视器模式扩展: 是\n                           固件中已启用虚拟化: 是",
                Some("false"),
            ),
            ("Hyper-V Requirements:      something else", None),
        ];
        for (text, expected) in cases {
            let got = read(text)
                .into_iter()
                .find(|(t, _)| *t == Target::Field(Field::HypervisorPresent))
                .map(|(_, v)| v);
            assert_eq!(got.as_deref(), expected, "{text}");
        }
    }
}
