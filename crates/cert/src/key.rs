//! Public keys, signature algorithm names and the self-signature check.

use aws_lc_rs::signature::{self, VerificationAlgorithm};
use mailwarden_model::PublicKeyInfo;
use x509_parser::asn1_rs::{Any, FromDer, Oid};
use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::der::parse_der_integer;
use x509_parser::public_key::RSAPublicKey;
use x509_parser::signature_algorithm::RsaSsaPssParams;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

const RSA: &str = "1.2.840.113549.1.1.1";
const RSA_PSS: &str = "1.2.840.113549.1.1.10";
const EC: &str = "1.2.840.10045.2.1";
const DSA: &str = "1.2.840.10040.4.1";
const ED25519: &str = "1.3.101.112";
const ED448: &str = "1.3.101.113";
const ML_DSA_44: &str = "2.16.840.1.101.3.4.3.17";
const ML_DSA_65: &str = "2.16.840.1.101.3.4.3.18";
const ML_DSA_87: &str = "2.16.840.1.101.3.4.3.19";

/// Algorithm, size and curve of a subject public key.
///
/// * `algorithm`: "rsa", "rsa-pss" (an RSA key restricted to PSS, id-RSASSA-PSS), "ecdsa",
///   "ed25519", "ed448", "dsa", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87", or the dotted OID.
/// * `bits`: RSA modulus size (leading zero bytes and bits not counted); EC field size from the
///   named curve (256, 384, 521, ...) or, for an unknown curve, from the point's length; 256 for
///   Ed25519 and 456 for Ed448 (as OpenSSL reports them); DSA size of `p`. `None` when it cannot
///   be read from the key (or for ML-DSA, which has no such size).
/// * `curve`: the named curve of EC keys ("P-256", "P-384", "P-521", "secp256k1",
///   "brainpoolP256r1", ...; the dotted OID for other named curves; "explicit" for inline curve
///   parameters); `None` for other algorithms (EdDSA's curve is in its algorithm name).
pub(crate) fn public_key_info(spki: &SubjectPublicKeyInfo<'_>) -> PublicKeyInfo {
    let oid = spki.algorithm.algorithm.to_id_string();
    let key = spki.subject_public_key.data.as_ref();
    let (algorithm, bits, curve) = match oid.as_str() {
        RSA => ("rsa".to_owned(), rsa_bits(key), None),
        RSA_PSS => ("rsa-pss".to_owned(), rsa_bits(key), None),
        EC => {
            let curve = ec_curve(spki.algorithm.parameters.as_ref());
            let bits = curve
                .as_deref()
                .and_then(curve_bits)
                .or_else(|| ec_point_bits(key));
            ("ecdsa".to_owned(), bits, curve)
        }
        ED25519 => ("ed25519".to_owned(), Some(256), None),
        ED448 => ("ed448".to_owned(), Some(456), None),
        DSA => (
            "dsa".to_owned(),
            spki.algorithm.parameters.as_ref().and_then(dsa_bits),
            None,
        ),
        ML_DSA_44 => ("ml-dsa-44".to_owned(), None, None),
        ML_DSA_65 => ("ml-dsa-65".to_owned(), None, None),
        ML_DSA_87 => ("ml-dsa-87".to_owned(), None, None),
        _ => (oid, None, None),
    };
    PublicKeyInfo {
        algorithm,
        bits,
        curve,
    }
}

/// The well-known name of a signature algorithm (OpenSSL's long names), or its dotted OID.
///
/// RSASSA-PSS names its hash: "rsassaPss-sha256", "rsassaPss-sha384", "rsassaPss-sha512",
/// "rsassaPss-sha1" (also for absent parameters, RFC 4055's default), or "rsassaPss" when the
/// parameters cannot be read.
pub(crate) fn signature_algorithm_name(alg: &AlgorithmIdentifier<'_>) -> String {
    let oid = alg.algorithm.to_id_string();
    let name = match oid.as_str() {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.3" => "md4WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.3.14.3.2.29" => "sha1WithRSA",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        RSA_PSS => return pss_name(alg),
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        ED25519 => "Ed25519",
        ED448 => "Ed448",
        "1.2.840.10040.4.3" => "dsaWithSHA1",
        "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        ML_DSA_44 => "ML-DSA-44",
        ML_DSA_65 => "ML-DSA-65",
        ML_DSA_87 => "ML-DSA-87",
        _ => return oid,
    };
    name.to_owned()
}

/// Whether the certificate's signature verifies with its own public key: `None` when aws-lc-rs
/// has no algorithm for this signature/key combination (MD5, DSA, RSA below 1024 bits or
/// SHA-384 below 2048 bits, ECDSA with SHA-1 on P-384, unknown algorithms, ...).
///
/// Uses aws-lc-rs's legacy algorithms too (RSA-1024, SHA-1): this states a fact about the
/// certificate, it is not a policy.
pub(crate) fn verifies_with_own_key(cert: &X509Certificate<'_>) -> Option<bool> {
    verifies_with(cert, cert.public_key())
}

/// Whether the certificate's signature verifies with `spki` (the issuer's key); `None` as for
/// [`verifies_with_own_key`].
pub(crate) fn verifies_with(
    cert: &X509Certificate<'_>,
    spki: &SubjectPublicKeyInfo<'_>,
) -> Option<bool> {
    let alg = verification_algorithm(&cert.signature_algorithm, spki)?;
    let key = signature::UnparsedPublicKey::new(alg, spki.subject_public_key.data.as_ref());
    Some(
        key.verify(
            cert.tbs_certificate.as_ref(),
            cert.signature_value.data.as_ref(),
        )
        .is_ok(),
    )
}

fn verification_algorithm(
    sig: &AlgorithmIdentifier<'_>,
    spki: &SubjectPublicKeyInfo<'_>,
) -> Option<&'static dyn VerificationAlgorithm> {
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let sig_oid = sig.algorithm.to_id_string();
    let is_rsa = key_oid == RSA || key_oid == RSA_PSS;
    let alg: &'static dyn VerificationAlgorithm = match sig_oid.as_str() {
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" if is_rsa => {
            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        "1.2.840.113549.1.1.11" if is_rsa => {
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
        }
        "1.2.840.113549.1.1.12" if is_rsa => &signature::RSA_PKCS1_2048_8192_SHA384,
        "1.2.840.113549.1.1.13" if is_rsa => {
            &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
        }
        RSA_PSS if is_rsa => {
            // aws-lc-rs verifies PSS only with MGF1 over the same hash and a salt as long as
            // the hash (what RFC 8446 and the CA/B Forum require).
            let params = RsaSsaPssParams::try_from(sig.parameters.as_ref()?).ok()?;
            let hash = params.hash_algorithm_oid();
            let mgf = params.mask_gen_algorithm().ok()?;
            if mgf.mgf.to_id_string() != "1.2.840.113549.1.1.8" || mgf.hash != *hash {
                return None;
            }
            match (hash.to_id_string().as_str(), params.salt_length()) {
                ("2.16.840.1.101.3.4.2.1", 32) => &signature::RSA_PSS_2048_8192_SHA256,
                ("2.16.840.1.101.3.4.2.2", 48) => &signature::RSA_PSS_2048_8192_SHA384,
                ("2.16.840.1.101.3.4.2.3", 64) => &signature::RSA_PSS_2048_8192_SHA512,
                _ => return None,
            }
        }
        ecdsa if key_oid == EC => {
            let curve = ec_curve(spki.algorithm.parameters.as_ref())?;
            match (ecdsa, curve.as_str()) {
                ("1.2.840.10045.4.1", "P-256") => &signature::ECDSA_P256_SHA1_ASN1,
                ("1.2.840.10045.4.1", "P-521") => &signature::ECDSA_P521_SHA1_ASN1,
                ("1.2.840.10045.4.3.2", "P-256") => &signature::ECDSA_P256_SHA256_ASN1,
                ("1.2.840.10045.4.3.2", "P-384") => &signature::ECDSA_P384_SHA256_ASN1,
                ("1.2.840.10045.4.3.2", "P-521") => &signature::ECDSA_P521_SHA256_ASN1,
                ("1.2.840.10045.4.3.3", "P-256") => &signature::ECDSA_P256_SHA384_ASN1,
                ("1.2.840.10045.4.3.3", "P-384") => &signature::ECDSA_P384_SHA384_ASN1,
                ("1.2.840.10045.4.3.3", "P-521") => &signature::ECDSA_P521_SHA384_ASN1,
                ("1.2.840.10045.4.3.4", "P-256") => &signature::ECDSA_P256_SHA512_ASN1,
                ("1.2.840.10045.4.3.4", "P-384") => &signature::ECDSA_P384_SHA512_ASN1,
                ("1.2.840.10045.4.3.4", "P-521") => &signature::ECDSA_P521_SHA512_ASN1,
                ("1.2.840.10045.4.3.2", "secp256k1") => &signature::ECDSA_P256K1_SHA256_ASN1,
                _ => return None,
            }
        }
        ED25519 if key_oid == ED25519 => &signature::ED25519,
        ML_DSA_44 if key_oid == ML_DSA_44 => &signature::ML_DSA_44,
        ML_DSA_65 if key_oid == ML_DSA_65 => &signature::ML_DSA_65,
        ML_DSA_87 if key_oid == ML_DSA_87 => &signature::ML_DSA_87,
        _ => return None,
    };
    Some(alg)
}

fn pss_name(alg: &AlgorithmIdentifier<'_>) -> String {
    let Some(params) = alg.parameters.as_ref() else {
        return "rsassaPss-sha1".to_owned();
    };
    let Ok(params) = RsaSsaPssParams::try_from(params) else {
        return "rsassaPss".to_owned();
    };
    let hash = match params.hash_algorithm_oid().to_id_string().as_str() {
        "1.3.14.3.2.26" => "sha1",
        "2.16.840.1.101.3.4.2.4" => "sha224",
        "2.16.840.1.101.3.4.2.1" => "sha256",
        "2.16.840.1.101.3.4.2.2" => "sha384",
        "2.16.840.1.101.3.4.2.3" => "sha512",
        _ => return "rsassaPss".to_owned(),
    };
    format!("rsassaPss-{hash}")
}

/// Bits of an RSAPublicKey's modulus, leading zeros not counted.
fn rsa_bits(key: &[u8]) -> Option<u32> {
    let (_, rsa) = RSAPublicKey::from_der(key).ok()?;
    significant_bits(rsa.modulus)
}

fn significant_bits(big_endian: &[u8]) -> Option<u32> {
    let skip = big_endian.iter().take_while(|&&b| b == 0).count();
    let rest = big_endian.get(skip..)?;
    let first = rest.first()?;
    let bytes = u32::try_from(rest.len()).ok()?;
    Some((bytes - 1).saturating_mul(8) + (8 - first.leading_zeros()))
}

fn ec_curve(params: Option<&Any<'_>>) -> Option<String> {
    let params = params?;
    let Ok(oid) = params.as_oid() else {
        // specifiedCurve (an inline SEQUENCE of parameters) or implicitCurve (NULL).
        return Some("explicit".to_owned());
    };
    Some(curve_name(&oid))
}

fn curve_name(oid: &Oid<'_>) -> String {
    let id = oid.to_id_string();
    let name = match id.as_str() {
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.132.0.33" => "P-224",
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.3.132.0.10" => "secp256k1",
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1",
        _ => return id,
    };
    name.to_owned()
}

fn curve_bits(curve: &str) -> Option<u32> {
    Some(match curve {
        "P-192" => 192,
        "P-224" => 224,
        "P-256" | "secp256k1" | "brainpoolP256r1" => 256,
        "P-384" | "brainpoolP384r1" => 384,
        "brainpoolP512r1" => 512,
        "P-521" => 521,
        _ => return None,
    })
}

/// Field size from an encoded point: `04 || X || Y` or `02/03 || X`.
fn ec_point_bits(point: &[u8]) -> Option<u32> {
    let (&form, coordinates) = point.split_first()?;
    let coordinate_len = match form {
        4 if !coordinates.is_empty() && coordinates.len().is_multiple_of(2) => {
            coordinates.len() / 2
        }
        2 | 3 if !coordinates.is_empty() => coordinates.len(),
        _ => return None,
    };
    u32::try_from(coordinate_len).ok()?.checked_mul(8)
}

/// Size of `p` in Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }.
fn dsa_bits(params: &Any<'_>) -> Option<u32> {
    let (_, p) = parse_der_integer(params.data).ok()?;
    significant_bits(p.as_slice().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_bits_ignores_leading_zeros() {
        assert_eq!(significant_bits(&[0x00, 0x80, 0x00]), Some(16));
        assert_eq!(significant_bits(&[0x00, 0x00, 0x01]), Some(1));
        assert_eq!(significant_bits(&[0x7f, 0xff]), Some(15));
        assert_eq!(significant_bits(&[0x00]), None);
        assert_eq!(significant_bits(&[]), None);
    }

    #[test]
    fn ec_point_sizes() {
        let mut uncompressed = vec![4u8];
        uncompressed.extend([1u8; 64]);
        assert_eq!(ec_point_bits(&uncompressed), Some(256));
        let mut compressed = vec![2u8];
        compressed.extend([1u8; 48]);
        assert_eq!(ec_point_bits(&compressed), Some(384));
        assert_eq!(ec_point_bits(&[4, 1, 2, 3]), None);
        assert_eq!(ec_point_bits(&[4]), None);
        assert_eq!(ec_point_bits(&[]), None);
    }
}
