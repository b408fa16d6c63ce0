//! Customer upload links: `{base_url}/upload/{token}` lets a customer send diagnostics for one case
//! without an account, until the link expires or an agent revokes it.
//!
//! The token is 32 random bytes; the database keeps only HMAC-SHA256(secret key, token). A leaked
//! database therefore neither hands out working links nor lets anyone check guesses offline, and
//! changing the secret key voids every link (as it does sessions).

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::schema::upload_links;
use crate::auth::tokens::random_token;
use crate::db::{DbConn, now};

/// Validity when the agent does not choose one.
pub const DEFAULT_DAYS: u32 = 7;
/// Longest validity an agent may choose.
pub const MAX_DAYS: u32 = 90;
/// Uploads (form submissions) one link accepts: plenty for a customer collecting logs, and a bound
/// on what a leaked link can make the server store.
pub const MAX_UPLOADS: i32 = 50;
/// Links of a case listed on its page and in the API, newest first.
pub const MAX_LISTED: i64 = 100;

/// A link's validity in whole days, 1 to [`MAX_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityDays(u32);

impl ValidityDays {
    /// Parses the form's value; empty means [`DEFAULT_DAYS`].
    pub fn parse(text: &str) -> Result<ValidityDays, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(ValidityDays(DEFAULT_DAYS));
        }
        match text.parse::<u32>() {
            Ok(days) if (1..=MAX_DAYS).contains(&days) => Ok(ValidityDays(days)),
            _ => Err(format!(
                "validity must be a whole number of days from 1 to {MAX_DAYS}, not {text:?}"
            )),
        }
    }

    /// The number of days.
    pub fn days(self) -> u32 {
        self.0
    }
}

/// The stored form of a token: hex HMAC-SHA256 keyed with the instance's secret.
pub fn token_hash(secret: &str, token: &str) -> String {
    // Provably safe: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"casebook upload link\n");
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether a link still accepts uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    /// Accepts uploads.
    Active,
    /// Past its expiry time.
    Expired,
    /// Revoked by staff.
    Revoked,
    /// [`MAX_UPLOADS`] reached.
    UsedUp,
}

impl LinkStatus {
    /// `active`, `expired`, `revoked` (also the interface-string key suffix).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Active => "active",
            LinkStatus::Expired => "expired",
            LinkStatus::Revoked => "revoked",
            LinkStatus::UsedUp => "used_up",
        }
    }
}

/// A stored upload link.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = upload_links)]
pub struct UploadLink {
    /// Row id.
    pub id: i64,
    /// Case.
    pub case_id: i64,
    /// [`token_hash`] of the token.
    pub token_hash: String,
    /// Staff member who created it.
    pub created_by: Option<i64>,
    /// Created.
    pub created_at: chrono::NaiveDateTime,
    /// Stops working at.
    pub expires_at: chrono::NaiveDateTime,
    /// Revoked at.
    pub revoked_at: Option<chrono::NaiveDateTime>,
    /// Uploads made through it.
    pub uses: i32,
    /// Last upload.
    pub last_used_at: Option<chrono::NaiveDateTime>,
}

impl UploadLink {
    /// Creates a link for a case; returns it with the token (shown once, never stored).
    pub fn create(
        conn: &mut DbConn,
        secret: &str,
        case_id: i64,
        created_by: Option<i64>,
        validity: ValidityDays,
    ) -> QueryResult<(UploadLink, String)> {
        let token = random_token();
        let hash = token_hash(secret, &token);
        let at = now();
        diesel::insert_into(upload_links::table)
            .values((
                upload_links::case_id.eq(case_id),
                upload_links::token_hash.eq(&hash),
                upload_links::created_by.eq(created_by),
                upload_links::created_at.eq(at),
                upload_links::expires_at.eq(at + chrono::Duration::days(i64::from(validity.0))),
                upload_links::uses.eq(0),
            ))
            .execute(conn)?;
        let link = upload_links::table
            .filter(upload_links::token_hash.eq(&hash))
            .select(UploadLink::as_select())
            .first(conn)?;
        Ok((link, token))
    }

    /// The link a token opens, whatever its status.
    pub fn find_by_token(
        conn: &mut DbConn,
        secret: &str,
        token: &str,
    ) -> QueryResult<Option<UploadLink>> {
        // Tokens are URL-safe base64 of 32 bytes; anything else cannot match and is not looked up.
        if token.len() != 43
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        upload_links::table
            .filter(upload_links::token_hash.eq(token_hash(secret, token)))
            .select(UploadLink::as_select())
            .first(conn)
            .optional()
    }

    /// Links of a case, newest first, at most [`MAX_LISTED`].
    pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<UploadLink>> {
        upload_links::table
            .filter(upload_links::case_id.eq(case_id))
            .order((upload_links::created_at.desc(), upload_links::id.desc()))
            .limit(MAX_LISTED)
            .select(UploadLink::as_select())
            .load(conn)
    }

    /// How many links of a case accept uploads at `at` (not revoked, not expired, not used up).
    pub fn count_active(
        conn: &mut DbConn,
        case_id: i64,
        at: chrono::NaiveDateTime,
    ) -> QueryResult<i64> {
        upload_links::table
            .filter(upload_links::case_id.eq(case_id))
            .filter(upload_links::revoked_at.is_null())
            .filter(upload_links::expires_at.gt(at))
            .filter(upload_links::uses.lt(MAX_UPLOADS))
            .count()
            .get_result(conn)
    }

    /// Revokes a link of this case; false when there is no such link or it was already revoked.
    pub fn revoke(conn: &mut DbConn, case_id: i64, id: i64) -> QueryResult<bool> {
        let changed = diesel::update(
            upload_links::table
                .filter(upload_links::id.eq(id))
                .filter(upload_links::case_id.eq(case_id))
                .filter(upload_links::revoked_at.is_null()),
        )
        .set(upload_links::revoked_at.eq(now()))
        .execute(conn)?;
        Ok(changed > 0)
    }

    /// Counts one upload through the link.
    pub fn record_use(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::update(upload_links::table.find(id))
            .set((
                upload_links::uses.eq(upload_links::uses + 1),
                upload_links::last_used_at.eq(now()),
            ))
            .execute(conn)
    }

    /// The link's status at `at`.
    pub fn status(&self, at: chrono::NaiveDateTime) -> LinkStatus {
        if self.revoked_at.is_some() {
            LinkStatus::Revoked
        } else if at >= self.expires_at {
            LinkStatus::Expired
        } else if self.uses >= MAX_UPLOADS {
            LinkStatus::UsedUp
        } else {
            LinkStatus::Active
        }
    }

    /// The address a customer opens.
    pub fn url(base_url: &str, token: &str) -> String {
        format!("{}/upload/{token}", base_url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_is_parsed_with_a_default_and_bounds() {
        let cases = [
            ("", Some(7)),
            (" 7 ", Some(7)),
            ("1", Some(1)),
            ("90", Some(90)),
            ("0", None),
            ("91", None),
            ("-3", None),
            ("2.5", None),
            ("week", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                ValidityDays::parse(text).ok().map(ValidityDays::days),
                expected,
                "{text:?}"
            );
        }
        assert!(ValidityDays::parse("0").unwrap_err().contains("1 to 90"));
    }

    #[test]
    fn token_hashes_depend_on_the_secret() {
        let token = random_token();
        let a = token_hash("a-secret-key-of-enough-length-000000", &token);
        assert_eq!(
            a,
            token_hash("a-secret-key-of-enough-length-000000", &token)
        );
        assert_ne!(a, token_hash("another-secret-key-of-enough-length", &token));
        assert_ne!(a, crate::auth::tokens::token_hash(&token));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn status_follows_revocation_then_expiry() {
        let at = now();
        let mut link = UploadLink {
            id: 1,
            case_id: 1,
            token_hash: String::new(),
            created_by: None,
            created_at: at,
            expires_at: at + chrono::Duration::days(1),
            revoked_at: None,
            uses: 0,
            last_used_at: None,
        };
        assert_eq!(link.status(at), LinkStatus::Active);
        link.uses = MAX_UPLOADS;
        assert_eq!(link.status(at), LinkStatus::UsedUp);
        link.uses = 1;
        assert_eq!(
            link.status(at + chrono::Duration::days(1)),
            LinkStatus::Expired
        );
        link.revoked_at = Some(at);
        assert_eq!(link.status(at), LinkStatus::Revoked);
    }
}
