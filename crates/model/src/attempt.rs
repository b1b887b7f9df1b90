//! The outcome of one step that talks to a peer.

use serde::{Deserialize, Serialize};

/// What happened when a probe step was tried.
///
/// Serialized with a `status` tag: `{"status":"completed","value":...}`,
/// `{"status":"failed","error":{...}}`, `{"status":"skipped","reason":"..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Attempt<T> {
    /// The step ran to its end; `value` is what was observed.
    Completed {
        /// The observation.
        value: T,
    },
    /// The step could not be completed.
    Failed {
        /// Why.
        error: Failure,
    },
    /// The step was not tried.
    Skipped {
        /// Why it was not tried (e.g. "STARTTLS not offered").
        reason: String,
    },
}

impl<T> Attempt<T> {
    /// A completed attempt.
    pub fn completed(value: T) -> Self {
        Attempt::Completed { value }
    }

    /// A failed attempt.
    pub fn failed(kind: FailureKind, detail: impl Into<String>) -> Self {
        Attempt::Failed {
            error: Failure {
                kind,
                detail: detail.into(),
            },
        }
    }

    /// A skipped attempt.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Attempt::Skipped {
            reason: reason.into(),
        }
    }

    /// The observed value, when the attempt completed.
    pub fn value(&self) -> Option<&T> {
        match self {
            Attempt::Completed { value } => Some(value),
            _ => None,
        }
    }

    /// The failure, when the attempt failed.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Attempt::Failed { error } => Some(error),
            _ => None,
        }
    }

    /// Converts a `Result` into an attempt.
    pub fn from_result(r: Result<T, Failure>) -> Self {
        match r {
            Ok(value) => Attempt::Completed { value },
            Err(error) => Attempt::Failed { error },
        }
    }
}

/// A classified failure of a probe step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The class of failure (a stable taxonomy, after zgrab2).
    pub kind: FailureKind,
    /// Human-readable detail (the OS error, the unexpected reply, the TLS alert).
    pub detail: String,
}

impl Failure {
    /// Builds a failure.
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        Failure {
            kind,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.detail)
    }
}

/// The failure taxonomy shared by every probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The name did not resolve.
    Unresolvable,
    /// The peer answered the TCP SYN with a reset.
    ConnectionRefused,
    /// No answer to the TCP SYN within the timeout (filtered).
    ConnectTimeout,
    /// No route, network unreachable, or another OS-level connect error.
    Unreachable,
    /// The connection was open but the peer did not answer within the timeout.
    IoTimeout,
    /// The peer reset the connection.
    ConnectionReset,
    /// The peer closed the connection before the reply was complete.
    ClosedByPeer,
    /// The reply does not follow the protocol.
    ProtocolError,
    /// The reply exceeded the byte or line cap.
    ReplyTooLarge,
    /// The TLS handshake did not complete.
    HandshakeError,
    /// The server refused us because of load or connection limits
    /// (SMTP 421, POP3 `-ERR [IN-USE]`, ...); not a statement about the service.
    Throttled,
    /// The peer is not speaking a mail protocol.
    NotMail,
    /// Another local I/O error.
    Io,
}

impl FailureKind {
    /// The kebab-case name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Unresolvable => "unresolvable",
            FailureKind::ConnectionRefused => "connection-refused",
            FailureKind::ConnectTimeout => "connect-timeout",
            FailureKind::Unreachable => "unreachable",
            FailureKind::IoTimeout => "io-timeout",
            FailureKind::ConnectionReset => "connection-reset",
            FailureKind::ClosedByPeer => "closed-by-peer",
            FailureKind::ProtocolError => "protocol-error",
            FailureKind::ReplyTooLarge => "reply-too-large",
            FailureKind::HandshakeError => "handshake-error",
            FailureKind::Throttled => "throttled",
            FailureKind::NotMail => "not-mail",
            FailureKind::Io => "io-error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_json_shapes() {
        let ok: Attempt<u8> = Attempt::completed(3);
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"status":"completed","value":3}"#
        );
        let failed: Attempt<u8> = Attempt::failed(FailureKind::IoTimeout, "no reply in 5s");
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"status":"failed","error":{"kind":"io-timeout","detail":"no reply in 5s"}}"#
        );
        let skipped: Attempt<Vec<u8>> = Attempt::skipped("not offered");
        let json = serde_json::to_string(&skipped).unwrap();
        assert_eq!(json, r#"{"status":"skipped","reason":"not offered"}"#);
        assert_eq!(
            serde_json::from_str::<Attempt<Vec<u8>>>(&json).unwrap(),
            skipped
        );
    }
}
