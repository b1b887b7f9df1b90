//! POP3 (RFC 1939; CAPA per RFC 2449; STLS per RFC 2595 §4).

use mailwarden_model::{
    Attempt, Capabilities, EnforcementKind, EnforcementOutcome, EnforcementProbe, Failure,
    FailureKind, Line, Protocol,
};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Greeting, PROBE_USER, StartTlsReply, first_text, mentions_tls_required, upper};
use crate::conn::Conn;

/// A POP3 greeting is one line; `-ERR` refuses service.
pub fn greeting(first: Line) -> Greeting {
    let refusal = upper(&first).starts_with("-ERR");
    Greeting {
        protocol: Protocol::Pop3,
        lines: vec![first],
        refusal,
    }
}

fn is_ok(line: &Line) -> bool {
    upper(line).starts_with("+OK")
}

async fn single<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    text: &str,
) -> Result<Vec<Line>, Failure> {
    conn.send_line(text).await?;
    conn.read_reply(|_| true).await
}

/// `CAPA` (RFC 2449): `+OK`, capability lines, then a lone `.`.
pub async fn capabilities<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    greeting: &[Line],
) -> Result<Capabilities, Failure> {
    conn.send_line("CAPA").await?;
    let first = conn.read_reply(|_| true).await?;
    let ok = first.first().is_some_and(is_ok);
    let mut reply = first;
    if ok {
        let rest = conn.read_reply(|l| l.bytes() == b".").await?;
        reply.extend(rest);
    } else if !first_text(&reply).to_ascii_uppercase().starts_with("-ERR") {
        return Err(Failure::new(
            FailureKind::ProtocolError,
            format!("not a POP3 reply to CAPA: {}", first_text(&reply)),
        ));
    }
    // A server without CAPA (-ERR) advertises nothing: no STLS, no SASL.
    Ok(parse_capa("CAPA", reply, greeting))
}

/// Parses a CAPA reply.
pub fn parse_capa(command: &str, reply: Vec<Line>, greeting: &[Line]) -> Capabilities {
    let mut keywords = Vec::new();
    let mut auth = Vec::new();
    let ok = reply.first().is_some_and(is_ok);
    if ok {
        for line in reply.iter().skip(1) {
            if line.bytes() == b"." {
                break;
            }
            let text = upper(line);
            let mut words = text.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            if keyword == "SASL" {
                auth.extend(words.map(str::to_owned));
            } else {
                keywords.push(keyword.to_owned());
            }
        }
    }
    Capabilities {
        command: command.to_owned(),
        starttls: keywords.iter().any(|k| k == "STLS"),
        login_disabled: false,
        keywords,
        auth_mechanisms: auth,
        reply,
        implementation: greeting.first().and_then(banner),
    }
}

fn banner(line: &Line) -> Option<String> {
    let text = line.text();
    let rest = text.get(3..)?.trim();
    // RFC 1939 APOP timestamps are not a banner.
    let rest = match rest.rfind('<') {
        Some(i) if rest.ends_with('>') => rest[..i].trim(),
        _ => rest,
    };
    (!rest.is_empty()).then(|| rest.to_owned())
}

/// `USER` with an obviously invalid name before STLS; never followed by PASS.
/// `+OK` means the server takes credentials in plaintext.
pub async fn user_before_tls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> EnforcementProbe {
    let command = format!("USER {PROBE_USER}");
    let reply = single(conn, &command).await;
    let outcome = match &reply {
        Ok(lines) if lines.first().is_some_and(is_ok) => EnforcementOutcome::AcceptedWithoutTls,
        Ok(lines) => {
            let text = first_text(lines);
            if text.to_ascii_uppercase().contains("[AUTH]") || mentions_tls_required(&text) {
                EnforcementOutcome::RefusedTlsRequired
            } else {
                EnforcementOutcome::Inconclusive
            }
        }
        Err(_) => EnforcementOutcome::NoReply,
    };
    EnforcementProbe {
        kind: EnforcementKind::Pop3UserBeforeTls,
        command,
        reply: Attempt::from_result(reply),
        outcome,
    }
}

/// `STLS`; `+OK` means go ahead.
pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> Result<StartTlsReply, Failure> {
    let reply = single(conn, "STLS").await?;
    Ok(StartTlsReply {
        command: "STLS".to_owned(),
        accepted: reply.first().is_some_and(is_ok),
        reply,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_capa() {
        let reply: Vec<Line> = [
            "+OK",
            "CAPA",
            "TOP",
            "UIDL",
            "RESP-CODES",
            "PIPELINING",
            "AUTH-RESP-CODE",
            "STLS",
            "USER",
            "SASL PLAIN LOGIN",
            ".",
        ]
        .into_iter()
        .map(Line::from)
        .collect();
        let caps = parse_capa("CAPA", reply, &[Line::from("+OK Dovecot (Debian) ready.")]);
        assert!(caps.starttls);
        assert_eq!(caps.auth_mechanisms, ["PLAIN", "LOGIN"]);
        assert!(caps.keywords.contains(&"USER".to_owned()));
        assert_eq!(
            caps.implementation.as_deref(),
            Some("Dovecot (Debian) ready.")
        );
    }
}
