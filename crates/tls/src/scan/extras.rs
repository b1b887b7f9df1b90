//! One-probe tasks: SSL 2.0, server suite order, the fallback SCSV and
//! the Heartbleed check.

use mailwarden_model::{
    CipherOrder, FailureKind, FallbackOutcome, FallbackScsv, HeartbleedCheck, HeartbleedOutcome,
    SupportStatus, TlsVersion,
};

use super::answer::{Answer, Reply, reply, status_of};
use super::facts::ALL_VERSIONS;
use super::hellos::{legacy_candidates, tls13_signature_algorithms};
use super::{Ctx, Next, Send};
use crate::heartbeat::HEARTBLEED_CLAIMED_LEN;
use crate::hello::derive_random;
use crate::sslv2::{Sslv2Answer, Sslv2ClientHello};
use crate::wire::{AlertDescription, NamedGroup};

/// SSL 2.0: one CLIENT-HELLO offering every SSL 2.0 cipher kind; a
/// SERVER-HELLO lists all the server accepts among them.
#[derive(Default)]
pub(crate) struct Sslv2Task {
    asked: bool,
}

impl Sslv2Task {
    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.asked {
            return Next::Done;
        }
        self.asked = true;
        let mut challenge = [0u8; 16];
        let random = derive_random(&ctx.seed.to_be_bytes());
        challenge.copy_from_slice(random.get(..16).unwrap_or(&[0; 16]));
        Next::Probe {
            purpose: "SSLv2: CLIENT-HELLO with every cipher kind".to_owned(),
            send: Send::Sslv2(Sslv2ClientHello::sslv2(challenge).encode()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let ssl2 = TlsVersion::SSL2;
        let (answer, ended) = match answer {
            Answer::Sslv2 { answer, ended } => (answer, ended),
            Answer::NotSent(f) => {
                ctx.facts.unknown(ssl2, status_of(f), f.to_string());
                return;
            }
            Answer::Tls(_) => return,
        };
        match (answer, ended) {
            (Some(Sslv2Answer::ServerHello(hello)), _) => {
                ctx.facts.accept(ssl2);
                if let Some(v) = ctx.facts.v(ssl2) {
                    v.sslv2 = hello.cipher_specs.clone();
                    v.suites_complete = true;
                }
            }
            (Some(Sslv2Answer::Error(code)), _) => {
                ctx.facts.refuse(ssl2, format!("SSL 2.0 ERROR {code}"));
            }
            (Some(Sslv2Answer::TlsRecord(t)), _) => {
                ctx.facts
                    .refuse(ssl2, format!("answered with a TLS {t} record"));
            }
            (None, Some(f))
                if matches!(
                    f.kind,
                    FailureKind::ClosedByPeer | FailureKind::ConnectionReset
                ) =>
            {
                ctx.facts
                    .refuse(ssl2, "connection closed after the CLIENT-HELLO");
            }
            (None, Some(f)) => ctx.facts.unknown(ssl2, status_of(f), f.to_string()),
            (None, None) => {
                ctx.facts
                    .unknown(ssl2, SupportStatus::Error, "no answer".to_owned());
            }
        }
    }
}

/// Server order: offer the suites found, in reverse order of the server's
/// choices. A server following the client picks the first offered.
pub(crate) struct OrderTask {
    version: TlsVersion,
    offered: Vec<u16>,
    asked: bool,
}

impl OrderTask {
    pub(crate) fn new(version: TlsVersion) -> Self {
        OrderTask {
            version,
            offered: Vec::new(),
            asked: false,
        }
    }

    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.asked {
            return Next::Done;
        }
        let mut suites = ctx.facts.suites(self.version);
        if suites.len() < 2 {
            return Next::Done;
        }
        self.asked = true;
        suites.reverse();
        self.offered = suites;
        let send = if self.version == TlsVersion::TLS13 {
            let groups: Vec<NamedGroup> = ctx
                .facts
                .get(TlsVersion::TLS13)
                .and_then(|v| v.groups.clone())
                .unwrap_or_default()
                .into_iter()
                .map(NamedGroup)
                .collect();
            let spec = ctx.hellos.tls13(
                ctx.seed,
                &self.offered,
                &groups,
                Vec::new(),
                &tls13_signature_algorithms(),
            );
            Send::Hello(spec.encode())
        } else {
            Send::Hello(
                ctx.hellos
                    .legacy(ctx.seed, self.version, &self.offered)
                    .encode(),
            )
        };
        Next::Probe {
            purpose: format!("{} server order: suites in reverse", self.version),
            send,
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let Reply::Chose { hello, .. } = reply(answer) else {
            return;
        };
        let c = hello.cipher_suite;
        if hello.version != self.version || !self.offered.contains(&c) {
            return;
        }
        let order = if self.offered.first() == Some(&c) {
            CipherOrder::Client
        } else {
            CipherOrder::Server
        };
        if let Some(v) = ctx.facts.v(self.version) {
            v.order = Some(order);
        }
    }
}

/// TLS_FALLBACK_SCSV (RFC 7507): once two or more versions are known to be
/// accepted, offer the second best with the SCSV; a server that detects
/// downgrades answers inappropriate_fallback.
#[derive(Default)]
pub(crate) struct FallbackTask {
    offered: Option<TlsVersion>,
}

impl FallbackTask {
    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.offered.is_some() {
            return Next::Done;
        }
        let tls13_known = ctx
            .facts
            .get(TlsVersion::TLS13)
            .is_some_and(|v| v.status.is_some());
        if !ctx.facts.legacy_known || !tls13_known {
            return Next::Wait;
        }
        let accepted: Vec<TlsVersion> = ALL_VERSIONS
            .into_iter()
            .filter(|&v| v != TlsVersion::SSL2 && ctx.facts.accepted(v))
            .collect();
        // The second best version, which is always TLS 1.2 or older.
        let Some(&lower) = accepted.iter().rev().nth(1) else {
            return Next::Done;
        };
        self.offered = Some(lower);
        let mut spec = ctx.hellos.legacy(ctx.seed, lower, &legacy_candidates());
        spec.fallback_scsv = true;
        Next::Probe {
            purpose: format!("TLS_FALLBACK_SCSV with {lower}"),
            send: Send::Hello(spec.encode()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let Some(offered_version) = self.offered else {
            return;
        };
        let (outcome, alert, detail) = match reply(answer) {
            Reply::Refused(r) if r.alert == Some(AlertDescription::INAPPROPRIATE_FALLBACK) => (
                FallbackOutcome::Refused,
                r.alert.map(|a| a.0),
                "alert inappropriate_fallback".to_owned(),
            ),
            Reply::Chose { hello, .. } => (
                FallbackOutcome::Accepted,
                None,
                format!("ServerHello {} despite the SCSV", hello.version),
            ),
            // Some servers (Dovecot) close without sending their alert. The
            // same hello without the SCSV is known to get a ServerHello (the
            // version was found accepted with it), so the SCSV made the
            // difference.
            Reply::Refused(r) if r.alert.is_none() => (
                FallbackOutcome::Refused,
                None,
                format!(
                    "{}, where the same hello without the SCSV gets a ServerHello",
                    r.detail
                ),
            ),
            Reply::Refused(r) => (
                FallbackOutcome::Inconclusive,
                r.alert.map(|a| a.0),
                r.detail,
            ),
            Reply::Unknown(f) => (FallbackOutcome::Inconclusive, None, f.to_string()),
        };
        ctx.facts.features.fallback_scsv = Some(FallbackScsv {
            offered_version,
            outcome,
            alert,
            detail,
        });
    }
}

/// The Heartbleed check, made only when a ServerHello acknowledged the
/// heartbeat extension: the same version and suite again, then (after
/// ServerHelloDone) the heartbeat requests of [`crate::heartbleed_requests`].
#[derive(Default)]
pub(crate) struct HeartbleedTask {
    asked: Option<TlsVersion>,
}

impl HeartbleedTask {
    pub(crate) fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.asked.is_some() {
            return Next::Done;
        }
        if !ctx.facts.legacy_known {
            return Next::Wait;
        }
        let Some((version, suite)) = ctx.facts.features.heartbeat_at else {
            return Next::Done;
        };
        self.asked = Some(version);
        let mut suites = vec![suite];
        suites.extend(legacy_candidates().into_iter().filter(|&s| s != suite));
        Next::Probe {
            purpose: format!("{version} Heartbleed: oversized heartbeat after ServerHelloDone"),
            send: Send::Heartbleed(ctx.hellos.legacy(ctx.seed, version, &suites).encode()),
        }
    }

    pub(crate) fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        let Some(version) = self.asked else { return };
        let mut check = HeartbleedCheck {
            version,
            outcome: HeartbleedOutcome::Inconclusive,
            requested_length: HEARTBLEED_CLAIMED_LEN,
            sent_length: 0,
            echoed_bytes: 0,
            detail: String::new(),
        };
        match answer {
            Answer::Tls(tls) => match &tls.heartbeat {
                Some(hb) => {
                    let leaked = hb.reader.leaked_bytes();
                    check.echoed_bytes = u32::try_from(leaked).unwrap_or(u32::MAX);
                    (check.outcome, check.detail) = if leaked > 0 {
                        (
                            HeartbleedOutcome::Vulnerable,
                            format!("the server returned {leaked} bytes of its memory"),
                        )
                    } else if !hb.reader.responses.is_empty() {
                        (
                            HeartbleedOutcome::NotVulnerable,
                            "the oversized request was discarded; the control request was answered"
                                .to_owned(),
                        )
                    } else if let Some((_, desc)) = hb.reader.alert {
                        (
                            HeartbleedOutcome::NotVulnerable,
                            format!("the server answered with alert {desc}"),
                        )
                    } else {
                        match &hb.ended {
                            Some(f)
                                if matches!(
                                    f.kind,
                                    FailureKind::ClosedByPeer | FailureKind::ConnectionReset
                                ) =>
                            {
                                (
                                    HeartbleedOutcome::NotVulnerable,
                                    "the server closed the connection without a heartbeat response"
                                        .to_owned(),
                                )
                            }
                            Some(f) => (HeartbleedOutcome::Inconclusive, f.to_string()),
                            None => (HeartbleedOutcome::Inconclusive, "no answer".to_owned()),
                        }
                    };
                }
                None => {
                    check.detail = match reply(answer) {
                        Reply::Refused(r) => format!("the hello was refused: {}", r.detail),
                        Reply::Unknown(f) => f.to_string(),
                        Reply::Chose { .. } => "the flight did not end with ServerHelloDone".into(),
                    };
                }
            },
            Answer::NotSent(f) => check.detail = f.to_string(),
            Answer::Sslv2 { .. } => return,
        }
        ctx.facts.features.heartbleed = Some(check);
    }
}
