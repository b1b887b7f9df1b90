//! Mail protocol dialogs: recognizing a protocol from a greeting, listing
//! capabilities, checking enforcement before TLS, and reaching the point where
//! TLS starts. One module per protocol; the endpoint orchestrator dispatches on
//! [`Protocol`].

pub mod imap;
pub mod pop3;
pub mod sieve;
pub mod smtp;

use mailwarden_model::{
    Capabilities, EnforcementProbe, Failure, FailureKind, Line, Protocol, ServiceRole,
};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::conn::Conn;

/// The name we introduce ourselves with (EHLO/LHLO). `.invalid` is reserved
/// (RFC 2606) so it can never be mistaken for a real client.
pub const CLIENT_NAME: &str = "mailwarden.invalid";

/// An obviously invalid user name for enforcement checks: never a real account.
pub const PROBE_USER: &str = "mailwarden-probe@invalid";

/// What the first line a server sent says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstLine {
    /// An SMTP or LMTP greeting (or refusal: 421, 554).
    Smtp,
    /// An IMAP greeting (`* OK`, `* PREAUTH`, `* BYE`).
    Imap,
    /// A POP3 greeting (`+OK`, `-ERR`).
    Pop3,
    /// A ManageSieve greeting (capability lines, then `OK`).
    Sieve,
    /// Not a mail protocol.
    NotMail,
}

/// Classifies a server's first line.
pub fn recognize(line: &Line) -> FirstLine {
    let b = line.bytes();
    let upper: Vec<u8> = b.iter().take(12).map(|c| c.to_ascii_uppercase()).collect();
    if b.len() >= 3
        && b[..3].iter().all(u8::is_ascii_digit)
        && (b.len() == 3 || b[3] == b' ' || b[3] == b'-')
    {
        return FirstLine::Smtp;
    }
    if upper.starts_with(b"* OK") || upper.starts_with(b"* PREAUTH") || upper.starts_with(b"* BYE")
    {
        return FirstLine::Imap;
    }
    if upper.starts_with(b"+OK") || upper.starts_with(b"-ERR") {
        return FirstLine::Pop3;
    }
    // ManageSieve greets with capability lines: `"IMPLEMENTATION" "..."`.
    if b.first() == Some(&b'"') && b.len() > 2 {
        return FirstLine::Sieve;
    }
    FirstLine::NotMail
}

/// A greeting read in full.
#[derive(Debug, Clone)]
pub struct Greeting {
    /// The protocol family it belongs to (LMTP is told from SMTP later).
    pub protocol: Protocol,
    /// The lines, raw.
    pub lines: Vec<Line>,
    /// True when the greeting refuses service for load or policy reasons
    /// (SMTP 4xx, IMAP `* BYE`, POP3 `-ERR`).
    pub refusal: bool,
}

/// Reads a complete greeting, the first line of which has already been read.
pub async fn finish_greeting<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    first: Line,
) -> Result<Greeting, Failure> {
    match recognize(&first) {
        FirstLine::Smtp => smtp::finish_greeting(conn, first).await,
        FirstLine::Imap => Ok(imap::greeting(first)),
        FirstLine::Pop3 => Ok(pop3::greeting(first)),
        FirstLine::Sieve => sieve::finish_greeting(conn, first).await,
        FirstLine::NotMail => Err(Failure::new(
            FailureKind::NotMail,
            format!("not a mail greeting: {first}"),
        )),
    }
}

/// Lists capabilities (before or after TLS). For ManageSieve the capabilities
/// before TLS are the greeting itself; `greeting` is passed for that case.
/// Returns the protocol too, since an SMTP greeting may turn out to be LMTP.
pub async fn capabilities<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    protocol: Protocol,
    greeting: &[Line],
) -> Result<(Protocol, Capabilities), Failure> {
    match protocol {
        Protocol::Smtp | Protocol::Lmtp => smtp::capabilities(conn, protocol, greeting).await,
        Protocol::Imap => Ok((protocol, imap::capabilities(conn, greeting).await?)),
        Protocol::Pop3 => Ok((protocol, pop3::capabilities(conn, greeting).await?)),
        Protocol::ManageSieve => Ok((protocol, sieve::parse_capabilities("(greeting)", greeting))),
    }
}

/// Checks whether the server lets a client send mail or log in before TLS.
/// Never sends real credentials, never sends `DATA`.
pub async fn enforcement<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    protocol: Protocol,
    role: Option<ServiceRole>,
) -> Vec<EnforcementProbe> {
    match protocol {
        // An MX must accept mail without TLS (RFC 3207 §4): nothing to check there.
        Protocol::Smtp if role != Some(ServiceRole::Smtp) => {
            vec![smtp::mail_before_tls(conn).await]
        }
        Protocol::Imap => vec![imap::login_before_tls(conn).await],
        Protocol::Pop3 => vec![pop3::user_before_tls(conn).await],
        _ => Vec::new(),
    }
}

/// The STARTTLS command and the server's answer.
#[derive(Debug, Clone)]
pub struct StartTlsReply {
    /// The command sent.
    pub command: String,
    /// The reply lines.
    pub reply: Vec<Line>,
    /// True when the server said "go ahead".
    pub accepted: bool,
}

/// Sends the protocol's STARTTLS command and reads the answer.
pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    protocol: Protocol,
) -> Result<StartTlsReply, Failure> {
    match protocol {
        Protocol::Smtp | Protocol::Lmtp => smtp::starttls(conn).await,
        Protocol::Imap => imap::starttls(conn).await,
        Protocol::Pop3 => pop3::starttls(conn).await,
        Protocol::ManageSieve => sieve::starttls(conn).await,
    }
}

/// Capabilities over TLS, after STARTTLS (the greeting is not repeated).
pub async fn capabilities_after_starttls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    protocol: Protocol,
) -> Result<Capabilities, Failure> {
    match protocol {
        Protocol::Smtp | Protocol::Lmtp => Ok(smtp::capabilities(conn, protocol, &[]).await?.1),
        Protocol::Imap => imap::capabilities(conn, &[]).await,
        Protocol::Pop3 => pop3::capabilities(conn, &[]).await,
        // RFC 5804 §2.2: the server re-sends its capabilities after TLS unasked.
        Protocol::ManageSieve => sieve::capabilities_after_tls(conn).await,
    }
}

/// Ends the session politely; errors are irrelevant at this point.
pub async fn quit<S: AsyncRead + AsyncWrite + Unpin>(conn: &mut Conn<S>, protocol: Protocol) {
    let command = match protocol {
        Protocol::Smtp | Protocol::Lmtp | Protocol::Pop3 => "QUIT",
        Protocol::Imap => "Z LOGOUT",
        Protocol::ManageSieve => "LOGOUT",
    };
    if conn.send_line(command).await.is_ok() {
        let deadline = conn
            .deadline()
            .min(tokio::time::Instant::now() + std::time::Duration::from_secs(2));
        let _ = conn.read_line(deadline).await;
    }
}

/// Runs the dialog up to the point where TLS starts, on a fresh connection
/// (greeting, capabilities, STARTTLS accepted). Used to repeat a handshake with a
/// hand-built ClientHello.
pub async fn reach_starttls<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    protocol: Protocol,
) -> Result<(), Failure> {
    let deadline = conn.deadline();
    let first = conn.read_line(deadline).await?;
    let greeting = finish_greeting(conn, first).await?;
    if greeting.refusal {
        return Err(Failure::new(
            FailureKind::Throttled,
            format!("greeting refused service: {}", first_text(&greeting.lines)),
        ));
    }
    // SMTP needs EHLO before STARTTLS; the others accept it right away.
    if matches!(protocol, Protocol::Smtp | Protocol::Lmtp) {
        smtp::capabilities(conn, protocol, &greeting.lines).await?;
    }
    let reply = starttls(conn, protocol).await?;
    if reply.accepted {
        Ok(())
    } else {
        Err(Failure::new(
            FailureKind::ProtocolError,
            format!("STARTTLS refused: {}", first_text(&reply.reply)),
        ))
    }
}

/// The first line of a reply as text, for messages.
pub fn first_text(lines: &[Line]) -> String {
    lines.first().map(|l| l.to_string()).unwrap_or_default()
}

/// Upper-cased ASCII text of a line, for case-insensitive matching.
pub(crate) fn upper(line: &Line) -> String {
    line.text().to_ascii_uppercase()
}

/// Detects reply text that refuses something because TLS is required.
pub(crate) fn mentions_tls_required(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    let about_tls = t.contains("starttls")
        || t.contains("tls")
        || t.contains("ssl")
        || t.contains("privacyrequired")
        || t.contains("plaintext")
        || t.contains("cleartext")
        || t.contains("encrypt")
        || t.contains("secure");
    let refusing = t.contains("required")
        || t.contains("not allowed")
        || t.contains("disallowed")
        || t.contains("must")
        || t.contains("first")
        || t.contains("privacyrequired")
        || t.contains("denied")
        || t.contains("disabled");
    about_tls && refusing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_greetings() {
        let cases = [
            ("220 mx.example.org ESMTP Postfix", FirstLine::Smtp),
            ("220-mx.example.org ESMTP Exim 4.96", FirstLine::Smtp),
            ("421 4.7.0 Too many connections", FirstLine::Smtp),
            (
                "* OK [CAPABILITY IMAP4rev1] Dovecot ready.",
                FirstLine::Imap,
            ),
            ("* BYE Too many connections", FirstLine::Imap),
            ("+OK Dovecot ready.", FirstLine::Pop3),
            ("-ERR [IN-USE] busy", FirstLine::Pop3),
            (r#""IMPLEMENTATION" "Dovecot Pigeonhole""#, FirstLine::Sieve),
            ("HTTP/1.1 400 Bad Request", FirstLine::NotMail),
            ("SSH-2.0-OpenSSH_9.2", FirstLine::NotMail),
            ("2200", FirstLine::NotMail),
            ("", FirstLine::NotMail),
        ];
        for (text, want) in cases {
            assert_eq!(recognize(&Line::from(text)), want, "{text}");
        }
    }

    #[test]
    fn tls_required_wording() {
        assert!(mentions_tls_required(
            "530 5.7.0 Must issue a STARTTLS command first"
        ));
        assert!(mentions_tls_required(
            "a NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
        ));
        assert!(mentions_tls_required(
            "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
        ));
        assert!(!mentions_tls_required("530 5.7.0 Authentication required"));
        assert!(!mentions_tls_required(
            "a NO [AUTHENTICATIONFAILED] Authentication failed."
        ));
    }
}
