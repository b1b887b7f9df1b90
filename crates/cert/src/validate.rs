//! Path validation with rustls-webpki, and the whole-chain analysis.

use std::time::Duration;

use jiff::Timestamp;
use mailwarden_model::{CertificateChain, ChainValidation, NameCheck};
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use webpki::aws_lc_rs as algs;
use webpki::{EndEntityCert, KeyUsage};

use crate::{TrustAnchors, check_name, diagnose, parse_certificate};

/// The signature algorithms accepted in a path: every algorithm rustls-webpki implements with
/// aws-lc-rs, the same set as rustls' aws-lc-rs provider. Not `webpki::ALL_VERIFICATION_ALGS`,
/// which would silently grow *ring* algorithms if some crate enabled that feature.
///
/// RSA keys must be 2048 to 8192 bits; SHA-1 and MD5 signatures are not accepted.
static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    algs::ECDSA_P256_SHA256,
    algs::ECDSA_P256_SHA384,
    algs::ECDSA_P256_SHA512,
    algs::ECDSA_P384_SHA256,
    algs::ECDSA_P384_SHA384,
    algs::ECDSA_P384_SHA512,
    algs::ECDSA_P521_SHA256,
    algs::ECDSA_P521_SHA384,
    algs::ECDSA_P521_SHA512,
    algs::ED25519,
    algs::ML_DSA_44,
    algs::ML_DSA_65,
    algs::ML_DSA_87,
    algs::RSA_PKCS1_2048_8192_SHA256,
    algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    algs::RSA_PKCS1_2048_8192_SHA384,
    algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    algs::RSA_PKCS1_2048_8192_SHA512,
    algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    algs::RSA_PKCS1_3072_8192_SHA384,
    algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Every string [`ChainValidation::error`] can take, with its meaning:
///
/// | error | meaning |
/// |---|---|
/// | `no-certificate` | the server sent no certificate (empty chain) |
/// | `unknown-issuer` | no path to a trust anchor: self-signed leaf (a self-signed CA leaf is ca-used-as-end-entity), private CA, an intermediate the server did not send, or a root that is not among the anchors |
/// | `expired` | a certificate on the path is past its notAfter at the validation time |
/// | `not-valid-yet` | a certificate on the path is before its notBefore at the validation time |
/// | `invalid-validity-period` | a certificate's notAfter is before its notBefore |
/// | `bad-signature` | a signature on the path does not verify with the issuer's key (forged or corrupted certificate, an issuer with the same name but another key, or an RSA issuer key over 8192 or under 1024 bits) |
/// | `unsupported-signature-algorithm` | a certificate on the path is signed with an algorithm that is not accepted: SHA-1 or MD5 with RSA or ECDSA, DSA, or an unknown algorithm |
/// | `unsupported-signature-algorithm-for-key` | the signature algorithm does not fit the issuer's key: algorithm and key of different kinds (e.g. an ECDSA signature and an RSA key), or a curve or key encoding that is not supported |
/// | `issuer-key-too-small` | a signature on the path is correct but made with an RSA issuer key under 2048 bits, which is not accepted (RSA under 1024 bits shows as bad-signature) |
/// | `signature-algorithm-mismatch` | the certificate's inner and outer signature algorithm fields differ |
/// | `ca-used-as-end-entity` | the leaf is a CA certificate (basicConstraints CA:TRUE) |
/// | `end-entity-used-as-ca` | a certificate used as an issuer on the path is not a CA certificate |
/// | `required-eku-not-found` | the leaf's extendedKeyUsage does not include serverAuth |
/// | `empty-eku-extension` | a certificate has an extendedKeyUsage extension with no purpose in it |
/// | `name-constraint-violation` | the leaf's names are outside a CA's nameConstraints |
/// | `path-len-constraint-violated` | the path has more intermediates than a CA's pathLenConstraint allows |
/// | `distrusted` | a certificate's key is on rustls-webpki's list of distrusted keys |
/// | `unsupported-critical-extension` | a certificate has a critical extension that is not understood |
/// | `unsupported-cert-version` | the leaf or an intermediate is not an X.509 v3 certificate |
/// | `malformed-extensions` | a certificate's extensions are malformed (e.g. a CRL distribution point with neither name nor issuer) |
/// | `invalid-extension-value` | a certificate has the same extension twice, or an extension whose value is invalid |
/// | `invalid-serial-number` | a certificate's serial number is negative, too long or mis-encoded |
/// | `malformed-name` | a dNSName in a certificate or a nameConstraints entry is malformed |
/// | `bad-der` | a certificate is not valid DER |
/// | `bad-der-time` | a certificate's validity time is not valid DER |
/// | `path-too-long` | no path to an anchor within six intermediates |
/// | `path-too-complex` | path building gave up: too many candidate paths, signature checks or name-constraint comparisons (possibly a hostile chain) |
/// | `revoked` | a certificate on the path is revoked (only with revocation data, which this crate does not use yet) |
/// | `revocation-unknown` | revocation status could not be determined (only with revocation data) |
/// | `invalid-for-name` | the certificate is not valid for the name (not produced by path validation, which leaves names to `name_check`) |
/// | `other` | an error of a newer rustls-webpki that this table does not name yet |
///
/// The strings are stable (rules and stored reports depend on them); rustls-webpki's own error
/// names are not. When a chain has several problems, webpki reports the most specific one of
/// the most promising path (validity period first, then signature, EKU, constraints), so an
/// expired certificate from an unknown issuer is "expired". The error does not say which
/// certificate of the chain is at fault.
pub const VALIDATION_ERRORS: &[(&str, &str)] = &[
    (
        "no-certificate",
        "the server sent no certificate (empty chain)",
    ),
    (
        "unknown-issuer",
        "no path to a trust anchor: self-signed leaf (a self-signed CA leaf is \
         ca-used-as-end-entity), private CA, an intermediate the server did not send, or a \
         root that is not among the anchors",
    ),
    (
        "expired",
        "a certificate on the path is past its notAfter at the validation time",
    ),
    (
        "not-valid-yet",
        "a certificate on the path is before its notBefore at the validation time",
    ),
    (
        "invalid-validity-period",
        "a certificate's notAfter is before its notBefore",
    ),
    (
        "bad-signature",
        "a signature on the path does not verify with the issuer's key (forged or corrupted \
         certificate, an issuer with the same name but another key, or an RSA issuer key over \
         8192 or under 1024 bits)",
    ),
    (
        "unsupported-signature-algorithm",
        "a certificate on the path is signed with an algorithm that is not accepted: SHA-1 or \
         MD5 with RSA or ECDSA, DSA, or an unknown algorithm",
    ),
    (
        "unsupported-signature-algorithm-for-key",
        "the signature algorithm does not fit the issuer's key: algorithm and key of different \
         kinds (e.g. an ECDSA signature and an RSA key), or a curve or key encoding that is not \
         supported",
    ),
    (
        "issuer-key-too-small",
        "a signature on the path is correct but made with an RSA issuer key under 2048 bits, \
         which is not accepted (RSA under 1024 bits shows as bad-signature)",
    ),
    (
        "signature-algorithm-mismatch",
        "the certificate's inner and outer signature algorithm fields differ",
    ),
    (
        "ca-used-as-end-entity",
        "the leaf is a CA certificate (basicConstraints CA:TRUE)",
    ),
    (
        "end-entity-used-as-ca",
        "a certificate used as an issuer on the path is not a CA certificate",
    ),
    (
        "required-eku-not-found",
        "the leaf's extendedKeyUsage does not include serverAuth",
    ),
    (
        "empty-eku-extension",
        "a certificate has an extendedKeyUsage extension with no purpose in it",
    ),
    (
        "name-constraint-violation",
        "the leaf's names are outside a CA's nameConstraints",
    ),
    (
        "path-len-constraint-violated",
        "the path has more intermediates than a CA's pathLenConstraint allows",
    ),
    (
        "distrusted",
        "a certificate's key is on rustls-webpki's list of distrusted keys",
    ),
    (
        "unsupported-critical-extension",
        "a certificate has a critical extension that is not understood",
    ),
    (
        "unsupported-cert-version",
        "the leaf or an intermediate is not an X.509 v3 certificate",
    ),
    (
        "malformed-extensions",
        "a certificate's extensions are malformed (e.g. a CRL distribution point with neither \
         name nor issuer)",
    ),
    (
        "invalid-extension-value",
        "a certificate has the same extension twice, or an extension whose value is invalid",
    ),
    (
        "invalid-serial-number",
        "a certificate's serial number is negative, too long or mis-encoded",
    ),
    (
        "malformed-name",
        "a dNSName in a certificate or a nameConstraints entry is malformed",
    ),
    ("bad-der", "a certificate is not valid DER"),
    (
        "bad-der-time",
        "a certificate's validity time is not valid DER",
    ),
    (
        "path-too-long",
        "no path to an anchor within six intermediates",
    ),
    (
        "path-too-complex",
        "path building gave up: too many candidate paths, signature checks or name-constraint \
         comparisons (possibly a hostile chain)",
    ),
    (
        "revoked",
        "a certificate on the path is revoked (only with revocation data, which this crate \
         does not use yet)",
    ),
    (
        "revocation-unknown",
        "revocation status could not be determined (only with revocation data)",
    ),
    (
        "invalid-for-name",
        "the certificate is not valid for the name (not produced by path validation, which \
         leaves names to `name_check`)",
    ),
    (
        "other",
        "an error of a newer rustls-webpki that this table does not name yet",
    ),
];

/// Analyzes the chain a server presented: parses every certificate, validates the path from
/// the leaf to `anchors` at `now`, and checks the leaf against `name`.
///
/// * `chain`: DER certificates as sent, leaf first (`&[Vec<u8>]`, `&[CertificateDer]`, ...).
///   Every certificate after the leaf is offered to path building as a possible intermediate,
///   in any order: a chain sent out of order, with its root, or with extra certificates still
///   validates; one missing its intermediate is "unknown-issuer".
/// * Validation uses rustls-webpki with the serverAuth extended key usage (a certificate
///   without an extendedKeyUsage extension passes), no revocation check, and no name check:
///   the name verdict is [`check_name`]'s, so an untrusted certificate still has a name verdict
///   and a trusted one can fail it. On failure, [`ChainValidation::error`] is one of the stable
///   strings of [`VALIDATION_ERRORS`].
/// * An empty chain gives no certificates, "no-certificate", and an unmatched name check.
///
/// Never panics, whatever the bytes.
pub fn analyze_chain<C: AsRef<[u8]>>(
    chain: &[C],
    name: &str,
    anchors: &TrustAnchors,
    now: Timestamp,
) -> CertificateChain {
    let certificates: Vec<_> = chain
        .iter()
        .map(|der| parse_certificate(der.as_ref()))
        .collect();
    let error = validate(chain, anchors, now).err();
    let name_check = match certificates.first() {
        Some(leaf) => check_name(leaf, name),
        None => NameCheck {
            name: name.to_owned(),
            matched: false,
            matched_by: None,
        },
    };
    CertificateChain {
        certificates,
        validation: ChainValidation {
            trusted: error.is_none(),
            error: error.map(str::to_owned),
            anchors: anchors.labels(),
            checked_at: now,
        },
        name_check,
    }
}

/// Path validation only; the error is a name from [`VALIDATION_ERRORS`].
fn validate<C: AsRef<[u8]>>(
    chain: &[C],
    anchors: &TrustAnchors,
    now: Timestamp,
) -> Result<(), &'static str> {
    let Some((leaf, rest)) = chain.split_first() else {
        return Err("no-certificate");
    };
    let leaf = CertificateDer::from(leaf.as_ref());
    let end_entity = EndEntityCert::try_from(&leaf).map_err(|e| error_name(&e))?;
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|der| CertificateDer::from(der.as_ref()))
        .collect();
    let seconds = u64::try_from(now.as_second()).unwrap_or(0);
    let time = UnixTime::since_unix_epoch(Duration::from_secs(seconds));
    let verified = end_entity.verify_for_usage(
        ALGORITHMS,
        anchors.as_slice(),
        &intermediates,
        time,
        KeyUsage::server_auth(),
        None,
        None,
    );
    match verified {
        Ok(_) => Ok(()),
        Err(webpki::Error::InvalidSignatureForPublicKey) => {
            let ders: Vec<&[u8]> = chain.iter().map(AsRef::as_ref).collect();
            if diagnose::signed_by_small_rsa_key(&ders, anchors.as_slice()) {
                Err("issuer-key-too-small")
            } else {
                Err("bad-signature")
            }
        }
        Err(error) => Err(error_name(&error)),
    }
}

/// The stable name of a rustls-webpki error (see [`VALIDATION_ERRORS`]).
#[allow(deprecated)] // The context-less variants are deprecated but still exist.
pub(crate) fn error_name(error: &webpki::Error) -> &'static str {
    use webpki::Error as E;
    match error {
        E::UnknownIssuer => "unknown-issuer",
        E::CertExpired { .. } => "expired",
        E::CertNotValidYet { .. } => "not-valid-yet",
        E::InvalidCertValidity => "invalid-validity-period",
        E::InvalidSignatureForPublicKey => "bad-signature",
        E::UnsupportedSignatureAlgorithm | E::UnsupportedSignatureAlgorithmContext(_) => {
            "unsupported-signature-algorithm"
        }
        E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "unsupported-signature-algorithm-for-key"
        }
        E::SignatureAlgorithmMismatch => "signature-algorithm-mismatch",
        E::CaUsedAsEndEntity => "ca-used-as-end-entity",
        E::EndEntityUsedAsCa => "end-entity-used-as-ca",
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => "required-eku-not-found",
        E::EmptyEkuExtension => "empty-eku-extension",
        E::NameConstraintViolation => "name-constraint-violation",
        E::PathLenConstraintViolated => "path-len-constraint-violated",
        E::CertDistrusted => "distrusted",
        E::UnsupportedCriticalExtension => "unsupported-critical-extension",
        E::UnsupportedCertVersion => "unsupported-cert-version",
        E::MalformedExtensions => "malformed-extensions",
        E::ExtensionValueInvalid => "invalid-extension-value",
        E::InvalidSerialNumber => "invalid-serial-number",
        E::MalformedDnsIdentifier
        | E::MalformedNameConstraint
        | E::InvalidNetworkMaskConstraint => "malformed-name",
        E::BadDer | E::TrailingData(_) => "bad-der",
        E::BadDerTime => "bad-der-time",
        E::MaximumPathDepthExceeded => "path-too-long",
        E::MaximumSignatureChecksExceeded
        | E::MaximumPathBuildCallsExceeded
        | E::MaximumNameConstraintComparisonsExceeded => "path-too-complex",
        E::CertRevoked => "revoked",
        E::UnknownRevocationStatus
        | E::CrlExpired { .. }
        | E::InvalidCrlSignatureForPublicKey
        | E::InvalidCrlNumber
        | E::IssuerNotCrlSigner
        | E::UnsupportedCrlIssuingDistributionPoint
        | E::UnsupportedCrlVersion
        | E::UnsupportedDeltaCrl
        | E::UnsupportedIndirectCrl
        | E::UnsupportedRevocationReason
        | E::UnsupportedRevocationReasonsPartitioning
        | E::UnsupportedCrlSignatureAlgorithm
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKey
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_) => "revocation-unknown",
        E::CertNotValidForName(_) | E::UnsupportedNameType => "invalid-for-name",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn every_name_produced_is_documented() {
        use webpki::Error as E;
        let samples = [
            E::UnknownIssuer,
            E::BadDer,
            E::BadDerTime,
            E::InvalidSignatureForPublicKey,
            E::UnsupportedSignatureAlgorithm,
            E::CaUsedAsEndEntity,
            E::EndEntityUsedAsCa,
            E::MaximumPathDepthExceeded,
            E::MaximumSignatureChecksExceeded,
            E::CertRevoked,
            E::UnknownRevocationStatus,
            E::UnsupportedNameType,
            E::MalformedDnsIdentifier,
            E::EmptyEkuExtension,
        ];
        for error in samples {
            let name = error_name(&error);
            assert!(
                VALIDATION_ERRORS.iter().any(|(known, _)| *known == name),
                "{name} is not in VALIDATION_ERRORS"
            );
        }
    }

    #[test]
    fn every_name_is_in_the_doc_table() {
        let source = include_str!("validate.rs");
        for (name, meaning) in VALIDATION_ERRORS {
            let row = format!("/// | `{name}` | {meaning} |");
            assert!(
                source.contains(&row),
                "doc table row for {name} is missing or stale"
            );
        }
    }

    #[test]
    fn error_names_are_unique_kebab_case() {
        let mut names: Vec<_> = VALIDATION_ERRORS.iter().map(|(name, _)| *name).collect();
        for name in &names {
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name}"
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), VALIDATION_ERRORS.len());
    }
}
