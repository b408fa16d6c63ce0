//! The diagnostics rules as data: `rules.toml` is the built-in set, an administrator's file may add
//! to it. Everything is validated on load so a typo fails loudly instead of silently matching nothing.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use super::DiagnosticsError;
use super::findings::{FindingCode, LocalizedText};
use super::fingerprint::Field;

const BUILTIN: &str = include_str!("rules.toml");

/// How much a virtual-machine signature proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// One match makes the verdict `virtual`.
    Strong,
    /// Shown as evidence; keeps the verdict from being `physical`, but never makes it `virtual`.
    Supporting,
}

/// Which values a condition looks at.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// Every fingerprint field and every other value read from hardware output.
    Any,
    /// These fingerprint fields only.
    Fields(Vec<Field>),
}

/// How a condition compares (always case-insensitive, on the trimmed value).
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Equals(String),
    Contains(String),
    Regex(Regex),
}

impl Matcher {
    pub(crate) fn matches(&self, value: &str) -> bool {
        let value = value.trim();
        match self {
            Matcher::Equals(expected) => value.to_lowercase() == *expected,
            Matcher::Contains(needle) => value.to_lowercase().contains(needle.as_str()),
            Matcher::Regex(regex) => regex.is_match(value),
        }
    }
}

/// One condition of a signature.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub scope: Scope,
    pub matcher: Matcher,
}

/// A virtual-machine signature: all conditions must match.
#[derive(Debug, Clone)]
pub(crate) struct Signature {
    pub platform: String,
    pub strength: Strength,
    pub all: Vec<Condition>,
}

/// A known activation message and its likely cause.
#[derive(Debug, Clone)]
pub(crate) struct ActivationMessage {
    pub id: String,
    pub patterns: Vec<Regex>,
    pub cause: LocalizedText,
}

/// The validated rules the engine runs on.
#[derive(Debug, Clone)]
pub struct Rules {
    pub(crate) required_fields: Vec<Field>,
    pub(crate) physical_manufacturer_fields: Vec<Field>,
    pub(crate) physical_identity_fields: Vec<Field>,
    pub(crate) commands: BTreeMap<Field, String>,
    placeholder_values: Vec<String>,
    placeholder_patterns: Vec<Regex>,
    pub(crate) signatures: Vec<Signature>,
    pub(crate) activation_messages: Vec<ActivationMessage>,
    messages: BTreeMap<FindingCode, LocalizedText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    required_fields: Vec<String>,
    #[serde(default)]
    physical: PhysicalFile,
    #[serde(default)]
    commands: BTreeMap<String, String>,
    #[serde(default)]
    placeholders: PlaceholdersFile,
    #[serde(default)]
    vm_signature: Vec<SignatureFile>,
    #[serde(default)]
    activation_message: Vec<ActivationFile>,
    #[serde(default)]
    messages: BTreeMap<String, TextFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhysicalFile {
    #[serde(default)]
    manufacturer_fields: Vec<String>,
    #[serde(default)]
    identity_fields: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceholdersFile {
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    platform: String,
    strength: Strength,
    all: Vec<ConditionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionFile {
    fields: Vec<String>,
    equals: Option<String>,
    contains: Option<String>,
    word: Option<String>,
    regex: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivationFile {
    id: String,
    patterns: Vec<String>,
    en: String,
    zh: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextFile {
    en: String,
    zh: String,
}

impl Rules {
    /// The built-in rules (`src/diagnostics/rules.toml`).
    pub fn builtin() -> Rules {
        // The built-in file is part of the source and `builtin_rules_are_valid` loads it in every
        // test run, so it cannot fail here.
        Rules::from_toml(BUILTIN, "built-in rules.toml", None)
            .expect("built-in rules.toml is valid")
    }

    /// The built-in rules plus an administrator's file, if given.
    pub fn load_with_override(path: Option<&Path>) -> Result<Rules, DiagnosticsError> {
        let Some(path) = path else {
            return Rules::from_toml(BUILTIN, "built-in rules.toml", None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| DiagnosticsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Rules::from_toml(
            BUILTIN,
            "built-in rules.toml",
            Some((&text, &path.display().to_string())),
        )
    }

    /// Parses the built-in text and an optional override (text, origin for messages).
    pub fn from_toml(
        base: &str,
        base_origin: &str,
        extra: Option<(&str, &str)>,
    ) -> Result<Rules, DiagnosticsError> {
        let mut file = parse_file(base, base_origin)?;
        let mut origin = base_origin.to_string();
        if let Some((text, extra_origin)) = extra {
            let more = parse_file(text, extra_origin)?;
            merge(&mut file, more);
            origin = extra_origin.to_string();
        }
        compile(file).map_err(|message| DiagnosticsError::Rules { origin, message })
    }

    /// True when the value is a known placeholder ("To be filled by O.E.M.", all zeros…).
    pub fn is_placeholder(&self, value: &str) -> bool {
        let value = value.trim();
        if value.is_empty() {
            return false;
        }
        let lower = value.to_lowercase();
        self.placeholder_values.contains(&lower)
            || self.placeholder_patterns.iter().any(|r| r.is_match(value))
    }

    /// The command that shows a field.
    pub fn command_for(&self, field: Field) -> &str {
        self.commands.get(&field).map_or(
            "wmic csproduct get name,vendor,identifyingnumber",
            String::as_str,
        )
    }

    /// The message template for a finding code.
    pub(crate) fn message(&self, code: FindingCode) -> LocalizedText {
        self.messages
            .get(&code)
            .cloned()
            .unwrap_or_else(|| LocalizedText {
                en: code.as_str().to_string(),
                zh: code.as_str().to_string(),
            })
    }
}

fn parse_file(text: &str, origin: &str) -> Result<RulesFile, DiagnosticsError> {
    toml::from_str(text).map_err(|e| DiagnosticsError::Rules {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Lists are appended; commands and messages replace by key; an activation message with a known id
/// replaces the built-in one so an administrator can correct a cause.
fn merge(base: &mut RulesFile, more: RulesFile) {
    for field in more.required_fields {
        if !base.required_fields.contains(&field) {
            base.required_fields.push(field);
        }
    }
    base.physical
        .manufacturer_fields
        .extend(more.physical.manufacturer_fields);
    base.physical
        .identity_fields
        .extend(more.physical.identity_fields);
    base.commands.extend(more.commands);
    base.placeholders.values.extend(more.placeholders.values);
    base.placeholders
        .patterns
        .extend(more.placeholders.patterns);
    base.vm_signature.extend(more.vm_signature);
    for message in more.activation_message {
        base.activation_message.retain(|m| m.id != message.id);
        base.activation_message.push(message);
    }
    base.messages.extend(more.messages);
}

fn field(name: &str, context: &str) -> Result<Field, String> {
    Field::parse(name).ok_or_else(|| format!("{context}: unknown field {name:?}"))
}

fn fields(names: &[String], context: &str) -> Result<Vec<Field>, String> {
    names.iter().map(|n| field(n, context)).collect()
}

fn regex(pattern: &str, context: &str) -> Result<Regex, String> {
    let pattern = if pattern.starts_with("(?i)") {
        pattern.to_string()
    } else {
        format!("(?i){pattern}")
    };
    Regex::new(&pattern).map_err(|e| format!("{context}: invalid regex {pattern:?}: {e}"))
}

fn compile(file: RulesFile) -> Result<Rules, String> {
    let required_fields = fields(&file.required_fields, "required_fields")?;
    let physical_manufacturer_fields = fields(
        &file.physical.manufacturer_fields,
        "physical.manufacturer_fields",
    )?;
    let physical_identity_fields =
        fields(&file.physical.identity_fields, "physical.identity_fields")?;
    if physical_manufacturer_fields.is_empty() || physical_identity_fields.is_empty() {
        return Err(
            "physical.manufacturer_fields and physical.identity_fields must not be empty".into(),
        );
    }
    let mut commands = BTreeMap::new();
    for (name, command) in &file.commands {
        commands.insert(field(name, "commands")?, command.clone());
    }
    let placeholder_values = file
        .placeholders
        .values
        .iter()
        .map(|v| v.trim().to_lowercase())
        .collect();
    let placeholder_patterns = file
        .placeholders
        .patterns
        .iter()
        .map(|p| regex(p, "placeholders.patterns"))
        .collect::<Result<_, _>>()?;
    let mut signatures = Vec::new();
    for (index, sig) in file.vm_signature.iter().enumerate() {
        let context = format!("vm_signature #{} ({})", index + 1, sig.platform);
        if sig.platform.trim().is_empty() {
            return Err(format!("{context}: platform must not be empty"));
        }
        if sig.all.is_empty() {
            return Err(format!("{context}: `all` needs at least one condition"));
        }
        let all = sig
            .all
            .iter()
            .map(|c| compile_condition(c, &context))
            .collect::<Result<_, _>>()?;
        signatures.push(Signature {
            platform: sig.platform.clone(),
            strength: sig.strength,
            all,
        });
    }
    let mut activation_messages = Vec::new();
    for message in &file.activation_message {
        let context = format!("activation_message {:?}", message.id);
        if message.patterns.is_empty() {
            return Err(format!("{context}: needs at least one pattern"));
        }
        let patterns = message
            .patterns
            .iter()
            .map(|p| regex(p, &context))
            .collect::<Result<_, _>>()?;
        activation_messages.push(ActivationMessage {
            id: message.id.clone(),
            patterns,
            cause: LocalizedText {
                en: message.en.clone(),
                zh: message.zh.clone(),
            },
        });
    }
    let mut messages = BTreeMap::new();
    for (code, text) in &file.messages {
        let code = FindingCode::parse(code)
            .ok_or_else(|| format!("messages: unknown finding code {code:?}"))?;
        messages.insert(
            code,
            LocalizedText {
                en: text.en.clone(),
                zh: text.zh.clone(),
            },
        );
    }
    if let Some(missing) = FindingCode::ALL.iter().find(|c| !messages.contains_key(c)) {
        return Err(format!(
            "messages: no message for finding code {:?}",
            missing.as_str()
        ));
    }
    Ok(Rules {
        required_fields,
        physical_manufacturer_fields,
        physical_identity_fields,
        commands,
        placeholder_values,
        placeholder_patterns,
        signatures,
        activation_messages,
        messages,
    })
}

fn compile_condition(condition: &ConditionFile, context: &str) -> Result<Condition, String> {
    let scope = if condition.fields.iter().any(|f| f == "any") {
        if condition.fields.len() > 1 {
            return Err(format!(
                "{context}: \"any\" cannot be combined with other fields"
            ));
        }
        Scope::Any
    } else if condition.fields.is_empty() {
        return Err(format!("{context}: a condition needs `fields`"));
    } else {
        Scope::Fields(fields(&condition.fields, context)?)
    };
    let given = [
        &condition.equals,
        &condition.contains,
        &condition.word,
        &condition.regex,
    ]
    .iter()
    .filter(|m| m.is_some())
    .count();
    if given != 1 {
        return Err(format!(
            "{context}: a condition needs exactly one of equals, contains, word, regex"
        ));
    }
    let matcher = match (
        &condition.equals,
        &condition.contains,
        &condition.word,
        &condition.regex,
    ) {
        (Some(v), _, _, _) => Matcher::Equals(v.trim().to_lowercase()),
        (_, Some(v), _, _) => Matcher::Contains(v.trim().to_lowercase()),
        (_, _, Some(v), _) => Matcher::Regex(regex(
            &format!(r"\b{}\b", regex::escape(v.trim())),
            context,
        )?),
        (_, _, _, Some(v)) => Matcher::Regex(regex(v, context)?),
        (None, None, None, None) => return Err(format!("{context}: a condition needs a matcher")),
    };
    Ok(Condition { scope, matcher })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_are_valid() {
        let rules = Rules::from_toml(BUILTIN, "built-in", None).unwrap();
        assert!(rules.signatures.len() > 20);
        assert!(rules.required_fields.contains(&Field::BaseboardSerial));
    }

    #[test]
    fn placeholders_match_case_insensitively_after_trimming() {
        let rules = Rules::builtin();
        let cases = [
            ("To be filled by O.E.M.", true),
            ("  to be filled by o.e.m.  ", true),
            ("Default string", true),
            ("System Product Name", true),
            ("System manufacturer", true),
            ("Not Applicable", true),
            ("None", true),
            ("0", true),
            ("123456789", true),
            ("00000000-0000-0000-0000-000000000000", true),
            ("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", true),
            ("Not Specified", true),
            ("OEM", true),
            ("xxxxx", true),
            ("PGQMN028JEA0XY", false),
            ("ASUSTeK COMPUTER INC.", false),
            ("", false),
            ("HP", false),
        ];
        for (value, expected) in cases {
            assert_eq!(rules.is_placeholder(value), expected, "{value:?}");
        }
    }

    #[test]
    fn invalid_override_files_are_refused_with_a_clear_reason() {
        let cases = [
            (
                "[[vm_signature]]\nplatform = \"X\"\nstrength = \"strong\"\nall = [{ fields = [\"sistem_model\"], equals = \"x\" }]",
                "unknown field \"sistem_model\"",
            ),
            (
                "[[vm_signature]]\nplatform = \"X\"\nstrength = \"strong\"\nall = [{ fields = [\"any\"], equals = \"x\", word = \"y\" }]",
                "exactly one of",
            ),
            (
                "[[vm_signature]]\nplatform = \"X\"\nstrength = \"certain\"\nall = []",
                "certain",
            ),
            ("[placeholders]\npatterns = ['(']", "invalid regex"),
            (
                "[messages.no-such-code]\nen = \"a\"\nzh = \"b\"",
                "unknown finding code",
            ),
            ("[unknown_section]\nx = 1", "unknown_section"),
        ];
        for (text, expected) in cases {
            let err = Rules::from_toml(BUILTIN, "built-in", Some((text, "admin.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("admin.toml"), "{err}");
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn override_adds_signatures_placeholders_and_replaces_messages() {
        let extra = r#"
[placeholders]
values = ["Centerm Default"]
[[vm_signature]]
platform = "Edge VM"
strength = "strong"
all = [{ fields = ["system_model"], equals = "EdgeBox VM" }]
[[activation_message]]
id = "0xC004F074"
patterns = ['0xC004F074']
en = "custom"
zh = "自定义"
"#;
        let rules = Rules::from_toml(BUILTIN, "built-in", Some((extra, "admin.toml"))).unwrap();
        assert!(rules.is_placeholder("centerm default"));
        assert!(rules.signatures.iter().any(|s| s.platform == "Edge VM"));
        let kms: Vec<_> = rules
            .activation_messages
            .iter()
            .filter(|m| m.id == "0xC004F074")
            .collect();
        assert_eq!(kms.len(), 1);
        assert_eq!(kms[0].cause.en, "custom");
    }

    #[test]
    fn word_matchers_do_not_match_inside_other_words() {
        let rules = Rules::builtin();
        let xen = rules
            .signatures
            .iter()
            .find(|s| s.platform == "Xen")
            .unwrap();
        let cases = [("Xen", true), ("xen 4.2", true), ("Xenon Systems", false)];
        for (value, expected) in cases {
            assert_eq!(xen.all[0].matcher.matches(value), expected, "{value}");
        }
    }
}
