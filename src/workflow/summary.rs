//! The case summary (案例总结) pre-filled for the archive form, in the section order support already uses:
//! problem definition, scope, progress, next steps.

use crate::i18n::Lang;
use crate::web::catalog::builtin;

/// Drafts a case summary from what the case already records, for the agent to edit before archiving.
///
/// Empty sections stay in place with a blank body so the agent sees what is expected. Findings become a
/// bulleted list (continuation lines indented under their bullet); the resolution closes the progress
/// section as the outcome, and when there is one the next steps say the case can be reopened by replying.
pub fn draft_summary(
    definition: Option<&str>,
    scope: Option<&str>,
    findings: &[&str],
    resolution: Option<&str>,
    lang: Lang,
) -> String {
    let definition = non_blank(definition);
    let scope = non_blank(scope);
    let resolution = non_blank(resolution);
    let text = builtin(lang);

    let mut progress: Vec<String> = findings
        .iter()
        .filter_map(|f| non_blank(Some(f)))
        .map(bullet)
        .collect();
    if let Some(outcome) = resolution {
        progress.push(text.t("summary.outcome").replace("{outcome}", outcome));
    }

    let next_steps = match resolution {
        Some(_) => text.t("summary.resolved_next_steps"),
        None => "",
    };

    let sections = [
        (
            text.t("summary.definition"),
            definition.unwrap_or("").to_string(),
        ),
        (text.t("summary.scope"), scope.unwrap_or("").to_string()),
        (text.t("summary.progress"), progress.join("\n")),
        (text.t("summary.next_steps"), next_steps.to_string()),
    ];
    let mut out = String::new();
    for (heading, body) in sections {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(heading);
        out.push('\n');
        out.push_str(&body);
    }
    out.push('\n');
    out
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// One finding as a bullet; later lines are indented so a multi-line finding stays one item.
fn bullet(finding: &str) -> String {
    finding
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                format!("- {line}")
            } else {
                format!("  {line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_drafts_every_section_from_the_case_record() {
        let cases = [
            (
                Lang::ZhCn,
                "问题定义：\n用户反馈离线激活失败。\n\n问题范围：\n协助用户分析上述问题。\n\n问题进展：\n- 主板序列号异常\n- 日志显示 SN 已绑定\n  另一台设备\n结果：解绑后激活成功\n\n下一步：\n问题已解决，暂时归档。如问题复现，请直接回复此邮件，案例将重新开启。\n",
            ),
            (
                Lang::En,
                "Problem definition:\n用户反馈离线激活失败。\n\nScope:\n协助用户分析上述问题。\n\nProgress:\n- 主板序列号异常\n- 日志显示 SN 已绑定\n  另一台设备\nOutcome: 解绑后激活成功\n\nNext steps:\nResolved; archived for now. If the problem returns, reply to this mail and the case will be reopened.\n",
            ),
        ];
        for (lang, expected) in cases {
            let got = draft_summary(
                Some(" 用户反馈离线激活失败。 "),
                Some("协助用户分析上述问题。"),
                &["主板序列号异常", "  ", "日志显示 SN 已绑定\n另一台设备"],
                Some("解绑后激活成功"),
                lang,
            );
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn summary_keeps_empty_sections_for_the_agent_to_fill() {
        let cases = [
            (
                Lang::En,
                "Problem definition:\n\n\nScope:\n\n\nProgress:\n\n\nNext steps:\n\n",
            ),
            (
                Lang::ZhCn,
                "问题定义：\n\n\n问题范围：\n\n\n问题进展：\n\n\n下一步：\n\n",
            ),
        ];
        for (lang, expected) in cases {
            assert_eq!(draft_summary(None, Some("  "), &[], None, lang), expected);
        }
    }
}
