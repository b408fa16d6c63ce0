//! The access log: one line per request with the client address, the path (never the query
//! string, which can carry signed tokens), status, size and time.
//!
//! Customer upload links carry their secret in the path (`/upload/{token}`); anyone who reads
//! the log could otherwise upload to the case. Such segments are replaced by `[redacted]`.

use std::sync::Arc;

use actix_web::middleware::Logger;

use crate::config::Config;

/// Path prefixes whose next segment is a secret.
const SECRET_SEGMENT_AFTER: &[&str] = &["/upload/"];

/// The request path as logged: secrets removed.
pub fn redact_path(path: &str) -> String {
    for prefix in SECRET_SEGMENT_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            return format!("{prefix}[redacted]{tail}");
        }
    }
    path.to_string()
}

/// The logger middleware: `client "path" status bytes time`. The client address follows
/// `trusted_proxies` like sign-in throttling does (see [`super::client`]).
pub fn logger(config: Arc<Config>) -> Logger {
    Logger::new("%{client}xi \"%{path}xi\" %s %b %Dms")
        .custom_request_replace("path", |req| redact_path(req.path()))
        .custom_request_replace("client", move |req| {
            super::client::client_ip(req.request(), &config)
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "-".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_link_tokens_never_reach_the_access_log() {
        assert_eq!(
            redact_path("/upload/s3cr3t-t0ken.sig"),
            "/upload/[redacted]"
        );
        assert_eq!(
            redact_path("/upload/s3cr3t/extra"),
            "/upload/[redacted]/extra"
        );
        assert_eq!(
            redact_path("/cases/CAS-06004-S8K5X3"),
            "/cases/CAS-06004-S8K5X3"
        );
        assert!(!redact_path("/upload/abc").contains("abc"));
    }
}
