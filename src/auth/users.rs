//! Staff accounts.

use anyhow::Context;
use diesel::prelude::*;

use super::role::Role;
use crate::db::{DbConn, now, schema::users};

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Sign-in address, lower case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Stored role text; see [`User::role`].
    pub role: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Preferred interface language (`en`, `zh-CN`), if chosen.
    pub locale: Option<String>,
    /// Team (engineering queue routing).
    pub team: Option<String>,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Created.
    pub created_at: chrono::NaiveDateTime,
    /// Last changed.
    pub updated_at: chrono::NaiveDateTime,
}

impl User {
    /// The parsed role; an unreadable stored role is treated as the least-privileged one.
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Engineer)
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUserRow<'a> {
    email: &'a str,
    name: &'a str,
    role: &'a str,
    password_hash: &'a str,
    locale: Option<&'a str>,
    team: Option<&'a str>,
    disabled: bool,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

/// Normalises an email address for storage and lookup.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks that `email` looks like a mailbox (`local@domain`).
pub fn validate_email(email: &str) -> Result<String, String> {
    let e = normalise_email(email);
    match e.parse::<lettre::Address>() {
        Ok(_) => Ok(e),
        Err(_) => Err(format!("{email:?} is not an email address")),
    }
}

/// Account queries and changes.
impl User {
    /// Number of accounts (first-run setup is open while this is zero).
    pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
        users::table.count().get_result(conn)
    }

    /// Finds an account by (normalised) email.
    pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(normalise_email(email)))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Finds an account by id.
    pub fn find_by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// All accounts, by name.
    pub fn list(conn: &mut DbConn) -> QueryResult<Vec<User>> {
        users::table
            .order(users::name.asc())
            .select(User::as_select())
            .load(conn)
    }

    /// Accounts with the given role.
    pub fn list_by_role(conn: &mut DbConn, role: Role) -> QueryResult<Vec<User>> {
        users::table
            .filter(users::role.eq(role.as_str()))
            .filter(users::disabled.eq(false))
            .order(users::name.asc())
            .select(User::as_select())
            .load(conn)
    }

    /// Creates an account with an already-hashed password; fails if the email is taken.
    pub fn create(
        conn: &mut DbConn,
        email: &str,
        name: &str,
        role: Role,
        password_hash: &str,
    ) -> anyhow::Result<User> {
        let email = normalise_email(email);
        let at = now();
        diesel::insert_into(users::table)
            .values(NewUserRow {
                email: &email,
                name: name.trim(),
                role: role.as_str(),
                password_hash,
                locale: None,
                team: None,
                disabled: false,
                created_at: at,
                updated_at: at,
            })
            .execute(conn)
            .with_context(|| format!("creating the account {email}"))?;
        User::find_by_email(conn, &email)?.context("the new account was not found after insert")
    }

    /// Stores a new password hash.
    pub fn set_password_hash(conn: &mut DbConn, id: i64, hash: &str) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now())))
            .execute(conn)
    }

    /// Stores the preferred language.
    pub fn set_locale(conn: &mut DbConn, id: i64, locale: &str) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::locale.eq(locale), users::updated_at.eq(now())))
            .execute(conn)
    }

    /// Changes the role.
    pub fn set_role(conn: &mut DbConn, id: i64, role: Role) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::role.eq(role.as_str()), users::updated_at.eq(now())))
            .execute(conn)
    }

    /// Enables or disables sign-in.
    pub fn set_disabled(conn: &mut DbConn, id: i64, disabled: bool) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::disabled.eq(disabled), users::updated_at.eq(now())))
            .execute(conn)
    }
}
