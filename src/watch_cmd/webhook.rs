//! The webhook: one HTTP/1.1 POST of a JSON line, hand-written over a std
//! TCP stream. The receivers this is for (a chat relay, an alerting gateway,
//! usually on the same host or network) need nothing more, and it keeps an
//! HTTP client stack out of the build. Every step has a timeout, the reply
//! head is capped, a 3xx is an error (redirects are never followed), and
//! only `http://` URLs are accepted: put a local relay in front of an HTTPS
//! receiver.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// The longest reply head read.
const REPLY_CAP: usize = 16 * 1024;

/// A parsed webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    host: String,
    port: u16,
    path: String,
    timeout: Duration,
}

impl Webhook {
    /// Parses `http://HOST[:PORT][/PATH]`.
    pub fn parse(url: &str, timeout: Duration) -> anyhow::Result<Webhook> {
        let Some(rest) = url.strip_prefix("http://") else {
            if url.starts_with("https://") {
                bail!(
                    "--webhook {url}: only http:// is supported; put a local relay in front of an HTTPS receiver"
                );
            }
            bail!("--webhook {url}: not an http:// URL");
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
                _ if authority.starts_with('[') && authority.ends_with(']') => (authority, 80),
                _ => bail!("--webhook {url}: bad port {p:?}"),
            },
            _ => (authority, 80),
        };
        if path.chars().any(|c| c.is_control() || c == ' ') {
            bail!("--webhook {url}: the path has spaces or control characters");
        }
        Ok(Webhook {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            timeout,
        })
    }

    fn address(&self) -> anyhow::Result<SocketAddr> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host, self.port)
            .to_socket_addrs()
            .with_context(|| format!("resolving {}", self.host))?
            .next()
            .with_context(|| format!("{} has no address", self.host))
    }

    /// POSTs `body` as JSON; Ok on a 2xx reply.
    pub fn post(&self, body: &str) -> anyhow::Result<u16> {
        let addr = self.address()?;
        let mut stream = TcpStream::connect_timeout(&addr, self.timeout)
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let host_header = if self.port == 80 {
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
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .with_context(|| format!("sending to {addr}"))?;
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < REPLY_CAP {
            let n = stream
                .read(&mut buf)
                .with_context(|| format!("reading the reply of {addr}"))?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("{addr} did not answer HTTP: {:?}", line.trim_end()))?;
        match status {
            200..=299 => Ok(status),
            300..=399 => bail!("{addr} answered {status}: redirects are not followed"),
            _ => bail!("{addr} answered {}", line.trim_end()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn urls() {
        let w = Webhook::parse("http://127.0.0.1:8080/hook?x=1", T).unwrap();
        assert_eq!(
            (w.host.as_str(), w.port, w.path.as_str()),
            ("127.0.0.1", 8080, "/hook?x=1")
        );
        let w = Webhook::parse("http://localhost", T).unwrap();
        assert_eq!(
            (w.host.as_str(), w.port, w.path.as_str()),
            ("localhost", 80, "/")
        );
        let w = Webhook::parse("http://[::1]:9000/x", T).unwrap();
        assert_eq!((w.host.as_str(), w.port), ("[::1]", 9000));
        assert!(
            Webhook::parse("https://example.test/", T)
                .unwrap_err()
                .to_string()
                .contains("relay")
        );
        assert!(Webhook::parse("ftp://x", T).is_err());
        assert!(Webhook::parse("http://user:pw@host/", T).is_err());
        assert!(Webhook::parse("http://host:99999/", T).is_err());
        assert!(Webhook::parse("http:///x", T).is_err());
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
        let hook = Webhook::parse(&format!("http://{ok}/x"), T).unwrap();
        assert_eq!(hook.post("{}").unwrap(), 200);
        let moved = receiver("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n\r\n");
        let hook = Webhook::parse(&format!("http://{moved}/x"), T).unwrap();
        assert!(
            hook.post("{}")
                .unwrap_err()
                .to_string()
                .contains("redirects are not followed")
        );
        let failing = receiver("HTTP/1.1 500 Internal Server Error\r\n\r\n");
        let hook = Webhook::parse(&format!("http://{failing}/x"), T).unwrap();
        assert!(hook.post("{}").unwrap_err().to_string().contains("500"));
        let silent = receiver("");
        let hook =
            Webhook::parse(&format!("http://{silent}/x"), Duration::from_millis(300)).unwrap();
        let start = std::time::Instant::now();
        assert!(hook.post("{}").is_err());
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the timeout bounds a silent receiver"
        );
    }
}
