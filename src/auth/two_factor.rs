//! Two-factor sign-in with time-based one-time codes (TOTP, RFC 6238: SHA-1, 6 digits, 30 s steps,
//! one step of clock skew either way — what every authenticator app speaks).
//!
//! - **Enrolment**: [`start_enrolment`] stores a fresh 160-bit secret (unconfirmed) and returns it
//!   with its `otpauth://` URL and a QR code drawn as SVG on the server; [`confirm_enrolment`]
//!   turns it on once the person types a code from their app, and returns 10 one-time recovery
//!   codes, shown once (only their sha256 is stored).
//! - **Sign-in**: after the password, [`verify`] accepts a current code or an unused recovery code.
//!   A code's time step is recorded with a conditional update (`last_step < step`), so a code —
//!   even one seen over a shoulder and typed again within its 30 seconds — is accepted once.
//!   Attempts are throttled like passwords (see `auth::routes`).
//! - **Policy**: admins choose the roles that must use it ([`required_roles`]); a signed-in person
//!   of such a role without it is sent to enrol before anything else ([`gate`]).
//! - **Reset**: an admin removes a person's second factor ([`reset`]), e.g. after a lost phone.
//! - **Storage**: the secret is stored sealed under a key derived from the instance's `secret_key`
//!   ([`super::sealed`]); secrets stored in clear before that are sealed at startup
//!   ([`seal_stored_secrets`]).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use diesel::prelude::*;
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use super::role::Role;
use super::schema::{app_settings, recovery_codes, user_totp};
use super::sealed::SealKey;
use crate::db::blobs::sha256_hex;
use crate::db::{DbConn, now};

/// Issuer shown in authenticator apps.
const ISSUER: &str = "Casebook";
/// How many recovery codes a person gets.
pub const RECOVERY_CODES: usize = 10;
/// The setting that names the roles which must use a second factor (comma-separated).
const REQUIRED_ROLES_KEY: &str = "two_factor_required_roles";

fn totp(secret: Vec<u8>, account: &str) -> Result<TOTP, TwoFactorError> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some(ISSUER.to_string()),
        account.to_string(),
    )
    .map_err(|e| TwoFactorError::Corrupt(e.to_string()))
}

/// The TOTP key bytes of a stored (sealed, or older clear) secret.
fn open_secret(key: &SealKey, stored: &str) -> Result<Vec<u8>, TwoFactorError> {
    let (plain, _) = key
        .open_or_legacy(stored)
        .map_err(|e| TwoFactorError::Corrupt(e.to_string()))?;
    let text = String::from_utf8(plain)
        .map_err(|_| TwoFactorError::Corrupt("the stored secret is not text".into()))?;
    decode(&text)
}

fn decode(secret: &str) -> Result<Vec<u8>, TwoFactorError> {
    base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret)
        .ok_or_else(|| TwoFactorError::Corrupt("the stored secret is not base32".into()))
}

/// Why a second-factor operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    /// There is no enrolment to confirm (or it was confirmed already).
    #[error("no two-factor enrolment is in progress")]
    NotEnrolling,
    /// The code is wrong, expired or was used before.
    #[error("the code is not valid")]
    WrongCode,
    /// A stored secret cannot be read.
    #[error("stored two-factor data is invalid: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// A secret being enrolled, as the enrolment page shows it.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32, for typing into an app by hand.
    pub secret: String,
    /// The `otpauth://totp/…` URL the QR code holds.
    pub url: String,
    /// The QR code as an SVG document (no script; safe to inline).
    pub qr_svg: String,
}

/// Whether the person has a confirmed second factor.
pub fn is_enrolled(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        user_totp::table
            .filter(user_totp::user_id.eq(user_id))
            .filter(user_totp::confirmed_at.is_not_null()),
    ))
    .get_result(conn)
}

/// The accounts with a confirmed second factor.
pub fn enrolled_accounts(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    user_totp::table
        .filter(user_totp::confirmed_at.is_not_null())
        .select(user_totp::user_id)
        .load(conn)
}

/// Starts (or restarts) enrolment with a new secret. Refused while a confirmed factor exists: it
/// is reset by an admin, never replaced silently.
pub fn start_enrolment(
    conn: &mut DbConn,
    key: &SealKey,
    user_id: i64,
    account: &str,
) -> Result<Enrolment, TwoFactorError> {
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let t = totp(secret, account)?;
    let sealed = key.seal(t.get_secret_base32().as_bytes());
    crate::db::write_transaction(conn, |conn| {
        if is_enrolled(conn, user_id)? {
            return Err(TwoFactorError::NotEnrolling);
        }
        diesel::delete(user_totp::table.find(user_id)).execute(conn)?;
        diesel::insert_into(user_totp::table)
            .values((
                user_totp::user_id.eq(user_id),
                user_totp::secret.eq(&sealed),
                user_totp::last_step.eq(0i64),
                user_totp::created_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    enrolment_of(&t)
}

/// The enrolment in progress, to show its QR code again (e.g. after a mistyped code).
pub fn pending_enrolment(
    conn: &mut DbConn,
    key: &SealKey,
    user_id: i64,
    account: &str,
) -> Result<Option<Enrolment>, TwoFactorError> {
    let secret: Option<String> = user_totp::table
        .find(user_id)
        .filter(user_totp::confirmed_at.is_null())
        .select(user_totp::secret)
        .first(conn)
        .optional()?;
    match secret {
        None => Ok(None),
        Some(s) => enrolment_of(&totp(open_secret(key, &s)?, account)?).map(Some),
    }
}

fn enrolment_of(t: &TOTP) -> Result<Enrolment, TwoFactorError> {
    let url = t.get_url();
    let qr = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| TwoFactorError::Corrupt(format!("QR code: {e}")))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Enrolment {
        secret: t.get_secret_base32(),
        url,
        qr_svg,
    })
}

/// The time step at which `code` is valid for `t` around `unix_time`, if any.
fn matching_step(t: &TOTP, code: &str, unix_time: u64) -> Option<u64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = unix_time / 30;
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|s| super::tokens::constant_time_eq(&t.generate(s * 30), &code))
}

fn unix_now() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

/// Confirms the enrolment in progress with a code from the app; returns the recovery codes (shown
/// once).
pub fn confirm_enrolment(
    conn: &mut DbConn,
    key: &SealKey,
    user_id: i64,
    account: &str,
    code: &str,
) -> Result<Vec<String>, TwoFactorError> {
    crate::db::write_transaction(conn, |conn| {
        let secret: String = user_totp::table
            .find(user_id)
            .filter(user_totp::confirmed_at.is_null())
            .select(user_totp::secret)
            .first(conn)
            .optional()?
            .ok_or(TwoFactorError::NotEnrolling)?;
        let t = totp(open_secret(key, &secret)?, account)?;
        let step = matching_step(&t, code, unix_now()).ok_or(TwoFactorError::WrongCode)?;
        diesel::update(user_totp::table.find(user_id))
            .set((
                user_totp::confirmed_at.eq(Some(now())),
                user_totp::last_step.eq(step as i64),
            ))
            .execute(conn)?;
        new_recovery_codes(conn, user_id)
    })
}

fn new_recovery_codes(conn: &mut DbConn, user_id: i64) -> Result<Vec<String>, TwoFactorError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; 5];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let raw = base32::encode(base32::Alphabet::Crockford, &bytes).to_lowercase();
        let code = format!("{}-{}", &raw[..4], &raw[4..8]);
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(recovery_hash(&code)),
            ))
            .execute(conn)?;
        codes.push(code);
    }
    Ok(codes)
}

fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    sha256_hex(format!("casebook-recovery:{normal}").as_bytes())
}

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// A current code from the app.
    Code,
    /// A recovery code (now used up).
    RecoveryCode,
}

/// Checks a code typed at sign-in: a current TOTP code not used before, or an unused recovery
/// code, which is then spent.
pub fn verify(
    conn: &mut DbConn,
    key: &SealKey,
    user_id: i64,
    account: &str,
    code: &str,
) -> Result<Proof, TwoFactorError> {
    verify_at(conn, key, user_id, account, code, unix_now())
}

/// [`verify`] at a given time (tests).
pub fn verify_at(
    conn: &mut DbConn,
    key: &SealKey,
    user_id: i64,
    account: &str,
    code: &str,
    unix_time: u64,
) -> Result<Proof, TwoFactorError> {
    let secret: String = user_totp::table
        .find(user_id)
        .filter(user_totp::confirmed_at.is_not_null())
        .select(user_totp::secret)
        .first(conn)
        .optional()?
        .ok_or(TwoFactorError::NotEnrolling)?;
    let t = totp(open_secret(key, &secret)?, account)?;
    if let Some(step) = matching_step(&t, code, unix_time) {
        // Accepted only if no code of this step (or a later one) was accepted before.
        let taken = diesel::update(
            user_totp::table
                .find(user_id)
                .filter(user_totp::last_step.lt(step as i64)),
        )
        .set(user_totp::last_step.eq(step as i64))
        .execute(conn)?;
        return if taken == 1 {
            Ok(Proof::Code)
        } else {
            Err(TwoFactorError::WrongCode)
        };
    }
    let spent = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(recovery_hash(code)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(now())))
    .execute(conn)?;
    if spent == 1 {
        Ok(Proof::RecoveryCode)
    } else {
        Err(TwoFactorError::WrongCode)
    }
}

/// Unused recovery codes left.
pub fn recovery_codes_left(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Removes a person's second factor and recovery codes (admin reset); returns whether one existed.
pub fn reset(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
        Ok(diesel::delete(user_totp::table.find(user_id)).execute(conn)? > 0)
    })
}

/// Seals the secrets stored in clear by versions before sealing; run at startup. Returns how many
/// were sealed. Two-factor rows are one per enrolled person, so this reads them all.
pub fn seal_stored_secrets(conn: &mut DbConn, key: &SealKey) -> QueryResult<usize> {
    let rows: Vec<(i64, String)> = user_totp::table
        .select((user_totp::user_id, user_totp::secret))
        .load(conn)?;
    let mut sealed = 0;
    for (user_id, stored) in rows {
        if super::sealed::is_sealed(&stored) {
            continue;
        }
        sealed += diesel::update(
            user_totp::table
                .find(user_id)
                .filter(user_totp::secret.eq(&stored)),
        )
        .set(user_totp::secret.eq(key.seal(stored.as_bytes())))
        .execute(conn)?;
    }
    Ok(sealed)
}

/// The roles that must sign in with a second factor.
pub fn required_roles(conn: &mut DbConn) -> QueryResult<Vec<Role>> {
    let value: Option<String> = app_settings::table
        .find(REQUIRED_ROLES_KEY)
        .select(app_settings::value)
        .first(conn)
        .optional()?;
    Ok(value
        .unwrap_or_default()
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect())
}

/// Sets the roles that must sign in with a second factor.
pub fn set_required_roles(conn: &mut DbConn, roles: &[Role]) -> QueryResult<()> {
    let value = roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",");
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(app_settings::table.find(REQUIRED_ROLES_KEY)).execute(conn)?;
        diesel::insert_into(app_settings::table)
            .values((
                app_settings::key.eq(REQUIRED_ROLES_KEY),
                app_settings::value.eq(value),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Paths a person who must enrol may still reach.
const OPEN_WHILE_ENROLLING: &[&str] = &[
    "/account/two-factor",
    "/logout",
    "/language",
    "/static/",
    "/healthz",
    "/login",
    "/upload/",
    "/api/",
    "/inbound/",
];

/// Middleware: a signed-in person whose role requires a second factor and who has none is sent to
/// enrol (`/account/two-factor`) before any other page.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path().to_string();
    if OPEN_WHILE_ENROLLING.iter().any(|p| path.starts_with(p)) {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let user = crate::web::extract::optional_user(req.request()).await?;
    if let Some(user) = user {
        let state = req
            .app_data::<actix_web::web::Data<crate::web::AppState>>()
            .cloned();
        if let Some(state) = state {
            let (id, role) = (user.id, user.role);
            let must_enrol =
                state
                    .db(move |conn| {
                        Ok(!is_enrolled(conn, id)? && required_roles(conn)?.contains(&role))
                    })
                    .await?;
            if must_enrol {
                let response = actix_web::HttpResponse::SeeOther()
                    .insert_header((actix_web::http::header::LOCATION, "/account/two-factor"))
                    .finish();
                return Ok(req.into_response(response));
            }
        }
    }
    next.call(req).await.map(|r| r.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_own_step_and_its_neighbours_only() {
        let t = totp(b"12345678901234567890".to_vec(), "a@example.com").unwrap();
        // RFC 6238 test vector (SHA-1, 8 digits: 94287082 at t = 59 → 6 digits: 287082).
        assert_eq!(t.generate(59), "287082");
        assert_eq!(matching_step(&t, "287082", 59), Some(1));
        assert_eq!(
            matching_step(&t, "287 082", 59 + 30),
            Some(1),
            "one step late"
        );
        assert_eq!(
            matching_step(&t, "287082", 59 + 90),
            None,
            "three steps late"
        );
        assert_eq!(matching_step(&t, "28708", 59), None);
        assert_eq!(matching_step(&t, "abcdef", 59), None);
    }

    #[test]
    fn recovery_codes_are_compared_without_case_or_separators() {
        assert_eq!(recovery_hash("ab12-cd34"), recovery_hash(" AB12CD34 "));
        assert_ne!(recovery_hash("ab12-cd34"), recovery_hash("ab12-cd35"));
    }
}
