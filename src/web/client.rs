//! The client's address, as sign-in throttling and the logs should see it.
//!
//! Behind a reverse proxy every request's TCP peer is the proxy, so throttling by peer would put
//! every user in one bucket. `X-Forwarded-For` is believed only when the peer is one of the
//! configured `trusted_proxies`; the client is then the right-most address in the header that is
//! not itself a trusted proxy (the left-most entries are whatever the client chose to send, and an
//! attacker sends anything there).

use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::config::{Config, parse_proxy};

/// The address a request comes from, as described in the module documentation.
pub fn client_ip(req: &HttpRequest, config: &Config) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    Some(resolve(peer, &forwarded, &config.trusted_proxies))
}

/// [`client_ip`] without the request: `peer` and the joined `X-Forwarded-For` values.
pub fn resolve(peer: IpAddr, forwarded_for: &str, trusted_proxies: &[String]) -> IpAddr {
    let proxies: Vec<ipnet::IpNet> = trusted_proxies
        .iter()
        .filter_map(|p| parse_proxy(p))
        .collect();
    let trusted = |ip: &IpAddr| proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for entry in forwarded_for.rsplit(',') {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            // Garbage in the header: stop at the last address we could trust.
            break;
        };
        client = ip;
        if !trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let proxies = vec!["10.0.0.0/8".to_string(), "192.0.2.7".to_string()];
        assert_eq!(
            resolve(ip("203.0.113.9"), "198.51.100.1", &proxies),
            ip("203.0.113.9"),
            "an untrusted peer cannot name another address"
        );
        assert_eq!(
            resolve(ip("10.1.2.3"), "198.51.100.1", &proxies),
            ip("198.51.100.1")
        );
        assert_eq!(
            resolve(ip("192.0.2.7"), "1.1.1.1, 198.51.100.1, 10.9.9.9", &proxies),
            ip("198.51.100.1"),
            "the right-most untrusted entry is the client; spoofed left entries are ignored"
        );
        assert_eq!(
            resolve(ip("10.1.2.3"), "", &proxies),
            ip("10.1.2.3"),
            "no header: the proxy itself"
        );
        assert_eq!(
            resolve(ip("10.1.2.3"), "not-an-ip, 10.0.0.2", &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(resolve(ip("10.1.2.3"), "198.51.100.1", &[]), ip("10.1.2.3"));
    }
}
