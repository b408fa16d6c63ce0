//! Customer chasers: mail from the customer that only asks whether there is news ("有新进展吗？",
//! "Any update?") while the case waits on the team — a direct measure of customer pain.
//!
//! A message is a chaser when
//! - it is customer mail (`inbound`, not an automatic reply), received in the range;
//! - it was sent while the team owed an answer: a first- or next-response clock of the case started
//!   before it and was not met by then (the stored clocks, not the thread, say so);
//! - its new text (`messages.new_text`: quotes, "在 … 写道：" blocks and signatures already
//!   stripped at ingest) is short and, clause by clause, only greetings, thanks, a name under them,
//!   and at least one progress question ([`is_progress_chaser`]).
//!
//! The first two are SQL over indexed columns; only short texts (at most [`MAX_TEXT_CHARS`]
//! characters) of such messages reach the classifier, at most [`MAX_CANDIDATES`] per range.

use std::sync::LazyLock;

use diesel::QueryResult;
use diesel::sql_types::{BigInt, Text};
use regex::Regex;

use super::sql::{Sql, Value, in_scope};
use crate::cases::filters::{CaseScope, DateRange};
use crate::cases::messages::INBOUND;
use crate::db::DbConn;
use crate::workflow::sla::SlaMetric;

/// Longer new texts say more than "any news?" and are not read.
pub const MAX_TEXT_CHARS: i64 = 200;

/// Candidate messages read per range; a range with more is reported as capped.
pub const MAX_CANDIDATES: i64 = 5_000;

/// The chasers of a range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chasers {
    /// `(message id, case id)` of each chaser, oldest first.
    pub messages: Vec<(i64, i64)>,
    /// Short customer messages read and classified.
    pub candidates: usize,
    /// Whether [`MAX_CANDIDATES`] was reached (later messages of the range were not read).
    pub capped: bool,
}

impl Chasers {
    /// The chased cases, each once, in id order.
    pub fn case_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.messages.iter().map(|(_, case)| *case).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

#[derive(diesel::QueryableByName)]
struct Candidate {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    case_id: i64,
    #[diesel(sql_type = Text)]
    new_text: String,
}

/// The chasers received in `range` on the cases of `scope`.
pub fn chased_cases(
    conn: &mut DbConn,
    range: &DateRange,
    scope: &CaseScope,
) -> QueryResult<Chasers> {
    let mut sql = Sql::new(&format!(
        "SELECT m.id AS id, m.case_id AS case_id, m.new_text AS new_text FROM messages m \
         JOIN cases ON cases.id = m.case_id WHERE m.direction = '{INBOUND}' AND m.auto = "
    ));
    sql.bind(Value::Bool(false))
        .push(" AND m.received_at >= ")
        .bind(Value::Time(range.start))
        .push(" AND m.received_at < ")
        .bind(Value::Time(range.end))
        .push(" AND LENGTH(m.new_text) <= ")
        .bind(Value::Int(MAX_TEXT_CHARS))
        .append(&in_scope(scope))
        .push(&format!(
            " AND EXISTS (SELECT 1 FROM sla_clocks k WHERE k.case_id = m.case_id \
             AND k.metric IN ('{}', '{}') AND k.started_at < m.received_at \
             AND (k.met_at IS NULL OR k.met_at > m.received_at)) \
             ORDER BY m.received_at, m.id LIMIT ",
            SlaMetric::FirstResponse.as_str(),
            SlaMetric::NextResponse.as_str()
        ))
        .bind(Value::Int(MAX_CANDIDATES));
    let rows: Vec<Candidate> = sql.load(conn)?;
    Ok(Chasers {
        capped: rows.len() as i64 >= MAX_CANDIDATES,
        candidates: rows.len(),
        messages: rows
            .into_iter()
            .filter(|c| is_progress_chaser(&c.new_text))
            .map(|c| (c.id, c.case_id))
            .collect(),
    })
}

/// What one clause of a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    /// "Hi", "Dear Ms Chen", "您好", "王工，您好" (the name part is its own clause).
    Greeting,
    /// "Thanks", "Best regards", "谢谢", "辛苦了".
    Thanks,
    /// "Any update?", "有新进展吗".
    Progress,
    /// Could be a person's name: one to three capitalised words, or two to four CJK characters.
    Name,
    /// Anything else: the message says more than a chaser.
    Other,
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, compiled by the unit tests.
    Regex::new(pattern).expect("chaser pattern")
}

static GREETING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:hi|hello|hey|hiya|dear|greetings|good (?:morning|afternoon|evening|day))(?: [a-z.]+){0,3}$|^(?:.{0,4})(?:您好|你好|早上好|上午好|下午好|晚上好|大家好)(?:啊|呀)?$|^(?:尊敬的)?.{0,6}(?:经理|工程师|老师|先生|女士)(?:您好|你好)?$",
    )
});

static THANKS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:(?:many )?thanks(?: a lot| so much| in advance| again)?|thank you(?: (?:so|very) much)?(?: in advance)?|thx|ty|tia|cheers|regards|best regards|kind regards|warm regards|best wishes|best|br|sincerely|yours(?: sincerely| truly)?|(?:sent from my [a-z]+))$|^(?:非常|十分|万分)?(?:谢谢|感谢|多谢)(?:您|你|你们|各位)?(?:了|啦|哈)?$|^辛苦(?:了|啦|您了|你们了)?$|^麻烦(?:您|你|你们)?了$|^(?:此致|敬礼|此致敬礼|祝好|顺祝商祺|祝工作顺利|期待回复|期待您的回复|盼复)$",
    )
});

static PROGRESS_EN: LazyLock<Regex> = LazyLock::new(|| {
    let about = r"(?: (?:on|for|about|regarding) (?:this|that|it|the (?:case|ticket|issue|request|problem)|my (?:case|ticket|issue|request|problem)))?";
    re(&format!(
        r"^(?:(?:is there|are there|do you have|have you got|got|any chance of) )?(?:any|some|an) (?:update|updates|news|progress|feedback|luck){about}(?: yet| so far| now)?$|^(?:what'?s|what is|whats) the (?:status|progress|latest|update){about}(?: now| so far)?$|^(?:following|checking) (?:up|in|back){about}$|^(?:can|could|would) you (?:give|provide|send|share) (?:me |us )?(?:an |a |some )?(?:update|updates|status update|status){about}$|^(?:update|advise|status|bump|ping|news)$|^how (?:is|are) (?:it|this|things|my case|the case|the ticket) (?:going|progressing|coming along)$|^(?:still )?waiting (?:for|on) (?:your |an |a )?(?:reply|response|update|answer|news)$|^(?:has there been|was there) any progress{about}$|^(?:is )?(?:this|it|my case|the case) (?:resolved|fixed|solved) yet$"
    ))
});

static PROGRESS_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:现在|目前|请问现在|今天)?(?:有|有没有|有什么|有啥)(?:新的|新|最新的?|一些|什么)?(?:进展|进度|消息|结果|回复|答复|更新|反馈|动态|情况)(?:了)?(?:吗|么|嘛|没有|没|呢)?$|^(?:现在|目前)?(?:的)?(?:进展|进度|情况|处理情况|处理进度|结果)(?:如何|怎么样|怎样|咋样)?(?:了)?(?:呢|啊|呀)?$|^(?:这个|我的|我们的)?(?:问题|案例|工单|事情|事)?(?:现在)?(?:处理|解决|进行)?(?:得)?(?:怎么样|如何|咋样|到哪一步|到哪了|到哪里)(?:了)?(?:呢|啊|呀)?$|^(?:麻烦|请|请您|麻烦您)?(?:尽快|抓紧|赶紧|早点)(?:处理|回复|答复|解决|跟进|看看|看一下)?(?:一下)?(?:吧)?$|^(?:麻烦|请)?(?:催一下|催催|跟进一下|跟进下)(?:进展|进度)?$|^(?:还|我们还|我还)?(?:在)?等(?:待)?(?:着)?(?:你们|您|你)?(?:的)?(?:回复|答复|消息|结果)(?:呢)?$|^(?:问题|这个问题)?(?:解决|处理)(?:了)?(?:吗|没有|没)$",
    )
});

/// Words people put around a progress question that change nothing: "please", "just", "请问" …
static FILLER_EN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:please|pls|plz|kindly|just|again|sorry to bother(?: you)?|sorry for (?:bothering|the bother)|hi|hello|hey)\b",
    )
});
static FILLER_ZH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:请问一下|请问|想问一下|问一下|打扰一下|打扰了|不好意思|您好|你好)+|(?:一下|谢谢|谢谢了|啊|呀|哈|哦|～|~)+$",
    )
});

fn is_cjk_text(text: &str) -> bool {
    text.chars().any(crate::cases::search::is_cjk)
}

fn classify(original: &str) -> Clause {
    let lower = original.to_lowercase();
    let spaced = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    if GREETING.is_match(&spaced) || GREETING.is_match(&spaced.replace(' ', "")) {
        return Clause::Greeting;
    }
    if THANKS.is_match(&spaced) || THANKS.is_match(&spaced.replace(' ', "")) {
        return Clause::Thanks;
    }
    if is_cjk_text(&spaced) {
        let compact = spaced.replace(' ', "");
        let core = FILLER_ZH.replace_all(&compact, "");
        if !core.is_empty() && PROGRESS_ZH.is_match(&core) {
            return Clause::Progress;
        }
        let n = compact.chars().count();
        if (2..=4).contains(&n) && compact.chars().all(crate::cases::search::is_cjk) {
            return Clause::Name;
        }
        return Clause::Other;
    }
    let core = FILLER_EN.replace_all(&spaced, " ");
    let core = core.split_whitespace().collect::<Vec<_>>().join(" ");
    if !core.is_empty() && PROGRESS_EN.is_match(&core) {
        return Clause::Progress;
    }
    if is_signature_name(original) {
        return Clause::Name;
    }
    Clause::Other
}

/// A line that can only be a name under a message: two or three CJK characters, or one to three
/// capitalised words.
fn is_signature_name(line: &str) -> bool {
    let n = line.chars().count();
    if line.chars().all(crate::cases::search::is_cjk) {
        return (2..=3).contains(&n);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    (1..=3).contains(&words.len())
        && words.iter().all(|w| {
            let mut chars = w.trim_end_matches('.').chars();
            chars.next().is_some_and(char::is_uppercase) && chars.all(char::is_alphabetic)
        })
}

/// Whether a message's new text only asks for progress: after greetings at the start (with the
/// name of whom they greet), thanks and sign-offs at the end (with the sender's name under them),
/// what is left is one or more progress questions and perhaps a thank-you between them.
pub fn is_progress_chaser(new_text: &str) -> bool {
    if new_text.chars().count() as i64 > MAX_TEXT_CHARS {
        return false;
    }
    // A name alone on the last line signs the message ("有新进展吗？\n\n陈慧").
    let lines: Vec<&str> = new_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let text = match lines.split_last() {
        Some((last, rest)) if !rest.is_empty() && is_signature_name(last) => rest.join("\n"),
        _ => new_text.to_string(),
    };
    let mut clauses: Vec<Clause> = text
        .split(|c: char| {
            matches!(
                c,
                '\n' | '\r'
                    | ','
                    | '.'
                    | ';'
                    | ':'
                    | '!'
                    | '?'
                    | '，'
                    | '。'
                    | '；'
                    | '：'
                    | '！'
                    | '？'
                    | '、'
                    | '…'
                    | '('
                    | ')'
                    | '（'
                    | '）'
                    | '"'
                    | '“'
                    | '”'
                    | '-'
                    | '—'
            )
        })
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(classify)
        .collect();
    // Greetings first: "您好", "Hi John", "王工，您好".
    loop {
        match clauses.as_slice() {
            [Clause::Greeting, ..] => {
                clauses.remove(0);
            }
            [Clause::Name, Clause::Greeting, ..] => {
                clauses.drain(..2);
            }
            _ => break,
        }
    }
    // Thanks and sign-offs last, with the name under them: "Thanks, John", "谢谢！陈慧".
    loop {
        match clauses.as_slice() {
            [.., Clause::Thanks] => {
                clauses.pop();
            }
            [.., Clause::Thanks, Clause::Name] => {
                clauses.truncate(clauses.len() - 2);
            }
            _ => break,
        }
    }
    clauses.contains(&Clause::Progress)
        && clauses
            .iter()
            .all(|c| matches!(c, Clause::Progress | Clause::Thanks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_progress_questions_are_chasers() {
        for text in [
            "有新进展吗",
            "有新进展吗？",
            "您好，有进展吗？",
            "王工，您好！请问有新进展吗？谢谢",
            "进展如何？",
            "请问现在进展怎么样了？",
            "有没有进展",
            "有什么新进展吗？\n\n陈慧",
            "问题处理得怎么样了？",
            "怎么样了",
            "麻烦尽快处理一下，谢谢！",
            "还在等你们的回复",
            "有结果了吗？辛苦了",
            "您好：\n有最新消息吗？\n谢谢！\n陈慧",
            "进展呢？",
        ] {
            assert!(is_progress_chaser(text), "{text:?} is a chaser");
        }
    }

    #[test]
    fn english_progress_questions_are_chasers() {
        for text in [
            "Any update?",
            "any news",
            "Hi, any update on this? Thanks, John",
            "Hello team,\nIs there any progress on my case?\nBest regards,\nChen Hui",
            "What's the status?",
            "Just following up on this.",
            "Could you please provide an update?",
            "Any updates yet?",
            "Dear Support, any news? Thank you!",
            "Still waiting for a reply.",
            "How is it going?",
            "Checking in - any update? Thx",
        ] {
            assert!(is_progress_chaser(text), "{text:?} is a chaser");
        }
    }

    #[test]
    fn messages_that_say_more_than_a_progress_question_are_not_chasers() {
        for text in [
            "",
            "谢谢",
            "Thanks!",
            "日志已上传，请帮忙确认具体原因。",
            "有新进展吗？另外，另一台电脑也出现了同样的报错。",
            "我们重启了服务器，有进展吗",
            "Any update? The second laptop fails with the same error now.",
            "Reboot failed, any update?",
            "The license key was rejected again.",
            "Please find the logs attached.",
            "Hi, any update? We tried again and got error 0xC004F074 on the KMS host.",
            "重启失败",
            "有进展吗？\n重启失败",
            "Any update?\nReboot failed",
        ] {
            assert!(!is_progress_chaser(text), "{text:?} is not a chaser");
        }
        let long = format!("有新进展吗？{}", "谢谢".repeat(120));
        assert!(!is_progress_chaser(&long), "long texts are not read");
    }

    #[test]
    fn only_the_new_text_counts_not_the_quoted_history() {
        let body = "有新进展吗？\n\n在 2022年4月21日 17:45，Wang Binbin <wangbb@cmgos.com> 写道：\n> 陈女士，您好：\n> 请您按照如下步骤收集日志。\n> 1) 首先，在有问题的计算机上下载附件zip文件并解压。\n";
        let new_text = crate::ingest::quote::extract_new_text(body);
        assert!(is_progress_chaser(&new_text), "{new_text:?}");
        assert!(!is_progress_chaser(body), "the quote says more");
        let body = "Any update?\n\nOn Tue, 21 Apr 2022 at 17:45, Wang Binbin <wangbb@cmgos.com> wrote:\n> Please collect the logs as follows.\n> 1) Download the zip file.\n";
        let new_text = crate::ingest::quote::extract_new_text(body);
        assert!(is_progress_chaser(&new_text), "{new_text:?}");
    }
}
