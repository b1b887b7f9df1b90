//! A test PKI generated at test time with rcgen (aws-lc-rs).
#![allow(dead_code, unused_imports)] // Each test binary uses a different part.

use jiff::Timestamp;
use mailwarden_cert::TrustAnchors;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SignatureAlgorithm,
};

pub use rcgen::{
    PKCS_ECDSA_P256_SHA256 as P256, PKCS_ECDSA_P384_SHA384 as P384, PKCS_ECDSA_P521_SHA512 as P521,
    PKCS_ED25519 as ED25519, PKCS_ML_DSA_44 as ML_DSA_44, PKCS_RSA_SHA256 as RSA_SHA256,
};

/// The instant every rcgen test validates at.
pub fn now() -> Timestamp {
    "2026-06-01T00:00:00Z".parse().expect("valid timestamp")
}

/// A CA: its certificate and what signs with it.
pub struct Ca {
    pub der: Vec<u8>,
    pub pem: String,
    pub issuer: Issuer<'static, KeyPair>,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Mailwarden Test");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    params
}

/// A self-signed root CA.
pub fn root(cn: &str, alg: &'static SignatureAlgorithm) -> Ca {
    let key = KeyPair::generate_for(alg).expect("root key");
    let params = ca_params(cn);
    let cert = params.self_signed(&key).expect("root certificate");
    Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// An intermediate CA signed by `parent`.
pub fn intermediate(cn: &str, alg: &'static SignatureAlgorithm, parent: &Ca) -> Ca {
    ca_signed_by(ca_params(cn), alg, parent)
}

/// A CA made from `params`, signed by `parent`.
pub fn ca_signed_by(
    params: CertificateParams,
    alg: &'static SignatureAlgorithm,
    parent: &Ca,
) -> Ca {
    let key = KeyPair::generate_for(alg).expect("CA key");
    let cert = params
        .signed_by(&key, &parent.issuer)
        .expect("CA certificate");
    Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// Server certificate parameters: SANs as given (IP literals become iPAddress entries), CN
/// `mx.example.org`, serverAuth, valid 2025-01-01 to 2027-01-01 (so valid at [`now`]).
pub fn leaf_params(sans: &[&str]) -> CertificateParams {
    let mut params =
        CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .expect("leaf params");
    params.distinguished_name = dn("mx.example.org");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2027, 1, 1);
    params
}

/// A leaf with a fresh key of `alg`, signed by `ca`; DER.
pub fn leaf(params: &CertificateParams, alg: &'static SignatureAlgorithm, ca: &Ca) -> Vec<u8> {
    let key = KeyPair::generate_for(alg).expect("leaf key");
    params
        .signed_by(&key, &ca.issuer)
        .expect("leaf certificate")
        .der()
        .to_vec()
}

/// A self-signed certificate with a fresh key of `alg`; DER.
pub fn self_signed(params: &CertificateParams, alg: &'static SignatureAlgorithm) -> Vec<u8> {
    let key = KeyPair::generate_for(alg).expect("key");
    params
        .self_signed(&key)
        .expect("certificate")
        .der()
        .to_vec()
}

/// Root → intermediate (both P-256), and anchors holding only the root.
pub struct Pki {
    pub root: Ca,
    pub intermediate: Ca,
    pub anchors: TrustAnchors,
}

impl Pki {
    pub fn new() -> Self {
        Self::with(&P256)
    }

    pub fn with(alg: &'static SignatureAlgorithm) -> Self {
        let root = root("Mailwarden Test Root", alg);
        let intermediate = intermediate("Mailwarden Test Intermediate", alg, &root);
        let anchors = TrustAnchors::empty()
            .with_ca_pem(root.pem.as_bytes(), "test-root")
            .expect("root as anchor");
        Self {
            root,
            intermediate,
            anchors,
        }
    }

    /// A P-256 leaf for `sans` signed by the intermediate.
    pub fn leaf(&self, sans: &[&str]) -> Vec<u8> {
        leaf(&leaf_params(sans), &P256, &self.intermediate)
    }

    /// `[leaf, intermediate]`.
    pub fn chain(&self, leaf: Vec<u8>) -> Vec<Vec<u8>> {
        vec![leaf, self.intermediate.der.clone()]
    }
}
