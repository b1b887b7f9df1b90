//! What the enumeration has learned so far, and its translation into the
//! model's [`TlsScan`].

use mailwarden_model::{
    AcceptedSuite, CertificateKey, CipherOrder, CipherSuiteId, FallbackScsv, GroupId, GroupScan,
    HeartbleedCheck, Proof, Sslv2Cipher, SuiteFlag, SupportStatus, TlsFeatures, TlsScan,
    TlsScanMode, TlsVersion, VersionScan,
};

use crate::group_name;
use crate::registry::{Authentication, SuiteFlags, suite, suite_name};
use crate::server_flight::ServerFlight;
use crate::server_hello::ServerHello;
use crate::sslv2::sslv2_suite;

use super::hellos::{WeakClass, is_dhe, is_ecdhe};

/// Every version the scan reports, oldest first.
pub(crate) const ALL_VERSIONS: [TlsVersion; 6] = [
    TlsVersion::SSL2,
    TlsVersion::SSL3,
    TlsVersion::TLS10,
    TlsVersion::TLS11,
    TlsVersion::TLS12,
    TlsVersion::TLS13,
];

/// Knowledge about one version.
#[derive(Debug, Clone)]
pub(crate) struct VersionFacts {
    pub version: TlsVersion,
    /// `None`: not asked yet.
    pub status: Option<SupportStatus>,
    pub detail: Option<String>,
    pub suites: Vec<SuiteFacts>,
    pub suites_complete: bool,
    pub order: Option<CipherOrder>,
    /// `Some` once groups were asked about at this version.
    pub groups: Option<Vec<u16>>,
    pub groups_complete: bool,
    pub sslv2: Vec<u32>,
    /// Suite tasks (lanes) of this version still running.
    pub open_lanes: usize,
    /// The server-order probe was handed out.
    pub order_asked: bool,
    /// The ECDHE curves task was started.
    pub curves_asked: bool,
    /// Every suite task (lane) of this version ended, complete or not.
    pub suites_over: bool,
}

/// A suite chosen at one version, with what its ServerKeyExchange said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SuiteFacts {
    pub code: u16,
    pub dh_bits: Option<u32>,
    pub ecdh_group: Option<u16>,
}

/// A certificate key type seen.
#[derive(Debug, Clone)]
pub(crate) struct KeyFacts {
    pub key_type: &'static str,
    pub versions: Vec<TlsVersion>,
    pub leaf: Option<Vec<u8>>,
}

/// Features, aggregated over the ServerHellos (true once any said yes).
#[derive(Debug, Clone, Default)]
pub(crate) struct FeatureFacts {
    pub secure_renegotiation: Option<bool>,
    pub compression: Option<bool>,
    pub extended_master_secret: Option<bool>,
    pub encrypt_then_mac: Option<bool>,
    pub session_ticket: Option<bool>,
    pub ocsp_stapling: Option<bool>,
    pub heartbeat: Option<bool>,
    /// A version and suite whose ServerHello acknowledged heartbeat.
    pub heartbeat_at: Option<(TlsVersion, u16)>,
    pub fallback_scsv: Option<FallbackScsv>,
    pub heartbleed: Option<HeartbleedCheck>,
}

/// Everything learned.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub mode: TlsScanMode,
    pub versions: Vec<VersionFacts>,
    pub features: FeatureFacts,
    pub keys: Vec<KeyFacts>,
    /// The legacy version descent is over: which of SSL 3.0 to TLS 1.2 are
    /// accepted is known.
    pub legacy_known: bool,
    /// The TLS 1.3 task is over.
    pub tls13_done: bool,
    /// The TLS 1.3 certificate key type probes were handed out.
    pub tls13_keys_asked: bool,
    /// Quick mode: weak classes found at any version.
    pub weak_found: Vec<WeakClass>,
    /// Quick mode: the weak classes of the best legacy version are known.
    pub classes_done: bool,
}

fn or_set(slot: &mut Option<bool>, value: bool) {
    *slot = Some(slot.unwrap_or(false) || value);
}

impl Facts {
    pub(crate) fn new(mode: TlsScanMode) -> Self {
        Facts {
            mode,
            versions: ALL_VERSIONS
                .iter()
                .map(|&version| VersionFacts {
                    version,
                    status: None,
                    detail: None,
                    suites: Vec::new(),
                    suites_complete: false,
                    order: None,
                    groups: None,
                    groups_complete: false,
                    sslv2: Vec::new(),
                    open_lanes: 0,
                    order_asked: false,
                    curves_asked: false,
                    suites_over: false,
                })
                .collect(),
            features: FeatureFacts::default(),
            keys: Vec::new(),
            legacy_known: false,
            tls13_done: false,
            tls13_keys_asked: false,
            weak_found: Vec::new(),
            classes_done: false,
        }
    }

    /// The facts of `version` (`None` for versions outside [`ALL_VERSIONS`]).
    pub(crate) fn v(&mut self, version: TlsVersion) -> Option<&mut VersionFacts> {
        self.versions.iter_mut().find(|v| v.version == version)
    }

    /// Read-only lookup.
    pub(crate) fn get(&self, version: TlsVersion) -> Option<&VersionFacts> {
        self.versions.iter().find(|v| v.version == version)
    }

    pub(crate) fn accepted(&self, version: TlsVersion) -> bool {
        self.get(version)
            .is_some_and(|v| v.status == Some(SupportStatus::Accepted))
    }

    /// Records that `version` is accepted.
    pub(crate) fn accept(&mut self, version: TlsVersion) {
        if let Some(v) = self.v(version) {
            v.status = Some(SupportStatus::Accepted);
            v.detail = None;
        }
    }

    /// Records a refusal, unless the version is known to be accepted.
    pub(crate) fn refuse(&mut self, version: TlsVersion, detail: impl Into<String>) {
        if let Some(v) = self.v(version)
            && v.status != Some(SupportStatus::Accepted)
        {
            v.status = Some(SupportStatus::Refused);
            v.detail = Some(detail.into());
        }
    }

    /// Records that a probe about `version` failed, unless something
    /// conclusive is known already.
    pub(crate) fn unknown(&mut self, version: TlsVersion, status: SupportStatus, detail: String) {
        if let Some(v) = self.v(version) {
            match v.status {
                None | Some(SupportStatus::Error | SupportStatus::Throttled) => {
                    v.status = Some(status);
                    v.detail = Some(detail);
                }
                Some(SupportStatus::Accepted) => {
                    // Keep the suites found; say why the list may be short.
                    v.detail = Some(format!("enumeration interrupted: {detail}"));
                }
                _ => {}
            }
        }
    }

    /// The suites chosen at `version`, in order.
    pub(crate) fn suites(&self, version: TlsVersion) -> Vec<u16> {
        self.get(version)
            .map(|v| v.suites.iter().map(|s| s.code).collect())
            .unwrap_or_default()
    }

    /// Adds a chosen suite (once).
    pub(crate) fn add_suite(&mut self, version: TlsVersion, code: u16) {
        if let Some(v) = self.v(version)
            && !v.suites.iter().any(|s| s.code == code)
        {
            v.suites.push(SuiteFacts {
                code,
                dh_bits: None,
                ecdh_group: None,
            });
        }
    }

    /// Adds a chosen group (once).
    pub(crate) fn add_group(&mut self, version: TlsVersion, code: u16) {
        if let Some(v) = self.v(version) {
            let groups = v.groups.get_or_insert_with(Vec::new);
            if !groups.contains(&code) {
                groups.push(code);
            }
        }
    }

    /// The highest legacy (SSL 3.0 to TLS 1.2) version accepted.
    pub(crate) fn highest_legacy(&self) -> Option<TlsVersion> {
        super::hellos::LEGACY_VERSIONS
            .into_iter()
            .find(|&v| self.accepted(v))
    }

    /// Records what a ServerHello of TLS 1.2 or older shows besides the
    /// suite: features, the ServerKeyExchange, the certificate key type.
    /// `extensions_offered` is false for SSL 3.0 hellos, which carry none.
    pub(crate) fn observe_legacy(
        &mut self,
        hello: &ServerHello,
        flight: &ServerFlight,
        extensions_offered: bool,
    ) {
        let version = hello.version;
        let code = hello.cipher_suite;
        let info = suite(code);
        let f = &mut self.features;
        or_set(&mut f.compression, hello.compression_method == 1);
        or_set(
            &mut f.secure_renegotiation,
            hello.parsed.renegotiation_info.is_some(),
        );
        if extensions_offered {
            let ext = &hello.parsed;
            or_set(&mut f.extended_master_secret, ext.extended_master_secret);
            or_set(&mut f.session_ticket, ext.session_ticket);
            or_set(&mut f.heartbeat, ext.heartbeat.is_some());
            if flight.hello_done {
                or_set(&mut f.ocsp_stapling, flight.ocsp_response.is_some());
            }
            if info.is_some_and(|s| s.flags.contains(SuiteFlags::CBC)) {
                or_set(&mut f.encrypt_then_mac, ext.encrypt_then_mac);
            }
            if ext.heartbeat.is_some() && f.heartbeat_at.is_none() {
                f.heartbeat_at = Some((version, code));
            }
        }
        if let (Some(ske), Some(info)) = (&flight.server_key_exchange, info)
            && let Some(v) = self.v(version)
            && let Some(s) = v.suites.iter_mut().find(|s| s.code == code)
        {
            if is_dhe(info.kx) {
                s.dh_bits = ske.dhe_prime_bits().and_then(|b| u32::try_from(b).ok());
            } else if is_ecdhe(info.kx) {
                s.ecdh_group = ske.ecdhe_group().map(|g| g.0);
            }
        }
        // A curve chosen for any suite is a curve the version accepts: the
        // suite probes of the best legacy version put the curves not seen
        // yet first, so that the curves task has little left to ask.
        if let (Some(ske), Some(info)) = (&flight.server_key_exchange, info)
            && is_ecdhe(info.kx)
            && let Some(g) = ske.ecdhe_group()
            && self.highest_legacy() == Some(version)
        {
            self.add_group(version, g.0);
        }
        let key_type = match info.map(|s| s.auth) {
            Some(Authentication::Rsa) => "rsa",
            Some(Authentication::Ecdsa) => "ecdsa",
            Some(Authentication::Dss) => "dsa",
            _ => return,
        };
        let leaf = flight
            .certificates
            .as_ref()
            .and_then(|c| c.first())
            .cloned();
        self.key_seen(key_type, version, leaf);
    }

    /// Records a certificate key type seen at `version`.
    pub(crate) fn key_seen(
        &mut self,
        key_type: &'static str,
        version: TlsVersion,
        leaf: Option<Vec<u8>>,
    ) {
        match self.keys.iter_mut().find(|k| k.key_type == key_type) {
            Some(k) => {
                if !k.versions.contains(&version) {
                    k.versions.push(version);
                }
                if k.leaf.is_none() {
                    k.leaf = leaf;
                }
            }
            None => self.keys.push(KeyFacts {
                key_type,
                versions: vec![version],
                leaf,
            }),
        }
    }

    /// The model's view, and the leaf certificate (DER) of each
    /// certificate key, by index, for the caller to parse.
    pub(crate) fn into_model(mut self, probes: u32) -> (TlsScan, Vec<(usize, Vec<u8>)>) {
        // A server that follows the client's order has no order of its own:
        // list its suites in ours, whatever order parallel lanes found them in.
        let rank = |list: &[u16], code: u16| list.iter().position(|&c| c == code);
        let legacy = super::hellos::legacy_candidates();
        let tls13 = super::hellos::tls13_candidates();
        let groups13: Vec<u16> = super::hellos::tls13_groups().iter().map(|g| g.0).collect();
        for v in &mut self.versions {
            if v.order != Some(CipherOrder::Client) {
                continue;
            }
            if v.version == TlsVersion::TLS13 {
                v.suites.sort_by_key(|s| rank(&tls13, s.code));
                if let Some(groups) = &mut v.groups {
                    groups.sort_by_key(|&g| rank(&groups13, g));
                }
            } else {
                v.suites.sort_by_key(|s| rank(&legacy, s.code));
            }
        }
        let versions = self.versions.iter().map(version_scan).collect();
        let mut leaves = Vec::new();
        let mut certificate_keys = Vec::new();
        for (i, k) in self.keys.into_iter().enumerate() {
            let mut versions = k.versions;
            versions.sort();
            if let Some(der) = k.leaf {
                leaves.push((i, der));
            }
            certificate_keys.push(CertificateKey {
                key_type: k.key_type.to_owned(),
                versions,
                public_key: None,
                sha256: None,
            });
        }
        let f = self.features;
        let scan = TlsScan {
            mode: self.mode,
            versions,
            certificate_keys,
            features: TlsFeatures {
                secure_renegotiation: f.secure_renegotiation,
                compression: f.compression,
                extended_master_secret: f.extended_master_secret,
                encrypt_then_mac: f.encrypt_then_mac,
                session_ticket: f.session_ticket,
                ocsp_stapling: f.ocsp_stapling,
                heartbeat: f.heartbeat,
                fallback_scsv: f.fallback_scsv,
                heartbleed: f.heartbleed,
            },
            probes,
            connections: 0,
            duration_ms: 0,
        };
        (scan, leaves)
    }
}

fn version_scan(v: &VersionFacts) -> VersionScan {
    let status = v.status.unwrap_or(SupportStatus::NotTested);
    let mut out = VersionScan::new(v.version, status);
    out.proof = (status == SupportStatus::Accepted).then_some(Proof::ServerHello);
    out.detail = v.detail.clone();
    out.suites = v.suites.iter().map(accepted_suite).collect();
    out.suites_complete = v.suites_complete;
    out.server_order = v.order.filter(|_| v.suites.len() >= 2);
    out.sslv2_ciphers = v
        .sslv2
        .iter()
        .map(|&code| Sslv2Cipher {
            code,
            name: sslv2_suite(code).map(|s| s.name.to_owned()),
        })
        .collect();
    out.groups = v.groups.as_ref().map(|g| GroupScan {
        groups: g.iter().map(|&c| group_id(c)).collect(),
        complete: v.groups_complete,
    });
    out
}

pub(crate) fn group_id(code: u16) -> GroupId {
    GroupId {
        code,
        name: group_name(code).map(str::to_owned),
    }
}

fn accepted_suite(s: &SuiteFacts) -> AcceptedSuite {
    let info = suite(s.code);
    let token = |t: Option<&'static str>| t.unwrap_or("UNKNOWN").to_owned();
    AcceptedSuite {
        id: CipherSuiteId {
            code: s.code,
            name: suite_name(s.code).map(str::to_owned),
        },
        kx: token(info.map(|i| i.kx.token())),
        auth: token(info.map(|i| i.auth.token())),
        cipher: token(info.map(|i| i.cipher.token())),
        bits: info.map_or(0, |i| i.cipher_bits),
        mac: token(info.map(|i| i.mac.token())),
        flags: info.map(|i| model_flags(i.flags)).unwrap_or_default(),
        proof: Proof::ServerHello,
        dh_bits: s.dh_bits,
        ecdh_group: s.ecdh_group.map(group_id),
    }
}

/// The registry's flags as the model's, TLS 1.3 and SCSV markers dropped.
pub(crate) fn model_flags(flags: SuiteFlags) -> Vec<SuiteFlag> {
    [
        (SuiteFlags::NULL, SuiteFlag::Null),
        (SuiteFlags::ANONYMOUS, SuiteFlag::Anonymous),
        (SuiteFlags::EXPORT, SuiteFlag::Export),
        (SuiteFlags::RC4, SuiteFlag::Rc4),
        (SuiteFlags::DES, SuiteFlag::Des),
        (SuiteFlags::TRIPLE_DES, SuiteFlag::TripleDes),
        (SuiteFlags::CBC, SuiteFlag::Cbc),
        (SuiteFlags::SHA1_MAC, SuiteFlag::Sha1Mac),
        (SuiteFlags::MD5_MAC, SuiteFlag::Md5Mac),
        (SuiteFlags::FORWARD_SECRECY, SuiteFlag::ForwardSecrecy),
        (SuiteFlags::AEAD, SuiteFlag::Aead),
    ]
    .into_iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, m)| m)
    .collect()
}
