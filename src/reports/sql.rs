//! SQL text with bound values, run on either engine: for the report queries diesel's query builder
//! cannot express (window functions for percentiles, grouping into date buckets). Values are always
//! bound, never spliced; the text carries `?` and becomes `$1, $2, …` on PostgreSQL. Only constants
//! of the code (kinds, states, directions) appear as literals, so partial indexes can apply.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
use diesel::sqlite::Sqlite;

use crate::cases::filters::{CaseScope, Owner};
use crate::db::DbConn;

/// A value bound to a `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
    /// An instant, as stored.
    Time(NaiveDateTime),
    /// A boolean.
    Bool(bool),
}

/// SQL text and its values, in order.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    /// Starts with `text` (no values).
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            values: Vec::new(),
        }
    }

    /// Appends text (which must not contain `?` other than placeholders added by [`Sql::bind`]).
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: Value) -> &mut Sql {
        self.text.push('?');
        self.values.push(value);
        self
    }

    /// Appends another piece with its values.
    pub fn append(&mut self, other: &Sql) -> &mut Sql {
        self.text.push_str(&other.text);
        self.values.extend(other.values.iter().cloned());
        self
    }

    /// The text as PostgreSQL numbers its placeholders.
    fn numbered(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 8);
        let mut n = 0;
        for c in self.text.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Runs the query and reads its rows by column name.
    pub fn load<R>(&self, conn: &mut DbConn) -> QueryResult<Vec<R>>
    where
        R: QueryableByName<Sqlite> + QueryableByName<Pg> + 'static,
    {
        // The same statement for each engine's own connection (the multi-backend wrapper has no
        // boxed SQL query).
        macro_rules! run {
            ($conn:expr, $db:ty, $text:expr) => {{
                let mut query = diesel::sql_query($text).into_boxed::<$db>();
                for value in &self.values {
                    query = match value {
                        Value::Int(v) => query.bind::<BigInt, _>(*v),
                        Value::Text(v) => query.bind::<Text, _>(v.clone()),
                        Value::Time(v) => query.bind::<Timestamp, _>(*v),
                        Value::Bool(v) => query.bind::<Bool, _>(*v),
                    };
                }
                query.load::<R>($conn)
            }};
        }
        match conn {
            DbConn::Sqlite(c) => run!(c, Sqlite, self.text.clone()),
            DbConn::Postgres(c) => run!(c, Pg, self.numbered()),
        }
    }
}

/// `AND …` conditions on the joined `cases` row for a [`CaseScope`]: the same three filters as the
/// case list's `assignee`, `priority` and `domain` (`cases::search`).
pub fn in_scope(scope: &CaseScope) -> Sql {
    let mut sql = Sql::default();
    match scope.assignee {
        None => {}
        Some(Owner::User(id)) => {
            sql.push(" AND cases.assignee_id = ").bind(Value::Int(id));
        }
        Some(Owner::Nobody) => {
            sql.push(" AND cases.assignee_id IS NULL");
        }
    }
    if let Some(priority) = scope.priority {
        sql.push(" AND cases.priority = ")
            .bind(Value::Text(priority.as_str().to_string()));
    }
    if let Some(domain) = &scope.domain {
        sql.push(" AND lower(cases.customer_email) LIKE ")
            .bind(Value::Text(crate::cases::search::domain_pattern(domain)))
            .push(" ESCAPE '\\'");
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_numbers_the_placeholders_in_order() {
        let mut sql = Sql::new("SELECT 1 WHERE a = ");
        sql.bind(Value::Int(1))
            .push(" AND b < ")
            .bind(Value::Text("x".into()));
        let mut tail = Sql::new(" AND c = ");
        tail.bind(Value::Bool(true));
        sql.append(&tail);
        assert_eq!(sql.text, "SELECT 1 WHERE a = ? AND b < ? AND c = ?");
        assert_eq!(
            sql.numbered(),
            "SELECT 1 WHERE a = $1 AND b < $2 AND c = $3"
        );
        assert_eq!(sql.values.len(), 3);
    }
}
