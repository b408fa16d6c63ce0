//! Warns before a reply mails a secret in clear text.
//!
//! The motivating thread asked a customer to upload logs with "用户名：userchen / 密码：chen123" —
//! a password that then lived forever in two mailboxes. Before a reply is queued its text is
//! scanned for things that look like credentials; the agent sees what was found (masked) and must
//! confirm explicitly to send anyway.

use std::sync::LazyLock;

use regex::Regex;

/// One suspicious passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it looks like: `password`, `api_key`, `private_key` or `bearer_token`.
    pub kind: &'static str,
    /// The passage with the secret masked (safe to show and log).
    pub masked: String,
}

impl Finding {
    /// The interface-string key naming [`Finding::kind`].
    pub fn label_key(&self) -> &'static str {
        match self.kind {
            "api_key" => "credential.api_key",
            "bearer_token" => "credential.bearer_token",
            "private_key" => "credential.private_key",
            _ => "credential.password",
        }
    }
}

/// A label such as 密码 / password / token followed by `:`, `：` or `=` and a value on the same line.
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    // A literal pattern, checked by the unit tests: compiling it cannot fail at run time.
    Regex::new(
        r"(?i)(密码|口令|密钥|pass(?:word|wd|code)?|pwd|secret|token|api[ _-]?key|access[ _-]?key)[ \t]*[:：=][ \t]*([^\s,，;；]{3,})",
    )
    .unwrap_or_else(|e| unreachable!("credential pattern is valid: {e}"))
});

/// Well-known key shapes that are secrets without any label.
static SHAPED: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("api_key", r"\bAKIA[0-9A-Z]{16}\b"),
        (
            "api_key",
            r"\b(?:sk|rk)[-_](?:live[-_]|test[-_])?[A-Za-z0-9]{16,}\b",
        ),
        ("api_key", r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
        ("api_key", r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
        (
            "bearer_token",
            r"(?i)\bbearer[ \t]+[A-Za-z0-9\-._~+/]{20,}=*",
        ),
        ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    ]
    .into_iter()
    .map(|(kind, p)| {
        (
            kind,
            Regex::new(p).unwrap_or_else(|e| unreachable!("credential pattern is valid: {e}")),
        )
    })
    .collect()
});

/// Keeps the first character of a secret and hides the rest.
fn mask(secret: &str) -> String {
    let mut chars = secret.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "•".repeat(chars.count().clamp(3, 12))),
        None => String::new(),
    }
}

/// Everything in `text` that looks like a credential, in order of appearance.
pub fn scan(text: &str) -> Vec<Finding> {
    let mut found: Vec<(usize, Finding)> = Vec::new();
    for caps in LABELLED.captures_iter(text) {
        let (Some(whole), Some(label), Some(value)) = (caps.get(0), caps.get(1), caps.get(2))
        else {
            continue;
        };
        let lower = label.as_str().to_lowercase();
        let kind = if lower.contains("key") || lower.contains("密钥") {
            "api_key"
        } else if lower.contains("token") {
            "bearer_token"
        } else {
            "password"
        };
        let prefix = &text[whole.start()..value.start()];
        found.push((
            whole.start(),
            Finding {
                kind,
                masked: format!("{prefix}{}", mask(value.as_str())),
            },
        ));
    }
    for (kind, re) in SHAPED.iter() {
        for m in re.find_iter(text) {
            if found
                .iter()
                .any(|(start, _)| *start <= m.start() && m.start() < *start + 64)
            {
                continue;
            }
            found.push((
                m.start(),
                Finding {
                    kind,
                    masked: mask(m.as_str()),
                },
            ));
        }
    }
    found.sort_by_key(|(start, _)| *start);
    found.into_iter().map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_threads_clear_text_password_is_caught() {
        let text = "4) 您可以登陆https://cduc.cmgos.com上传\n5)     用户名：userchen\n6)     密码：chen123\n";
        let found = scan(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, "password");
        assert!(found[0].masked.starts_with("密码：c"), "{:?}", found[0]);
        assert!(!found[0].masked.contains("chen123"));
    }

    #[test]
    fn labelled_secrets_in_both_languages_are_caught() {
        for (text, kind) in [
            ("Password: hunter22", "password"),
            ("passwd=s3cr3t!", "password"),
            ("pwd : abc123", "password"),
            ("口令 = 888888", "password"),
            ("登录密码：abc123", "password"),
            ("API key: 9f8e7d6c5b4a", "api_key"),
            ("api_key=abcdef123456", "api_key"),
            ("token: eyJhbGciOiJIUzI1NiJ9", "bearer_token"),
            (
                "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123",
                "bearer_token",
            ),
            ("key AKIAIOSFODNN7EXAMPLE here", "api_key"),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key"),
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIE", "private_key"),
        ] {
            let found = scan(text);
            assert!(!found.is_empty(), "missed: {text}");
            assert_eq!(found[0].kind, kind, "{text}: {found:?}");
        }
    }

    #[test]
    fn ordinary_support_text_is_not_flagged() {
        for text in [
            "请不要通过邮件发送密码。",
            "Please reset your password in the portal.",
            "密码：\n（请通过上传链接提交，无需密码）",
            "The password field is empty",
            "wmic baseboard get serialnumber",
            "SN: ZZ02-2200-00033 依然无法激活",
            "用户名：userchen",
        ] {
            assert_eq!(scan(text), vec![], "{text}");
        }
    }
}
