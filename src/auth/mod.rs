//! Accounts, roles, passwords, sessions, sign-in throttling and the first-run setup.

pub mod account;
pub mod admin;
pub mod password;
pub mod permissions;
pub mod preferences;
pub mod preferences_page;
pub mod role;
pub mod routes;
pub mod schema;
pub mod sealed;
pub mod sessions;
pub mod setup;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
pub mod users;

pub use permissions::Operation;
pub use role::Role;
pub use users::User;
