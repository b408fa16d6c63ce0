//! Every route of the app, with who may reach it, in one table the app is built from.
//!
//! Each feature declares its routes with [`route_table!`]: one line per route — method, path,
//! handler, and its [`Access`] — which expands to both the feature's `config` (the actix
//! registration) and its `ROUTES` table. [`FEATURES`] pairs them, [`configure_all`] mounts exactly
//! those, and [`all`] lists them; so the authorisation test (`tests/authz_matrix.rs`), which sends
//! every route to every role, walks the routes the app really serves — a route added without a
//! line here does not exist, and its access cannot be left undeclared.

use actix_web::web::ServiceConfig;

use crate::auth::Operation;

/// Who may reach a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in, setup, static files, the health check; a customer's
    /// upload link, whose token in the path is the key).
    Public,
    /// Anyone signed in, whatever the role (their own settings, signing out).
    SignedIn,
    /// A signed-in person whose role may do this operation.
    Page(Operation),
    /// An API token whose account's role may do this operation (never the session cookie).
    Api(Operation),
    /// The inbound mail token (`inbound_token`), for the MTA.
    InboundToken,
}

/// One route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path pattern as mounted, e.g. `/cases/{number}`.
    pub path: &'static str,
    /// Who may reach it.
    pub access: Access,
}

/// Declares a feature's routes: `pub fn config` (registration) and `pub const ROUTES` (the
/// table), from one list. `@prefix "/api/v1";` first names the scope the routes are mounted under (the
/// table keeps full paths; registration uses the relative ones).
#[macro_export]
macro_rules! route_table {
    (@prefix $prefix:literal; $( $method:ident $path:literal => $handler:path, $access:expr; )*) => {
        /// This feature's routes and who may reach each (see `crate::web::routes`).
        pub const ROUTES: &[$crate::web::routes::RouteInfo] = &[
            $( $crate::web::routes::RouteInfo {
                method: stringify!($method),
                path: concat!($prefix, $path),
                access: $access,
            }, )*
        ];

        /// Mounts this feature's routes (exactly those in [`ROUTES`]).
        pub fn register(cfg: &mut actix_web::web::ServiceConfig) {
            $( cfg.route($path, $crate::route_table!(@method $method).to($handler)); )*
        }
    };
    (@method GET) => { actix_web::web::get() };
    (@method POST) => { actix_web::web::post() };
    (@method PATCH) => { actix_web::web::patch() };
    ($( $method:ident $path:literal => $handler:path, $access:expr; )*) => {
        $crate::route_table!(@prefix ""; $( $method $path => $handler, $access; )*);
    };
}

/// A feature's registration and its table.
pub type Feature = (fn(&mut ServiceConfig), &'static [RouteInfo]);

/// Every feature the app mounts, in mounting order.
pub const FEATURES: &[Feature] = &[
    (super::register_shared, super::ROUTES),
    (crate::auth::routes::register, crate::auth::routes::ROUTES),
    (crate::auth::account::register, crate::auth::account::ROUTES),
    (
        crate::auth::preferences_page::register,
        crate::auth::preferences_page::ROUTES,
    ),
    (crate::auth::admin::register, crate::auth::admin::ROUTES),
    (crate::cases::routes::register, crate::cases::routes::ROUTES),
    (
        crate::ingest::routes::register,
        crate::ingest::routes::ROUTES,
    ),
    (
        crate::diagnostics::routes::register,
        crate::diagnostics::routes::ROUTES,
    ),
    (crate::mail::routes::register, crate::mail::routes::ROUTES),
    (
        crate::workflow::routes::register,
        crate::workflow::routes::ROUTES,
    ),
    (
        crate::reports::summaries::routes::register,
        crate::reports::summaries::routes::ROUTES,
    ),
    (
        crate::reports::dashboard::routes::register,
        crate::reports::dashboard::routes::ROUTES,
    ),
    (
        crate::notifications::routes::register,
        crate::notifications::routes::ROUTES,
    ),
    (crate::api::admin::register, crate::api::admin::ROUTES),
    (crate::api::routes::config, crate::api::routes::ROUTES),
];

/// Mounts every feature's routes.
pub fn configure_all(cfg: &mut ServiceConfig) {
    for (register, _) in FEATURES {
        register(cfg);
    }
}

/// Every route the app serves.
pub fn all() -> impl Iterator<Item = &'static RouteInfo> {
    FEATURES.iter().flat_map(|(_, table)| table.iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for r in all() {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} is declared twice",
                r.method,
                r.path
            );
        }
        assert!(seen.len() > 50, "{} routes", seen.len());
    }
}
