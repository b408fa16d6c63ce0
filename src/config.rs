//! Configuration: built-in defaults, then an optional `casebook.toml`, then `CASEBOOK_*` environment
//! variables — each layer overriding the one before.
//!
//! Unknown keys and bad values are errors that name the key, so a typo never silently falls back
//! to a default. Secrets are wrapped in [`SecretString`] and never printed (the `Debug` impl redacts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::workflow::business_hours::BusinessCalendar;
use crate::workflow::sla::SlaConfig;

/// Environment variables that start with `CASEBOOK_` but are not configuration keys.
const NON_CONFIG_ENV: &[&str] = &["CASEBOOK_CONFIG", "CASEBOOK_LOG"];
/// Prefix of environment variables used only by the test-suite.
const TEST_ENV_PREFIX: &str = "CASEBOOK_TEST_";

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file, no server.
    Sqlite,
    /// A PostgreSQL server, for several app instances.
    Postgres,
}

/// How outbound mail leaves Casebook.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (loopback relays, tests).
    None,
    /// STARTTLS upgrade on the submission port (587).
    #[default]
    Starttls,
    /// Implicit TLS (465).
    Tls,
}

/// SMTP relay settings; absent means "write mail to the file outbox".
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host name.
    pub host: String,
    /// Relay port (default 587).
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Transport security.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Login user, if the relay wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Login password (secret).
    #[serde(default)]
    pub password: Option<SecretString>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

fn default_smtp_port() -> u16 {
    587
}

/// Everything Casebook reads at start.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `postgres://…` selects PostgreSQL; anything else is a SQLite file path.
    pub database_url: String,
    /// Blobs (raw mail, attachments), file outbox, generated secret key.
    pub data_dir: PathBuf,
    /// Address the HTTP server listens on.
    pub bind: String,
    /// The URL people use to reach Casebook (links in mail, cookie `Secure` flag).
    pub base_url: String,
    /// Signs sessions, Message-IDs and upload links. Generated into the data dir when absent.
    pub secret_key: Option<SecretString>,
    /// Bearer token that authorises `POST /inbound/mail`; inbound HTTP is disabled when unset.
    pub inbound_token: Option<SecretString>,
    /// Mail domains of the support team (transcript import: whose messages are outbound).
    pub support_domains: Vec<String>,
    /// Address Casebook sends from.
    pub mail_from: String,
    /// Display name on outbound mail.
    pub mail_from_name: String,
    /// Largest raw message accepted, in bytes.
    pub max_message_bytes: u64,
    /// Largest single attachment accepted, in bytes.
    pub max_attachment_bytes: u64,
    /// Automatic mails per sender per day before further ones are ignored.
    pub max_auto_mails_per_sender_per_day: u32,
    /// How many new participants (To/Cc addresses) one incoming mail may add to a case; the rest
    /// stay in the stored mail but never receive the agent's replies.
    pub max_participants_per_mail: u32,
    /// Most recipients (To and Cc together) one reply may have.
    pub max_reply_recipients: u32,
    /// Requests per minute `POST /inbound/mail` accepts for one bearer token (`0`: no limit);
    /// counted in each process.
    pub inbound_rate_per_minute: u32,
    /// Requests per minute one customer upload link (`/upload/{token}`, GET and POST) accepts
    /// (`0`: no limit); counted in each process.
    pub upload_rate_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges); the client
    /// address of a request from anywhere else is its TCP peer.
    pub trusted_proxies: Vec<String>,
    /// Send an acknowledgement with the case number when a customer opens a case.
    pub acknowledge_new_cases: bool,
    /// How the case token looks in outbound subjects; `{number}` is replaced.
    pub subject_token_format: String,
    /// SMTP relay; `None` writes outbound mail as `.eml` files under the data dir.
    pub smtp: Option<SmtpConfig>,
    /// Diagnostics rules file that adds vendor strings to the built-in rules.
    pub diagnostics_rules: Option<PathBuf>,
    /// The time zone pages show times in for people who have not chosen one (an IANA name such as
    /// "Asia/Shanghai"); unset: the business calendar's zone.
    #[serde(deserialize_with = "zone_name")]
    pub timezone: Option<chrono_tz::Tz>,
    /// Working time for SLA clocks (`[business_hours]`).
    pub business_hours: BusinessCalendar,
    /// SLA targets per priority (`[sla]`, `[sla.normal]`, …).
    pub sla: SlaConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "inbound_token",
                &self.inbound_token.as_ref().map(|_| "[redacted]"),
            )
            .field("smtp", &self.smtp)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "./casebook-data/casebook.db".into(),
            data_dir: PathBuf::from("./casebook-data"),
            bind: "127.0.0.1:8080".into(),
            base_url: "http://127.0.0.1:8080".into(),
            secret_key: None,
            inbound_token: None,
            support_domains: Vec::new(),
            mail_from: "support@casebook.invalid".into(),
            mail_from_name: "Casebook Support".into(),
            max_message_bytes: 25 * 1024 * 1024,
            max_attachment_bytes: 20 * 1024 * 1024,
            max_auto_mails_per_sender_per_day: 20,
            max_participants_per_mail: 20,
            max_reply_recipients: 50,
            inbound_rate_per_minute: 600,
            upload_rate_per_minute: 30,
            trusted_proxies: Vec::new(),
            acknowledge_new_cases: true,
            subject_token_format: "[{number}]".into(),
            smtp: None,
            diagnostics_rules: None,
            timezone: None,
            business_hours: BusinessCalendar::default(),
            sla: SlaConfig::default(),
        }
    }
}

/// Reads `timezone` as an IANA zone name, refusing anything else with the name in the message.
fn zone_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<chrono_tz::Tz>, D::Error> {
    let name = String::deserialize(d)?;
    name.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "timezone: unknown time zone {name:?} (expected an IANA name such as \"Asia/Shanghai\")"
        ))
    })
}

/// Hides the secrets of a database URL for logs and error messages: the password in the user
/// part and every query parameter whose name says password (libpq's `password`, `sslpassword`).
/// A value that is not a URL (a SQLite path) is shown as it is.
pub fn redact_url(url: &str) -> String {
    const HIDDEN: &str = "[redacted]";
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    if parsed.cannot_be_a_base() {
        return url.to_string();
    }
    if parsed.password().is_some() {
        // Cannot fail on a URL that has a host, which one with a password has.
        let _ = parsed.set_password(Some(HIDDEN));
    }
    let has_secret_parameter = parsed
        .query_pairs()
        .any(|(k, _)| k.to_ascii_lowercase().contains("password"));
    if has_secret_parameter {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.to_ascii_lowercase().contains("password");
                (
                    k.into_owned(),
                    if secret {
                        HIDDEN.to_string()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string().replace("%5Bredacted%5D", HIDDEN)
}

#[cfg(test)]
mod redact_tests {
    use super::redact_url;

    #[test]
    fn database_urls_lose_every_password_and_keep_the_rest() {
        let cases = [
            (
                "postgres://casebook:s3cret@db.example:5432/casebook",
                "postgres://casebook:[redacted]@db.example:5432/casebook",
            ),
            (
                "postgres://casebook@db.example/casebook?password=s3cret&sslmode=require",
                "postgres://casebook@db.example/casebook?password=[redacted]&sslmode=require",
            ),
            (
                "postgresql://u:p%40ss@h/db?sslpassword=k3y&application_name=cb",
                "postgresql://u:[redacted]@h/db?sslpassword=[redacted]&application_name=cb",
            ),
            (
                "/var/lib/casebook/casebook.db",
                "/var/lib/casebook/casebook.db",
            ),
            ("postgres://h/db?user=a@b", "postgres://h/db?user=a@b"),
        ];
        for (url, shown) in cases {
            let redacted = redact_url(url);
            assert_eq!(redacted, shown, "{url}");
            assert!(!redacted.contains("s3cret") && !redacted.contains("k3y"));
        }
    }
}

impl Config {
    /// Loads defaults → TOML file (`path`, else `CASEBOOK_CONFIG`, else `./casebook.toml` if present) →
    /// the process environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("CASEBOOK_"))
            .collect();
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => match env.get("CASEBOOK_CONFIG") {
                Some(p) => Some(PathBuf::from(p)),
                None => Some(PathBuf::from("casebook.toml")).filter(|p| p.exists()),
            },
        };
        let text = match &file {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("reading configuration file {}", p.display()))?,
            ),
            None => None,
        };
        Config::from_sources(text.as_deref(), &env)
    }

    /// Builds a configuration from TOML text and `CASEBOOK_*` variables (used by `load` and tests).
    pub fn from_sources(
        toml_text: Option<&str>,
        env: &BTreeMap<String, String>,
    ) -> anyhow::Result<Config> {
        let mut table = match toml_text {
            Some(text) => {
                toml::from_str::<toml::Table>(text).context("casebook.toml is not valid TOML")?
            }
            None => toml::Table::new(),
        };
        for (key, value) in env {
            if NON_CONFIG_ENV.contains(&key.as_str()) || key.starts_with(TEST_ENV_PREFIX) {
                continue;
            }
            let name = key["CASEBOOK_".len()..].to_ascii_lowercase();
            set_env_value(&mut table, key, &name, value)?;
        }
        let config: Config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| anyhow::anyhow!("{e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.database_url.trim().is_empty() {
            bail!("database_url (CASEBOOK_DATABASE_URL) must not be empty");
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() && !self.bind.contains(':') {
            bail!(
                "bind (CASEBOOK_BIND) must be host:port, got {:?}",
                self.bind
            );
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            bail!(
                "base_url (CASEBOOK_BASE_URL) must start with http:// or https://, got {:?}",
                self.base_url
            );
        }
        if let Some(key) = &self.secret_key
            && key.expose_secret().len() < 32
        {
            bail!("secret_key (CASEBOOK_SECRET_KEY) must be at least 32 characters");
        }
        if !self.subject_token_format.contains("{number}") {
            bail!(
                "subject_token_format must contain {{number}}, got {:?}",
                self.subject_token_format
            );
        }
        if self.max_message_bytes == 0 {
            bail!("max_message_bytes must be greater than zero");
        }
        if self.max_reply_recipients == 0 {
            bail!("max_reply_recipients must be at least 1 (the customer)");
        }
        for proxy in &self.trusted_proxies {
            if parse_proxy(proxy).is_none() {
                bail!(
                    "trusted_proxies (CASEBOOK_TRUSTED_PROXIES): {proxy:?} is not an IP address or CIDR range"
                );
            }
        }
        Ok(())
    }

    /// The zone for readers without a preference: `timezone`, else the business calendar's.
    pub fn default_timezone(&self) -> chrono_tz::Tz {
        self.timezone
            .unwrap_or_else(|| self.business_hours.timezone())
    }

    /// The database engine selected by `database_url`.
    pub fn backend(&self) -> Backend {
        backend_of(&self.database_url)
    }

    /// Whether cookies must carry `Secure`.
    pub fn is_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// Whether `email` is the support team's own: the sending address or one in
    /// `support_domains`. Such addresses are never copied on replies.
    pub fn is_support_address(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        if email == self.mail_from.to_lowercase() {
            return true;
        }
        email.rsplit_once('@').is_some_and(|(_, domain)| {
            self.support_domains.iter().any(|d| {
                d.trim()
                    .trim_start_matches('@')
                    .eq_ignore_ascii_case(domain)
            })
        })
    }

    /// `base_url` without a trailing slash, for building links.
    pub fn base_url_trimmed(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// The signing secret; [`crate::startup::prepare`] fills it in before the app starts.
    pub fn secret(&self) -> &str {
        self.secret_key
            .as_ref()
            .map(|s| s.expose_secret())
            .unwrap_or("")
    }
}

/// A trusted proxy entry: an address (`10.0.0.5`) or a range (`10.0.0.0/8`, `fd00::/8`).
pub fn parse_proxy(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

/// `postgres://` and `postgresql://` select PostgreSQL; anything else is a SQLite path.
pub fn backend_of(url: &str) -> Backend {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// Keys whose values are lists, written comma-separated in the environment.
const LIST_KEYS: &[&str] = &["support_domains", "trusted_proxies"];
/// Keys whose values are numbers.
const INT_KEYS: &[&str] = &[
    "max_message_bytes",
    "max_attachment_bytes",
    "max_auto_mails_per_sender_per_day",
    "max_participants_per_mail",
    "max_reply_recipients",
    "inbound_rate_per_minute",
    "upload_rate_per_minute",
];
/// Keys whose values are booleans.
const BOOL_KEYS: &[&str] = &["acknowledge_new_cases"];
/// Plain string keys settable from the environment.
const STRING_KEYS: &[&str] = &[
    "database_url",
    "data_dir",
    "bind",
    "base_url",
    "secret_key",
    "inbound_token",
    "mail_from",
    "mail_from_name",
    "subject_token_format",
    "diagnostics_rules",
    "timezone",
];

/// Applies one `CASEBOOK_*` variable onto the TOML table. `CASEBOOK_SMTP_HOST` sets `smtp.host`, and so on.
fn set_env_value(
    table: &mut toml::Table,
    env_key: &str,
    name: &str,
    value: &str,
) -> anyhow::Result<()> {
    if let Some(sub) = name.strip_prefix("smtp_") {
        let smtp = table
            .entry("smtp")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .with_context(|| {
                format!("{env_key}: [smtp] in the configuration file is not a table")
            })?;
        let v = match sub {
            "port" => toml::Value::Integer(
                value
                    .parse()
                    .with_context(|| format!("{env_key} must be a port number, got {value:?}"))?,
            ),
            "host" | "security" | "username" | "password" => toml::Value::String(value.to_string()),
            _ => bail!("unknown configuration variable {env_key}"),
        };
        smtp.insert(sub.to_string(), v);
        return Ok(());
    }
    let v = if LIST_KEYS.contains(&name) {
        toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )
    } else if INT_KEYS.contains(&name) {
        toml::Value::Integer(
            value
                .trim()
                .parse()
                .with_context(|| format!("{env_key} must be a whole number, got {value:?}"))?,
        )
    } else if BOOL_KEYS.contains(&name) {
        toml::Value::Boolean(match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => bail!("{env_key} must be true or false, got {value:?}"),
        })
    } else if STRING_KEYS.contains(&name) {
        toml::Value::String(value.to_string())
    } else {
        bail!("unknown configuration variable {env_key}");
    };
    table.insert(name.to_string(), v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_use_embedded_sqlite_under_the_data_dir() {
        let c = Config::from_sources(None, &BTreeMap::new()).unwrap();
        assert_eq!(c.backend(), Backend::Sqlite);
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./casebook-data"));
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let file = "bind = \"0.0.0.0:9000\"\nbase_url = \"https://help.example.com\"\n";
        let c = Config::from_sources(
            Some(file),
            &env(&[
                ("CASEBOOK_BIND", "127.0.0.1:7000"),
                ("CASEBOOK_SUPPORT_DOMAINS", "cmgos.com, example.com"),
            ]),
        )
        .unwrap();
        assert_eq!(c.bind, "127.0.0.1:7000");
        assert!(c.is_https());
        assert_eq!(c.support_domains, vec!["cmgos.com", "example.com"]);
    }

    #[test]
    fn postgres_url_selects_postgres() {
        let c = Config::from_sources(
            None,
            &env(&[("CASEBOOK_DATABASE_URL", "postgres://u:p@localhost/db")]),
        )
        .unwrap();
        assert_eq!(c.backend(), Backend::Postgres);
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let err = Config::from_sources(None, &env(&[("CASEBOOK_DATABSE_URL", "x")])).unwrap_err();
        assert!(err.to_string().contains("CASEBOOK_DATABSE_URL"), "{err}");
        let err = Config::from_sources(Some("bnid = \"x\""), &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("bnid"), "{err}");
    }

    #[test]
    fn bad_values_are_errors_that_name_the_key() {
        let err = Config::from_sources(None, &env(&[("CASEBOOK_MAX_MESSAGE_BYTES", "lots")]))
            .unwrap_err();
        assert!(
            err.to_string().contains("CASEBOOK_MAX_MESSAGE_BYTES"),
            "{err}"
        );
        let err = Config::from_sources(None, &env(&[("CASEBOOK_BASE_URL", "help.example.com")]))
            .unwrap_err();
        assert!(err.to_string().contains("base_url"), "{err}");
        let err =
            Config::from_sources(None, &env(&[("CASEBOOK_SECRET_KEY", "short")])).unwrap_err();
        assert!(err.to_string().contains("secret_key"), "{err}");
        assert!(
            !err.to_string().contains("short"),
            "the secret itself must not be echoed: {err}"
        );
    }

    #[test]
    fn secrets_are_never_printed_by_debug() {
        let c = Config::from_sources(
            None,
            &env(&[
                (
                    "CASEBOOK_SECRET_KEY",
                    "0123456789abcdef0123456789abcdef-very-secret",
                ),
                ("CASEBOOK_INBOUND_TOKEN", "inbound-secret-token"),
                ("CASEBOOK_SMTP_HOST", "smtp.example.com"),
                ("CASEBOOK_SMTP_PASSWORD", "smtp-secret"),
                (
                    "CASEBOOK_DATABASE_URL",
                    "postgres://casebook:db-secret@db/casebook",
                ),
            ]),
        )
        .unwrap();
        let printed = format!("{c:?}");
        for secret in [
            "very-secret",
            "inbound-secret-token",
            "smtp-secret",
            "db-secret",
        ] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert!(printed.contains("smtp.example.com"));
    }

    #[test]
    fn the_default_time_zone_comes_from_timezone_else_the_business_calendar() {
        let unset = Config::from_sources(None, &env(&[])).unwrap();
        assert_eq!(unset.default_timezone(), chrono_tz::Asia::Shanghai);
        let set =
            Config::from_sources(None, &env(&[("CASEBOOK_TIMEZONE", "Europe/Berlin")])).unwrap();
        assert_eq!(set.default_timezone(), chrono_tz::Europe::Berlin);
        let from_file = Config::from_sources(Some("timezone = \"UTC\""), &env(&[])).unwrap();
        assert_eq!(from_file.default_timezone(), chrono_tz::UTC);
        let err =
            Config::from_sources(None, &env(&[("CASEBOOK_TIMEZONE", "Mars/Base")])).unwrap_err();
        assert!(err.to_string().contains("Mars/Base"), "{err}");
    }

    #[test]
    fn test_and_control_variables_are_not_configuration() {
        Config::from_sources(
            None,
            &env(&[
                ("CASEBOOK_TEST_POSTGRES_URL", "postgres://x"),
                ("CASEBOOK_CONFIG", "a.toml"),
                ("CASEBOOK_LOG", "debug"),
            ]),
        )
        .unwrap();
    }
}
