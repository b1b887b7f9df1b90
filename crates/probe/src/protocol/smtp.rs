//! SMTP and LMTP (RFC 5321, RFC 2033, STARTTLS per RFC 3207).

use mailwarden_model::{
    Attempt, Capabilities, EnforcementKind, EnforcementOutcome, EnforcementProbe, Failure,
    FailureKind, Line, Protocol,
};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{CLIENT_NAME, Greeting, StartTlsReply, first_text, mentions_tls_required};
use crate::conn::Conn;

/// The three-digit code of a reply line, if it has one.
pub fn code(line: &Line) -> Option<u16> {
    let b = line.bytes();
    let digits = b.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sep = b.get(3);
    if sep.is_some() && sep != Some(&b' ') && sep != Some(&b'-') {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// True for the last line of a multi-line reply (`250 x`, not `250-x`), and for
/// any line that is not a reply line at all (so a malformed reply ends the read
/// and is then rejected by [`read_reply`]).
fn is_last(line: &Line) -> bool {
    line.bytes().get(3) != Some(&b'-') || code(line).is_none()
}

/// Reads a complete reply and checks that every line is a reply line with the same code.
pub async fn read_reply<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> Result<(u16, Vec<Line>), Failure> {
    let lines = conn.read_reply(is_last).await?;
    let Some(first) = lines.first().and_then(code) else {
        return Err(Failure::new(
            FailureKind::ProtocolError,
            format!("not an SMTP reply: {}", first_text(&lines)),
        ));
    };
    if let Some(bad) = lines.iter().find(|l| code(l) != Some(first)) {
        return Err(Failure::new(
            FailureKind::ProtocolError,
            format!("inconsistent reply line: {bad}"),
        ));
    }
    Ok((first, lines))
}

/// Reads the rest of a multi-line greeting.
pub async fn finish_greeting<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    first: Line,
) -> Result<Greeting, Failure> {
    let mut lines = vec![first];
    if !is_last(&lines[0]) {
        let (_, rest) = read_reply(conn).await?;
        lines.extend(rest);
    }
    let refusal = code(&lines[0]).is_some_and(|c| c != 220);
    Ok(Greeting {
        protocol: Protocol::Smtp,
        lines,
        refusal,
    })
}

/// Sends EHLO (LHLO for LMTP); when an SMTP-looking server rejects EHLO, tries
/// LHLO to tell LMTP apart. Returns the protocol as finally recognized.
pub async fn capabilities<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    protocol: Protocol,
    greeting: &[Line],
) -> Result<(Protocol, Capabilities), Failure> {
    let verb = if protocol == Protocol::Lmtp {
        "LHLO"
    } else {
        "EHLO"
    };
    let command = format!("{verb} {CLIENT_NAME}");
    conn.send_line(&command).await?;
    let (code, reply) = read_reply(conn).await?;
    if code == 250 {
        return Ok((protocol, parse_ehlo(&command, reply, greeting)));
    }
    if protocol == Protocol::Smtp && (500..=502).contains(&code) {
        // LMTP servers do not know EHLO (RFC 2033 §4.1); they answer LHLO.
        let lhlo = format!("LHLO {CLIENT_NAME}");
        conn.send_line(&lhlo).await?;
        let (code2, reply2) = read_reply(conn).await?;
        if code2 == 250 {
            return Ok((Protocol::Lmtp, parse_ehlo(&lhlo, reply2, greeting)));
        }
        // A pre-ESMTP server: no extensions at all (so no STARTTLS, no AUTH).
        conn.send_line(&format!("HELO {CLIENT_NAME}")).await?;
        let (code3, reply3) = read_reply(conn).await?;
        if code3 == 250 {
            let caps = parse_ehlo(&format!("HELO {CLIENT_NAME}"), reply3, greeting);
            return Ok((protocol, caps));
        }
    }
    Err(Failure::new(
        FailureKind::ProtocolError,
        format!("{verb} refused: {}", first_text(&reply)),
    ))
}

/// Parses an EHLO/LHLO reply into capabilities.
pub fn parse_ehlo(command: &str, reply: Vec<Line>, greeting: &[Line]) -> Capabilities {
    let mut keywords = Vec::new();
    let mut auth = Vec::new();
    // The first line carries the server's name, not a keyword.
    for line in reply.iter().skip(1) {
        let text = line.text();
        let body = text.get(4..).unwrap_or("").trim();
        let mut words = body.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        let keyword = keyword.to_ascii_uppercase();
        // `AUTH=PLAIN LOGIN` is the pre-RFC 4954 form some servers still send.
        if keyword == "AUTH" || keyword.starts_with("AUTH=") {
            let first = keyword.strip_prefix("AUTH=").filter(|m| !m.is_empty());
            for mech in first
                .map(str::to_owned)
                .into_iter()
                .chain(words.map(str::to_ascii_uppercase))
            {
                if !auth.contains(&mech) {
                    auth.push(mech);
                }
            }
            continue;
        }
        keywords.push(keyword);
    }
    let starttls = keywords.iter().any(|k| k == "STARTTLS");
    Capabilities {
        command: command.to_owned(),
        reply,
        keywords,
        starttls,
        auth_mechanisms: auth,
        login_disabled: false,
        implementation: greeting.first().and_then(banner),
    }
}

/// The text of an SMTP greeting after the code (what discloses the software).
fn banner(line: &Line) -> Option<String> {
    let text = line.text();
    let rest = text.get(4..)?.trim();
    (!rest.is_empty()).then(|| rest.to_owned())
}

/// `MAIL FROM:<>` before STARTTLS, then `RSET`. RFC 3207 §4: a server that
/// requires TLS answers 530. Never followed by RCPT or DATA.
pub async fn mail_before_tls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> EnforcementProbe {
    let command = "MAIL FROM:<>".to_owned();
    let reply = match conn.send_line(&command).await {
        Ok(()) => read_reply(conn).await,
        Err(e) => Err(e),
    };
    let outcome = match &reply {
        Ok((code, lines)) => {
            let text: String = lines.iter().map(|l| l.text().into_owned()).collect();
            match code {
                200..=299 => EnforcementOutcome::AcceptedWithoutTls,
                _ if mentions_tls_required(&text) => EnforcementOutcome::RefusedTlsRequired,
                _ => EnforcementOutcome::Inconclusive,
            }
        }
        Err(_) => EnforcementOutcome::NoReply,
    };
    if matches!(reply, Ok((200..=299, _))) {
        // Abandon the transaction so the session is clean for STARTTLS.
        if conn.send_line("RSET").await.is_ok() {
            let _ = read_reply(conn).await;
        }
    }
    EnforcementProbe {
        kind: EnforcementKind::SmtpMailBeforeTls,
        command,
        reply: Attempt::from_result(reply.map(|(_, lines)| lines)),
        outcome,
    }
}

/// Sends STARTTLS; 220 means go ahead (RFC 3207 §4).
pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> Result<StartTlsReply, Failure> {
    conn.send_line("STARTTLS").await?;
    let (code, reply) = read_reply(conn).await?;
    Ok(StartTlsReply {
        command: "STARTTLS".to_owned(),
        reply,
        accepted: code == 220,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<Line> {
        v.iter().map(|s| Line::from(*s)).collect()
    }

    #[test]
    fn parses_ehlo_keywords_and_auth_forms() {
        let reply = lines(&[
            "250-mail.test",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-STARTTLS",
            "250-AUTH PLAIN LOGIN",
            "250-AUTH=PLAIN LOGIN CRAM-MD5",
            "250 8BITMIME",
        ]);
        let caps = parse_ehlo(
            "EHLO x",
            reply,
            &lines(&["220 mail.test ESMTP Postfix (Debian/GNU)"]),
        );
        assert!(caps.starttls);
        assert_eq!(caps.auth_mechanisms, ["PLAIN", "LOGIN", "CRAM-MD5"]);
        assert_eq!(
            caps.keywords,
            ["PIPELINING", "SIZE", "STARTTLS", "8BITMIME"]
        );
        assert_eq!(
            caps.implementation.as_deref(),
            Some("mail.test ESMTP Postfix (Debian/GNU)")
        );
    }

    #[test]
    fn reply_codes() {
        assert_eq!(code(&Line::from("250-x")), Some(250));
        assert_eq!(code(&Line::from("250")), Some(250));
        assert_eq!(code(&Line::from("25x ")), None);
        assert_eq!(code(&Line::from("2500")), None);
        assert_eq!(code(&Line::from("")), None);
    }
}
