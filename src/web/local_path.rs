//! `LocalPath`: a redirect target that can only lead back into Casebook.
//!
//! Sign-in (`next`) and the language switch (`back`) redirect to a path the request names. A
//! check on the raw text is not enough: browsers drop tabs and newlines from URLs
//! (`/\t/evil.example` is followed as `//evil.example`, a link to another site), treat `\` as `/`,
//! and a control character in a `Location` header is refused by the HTTP library (a 500). So the
//! text is refused outright when it holds a control character or a backslash, then parsed as a
//! URL relative to a fixed origin; only a result on that same origin is kept, and it is kept in
//! its parsed, percent-encoded form (path, query, fragment), which is always a valid header value.

use url::Url;

/// The origin relative paths are resolved against; never shown, never followed.
const ORIGIN: &str = "http://casebook.invalid/";

/// A path on this site, percent-encoded, starting with exactly one `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPath(String);

/// Why a redirect target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalPathError {
    /// Not starting with `/`, or starting with `//` (another host).
    #[error("not a path on this site")]
    NotLocal,
    /// Tabs, newlines and other control characters.
    #[error("contains a control character")]
    ControlCharacter,
    /// Browsers read `\` as `/`.
    #[error("contains a backslash")]
    Backslash,
}

impl LocalPath {
    /// Parses `text` as a local path.
    pub fn parse(text: &str) -> Result<LocalPath, LocalPathError> {
        if text.chars().any(char::is_control) {
            return Err(LocalPathError::ControlCharacter);
        }
        if text.contains('\\') {
            return Err(LocalPathError::Backslash);
        }
        if !text.starts_with('/') || text.starts_with("//") {
            return Err(LocalPathError::NotLocal);
        }
        let origin = Url::parse(ORIGIN).map_err(|_| LocalPathError::NotLocal)?;
        let url = origin.join(text).map_err(|_| LocalPathError::NotLocal)?;
        if url.origin() != origin.origin() {
            return Err(LocalPathError::NotLocal);
        }
        let mut out = url.path().to_string();
        if out.starts_with("//") {
            return Err(LocalPathError::NotLocal);
        }
        if let Some(q) = url.query() {
            out.push('?');
            out.push_str(q);
        }
        if let Some(f) = url.fragment() {
            out.push('#');
            out.push_str(f);
        }
        Ok(LocalPath(out))
    }

    /// `text` when it is a local path, else `fallback` (which must itself be local).
    pub fn or(text: Option<&str>, fallback: &'static str) -> LocalPath {
        text.and_then(|t| LocalPath::parse(t).ok())
            .unwrap_or_else(|| LocalPath(fallback.to_string()))
    }

    /// The path, query and fragment, percent-encoded.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LocalPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_keep_their_query_and_fragment() {
        assert_eq!(
            LocalPath::parse("/cases?state=new#top").unwrap().as_str(),
            "/cases?state=new#top"
        );
        assert_eq!(
            LocalPath::parse("/cases/CAS-06004-S8K5X3")
                .unwrap()
                .as_str(),
            "/cases/CAS-06004-S8K5X3"
        );
    }

    #[test]
    fn targets_a_browser_would_follow_to_another_site_are_refused() {
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example/x",
            "/\n/evil.example/x",
            "/\r\n/x",
            "\t//evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\u{0}x",
            "/\u{85}/evil.example",
            "",
        ] {
            assert!(LocalPath::parse(evil).is_err(), "{evil:?} was accepted");
            assert_eq!(LocalPath::or(Some(evil), "/cases").as_str(), "/cases");
        }
    }

    #[test]
    fn odd_but_local_paths_are_normalised_into_valid_header_values() {
        let p = LocalPath::parse("/cases?q=设备 标记").unwrap();
        assert!(p.as_str().is_ascii(), "{p}");
        assert!(p.as_str().starts_with("/cases?q="));
        // Dot segments that would leave `//host` behind are refused, not followed.
        assert_eq!(LocalPath::parse("/a/../b").unwrap().as_str(), "/b");
        assert!(LocalPath::parse("/../..//evil.example").is_err());
    }
}
