//! What happened on a case since someone looked: the marker forms and API clients carry
//! (`seen`, the API's ETag) and the changes after it. Reply, note and workflow services check it
//! so a reply written while a colleague answered, or the customer wrote again, is not sent blindly.

/// The newest message and event ids of a case, as `"<message id>:<event id>"`: forms carry it so a
/// reply written while a colleague answered, or the customer wrote again, is not sent blindly.
pub fn seen_marker(conn: &mut crate::db::DbConn, case_id: i64) -> diesel::QueryResult<String> {
    use crate::db::schema::{case_events, messages};
    use diesel::prelude::*;
    let m: Option<i64> = messages::table
        .filter(messages::case_id.eq(case_id))
        .select(diesel::dsl::max(messages::id))
        .first(conn)?;
    let e: Option<i64> = case_events::table
        .filter(case_events::case_id.eq(case_id))
        .select(diesel::dsl::max(case_events::id))
        .first(conn)?;
    Ok(format!("{}:{}", m.unwrap_or(0), e.unwrap_or(0)))
}

/// Human descriptions of what happened on a case after `seen` (a [`seen_marker`] value).
pub fn changes_since(
    conn: &mut crate::db::DbConn,
    case_id: i64,
    seen: &str,
) -> diesel::QueryResult<Vec<String>> {
    let (m, e) = seen.split_once(':').unwrap_or(("0", "0"));
    let (m, e): (i64, i64) = (m.parse().unwrap_or(0), e.parse().unwrap_or(0));
    let mut out = Vec::new();
    for msg in crate::cases::messages::Message::for_case(conn, case_id)?
        .into_iter()
        .filter(|x| x.id > m)
    {
        let who = msg
            .from_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(msg.from_email.clone());
        let text: String = msg.new_text.chars().take(120).collect();
        out.push(format!("{} · {who}: {text}", msg.direction));
    }
    // A clock passing its deadline (recorded by the background sweep) is not something anyone
    // said or did on the case: it does not hold a reply back. A note's event repeats the note,
    // which is listed with the messages above.
    for ev in crate::cases::messages::CaseEvent::for_case(conn, case_id)?
        .into_iter()
        .filter(|x| {
            x.id > e
                && x.kind != crate::workflow::events::EventKind::SlaBreached
                && x.kind != crate::workflow::events::EventKind::NoteAdded
        })
    {
        let change = match (&ev.from_state, &ev.to_state) {
            (Some(f), Some(t)) => format!(" {f} → {t}"),
            _ => String::new(),
        };
        out.push(format!("{} · {}{change}", ev.actor_label, ev.kind));
    }
    Ok(out)
}
