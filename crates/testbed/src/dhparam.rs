//! A fresh 1024-bit finite-field Diffie-Hellman group for the `smtp-dhe-1024`
//! listener, made at test time in about 50 ms.
//!
//! A safe prime (`openssl dhparam 1024`) takes 0.4 to 4 s, too slow for the
//! start of every test binary. `openssl dhparam -dsaparam` is fast but, with
//! OpenSSL 3, writes X9.42 parameters (`BEGIN X9.42 DH PARAMETERS`: p, g, q),
//! which Postfix 3.7 silently ignores: it falls back to its built-in 2048-bit
//! group without a warning. So the fast parameters are rewritten as PKCS#3
//! (`BEGIN DH PARAMETERS`: p, g), which Postfix loads. On the wire either is
//! a 1024-bit group; this one is not a safe prime (its generator spans a
//! 160-bit subgroup), which no TLS client can see.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::util;

/// Writes a 1024-bit PKCS#3 DH group to `pem` (a `.der` scratch file lands beside it).
pub(crate) fn generate_1024(pem: &Path) -> anyhow::Result<()> {
    let openssl = util::require_program("openssl")?;
    let x942 = pem.with_extension("x942.der");
    let pkcs3 = pem.with_extension("pkcs3.der");
    let what = "generating the 1024-bit DH group of smtp-dhe-1024";
    util::run(
        Command::new(&openssl)
            .args(["dhparam", "-dsaparam", "-outform", "DER", "-out"])
            .arg(&x942)
            .arg("1024"),
        what,
    )?;
    let der = std::fs::read(&x942).with_context(|| format!("cannot read {}", x942.display()))?;
    let converted = x942_to_pkcs3(&der).with_context(|| {
        format!(
            "{what}: `openssl dhparam -dsaparam` wrote unexpected DER to {}",
            x942.display()
        )
    })?;
    std::fs::write(&pkcs3, converted)
        .with_context(|| format!("cannot write {}", pkcs3.display()))?;
    // OpenSSL re-reads the DER (validating it) and writes the PEM Postfix expects.
    util::run(
        Command::new(&openssl)
            .args(["dhparam", "-inform", "DER", "-in"])
            .arg(&pkcs3)
            .arg("-out")
            .arg(pem),
        what,
    )?;
    Ok(())
}

/// X9.42 `DomainParameters ::= SEQUENCE { p, g, q, ... }` to PKCS#3
/// `DHParameter ::= SEQUENCE { prime p, base g }`: keeps the first two INTEGERs.
fn x942_to_pkcs3(der: &[u8]) -> anyhow::Result<Vec<u8>> {
    let (tag, body, _) = tlv(der)?;
    if tag != 0x30 {
        bail!("not a SEQUENCE (tag {tag:#04x})");
    }
    let mut out_body = Vec::new();
    let mut rest = body;
    for name in ["p", "g"] {
        let (tag, _, next) = tlv(rest)?;
        if tag != 0x02 {
            bail!("{name} is not an INTEGER (tag {tag:#04x})");
        }
        let len = rest.len() - next.len();
        out_body.extend_from_slice(&rest[..len]);
        rest = next;
    }
    let mut out = vec![0x30];
    out.extend(der_length(out_body.len()));
    out.extend(out_body);
    Ok(out)
}

/// Splits one DER TLV off `input`: (tag, contents, what follows).
fn tlv(input: &[u8]) -> anyhow::Result<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first().context("truncated DER: no tag")?;
    let (&first, rest) = rest.split_first().context("truncated DER: no length")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            bail!("unsupported DER length form {first:#04x}");
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        bail!(
            "truncated DER: {len} bytes announced, {} present",
            rest.len()
        );
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn der_length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        // Fits: checked just above.
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_p_and_g_only() {
        // SEQUENCE { INTEGER 23, INTEGER 5, INTEGER 11 }
        let x942 = [0x30, 0x09, 0x02, 0x01, 23, 0x02, 0x01, 5, 0x02, 0x01, 11];
        assert_eq!(
            x942_to_pkcs3(&x942).unwrap(),
            [0x30, 0x06, 0x02, 0x01, 23, 0x02, 0x01, 5]
        );
    }

    #[test]
    fn long_lengths_round_trip() {
        assert_eq!(der_length(0x7f), [0x7f]);
        assert_eq!(der_length(0x80), [0x81, 0x80]);
        assert_eq!(der_length(0x0106), [0x82, 0x01, 0x06]);
        let mut p = vec![0x02, 0x81, 0x81];
        p.extend([0xab; 0x81]);
        let mut seq = vec![0x30, 0x81, 0x8a];
        seq.extend(&p);
        seq.extend([0x02, 0x01, 0x02, 0x02, 0x01, 0x03]);
        let out = x942_to_pkcs3(&seq).unwrap();
        assert_eq!(out[..3], [0x30, 0x81, 0x87]);
        assert_eq!(out[3..3 + p.len()], p[..]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x04, 0x00],
        ] {
            assert!(x942_to_pkcs3(input).is_err(), "{input:?}");
        }
        assert!(x942_to_pkcs3(&[0x30, 0x03, 0x02, 0x01, 0x05]).is_err());
    }

    #[test]
    fn openssl_accepts_the_result() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("dh.pem");
        generate_1024(&pem).unwrap();
        let text = std::fs::read_to_string(&pem).unwrap();
        assert!(text.starts_with("-----BEGIN DH PARAMETERS-----"), "{text}");
        let out = util::run(
            Command::new("openssl")
                .args(["dhparam", "-noout", "-text", "-in"])
                .arg(&pem),
            "openssl dhparam -text",
        )
        .unwrap();
        assert!(out.contains("(1024 bit)"), "{out}");
    }
}
