//! Who the client is, behind trusted proxies.
//!
//! The socket peer is the client, unless it is one of `VOLANT_TRUSTED_PROXIES`:
//! then, and only then, the forwarding headers it adds are believed (`Forwarded`,
//! RFC 7239, or else `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host`).
//! The client is the rightmost forwarded address that is not itself a trusted
//! proxy: anything to its left was written by the client and proves nothing.
//! From any other peer these headers are ignored. One middleware resolves this
//! once per request into a [`ClientContext`]; the address (rate limits, audit
//! trail), the scheme (Secure cookies, HSTS) and absolute links read it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::platform::AppState;
use crate::platform::config::Config;

/// The longest host name accepted from a request (RFC 1035 and a port).
const MAX_HOST_LEN: usize = 261;

/// The client of one request, as far as the proxies we trust tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientContext {
    /// The client's address: the socket peer, or the address a trusted proxy
    /// forwarded; `None` without a socket (requests made in-process).
    pub ip: Option<IpAddr>,
    /// Whether the client reached us over HTTPS (only a trusted proxy can say so).
    pub https: bool,
    /// The host the client asked for (`Host`, or the forwarded host from a trusted
    /// proxy), when it is a plausible host name.
    pub host: Option<String>,
    /// Whether the request carries any forwarding header (`Forwarded`,
    /// `X-Forwarded-For`, `X-Real-IP`), trusted or not: it went through a relay.
    pub relayed: bool,
}

impl ClientContext {
    /// The context of a request: its socket peer and headers, read with `trusted`.
    pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let relayed = ["forwarded", "x-forwarded-for", "x-real-ip"].iter().any(|name| headers.contains_key(*name));
        let direct_host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).and_then(plausible_host);
        let mut context = Self { ip: peer.map(|ip| ip.to_canonical()), https: false, host: direct_host, relayed };
        let Some(peer) = context.ip.filter(|ip| is_trusted(*ip, trusted)) else {
            return context;
        };
        // `X-Forwarded-For` wins when present: proxies that write it (nginx) pass a
        // client's own `Forwarded` header through untouched, so `Forwarded` is only
        // read from proxies that speak nothing else.
        let forwarded = forwarded_elements(headers);
        if forwarded.is_empty() || headers.contains_key("x-forwarded-for") {
            let chain: Vec<Option<IpAddr>> = header_values(headers, "x-forwarded-for")
                .flat_map(|v| v.split(','))
                .map(|v| parse_node(v.trim()))
                .collect();
            context.ip = Some(rightmost_untrusted(peer, &chain, trusted));
            if let Some(proto) = header_values(headers, "x-forwarded-proto").flat_map(|v| v.split(',')).next() {
                context.https = proto.trim().eq_ignore_ascii_case("https");
            }
            if let Some(host) = header_values(headers, "x-forwarded-host").flat_map(|v| v.split(',')).next() {
                context.host = plausible_host(host.trim()).or(context.host);
            }
        } else {
            let chain: Vec<Option<IpAddr>> = forwarded.iter().map(|e| e.for_.as_deref().and_then(parse_node)).collect();
            let client = rightmost_untrusted(peer, &chain, trusted);
            context.ip = Some(client);
            // The element that named the client was written by the proxy it spoke to:
            // its proto and host describe the client's request.
            let element =
                chain.iter().rposition(|ip| *ip == Some(client)).map_or_else(|| forwarded.last(), |i| forwarded.get(i));
            if let Some(element) = element {
                if let Some(proto) = &element.proto {
                    context.https = proto.eq_ignore_ascii_case("https");
                }
                if let Some(host) = element.host.as_deref().and_then(plausible_host) {
                    context.host = Some(host);
                }
            }
        }
        context
    }

    /// Scheme and host of absolute links made for this request, without a trailing
    /// slash: `VOLANT_PUBLIC_URL` when it was set, otherwise what the client asked for.
    pub fn public_url(&self, config: &Config) -> String {
        match (&self.host, config.public_url_configured) {
            (Some(host), false) => format!("{}://{host}", self.scheme()),
            _ => config.public_url.clone(),
        }
    }

    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// The context the middleware put in the request; without it (a router used
    /// without the middleware), the socket peer with no forwarding believed.
    pub fn of(extensions: &Extensions) -> Self {
        extensions.get::<Self>().cloned().unwrap_or_else(|| Self {
            ip: extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_canonical()),
            ..Self::default()
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions))
    }
}

/// Resolves the [`ClientContext`] of every request, before anything reads it.
pub async fn resolve_client(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    let context = ClientContext::resolve(peer, request.headers(), &state.config.trusted_proxies);
    request.extensions_mut().insert(context);
    next.run(request).await
}

/// Address ranges: CIDR blocks or single addresses (`VOLANT_TRUSTED_PROXIES`, a
/// personal token's allowed ranges), each normalized (`10.1.2.3/8` is
/// `10.0.0.0/8`); `Err` names the first one unreadable.
pub fn parse_networks(list: &[String]) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .map(|net| net.trunc())
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| item.to_owned())
        })
        .collect()
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|net| net.contains(&ip))
}

/// Walks the chain from the nearest hop: the first address that is not a trusted
/// proxy is the client. An unreadable entry (`unknown`, an obfuscated name) stops
/// the walk at the last proxy known; a chain of proxies only gives its first one.
fn rightmost_untrusted(peer: IpAddr, chain: &[Option<IpAddr>], trusted: &[IpNet]) -> IpAddr {
    let mut client = peer;
    for hop in chain.iter().rev() {
        let Some(ip) = hop else { break };
        client = ip.to_canonical();
        if !is_trusted(client, trusted) {
            break;
        }
    }
    client
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
}

/// An address in `X-Forwarded-For` or `Forwarded: for=`: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1` or `[2001:db8::1]:4711`; `None` for `unknown` and obfuscated names.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    node.parse::<SocketAddr>().ok().map(|addr| addr.ip())
}

/// A host name (and port) that can go into a URL as it is.
fn plausible_host(host: &str) -> Option<String> {
    let valid = !host.is_empty()
        && host.len() <= MAX_HOST_LEN
        && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        && !host.starts_with(['.', '-', ':']);
    valid.then(|| host.to_ascii_lowercase())
}

/// One hop of a `Forwarded` header.
#[derive(Debug, Default)]
struct ForwardedElement {
    for_: Option<String>,
    proto: Option<String>,
    host: Option<String>,
}

/// Every hop of every `Forwarded` header, in order (RFC 7239 section 4: elements
/// separated by commas, `name=value` pairs by semicolons, values tokens or quoted).
fn forwarded_elements(headers: &HeaderMap) -> Vec<ForwardedElement> {
    let mut elements = Vec::new();
    for value in header_values(headers, "forwarded") {
        for element in split_outside_quotes(value, ',') {
            let mut hop = ForwardedElement::default();
            for pair in split_outside_quotes(element, ';') {
                let Some((name, raw)) = pair.split_once('=') else { continue };
                let value = unquote(raw.trim());
                match name.trim().to_ascii_lowercase().as_str() {
                    "for" => hop.for_ = Some(value),
                    "proto" => hop.proto = Some(value),
                    "host" => hop.host = Some(value),
                    _ => {}
                }
            }
            elements.push(hop);
        }
    }
    elements
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(text[start..i].trim());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &str) -> Vec<IpNet> {
        parse_networks(&list.split(',').map(str::to_owned).collect::<Vec<_>>()).expect("valid")
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        map
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn forwarding_headers_are_believed_from_trusted_peers_only() {
        let trusted = nets("10.0.0.0/8, 127.0.0.1");
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "garage.example.com"),
            ("host", "volant-1:8080"),
        ]);
        let via_proxy = ClientContext::resolve(ip("10.1.2.3"), &h, &trusted);
        assert_eq!(via_proxy.ip, ip("203.0.113.9"), "the rightmost address, not the one the client wrote");
        assert!(via_proxy.https && via_proxy.relayed);
        assert_eq!(via_proxy.host.as_deref(), Some("garage.example.com"));
        let direct = ClientContext::resolve(ip("198.51.100.7"), &h, &trusted);
        assert_eq!(direct.ip, ip("198.51.100.7"));
        assert!(!direct.https && direct.relayed);
        assert_eq!(direct.host.as_deref(), Some("volant-1:8080"));
        assert_eq!(ClientContext::resolve(None, &h, &trusted).ip, None, "no socket, nothing believed");
    }

    #[test]
    fn chains_of_proxies_and_forwarded_headers() {
        let trusted = nets("10.0.0.0/8,192.168.1.1/32");
        let chain = headers(&[("x-forwarded-for", "203.0.113.9, 192.168.1.1")]);
        assert_eq!(ClientContext::resolve(ip("10.0.0.2"), &chain, &trusted).ip, ip("203.0.113.9"));
        let only_proxies = headers(&[("x-forwarded-for", "10.0.0.9, 192.168.1.1")]);
        assert_eq!(ClientContext::resolve(ip("10.0.0.2"), &only_proxies, &trusted).ip, ip("10.0.0.9"));
        let unknown = headers(&[("x-forwarded-for", "203.0.113.9, unknown")]);
        assert_eq!(ClientContext::resolve(ip("10.0.0.2"), &unknown, &trusted).ip, ip("10.0.0.2"));
        let forwarded = headers(&[(
            "forwarded",
            r#"for=6.6.6.6;proto=http, for="[2001:db8:cafe::17]:4711";proto=https;host="volant.example""#,
        )]);
        let context = ClientContext::resolve(ip("10.0.0.2"), &forwarded, &trusted);
        assert_eq!(context.ip, ip("2001:db8:cafe::17"));
        assert!(context.https);
        assert_eq!(context.host.as_deref(), Some("volant.example"));
        // Through nginx, a client's own `Forwarded` arrives beside the proxy's `X-Forwarded-For`: ignored.
        let forged = headers(&[
            ("forwarded", r#"for=6.6.6.6;proto=https;host="evil.example""#),
            ("x-forwarded-for", "7.7.7.7"),
            ("host", "volant.example"),
        ]);
        let context = ClientContext::resolve(ip("10.0.0.2"), &forged, &trusted);
        assert_eq!(context.ip, ip("7.7.7.7"));
        assert!(!context.https);
        assert_eq!(context.host.as_deref(), Some("volant.example"));
        let mapped = ClientContext::resolve(ip("::ffff:10.0.0.2"), &chain, &trusted);
        assert_eq!(mapped.ip, ip("203.0.113.9"), "IPv4-mapped peers are compared as IPv4");
    }

    #[test]
    fn hosts_and_lists_are_checked() {
        let trusted = nets("127.0.0.1");
        let evil = headers(&[("x-forwarded-host", "evil.example/path?"), ("host", "volant.example")]);
        assert_eq!(ClientContext::resolve(ip("127.0.0.1"), &evil, &trusted).host.as_deref(), Some("volant.example"));
        assert!(parse_networks(&["10.0.0.0/33".to_owned()]).is_err());
        assert!(parse_networks(&["proxy.local".to_owned()]).is_err());
        assert_eq!(nets("10.1.2.3/8")[0].to_string(), "10.0.0.0/8");
        assert!(nets("::1")[0].contains(&"::1".parse::<IpAddr>().expect("ip")));
    }
}
