//! IMAP (RFC 3501, RFC 9051; STARTTLS and LOGINDISABLED per RFC 2595 §3.1).

use mailwarden_model::{
    Attempt, Capabilities, EnforcementKind, EnforcementOutcome, EnforcementProbe, Failure,
    FailureKind, Line, Protocol,
};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Greeting, PROBE_USER, StartTlsReply, first_text, mentions_tls_required, upper};
use crate::conn::Conn;

/// An IMAP greeting is one line; `* BYE` refuses service.
pub fn greeting(first: Line) -> Greeting {
    let refusal = upper(&first).starts_with("* BYE");
    Greeting {
        protocol: Protocol::Imap,
        lines: vec![first],
        refusal,
    }
}

/// Status of a tagged completion line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    No,
    Bad,
}

/// Sends a tagged command and reads untagged lines up to the tagged completion.
async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    tag: &str,
    text: &str,
) -> Result<(Status, Vec<Line>), Failure> {
    conn.send_line(&format!("{tag} {text}")).await?;
    let prefix = format!("{} ", tag.to_ascii_uppercase());
    let lines = conn
        .read_reply(|l| upper(l).starts_with(&prefix) || upper(l).starts_with("* BYE"))
        .await?;
    let last = lines.last().map(upper).unwrap_or_default();
    let status = match last.strip_prefix(&prefix).map(str::trim_start) {
        Some(s) if s.starts_with("OK") => Status::Ok,
        Some(s) if s.starts_with("NO") => Status::No,
        Some(s) if s.starts_with("BAD") => Status::Bad,
        _ if last.starts_with("* BYE") => {
            return Err(Failure::new(
                FailureKind::ClosedByPeer,
                format!("server said BYE: {}", first_text(&lines[lines.len() - 1..])),
            ));
        }
        _ => {
            return Err(Failure::new(
                FailureKind::ProtocolError,
                format!("unexpected completion: {}", last),
            ));
        }
    };
    Ok((status, lines))
}

/// `CAPABILITY` (RFC 9051 §6.1.1).
pub async fn capabilities<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    greeting: &[Line],
) -> Result<Capabilities, Failure> {
    let (status, reply) = command(conn, "A1", "CAPABILITY").await?;
    if status != Status::Ok {
        return Err(Failure::new(
            FailureKind::ProtocolError,
            format!("CAPABILITY refused: {}", first_text(&reply)),
        ));
    }
    Ok(parse_capabilities("A1 CAPABILITY", reply, greeting))
}

/// Parses `* CAPABILITY ...` lines of a reply.
pub fn parse_capabilities(command: &str, reply: Vec<Line>, greeting: &[Line]) -> Capabilities {
    let mut keywords = Vec::new();
    let mut auth = Vec::new();
    for line in &reply {
        let text = upper(line);
        let Some(rest) = text.strip_prefix("* CAPABILITY ") else {
            continue;
        };
        for word in rest.split_whitespace() {
            if let Some(mech) = word.strip_prefix("AUTH=") {
                if !auth.iter().any(|m| m == mech) {
                    auth.push(mech.to_owned());
                }
            } else if !keywords.iter().any(|k| k == word) {
                keywords.push(word.to_owned());
            }
        }
    }
    Capabilities {
        command: command.to_owned(),
        starttls: keywords.iter().any(|k| k == "STARTTLS"),
        login_disabled: keywords.iter().any(|k| k == "LOGINDISABLED"),
        keywords,
        auth_mechanisms: auth,
        reply,
        implementation: greeting.first().and_then(banner),
    }
}

/// The human text of a greeting after `* OK` and an optional `[...]` response code.
fn banner(line: &Line) -> Option<String> {
    let text = line.text();
    let rest = text.get(4..)?.trim_start();
    let rest = match rest.strip_prefix('[') {
        Some(r) => r.split_once(']').map(|(_, after)| after).unwrap_or(""),
        None => rest,
    };
    let rest = rest.trim();
    (!rest.is_empty()).then(|| rest.to_owned())
}

/// `LOGIN` with an obviously invalid user before STARTTLS. A server that
/// enforces TLS refuses with `[PRIVACYREQUIRED]` (RFC 5530) or similar; an
/// authentication *failure* proves it read the password in plaintext.
pub async fn login_before_tls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> EnforcementProbe {
    let text = format!("LOGIN \"{PROBE_USER}\" \"mailwarden-not-a-password\"");
    let reply = command(conn, "A2", &text).await;
    let outcome = match &reply {
        Ok((status, lines)) => {
            let all: String = lines.iter().map(upper).collect::<Vec<_>>().join("\n");
            if all.contains("[PRIVACYREQUIRED]") || mentions_tls_required(&all) {
                EnforcementOutcome::RefusedTlsRequired
            } else {
                match status {
                    Status::Ok => EnforcementOutcome::AcceptedWithoutTls,
                    // The credentials were processed: the password crossed in clear.
                    Status::No
                        if all.contains("[AUTHENTICATIONFAILED]")
                            || all.contains("[AUTHORIZATIONFAILED]")
                            || all.contains("AUTHENTICATION FAILED")
                            || all.contains("INVALID") =>
                    {
                        EnforcementOutcome::AcceptedWithoutTls
                    }
                    _ => EnforcementOutcome::Inconclusive,
                }
            }
        }
        Err(_) => EnforcementOutcome::NoReply,
    };
    EnforcementProbe {
        kind: EnforcementKind::ImapLoginBeforeTls,
        command: format!("A2 {text}"),
        reply: Attempt::from_result(reply.map(|(_, l)| l)),
        outcome,
    }
}

/// `STARTTLS`; tagged OK means go ahead.
pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> Result<StartTlsReply, Failure> {
    let (status, reply) = command(conn, "A3", "STARTTLS").await?;
    Ok(StartTlsReply {
        command: "A3 STARTTLS".to_owned(),
        reply,
        accepted: status == Status::Ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_capability_lines() {
        let reply = vec![
            Line::from(
                "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED AUTH=PLAIN",
            ),
            Line::from("A1 OK Pre-login capabilities listed, post-login capabilities have more."),
        ];
        let caps = parse_capabilities(
            "A1 CAPABILITY",
            reply,
            &[Line::from(
                "* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.",
            )],
        );
        assert!(caps.starttls);
        assert!(caps.login_disabled);
        assert_eq!(caps.auth_mechanisms, ["PLAIN"]);
        assert_eq!(
            caps.implementation.as_deref(),
            Some("Dovecot (Debian) ready.")
        );
    }
}
