//! Reads one decoded text file: cuts a pasted console transcript into commands and their output,
//! then hands each piece to the wmic, systeminfo and PowerShell parsers.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::classes::{ClassGuess, WmiClass, classify, is_generic_key};
use super::decode;
use super::fingerprint::Field;
use super::{inventory, powershell, systeminfo, wmic};

/// The kinds of output a file was recognised to contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputForm {
    /// `wmic … get …` in its default, column-aligned table form (or a PowerShell table).
    WmicTable,
    /// `wmic … /format:list` (`Key=Value`).
    WmicList,
    /// `systeminfo`, English or Chinese.
    Systeminfo,
    /// PowerShell `Format-List` (`Key : Value`).
    PowershellList,
    /// `msinfo32 /report` (System Information saved as text), English or Chinese.
    Msinfo32,
    /// PowerShell `Get-ComputerInfo`.
    ComputerInfo,
}

impl OutputForm {
    /// Plain words for the customer-readable report ("the output of wmic (table)").
    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        let text = crate::web::catalog::builtin(lang);
        match self {
            OutputForm::WmicTable => text.t("diagnostics.plain.form.wmic_table"),
            OutputForm::WmicList => text.t("diagnostics.plain.form.wmic_list"),
            OutputForm::Systeminfo => text.t("diagnostics.plain.form.systeminfo"),
            OutputForm::PowershellList => text.t("diagnostics.plain.form.powershell_list"),
            OutputForm::Msinfo32 => text.t("diagnostics.plain.form.msinfo32"),
            OutputForm::ComputerInfo => text.t("diagnostics.plain.form.computer_info"),
        }
    }
}

/// Where a value goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Field(Field),
    /// Not a fingerprint field, or the class was ambiguous: kept for the virtual-machine rules.
    Raw(Vec<WmiClass>),
}

/// One value read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observation {
    pub target: Target,
    pub key: String,
    pub value: String,
    /// 1-based.
    pub line: usize,
}

/// A table or record whose class could not be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ambiguity {
    pub line: usize,
    pub keys: Vec<String>,
    pub candidates: Vec<WmiClass>,
}

/// Everything read from one file.
#[derive(Debug, Default)]
pub(crate) struct FileScan {
    pub observations: Vec<Observation>,
    pub forms: Vec<OutputForm>,
    pub ambiguities: Vec<Ambiguity>,
}

impl FileScan {
    pub(crate) fn add_form(&mut self, form: OutputForm) {
        if !self.forms.contains(&form) {
            self.forms.push(form);
        }
    }

    /// Turns one record (the keys and values of one object) into observations, deciding its class.
    /// Returns whether the record said anything about hardware (so a stray `Domain: WORKGROUP` line
    /// in systeminfo does not count as PowerShell output).
    pub(crate) fn add_record(
        &mut self,
        ctx: &ClassContext,
        record: &[(String, String, usize)],
    ) -> bool {
        let before = (self.observations.len(), self.ambiguities.len());
        let Some(first_line) = record.first().map(|(_, _, l)| *l) else {
            return false;
        };
        let guess = match ctx.fixed {
            Some(class) => ClassGuess::Known(class),
            None => match record
                .iter()
                .find(|(k, _, _)| k.eq_ignore_ascii_case("CreationClassName"))
                .and_then(|(_, v, _)| WmiClass::from_name(v.trim()))
            {
                Some(class) => ClassGuess::Known(class),
                None => {
                    let keys: Vec<&str> = record.iter().map(|(k, _, _)| k.as_str()).collect();
                    classify(&keys, ctx.hint)
                }
            },
        };
        match guess {
            ClassGuess::Known(class) => {
                for (key, value, line) in record {
                    if is_generic_key(key) {
                        continue;
                    }
                    let target = match class.field_for(key) {
                        Some(field) => Target::Field(field),
                        None if value.trim().is_empty() || class.is_personal_property(key) => {
                            continue;
                        }
                        None => Target::Raw(vec![class]),
                    };
                    self.push(target, key, value, *line);
                }
            }
            ClassGuess::Ambiguous(candidates) => {
                self.ambiguities.push(Ambiguity {
                    line: first_line,
                    keys: record.iter().map(|(k, _, _)| k.clone()).collect(),
                    candidates: candidates.clone(),
                });
                for (key, value, line) in record {
                    let personal = candidates.iter().any(|c| c.is_personal_property(key));
                    if is_generic_key(key) || personal || value.trim().is_empty() {
                        continue;
                    }
                    self.push(Target::Raw(candidates.clone()), key, value, *line);
                }
            }
            ClassGuess::Unrelated => {}
        }
        (self.observations.len(), self.ambiguities.len()) != before
    }

    pub(crate) fn push(&mut self, target: Target, key: &str, value: &str, line: usize) {
        self.observations.push(Observation {
            target,
            key: key.to_string(),
            value: value.trim().to_string(),
            line,
        });
    }
}

/// What is known about the class of the output being parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClassContext {
    /// Named by the command line: every record belongs to it.
    pub fixed: Option<WmiClass>,
    /// Suggested by the file name: decides between classes the keys leave open.
    pub hint: Option<WmiClass>,
    /// The properties the command asked for (`wmic baseboard get manufacturer,product`).
    pub requested: Vec<String>,
}

/// The command a console line ran.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// Output without a command line (a redirected file).
    Unknown,
    /// `wmic <alias> get …`; `class` is `None` for classes that say nothing about hardware.
    Wmic {
        class: Option<WmiClass>,
        requested: Vec<String>,
    },
    Systeminfo,
    PowerShell {
        class: Option<WmiClass>,
    },
    /// `Get-ComputerInfo` (or its alias `gin`).
    ComputerInfo,
    /// Some other command (`dir`, `slmgr /dlv`): its output is not hardware identity.
    Other,
}

// The `expect`s below compile literal patterns that the unit tests exercise: they cannot fail.
static PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:PS\s+)?[A-Za-z]:\\[^>]*>\s*(.*)$").expect("valid prompt regex")
});
static WMIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^wmic(?:\.exe)?\s+(?:/\S+\s+)*(?:path\s+(\w+)|(\w+))(?:\s+get\b([^/>|]*))?")
        .expect("valid wmic regex")
});
static COMPUTER_INFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:get-computerinfo|gin)\b").expect("valid Get-ComputerInfo regex")
});
static POWERSHELL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:get-ciminstance|get-wmiobject|gcim|gwmi)\b(?:.*?\b(win32_\w+))?")
        .expect("valid PowerShell regex")
});

fn parse_command(line: &str) -> Command {
    let line = line.trim();
    if let Some(caps) = WMIC.captures(line) {
        let name = caps
            .get(1)
            .or_else(|| caps.get(2))
            .map_or("", |m| m.as_str());
        let requested = caps
            .get(3)
            .map(|m| {
                m.as_str()
                    .split([',', ' ', '\t'])
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        return Command::Wmic {
            class: WmiClass::from_name(name),
            requested,
        };
    }
    if line.to_ascii_lowercase().starts_with("systeminfo") {
        return Command::Systeminfo;
    }
    if COMPUTER_INFO.is_match(line) {
        return Command::ComputerInfo;
    }
    if let Some(caps) = POWERSHELL.captures(line) {
        return Command::PowerShell {
            class: caps.get(1).and_then(|m| WmiClass::from_name(m.as_str())),
        };
    }
    Command::Other
}

/// Reads one file. `file_name` may hint at the class of headerless output.
pub(crate) fn scan(file_name: &str, text: &str) -> FileScan {
    let lines = decode::lines(text);
    let hint = WmiClass::hinted_by_file_name(file_name);
    let mut scan = FileScan::default();
    let mut start = 0;
    let mut command = Command::Unknown;
    let mut command_line = 0;
    for (index, line) in lines.iter().enumerate() {
        if let Some(caps) = PROMPT.captures(line) {
            read_segment(
                &mut scan,
                &command,
                command_line,
                &lines[start..index],
                start,
                hint,
            );
            let text = caps.get(1).map_or("", |m| m.as_str());
            command = if text.trim().is_empty() {
                Command::Other
            } else {
                parse_command(text)
            };
            command_line = index + 1;
            start = index + 1;
        }
    }
    read_segment(
        &mut scan,
        &command,
        command_line,
        &lines[start..],
        start,
        hint,
    );
    scan
}

/// Parses the output of one command; `offset` is the index of its first line in the file.
fn read_segment(
    scan: &mut FileScan,
    command: &Command,
    command_line: usize,
    lines: &[&str],
    offset: usize,
    hint: Option<WmiClass>,
) {
    match command {
        Command::Unknown => {
            let ctx = ClassContext {
                fixed: None,
                hint,
                requested: Vec::new(),
            };
            // msinfo32's tab-separated items, else systeminfo's labels (they share some words).
            if !inventory::parse_msinfo(scan, lines, offset) {
                systeminfo::parse(scan, lines, offset);
            }
            // Get-ComputerInfo is one object of named properties: not a WMI class's record.
            let computer_info = inventory::parse_computer_info(scan, lines, offset);
            wmic::parse_list(scan, &ctx, lines, offset);
            if !computer_info {
                powershell::parse_list(scan, &ctx, lines, offset);
            }
            wmic::parse_table(scan, &ctx, lines, offset);
        }
        Command::Wmic {
            class: Some(class),
            requested,
        } => {
            let ctx = ClassContext {
                fixed: Some(*class),
                hint,
                requested: requested.clone(),
            };
            let before = scan.observations.len();
            wmic::parse_list(scan, &ctx, lines, offset);
            wmic::parse_table(scan, &ctx, lines, offset);
            let no_instance = lines
                .iter()
                .any(|l| l.trim().eq_ignore_ascii_case("No Instance(s) Available."));
            if scan.observations.len() == before && no_instance {
                // The query ran and the class has no instance: every requested property is
                // answered with nothing, which is exactly what "missing" means for activation.
                let record: Vec<(String, String, usize)> = requested
                    .iter()
                    .map(|k| (k.clone(), String::new(), command_line))
                    .collect();
                if scan.add_record(&ctx, &record) {
                    scan.add_form(OutputForm::WmicTable);
                }
            }
        }
        Command::Systeminfo => systeminfo::parse(scan, lines, offset),
        Command::ComputerInfo => {
            inventory::parse_computer_info(scan, lines, offset);
        }
        Command::PowerShell { class } => {
            let ctx = ClassContext {
                fixed: *class,
                hint,
                requested: Vec::new(),
            };
            powershell::parse_list(scan, &ctx, lines, offset);
            wmic::parse_table(scan, &ctx, lines, offset);
        }
        Command::Wmic { class: None, .. } | Command::Other => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_commands_are_recognised() {
        use WmiClass::*;
        let cases = [
            (
                "wmic baseboard get serialnumber",
                Command::Wmic {
                    class: Some(Baseboard),
                    requested: vec!["serialnumber".into()],
                },
            ),
            (
                "WMIC csproduct get name,identifyingnumber /format:list",
                Command::Wmic {
                    class: Some(CsProduct),
                    requested: vec!["name".into(), "identifyingnumber".into()],
                },
            ),
            (
                "wmic path Win32_BIOS get SerialNumber",
                Command::Wmic {
                    class: Some(Bios),
                    requested: vec!["SerialNumber".into()],
                },
            ),
            (
                "wmic bios list full",
                Command::Wmic {
                    class: Some(Bios),
                    requested: vec![],
                },
            ),
            (
                "wmic os get caption",
                Command::Wmic {
                    class: None,
                    requested: vec!["caption".into()],
                },
            ),
            ("systeminfo", Command::Systeminfo),
            (
                "Get-CimInstance -ClassName Win32_BaseBoard | Format-List *",
                Command::PowerShell {
                    class: Some(Baseboard),
                },
            ),
            (
                "gwmi win32_computersystemproduct | fl",
                Command::PowerShell {
                    class: Some(CsProduct),
                },
            ),
            ("slmgr /dlv", Command::Other),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_command(line), expected, "{line}");
        }
    }

    #[test]
    fn prompts_are_recognised_in_cmd_and_powershell() {
        let cases = [
            (
                r"C:\Users\admin>wmic bios get serialnumber",
                Some("wmic bios get serialnumber"),
            ),
            (r"PS C:\Windows\system32> systeminfo", Some("systeminfo")),
            (r"C:\>", Some("")),
            ("Manufacturer  Product", None),
        ];
        for (line, expected) in cases {
            let got = PROMPT
                .captures(line)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str());
            assert_eq!(got, expected, "{line}");
        }
    }

    #[test]
    fn a_query_without_instances_answers_every_requested_property_with_nothing() {
        let text =
            "C:\\>wmic baseboard get serialnumber,manufacturer\r\nNo Instance(s) Available.\r\n";
        let scan = scan("x.txt", text);
        let fields: Vec<(Target, &str)> = scan
            .observations
            .iter()
            .map(|o| (o.target.clone(), o.value.as_str()))
            .collect();
        assert_eq!(
            fields,
            vec![
                (Target::Field(Field::BaseboardSerial), ""),
                (Target::Field(Field::BaseboardManufacturer), "")
            ]
        );
    }
}
