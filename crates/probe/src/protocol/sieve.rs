//! ManageSieve (RFC 5804): the greeting is the capability list; STARTTLS per §2.2.

use mailwarden_model::{Capabilities, Failure, FailureKind, Line, Protocol};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Greeting, StartTlsReply, first_text, upper};
use crate::conn::Conn;

/// True for the line that ends a ManageSieve response (`OK`, `NO`, `BYE`).
fn is_final(line: &Line) -> bool {
    let u = upper(line);
    u == "OK"
        || u == "NO"
        || u == "BYE"
        || u.starts_with("OK ")
        || u.starts_with("NO ")
        || u.starts_with("BYE ")
        || u.starts_with("OK(")
        || u.starts_with("NO(")
        || u.starts_with("BYE(")
}

/// Reads the capability lines of the greeting up to its `OK`.
pub async fn finish_greeting<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    first: Line,
) -> Result<Greeting, Failure> {
    let mut lines = vec![first];
    let rest = conn.read_reply(is_final).await?;
    lines.extend(rest);
    let refusal = lines.last().is_some_and(|l| !upper(l).starts_with("OK"));
    Ok(Greeting {
        protocol: Protocol::ManageSieve,
        lines,
        refusal,
    })
}

/// Splits a capability line `"NAME" "value"` into its quoted strings.
fn quoted_strings(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(escaped) = chars.next() {
                        s.push(escaped);
                    }
                }
                '"' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

/// Parses capability lines (greeting, or the list re-sent after TLS).
pub fn parse_capabilities(command: &str, lines: &[Line]) -> Capabilities {
    let mut keywords = Vec::new();
    let mut auth = Vec::new();
    let mut implementation = None;
    for line in lines {
        let parts = quoted_strings(&line.text());
        let Some(name) = parts.first() else { continue };
        let name = name.to_ascii_uppercase();
        let value = parts.get(1).cloned().unwrap_or_default();
        match name.as_str() {
            "SASL" => auth.extend(value.split_whitespace().map(str::to_ascii_uppercase)),
            "IMPLEMENTATION" => implementation = Some(value),
            _ => {}
        }
        keywords.push(name);
    }
    Capabilities {
        command: command.to_owned(),
        reply: lines.to_vec(),
        starttls: keywords.iter().any(|k| k == "STARTTLS"),
        login_disabled: false,
        keywords,
        auth_mechanisms: auth,
        implementation,
    }
}

/// `STARTTLS`; `OK` means go ahead.
pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> Result<StartTlsReply, Failure> {
    conn.send_line("STARTTLS").await?;
    let reply = conn.read_reply(is_final).await?;
    let accepted = reply.last().is_some_and(|l| upper(l).starts_with("OK"));
    Ok(StartTlsReply {
        command: "STARTTLS".to_owned(),
        reply,
        accepted,
    })
}

/// Reads the capability list the server sends unasked after TLS (RFC 5804 §2.2).
pub async fn capabilities_after_tls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> Result<Capabilities, Failure> {
    let lines = conn.read_reply(is_final).await?;
    if !lines.last().is_some_and(|l| upper(l).starts_with("OK")) {
        return Err(Failure::new(
            FailureKind::ProtocolError,
            format!("no capability list after TLS: {}", first_text(&lines)),
        ));
    }
    Ok(parse_capabilities("(after TLS)", &lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sieve_greeting() {
        let lines: Vec<Line> = [
            r#""IMPLEMENTATION" "Dovecot Pigeonhole""#,
            r#""SIEVE" "fileinto reject""#,
            r#""NOTIFY" "mailto""#,
            r#""SASL" "PLAIN LOGIN""#,
            r#""STARTTLS""#,
            r#""VERSION" "1.0""#,
            r#"OK "Dovecot (Debian) ready.""#,
        ]
        .into_iter()
        .map(Line::from)
        .collect();
        let caps = parse_capabilities("(greeting)", &lines);
        assert!(caps.starttls);
        assert_eq!(caps.auth_mechanisms, ["PLAIN", "LOGIN"]);
        assert_eq!(caps.implementation.as_deref(), Some("Dovecot Pigeonhole"));
        assert!(is_final(&lines[6]));
    }
}
