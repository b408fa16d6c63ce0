//! Subject lines: finding the case token people keep (in whatever brackets their client or colleague chose)
//! and recovering the human title under the reply prefixes, the token and transcript tags.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::cases::number::CaseNumber;

/// What an empty title becomes, so lists never show a blank row.
pub const NO_SUBJECT: &str = "(no subject)";

/// Reply and forward prefixes in the languages our customers write, repeated and mixed
/// (`回复: Re: FW: …`), with the optional counters some clients add (`Re[2]:`) and either colon width.
static REPLY_PREFIXES: LazyLock<Regex> = LazyLock::new(|| {
    // Provably valid: a constant pattern exercised by the unit tests.
    Regex::new(
        r"(?i)^(?:\s*(?:re|fwd?|aw|wg|sv|vs|antw|tr|rv|回复|答复|回覆|答覆|转发|轉寄|转寄|轉發|自动回复|automatic reply)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    )
    .expect("reply prefix pattern is valid")
});

/// A bare case number. The ASCII word boundaries (`(?-u:\b)`) let a number touch CJK text (`案例号CAS-…`), which
/// Unicode boundaries would reject because CJK characters count as word characters.
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    // Provably valid: a constant pattern exercised by the unit tests.
    Regex::new(r"(?i)(?-u:\b)cas-\d{5,}-[0-9a-z]{6}(?-u:\b)").expect("token pattern is valid")
});

/// The token with whatever wraps it: brackets of any width and an optional label such as `案例号:`.
static WRAPPED_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    // Provably valid: a constant pattern exercised by the unit tests.
    Regex::new(
        r"(?i)[\[【(（〔]\s*(?:(?:案例号|案例編號|案例编号|案例|工单号|工单|case\s*(?:no\.?|number|#)?|ticket)\s*[:：#]?\s*)?cas-\d{5,}-[0-9a-z]{6}\s*[\]】)）〕]|(?:(?:案例号|case)\s*[:：#]?\s*)?(?-u:\b)cas-\d{5,}-[0-9a-z]{6}(?-u:\b)",
    )
    .expect("wrapped token pattern is valid")
});

/// The transcript export's tag block: `% |普通事件|升腾OEM|title % trailer`.
static TAG_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    // Provably valid: a constant pattern exercised by the unit tests.
    Regex::new(r"^%([^%]*)%").expect("tag block pattern is valid")
});

/// Finds the first case number in `subject`, in any of the forms people produce: `[CAS-06004-S8K5X3]`,
/// `[案例号: CAS-… ]`, `【CAS-…】`, `(CAS-…)`, bare, lower case, full-width letters, behind any reply prefixes.
pub fn find_case_token(subject: &str) -> Option<CaseNumber> {
    let subject = fold_full_width(subject);
    TOKEN
        .find_iter(&subject)
        .find_map(|m| CaseNumber::parse(m.as_str()).ok())
}

/// Removes leading reply and forward prefixes, however many and in whichever languages.
pub fn strip_reply_prefixes(subject: &str) -> &str {
    match REPLY_PREFIXES.find(subject) {
        Some(m) => &subject[m.end()..],
        None => subject.trim_start(),
    }
}

/// The human title of a subject: no reply prefixes, no case token, no transcript tags or trailer, whitespace
/// collapsed. The seed subject `回复: Re: [案例号: CAS-06004-S8K5X3 ] % |普通事件|升腾OEM|CMGE版本激活失败问题 % 初次响应
/// CMIT:0001121` gives `CMGE版本激活失败问题`. An empty result is [`NO_SUBJECT`].
pub fn clean_title(subject: &str) -> String {
    let mut current: Cow<'_, str> = Cow::Borrowed(subject);
    // A prefix can hide behind the token (`[CAS-…] RE: …`), so strip until nothing changes; three rounds cover
    // every real subject and bound the work on adversarial ones.
    for _ in 0..3 {
        let stripped = strip_reply_prefixes(&current);
        let without_token = WRAPPED_TOKEN.replace_all(stripped, " ");
        let next = strip_reply_prefixes(without_token.trim())
            .trim()
            .to_string();
        if next == current.as_ref() {
            break;
        }
        current = Cow::Owned(next);
    }
    let title = match TAG_BLOCK.captures(&current) {
        // The last tag segment is the title; the segments before it are priority and product labels.
        Some(caps) => caps
            .get(1)
            .map(|tags| tags.as_str())
            .unwrap_or_default()
            .rsplit('|')
            .map(str::trim)
            .find(|segment| !segment.is_empty())
            .unwrap_or_default()
            .to_string(),
        None => current.into_owned(),
    };
    let collapsed = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        NO_SUBJECT.to_string()
    } else {
        collapsed
    }
}

/// Maps full-width ASCII (`ＣＡＳ－０６００４`, typed with a CJK input method) to ASCII so the token is found.
fn fold_full_width(s: &str) -> Cow<'_, str> {
    const FULL_WIDTH: std::ops::RangeInclusive<char> = '\u{FF01}'..='\u{FF5E}';
    if !s.chars().any(|c| FULL_WIDTH.contains(&c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if FULL_WIDTH.contains(&c) {
                    // The full-width block mirrors ASCII 0x21..=0x7E at a fixed offset.
                    char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
                } else {
                    c
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "回复: Re: [案例号: CAS-06004-S8K5X3 ] % |普通事件|升腾OEM|CMGE版本激活失败问题 % 初次响应 CMIT:0001121";

    #[test]
    fn finds_the_token_in_every_form_people_write() {
        let subjects = [
            "[CAS-06004-S8K5X3]",
            "[案例号: CAS-06004-S8K5X3 ]",
            "[案例号：CAS-06004-S8K5X3]",
            "【CAS-06004-S8K5X3】",
            "(CAS-06004-S8K5X3)",
            "（CAS-06004-S8K5X3）",
            "CAS-06004-S8K5X3",
            "cas-06004-s8k5x3 activation",
            "Re: RE: 回复: 回复：答复: 转发: Fw: FWD: AW: WG: [CAS-06004-S8K5X3] x",
            "回复：[案例号：CAS-06004-S8K5X3] 激活失败",
            "案例号CAS-06004-S8K5X3激活失败",
            "ＣＡＳ－０６００４－Ｓ８Ｋ５Ｘ３",
            SEED,
        ];
        for subject in subjects {
            let token = find_case_token(subject).map(|n| n.to_string());
            assert_eq!(token.as_deref(), Some("CAS-06004-S8K5X3"), "{subject}");
        }
    }

    #[test]
    fn rejects_subjects_without_a_valid_token() {
        for subject in [
            "",
            "Re: activation failed",
            "CAS-0600-S8K5X3",
            "CAS-06004-S8K5X",
            "XCAS-06004-S8K5X3Y",
        ] {
            assert_eq!(find_case_token(subject), None, "{subject}");
        }
    }

    #[test]
    fn first_of_several_tokens_wins() {
        let n = find_case_token("Re: [CAS-00001-AAAAAA] merged into [CAS-00002-BBBBBB]");
        assert_eq!(
            n.map(|n| n.to_string()).as_deref(),
            Some("CAS-00001-AAAAAA")
        );
    }

    #[test]
    fn strips_repeated_and_mixed_reply_prefixes() {
        let cases = [
            ("Re: hello", "hello"),
            ("RE: re: Fw: FWD: hello", "hello"),
            ("回复: Re: 回复：答复: 转发: hello", "hello"),
            ("AW: WG: SV: hello", "hello"),
            ("Re[2]: hello", "hello"),
            ("  hello", "hello"),
            ("Regarding: hello", "Regarding: hello"),
            ("Review meeting", "Review meeting"),
        ];
        for (subject, expected) in cases {
            assert_eq!(strip_reply_prefixes(subject), expected, "{subject}");
        }
    }

    #[test]
    fn clean_title_keeps_only_the_human_title() {
        let cases = [
            (SEED, "CMGE版本激活失败问题"),
            (
                "Re: [CAS-06004-S8K5X3] activation failed",
                "activation failed",
            ),
            (
                "回复：答复: 【CAS-06004-S8K5X3】 CMGE版本激活失败问题",
                "CMGE版本激活失败问题",
            ),
            (
                "[CAS-06004-S8K5X3] RE: activation   failed",
                "activation failed",
            ),
            (
                "RE: FW: re: cas-06004-s8k5x3 activation failed",
                "activation failed",
            ),
            ("activation failed (CAS-06004-S8K5X3)", "activation failed"),
            ("% |普通事件|标题 %", "标题"),
            ("Re: ", NO_SUBJECT),
            ("", NO_SUBJECT),
            ("Re: [案例号: CAS-06004-S8K5X3 ]", NO_SUBJECT),
            ("50% off | today only", "50% off | today only"),
        ];
        for (subject, expected) in cases {
            assert_eq!(clean_title(subject), expected, "{subject}");
        }
    }
}
