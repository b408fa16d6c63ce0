//! Interface languages. Every string a person reads exists in zh-CN and en.

use std::fmt;
use std::str::FromStr;

/// A supported interface language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Lang {
    /// English.
    #[default]
    #[serde(rename = "en")]
    En,
    /// Simplified Chinese.
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Lang {
    /// Both languages, for switches and tests.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// BCP 47 code (`en`, `zh-CN`), as used in `lang` attributes and settings.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// Picks the first supported language from an `Accept-Language` header value, honouring q-values.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Ok(lang) = tag.parse::<Lang>()
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    /// Picks `zh` or `en` text, for text that carries both languages itself (the diagnostics rules
    /// file's messages). Interface strings come from the catalogue instead (`page.t`,
    /// `crate::web::catalog::builtin`), where the completeness test checks them.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::ZhCn => zh,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The text names no supported language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language {0:?} (expected en or zh-CN)")]
pub struct LangError(pub String);

impl FromStr for Lang {
    type Err = LangError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "en" || lower.starts_with("en-") {
            Ok(Lang::En)
        } else if lower == "zh" || lower.starts_with("zh-") || lower.starts_with("zh_") {
            Ok(Lang::ZhCn)
        } else {
            Err(LangError(s.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_supported_language() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::ZhCn)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, en;q=0.5, zh;q=0.4"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.2, zh-TW;q=0.9"),
            Some(Lang::ZhCn)
        );
        assert_eq!(Lang::from_accept_language("de, fr"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }

    #[test]
    fn codes_round_trip() {
        for l in Lang::ALL {
            assert_eq!(l.code().parse::<Lang>().unwrap(), l);
        }
    }
}
