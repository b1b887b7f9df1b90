//! The posture verdict: how a port protects the mail dialog.
//!
//! | verdict             | when                                                                   |
//! |---------------------|------------------------------------------------------------------------|
//! | `not-assessed`      | the port is not `open`, or a step needed for the verdict was skipped or failed for a reason that says nothing about TLS (throttled, refused, unreachable) |
//! | `implicit-tls`      | the implicit-TLS handshake completed                                  |
//! | `tls-broken`        | TLS was expected (implicit port with no plaintext answer) or STARTTLS was advertised or accepted, but no handshake completed — even when a certificate was seen |
//! | `plaintext-only`    | no STARTTLS advertised (or STARTTLS tried and refused without being advertised), and no implicit TLS |
//! | `starttls-optional` | STARTTLS works, but something works without it (see below)           |
//! | `starttls-enforced` | STARTTLS works and nothing we observed works without it               |
//!
//! "Works without it", per context, once STARTTLS has completed:
//!
//! * `mx`: always, unless the `MAIL FROM` enforcement probe was refused for
//!   lack of TLS. Optional TLS is what RFC 3207 §4 asks of a public MX, so this
//!   verdict is not a finding there.
//! * every other context: authentication is offered before TLS (SMTP AUTH,
//!   SASL, IMAP without `LOGINDISABLED`, POP3 `USER`), or an enforcement probe
//!   (`MAIL FROM`, IMAP `LOGIN`, POP3 `USER`) was accepted without TLS.
//!
//! `starttls-enforced` is a statement about what we observed: when the probe
//! made no enforcement check, it rests on the capability listing alone.
//!
//! An implicit-TLS port whose plaintext connection got a mail greeting is
//! judged like a plaintext port when its handshake did not complete (it is a
//! STARTTLS or plaintext port on the wrong number).

use mailwarden_model::{
    Attempt, EndpointObservation, EnforcementKind, EnforcementOutcome, PortState, Posture,
};

use crate::Context;
use crate::facts::{self, says_nothing_about_tls};

/// One sentence explaining a verdict (for docs and the text report's legend).
pub fn describe(posture: Posture) -> &'static str {
    match posture {
        Posture::PlaintextOnly => "no TLS at all: neither STARTTLS nor implicit TLS",
        Posture::StarttlsOptional => {
            "STARTTLS works, but authentication or mail is also accepted without it"
        }
        Posture::StarttlsEnforced => "STARTTLS works, and nothing we tried was accepted without it",
        Posture::ImplicitTls => "TLS from the first byte, and the handshake completes",
        Posture::TlsBroken => "TLS is advertised or expected, but no modern handshake completes",
        Posture::NotAssessed => {
            "closed, filtered, throttled, not mail, or the dialog failed: not a pass"
        }
    }
}

/// Every verdict, from worst to best, then not assessed (for docs and legends).
pub const ALL_POSTURES: [Posture; 6] = [
    Posture::PlaintextOnly,
    Posture::TlsBroken,
    Posture::StarttlsOptional,
    Posture::StarttlsEnforced,
    Posture::ImplicitTls,
    Posture::NotAssessed,
];

/// The posture of one endpoint in its context.
pub fn posture(obs: &EndpointObservation, context: Context) -> Posture {
    if obs.state != PortState::Open {
        return Posture::NotAssessed;
    }
    if let Some(implicit) = &obs.implicit_tls {
        if implicit.handshake.value().is_some_and(|h| h.completed) {
            return Posture::ImplicitTls;
        }
        if facts::plaintext_greeting(obs).is_none() {
            return match &implicit.handshake {
                Attempt::Completed { .. } => Posture::TlsBroken,
                Attempt::Failed { error } if says_nothing_about_tls(error.kind) => {
                    Posture::NotAssessed
                }
                Attempt::Failed { .. } => Posture::TlsBroken,
                Attempt::Skipped { .. } => Posture::NotAssessed,
            };
        }
    }
    plaintext_posture(obs, context)
}

fn plaintext_posture(obs: &EndpointObservation, context: Context) -> Posture {
    let Some(session) = facts::plaintext(obs) else {
        return Posture::NotAssessed;
    };
    if facts::plaintext_greeting(obs).is_none() {
        return Posture::NotAssessed;
    }
    // `None` when the capability listing was not read: we cannot tell whether
    // STARTTLS is advertised.
    let advertised = session.capabilities.value().map(|c| c.starttls);
    match &session.starttls {
        Attempt::Completed { value: exchange } => {
            if !exchange.accepted {
                return match advertised {
                    Some(true) => Posture::TlsBroken,
                    // Tried anyway and refused: there is no STARTTLS.
                    _ => Posture::PlaintextOnly,
                };
            }
            match &exchange.handshake {
                Attempt::Completed { value } if value.completed => after_starttls(obs, context),
                Attempt::Completed { .. } => Posture::TlsBroken,
                Attempt::Failed { error } if says_nothing_about_tls(error.kind) => {
                    Posture::NotAssessed
                }
                Attempt::Failed { .. } => Posture::TlsBroken,
                Attempt::Skipped { .. } => Posture::NotAssessed,
            }
        }
        Attempt::Failed { error } => match advertised {
            _ if says_nothing_about_tls(error.kind) => Posture::NotAssessed,
            Some(true) => Posture::TlsBroken,
            Some(false) => Posture::PlaintextOnly,
            None => Posture::NotAssessed,
        },
        Attempt::Skipped { .. } => match advertised {
            Some(false) => Posture::PlaintextOnly,
            // Advertised but not tried, or listing unread: unknown.
            _ => Posture::NotAssessed,
        },
    }
}

/// STARTTLS completed: is it required?
fn after_starttls(obs: &EndpointObservation, context: Context) -> Posture {
    if context == Context::Mx {
        let refused = facts::probe(obs, EnforcementKind::SmtpMailBeforeTls)
            .is_some_and(|p| p.outcome == EnforcementOutcome::RefusedTlsRequired);
        return if refused {
            Posture::StarttlsEnforced
        } else {
            Posture::StarttlsOptional
        };
    }
    let accepted = facts::probes_with(obs, EnforcementOutcome::AcceptedWithoutTls)
        .next()
        .is_some();
    if accepted || facts::auth_before_tls(obs).is_some() {
        Posture::StarttlsOptional
    } else {
        Posture::StarttlsEnforced
    }
}
