//! The context of an endpoint: what kind of client is expected to connect.
//!
//! The same observation means different things in different places: a port 25
//! that offers STARTTLS without requiring it is doing exactly what RFC 3207 §4
//! asks of a publicly-referenced MX, while the same behaviour on port 587 lets a
//! mail client send its password in clear. Every rule's severity is therefore
//! looked up per context.
//!
//! The context comes from two facts: the protocol the server was recognized to
//! speak (from its own words), and the port's role (declared by the user or a
//! policy, else registered for the port number: 25 smtp, 587/2525 submission,
//! 465 submissions, 143/993 imap(s), 110/995 pop3(s), 4190 sieve, 24 lmtp).
//!
//! | recognized protocol | role                        | context       |
//! |---------------------|-----------------------------|---------------|
//! | the role's protocol | `smtp`                      | `mx`          |
//! | the role's protocol | `submission`, `submissions` | `submission`  |
//! | the role's protocol | `imap(s)`, `pop3(s)`        | `mail-access` |
//! | the role's protocol | `sieve`                     | `sieve`       |
//! | the role's protocol | `lmtp`                      | `lmtp`        |
//! | SMTP                | another or none; port 25    | `mx`          |
//! | SMTP                | another or none; other port | `submission`  |
//! | IMAP or POP3        | another or none             | `mail-access` |
//! | ManageSieve         | another or none             | `sieve`       |
//! | LMTP                | another or none             | `lmtp`        |
//! | none                | any role                    | from the role, as above |
//! | none                | none                        | `other`       |
//!
//! So the recognized protocol wins when it contradicts the role (IMAP answering
//! on port 25 is judged as mail access), the role decides between MX and
//! submission for SMTP (a user may declare `10025/smtp` an MX), and a closed or
//! throttled port, where nothing was recognized, keeps its role's context.

use mailwarden_model::{EndpointObservation, Protocol, ServiceRole};

/// The kind of client an endpoint serves, which decides how strict the rules are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// SMTP on port 25: server-to-server relay, opportunistic TLS (RFC 7435).
    Mx,
    /// SMTP on any other port: mail clients submitting with credentials (RFC 8314).
    Submission,
    /// IMAP or POP3: mail clients reading with credentials (RFC 8314).
    MailAccess,
    /// ManageSieve: mail clients managing filters with credentials (RFC 5804).
    Sieve,
    /// LMTP: local delivery, which should never be reachable from a network.
    Lmtp,
    /// Nothing recognized on a port that is not registered for mail.
    Other,
}

impl Context {
    /// Every context, in the order documentation tables use.
    pub const ALL: [Context; 6] = [
        Context::Mx,
        Context::Submission,
        Context::MailAccess,
        Context::Sieve,
        Context::Lmtp,
        Context::Other,
    ];

    /// The kebab-case name used in findings and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Mx => "mx",
            Context::Submission => "submission",
            Context::MailAccess => "mail-access",
            Context::Sieve => "sieve",
            Context::Lmtp => "lmtp",
            Context::Other => "other",
        }
    }

    /// True for the contexts where a person's mail client authenticates:
    /// submission, mail access and Sieve (RFC 8314 calls these "mail access
    /// and message submission"; Sieve carries the same credentials).
    pub fn is_client(self) -> bool {
        matches!(
            self,
            Context::Submission | Context::MailAccess | Context::Sieve
        )
    }

    /// What the context covers and what is expected there (for docs and legends).
    pub fn description(self) -> &'static str {
        match self {
            Context::Mx => {
                "SMTP on port 25. Senders use opportunistic TLS (RFC 7435): STARTTLS should be \
                 offered and must not be required (RFC 3207 §4); certificate identity matters \
                 only when the domain publishes DANE or MTA-STS."
            }
            Context::Submission => {
                "SMTP on 465, 587, 2525 or any port but 25. Mail clients authenticate here: TLS \
                 must protect every session, implicit TLS preferred (RFC 8314)."
            }
            Context::MailAccess => {
                "IMAP or POP3 on any port. Mail clients authenticate here: TLS must protect every \
                 session, implicit TLS preferred (RFC 8314)."
            }
            Context::Sieve => {
                "ManageSieve (usually 4190). Clients authenticate with SASL: TLS must come first \
                 (RFC 5804)."
            }
            Context::Lmtp => {
                "LMTP on any port. Local delivery without queueing or checks: it should not be \
                 reachable over the network at all."
            }
            Context::Other => "Nothing recognized, on a port not registered for mail.",
        }
    }

    /// The context of a port, following the table in the module documentation:
    /// `role` is the declared role (`None`: the port number's registration is
    /// used), `protocol` the protocol recognized (`None`: nothing recognized).
    pub fn of(port: u16, role: Option<ServiceRole>, protocol: Option<Protocol>) -> Context {
        let role = role.or_else(|| ServiceRole::for_port(port));
        match (protocol, role) {
            (Some(p), Some(r)) if r.protocol() == p => Context::of_role(r),
            (Some(Protocol::Smtp), _) if port == 25 => Context::Mx,
            (Some(Protocol::Smtp), _) => Context::Submission,
            (Some(Protocol::Imap | Protocol::Pop3), _) => Context::MailAccess,
            (Some(Protocol::ManageSieve), _) => Context::Sieve,
            (Some(Protocol::Lmtp), _) => Context::Lmtp,
            (None, Some(r)) => Context::of_role(r),
            (None, None) => Context::Other,
        }
    }

    fn of_role(role: ServiceRole) -> Context {
        match role {
            ServiceRole::Smtp => Context::Mx,
            ServiceRole::Submission | ServiceRole::Submissions => Context::Submission,
            ServiceRole::Imap | ServiceRole::Imaps | ServiceRole::Pop3 | ServiceRole::Pop3s => {
                Context::MailAccess
            }
            ServiceRole::Sieve => Context::Sieve,
            ServiceRole::Lmtp => Context::Lmtp,
        }
    }

    /// The context of an observed endpoint.
    pub fn of_endpoint(obs: &EndpointObservation) -> Context {
        Context::of(obs.address.port(), obs.role, obs.protocol)
    }
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognized_protocol_wins_over_the_port_registration() {
        use Protocol::*;
        assert_eq!(Context::of(25, None, Some(Smtp)), Context::Mx);
        assert_eq!(Context::of(2525, None, Some(Smtp)), Context::Submission);
        assert_eq!(Context::of(10025, None, Some(Smtp)), Context::Submission);
        assert_eq!(Context::of(25, None, Some(Imap)), Context::MailAccess);
        assert_eq!(Context::of(24, None, Some(Lmtp)), Context::Lmtp);
        assert_eq!(Context::of(25, None, Some(Lmtp)), Context::Lmtp);
        assert_eq!(Context::of(8080, None, Some(ManageSieve)), Context::Sieve);
    }

    #[test]
    fn a_declared_role_decides_between_mx_and_submission() {
        let smtp = Some(Protocol::Smtp);
        assert_eq!(
            Context::of(10025, Some(ServiceRole::Smtp), smtp),
            Context::Mx
        );
        assert_eq!(
            Context::of(25, Some(ServiceRole::Submission), smtp),
            Context::Submission
        );
        // A role contradicted by what the server says is ignored.
        assert_eq!(
            Context::of(10025, Some(ServiceRole::Smtp), Some(Protocol::Imap)),
            Context::MailAccess
        );
    }

    #[test]
    fn the_role_is_used_when_nothing_was_recognized() {
        assert_eq!(Context::of(25, None, None), Context::Mx);
        assert_eq!(Context::of(465, None, None), Context::Submission);
        assert_eq!(Context::of(587, None, None), Context::Submission);
        assert_eq!(Context::of(2525, None, None), Context::Submission);
        assert_eq!(Context::of(995, None, None), Context::MailAccess);
        assert_eq!(Context::of(4190, None, None), Context::Sieve);
        assert_eq!(
            Context::of(8080, Some(ServiceRole::Imaps), None),
            Context::MailAccess
        );
        assert_eq!(Context::of(8080, None, None), Context::Other);
    }
}
