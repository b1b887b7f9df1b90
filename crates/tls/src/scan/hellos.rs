//! What the enumeration offers: candidate suites and groups from the
//! registries, the weak suite classes of quick mode, and the ClientHellos
//! of each kind of probe.

use mailwarden_model::TlsVersion;

use crate::groups::{GroupKind, groups};
use crate::hello::{
    ClientHelloSpec, KeyShareEntry, LEGACY_SIGNATURE_ALGORITHMS, LEGACY_SUITES, derive_random,
};
use crate::registry::{KeyExchange, SuiteFlags, SuiteInfo, suite, suites};
use crate::wire::{NamedGroup, SignatureScheme};

/// The legacy versions, newest first: what the version descent walks.
pub(crate) const LEGACY_VERSIONS: [TlsVersion; 4] = [
    TlsVersion::TLS12,
    TlsVersion::TLS11,
    TlsVersion::TLS10,
    TlsVersion::SSL3,
];

/// The version below `v` in [`LEGACY_VERSIONS`].
pub(crate) fn lower(v: TlsVersion) -> Option<TlsVersion> {
    let i = LEGACY_VERSIONS.iter().position(|&x| x == v)?;
    LEGACY_VERSIONS.get(i + 1).copied()
}

/// Every suite a TLS 1.2-or-older server could choose: the registry minus
/// TLS 1.3 suites and signaling values. The suites of
/// [`crate::legacy_client_hello`] come first, so that a server that reads
/// only the start of a long list still sees the common ones.
pub fn legacy_candidates() -> Vec<u16> {
    static CANDIDATES: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    CANDIDATES.get_or_init(compute_legacy_candidates).clone()
}

fn compute_legacy_candidates() -> Vec<u16> {
    let usable =
        |s: &SuiteInfo| !s.flags.contains(SuiteFlags::TLS13) && !s.flags.contains(SuiteFlags::SCSV);
    let mut out: Vec<u16> = LEGACY_SUITES
        .iter()
        .copied()
        .filter(|&c| suite(c).is_some_and(usable))
        .collect();
    let rest: Vec<u16> = suites()
        .iter()
        .filter(|s| usable(s) && !out.contains(&s.code))
        .map(|s| s.code)
        .collect();
    out.extend(rest);
    out
}

/// Every TLS 1.3 suite of the registry.
pub fn tls13_candidates() -> Vec<u16> {
    suites()
        .iter()
        .filter(|s| s.flags.contains(SuiteFlags::TLS13))
        .map(|s| s.code)
        .collect()
}

/// Groups offered to a TLS 1.3 server: every group of the registry but
/// the explicit-curve placeholders, common ones first.
pub fn tls13_groups() -> Vec<NamedGroup> {
    let common = [
        NamedGroup::X25519,
        NamedGroup::SECP256R1,
        NamedGroup::X448,
        NamedGroup::SECP384R1,
        NamedGroup::SECP521R1,
        NamedGroup::X25519_MLKEM768,
        NamedGroup::SECP256R1_MLKEM768,
        NamedGroup::SECP384R1_MLKEM1024,
        NamedGroup::FFDHE2048,
        NamedGroup::FFDHE3072,
        NamedGroup::FFDHE4096,
    ];
    let mut out = common.to_vec();
    out.extend(
        groups()
            .iter()
            .filter(|g| g.kind != GroupKind::Explicit)
            .map(|g| NamedGroup(g.code))
            .filter(|g| !common.contains(g)),
    );
    out
}

/// The elliptic curves a TLS 1.2-or-older server may choose for ECDHE.
pub fn ecdhe_curves() -> Vec<NamedGroup> {
    let mut out = vec![
        NamedGroup::X25519,
        NamedGroup::SECP256R1,
        NamedGroup::X448,
        NamedGroup::SECP384R1,
        NamedGroup::SECP521R1,
    ];
    let rest: Vec<NamedGroup> = groups()
        .iter()
        .filter(|g| g.kind == GroupKind::Ecdhe)
        .map(|g| NamedGroup(g.code))
        .filter(|g| !out.contains(g))
        .collect();
    out.extend(rest);
    out
}

/// The weak suite classes quick mode asks about, each a security question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WeakClass {
    /// No encryption.
    Null,
    /// No authentication.
    Anonymous,
    /// Export-grade.
    Export,
    /// RC4.
    Rc4,
    /// Single DES.
    Des,
    /// Triple DES.
    TripleDes,
    /// Static key exchange (RSA, DH, ECDH, PSK): no forward secrecy.
    NoForwardSecrecy,
}

impl WeakClass {
    /// Every class.
    pub const ALL: [WeakClass; 7] = [
        WeakClass::Null,
        WeakClass::Anonymous,
        WeakClass::Export,
        WeakClass::Rc4,
        WeakClass::Des,
        WeakClass::TripleDes,
        WeakClass::NoForwardSecrecy,
    ];

    /// True when `s` belongs to the class.
    pub fn contains(self, s: &SuiteInfo) -> bool {
        let f = s.flags;
        match self {
            WeakClass::Null => f.contains(SuiteFlags::NULL),
            WeakClass::Anonymous => f.contains(SuiteFlags::ANONYMOUS),
            WeakClass::Export => f.contains(SuiteFlags::EXPORT),
            WeakClass::Rc4 => f.contains(SuiteFlags::RC4),
            WeakClass::Des => f.contains(SuiteFlags::DES),
            WeakClass::TripleDes => f.contains(SuiteFlags::TRIPLE_DES),
            WeakClass::NoForwardSecrecy => {
                !f.contains(SuiteFlags::FORWARD_SECRECY)
                    && !f.contains(SuiteFlags::ANONYMOUS)
                    && !f.contains(SuiteFlags::TLS13)
                    && !f.contains(SuiteFlags::SCSV)
            }
        }
    }

    /// The classes of suite `code`.
    pub fn of(code: u16) -> Vec<WeakClass> {
        match suite(code) {
            Some(s) => Self::ALL.into_iter().filter(|c| c.contains(s)).collect(),
            None => Vec::new(),
        }
    }
}

/// The legacy candidates in any of `classes`.
pub(crate) fn class_suites(classes: &[WeakClass]) -> Vec<u16> {
    legacy_candidates()
        .into_iter()
        .filter(|&c| suite(c).is_some_and(|s| classes.iter().any(|k| k.contains(s))))
        .collect()
}

/// The legacy candidates with ephemeral finite-field DH (DHE, DH_anon, DHE_PSK).
pub(crate) fn dhe_suites() -> Vec<u16> {
    static DHE: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    DHE.get_or_init(|| {
        legacy_candidates()
            .into_iter()
            .filter(|&c| suite(c).is_some_and(|s| is_dhe(s.kx)))
            .collect()
    })
    .clone()
}

/// True for finite-field ephemeral DH key exchanges (ServerDHParams in ServerKeyExchange).
pub(crate) fn is_dhe(kx: KeyExchange) -> bool {
    matches!(
        kx,
        KeyExchange::Dhe | KeyExchange::DhAnon | KeyExchange::DhePsk
    )
}

/// True for ECDHE key exchanges (ServerECDHParams in ServerKeyExchange).
pub(crate) fn is_ecdhe(kx: KeyExchange) -> bool {
    matches!(
        kx,
        KeyExchange::Ecdhe | KeyExchange::EcdhAnon | KeyExchange::EcdhePsk
    )
}

/// Builds the hellos of one scan.
#[derive(Debug, Clone)]
pub(crate) struct HelloFactory {
    server_name: Option<String>,
}

impl HelloFactory {
    pub(crate) fn new(server_name: Option<&str>) -> Self {
        Self {
            server_name: server_name.and_then(crate::sni_host_name),
        }
    }

    /// A hello for TLS 1.2 and older with `max` as client version. It
    /// offers DEFLATE next to null compression and every extension whose
    /// answer the scan records (renegotiation_info, EMS, ETM, session
    /// ticket, status_request, heartbeat), so that each answer reports the
    /// features too. SSL 3.0 hellos carry no extensions, only the
    /// renegotiation SCSV.
    pub(crate) fn legacy(&self, seed: u32, max: TlsVersion, suites: &[u16]) -> ClientHelloSpec {
        let mut spec = ClientHelloSpec::legacy(self.server_name.as_deref());
        spec.random = self.random(seed);
        spec.client_version = max.0;
        spec.suites = suites.to_vec();
        spec.renegotiation_scsv = true;
        spec.compression_methods = vec![1, 0];
        if max <= TlsVersion::SSL3 {
            spec.record_version = TlsVersion::SSL3.0;
            spec.server_name = None;
            spec.groups = Vec::new();
            spec.ec_point_formats = false;
            spec.signature_algorithms = Vec::new();
            spec.renegotiation_info = false;
            spec.extended_master_secret = false;
            spec.session_ticket = false;
            spec.pad_to_512 = false;
            return spec;
        }
        let curves = ecdhe_curves();
        self.legacy_with_curves(spec, curves)
    }

    /// Completes the legacy hello of [`Self::legacy`] (TLS 1.0 or later):
    /// `curves` in this order in supported_groups, then the finite-field
    /// groups, and the extensions whose answers the scan records.
    fn legacy_with_curves(
        &self,
        mut spec: ClientHelloSpec,
        mut curves: Vec<NamedGroup>,
    ) -> ClientHelloSpec {
        curves.extend([
            NamedGroup::FFDHE2048,
            NamedGroup::FFDHE3072,
            NamedGroup::FFDHE4096,
            NamedGroup::FFDHE6144,
            NamedGroup::FFDHE8192,
        ]);
        spec.groups = curves;
        spec.encrypt_then_mac = true;
        spec.status_request = true;
        spec.heartbeat = Some(1);
        spec
    }

    /// A legacy hello (TLS 1.0 or later) offering `suites` and every curve,
    /// those of `first` ahead of the others.
    pub(crate) fn legacy_curves_first(
        &self,
        seed: u32,
        max: TlsVersion,
        suites: &[u16],
        first: &[NamedGroup],
    ) -> ClientHelloSpec {
        let spec = self.legacy(seed, max, suites);
        if max <= TlsVersion::SSL3 {
            return spec;
        }
        let mut curves = first.to_vec();
        curves.extend(ecdhe_curves().into_iter().filter(|g| !first.contains(g)));
        self.legacy_with_curves(spec, curves)
    }

    /// A legacy hello offering `suites` with `curves` as supported_groups.
    pub(crate) fn legacy_curves(
        &self,
        seed: u32,
        max: TlsVersion,
        suites: &[u16],
        curves: &[NamedGroup],
    ) -> ClientHelloSpec {
        let mut spec = self.legacy(seed, max, suites);
        spec.groups = curves.to_vec();
        spec
    }

    /// A TLS 1.3-only hello. With no `key_shares` a TLS 1.3 server must
    /// answer with a HelloRetryRequest naming its choice of suite and group.
    pub(crate) fn tls13(
        &self,
        seed: u32,
        suites: &[u16],
        groups: &[NamedGroup],
        key_shares: Vec<KeyShareEntry>,
        signature_algorithms: &[SignatureScheme],
    ) -> ClientHelloSpec {
        let mut spec = ClientHelloSpec::tls13(self.server_name.as_deref());
        spec.random = self.random(seed);
        spec.session_id = derive_random(&spec.random).to_vec();
        spec.suites = suites.to_vec();
        spec.groups = groups.to_vec();
        spec.key_shares = key_shares;
        spec.signature_algorithms = signature_algorithms.to_vec();
        spec
    }

    fn random(&self, seed: u32) -> [u8; 32] {
        let mut material = seed.to_be_bytes().to_vec();
        material.extend_from_slice(self.server_name.as_deref().unwrap_or("").as_bytes());
        derive_random(&material)
    }
}

/// Signature algorithms a TLS 1.3 server can sign with, all key types.
pub(crate) fn tls13_signature_algorithms() -> Vec<SignatureScheme> {
    LEGACY_SIGNATURE_ALGORITHMS.to_vec()
}

/// Signature algorithms that only an ECDSA certificate can serve.
pub(crate) const ECDSA_ONLY: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_SECP256R1_SHA256,
    SignatureScheme::ECDSA_SECP384R1_SHA384,
    SignatureScheme::ECDSA_SECP521R1_SHA512,
];

/// Signature algorithms that only an RSA certificate can serve in TLS 1.3.
pub(crate) const RSA_ONLY: &[SignatureScheme] = &[
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PSS_PSS_SHA256,
    SignatureScheme::RSA_PSS_PSS_SHA384,
    SignatureScheme::RSA_PSS_PSS_SHA512,
];

/// A key share we can build for `group`, if any (see [`KeyShareEntry`]).
pub(crate) fn placeholder_share(group: NamedGroup) -> Option<KeyShareEntry> {
    match group {
        NamedGroup::X25519 => Some(KeyShareEntry::x25519_placeholder()),
        NamedGroup::SECP256R1 => Some(KeyShareEntry::secp256r1()),
        NamedGroup::SECP384R1 => Some(KeyShareEntry::secp384r1()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_cover_the_registry_once() {
        let legacy = legacy_candidates();
        let tls13 = tls13_candidates();
        let mut all: Vec<u16> = legacy.iter().chain(&tls13).copied().collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a suite is offered twice");
        assert_eq!(n + 2, suites().len(), "everything but the two SCSVs");
        assert_eq!(&legacy[..4], &LEGACY_SUITES[..4]);
        assert!(tls13.contains(&0x1301) && !legacy.contains(&0x1301));
        // A hello with every legacy candidate stays far below 16 KiB.
        let spec = HelloFactory::new(Some("mx.example.org")).legacy(1, TlsVersion::TLS12, &legacy);
        assert!(spec.encode().len() < 2048);
    }

    #[test]
    fn weak_classes() {
        assert_eq!(
            WeakClass::of(0x0005),
            vec![WeakClass::Rc4, WeakClass::NoForwardSecrecy]
        );
        assert_eq!(WeakClass::of(0x0034), vec![WeakClass::Anonymous]);
        assert_eq!(WeakClass::of(0xc02f), vec![]);
        assert_eq!(WeakClass::of(0x1301), vec![]);
        assert_eq!(
            WeakClass::of(0x0003),
            vec![
                WeakClass::Export,
                WeakClass::Rc4,
                WeakClass::NoForwardSecrecy
            ]
        );
        let weak = class_suites(&WeakClass::ALL);
        assert!(weak.contains(&0x000a) && !weak.contains(&0xc02b));
        assert!(dhe_suites().contains(&0x009e));
    }

    #[test]
    fn sslv3_hellos_have_no_extensions() {
        let f = HelloFactory::new(Some("mx.example.org"));
        let bytes = f.legacy(7, TlsVersion::SSL3, &[0x000a]).encode();
        let hello = crate::ClientHello::parse(&bytes).unwrap();
        assert_eq!(hello.record_version, 0x0300);
        assert_eq!(hello.client_version, 0x0300);
        assert!(hello.extensions.is_empty());
        assert_eq!(hello.suites, vec![0x000a, 0x00ff]);
        assert_eq!(hello.compression_methods, vec![1, 0]);
    }

    #[test]
    fn tls13_hellos_ask_for_a_retry() {
        let f = HelloFactory::new(None);
        let spec = f.tls13(
            2,
            &tls13_candidates(),
            &tls13_groups(),
            Vec::new(),
            &tls13_signature_algorithms(),
        );
        let hello = crate::ClientHello::parse(&spec.encode()).unwrap();
        assert_eq!(hello.supported_versions(), Some(vec![0x0304]));
        assert_eq!(hello.key_shares(), Some(vec![]));
        assert_eq!(hello.compression_methods, vec![0]);
        assert!(
            hello
                .groups()
                .unwrap()
                .contains(&NamedGroup::X25519_MLKEM768)
        );
    }
}
