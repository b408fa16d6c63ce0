//! The JSON API under `/api/v1`, for scripts and integrations.
//!
//! Clients authenticate with personal API tokens (`Authorization: Bearer cb_…`), never with the
//! session cookie: a token belongs to one account, acts with that account's role, and stops working
//! when it is revoked or the account is disabled. Because browsers never attach bearer tokens by
//! themselves, `/api/` needs no CSRF token (the CSRF middleware exempts it).
//!
//! - [`tokens`]: issuing, listing, revoking and checking tokens (only a sha256 is stored).
//! - [`extract`]: the [`ApiUser`] extractor (bearer token → account) and its 401 answers.
//! - [`routes`]: the endpoints and the helpers every endpoint shares (case lookup, JSON body
//!   errors as 422).
//! - [`queries`]: the filtered, paginated case list behind `GET /api/v1/cases`.
//! - [`admin`]: the `/admin/tokens` page; [`cli`]: `casebook token …`.

pub mod admin;
pub mod cli;
pub mod diagnostics;
pub mod extract;
pub mod routes;
pub mod tokens;

pub use extract::ApiUser;
pub mod write;
