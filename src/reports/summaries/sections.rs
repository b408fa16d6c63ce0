//! A written case summary read back into its sections: problem definition, scope, progress
//! (with the outcome) and next steps — the headings `workflow::summary::draft_summary` writes, in
//! either language, since the summary is written in the customer's language whatever the
//! reader's.
//!
//! Staff edit the draft freely, so a summary may lack a heading, put text on the heading's line
//! ("Next steps: reply if it returns") or have none at all; what is not under a heading is kept as
//! the summary's other text rather than dropped.

use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// A summary split at its headings. Every part is trimmed; an empty part is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummarySections {
    /// Under "Problem definition" / "问题定义".
    pub definition: Option<String>,
    /// Under "Scope" / "问题范围".
    pub scope: Option<String>,
    /// Under "Progress" / "问题进展" (findings and the outcome).
    pub progress: Option<String>,
    /// Under "Next steps" / "下一步".
    pub next_steps: Option<String>,
    /// Text before the first heading, or the whole text when it has no heading.
    pub other: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Definition,
    Scope,
    Progress,
    NextSteps,
    Other,
}

/// The headings of both languages, without their colons.
fn headings() -> Vec<(String, Section)> {
    let mut out = Vec::new();
    for lang in Lang::ALL {
        let text = builtin(lang);
        for (heading, section) in [
            (text.t("summary.definition"), Section::Definition),
            (text.t("summary.scope"), Section::Scope),
            (text.t("summary.progress"), Section::Progress),
            (text.t("summary.next_steps"), Section::NextSteps),
        ] {
            let bare = heading.trim().trim_end_matches([':', '：']).trim();
            out.push((bare.to_lowercase(), section));
        }
    }
    out
}

/// If `line` starts with a heading followed by a colon (or is the heading alone), the section and
/// the text after the colon.
fn heading_of<'a>(line: &'a str, headings: &[(String, Section)]) -> Option<(Section, &'a str)> {
    let trimmed = line.trim_start();
    let lower = trimmed.to_lowercase();
    for (heading, section) in headings {
        // Lower-casing keeps the byte length of these headings (ASCII and CJK), so the offset
        // found in `lower` is the offset in `trimmed`.
        if !lower.starts_with(heading.as_str()) || lower.len() != trimmed.len() {
            continue;
        }
        let rest = &trimmed[heading.len()..];
        let rest_trimmed = rest.trim_start();
        if rest_trimmed.is_empty() {
            return Some((*section, ""));
        }
        if let Some(after) = rest_trimmed
            .strip_prefix(':')
            .or_else(|| rest_trimmed.strip_prefix('：'))
        {
            return Some((*section, after));
        }
    }
    None
}

impl SummarySections {
    /// Splits `body` at its headings.
    pub fn parse(body: &str) -> SummarySections {
        let headings = headings();
        let mut parts: Vec<(Section, Vec<&str>)> = vec![(Section::Other, Vec::new())];
        for line in body.lines() {
            match heading_of(line, &headings) {
                Some((section, rest)) => {
                    let first: Vec<&str> = if rest.trim().is_empty() {
                        Vec::new()
                    } else {
                        vec![rest.trim_start()]
                    };
                    parts.push((section, first));
                }
                None => {
                    if let Some(last) = parts.last_mut() {
                        last.1.push(line);
                    }
                }
            }
        }
        let mut out = SummarySections::default();
        for (section, lines) in parts {
            let text = lines.join("\n").trim().to_string();
            if text.is_empty() {
                continue;
            }
            let slot = match section {
                Section::Definition => &mut out.definition,
                Section::Scope => &mut out.scope,
                Section::Progress => &mut out.progress,
                Section::NextSteps => &mut out.next_steps,
                Section::Other => &mut out.other,
            };
            // A heading written twice: both parts are kept, in order.
            *slot = Some(match slot.take() {
                Some(before) => format!("{before}\n\n{text}"),
                None => text,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::summary::draft_summary;

    #[test]
    fn a_drafted_summary_reads_back_into_its_sections_in_both_languages() {
        for lang in Lang::ALL {
            let body = draft_summary(
                Some("用户反馈离线激活失败。"),
                Some("协助用户分析上述问题。"),
                &["主板序列号异常"],
                Some("解绑后激活成功"),
                lang,
            );
            let s = SummarySections::parse(&body);
            assert_eq!(s.definition.as_deref(), Some("用户反馈离线激活失败。"));
            assert_eq!(s.scope.as_deref(), Some("协助用户分析上述问题。"));
            let progress = s.progress.unwrap();
            assert!(progress.starts_with("- 主板序列号异常\n"), "{progress}");
            assert!(progress.contains("解绑后激活成功"), "{progress}");
            assert!(s.next_steps.is_some());
            assert_eq!(s.other, None);
        }
    }

    #[test]
    fn headings_are_found_with_text_on_their_line_in_any_letter_case() {
        let s = SummarySections::parse(
            "Opened by phone.\nPROBLEM DEFINITION: activation fails\nnext steps：reply if it returns\n问题进展：\n已解绑\n",
        );
        assert_eq!(s.other.as_deref(), Some("Opened by phone."));
        assert_eq!(s.definition.as_deref(), Some("activation fails"));
        assert_eq!(s.next_steps.as_deref(), Some("reply if it returns"));
        assert_eq!(s.progress.as_deref(), Some("已解绑"));
        assert_eq!(s.scope, None);
    }

    #[test]
    fn a_summary_without_headings_is_kept_whole() {
        let body =
            "The customer's licence was moved to the new board.\nScoped out: the VM question";
        let s = SummarySections::parse(body);
        assert_eq!(s.other.as_deref(), Some(body));
        assert_eq!(s.definition, None);
        assert_eq!(s.scope, None, "\"Scoped out\" is not the Scope heading");
    }

    #[test]
    fn empty_sections_stay_empty() {
        let s = SummarySections::parse(&draft_summary(None, None, &[], None, Lang::En));
        assert_eq!(s, SummarySections::default());
    }
}
