//! The webhook: one HTTP/1.1 POST of a JSON line, hand-written over a std
//! TCP stream, with rustls on top for `https://` (the one crypto provider of
//! the workspace, aws-lc-rs; Mozilla's roots plus `--webhook-ca-file`). The
//! receivers this is for (a chat or alerting gateway) need nothing more, and
//! it keeps an HTTP client stack out of the build. Every step has a timeout,
//! the reply head is capped, and a 3xx is an error: redirects are never
//! followed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};

/// The longest reply head read.
const REPLY_CAP: usize = 16 * 1024;

/// A parsed webhook URL.
#[derive(Debug, Clone)]
pub struct Webhook {
    host: String,
    port: u16,
    path: String,
    timeout: Duration,
    /// The TLS client of an `https://` URL.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Webhook {
    /// Parses `http[s]://HOST[:PORT][/PATH]`; `ca_file` adds trust anchors
    /// (PEM) to Mozilla's for `https://`.
    pub fn parse(url: &str, timeout: Duration, ca_file: Option<&Path>) -> anyhow::Result<Webhook> {
        let (rest, default_port, tls) = if let Some(rest) = url.strip_prefix("http://") {
            (rest, 80, None)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (rest, 443, Some(client_config(ca_file)?))
        } else {
            bail!("--webhook {url}: not an http:// or https:// URL");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            bail!("--webhook {url}: give a host (and no credentials) after http://");
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse::<u16>() {
                Ok(port) if !h.is_empty() => (h, port),
                _ if authority.starts_with('[') && authority.ends_with(']') => {
                    (authority, default_port)
                }
                _ => bail!("--webhook {url}: bad port {p:?}"),
            },
            _ => (authority, default_port),
        };
        if path.chars().any(|c| c.is_control() || c == ' ') {
            bail!("--webhook {url}: the path has spaces or control characters");
        }
        Ok(Webhook {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            timeout,
            tls,
        })
    }

    fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    fn address(&self) -> anyhow::Result<SocketAddr> {
        (self.bare_host(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("resolving {}", self.host))?
            .next()
            .with_context(|| format!("{} has no address", self.host))
    }

    /// POSTs `body` as JSON; Ok on a 2xx reply.
    pub fn post(&self, body: &str) -> anyhow::Result<u16> {
        let addr = self.address()?;
        let stream = TcpStream::connect_timeout(&addr, self.timeout)
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        let host_header = if self.port == default_port {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: mailwarden/{}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.path,
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        let line = match &self.tls {
            None => exchange(stream, request.as_bytes()),
            Some(config) => {
                let name = ServerName::try_from(self.bare_host().to_owned())
                    .with_context(|| format!("{} is not a TLS server name", self.host))?;
                let conn =
                    rustls::ClientConnection::new(config.clone(), name).context("starting TLS")?;
                exchange(rustls::StreamOwned::new(conn, stream), request.as_bytes())
            }
        }
        .with_context(|| format!("POST to {addr}"))?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("{addr} did not answer HTTP: {line:?}"))?;
        match status {
            200..=299 => Ok(status),
            300..=399 => bail!("{addr} answered {status}: redirects are not followed"),
            _ => bail!("{addr} answered {line}"),
        }
    }
}

/// Sends the request and reads the reply's status line.
fn exchange(mut stream: impl Read + Write, request: &[u8]) -> anyhow::Result<String> {
    stream.write_all(request).context("sending")?;
    stream.flush().context("sending")?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < REPLY_CAP {
        let n = stream.read(&mut buf).context("reading the reply")?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(String::from_utf8_lossy(line).trim_end().to_owned())
}

/// A TLS client trusting Mozilla's roots and the certificates of `ca_file`.
fn client_config(ca_file: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| anyhow::anyhow!("--webhook-ca-file {}: {e}", path.display()))?;
        if certs.is_empty() {
            bail!("--webhook-ca-file {}: no certificate in it", path.display());
        }
        for cert in certs {
            roots
                .add(cert)
                .with_context(|| format!("--webhook-ca-file {}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS configuration")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn urls() {
        let w = Webhook::parse("http://127.0.0.1:8080/hook?x=1", T, None).unwrap();
        assert_eq!(
            (w.host.as_str(), w.port, w.path.as_str()),
            ("127.0.0.1", 8080, "/hook?x=1")
        );
        let w = Webhook::parse("http://localhost", T, None).unwrap();
        assert_eq!(
            (w.host.as_str(), w.port, w.path.as_str()),
            ("localhost", 80, "/")
        );
        let w = Webhook::parse("http://[::1]:9000/x", T, None).unwrap();
        assert_eq!((w.host.as_str(), w.port), ("[::1]", 9000));
        let w = Webhook::parse("https://example.test/", T, None).unwrap();
        assert_eq!(
            (w.host.as_str(), w.port, w.tls.is_some()),
            ("example.test", 443, true)
        );
        assert!(Webhook::parse("ftp://x", T, None).is_err());
        assert!(Webhook::parse("http://user:pw@host/", T, None).is_err());
        assert!(Webhook::parse("http://host:99999/", T, None).is_err());
        assert!(Webhook::parse("http:///x", T, None).is_err());
    }

    /// A receiver on loopback that answers every request with `reply` (or
    /// nothing at all when it is empty).
    fn receiver(reply: &'static str) -> std::net::SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                if reply.is_empty() {
                    std::thread::sleep(Duration::from_secs(3));
                } else {
                    let _ = conn.write_all(reply.as_bytes());
                }
            }
        });
        addr
    }

    #[test]
    fn replies_decide_the_outcome() {
        let ok = receiver("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        let hook = Webhook::parse(&format!("http://{ok}/x"), T, None).unwrap();
        assert_eq!(hook.post("{}").unwrap(), 200);
        let moved = receiver("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n\r\n");
        let hook = Webhook::parse(&format!("http://{moved}/x"), T, None).unwrap();
        assert!(
            hook.post("{}")
                .unwrap_err()
                .to_string()
                .contains("redirects are not followed")
        );
        let failing = receiver("HTTP/1.1 500 Internal Server Error\r\n\r\n");
        let hook = Webhook::parse(&format!("http://{failing}/x"), T, None).unwrap();
        assert!(hook.post("{}").unwrap_err().to_string().contains("500"));
        let silent = receiver("");
        let hook = Webhook::parse(
            &format!("http://{silent}/x"),
            Duration::from_millis(300),
            None,
        )
        .unwrap();
        let start = std::time::Instant::now();
        assert!(hook.post("{}").is_err());
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the timeout bounds a silent receiver"
        );
    }

    /// A CA and a certificate for 127.0.0.1 it signed, as (CA PEM, leaf DER, key DER).
    fn pki() -> (String, Vec<u8>, Vec<u8>) {
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "webhook test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        (
            ca_cert.pem(),
            leaf_cert.der().to_vec(),
            leaf_key.serialize_der(),
        )
    }

    /// An HTTPS receiver on loopback answering 200 to one request per connection.
    fn tls_receiver(leaf: Vec<u8>, key: Vec<u8>) -> std::net::SocketAddr {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf)],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, tcp);
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !seen.ends_with(b"{}") {
                        match tls.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        addr
    }

    #[test]
    fn https_receivers_are_verified() {
        let (ca_pem, leaf, key) = pki();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        let addr = tls_receiver(leaf, key);
        let url = format!("https://{addr}/hook");
        let hook = Webhook::parse(&url, T, Some(&ca_file)).unwrap();
        assert_eq!(hook.post("{}").unwrap(), 200);
        // Without the CA the receiver is not trusted: nothing is sent.
        let untrusted = Webhook::parse(&url, T, None).unwrap();
        let err = format!("{:#}", untrusted.post("{}").unwrap_err());
        assert!(
            err.contains("UnknownIssuer") || err.contains("certificate"),
            "{err}"
        );
        // HTTPS to a plain HTTP receiver fails instead of sending in clear.
        let plain = receiver("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        let hook = Webhook::parse(&format!("https://{plain}/x"), T, Some(&ca_file)).unwrap();
        assert!(hook.post("{}").is_err());
        // A bad CA file is a usage error.
        std::fs::write(&ca_file, "not PEM").unwrap();
        assert!(Webhook::parse(&url, T, Some(&ca_file)).is_err());
    }
}
