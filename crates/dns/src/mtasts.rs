//! MTA-STS (RFC 8461): the `_mta-sts` TXT record, and the policy fetched
//! from `https://mta-sts.<domain>/.well-known/mta-sts.txt`.
//!
//! The fetch is a single HTTP/1.1 GET over the probe's recording TLS
//! handshake rather than reqwest: the policy host's certificate chain is
//! then recorded and judged exactly like an MX certificate (path validation
//! against the same anchors and `--ca-file`, name check against
//! `mta-sts.<domain>`), the host is resolved through the audit resolver, a
//! test can map port 443 elsewhere, redirects are never followed (§3.3), and
//! the body is capped at 64 KiB.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::proto::rr::RecordType;
use mailwarden_model::{
    Attempt, FailureKind, MtaStsObservation, MtaStsPolicy, MtaStsPolicyFetch, SyntaxError,
};
use mailwarden_probe::TlsSettings;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::resolver::{Resolver, addresses};
use crate::tags;

/// The largest policy body read (RFC 8461 §3.3 suggests 64 KiB).
pub const BODY_CAP: usize = 64 * 1024;
const HEADER_CAP: usize = 16 * 1024;

/// How to fetch policies.
#[derive(Clone)]
pub struct FetchSettings {
    /// Trust anchors for the policy host's certificate.
    pub tls: TlsSettings,
    /// The port to connect to instead of 443 (tests).
    pub port: u16,
    /// Deadline of each network step.
    pub timeout: Duration,
}

/// Observes the MTA-STS record and, when there is one, fetches the policy.
pub async fn observe(
    resolver: &Resolver,
    domain: &str,
    fetch: &FetchSettings,
) -> MtaStsObservation {
    let lookup = resolver
        .lookup(&format!("_mta-sts.{domain}"), RecordType::TXT)
        .await
        .lookup;
    let records: Vec<String> = lookup
        .usable()
        .iter()
        .filter(|t| t.starts_with("v=STSv1"))
        .cloned()
        .collect();
    let (id, errors) = match records.as_slice() {
        [one] => parse_record(one),
        _ => (None, Vec::new()),
    };
    let policy = if records.is_empty() {
        Attempt::skipped("no MTA-STS record")
    } else {
        fetch_policy(resolver, domain, fetch).await
    };
    MtaStsObservation {
        lookup,
        records,
        id,
        errors,
        policy,
    }
}

/// The `id` and errors of a `v=STSv1` record (RFC 8461 §3.1).
pub fn parse_record(record: &str) -> (Option<String>, Vec<SyntaxError>) {
    let (tags, mut errors) = tags::parse(record);
    let id = tags::get(&tags, "id");
    match id {
        None => errors.push(SyntaxError {
            position: record.len(),
            message: "the required tag \"id\" is missing".to_owned(),
        }),
        Some(t)
            if t.value.is_empty()
                || t.value.len() > 32
                || !t.value.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            errors.push(SyntaxError {
                position: t.position,
                message: format!("id={:?} must be 1 to 32 letters and digits", t.value),
            });
        }
        Some(_) => {}
    }
    (id.map(|t| t.value.clone()), errors)
}

async fn fetch_policy(
    resolver: &Resolver,
    domain: &str,
    settings: &FetchSettings,
) -> Attempt<MtaStsPolicyFetch> {
    let host = format!("mta-sts.{domain}");
    let (lookups, ips) = addresses(resolver, &host).await;
    let Some(ip) = ips.first().copied() else {
        let why: Vec<String> = lookups.iter().map(|l| l.summary()).collect();
        return Attempt::failed(FailureKind::Unresolvable, why.join("; "));
    };
    fetch_from(&host, ip, settings).await
}

/// GET the policy from `host` at `ip`.
pub async fn fetch_from(
    host: &str,
    ip: IpAddr,
    settings: &FetchSettings,
) -> Attempt<MtaStsPolicyFetch> {
    let address = SocketAddr::new(ip, settings.port);
    let url = format!("https://{host}/.well-known/mta-sts.txt");
    let stream =
        match tokio::time::timeout(settings.timeout, tokio::net::TcpStream::connect(address)).await
        {
            Err(_) => {
                return Attempt::failed(
                    FailureKind::ConnectTimeout,
                    format!("connecting to {address}"),
                );
            }
            Ok(Err(e)) => {
                let f = mailwarden_probe::conn::io_failure(&e);
                return Attempt::failed(f.kind, format!("connecting to {address}: {}", f.detail));
            }
            Ok(Ok(s)) => s,
        };
    let (tls, handshake) =
        mailwarden_probe::handshake::modern(stream, host, ip, &settings.tls, settings.timeout)
            .await;
    let mut fetch = MtaStsPolicyFetch {
        url,
        address,
        tls: handshake,
        status: 0,
        content_type: None,
        redirect: None,
        body: String::new(),
        policy: None,
        error: None,
    };
    let Some(mut tls) = tls else {
        fetch.error = Some("the TLS handshake failed".to_owned());
        return Attempt::completed(fetch);
    };
    let request = format!(
        "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mailwarden\r\n\
         Accept: text/plain\r\nConnection: close\r\n\r\n"
    );
    let response = tokio::time::timeout(settings.timeout, async {
        tls.write_all(request.as_bytes()).await?;
        read_response(&mut tls).await
    })
    .await;
    match response {
        Err(_) => fetch.error = Some("no complete HTTP response in time".to_owned()),
        Ok(Err(e)) => fetch.error = Some(format!("reading the HTTP response: {e}")),
        Ok(Ok(raw)) => apply_response(&mut fetch, &raw),
    }
    Attempt::completed(fetch)
}

/// Reads until the response is complete (Content-Length, chunked end, or
/// close), within the caps.
async fn read_response<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(done) = complete(&buf)
            && done
        {
            return Ok(buf);
        }
        if buf.len() > HEADER_CAP + BODY_CAP {
            return Ok(buf);
        }
        match s.read(&mut chunk).await {
            Ok(0) => return Ok(buf),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            // A TLS close without close_notify ends the body too.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(buf),
            Err(e) => return Err(e),
        }
    }
}

/// `Some(true)` when `buf` holds a whole response by its own framing.
fn complete(buf: &[u8]) -> Option<bool> {
    let head_end = find(buf, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let body = &buf[head_end + 4..];
    if header(&head, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        return Some(find(body, b"0\r\n\r\n").is_some());
    }
    let len: usize = header(&head, "content-length")?.trim().parse().ok()?;
    Some(body.len() >= len)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn apply_response(fetch: &mut MtaStsPolicyFetch, raw: &[u8]) {
    let Some(head_end) = find(raw, b"\r\n\r\n") else {
        fetch.error = Some("the answer is not an HTTP response".to_owned());
        return;
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    fetch.status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    if !version.starts_with("HTTP/1.") || fetch.status == 0 {
        fetch.error = Some(format!("not an HTTP status line: {status_line:?}"));
        return;
    }
    fetch.content_type = header(&head, "content-type");
    let mut body = raw[head_end + 4..].to_vec();
    if header(&head, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        body = dechunk(&body);
    } else if let Some(len) =
        header(&head, "content-length").and_then(|l| l.trim().parse::<usize>().ok())
    {
        body.truncate(len);
    }
    body.truncate(BODY_CAP);
    fetch.body = String::from_utf8_lossy(&body).into_owned();
    if (300..400).contains(&fetch.status) {
        fetch.redirect = header(&head, "location");
        fetch.error = Some(format!(
            "HTTP {}: redirects are not followed (RFC 8461 §3.3)",
            fetch.status
        ));
        return;
    }
    if fetch.status != 200 {
        fetch.error = Some(format!("HTTP {}", fetch.status));
        return;
    }
    fetch.policy = Some(parse_policy(&fetch.body));
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = find(body, b"\r\n") {
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim().to_owned();
        let Ok(size) = usize::from_str_radix(&size_text, 16) else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || start + size > body.len() {
            break;
        }
        out.extend_from_slice(&body[start..start + size]);
        body = body.get(start + size + 2..).unwrap_or_default();
    }
    out
}

/// Parses a policy file (RFC 8461 §3.2); the position of an error is its
/// line number.
pub fn parse_policy(body: &str) -> MtaStsPolicy {
    let mut policy = MtaStsPolicy {
        version: None,
        mode: None,
        max_age: None,
        mx: Vec::new(),
        errors: Vec::new(),
    };
    let mut err = |line: usize, message: String| {
        policy.errors.push(SyntaxError {
            position: line,
            message,
        })
    };
    let mut version = None;
    let mut mode = None;
    let mut max_age = None;
    let mut mx = Vec::new();
    for (i, raw) in body.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            err(
                line_no,
                format!("line {line_no}: {line:?} is not \"key: value\""),
            );
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "version" => {
                if value != "STSv1" {
                    err(
                        line_no,
                        format!("line {line_no}: version must be STSv1, not {value:?}"),
                    );
                }
                if line_no != 1 {
                    err(
                        line_no,
                        format!("line {line_no}: version must be the first line"),
                    );
                }
                version = Some(value.to_owned());
            }
            "mode" => {
                if !matches!(value, "enforce" | "testing" | "none") {
                    err(
                        line_no,
                        format!("line {line_no}: mode {value:?}: use enforce, testing or none"),
                    );
                }
                mode = Some(value.to_owned());
            }
            "max_age" => match value.parse::<u64>() {
                Ok(n) if n <= 31_557_600 && !value.is_empty() => max_age = Some(n),
                _ => err(
                    line_no,
                    format!("line {line_no}: max_age {value:?} is not 0 to 31557600"),
                ),
            },
            "mx" => mx.push(value.to_ascii_lowercase()),
            _ => {} // extensions are ignored (§3.2)
        }
    }
    if version.is_none() {
        err(0, "no \"version: STSv1\" line".to_owned());
    }
    if mode.is_none() {
        err(0, "no \"mode\" line".to_owned());
    }
    if max_age.is_none() {
        err(0, "no valid \"max_age\" line".to_owned());
    }
    if mx.is_empty() && mode.as_deref() != Some("none") {
        err(0, "no \"mx\" line".to_owned());
    }
    policy.version = version;
    policy.mode = mode;
    policy.max_age = max_age;
    policy.mx = mx;
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.mode.as_deref(), Some("enforce"));
        assert_eq!(p.mx, ["mail.example.com", "*.example.net"]);
        assert_eq!(p.max_age, Some(604800));
        let p = parse_policy("mode: strict\nmax_age: -1\n");
        assert_eq!(p.errors.len(), 5, "{:?}", p.errors);
        assert_eq!(p.errors[0].position, 1);
    }

    #[test]
    fn records_and_framing() {
        assert_eq!(
            parse_record("v=STSv1; id=20240101T0").0.as_deref(),
            Some("20240101T0")
        );
        assert_eq!(parse_record("v=STSv1; id=a-b").1.len(), 1);
        assert_eq!(parse_record("v=STSv1;").1.len(), 1);
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            b"hello world"
        );
        assert_eq!(
            complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"),
            Some(false)
        );
        assert_eq!(
            complete(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhel"),
            Some(true)
        );
        assert_eq!(complete(b"HTTP/1.1 200 OK\r\n\r\nhel"), None);
        let mut f = MtaStsPolicyFetch {
            url: String::new(),
            address: "127.0.0.1:443".parse().unwrap(),
            tls: serde_json::from_str(r#"{"completed":true,"duration_ms":0}"#).unwrap(),
            status: 0,
            content_type: None,
            redirect: None,
            body: String::new(),
            policy: None,
            error: None,
        };
        apply_response(
            &mut f,
            b"HTTP/1.1 301 Moved\r\nLocation: https://x.example/\r\n\r\n",
        );
        assert_eq!(f.status, 301);
        assert_eq!(f.redirect.as_deref(), Some("https://x.example/"));
        assert!(f.policy.is_none());
    }
}
