//! A simulated server for the planner's tests: it reads the planner's
//! ClientHellos and answers like an OpenSSL-style server configured with
//! known version, suite and group lists would.

use mailwarden_model::{Failure, FailureKind, TlsVersion};

use super::answer::{Answer, HeartbeatAnswer, TlsAnswer};
use super::{ProbeRequest, Send};
use crate::heartbeat::HeartbeatReader;
use crate::hello::FALLBACK_SCSV;
use crate::record::encode_records;
use crate::registry::{Authentication, SuiteFlags, suite};
use crate::server_flight::{Alert, FlightEnd, ServerFlight, ServerKeyExchange};
use crate::server_hello::{HRR_RANDOM, ServerExtensions, ServerHello};
use crate::sslv2::{Sslv2Answer, Sslv2ClientHello, Sslv2ServerHello};
use crate::wire::{AlertDescription, AlertLevel, ContentType, NamedGroup, SignatureScheme};
use crate::{ClientHello, ExtensionType};

use super::hellos::{is_dhe, is_ecdhe};

/// What the simulated server is configured with.
#[derive(Debug, Clone)]
pub(crate) struct SimServer {
    pub legacy_versions: Vec<TlsVersion>,
    /// Legacy suites, in the server's preference order.
    pub suites: Vec<u16>,
    pub server_order: bool,
    pub tls13_suites: Vec<u16>,
    pub tls13_groups: Vec<u16>,
    /// ECDHE curves for TLS 1.2 and older, in preference order.
    pub curves: Vec<u16>,
    pub ecdsa: bool,
    pub rsa: bool,
    pub dh_bits: usize,
    pub heartbeat: bool,
    pub heartbleed: bool,
    pub fallback_scsv: bool,
    pub sslv2: Option<Vec<u32>>,
    /// Hellos with more suites get decode_error.
    pub max_suites: Option<usize>,
    /// Every probe is refused for load reasons.
    pub throttled: bool,
    /// Every n-th probe is refused for load reasons.
    pub throttle_every: Option<usize>,
    /// Probes answered so far.
    pub seen: std::cell::Cell<usize>,
    /// Choosing a DHE suite fails (Dovecot without `ssl_dh`).
    pub broken_dhe: bool,
    /// Refusals are a close without an alert (Dovecot).
    pub closes: bool,
}

impl SimServer {
    /// Debian's OpenSSL 3 defaults behind Postfix: TLS 1.2 and 1.3, ECDSA
    /// and RSA certificates, server order.
    pub(crate) fn modern() -> Self {
        SimServer {
            legacy_versions: vec![TlsVersion::TLS12],
            suites: vec![
                0xc02c, 0xc030, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0x009f, 0x009e, 0x009d, 0x009c,
                0xc018, 0x0034,
            ],
            server_order: true,
            tls13_suites: vec![0x1302, 0x1303, 0x1301],
            tls13_groups: vec![0x001d, 0x0017, 0x001e, 0x0019, 0x0018, 0x0100, 0x0101],
            curves: vec![0x001d, 0x0017, 0x001e, 0x0019, 0x0018],
            ecdsa: true,
            rsa: true,
            dh_bits: 2048,
            heartbeat: false,
            heartbleed: false,
            fallback_scsv: true,
            sslv2: None,
            max_suites: None,
            throttled: false,
            throttle_every: None,
            seen: std::cell::Cell::new(0),
            broken_dhe: false,
            closes: false,
        }
    }

    pub(crate) fn answer(&self, req: &ProbeRequest) -> Answer {
        let n = self.seen.get() + 1;
        self.seen.set(n);
        if self.throttled || self.throttle_every.is_some_and(|k| n.is_multiple_of(k)) {
            return Answer::NotSent(Failure::new(FailureKind::Throttled, "421 busy"));
        }
        let answer = match &req.send {
            Send::Sslv2(bytes) => self.sslv2(bytes),
            Send::Hello(bytes) => self.hello(bytes, false),
            Send::Heartbleed(bytes) => self.hello(bytes, true),
        };
        match answer {
            Answer::Tls(tls) if self.closes && tls.flight.alert.is_some() => closed(),
            other => other,
        }
    }

    fn sslv2(&self, bytes: &[u8]) -> Answer {
        let (Some(kinds), Ok(hello)) = (&self.sslv2, Sslv2ClientHello::parse(bytes)) else {
            return Answer::Sslv2 {
                answer: None,
                ended: Some(Failure::new(FailureKind::ClosedByPeer, "closed")),
            };
        };
        let cipher_specs = hello
            .cipher_specs
            .iter()
            .copied()
            .filter(|c| kinds.contains(c))
            .collect();
        Answer::Sslv2 {
            answer: Some(Sslv2Answer::ServerHello(Sslv2ServerHello {
                session_id_hit: false,
                certificate_type: 1,
                version: 2,
                certificate: vec![0x30],
                cipher_specs,
                connection_id: vec![1; 16],
            })),
            ended: None,
        }
    }

    fn hello(&self, bytes: &[u8], heartbleed: bool) -> Answer {
        let Ok(hello) = ClientHello::parse(bytes) else {
            return alert(AlertDescription::DECODE_ERROR);
        };
        if self.max_suites.is_some_and(|m| hello.suites.len() > m) {
            return alert(AlertDescription::DECODE_ERROR);
        }
        if hello
            .supported_versions()
            .is_some_and(|v| v.contains(&0x0304))
        {
            return self.tls13(&hello);
        }
        let Some(version) = self
            .legacy_versions
            .iter()
            .copied()
            .filter(|v| v.0 <= hello.client_version)
            .max()
        else {
            return alert(AlertDescription::PROTOCOL_VERSION);
        };
        let server_max = if self.tls13_suites.is_empty() {
            self.legacy_versions.iter().copied().max()
        } else {
            Some(TlsVersion::TLS13)
        };
        if self.fallback_scsv
            && hello.suites.contains(&FALLBACK_SCSV)
            && server_max.is_some_and(|m| m > version)
        {
            return alert(AlertDescription::INAPPROPRIATE_FALLBACK);
        }
        let offered_groups: Vec<u16> = hello
            .groups()
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.0)
            .collect();
        let curve = self.pick(&self.curves, &offered_groups);
        let usable = |c: u16| {
            let Some(s) = suite(c) else { return false };
            self.suites.contains(&c)
                && hello.suites.contains(&c)
                && s.min_version <= version
                && (!is_ecdhe(s.kx) || curve.is_some())
                && match s.auth {
                    Authentication::Ecdsa => self.ecdsa,
                    Authentication::Rsa => self.rsa,
                    _ => true,
                }
        };
        let chosen = if self.server_order {
            self.suites.iter().copied().find(|&c| usable(c))
        } else {
            hello.suites.iter().copied().find(|&c| usable(c))
        };
        let Some(chosen) = chosen else {
            return alert(AlertDescription::HANDSHAKE_FAILURE);
        };
        let info = suite(chosen);
        if self.broken_dhe && info.is_some_and(|s| is_dhe(s.kx)) {
            return closed();
        }
        let has = |t| hello.extension(t).is_some();
        let mut parsed = ServerExtensions {
            renegotiation_info: (has(ExtensionType::RENEGOTIATION_INFO)
                || hello.suites.contains(&0x00ff))
            .then(Vec::new),
            extended_master_secret: has(ExtensionType::EXTENDED_MASTER_SECRET),
            session_ticket: has(ExtensionType::SESSION_TICKET),
            heartbeat: (self.heartbeat && has(ExtensionType::HEARTBEAT)).then_some(1),
            ..ServerExtensions::default()
        };
        parsed.encrypt_then_mac = has(ExtensionType::ENCRYPT_THEN_MAC)
            && info.is_some_and(|s| s.flags.contains(SuiteFlags::CBC));
        let ske = info.and_then(|s| {
            if is_ecdhe(s.kx) {
                let g = curve?;
                Some(vec![3, (g >> 8) as u8, g as u8, 1, 4])
            } else if is_dhe(s.kx) {
                let mut raw = Vec::new();
                raw.extend_from_slice(&((self.dh_bits / 8) as u16).to_be_bytes());
                raw.push(0xff);
                raw.extend(std::iter::repeat_n(0x11, self.dh_bits / 8 - 1));
                raw.extend_from_slice(&[0, 1, 2, 0, 1, 5]);
                Some(raw)
            } else {
                None
            }
        });
        let anonymous = info.is_some_and(|s| s.auth == Authentication::Null);
        let flight = ServerFlight {
            server_hello: Some(server_hello(version, chosen, parsed, false)),
            certificates: (!anonymous).then(|| vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]]),
            server_key_exchange: ske.map(|raw| ServerKeyExchange { raw }),
            hello_done: true,
            end: Some(FlightEnd::HelloDone),
            ..ServerFlight::default()
        };
        let heartbeat = heartbleed.then(|| self.heartbeat_answer(version));
        Answer::Tls(Box::new(TlsAnswer {
            flight,
            heartbeat,
            ..TlsAnswer::default()
        }))
    }

    fn heartbeat_answer(&self, version: TlsVersion) -> HeartbeatAnswer {
        let mut bytes = Vec::new();
        let response = |declared: u16, carried: usize| {
            let mut body = vec![2];
            body.extend_from_slice(&declared.to_be_bytes());
            body.extend(std::iter::repeat_n(0x5a, carried + 16));
            encode_records(ContentType::HEARTBEAT, version.0, &body)
        };
        if self.heartbleed {
            bytes.extend(response(0x4000, 0x4000));
        }
        if self.heartbeat {
            bytes.extend(response(16, 16));
        }
        bytes.extend(encode_records(ContentType::ALERT, version.0, &[1, 0]));
        let mut reader = HeartbeatReader::new();
        let _ = reader.feed(&bytes);
        HeartbeatAnswer {
            reader,
            ended: None,
        }
    }

    fn tls13(&self, hello: &ClientHello) -> Answer {
        if self.tls13_suites.is_empty() {
            return alert(AlertDescription::PROTOCOL_VERSION);
        }
        let Some(suite) = self.pick(&self.tls13_suites, &hello.suites) else {
            return alert(AlertDescription::HANDSHAKE_FAILURE);
        };
        let offered: Vec<u16> = hello
            .groups()
            .unwrap_or_default()
            .iter()
            .map(|g| g.0)
            .collect();
        let share = hello
            .key_shares()
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.group.0)
            .find(|g| self.tls13_groups.contains(g) && offered.contains(g));
        let (group, retry) = match share {
            Some(g) => (g, false),
            None => match self.pick(&self.tls13_groups, &offered) {
                Some(g) => (g, true),
                None => return alert(AlertDescription::HANDSHAKE_FAILURE),
            },
        };
        if !retry {
            let algs = hello.signature_algorithms().unwrap_or_default();
            let ecdsa = algs.contains(&SignatureScheme::ECDSA_SECP256R1_SHA256);
            let rsa = algs.contains(&SignatureScheme::RSA_PSS_RSAE_SHA256);
            if !(self.ecdsa && ecdsa || self.rsa && rsa) {
                return alert(AlertDescription::HANDSHAKE_FAILURE);
            }
        }
        let parsed = ServerExtensions {
            supported_version: Some(TlsVersion::TLS13),
            key_share_group: Some(NamedGroup(group)),
            key_share: Some(Vec::new()),
            ..ServerExtensions::default()
        };
        let hello = server_hello(TlsVersion::TLS13, suite, parsed, retry);
        Answer::flight(ServerFlight {
            server_hello: Some(hello),
            hello_retry_request: retry,
            end: Some(if retry {
                FlightEnd::HelloRetryRequest
            } else {
                FlightEnd::Tls13ServerHello
            }),
            ..ServerFlight::default()
        })
    }

    /// The server's pick among `offered`: its own order or the client's.
    fn pick(&self, supported: &[u16], offered: &[u16]) -> Option<u16> {
        if self.server_order {
            supported.iter().copied().find(|c| offered.contains(c))
        } else {
            offered.iter().copied().find(|c| supported.contains(c))
        }
    }
}

fn server_hello(
    version: TlsVersion,
    suite: u16,
    parsed: ServerExtensions,
    retry: bool,
) -> ServerHello {
    ServerHello {
        version,
        legacy_version: version.min(TlsVersion::TLS12),
        random: if retry { HRR_RANDOM } else { [7; 32] },
        session_id: Vec::new(),
        cipher_suite: suite,
        compression_method: 0,
        extensions: Vec::new(),
        parsed,
    }
}

fn closed() -> Answer {
    Answer::Tls(Box::new(TlsAnswer {
        ended: Some(Failure::new(FailureKind::ClosedByPeer, "closed")),
        ..TlsAnswer::default()
    }))
}

fn alert(description: AlertDescription) -> Answer {
    Answer::flight(ServerFlight {
        alert: Some(Alert {
            level: AlertLevel::FATAL,
            description,
        }),
        end: Some(FlightEnd::Alert),
        ..ServerFlight::default()
    })
}
