//! A closer look at a chain webpki rejected, where webpki's error would state a wrong fact.
//!
//! aws-lc-rs refuses RSA keys under 2048 bits, and webpki reports that as
//! `InvalidSignatureForPublicKey` ("bad-signature"), the same as a forged signature. This
//! module tells the two apart by checking the signatures again with aws-lc-rs's legacy
//! algorithms, which accept 1024-bit RSA.

use rustls_pki_types::TrustAnchor;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::{dn, key};

/// True when some certificate of `chain` is correctly signed by an RSA key of fewer than 2048
/// bits that belongs to a certificate of `chain` or to an anchor with the issuer's name.
pub(crate) fn signed_by_small_rsa_key(chain: &[&[u8]], anchors: &[TrustAnchor<'_>]) -> bool {
    let certs: Vec<X509Certificate<'_>> = chain
        .iter()
        .filter_map(|der| X509Certificate::from_der(der).ok().map(|(_, cert)| cert))
        .collect();
    // The anchors' subjects and keys are stored without their outer SEQUENCE header.
    let anchors: Vec<(Vec<u8>, Vec<u8>)> = anchors
        .iter()
        .map(|anchor| {
            (
                sequence(anchor.subject.as_ref()),
                sequence(anchor.subject_public_key_info.as_ref()),
            )
        })
        .collect();
    certs.iter().any(|cert| {
        let issuer = cert.issuer().as_raw();
        let from_chain = certs
            .iter()
            .filter(|candidate| candidate.subject().as_raw() == issuer)
            .any(|candidate| small_rsa_signer(cert, candidate.public_key()));
        from_chain
            || anchors
                .iter()
                .filter(|(subject, _)| subject.as_slice() == issuer)
                .filter_map(|(_, spki)| SubjectPublicKeyInfo::from_der(spki).ok())
                .any(|(_, spki)| small_rsa_signer(cert, &spki))
    })
}

fn small_rsa_signer(cert: &X509Certificate<'_>, spki: &SubjectPublicKeyInfo<'_>) -> bool {
    let info = key::public_key_info(spki);
    matches!(info.algorithm.as_str(), "rsa" | "rsa-pss")
        && info.bits.is_some_and(|bits| bits < 2048)
        && key::verifies_with(cert, spki) == Some(true)
}

fn sequence(contents: &[u8]) -> Vec<u8> {
    let mut der = vec![0x30];
    dn::encode_length(contents.len(), &mut der);
    der.extend_from_slice(contents);
    der
}
