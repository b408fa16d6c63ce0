//! Interface strings, kept as data in `src/web/messages.toml`: one entry per key with `en` and `zh`.
//!
//! The catalogue is validated at start (every key has both languages) and a unit test checks that
//! every key a template or the code uses exists, so no page shows a raw key. Pages read it through
//! `page.t("…")`; code without a page (state and action labels, error messages, the diagnostics
//! report, the CLI) through `builtin(lang).t("…")`, the same shape, so the test finds those keys too.

use std::collections::HashMap;
use std::sync::LazyLock;

use anyhow::Context;
use serde::Deserialize;

use crate::i18n::Lang;

const MESSAGES: &str = include_str!("messages.toml");

/// The built-in catalogue, parsed once per process. The file is compiled in and the unit tests parse
/// it, so it cannot be invalid in a tested build; if it were, lookups would show their keys (and
/// log each) rather than panic, and `startup::run` would refuse to start on the same error.
static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::builtin().unwrap_or_else(|e| {
        tracing::error!(error = %format!("{e:#}"), "the built-in interface strings are invalid");
        Catalog {
            entries: HashMap::new(),
        }
    })
});

/// The built-in strings in one language, for code that has a language but no page.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinText {
    lang: Lang,
}

/// The built-in strings in `lang`: `builtin(lang).t("new")`.
pub fn builtin(lang: Lang) -> BuiltinText {
    BuiltinText { lang }
}

impl BuiltinText {
    /// The string `key` (write the key as a literal, so the completeness test checks it).
    pub fn t(self, key: &'static str) -> &'static str {
        Catalog::builtin_static().get(self.lang, key)
    }

    /// "1 second", "30 seconds", "30 秒": a wait in whole seconds, with the plural the language
    /// needs (messages say "try again in {wait}").
    pub fn seconds(self, n: u64) -> String {
        let form = if n == 1 {
            self.t("time.second")
        } else {
            self.t("time.seconds")
        };
        form.replace("{n}", &n.to_string())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    en: String,
    zh: String,
}

/// All interface strings.
#[derive(Debug)]
pub struct Catalog {
    entries: HashMap<String, Entry>,
}

impl Catalog {
    /// The built-in catalogue.
    pub fn builtin() -> anyhow::Result<Catalog> {
        Catalog::parse(MESSAGES)
    }

    /// The built-in catalogue, shared by the whole process.
    pub fn builtin_static() -> &'static Catalog {
        &BUILTIN
    }

    fn parse(text: &str) -> anyhow::Result<Catalog> {
        let entries: HashMap<String, Entry> =
            toml::from_str(text).context("src/web/messages.toml is invalid")?;
        for (key, e) in &entries {
            anyhow::ensure!(
                !e.en.trim().is_empty() && !e.zh.trim().is_empty(),
                "message {key:?} lacks a translation"
            );
        }
        Ok(Catalog { entries })
    }

    /// The text for `key` in `lang`; the key itself if missing (and logged), never a panic.
    pub fn get<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        match self.entries.get(key) {
            Some(e) => match lang {
                Lang::En => &e.en,
                Lang::ZhCn => &e.zh,
            },
            None => {
                tracing::warn!(key, "missing interface string");
                key
            }
        }
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_used_by_templates_and_code_exists_in_both_languages() {
        let catalog = Catalog::builtin().unwrap();
        let re = regex::Regex::new(r#"\bt\(\s*"([a-z0-9_.\-]+)"\s*\)"#).unwrap();
        let mut missing = Vec::new();
        let mut files = Vec::new();
        for dir in ["templates", "src"] {
            collect(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(dir)
                    .as_path(),
                &mut files,
            );
        }
        assert!(!files.is_empty());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for cap in re.captures_iter(&text) {
                if !catalog.contains(&cap[1]) {
                    missing.push(format!("{}: {}", f.display(), &cap[1]));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "missing interface strings:\n{}",
            missing.join("\n")
        );
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "html" || x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn waits_have_the_right_plural_in_each_language() {
        assert_eq!(builtin(Lang::En).seconds(1), "1 second");
        assert_eq!(builtin(Lang::En).seconds(0), "0 seconds");
        assert_eq!(builtin(Lang::En).seconds(30), "30 seconds");
        assert_eq!(builtin(Lang::ZhCn).seconds(1), "1 秒");
        assert_eq!(builtin(Lang::ZhCn).seconds(30), "30 秒");
    }

    #[test]
    fn missing_keys_fall_back_to_the_key() {
        let c = Catalog::parse("[\"a.b\"]\nen = \"A\"\nzh = \"甲\"\n").unwrap();
        assert_eq!(c.get(Lang::ZhCn, "a.b"), "甲");
        assert_eq!(c.get(Lang::En, "nope"), "nope");
        assert!(Catalog::parse("[\"a\"]\nen = \"A\"\nzh = \"\"\n").is_err());
    }
}
