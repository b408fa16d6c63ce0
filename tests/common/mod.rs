//! Shared test harness: start the real app on port 0 against a fresh database of either backend,
//! with a temporary data dir, and talk to it over HTTP like a browser would.
#![allow(dead_code)]

pub mod browser;
pub mod mail;
pub mod smtp;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;

use casebook::auth::{Role, User, password};
use casebook::config::Config;
use casebook::db::DbPool;
use casebook::startup;
use diesel::Connection;
use diesel::RunQueryDsl;
use secrecy::SecretString;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// The bearer token tests configure for `POST /inbound/mail` (`CASEBOOK_INBOUND_TOKEN`).
pub const INBOUND_TOKEN: &str = "inbound-secret-token";

/// What an authenticator app shows for 30-second time step `step`, from the base32 key an
/// enrolment page shows.
pub fn totp_code(secret: &str, step: i64) -> String {
    let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret).unwrap();
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("Casebook".into()),
        "x".into(),
    )
    .unwrap()
    .generate((step * 30) as u64)
}

/// The current 30-second time step.
pub fn totp_step_now() -> i64 {
    chrono::Utc::now().timestamp() / 30
}

/// A password every test user gets.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// Runs each listed test function once per backend, as `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::common::BackendKind::Sqlite).await
                }
                #[actix_web::test]
                async fn postgres() {
                    super::$name($crate::common::BackendKind::Postgres).await
                }
            }
        )*
    };
}

/// In CI (`CASEBOOK_TEST_REQUIRE_ALL=1`) a missing outside program is a failure, not a skip.
pub fn require_all_or_skip(what: &str, why: &str) {
    if std::env::var_os("CASEBOOK_TEST_REQUIRE_ALL").is_some() {
        panic!("{what} is required here (CASEBOOK_TEST_REQUIRE_ALL is set) but {why}");
    }
}

/// Like [`both_backends!`] for synchronous tests (CLI and library work without a server).
#[macro_export]
macro_rules! both_backends_sync {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::common::BackendKind::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::common::BackendKind::Postgres)
                }
            }
        )*
    };
}

/// A fresh PostgreSQL database on the server named by `CASEBOOK_TEST_POSTGRES_URL`, dropped afterwards.
pub struct PgTestDb {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgTestDb {
    /// `None` (with a loud notice) when the variable is unset.
    pub fn create() -> Option<PgTestDb> {
        let Ok(admin_url) = std::env::var("CASEBOOK_TEST_POSTGRES_URL") else {
            require_all_or_skip("PostgreSQL", "CASEBOOK_TEST_POSTGRES_URL is not set");
            eprintln!(
                "\n!!! SKIPPED PostgreSQL test: CASEBOOK_TEST_POSTGRES_URL is not set \
                 (e.g. postgres://postgres@127.0.0.1:5432/postgres). .ci/run sets it. !!!\n"
            );
            return None;
        };
        let name = format!(
            "casebook_test_{}",
            &casebook::auth::tokens::random_token()
                .to_lowercase()
                .replace(['-', '_'], "")[..16]
        );
        casebook::db::conn::init_tls_without_exit_handler();
        let mut conn = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|e| {
            panic!("CASEBOOK_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}")
        });
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("create test database");
        let mut url = url::Url::parse(&admin_url).expect("CASEBOOK_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(PgTestDb {
            admin_url,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// A database and data dir for one test, without a server (CLI and library tests).
pub struct TestEnv {
    pub backend: BackendKind,
    pub database_url: String,
    pub data_dir: tempfile::TempDir,
    _pg: Option<PgTestDb>,
}

impl TestEnv {
    /// `None` when the backend is not available here (PostgreSQL without the variable).
    pub fn new(backend: BackendKind) -> Option<TestEnv> {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = match backend {
            BackendKind::Sqlite => (
                data_dir
                    .path()
                    .join("casebook.db")
                    .to_string_lossy()
                    .into_owned(),
                None,
            ),
            BackendKind::Postgres => {
                let pg = PgTestDb::create()?;
                (pg.url.clone(), Some(pg))
            }
        };
        Some(TestEnv {
            backend,
            database_url,
            data_dir,
            _pg: pg,
        })
    }

    /// The `CASEBOOK_*` variables that point Casebook at this environment.
    pub fn env_vars(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("CASEBOOK_DATABASE_URL".into(), self.database_url.clone());
        env.insert(
            "CASEBOOK_DATA_DIR".into(),
            self.data_dir.path().to_string_lossy().into_owned(),
        );
        env
    }

    /// A configuration for this environment plus `extra` variables.
    pub fn config(&self, extra: &[(&str, &str)]) -> Config {
        let mut env = self.env_vars();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        Config::from_sources(None, &env).expect("test configuration")
    }
}

/// The app's server, running on a thread of its own with its own actix system. Dropping the last
/// [`TestApp`] of a server stops it and joins that thread, so its workers and their pool clones are
/// gone before the test database is dropped. A server left running would keep a connection pool
/// reconnecting to a dropped database while the test binary exits — libpq and OpenSSL racing their
/// own exit handlers, which crashed a CI run with SIGSEGV after every test had passed.
pub struct ServerGuard {
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        // `stop` sends the command at once; its future only waits for the acknowledgement, which
        // joining the thread (it ends when the server has stopped) gives too.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A running app.
pub struct TestApp {
    /// Declared before `pool` and `env`: fields drop in order, so the server stops first, then the
    /// pool closes, then the database goes.
    pub server: Arc<ServerGuard>,
    pub address: String,
    pub client: reqwest::Client,
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub setup_link: Option<String>,
    pub env: Arc<TestEnv>,
}

/// Starts the app on a fresh database; `None` when the backend is unavailable (skipped loudly).
pub async fn spawn_app(backend: BackendKind) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`], with extra `CASEBOOK_*` settings.
pub async fn spawn_app_with(backend: BackendKind, extra: &[(&str, &str)]) -> Option<TestApp> {
    // Errors the app logs (a 500's cause) show in the test output; `RUST_LOG` shows more.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_test_writer()
        .try_init();
    let env = TestEnv::new(backend)?;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut settings: Vec<(&str, &str)> = vec![("CASEBOOK_BASE_URL", &base)];
    settings.extend_from_slice(extra);
    let config = env.config(&settings);
    let prepared = startup::prepare(config).expect("prepare app");
    let setup_link = startup::setup_link(&prepared).expect("setup link");
    let pool = prepared.pool.clone();
    let config = prepared.config.clone();
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = startup::build(&prepared, listener).expect("build app");
            handle_tx
                .send(app.server.handle())
                .expect("test waits for the handle");
            let _ = app.server.await;
        })
    });
    let handle = handle_rx.recv().expect("server thread started");
    Some(TestApp {
        server: Arc::new(ServerGuard {
            handle,
            thread: Some(thread),
        }),
        address: base,
        client: new_client(),
        pool,
        config,
        setup_link,
        env: Arc::new(env),
    })
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The first `csrf_token` value in a page.
pub fn csrf_from(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf_token" value="([^"]+)""#).unwrap();
    re.captures(html)
        .map(|c| c[1].to_string())
        .expect("page has a csrf_token field")
}

impl TestApp {
    /// A second browser on the same running app, with its own cookies.
    pub fn another_browser(&self) -> TestApp {
        TestApp {
            server: self.server.clone(),
            address: self.address.clone(),
            client: new_client(),
            pool: self.pool.clone(),
            config: self.config.clone(),
            setup_link: None,
            env: self.env.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn conn(&self) -> casebook::db::PooledConn {
        self.pool.get().expect("db connection")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let s = r.status().as_u16();
        (s, r.text().await.unwrap())
    }

    /// A CSRF token for this client's session (taken from the login page, which every session can see).
    pub async fn csrf(&self) -> String {
        let (_, html) = self.get_text("/login").await;
        if html.contains("csrf_token") {
            return csrf_from(&html);
        }
        let (_, html) = self.get_text("/cases").await;
        csrf_from(&html)
    }

    /// Posts a form, adding this session's CSRF token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("POST")
    }

    /// POSTs raw mail to `/inbound/mail` as the mailgate does, with the bearer token of
    /// [`INBOUND_TOKEN`] (start the app with `CASEBOOK_INBOUND_TOKEN` set to it); the answer must be
    /// 202, and its JSON (outcome and case number) is returned.
    pub async fn deliver(&self, raw: String) -> serde_json::Value {
        let r = self
            .client
            .post(self.url("/inbound/mail"))
            .bearer_auth(INBOUND_TOKEN)
            .body(raw)
            .send()
            .await
            .expect("POST /inbound/mail");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, 202, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Posts the multipart reply form of a case like a browser: the CSRF token is the form's first
    /// field (never in the URL), then `fields`, then the files.
    pub async fn post_reply(
        &self,
        number: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> reqwest::Response {
        let token = self.csrf().await;
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (name, mime, bytes) in files {
            form = form.part(
                "attachments",
                reqwest::multipart::Part::bytes(bytes.to_vec())
                    .file_name(name.to_string())
                    .mime_str(mime)
                    .unwrap(),
            );
        }
        self.client
            .post(self.url(&format!("/cases/{number}/reply")))
            .multipart(form)
            .send()
            .await
            .expect("POST reply")
    }

    /// Creates an account directly in the database.
    pub fn create_user(&self, email: &str, name: &str, role: Role) -> User {
        let hash = password::hash_password(&SecretString::from(TEST_PASSWORD.to_string())).unwrap();
        User::create(&mut self.conn(), email, name, role, &hash).unwrap()
    }

    /// Signs this client in.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// Creates an account with `role` and signs this client in as it.
    pub async fn login_as(&self, role: Role) -> User {
        let email = format!("{}@casebook.test", role.as_str());
        let user = self.create_user(&email, &format!("Test {}", role.as_str()), role);
        let r = self.login(&email, TEST_PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303, "login as {role} failed");
        user
    }
}
