//! The test zones, their keys and their signatures, all made at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use sha2::{Digest as _, Sha256};
use x509_parser::prelude::FromDer as _;

use crate::MailServers;

/// Zones Knot serves, and their files.
pub const SERVED: [(&str, &str); 8] = [
    ("test.", "test.zone.signed"),
    ("mail.test.", "mail.test.zone.signed"),
    ("weak.test.", "weak.test.zone.signed"),
    ("nomail.test.", "nomail.test.zone.signed"),
    ("bogus.test.", "bogus.test.zone.signed"),
    ("multi.test.", "multi.test.zone.signed"),
    ("plain.test.", "plain.test.zone"),
    ("127.in-addr.arpa.", "127.zone"),
];

const HEAD: &str =
    "$TTL 60\n@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n@ IN NS ns.test.\n";

/// Writes and signs every zone; returns the trust anchor file (the `test.` KSK).
pub fn build(dir: &Path, servers: &MailServers) -> anyhow::Result<PathBuf> {
    let zones = dir.join("zones");
    let keys = dir.join("keys");
    std::fs::create_dir_all(&zones)?;
    std::fs::create_dir_all(&keys)?;
    let dkim = DkimKeys::generate(&keys)?;
    let mut ds = String::new();
    for (zone, text, expired) in [
        ("mail.test.", mail_zone(servers, &dkim)?, false),
        ("weak.test.", weak_zone(&dkim), false),
        ("nomail.test.", nomail_zone(), false),
        ("bogus.test.", bogus_zone(), true),
        ("multi.test.", multi_zone(), false),
    ] {
        let ksk = sign(&zones, &keys, zone, &text, expired)?;
        ds.push_str(&std::fs::read_to_string(keys.join(format!("{ksk}.ds")))?);
    }
    let top = format!(
        "$ORIGIN test.\n{HEAD}ns IN A 127.0.0.1\n\
         mail NS ns.test.\nweak NS ns.test.\nnomail NS ns.test.\nbogus NS ns.test.\nmulti NS ns.test.\nplain NS ns.test.\n{ds}"
    );
    let (test_ksk, test_zsk) = sign_keys(&zones, &keys, "test.", &top, false)?;
    std::fs::write(zones.join("plain.test.zone"), plain_zone())?;
    std::fs::write(
        zones.join("127.zone"),
        format!(
            "$ORIGIN 127.in-addr.arpa.\n{HEAD}1.0.0 IN PTR mx.mail.test.\n2.0.0 IN PTR imap.mail.test.\n"
        ),
    )?;
    let anchor = dir.join("test.anchor");
    // Both keys of `test.`: hickory 0.26 looks for a DS above the anchor zone
    // unless every key of its DNSKEY set is an anchor (see docs/dns.md).
    let key = std::fs::read_to_string(keys.join(format!("{test_ksk}.key")))?
        + &std::fs::read_to_string(keys.join(format!("{test_zsk}.key")))?;
    // Only the DNSKEY line, without ldns's trailing comment.
    let line: String = key
        .lines()
        .filter(|l| l.contains("DNSKEY"))
        .map(|l| format!("{}\n", l.split(';').next().unwrap_or(l).trim_end()))
        .collect();
    std::fs::write(&anchor, line)?;
    Ok(anchor)
}

fn run(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| what.to_owned())?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Generates a KSK and a ZSK, signs the zone; returns the KSK's base name.
fn sign(
    zones: &Path,
    keys: &Path,
    zone: &str,
    text: &str,
    expired: bool,
) -> anyhow::Result<String> {
    Ok(sign_keys(zones, keys, zone, text, expired)?.0)
}

/// [`sign`], returning the KSK's and the ZSK's base names.
fn sign_keys(
    zones: &Path,
    keys: &Path,
    zone: &str,
    text: &str,
    expired: bool,
) -> anyhow::Result<(String, String)> {
    let keygen = |ksk: bool| {
        let mut c = Command::new("ldns-keygen");
        c.current_dir(keys).args(["-a", "ECDSAP256SHA256"]);
        if ksk {
            c.arg("-k");
        }
        c.arg(zone);
        run(&mut c, "ldns-keygen")
    };
    let ksk = keygen(true)?;
    let zsk = keygen(false)?;
    let file = zones.join(format!("{}zone", zone));
    std::fs::write(&file, format!("$ORIGIN {zone}\n{text}"))?;
    let mut c = Command::new("ldns-signzone");
    if expired {
        c.args(["-i", "20190101000000", "-e", "20200101000000"]);
    }
    c.arg("-o")
        .arg(zone)
        .arg(&file)
        .arg(keys.join(&zsk))
        .arg(keys.join(&ksk));
    run(&mut c, "ldns-signzone")?;
    Ok((ksk, zsk))
}

/// DKIM keys of several sizes, as `p=` values.
struct DkimKeys {
    rsa2048: String,
    rsa1024: String,
    rsa768: String,
    ed25519: String,
}

impl DkimKeys {
    fn generate(dir: &Path) -> anyhow::Result<DkimKeys> {
        let spki = |alg: &str, opt: Option<&str>, name: &str| -> anyhow::Result<Vec<u8>> {
            let key = dir.join(format!("{name}.pem"));
            let mut c = Command::new("openssl");
            c.args(["genpkey", "-algorithm", alg]);
            if let Some(o) = opt {
                c.args(["-pkeyopt", o]);
            }
            c.arg("-out").arg(&key);
            run(&mut c, "openssl genpkey")?;
            let der = dir.join(format!("{name}.pub.der"));
            run(
                Command::new("openssl")
                    .args(["pkey", "-pubout", "-outform", "DER", "-in"])
                    .arg(&key)
                    .arg("-out")
                    .arg(&der),
                "openssl pkey",
            )?;
            Ok(std::fs::read(der)?)
        };
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        let ed = spki("ed25519", None, "dkim-ed25519")?;
        Ok(DkimKeys {
            rsa2048: b64(&spki("RSA", Some("rsa_keygen_bits:2048"), "dkim-2048")?),
            rsa1024: b64(&spki("RSA", Some("rsa_keygen_bits:1024"), "dkim-1024")?),
            rsa768: b64(&spki("RSA", Some("rsa_keygen_bits:768"), "dkim-768")?),
            // RFC 8463: the raw 32-byte key, the tail of the SPKI.
            ed25519: b64(ed.get(ed.len().saturating_sub(32)..).unwrap_or_default()),
        })
    }
}

/// A TXT record's data split into 255-byte strings.
fn txt(s: &str) -> String {
    let parts: Vec<String> = s
        .as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    parts.join(" ")
}

fn first_cert(pem: &Path) -> anyhow::Result<Vec<u8>> {
    let cert = CertificateDer::pem_file_iter(pem)
        .with_context(|| pem.display().to_string())?
        .next()
        .context("no certificate in the PEM file")??;
    Ok(cert.as_ref().to_vec())
}

fn spki_sha256(der: &[u8]) -> anyhow::Result<String> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
        .map_err(|e| anyhow::anyhow!("certificate: {e}"))?;
    Ok(hex::encode(Sha256::digest(
        cert.tbs_certificate.subject_pki.raw,
    )))
}

fn srv(label: &str, target: &str, addr: SocketAddr) -> String {
    format!("{label} IN SRV 0 1 {} {target}\n", addr.port())
}

fn mail_zone(s: &MailServers, dkim: &DkimKeys) -> anyhow::Result<String> {
    let mut tlsa = String::new();
    for leaf in &s.mx_leaf_pems {
        let der = first_cert(leaf)?;
        let hash = spki_sha256(&der)?;
        tlsa.push_str(&format!("_25._tcp.mx IN TLSA 3 1 1 {hash}\n"));
        // DANE for the submissions SRV target too, at the port SRV names.
        let port = s.submissions.port();
        tlsa.push_str(&format!("_{port}._tcp IN TLSA 3 1 1 {hash}\n"));
    }
    let ca = first_cert(&s.mx_ca_pem)?;
    tlsa.push_str(&format!(
        "_25._tcp.mx IN TLSA 2 0 1 {}\n",
        hex::encode(Sha256::digest(&ca))
    ));
    Ok(format!(
        "{HEAD}@ IN MX 10 mx.mail.test.\n@ IN A 127.0.0.1\nmx IN A 127.0.0.1\nimap IN A {imap_ip}\n\
         mta-sts IN A 127.0.0.1\n\
         @ IN TXT {spf}\n_spf IN TXT {spf_inc}\n\
         _dmarc IN TXT {dmarc}\n\
         strong._domainkey IN TXT {dkim2048}\ned._domainkey IN TXT {dkimed}\n\
         _mta-sts IN TXT \"v=STSv1; id=20260101T000000\"\n\
         _smtp._tls IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@mail.test\"\n\
         {tlsa}{sub}{subs}{imaps}_pop3._tcp IN SRV 0 0 0 .\n",
        imap_ip = s.imaps.ip(),
        spf = txt("v=spf1 mx include:_spf.mail.test -all"),
        spf_inc = txt("v=spf1 ip4:192.0.2.0/24 -all"),
        dmarc = txt(
            "v=DMARC1; p=reject; sp=reject; adkim=s; rua=mailto:dmarc@mail.test,mailto:agg@reports.weak.test"
        ),
        dkim2048 = txt(&format!("v=DKIM1; k=rsa; p={}", dkim.rsa2048)),
        dkimed = txt(&format!("v=DKIM1; k=ed25519; p={}", dkim.ed25519)),
        sub = srv("_submission._tcp", "mail.test.", s.submission),
        subs = srv("_submissions._tcp", "mail.test.", s.submissions),
        imaps = srv("_imaps._tcp", "imap.mail.test.", s.imaps),
    ))
}

fn weak_zone(dkim: &DkimKeys) -> String {
    format!(
        "{HEAD}@ IN MX 10 mx.weak.test.\nmx IN A 127.0.0.1\nmta-sts IN A 127.0.0.1\nreports IN A 127.0.0.1\n\
         @ IN TXT {spf}\n\
         _a IN TXT {a}\n_b IN TXT {b}\n_c IN TXT {c}\n_loop IN TXT {lp}\n\
         _dmarc IN TXT {dmarc}\n\
         mail.test._report._dmarc.reports IN TXT \"v=DMARC1\"\n\
         weak._domainkey IN TXT {k1024}\ntiny._domainkey IN TXT {k768}\n\
         revoked._domainkey IN TXT \"v=DKIM1; k=rsa; p=\"\n\
         _mta-sts IN TXT \"v=STSv1; id=1\"\n\
         _25._tcp.mx IN TLSA 3 1 1 {zero}\n",
        spf = txt(
            "v=spf1 include:_a.weak.test include:_b.weak.test include:_loop.weak.test \
             a:void1.weak.test a:void2.weak.test a:void3.weak.test ptr +all"
        ),
        a = txt("v=spf1 a mx include:_c.weak.test -all"),
        b = txt("v=spf1 a mx exists:%{i}.x.weak.test -all"),
        c = txt("v=spf1 a mx -all"),
        lp = txt("v=spf1 include:weak.test -all"),
        dmarc = txt("v=DMARC1; p=none; pct=50; rua=mailto:dmarc@elsewhere.test"),
        k1024 = txt(&format!("v=DKIM1; k=rsa; t=y; p={}", dkim.rsa1024)),
        k768 = txt(&format!("v=DKIM1; k=rsa; p={}", dkim.rsa768)),
        zero = "00".repeat(32),
    )
}

fn nomail_zone() -> String {
    format!("{HEAD}@ IN MX 0 .\n@ IN TXT \"v=spf1 -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject\"\n")
}

fn bogus_zone() -> String {
    format!("{HEAD}@ IN MX 10 mx.bogus.test.\nmx IN A 127.0.0.1\n@ IN TXT \"v=spf1 mx -all\"\n")
}

fn plain_zone() -> String {
    format!(
        "$ORIGIN plain.test.\n{HEAD}@ IN MX 10 mx.plain.test.\nmx IN A 127.0.0.3\nmta-sts IN A 127.0.0.1\n\
         @ IN TXT \"v=spf1 mx -all\"\n@ IN TXT \"v=spf1 a -all\"\n\
         _mta-sts IN TXT \"v=STSv1; id=7\"\n\
         _25._tcp.mx IN TLSA 3 1 1 {}\n",
        "11".repeat(32)
    )
}

/// One MX host on two addresses: the real Postfix on 127.0.0.1, nothing on
/// 127.0.0.9.
fn multi_zone() -> String {
    format!(
        "{HEAD}@ IN MX 10 mx.multi.test.\nmx IN A 127.0.0.1\nmx IN A 127.0.0.9\n\
         @ IN TXT \"v=spf1 mx -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:d@multi.test\"\n"
    )
}
