//! Which case does a mail belong to? The rules, in the order they are tried. Each is one function;
//! the first that answers wins and its name is stored on the message (`thread_method`), so an
//! agent can always see *why* a mail landed where it did.
//!
//! Subject text alone never threads a mail: two customers both writing "Activation failed" are two
//! cases. A case token in the subject only counts when the sender belongs to the case.

use diesel::prelude::*;

use crate::cases::CaseNumber;
use crate::db::DbConn;
use crate::db::schema::{cases, participants};
use crate::mail::message_id;

/// How a message was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadMethod {
    /// Rule a: a Casebook-signed Message-ID in In-Reply-To/References.
    SignedMessageId,
    /// Rule b: the Message-ID of a message already on a case.
    KnownMessageId,
    /// Rule c: the case token in the subject, from a participant or the customer's domain.
    SubjectToken,
    /// Rule d: a token from someone outside the case (or of an unknown case): a new case.
    NewCaseFromForeignToken,
    /// Rule e: nothing matched: a new case.
    NewCase,
    /// Imported from a transcript export.
    Transcript,
    /// Written in Casebook (replies and notes).
    Composed,
}

impl ThreadMethod {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadMethod::SignedMessageId => "signed_message_id",
            ThreadMethod::KnownMessageId => "known_message_id",
            ThreadMethod::SubjectToken => "subject_token",
            ThreadMethod::NewCaseFromForeignToken => "new_case_foreign_token",
            ThreadMethod::NewCase => "new_case",
            ThreadMethod::Transcript => "transcript",
            ThreadMethod::Composed => "composed",
        }
    }
}

/// What the rules need to know about a mail.
#[derive(Debug, Clone, Copy)]
pub struct ThreadInput<'a> {
    /// In-Reply-To ids.
    pub in_reply_to: &'a [String],
    /// References ids, oldest first.
    pub references: &'a [String],
    /// Subject as decoded.
    pub subject: &'a str,
    /// Sender address, lower case.
    pub from_email: &'a str,
    /// The sender is support staff (an account or a support domain): staff forward and copy
    /// customer mail into the support mailbox, and may use any case's token.
    pub sender_is_staff: bool,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadDecision {
    /// The existing case, or `None` to open a new one.
    pub case_id: Option<i64>,
    /// Which rule decided.
    pub method: ThreadMethod,
    /// For rule d: the real case the foreign token named (linked as a possible duplicate).
    pub possible_duplicate_of: Option<i64>,
}

/// Runs the rules in order.
pub fn thread(
    conn: &mut DbConn,
    secret: &[u8],
    mail: &ThreadInput<'_>,
) -> QueryResult<ThreadDecision> {
    let found = |case_id, method| ThreadDecision {
        case_id: Some(case_id),
        method,
        possible_duplicate_of: None,
    };
    if let Some(id) = by_signed_message_id(conn, secret, mail)? {
        return Ok(found(id, ThreadMethod::SignedMessageId));
    }
    if let Some(id) = by_known_message_id(conn, mail)? {
        return Ok(found(id, ThreadMethod::KnownMessageId));
    }
    match by_subject_token(conn, mail)? {
        TokenMatch::Accepted(id) => Ok(found(id, ThreadMethod::SubjectToken)),
        TokenMatch::Foreign(dup) => Ok(ThreadDecision {
            case_id: None,
            method: ThreadMethod::NewCaseFromForeignToken,
            possible_duplicate_of: dup,
        }),
        TokenMatch::NoToken => Ok(ThreadDecision {
            case_id: None,
            method: ThreadMethod::NewCase,
            possible_duplicate_of: None,
        }),
    }
}

/// Referenced ids, nearest ancestor first: In-Reply-To, then References from the newest back.
fn referenced_ids<'a>(mail: &ThreadInput<'a>) -> Vec<&'a str> {
    let mut ids: Vec<&str> = mail.in_reply_to.iter().map(String::as_str).collect();
    ids.extend(mail.references.iter().rev().map(String::as_str));
    ids.dedup();
    ids
}

/// Rule a. Our own outbound Message-IDs carry an HMAC of the case number; a reply quoting one is
/// the strongest evidence there is, and a forged one simply fails verification.
fn by_signed_message_id(
    conn: &mut DbConn,
    secret: &[u8],
    mail: &ThreadInput<'_>,
) -> QueryResult<Option<i64>> {
    for id in referenced_ids(mail) {
        if let Some(number) = message_id::verify(secret, id)
            && let Some(case_id) = case_id_by_number(conn, &number)?
        {
            return Ok(Some(case_id));
        }
    }
    Ok(None)
}

/// Rule b. Any message already on a case, named in In-Reply-To **or anywhere in References**
/// (mail clients that drop In-Reply-To, or a customer replying to a colleague's CC copy).
fn by_known_message_id(conn: &mut DbConn, mail: &ThreadInput<'_>) -> QueryResult<Option<i64>> {
    // One indexed lookup per id, nearest first: the statement has a fixed shape, so it is prepared
    // once per connection (an `IN (…)` list of varying length would be re-parsed for every mail).
    for id in referenced_ids(mail) {
        if let Some(case_id) = crate::cases::messages::Message::exists_message_id(conn, id)? {
            return Ok(Some(follow_merges(conn, case_id)?));
        }
    }
    Ok(None)
}

enum TokenMatch {
    Accepted(i64),
    Foreign(Option<i64>),
    NoToken,
}

/// Mail providers whose domains many unrelated people share; sharing one says nothing.
const SHARED_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "qq.com",
    "foxmail.com",
    "163.com",
    "126.com",
    "yeah.net",
    "sina.com",
    "sina.cn",
    "sohu.com",
    "aliyun.com",
    "139.com",
    "189.cn",
];

fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

/// Rule c (and d). The token is accepted only from a participant of that case, from the
/// customer's own organisation (not a shared webmail domain), or from staff: anyone can type a
/// case number into a subject.
fn by_subject_token(conn: &mut DbConn, mail: &ThreadInput<'_>) -> QueryResult<TokenMatch> {
    let Some(number) = super::subject::find_case_token(mail.subject) else {
        return Ok(TokenMatch::NoToken);
    };
    let Some(case_id) = case_id_by_number(conn, &number)? else {
        return Ok(TokenMatch::Foreign(None));
    };
    let from = mail.from_email;
    let is_participant: bool = diesel::select(diesel::dsl::exists(
        participants::table
            .filter(participants::case_id.eq(case_id))
            .filter(participants::email.eq(from)),
    ))
    .get_result(conn)?;
    let customer: String = cases::table
        .find(case_id)
        .select(cases::customer_email)
        .first(conn)?;
    let from_domain = domain_of(from);
    let same_org = !from_domain.is_empty()
        && from_domain.eq_ignore_ascii_case(domain_of(&customer))
        && !SHARED_MAIL_DOMAINS.contains(&from_domain.to_ascii_lowercase().as_str());
    if is_participant || same_org || mail.sender_is_staff {
        Ok(TokenMatch::Accepted(case_id))
    } else {
        Ok(TokenMatch::Foreign(Some(case_id)))
    }
}

fn case_id_by_number(conn: &mut DbConn, number: &CaseNumber) -> QueryResult<Option<i64>> {
    let id: Option<i64> = cases::table
        .filter(cases::number.eq(number.as_str()))
        .select(cases::id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => Ok(Some(follow_merges(conn, id)?)),
        None => Ok(None),
    }
}

/// A merged case forwards to the case it was merged into.
pub fn follow_merges(conn: &mut DbConn, mut case_id: i64) -> QueryResult<i64> {
    for _ in 0..16 {
        let next: Option<i64> = crate::db::conn::on_backend!(conn, c => cases::table
            .find(case_id)
            .select(cases::merged_into_id)
            .first(c))?;
        match next {
            Some(n) if n != case_id => case_id = n,
            _ => break,
        }
    }
    Ok(case_id)
}
