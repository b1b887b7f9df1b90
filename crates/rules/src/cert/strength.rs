//! Cryptographic strength of the chain: key size, signature hash.

use super::*;
use crate::catalogue::{Check, Family, Reference, Remediation, Rule};
use crate::facts::{self, Endpoint, Hit, evidence};

/// MW-CERT-008.
pub(crate) const WEAK_RSA_KEY: Rule = Rule {
    id: "MW-CERT-008",
    name: "weak-rsa-key",
    family: Family::Cert,
    title: "A certificate in the chain has an RSA key shorter than 2048 bits",
    severities: STRENGTH,
    rationale: "RSA keys under 2048 bits are within reach of well-funded attackers; a factored \
        server key lets an attacker impersonate the server, and with RSA key exchange decrypt \
        recorded sessions. Public CAs no longer issue them.",
    remediation: Remediation {
        generic: "Generate a new key (RSA 3072, or ECDSA P-256) and get a new certificate for it.",
        postfix: "a new RSA (≥ 2048 bits) or ECDSA key and certificate in `smtpd_tls_chain_files` \
            (both may be listed)",
        dovecot: "a new key and certificate in `ssl_key`/`ssl_cert` (2.3) / \
            `ssl_server_key_file`/`ssl_server_cert_file` (2.4)",
        exim: "a new key and certificate in `tls_privatekey`/`tls_certificate`",
    },
    references: &[
        Reference::doc(
            "NIST SP 800-131A Rev. 2",
            "RSA keys shorter than 2048 bits are disallowed for digital signatures",
            "https://csrc.nist.gov/pubs/sp/800/131/a/r2/final",
        ),
        Reference::rfc(
            "RFC 9325",
            "",
            "BCP 195: recommendations for secure use of TLS",
        ),
    ],
    check: Check::Endpoint(weak_rsa_key),
};

/// MW-CERT-009.
pub(crate) const WEAK_CERTIFICATE_SIGNATURE: Rule = Rule {
    id: "MW-CERT-009",
    name: "weak-certificate-signature",
    family: Family::Cert,
    title: "A certificate in the chain is signed with SHA-1 or MD5",
    severities: STRENGTH,
    rationale: "Collisions for MD5 and SHA-1 are practical (chosen-prefix collisions exist for \
        both), so a signature made with them no longer proves who issued the certificate. Modern \
        clients reject such chains. Self-signed certificates (roots) are exempt: their own \
        signature is never relied upon.",
    remediation: Remediation {
        generic: "Get a certificate and intermediates signed with SHA-256 or stronger.",
        ..REPLACE_WITH_TRUSTED
    },
    references: &[
        Reference::rfc(
            "RFC 6194",
            "",
            "security considerations for SHA-1: collision resistance is broken",
        ),
        Reference::rfc(
            "RFC 6151",
            "",
            "MD5 must not be used where collision resistance is required",
        ),
    ],
    check: Check::Endpoint(weak_signature),
};
fn weak_rsa_key(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        for (i, cert) in relevant(seen.chain) {
            let key = &cert.public_key;
            let Some(bits) = key.bits else { continue };
            // "rsa" and "rsa-pss" alike.
            if !key.algorithm.to_ascii_lowercase().starts_with("rsa") || bits >= 2048 {
                continue;
            }
            let mut lines = cert_lines(cert);
            lines.push(Line::from(format!("public key: RSA {bits} bits").as_str()));
            hits.push(Hit::new(
                format!(
                    "{} ({}) has a {bits}-bit RSA key.",
                    capitalized(which(i)),
                    cert.subject
                ),
                vec![evidence(label(&seen, i), lines)],
            ));
        }
    }
    hits
}

/// Signature algorithm names (as the cert crate writes them) and OIDs built on
/// MD2, MD4, MD5 or SHA-1.
fn is_weak_signature(algorithm: &str) -> bool {
    const WEAK_OIDS: [&str; 5] = [
        "1.2.840.113549.1.1.2", // md2WithRSAEncryption
        "1.2.840.113549.1.1.4", // md5WithRSAEncryption
        "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
        "1.2.840.10045.4.1",    // ecdsa-with-SHA1
        "1.2.840.10040.4.3",    // dsa-with-sha1
    ];
    let lower = algorithm.to_ascii_lowercase();
    WEAK_OIDS.contains(&algorithm)
        || lower.contains("sha1")
        || lower.contains("sha-1")
        || lower.contains("md5")
        || lower.contains("md2")
        || lower.contains("md4")
}

fn weak_signature(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        // A self-signed certificate's own signature is never relied upon.
        for (i, cert) in seen.chain.certificates.iter().enumerate() {
            if cert.self_signed || !is_weak_signature(&cert.signature_algorithm) {
                continue;
            }
            let mut lines = cert_lines(cert);
            lines.push(Line::from(
                format!("signature algorithm: {}", cert.signature_algorithm).as_str(),
            ));
            hits.push(Hit::new(
                format!(
                    "{} ({}) is signed with {}.",
                    capitalized(which(i)),
                    cert.subject,
                    cert.signature_algorithm
                ),
                vec![evidence(label(&seen, i), lines)],
            ));
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_signatures_by_name_and_oid() {
        for a in [
            "sha1WithRSAEncryption",
            "ecdsa-with-SHA1",
            "md5WithRSAEncryption",
            "1.2.840.113549.1.1.5",
        ] {
            assert!(is_weak_signature(a), "{a}");
        }
        for a in ["sha256WithRSAEncryption", "ecdsa-with-SHA384", "ED25519"] {
            assert!(!is_weak_signature(a), "{a}");
        }
    }
}
