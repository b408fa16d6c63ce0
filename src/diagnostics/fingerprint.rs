//! The hardware identity of one snapshot, each field with the place it was read from.

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// One hardware-identity field an activation server may bind to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `Win32_ComputerSystem.Manufacturer` / `csproduct Vendor` / systeminfo "System Manufacturer".
    SystemManufacturer,
    /// `Win32_ComputerSystem.Model` / `csproduct Name` / systeminfo "System Model".
    SystemModel,
    /// `csproduct IdentifyingNumber` (the system serial number).
    SystemSerial,
    /// `csproduct UUID` (SMBIOS system UUID).
    SystemUuid,
    /// `Win32_BaseBoard.Manufacturer`.
    BaseboardManufacturer,
    /// `Win32_BaseBoard.Product`.
    BaseboardProduct,
    /// `Win32_BaseBoard.SerialNumber`.
    BaseboardSerial,
    /// `Win32_BIOS.Manufacturer`.
    BiosVendor,
    /// `Win32_BIOS.SMBIOSBIOSVersion` / systeminfo "BIOS Version".
    BiosVersion,
    /// `Win32_BIOS.SerialNumber`.
    BiosSerial,
    /// Whether Windows reports a running hypervisor (systeminfo, `HypervisorPresent`).
    HypervisorPresent,
}

impl Field {
    /// Every field, in the order reports show them.
    pub const ALL: [Field; 11] = [
        Field::SystemManufacturer,
        Field::SystemModel,
        Field::SystemSerial,
        Field::SystemUuid,
        Field::BaseboardManufacturer,
        Field::BaseboardProduct,
        Field::BaseboardSerial,
        Field::BiosVendor,
        Field::BiosVersion,
        Field::BiosSerial,
        Field::HypervisorPresent,
    ];

    /// The fields holding text (all but `hypervisor_present`).
    pub const TEXT: [Field; 10] = [
        Field::SystemManufacturer,
        Field::SystemModel,
        Field::SystemSerial,
        Field::SystemUuid,
        Field::BaseboardManufacturer,
        Field::BaseboardProduct,
        Field::BaseboardSerial,
        Field::BiosVendor,
        Field::BiosVersion,
        Field::BiosSerial,
    ];

    /// The snake_case name used in JSON and in the rules file.
    pub fn name(self) -> &'static str {
        match self {
            Field::SystemManufacturer => "system_manufacturer",
            Field::SystemModel => "system_model",
            Field::SystemSerial => "system_serial",
            Field::SystemUuid => "system_uuid",
            Field::BaseboardManufacturer => "baseboard_manufacturer",
            Field::BaseboardProduct => "baseboard_product",
            Field::BaseboardSerial => "baseboard_serial",
            Field::BiosVendor => "bios_vendor",
            Field::BiosVersion => "bios_version",
            Field::BiosSerial => "bios_serial",
            Field::HypervisorPresent => "hypervisor_present",
        }
    }

    /// Parses a snake_case field name as written in the rules file.
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name.trim())
    }

    /// A human label in the given language (the glossary's terms).
    pub fn label(self, lang: Lang) -> &'static str {
        let text = builtin(lang);
        match self {
            Field::SystemManufacturer => text.t("diagnostics.field.system_manufacturer"),
            Field::SystemModel => text.t("diagnostics.field.system_model"),
            Field::SystemSerial => text.t("diagnostics.field.system_serial"),
            Field::SystemUuid => text.t("diagnostics.field.system_uuid"),
            Field::BaseboardManufacturer => text.t("diagnostics.field.baseboard_manufacturer"),
            Field::BaseboardProduct => text.t("diagnostics.field.baseboard_product"),
            Field::BaseboardSerial => text.t("diagnostics.field.baseboard_serial"),
            Field::BiosVendor => text.t("diagnostics.field.bios_vendor"),
            Field::BiosVersion => text.t("diagnostics.field.bios_version"),
            Field::BiosSerial => text.t("diagnostics.field.bios_serial"),
            Field::HypervisorPresent => text.t("diagnostics.field.hypervisor_present"),
        }
    }
}

/// A value as read, with the file and 1-based line it came from.
///
/// An empty `value` means the field was queried and answered with nothing; a field never queried is
/// `None` in [`Fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading<T> {
    /// The value, trimmed.
    pub value: T,
    /// The file the value was read from (inside a bundle: `bundle.zip/dir/file.txt`).
    pub file: String,
    /// The 1-based line number in that file.
    pub line: usize,
}

impl<T> Reading<T> {
    /// `file:line`, the form evidence uses.
    pub fn source(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

impl Reading<String> {
    /// True when the field was queried but answered with nothing.
    pub fn is_empty(&self) -> bool {
        self.value.trim().is_empty()
    }
}

/// The hardware identity one device showed at one time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// See [`Field::SystemManufacturer`].
    pub system_manufacturer: Option<Reading<String>>,
    /// See [`Field::SystemModel`].
    pub system_model: Option<Reading<String>>,
    /// See [`Field::SystemSerial`].
    pub system_serial: Option<Reading<String>>,
    /// See [`Field::SystemUuid`].
    pub system_uuid: Option<Reading<String>>,
    /// See [`Field::BaseboardManufacturer`].
    pub baseboard_manufacturer: Option<Reading<String>>,
    /// See [`Field::BaseboardProduct`].
    pub baseboard_product: Option<Reading<String>>,
    /// See [`Field::BaseboardSerial`].
    pub baseboard_serial: Option<Reading<String>>,
    /// See [`Field::BiosVendor`].
    pub bios_vendor: Option<Reading<String>>,
    /// See [`Field::BiosVersion`].
    pub bios_version: Option<Reading<String>>,
    /// See [`Field::BiosSerial`].
    pub bios_serial: Option<Reading<String>>,
    /// See [`Field::HypervisorPresent`].
    pub hypervisor_present: Option<Reading<bool>>,
}

impl Fingerprint {
    /// The reading of a text field (`None` for `hypervisor_present` or when never queried).
    pub fn text(&self, field: Field) -> Option<&Reading<String>> {
        match field {
            Field::SystemManufacturer => self.system_manufacturer.as_ref(),
            Field::SystemModel => self.system_model.as_ref(),
            Field::SystemSerial => self.system_serial.as_ref(),
            Field::SystemUuid => self.system_uuid.as_ref(),
            Field::BaseboardManufacturer => self.baseboard_manufacturer.as_ref(),
            Field::BaseboardProduct => self.baseboard_product.as_ref(),
            Field::BaseboardSerial => self.baseboard_serial.as_ref(),
            Field::BiosVendor => self.bios_vendor.as_ref(),
            Field::BiosVersion => self.bios_version.as_ref(),
            Field::BiosSerial => self.bios_serial.as_ref(),
            Field::HypervisorPresent => None,
        }
    }

    fn text_slot(&mut self, field: Field) -> Option<&mut Option<Reading<String>>> {
        Some(match field {
            Field::SystemManufacturer => &mut self.system_manufacturer,
            Field::SystemModel => &mut self.system_model,
            Field::SystemSerial => &mut self.system_serial,
            Field::SystemUuid => &mut self.system_uuid,
            Field::BaseboardManufacturer => &mut self.baseboard_manufacturer,
            Field::BaseboardProduct => &mut self.baseboard_product,
            Field::BaseboardSerial => &mut self.baseboard_serial,
            Field::BiosVendor => &mut self.bios_vendor,
            Field::BiosVersion => &mut self.bios_version,
            Field::BiosSerial => &mut self.bios_serial,
            Field::HypervisorPresent => return None,
        })
    }

    /// The value shown for a field in tables: the text, `true`/`false`, or `None` when never queried.
    pub fn display(&self, field: Field) -> Option<(String, String)> {
        if field == Field::HypervisorPresent {
            return self
                .hypervisor_present
                .as_ref()
                .map(|r| (r.value.to_string(), r.source()));
        }
        self.text(field).map(|r| (r.value.clone(), r.source()))
    }

    /// Records a value. The first non-empty answer wins: several tools may report the same field, and
    /// an empty answer must not hide a real one read elsewhere in the same snapshot.
    pub fn record(&mut self, field: Field, value: &str, file: &str, line: usize) {
        let value = value.trim();
        if field == Field::HypervisorPresent {
            let Some(flag) = parse_flag(value) else {
                return;
            };
            if self
                .hypervisor_present
                .as_ref()
                .is_none_or(|r| !r.value && flag)
            {
                self.hypervisor_present = Some(Reading {
                    value: flag,
                    file: file.to_string(),
                    line,
                });
            }
            return;
        }
        let Some(slot) = self.text_slot(field) else {
            return;
        };
        let replace = match slot {
            None => true,
            Some(existing) => existing.is_empty() && !value.is_empty(),
        };
        if replace {
            *slot = Some(Reading {
                value: value.to_string(),
                file: file.to_string(),
                line,
            });
        }
    }

    /// True when no field at all was read.
    pub fn is_blank(&self) -> bool {
        Field::TEXT.iter().all(|f| self.text(*f).is_none()) && self.hypervisor_present.is_none()
    }
}

/// Reads `TRUE`/`FALSE` (wmic, PowerShell) and the words the systeminfo reader produces.
fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A value read from hardware output that is not (or could not be placed in) a fingerprint field:
/// e.g. `Win32_BIOS.Version` ("VRTUAL - 1"), or any value of a table whose WMI class was ambiguous.
/// Virtual-machine rules with `fields = ["any"]` also look at these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawReading {
    /// The WMI class aliases the value may belong to (`bios`; several when ambiguous).
    pub classes: Vec<String>,
    /// The property name as printed (`Version`).
    pub key: String,
    /// The value, trimmed.
    pub value: String,
    /// The file it was read from.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
}

impl RawReading {
    /// `bios.Version`, or `baseboard|bios.Manufacturer` when ambiguous.
    pub fn label(&self) -> String {
        format!("{}.{}", self.classes.join("|"), self.key)
    }

    /// `file:line`.
    pub fn source(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// A field or raw-reading name in plain words for the customer-readable report: a fingerprint field's
/// label, or `baseboard|bios.Manufacturer` as "Baseboard or BIOS manufacturer" / "主板或 BIOS 制造商".
/// Never returns the `|`-joined path or the internal class aliases.
pub fn plain_label(name: &str, lang: Lang) -> String {
    if let Some(field) = Field::parse(name) {
        return field.label(lang).to_string();
    }
    let text = builtin(lang);
    // Not a `class.Property` path (e.g. an error code a rule matched): shown as it is.
    let Some((classes, key)) = name.rsplit_once('.') else {
        return name.to_string();
    };
    let classes: Vec<&str> = classes
        .split('|')
        .filter(|c| !c.is_empty())
        .map(|c| plain_class(c, lang))
        .collect();
    let key_words = match key.to_ascii_lowercase().as_str() {
        "manufacturer" => text.t("diagnostics.plain.key.manufacturer").to_string(),
        "name" => text.t("diagnostics.plain.key.name").to_string(),
        "version" => text.t("diagnostics.plain.key.version").to_string(),
        "serialnumber" => text.t("diagnostics.plain.key.serialnumber").to_string(),
        "product" => text.t("diagnostics.plain.key.product").to_string(),
        "smbiosbiosversion" => text
            .t("diagnostics.plain.key.smbiosbiosversion")
            .to_string(),
        "vendor" => text.t("diagnostics.plain.key.vendor").to_string(),
        "identifyingnumber" => text
            .t("diagnostics.plain.key.identifyingnumber")
            .to_string(),
        "uuid" => "UUID".to_string(),
        "model" => text.t("diagnostics.plain.key.model").to_string(),
        "caption" => text.t("diagnostics.plain.key.caption").to_string(),
        "description" => text.t("diagnostics.plain.key.description").to_string(),
        "releasedate" => text.t("diagnostics.plain.key.releasedate").to_string(),
        _ => split_camel(key),
    };
    let joined = classes.join(text.t("diagnostics.plain.or"));
    let out = match (joined.is_empty(), lang) {
        (true, _) => key_words,
        (false, Lang::ZhCn) if joined.ends_with(|c: char| c.is_ascii_alphanumeric()) => {
            format!("{joined} {key_words}")
        }
        (false, Lang::ZhCn) => format!("{joined}{key_words}"),
        (false, _) => format!("{joined} {key_words}"),
    };
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => out,
    }
}

/// A WMI class alias (`csproduct`) in plain words ("computer product" / "计算机产品").
pub fn plain_class(alias: &str, lang: Lang) -> &'static str {
    let text = builtin(lang);
    match alias {
        "baseboard" => text.t("diagnostics.plain.class.baseboard"),
        "bios" => text.t("diagnostics.plain.class.bios"),
        "csproduct" => text.t("diagnostics.plain.class.csproduct"),
        "computersystem" => text.t("diagnostics.plain.class.computersystem"),
        "systemenclosure" => text.t("diagnostics.plain.class.systemenclosure"),
        _ => text.t("diagnostics.plain.class.other"),
    }
}

/// `ReleaseDate` → `release date`; runs of capitals (`SMBIOS`) stay together.
fn split_camel(key: &str) -> String {
    let chars: Vec<char> = key
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ')
        .collect();
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let prev_lower = i > 0 && chars[i - 1].is_lowercase();
        if *c == ' ' || (c.is_uppercase() && (prev_lower || next_lower) && !current.is_empty()) {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if *c == ' ' {
                continue;
            }
        }
        current.push(*c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .into_iter()
        .map(|w| {
            if w.chars().filter(|c| c.is_uppercase()).count() > 1 {
                w
            } else {
                w.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_non_empty_answer_wins_over_earlier_empty_and_later_values() {
        let cases: &[(&[&str], &str)] = &[
            (&["", "ABC"], "ABC"),
            (&["ABC", ""], "ABC"),
            (&["ABC", "DEF"], "ABC"),
            (&["", ""], ""),
        ];
        for (values, expected) in cases {
            let mut fp = Fingerprint::default();
            for (i, v) in values.iter().enumerate() {
                fp.record(Field::BaseboardSerial, v, "f.txt", i + 1);
            }
            assert_eq!(
                fp.baseboard_serial.as_ref().map(|r| r.value.as_str()),
                Some(*expected)
            );
        }
    }

    #[test]
    fn hypervisor_flag_accepts_wmic_words_and_ignores_noise() {
        let cases = [
            ("TRUE", Some(true)),
            ("False", Some(false)),
            ("maybe", None),
        ];
        for (text, expected) in cases {
            let mut fp = Fingerprint::default();
            fp.record(Field::HypervisorPresent, text, "f", 1);
            assert_eq!(fp.hypervisor_present.map(|r| r.value), expected, "{text}");
        }
    }

    #[test]
    fn raw_paths_become_plain_words() {
        assert_eq!(
            plain_label("baseboard|bios|systemenclosure.Manufacturer", Lang::En),
            "Baseboard or BIOS or system enclosure manufacturer"
        );
        assert_eq!(plain_label("bios.Version", Lang::ZhCn), "BIOS 版本");
        assert_eq!(
            plain_label("bios.ReleaseDate", Lang::En),
            "BIOS release date"
        );
        assert_eq!(
            plain_label("bios.SMBIOSMajorVersion", Lang::En),
            "BIOS SMBIOS major version"
        );
        assert_eq!(
            plain_label("baseboard_serial", Lang::En),
            "Baseboard serial number"
        );
    }

    #[test]
    fn field_names_round_trip() {
        for f in Field::ALL {
            assert_eq!(Field::parse(f.name()), Some(f));
        }
        assert_eq!(Field::parse("nonsense"), None);
    }
}
