//! Recognising the structured messages support staff send, so importing a transcript can record
//! the workflow events they stand for (defined, scoped, escalated, resolved, archived).
//!
//! The forms are those of the team's templates, in Chinese and English:
//!
//! * **Problem definition** — a `问题定义：` / `Problem definition:` heading, optionally with a
//!   `问题范围：` / `Scope:` heading. A section runs to the next heading, a blank line after its
//!   text, or the template's closing sentence ("接下来，我们将开始合作解决这个问题…" /
//!   "Next, we will…"), so the boilerplate after the scope is not taken as part of it.
//! * **Escalation** — the agent's phrasing only: "将此问题进行升级处理", "升级给研发",
//!   "escalated to engineering", "this case has been escalated". A customer upgrading software
//!   ("已升级至最新版本", "升级日志") is not an escalation, which is why a bare "升级" never counts.
//! * **Resolution** — a `解决方案：` / `Resolution:` / `Solution:` heading.
//! * **Archive summary** — a `案例总结：` / `Case summary:` heading (the summary is everything after
//!   it, including its own `问题定义：`/`问题进展：` sections, which are then not recognised again), or
//!   the agent's "暂时归档此案例" / "this case has been archived" without a heading (the whole text
//!   is then the summary).
//!
//! Quoted history is removed first ([`crate::ingest::quote::extract_new_text`]), so a customer's
//! reply quoting a definition does not define the problem a second time.

use std::sync::LazyLock;

use regex::Regex;

use crate::ingest::quote::extract_new_text;

/// A structured message, or part of one, found in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Structured {
    /// The problem definition, with the scope when the same message states it.
    ProblemDefinition {
        /// What the problem is.
        definition: String,
        /// What support will do about it.
        scope: Option<String>,
    },
    /// A scope stated without a definition (a later re-scoping).
    ProblemScope {
        /// What support will do about it.
        scope: String,
    },
    /// The case was escalated (to engineering / R&D).
    Escalation {
        /// The line announcing it.
        note: String,
    },
    /// The resolution the agent gave.
    Resolution {
        /// The text under the resolution heading.
        resolution: String,
    },
    /// The case was archived, with its summary.
    ArchiveSummary {
        /// The summary: the text under `案例总结：`, or the whole message without that heading.
        summary: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heading {
    Definition,
    Scope,
    Resolution,
    Summary,
    /// A template heading that ends the section above it but is not itself recorded.
    Other,
}

// The `expect`s on `Regex::new` below cannot fire at run time: every pattern is a literal, and the
// unit tests compile each one.

/// Template headings, at the start of a line, ending with a colon of either width.
static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*(?:\*\*|【)?\s*
        (问题定义|问题范围|范围界定|排查问题|排查步骤|收集日志|问题进展|案例总结|解决方案|问题原因|原因分析|下一步
        |problem\s+definition|problem\s+scope|scope|troubleshooting|collect(?:ing)?\s+logs|progress|case\s+summary
        |resolution|solution|root\s+cause|next\s+steps)
        \s*(?:\*\*|】)?\s*[:：]\s*(.*)$",
    )
    .expect("heading regex is valid")
});

/// The closing sentence of the definition template, which follows the scope.
static TEMPLATE_CLOSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:接下来|如果您对以上|next,?\s+we\b|if\s+you\s+(?:disagree|have\s+any\s+(?:objection|concern)))")
        .expect("template close regex is valid")
});

static ESCALATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?:问题|案例|工单)[^。！？!?\n]{0,10}升级处理
        | 升级(?:处理)?(?:给|至|到)了?(?:我们的|公司的?)?(?:研发|工程|二线|三线|开发|技术专家|产品团队|专家|后台)
        | 转(?:交|给)(?:了)?(?:研发|工程师|二线|开发团队)(?:处理|分析)
        | escalated\s+(?:(?:this|the|your)\s+(?:case|issue|problem|ticket)\s+)?to\s+(?:our\s+|the\s+)?
          (?:engineering|r&d|engineers?|development|developers|second[-\s]line|tier[-\s]?[23]|product\s+team)
        | (?:case|issue|problem|ticket)\s+(?:has|have)\s+been\s+escalated
        | \bwe\s+(?:have\s+)?escalated\b",
    )
    .expect("escalation regex is valid")
});

static ARCHIVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        暂时(?:将)?(?:此|该|本)?(?:案例|工单)?归档
        | (?:已|将)(?:此|该|本)(?:案例|工单)归档
        | (?:此|该|本)?(?:案例|工单)已(?:被)?归档
        | 已归档(?:此|该|本)(?:案例|工单)
        | \b(?:case|ticket)\s+(?:has\s+been|is\s+now|was)\s+archived
        | \bwe\s+(?:have|will|are\s+going\s+to)\s+archived?\s+(?:this|the|your)\s+(?:case|ticket)",
    )
    .expect("archive regex is valid")
});

/// Characters that, just before an archive phrase, turn it into its opposite ("请不要暂时归档").
const NEGATIONS: &[char] = &['不', '勿', '别', '没', '未'];

/// The structured messages in `body`, in the order they appear. Most messages have none.
pub fn recognise(body: &str) -> Vec<Structured> {
    let text = extract_new_text(body);
    let lines: Vec<&str> = text.lines().collect();
    let headings: Vec<Option<(Heading, &str)>> = lines.iter().map(|l| heading(l)).collect();
    let mut found: Vec<(usize, Structured)> = Vec::new();

    // Everything below a summary heading is the summary; its sections are not events of their own.
    let summary_at = headings
        .iter()
        .position(|h| matches!(h, Some((Heading::Summary, _))));
    let body_end = summary_at.unwrap_or(lines.len());
    let section = |at: usize, stop_at_blank: bool| {
        let rest = headings[at].map_or("", |(_, rest)| rest);
        section_text(
            rest,
            &lines[at + 1..body_end],
            &headings[at + 1..body_end],
            stop_at_blank,
        )
    };
    let first =
        |kind: Heading| (0..body_end).find(|&i| matches!(headings[i], Some((k, _)) if k == kind));

    let definition = first(Heading::Definition)
        .map(|at| (at, section(at, true)))
        .filter(|(_, d)| !d.is_empty());
    let scope = first(Heading::Scope)
        .map(|at| (at, section(at, true)))
        .filter(|(_, s)| !s.is_empty());
    match (definition, scope) {
        (Some((at, definition)), scope) => found.push((
            at,
            Structured::ProblemDefinition {
                definition,
                scope: scope.map(|(_, s)| s),
            },
        )),
        (None, Some((at, scope))) => found.push((at, Structured::ProblemScope { scope })),
        (None, None) => {}
    }
    if let Some(at) = first(Heading::Resolution) {
        let resolution = section(at, false);
        if !resolution.is_empty() {
            found.push((at, Structured::Resolution { resolution }));
        }
    }
    if let Some(at) = (0..body_end).find(|&i| ESCALATION.is_match(lines[i])) {
        found.push((
            at,
            Structured::Escalation {
                note: lines[at].trim().to_string(),
            },
        ));
    }
    if let Some(at) = summary_at {
        let rest = headings[at].map_or("", |(_, rest)| rest);
        let summary = section_text(
            rest,
            &lines[at + 1..],
            &vec![None; lines.len() - at - 1],
            false,
        );
        found.push((at, Structured::ArchiveSummary { summary }));
    } else if let Some(at) = lines.iter().position(|l| announces_archive(l)) {
        found.push((
            at,
            Structured::ArchiveSummary {
                summary: text.trim().to_string(),
            },
        ));
    }

    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, s)| s).collect()
}

fn heading(line: &str) -> Option<(Heading, &str)> {
    // Headings all end in a colon; checking for one first keeps the regex off most lines.
    if !line.contains([':', '：']) {
        return None;
    }
    let captures = HEADING.captures(line)?;
    let label = captures.get(1)?.as_str().to_lowercase();
    let label: String = label.split_whitespace().collect::<Vec<_>>().join(" ");
    let kind = match label.as_str() {
        "问题定义" | "problem definition" => Heading::Definition,
        "问题范围" | "范围界定" | "problem scope" | "scope" => Heading::Scope,
        "解决方案" | "resolution" | "solution" => Heading::Resolution,
        "案例总结" | "case summary" => Heading::Summary,
        _ => Heading::Other,
    };
    Some((kind, captures.get(2).map_or("", |m| m.as_str().trim())))
}

/// The text of a section: the rest of its heading line, then the following lines up to the next
/// heading (and, for short template fields, up to a blank line or the template's closing sentence).
fn section_text(
    rest: &str,
    lines: &[&str],
    headings: &[Option<(Heading, &str)>],
    short_field: bool,
) -> String {
    let mut collected: Vec<&str> = Vec::new();
    if !rest.is_empty() {
        collected.push(rest);
    }
    for (line, heading) in lines.iter().zip(headings) {
        if heading.is_some() || (short_field && TEMPLATE_CLOSE.is_match(line)) {
            break;
        }
        if line.trim().is_empty() && short_field {
            if collected.is_empty() {
                continue;
            }
            break;
        }
        collected.push(line.trim_end());
    }
    collected.join("\n").trim().to_string()
}

fn announces_archive(line: &str) -> bool {
    ARCHIVED.find_iter(line).any(|m| {
        let before: Vec<char> = line[..m.start()].chars().rev().take(3).collect();
        !before.iter().any(|c| NEGATIONS.contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(definition: &str, scope: Option<&str>) -> Structured {
        Structured::ProblemDefinition {
            definition: definition.to_string(),
            scope: scope.map(str::to_string),
        }
    }

    #[test]
    fn recognises_template_messages_in_both_languages() {
        let cases: Vec<(&str, &str, Vec<Structured>)> = vec![
            (
                "zh definition with scope stops at the template's closing sentence",
                "陈女士，您好：\n问题定义：\n激活失败。\n问题范围：\n协助用户分析。\n接下来，我们将开始合作解决这个问题。\n排查问题：\n请检查。",
                vec![definition("激活失败。", Some("协助用户分析。"))],
            ),
            (
                "en definition with inline text and scope ending at a blank line",
                "Dear Ms Chen,\n\nProblem definition: Offline activation fails with \"Device marker binding is Invalid\".\nScope:\nHelp the customer find the cause.\n\nRegards",
                vec![definition(
                    "Offline activation fails with \"Device marker binding is Invalid\".",
                    Some("Help the customer find the cause."),
                )],
            ),
            (
                "definition over several lines is kept whole",
                "问题定义：\n激活失败。\n提示SN已被使用。\n问题范围：协助分析。",
                vec![definition("激活失败。\n提示SN已被使用。", Some("协助分析。"))],
            ),
            (
                "scope alone is a re-scoping",
                "您好：\n问题范围：\n协助用户为边缘计算设备寻找激活方案。\n",
                vec![Structured::ProblemScope { scope: "协助用户为边缘计算设备寻找激活方案。".to_string() }],
            ),
            (
                "zh escalation notice",
                "陈女士，您好：\n我们已将此问题进行升级处理， 具体原因还在分析中。",
                vec![Structured::Escalation { note: "我们已将此问题进行升级处理， 具体原因还在分析中。".to_string() }],
            ),
            (
                "zh escalation to R&D",
                "您好，该问题已升级给研发处理。",
                vec![Structured::Escalation { note: "您好，该问题已升级给研发处理。".to_string() }],
            ),
            (
                "en escalation",
                "Hi,\nWe have escalated this case to engineering and will update you.",
                vec![Structured::Escalation {
                    note: "We have escalated this case to engineering and will update you.".to_string(),
                }],
            ),
            (
                "resolution heading",
                "Resolution:\nRe-enter the SN after filling in the baseboard serial number.\n\nThe activation then succeeds.",
                vec![Structured::Resolution {
                    resolution: "Re-enter the SN after filling in the baseboard serial number.\n\nThe activation then succeeds."
                        .to_string(),
                }],
            ),
            (
                "en case summary takes everything after the heading",
                "We have archived this case.\nCase summary:\nProblem definition:\nActivation fails.\nProgress:\nHanded to presales.",
                vec![Structured::ArchiveSummary {
                    summary: "Problem definition:\nActivation fails.\nProgress:\nHanded to presales.".to_string(),
                }],
            ),
            (
                "archive announcement without a summary heading",
                "陈女士，您好：\n经您同意暂时归档此案例。",
                vec![Structured::ArchiveSummary { summary: "陈女士，您好：\n经您同意暂时归档此案例。".to_string() }],
            ),
            (
                "quoted definition in a customer reply is not recognised",
                "好的，收到。\n\n在 2022年4月7日 14:05，Wang Binbin 写道：\n> 问题定义：\n> 激活失败。\n",
                vec![],
            ),
        ];
        for (name, body, expected) in cases {
            assert_eq!(recognise(body), expected, "case: {name}");
        }
    }

    #[test]
    fn ordinary_messages_are_not_mistaken_for_structured_ones() {
        let cases = [
            (
                "customer upgraded software",
                "我们已将系统升级至最新版本，问题依旧。",
            ),
            (
                "upgrade log mentioned",
                "请勾选激活日志和升级日志之后点击收集。",
            ),
            ("upgrade before failure", "终端升级后激活失败，请帮忙看看。"),
            (
                "customer asks to escalate",
                "Please escalate this to engineering.",
            ),
            (
                "customer upgraded in english",
                "We upgraded to 1.2 and it still fails.",
            ),
            (
                "customer refuses archiving",
                "请不要暂时归档此案例，问题还没解决。",
            ),
            (
                "presales hand-off is not an event here",
                "还请售前协助联系升腾，为边缘计算设备寻求其他可行的激活方案。",
            ),
            (
                "a colon after a heading word mid-sentence",
                "我谨在此阐述问题涉及的范围定义：",
            ),
            ("empty body", ""),
        ];
        for (name, body) in cases {
            assert_eq!(recognise(body), vec![], "case: {name}");
        }
    }
}
