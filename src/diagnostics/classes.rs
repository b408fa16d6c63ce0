//! The WMI classes whose output describes hardware identity, and how their properties map to
//! fingerprint fields.

use super::fingerprint::Field;

/// A WMI class, named by its `wmic` alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum WmiClass {
    Baseboard,
    Bios,
    CsProduct,
    ComputerSystem,
    SystemEnclosure,
}

impl WmiClass {
    pub const ALL: [WmiClass; 5] = [
        WmiClass::Baseboard,
        WmiClass::Bios,
        WmiClass::CsProduct,
        WmiClass::ComputerSystem,
        WmiClass::SystemEnclosure,
    ];

    /// The `wmic` alias (`wmic baseboard get …`).
    pub fn alias(self) -> &'static str {
        match self {
            WmiClass::Baseboard => "baseboard",
            WmiClass::Bios => "bios",
            WmiClass::CsProduct => "csproduct",
            WmiClass::ComputerSystem => "computersystem",
            WmiClass::SystemEnclosure => "systemenclosure",
        }
    }

    /// The CIM class name (`Get-CimInstance Win32_BaseBoard`).
    pub fn wmi_name(self) -> &'static str {
        match self {
            WmiClass::Baseboard => "Win32_BaseBoard",
            WmiClass::Bios => "Win32_BIOS",
            WmiClass::CsProduct => "Win32_ComputerSystemProduct",
            WmiClass::ComputerSystem => "Win32_ComputerSystem",
            WmiClass::SystemEnclosure => "Win32_SystemEnclosure",
        }
    }

    /// Resolves a `wmic` alias or a `Win32_…` class name.
    pub fn from_name(name: &str) -> Option<WmiClass> {
        WmiClass::ALL.into_iter().find(|c| {
            c.alias().eq_ignore_ascii_case(name) || c.wmi_name().eq_ignore_ascii_case(name)
        })
    }

    /// The properties a person is likely to query. Used to recognise headers and keys and to tell
    /// classes apart when no command line names the class.
    fn properties(self) -> &'static [&'static str] {
        match self {
            WmiClass::Baseboard => &[
                // `Model` exists on Win32_BaseBoard and Win32_SystemEnclosure too but is nearly always
                // empty and never asked for; listing it would make every `Manufacturer Model` table
                // (the computersystem query) ambiguous.
                "Manufacturer",
                "Product",
                "SerialNumber",
                "Version",
                "Name",
                "SKU",
                "Tag",
                "PartNumber",
                "HostingBoard",
                "HotSwappable",
                "Removable",
                "Replaceable",
                "RequiresDaughterBoard",
                "PoweredOn",
                "ConfigOptions",
                "OtherIdentifyingInfo",
                "SlotLayout",
                "SpecialRequirements",
                "Depth",
                "Height",
                "Width",
                "Weight",
            ],
            WmiClass::Bios => &[
                "Manufacturer",
                "SerialNumber",
                "SMBIOSBIOSVersion",
                "Version",
                "Name",
                "ReleaseDate",
                "BIOSVersion",
                "SMBIOSMajorVersion",
                "SMBIOSMinorVersion",
                "SMBIOSPresent",
                "PrimaryBIOS",
                "BiosCharacteristics",
                "SoftwareElementID",
                "SoftwareElementState",
                "TargetOperatingSystem",
                "SystemBiosMajorVersion",
                "SystemBiosMinorVersion",
                "EmbeddedControllerMajorVersion",
                "EmbeddedControllerMinorVersion",
                "CurrentLanguage",
                "ListOfLanguages",
                "InstallableLanguages",
                "BuildNumber",
                "CodeSet",
                "IdentificationCode",
                "LanguageEdition",
                "OtherTargetOS",
            ],
            WmiClass::CsProduct => &[
                "IdentifyingNumber",
                "Name",
                "Vendor",
                "UUID",
                "Version",
                "SKUNumber",
                "ElementName",
            ],
            WmiClass::ComputerSystem => &[
                "Manufacturer",
                "Model",
                "Name",
                "Domain",
                "HypervisorPresent",
                "SystemFamily",
                "SystemSKUNumber",
                "TotalPhysicalMemory",
                "UserName",
                "PrimaryOwnerName",
                "SystemType",
                "Workgroup",
                "PartOfDomain",
                "NumberOfProcessors",
                "NumberOfLogicalProcessors",
                "DNSHostName",
                "DomainRole",
                "PCSystemType",
                "BootupState",
                "OEMStringArray",
            ],
            WmiClass::SystemEnclosure => &[
                "Manufacturer",
                "Name",
                "PartNumber",
                "SerialNumber",
                "SKU",
                "SMBIOSAssetTag",
                "Version",
                "ChassisTypes",
                "Tag",
                "LockPresent",
                "SecurityStatus",
                "AudibleAlarm",
            ],
        }
    }

    /// Whether the class has a property of this name (case-insensitive).
    pub fn has_property(self, key: &str) -> bool {
        self.properties()
            .iter()
            .any(|p| p.eq_ignore_ascii_case(key))
    }

    /// The fingerprint field a property fills, if any.
    pub fn field_for(self, key: &str) -> Option<Field> {
        let key = key.to_ascii_lowercase();
        match (self, key.as_str()) {
            (WmiClass::Baseboard, "manufacturer") => Some(Field::BaseboardManufacturer),
            (WmiClass::Baseboard, "product") => Some(Field::BaseboardProduct),
            (WmiClass::Baseboard, "serialnumber") => Some(Field::BaseboardSerial),
            (WmiClass::Bios, "manufacturer") => Some(Field::BiosVendor),
            (WmiClass::Bios, "smbiosbiosversion") => Some(Field::BiosVersion),
            (WmiClass::Bios, "serialnumber") => Some(Field::BiosSerial),
            (WmiClass::CsProduct, "identifyingnumber") => Some(Field::SystemSerial),
            (WmiClass::CsProduct, "name") => Some(Field::SystemModel),
            (WmiClass::CsProduct, "vendor") => Some(Field::SystemManufacturer),
            (WmiClass::CsProduct, "uuid") => Some(Field::SystemUuid),
            (WmiClass::ComputerSystem, "manufacturer") => Some(Field::SystemManufacturer),
            (WmiClass::ComputerSystem, "model") => Some(Field::SystemModel),
            (WmiClass::ComputerSystem, "hypervisorpresent") => Some(Field::HypervisorPresent),
            _ => None,
        }
    }

    /// Properties that say nothing about hardware and may contain anything (a host name "VMWARE-PC"
    /// or a user called "qemu" must not look like a VM).
    pub fn is_personal_property(self, key: &str) -> bool {
        const PERSONAL: [&str; 8] = [
            "Name",
            "Domain",
            "UserName",
            "PrimaryOwnerName",
            "Workgroup",
            "DNSHostName",
            "Caption",
            "Description",
        ];
        self == WmiClass::ComputerSystem && PERSONAL.iter().any(|p| p.eq_ignore_ascii_case(key))
    }

    /// The class a file name hints at (`baseboard.txt`, `win32_bios.txt`), when exactly one matches.
    pub fn hinted_by_file_name(file_name: &str) -> Option<WmiClass> {
        let lower = file_name.to_ascii_lowercase();
        let hits: Vec<WmiClass> = WmiClass::ALL
            .into_iter()
            .filter(|c| {
                lower.contains(c.alias()) || lower.contains(&c.wmi_name().to_ascii_lowercase())
            })
            .collect();
        match hits.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }
}

/// Keys PowerShell and WMI add to every object; they do not help to tell classes apart.
pub(crate) fn is_generic_key(key: &str) -> bool {
    const GENERIC: [&str; 11] = [
        "PSComputerName",
        "CimClass",
        "CimInstanceProperties",
        "CimSystemProperties",
        "Caption",
        "Description",
        "Status",
        "InstallDate",
        "CreationClassName",
        "Scope",
        "Path",
    ];
    key.starts_with("__") || GENERIC.iter().any(|g| g.eq_ignore_ascii_case(key))
}

/// What the keys of one table or record say about its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClassGuess {
    /// Exactly one class fits.
    Known(WmiClass),
    /// Several classes fit and nothing else decides.
    Ambiguous(Vec<WmiClass>),
    /// No hardware class has all these keys (e.g. `wmic os get caption`).
    Unrelated,
}

/// Decides the class from the keys and, when several fit, from the file name.
pub(crate) fn classify(keys: &[&str], file_hint: Option<WmiClass>) -> ClassGuess {
    let specific: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !is_generic_key(k))
        .collect();
    if specific.is_empty() {
        return ClassGuess::Unrelated;
    }
    let candidates: Vec<WmiClass> = WmiClass::ALL
        .into_iter()
        .filter(|c| specific.iter().all(|k| c.has_property(k)))
        .collect();
    match candidates.as_slice() {
        [] => ClassGuess::Unrelated,
        [only] => ClassGuess::Known(*only),
        _ => match file_hint {
            Some(hint) if candidates.contains(&hint) => ClassGuess::Known(hint),
            _ => ClassGuess::Ambiguous(candidates),
        },
    }
}

/// True when any hardware class has this property.
pub(crate) fn is_known_property(key: &str) -> bool {
    WmiClass::ALL.iter().any(|c| c.has_property(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_file_name_decide_the_class_or_report_ambiguity() {
        use WmiClass::*;
        let cases: &[(&[&str], Option<WmiClass>, ClassGuess)] = &[
            (
                &["IdentifyingNumber", "Name", "Vendor", "UUID"],
                None,
                ClassGuess::Known(CsProduct),
            ),
            (
                &["Manufacturer", "Model"],
                None,
                ClassGuess::Known(ComputerSystem),
            ),
            (
                &["Manufacturer", "Name", "Version"],
                None,
                ClassGuess::Ambiguous(vec![Baseboard, Bios, SystemEnclosure]),
            ),
            (
                &["Manufacturer", "Product", "SerialNumber"],
                None,
                ClassGuess::Known(Baseboard),
            ),
            (
                &["SerialNumber", "SMBIOSBIOSVersion", "Manufacturer"],
                None,
                ClassGuess::Known(Bios),
            ),
            (
                &["SerialNumber"],
                None,
                ClassGuess::Ambiguous(vec![Baseboard, Bios, SystemEnclosure]),
            ),
            (&["SerialNumber"], Some(Bios), ClassGuess::Known(Bios)),
            (
                &["SerialNumber"],
                Some(CsProduct),
                ClassGuess::Ambiguous(vec![Baseboard, Bios, SystemEnclosure]),
            ),
            (
                &["Manufacturer", "Model", "HypervisorPresent"],
                None,
                ClassGuess::Known(ComputerSystem),
            ),
            (&["Caption", "OSArchitecture"], None, ClassGuess::Unrelated),
            (&["PSComputerName"], None, ClassGuess::Unrelated),
        ];
        for (keys, hint, expected) in cases {
            assert_eq!(&classify(keys, *hint), expected, "{keys:?} {hint:?}");
        }
    }

    #[test]
    fn file_names_hint_a_class_only_when_unambiguous() {
        let cases = [
            ("out/baseboard.txt", Some(WmiClass::Baseboard)),
            ("Win32_BIOS.txt", Some(WmiClass::Bios)),
            ("bios-and-baseboard.txt", None),
            ("notes.txt", None),
        ];
        for (name, expected) in cases {
            assert_eq!(WmiClass::hinted_by_file_name(name), expected, "{name}");
        }
    }
}
