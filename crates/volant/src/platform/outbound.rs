//! Requests to addresses an organization chose (webhook receivers, an identity
//! provider): an SSRF guard. Names are resolved and loopback, private, link-local
//! and other internal addresses refused, when the address is chosen and again at
//! every connection (a name may change its answer), unless the instance allows
//! private hosts (its own network's services, tests).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Why a URL may not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not an http(s) URL with a host, or with credentials in it.
    Invalid,
    /// The name does not resolve.
    HostUnknown,
    /// The name resolves to an internal address.
    HostPrivate,
}

impl Refused {
    /// The message's key in the locale files.
    pub const fn message_key(self) -> &'static str {
        match self {
            Self::Invalid => "outbound.url_invalid",
            Self::HostUnknown => "outbound.host_unknown",
            Self::HostPrivate => "outbound.host_private",
        }
    }
}

/// Whether an address is anything but a public unicast one (loopback, private,
/// shared, link-local, reserved, multicast, unique or site local…), or embeds such
/// an IPv4 address (IPv4-mapped or -compatible, NAT64, 6to4): what an outgoing
/// request may not reach.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b & 0xfe) == 18)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [h1, h2] = hi.to_be_bytes();
                let [l1, l2] = lo.to_be_bytes();
                is_internal(IpAddr::V4(std::net::Ipv4Addr::new(h1, h2, l1, l2)))
            };
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                // IPv4-compatible (`::a.b.c.d`).
                || (s[..6].iter().all(|x| *x == 0) && embedded(s[6], s[7]))
                // NAT64, well-known and local-use prefixes.
                || (s[0] == 0x64 && s[1] == 0xff9b && (s[2..6].iter().all(|x| *x == 0) && embedded(s[6], s[7]) || s[2] == 1))
                // 6to4.
                || (s[0] == 0x2002 && embedded(s[1], s[2]))
        }
    }
}

/// A URL a request may be sent to: http(s), a host, no credentials, and (unless
/// private hosts are allowed) a name that resolves to public addresses only.
pub async fn check_url(url: &str, allow_private: bool) -> Result<url::Url, Refused> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| Refused::Invalid)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() || !parsed.username().is_empty() {
        return Err(Refused::Invalid);
    }
    if allow_private {
        return Ok(parsed);
    }
    let host = parsed.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let resolved = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host.as_str(), port))).await;
    let addresses: Vec<SocketAddr> = match resolved {
        Ok(Ok(found)) => found.collect(),
        _ => return Err(Refused::HostUnknown),
    };
    if addresses.is_empty() || addresses.iter().any(|a| is_internal(a.ip())) {
        return Err(Refused::HostPrivate);
    }
    Ok(parsed)
}

/// Resolves names for outgoing requests keeping public addresses only, so that a
/// name which changes its answer after the check (DNS rebinding) still cannot
/// reach the instance's network.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| !is_internal(a.ip())).collect();
            if public.is_empty() {
                return Err("only internal addresses: refused".into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The reason of a failed request with its causes, without the URL (it may hold
/// a token).
pub fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An HTTP client for requests to addresses an organization chose (webhooks, an
/// identity provider): no redirects (a redirect could lead inside), no proxy from
/// the environment (a proxy would resolve names itself, around the guard), a
/// timeout, and the public-only resolver unless private hosts are allowed.
pub fn client(user_agent: &'static str, timeout: Duration, allow_private: bool) -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent);
    if !allow_private {
        builder = builder.dns_resolver(std::sync::Arc::new(PublicOnly));
    }
    builder.build().map_err(|e| format!("outbound client: {e}"))
}

/// Whether a URL's host is an address written as such (not a name, which the
/// resolver checks) and an internal one.
pub fn names_internal_address(url: &str) -> bool {
    let literal = url::Url::parse(url).ok().and_then(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    });
    literal.is_some_and(is_internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "0.1.2.3",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:a00:1::",
            "0.0.0.0",
        ] {
            assert!(is_internal(internal.parse().expect("ip")), "{internal}");
        }
        for public in ["203.0.113.9", "2001:db8::1", "8.8.8.8", "64:ff9b::808:808", "2002:808:808::"] {
            assert!(!is_internal(public.parse().expect("ip")), "{public}");
        }
    }
}
