//! Messages on a case (inbound mail, outbound replies, internal notes), their attachments,
//! participants and the case timeline (events).

use diesel::prelude::*;

use crate::db::schema::{attachments, case_events, messages, participants};
use crate::db::{DbConn, now};
use crate::workflow::events::EventKind;

/// Inbound customer mail.
pub const INBOUND: &str = "inbound";
/// Mail sent to the customer.
pub const OUTBOUND: &str = "outbound";
/// Internal note, never mailed.
pub const NOTE: &str = "note";

/// A stored message.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct Message {
    /// Row id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// `inbound`, `outbound` or `note`.
    pub direction: String,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// First In-Reply-To id.
    pub in_reply_to: Option<String>,
    /// References ids, space-separated.
    pub references_ids: String,
    /// Sender address.
    pub from_email: String,
    /// Sender name.
    pub from_name: Option<String>,
    /// To addresses, comma-separated.
    pub to_addrs: String,
    /// Cc addresses, comma-separated.
    pub cc_addrs: String,
    /// Subject.
    pub subject: String,
    /// Date header.
    pub sent_at: Option<chrono::NaiveDateTime>,
    /// When Casebook received (or wrote) it.
    pub received_at: chrono::NaiveDateTime,
    /// Full text.
    pub body_text: String,
    /// What the sender wrote this time.
    pub new_text: String,
    /// Sanitised HTML.
    pub body_html: Option<String>,
    /// Automatic mail (auto-reply): folded, not a customer response.
    pub auto: bool,
    /// Which threading rule placed it.
    pub thread_method: String,
    /// Raw mail blob.
    pub raw_sha256: Option<String>,
    /// Dedup key when there is no Message-ID.
    pub content_hash: String,
    /// Staff author of outbound mail and notes.
    pub author_id: Option<i64>,
    /// Row created.
    pub created_at: chrono::NaiveDateTime,
}

impl Message {
    /// The time to show: the Date header, else the receipt time.
    pub fn date(&self) -> chrono::NaiveDateTime {
        self.sent_at.unwrap_or(self.received_at)
    }

    /// A case's messages, each with the name of the agent who wrote it (replies and notes).
    pub fn for_case_with_authors(
        conn: &mut DbConn,
        case_id: i64,
    ) -> diesel::QueryResult<Vec<(Message, Option<String>)>> {
        use crate::db::schema::users;
        use diesel::prelude::*;
        let messages = Message::for_case(conn, case_id)?;
        let mut ids: Vec<i64> = messages.iter().filter_map(|m| m.author_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let names: std::collections::HashMap<i64, String> = if ids.is_empty() {
            Default::default()
        } else {
            users::table
                .filter(users::id.eq_any(ids))
                .select((users::id, users::name))
                .load(conn)?
                .into_iter()
                .collect()
        };
        Ok(messages
            .into_iter()
            .map(|m| {
                let author = m.author_id.and_then(|id| names.get(&id).cloned());
                (m, author)
            })
            .collect())
    }

    /// A message by row id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Message>> {
        messages::table
            .find(id)
            .select(Message::as_select())
            .first(conn)
            .optional()
    }

    /// Messages of a case, oldest first.
    pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<Message>> {
        messages::table
            .filter(messages::case_id.eq(case_id))
            .order((messages::received_at.asc(), messages::id.asc()))
            .select(Message::as_select())
            .load(conn)
    }

    /// Whether a Message-ID is already stored.
    pub fn exists_message_id(conn: &mut DbConn, message_id: &str) -> QueryResult<Option<i64>> {
        // Runs for every ingested message and every id it references.
        crate::db::conn::on_backend!(conn, c => messages::table
            .filter(messages::message_id.eq(message_id))
            .select(messages::case_id)
            .first(c)
            .optional())
    }

    /// Whether a content hash is already stored (dedup for mail without a Message-ID).
    pub fn exists_content_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<i64>> {
        messages::table
            .filter(messages::content_hash.eq(hash))
            .select(messages::case_id)
            .first(conn)
            .optional()
    }
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Case.
    pub case_id: i64,
    /// Direction.
    pub direction: String,
    /// Message-ID.
    pub message_id: Option<String>,
    /// In-Reply-To.
    pub in_reply_to: Option<String>,
    /// References, space-separated.
    pub references_ids: String,
    /// From.
    pub from_email: String,
    /// From name.
    pub from_name: Option<String>,
    /// To, comma-separated.
    pub to_addrs: String,
    /// Cc, comma-separated.
    pub cc_addrs: String,
    /// Subject.
    pub subject: String,
    /// Date header.
    pub sent_at: Option<chrono::NaiveDateTime>,
    /// Receipt time.
    pub received_at: chrono::NaiveDateTime,
    /// Full text.
    pub body_text: String,
    /// New text.
    pub new_text: String,
    /// Sanitised HTML.
    pub body_html: Option<String>,
    /// Automatic.
    pub auto: bool,
    /// Threading rule.
    pub thread_method: String,
    /// Raw blob.
    pub raw_sha256: Option<String>,
    /// Dedup hash.
    pub content_hash: String,
    /// Staff author.
    pub author_id: Option<i64>,
    /// Created.
    pub created_at: chrono::NaiveDateTime,
}

/// Removes NUL characters, which PostgreSQL text cannot hold (broken mail does contain them).
pub fn strip_nul(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', ""))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

impl NewMessage {
    /// Inserts and returns the row id.
    ///
    /// Every column is bound, NULLs included: the statement then has one fixed shape that diesel
    /// prepares once per connection (the derived insert leaves absent optional columns out, which
    /// gives a different statement — built and looked up as SQL text — for each combination).
    pub fn insert(&self, conn: &mut DbConn) -> QueryResult<i64> {
        fn nul_free(s: &str) -> std::borrow::Cow<'_, str> {
            strip_nul(s)
        }
        fn nul_free_opt(s: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
            s.as_deref().map(strip_nul)
        }
        crate::db::conn::on_backend!(conn, c => diesel::insert_into(messages::table)
            .values((
                messages::case_id.eq(self.case_id),
                messages::direction.eq(&self.direction),
                messages::message_id.eq(nul_free_opt(&self.message_id)),
                messages::in_reply_to.eq(nul_free_opt(&self.in_reply_to)),
                messages::references_ids.eq(nul_free(&self.references_ids)),
                messages::from_email.eq(nul_free(&self.from_email)),
                messages::from_name.eq(nul_free_opt(&self.from_name)),
                messages::to_addrs.eq(nul_free(&self.to_addrs)),
                messages::cc_addrs.eq(nul_free(&self.cc_addrs)),
                messages::subject.eq(nul_free(&self.subject)),
                messages::sent_at.eq(self.sent_at),
                messages::received_at.eq(self.received_at),
                messages::body_text.eq(nul_free(&self.body_text)),
                messages::new_text.eq(nul_free(&self.new_text)),
                messages::body_html.eq(nul_free_opt(&self.body_html)),
                messages::auto.eq(self.auto),
                messages::thread_method.eq(&self.thread_method),
                messages::raw_sha256.eq(self.raw_sha256.as_deref()),
                messages::content_hash.eq(&self.content_hash),
                messages::author_id.eq(self.author_id),
                messages::created_at.eq(self.created_at),
            ))
            .returning(messages::id)
            .get_result(c))
    }
}

/// A stored attachment.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    /// Row id.
    pub id: i64,
    /// Message row.
    pub message_id: i64,
    /// Case.
    pub case_id: i64,
    /// File name as sent.
    pub filename: String,
    /// MIME type as sent.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Blob reference.
    pub sha256: String,
    /// Content-ID for inline images.
    pub content_id: Option<String>,
    /// Inline part.
    pub inline: bool,
    /// Created.
    pub created_at: chrono::NaiveDateTime,
}

impl Attachment {
    /// The content type to show this attachment under inline (in an `<img>` of its message), when it is a raster
    /// image a browser only ever decodes. SVG is not among them (it can carry script and links), nor is anything
    /// else: those are only downloaded.
    pub fn inline_image_type(&self) -> Option<&'static str> {
        let essence = self
            .content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        [
            ("image/png", "image/png"),
            ("image/jpeg", "image/jpeg"),
            ("image/jpg", "image/jpeg"),
            ("image/pjpeg", "image/jpeg"),
            ("image/gif", "image/gif"),
            ("image/webp", "image/webp"),
            ("image/bmp", "image/bmp"),
        ]
        .into_iter()
        .find(|(sent, _)| essence.eq_ignore_ascii_case(sent))
        .map(|(_, served)| served)
    }

    /// Attachments of a case.
    pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<Attachment>> {
        attachments::table
            .filter(attachments::case_id.eq(case_id))
            .order(attachments::id.asc())
            .select(Attachment::as_select())
            .load(conn)
    }

    /// Attachments of one message.
    pub fn for_message(conn: &mut DbConn, message_id: i64) -> QueryResult<Vec<Attachment>> {
        attachments::table
            .filter(attachments::message_id.eq(message_id))
            .order(attachments::id.asc())
            .select(Attachment::as_select())
            .load(conn)
    }

    /// Stores one attachment row; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        conn: &mut DbConn,
        message_row: i64,
        case_id: i64,
        filename: &str,
        content_type: &str,
        size: i64,
        sha256: &str,
        content_id: Option<&str>,
        inline: bool,
    ) -> QueryResult<i64> {
        diesel::insert_into(attachments::table)
            .values((
                attachments::message_id.eq(message_row),
                attachments::case_id.eq(case_id),
                attachments::filename.eq(strip_nul(filename)),
                attachments::content_type.eq(strip_nul(content_type)),
                attachments::size.eq(size),
                attachments::sha256.eq(sha256),
                attachments::content_id.eq(content_id.map(strip_nul)),
                attachments::inline.eq(inline),
                attachments::created_at.eq(now()),
            ))
            .returning(attachments::id)
            .get_result(conn)
    }
}

/// A person on a case.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participants)]
pub struct Participant {
    /// Row id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Address.
    pub email: String,
    /// Name.
    pub name: Option<String>,
    /// `customer` or `cc`.
    pub kind: String,
    /// Added.
    pub created_at: chrono::NaiveDateTime,
}

impl Participant {
    /// Participants of a case, customer first.
    pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<Participant>> {
        participants::table
            .filter(participants::case_id.eq(case_id))
            .order((participants::kind.desc(), participants::id.asc()))
            .select(Participant::as_select())
            .load(conn)
    }

    /// The first `limit` Cc participants of a case (the people a reply is copied to), oldest
    /// first, leaving out the customer and staff accounts.
    pub fn cc_for_reply(
        conn: &mut DbConn,
        case_id: i64,
        customer_email: &str,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        use crate::db::schema::users;
        participants::table
            .filter(participants::case_id.eq(case_id))
            .filter(participants::kind.ne("customer"))
            .filter(participants::email.ne(customer_email))
            .filter(diesel::dsl::not(
                participants::email.eq_any(users::table.select(users::email)),
            ))
            .order(participants::id.asc())
            .limit(limit)
            .select(participants::email)
            .load(conn)
    }

    /// The name `email` is known by on a case, when the mail gave one: the newest name it signed a
    /// message to the case with, else the name it was added as a participant with. A "name" that
    /// is an address (`chenhui.zd@centerm.com <chenhui.zd@centerm.com>`) does not count, so a
    /// greeting never reads "chenhui.zd@centerm.com，您好".
    pub fn known_name(conn: &mut DbConn, case_id: i64, email: &str) -> QueryResult<Option<String>> {
        let is_name = |n: &String| !n.trim().is_empty() && !n.contains('@');
        let from_mail: Vec<Option<String>> = messages::table
            .filter(messages::case_id.eq(case_id))
            .filter(messages::from_email.eq(email))
            .filter(messages::from_name.is_not_null())
            .order((messages::received_at.desc(), messages::id.desc()))
            .limit(20)
            .select(messages::from_name)
            .load(conn)?;
        if let Some(name) = from_mail.into_iter().flatten().find(is_name) {
            return Ok(Some(name.trim().to_string()));
        }
        let listed: Option<Option<String>> = participants::table
            .filter(participants::case_id.eq(case_id))
            .filter(participants::email.eq(email))
            .select(participants::name)
            .first(conn)
            .optional()?;
        Ok(listed
            .flatten()
            .filter(is_name)
            .map(|n| n.trim().to_string()))
    }

    /// Adds a participant unless the address is already on the case.
    pub fn add(
        conn: &mut DbConn,
        case_id: i64,
        email: &str,
        name: Option<&str>,
        kind: &str,
    ) -> QueryResult<bool> {
        let values = (
            participants::case_id.eq(case_id),
            participants::email.eq(strip_nul(email)),
            participants::name.eq(name.map(strip_nul)),
            participants::kind.eq(kind),
            participants::created_at.eq(now()),
        );
        // One statement, and no unique-index error when two writers add the same address at once
        // (which on PostgreSQL would abort the whole transaction).
        let inserted = crate::db::conn::on_backend!(conn, c => diesel::insert_into(participants::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(c))?;
        Ok(inserted > 0)
    }
}

/// One entry of the case timeline.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_events)]
pub struct CaseEvent {
    /// Row id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// Staff member, if a person acted.
    pub actor_id: Option<i64>,
    /// Who, as shown (name, address or `system`).
    pub actor_label: String,
    /// What happened; [`EventKind::Unknown`] for a kind this version does not know.
    pub kind: EventKind,
    /// State before.
    pub from_state: Option<String>,
    /// State after.
    pub to_state: Option<String>,
    /// Human note.
    pub note: Option<String>,
    /// Structured details: the kind's payload ([`crate::workflow::events`]) as JSON; read it with
    /// `EventData::parse`.
    pub data: Option<String>,
    /// When.
    pub created_at: chrono::NaiveDateTime,
}

/// An event to record. Set `kind`: the default, [`EventKind::Unknown`], is refused when written.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Staff member.
    pub actor_id: Option<i64>,
    /// Shown actor.
    pub actor_label: &'a str,
    /// Kind.
    pub kind: EventKind,
    /// From state.
    pub from_state: Option<&'a str>,
    /// To state.
    pub to_state: Option<&'a str>,
    /// Note.
    pub note: Option<&'a str>,
    /// The kind's payload, `EventData::to_data` of its struct; `None` for kinds without one.
    pub data: Option<String>,
    /// When (defaults to now).
    pub at: Option<chrono::NaiveDateTime>,
}

impl Default for NewEvent<'_> {
    fn default() -> Self {
        NewEvent {
            actor_id: None,
            actor_label: "",
            kind: EventKind::Unknown,
            from_state: None,
            to_state: None,
            note: None,
            data: None,
            at: None,
        }
    }
}

impl CaseEvent {
    /// Appends an event. An event of kind [`EventKind::Unknown`] is refused (a serialisation
    /// error): only kinds this version knows are written.
    pub fn record(conn: &mut DbConn, case_id: i64, e: &NewEvent<'_>) -> QueryResult<usize> {
        diesel::insert_into(case_events::table)
            .values((
                case_events::case_id.eq(case_id),
                case_events::actor_id.eq(e.actor_id),
                case_events::actor_label.eq(strip_nul(e.actor_label)),
                case_events::kind.eq(e.kind),
                case_events::from_state.eq(e.from_state),
                case_events::to_state.eq(e.to_state),
                case_events::note.eq(e.note.map(strip_nul)),
                case_events::data.eq(e.data.as_deref()),
                case_events::created_at.eq(e.at.unwrap_or_else(now)),
            ))
            .execute(conn)
    }

    /// The timeline, oldest first.
    pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<CaseEvent>> {
        case_events::table
            .filter(case_events::case_id.eq(case_id))
            .order((case_events::created_at.asc(), case_events::id.asc()))
            .select(CaseEvent::as_select())
            .load(conn)
    }

    /// The newest `limit` events of the timeline, oldest first, and how many the case has in all
    /// (the case page shows a bounded timeline; the API and CLI give all of it).
    pub fn recent_for_case(
        conn: &mut DbConn,
        case_id: i64,
        limit: i64,
    ) -> QueryResult<(Vec<CaseEvent>, i64)> {
        let total: i64 = case_events::table
            .filter(case_events::case_id.eq(case_id))
            .count()
            .get_result(conn)?;
        let mut events: Vec<CaseEvent> = case_events::table
            .filter(case_events::case_id.eq(case_id))
            .order((case_events::created_at.desc(), case_events::id.desc()))
            .limit(limit)
            .select(CaseEvent::as_select())
            .load(conn)?;
        events.reverse();
        Ok((events, total))
    }
}
