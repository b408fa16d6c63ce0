//! Interface strings, kept as data in `src/web/messages.toml`: one entry per key with `en` and `zh`.
//!
//! The catalogue is validated at start (every key has both languages) and a unit test checks that
//! every key a template uses exists, so no page shows a raw key.

use std::collections::HashMap;

use anyhow::Context;
use serde::Deserialize;

use crate::i18n::Lang;

const MESSAGES: &str = include_str!("messages.toml");

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
    fn missing_keys_fall_back_to_the_key() {
        let c = Catalog::parse("[\"a.b\"]\nen = \"A\"\nzh = \"甲\"\n").unwrap();
        assert_eq!(c.get(Lang::ZhCn, "a.b"), "甲");
        assert_eq!(c.get(Lang::En, "nope"), "nope");
        assert!(Catalog::parse("[\"a\"]\nen = \"A\"\nzh = \"\"\n").is_err());
    }
}
