//! Shared page plumbing: application state, the page context every template gets, translations,
//! CSRF and error-page middleware, static assets. Routes live with their feature (`auth::routes`,
//! `cases::routes`, …) and are mounted in [`crate::startup`].

pub mod access_log;
pub mod authorize;
pub mod catalog;
pub mod client;
pub mod csrf;
pub mod errors;
pub mod extract;
pub mod headers;
pub mod local_path;
pub mod page;
pub mod rate_limit;
pub mod routes;
pub mod statics;
pub mod time;

use std::sync::Arc;

use actix_web::web;

use crate::config::Config;
use crate::db::{DbConn, DbPool, blobs::BlobStore};
use crate::error::{AppError, AppResult};

pub use catalog::Catalog;
pub use extract::CurrentUser;
pub use page::Page;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub pool: DbPool,
    /// Configuration (secret key filled in).
    pub config: Arc<Config>,
    /// Raw mail and attachments.
    pub blobs: BlobStore,
    /// Interface strings in every language.
    pub catalog: Arc<Catalog>,
    /// Request rate limits of the token-authorised doors (inbound mail, upload links).
    pub rate_limits: Arc<rate_limit::RateLimits>,
}

impl AppState {
    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn db<F, T>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool
                .get()
                .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("database pool")))?;
            f(&mut conn)
        })
        .await?
    }
}

// The routes every feature shares: the health check and the compiled-in static files.
crate::route_table! {
    GET "/healthz" => healthz, routes::Access::Public;
    GET "/static/{name}" => statics::asset, routes::Access::Public;
}

/// Mounts the shared routes (see [`routes::FEATURES`]).
pub fn register_shared(cfg: &mut web::ServiceConfig) {
    register(cfg);
}

/// `/healthz`: 200 when the database answers, 503 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> actix_web::HttpResponse {
    let ok = state
        .db(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
        .is_ok();
    let body = serde_json::json!({"status": if ok { "ok" } else { "unavailable" }, "database": ok});
    if ok {
        actix_web::HttpResponse::Ok().json(body)
    } else {
        actix_web::HttpResponse::ServiceUnavailable().json(body)
    }
}
