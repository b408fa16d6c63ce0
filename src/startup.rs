//! Building and starting the application: data dir and secret key, database and migrations,
//! first-run setup link, and the actix `App` with its middleware in a documented order.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use secrecy::SecretString;

use crate::config::Config;
use crate::db::{self, DbPool, blobs::BlobStore};
use crate::web::{self as webmod, AppState, Catalog};

/// Largest request body the app reads (uploads have their own, smaller limits checked per feature).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A configuration with its secret filled in, a migrated database, and the stores.
pub struct Prepared {
    /// The configuration.
    pub config: Arc<Config>,
    /// The pool.
    pub pool: DbPool,
    /// Blob store.
    pub blobs: BlobStore,
}

/// Creates the data dir, loads or generates the secret key, opens the database and migrates it.
pub fn prepare(mut config: Config) -> anyhow::Result<Prepared> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
    if config.secret_key.is_none() {
        config.secret_key = Some(load_or_create_secret(&config.data_dir)?);
    }
    let pool = db::connect_pool(&config.database_url)?;
    let mut conn = pool.get().context("opening a database connection")?;
    let applied = db::migrate::run_pending(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "database migrations applied");
    }
    let sealed = crate::auth::two_factor::seal_stored_secrets(
        &mut conn,
        &crate::auth::sealed::SealKey::two_factor(&config),
    )
    .context("sealing two-factor secrets stored in clear")?;
    if sealed > 0 {
        tracing::info!(count = sealed, "two-factor secrets sealed");
    }
    drop(conn);
    let blobs = BlobStore::new(&config.data_dir);
    Ok(Prepared {
        config: Arc::new(config),
        pool,
        blobs,
    })
}

/// The secret lives in `<data_dir>/secret.key` (mode 0600), generated once.
fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let key = text.trim().to_string();
        anyhow::ensure!(
            key.len() >= 32,
            "{} is too short to be a secret key; delete it to regenerate",
            path.display()
        );
        return Ok(SecretString::from(key));
    }
    let key = format!(
        "{}{}",
        crate::auth::tokens::random_token(),
        crate::auth::tokens::random_token()
    );
    let mut tmp =
        tempfile::NamedTempFile::new_in(data_dir).context("creating the secret key file")?;
    std::io::Write::write_all(&mut tmp, key.as_bytes()).context("writing the secret key")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .context("restricting the secret key file")?;
    }
    tmp.persist(&path)
        .with_context(|| format!("saving {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new secret key");
    Ok(SecretString::from(key))
}

/// Issues a first-run setup link when no account exists.
pub fn setup_link(prepared: &Prepared) -> anyhow::Result<Option<String>> {
    let mut conn = prepared
        .pool
        .get()
        .context("opening a database connection")?;
    let token = crate::auth::setup::issue_if_needed(&mut conn).context("issuing a setup token")?;
    Ok(token.map(|t| format!("{}/setup?token={t}", prepared.config.base_url_trimmed())))
}

/// A running server and the port it listens on.
pub struct Application {
    /// Bound port (useful with port 0).
    pub port: u16,
    /// The server future.
    pub server: Server,
}

/// Binds `listener` and builds the HTTP server.
pub fn build(prepared: &Prepared, listener: TcpListener) -> anyhow::Result<Application> {
    let port = listener
        .local_addr()
        .context("reading the bound address")?
        .port();
    let state = AppState {
        pool: prepared.pool.clone(),
        config: prepared.config.clone(),
        blobs: prepared.blobs.clone(),
        catalog: Arc::new(Catalog::builtin()?),
        rate_limits: Arc::new(webmod::rate_limit::RateLimits::from_config(
            &prepared.config,
        )),
    };
    let key = Key::derive_from(prepared.config.secret().as_bytes());
    let secure = prepared.config.is_https();
    let data = web::Data::new(state);
    let config = prepared.config.clone();
    let server = HttpServer::new(move || {
        // Outermost first: log → security headers → session cookie → error pages → CSRF → routes.
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(web::FormConfig::default().limit(4 * 1024 * 1024))
            .wrap(from_fn(webmod::authorize::authorize))
            .wrap(from_fn(crate::auth::two_factor::gate))
            .wrap(from_fn(webmod::csrf::guard))
            .wrap(from_fn(webmod::errors::render))
            .wrap(from_fn(webmod::headers::apply))
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                    .cookie_name("casebook_session".into())
                    .cookie_http_only(true)
                    .cookie_same_site(SameSite::Lax)
                    .cookie_secure(secure)
                    .cookie_content_security(CookieContentSecurity::Private)
                    .session_lifecycle(PersistentSession::default().session_ttl(actix_web::cookie::time::Duration::hours(12)))
                    .build(),
            )
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add((
                        "Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                         style-src-attr 'unsafe-inline'; \
                         frame-ancestors 'none'; form-action 'self'",
                    )),
            )
            // The path only, secrets redacted: query strings and upload links carry tokens.
            .wrap(webmod::access_log::logger(config.clone()))
            .configure(webmod::routes::configure_all)
            .default_service(web::to(webmod::errors::not_found))
    })
    .listen(listener)
    .context("listening")?
    .run();
    Ok(Application { port, server })
}
