//! A test PKI generated at run time, so nothing in the repository ever expires:
//! a root CA, an intermediate, and leaf certificates that are good or bad in
//! one specific way each.
//!
//! rcgen makes everything it can; the `openssl` CLI makes what rcgen refuses
//! to (RSA-1024 keys, SHA-1 signatures).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber, SignatureAlgorithm,
};
use time::{Duration, OffsetDateTime};

use crate::util;

/// The name every good leaf is issued for.
pub const MAIL_HOST: &str = "mail.test";
/// The only name of the [`Pki::wrong_name`] certificate.
pub const OTHER_HOST: &str = "other.test";
/// Subject common name of the test root.
pub const ROOT_CA_NAME: &str = "mailwarden Test Root CA";
/// Subject common name of the intermediate.
pub const INTERMEDIATE_CA_NAME: &str = "mailwarden Test Intermediate CA";

/// One certificate with its key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The certificate followed by its issuing intermediate (only the
    /// certificate for self-signed ones and the CAs): what a server sends.
    pub chain_pem: PathBuf,
    /// The private key (PKCS#8 PEM, mode 0600).
    pub key_pem: PathBuf,
    /// The certificate alone.
    pub cert_pem: PathBuf,
    /// Start of validity (for the `openssl`-made ones, within a second).
    pub not_before: SystemTime,
    /// End of validity (for the `openssl`-made ones, within a second).
    pub not_after: SystemTime,
}

/// All certificates of the test bed. Every leaf is for `mail.test` and
/// `mx.mail.test` unless its field says otherwise.
#[derive(Debug, Clone)]
pub struct Pki {
    /// "mailwarden Test Root CA", self-signed, RSA-2048.
    pub root: CertFiles,
    /// "mailwarden Test Intermediate CA", signed by the root, RSA-2048.
    pub intermediate: CertFiles,
    /// ECDSA P-256 leaf, signed by the intermediate, valid from yesterday for a year.
    pub valid: CertFiles,
    /// Like `valid` with an RSA-2048 key, so servers can offer RSA suites too.
    pub valid_rsa: CertFiles,
    /// Expired 30 days ago.
    pub expired: CertFiles,
    /// Valid only from 30 days in the future.
    pub not_yet_valid: CertFiles,
    /// Expires 10 days from now.
    pub expiring_soon: CertFiles,
    /// Self-signed (no CA vouches for it).
    pub self_signed: CertFiles,
    /// CA-signed, but for `other.test` only.
    pub wrong_name: CertFiles,
    /// CA-signed with a 1024-bit RSA key.
    pub rsa1024: CertFiles,
    /// CA-signed with a SHA-1 signature (sha1WithRSAEncryption).
    pub sha1: CertFiles,
    ca_file: PathBuf,
}

impl Pki {
    /// Generates every certificate into `dir` (created if missing).
    ///
    /// Needs the `openssl` command for the RSA-1024 and SHA-1 certificates.
    pub fn generate(dir: impl AsRef<Path>) -> anyhow::Result<Pki> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the PKI directory {}", dir.display()))?;
        let openssl = util::require_program("openssl")?;
        let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
        let year = Duration::days(365);

        let mut root_params = ca_params(ROOT_CA_NAME, now - Duration::days(2), now + 10 * year)?;
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root_key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
            .context("cannot generate the root CA's RSA key")?;
        let root_cert = root_params.self_signed(&root_key)?;
        let root = write_files(dir, "root", &root_cert.pem(), None, &root_key, &root_params)?;
        let root_issuer = Issuer::new(root_params, root_key);

        let inter_params = ca_params(
            INTERMEDIATE_CA_NAME,
            now - Duration::days(2),
            now + 5 * year,
        )?;
        let inter_key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
            .context("cannot generate the intermediate CA's RSA key")?;
        let inter_cert = inter_params.signed_by(&inter_key, &root_issuer)?;
        let inter_pem = inter_cert.pem();
        let intermediate = write_files(
            dir,
            "intermediate",
            &inter_pem,
            None,
            &inter_key,
            &inter_params,
        )?;
        let inter_issuer = Issuer::new(inter_params, inter_key);

        let good_names = [MAIL_HOST, "mx.mail.test"];
        let yesterday = now - Duration::days(1);
        let signed = |stem: &str,
                      names: &[&str],
                      alg: &'static SignatureAlgorithm,
                      from: OffsetDateTime,
                      to: OffsetDateTime|
         -> anyhow::Result<CertFiles> {
            let params = leaf_params(names, from, to)?;
            let key = KeyPair::generate_for(alg)
                .with_context(|| format!("cannot generate the key of the `{stem}` certificate"))?;
            let cert = params.signed_by(&key, &inter_issuer)?;
            write_files(dir, stem, &cert.pem(), Some(&inter_pem), &key, &params)
        };
        let p256 = &rcgen::PKCS_ECDSA_P256_SHA256;
        let valid = signed("valid", &good_names, p256, yesterday, now + year)?;
        let valid_rsa = signed(
            "valid-rsa",
            &good_names,
            &rcgen::PKCS_RSA_SHA256,
            yesterday,
            now + year,
        )?;
        let expired = signed(
            "expired",
            &good_names,
            p256,
            now - year,
            now - Duration::days(30),
        )?;
        let not_yet_valid = signed(
            "not-yet-valid",
            &good_names,
            p256,
            now + Duration::days(30),
            now + year,
        )?;
        let expiring_soon = signed(
            "expiring-soon",
            &good_names,
            p256,
            now - Duration::days(80),
            now + Duration::days(10),
        )?;
        let wrong_name = signed("wrong-name", &[OTHER_HOST], p256, yesterday, now + year)?;

        let self_signed = {
            let params = leaf_params(&good_names, yesterday, now + year)?;
            let key = KeyPair::generate_for(p256)?;
            let cert = params.self_signed(&key)?;
            write_files(dir, "self-signed", &cert.pem(), None, &key, &params)?
        };

        let ext_file = dir.join("leaf-ext.cnf");
        std::fs::write(
            &ext_file,
            "subjectAltName=DNS:mail.test,DNS:mx.mail.test\n\
             basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n\
             subjectKeyIdentifier=hash\n\
             authorityKeyIdentifier=keyid\n",
        )?;
        let openssl_leaf = OpensslLeaf {
            openssl: &openssl,
            dir,
            ext_file: &ext_file,
            issuer: &intermediate,
        };
        let rsa1024 = openssl_leaf.make("rsa1024", 1024, "-sha256")?;
        let sha1 = openssl_leaf.make("sha1", 2048, "-sha1")?;

        Ok(Pki {
            ca_file: root.cert_pem.clone(),
            root,
            intermediate,
            valid,
            valid_rsa,
            expired,
            not_yet_valid,
            expiring_soon,
            self_signed,
            wrong_name,
            rsa1024,
            sha1,
        })
    }

    /// The root CA certificate alone: what a client passes as `--ca-file`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "mailwarden test bed");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn serial() -> anyhow::Result<SerialNumber> {
    let mut bytes = util::random_bytes::<16>()?;
    // A positive INTEGER with no leading zero byte: strict parsers reject others.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn ca_params(
    name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = dn(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(serial()?);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn leaf_params(
    names: &[&str],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> anyhow::Result<CertificateParams> {
    let sans: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name = dn(names.first().copied().unwrap_or(MAIL_HOST));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(serial()?);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn write_files(
    dir: &Path,
    stem: &str,
    cert_pem: &str,
    issuer_pem: Option<&str>,
    key: &KeyPair,
    params: &CertificateParams,
) -> anyhow::Result<CertFiles> {
    let files = CertFiles {
        chain_pem: dir.join(format!("{stem}.chain.pem")),
        key_pem: dir.join(format!("{stem}.key")),
        cert_pem: dir.join(format!("{stem}.pem")),
        not_before: params.not_before.into(),
        not_after: params.not_after.into(),
    };
    write_key(&files.key_pem, &key.serialize_pem())?;
    std::fs::write(&files.cert_pem, cert_pem)?;
    let chain = match issuer_pem {
        Some(issuer) => format!("{cert_pem}{issuer}"),
        None => cert_pem.to_string(),
    };
    std::fs::write(&files.chain_pem, chain)?;
    Ok(files)
}

fn write_key(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}

/// Leaves signed by the intermediate through the `openssl` CLI.
struct OpensslLeaf<'a> {
    openssl: &'a Path,
    dir: &'a Path,
    ext_file: &'a Path,
    issuer: &'a CertFiles,
}

impl OpensslLeaf<'_> {
    fn make(&self, stem: &str, rsa_bits: u32, digest: &str) -> anyhow::Result<CertFiles> {
        let key = self.dir.join(format!("{stem}.key"));
        let csr = self.dir.join(format!("{stem}.csr"));
        let cert = self.dir.join(format!("{stem}.pem"));
        let what = format!("making the `{stem}` certificate with openssl");
        util::run(
            Command::new(self.openssl)
                .args(["req", "-new", "-nodes", "-newkey"])
                .arg(format!("rsa:{rsa_bits}"))
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr)
                .args(["-subj", "/O=mailwarden test bed/CN=mail.test"]),
            &what,
        )?;
        let serial_hex: String = serial_hex()?;
        let not_before = SystemTime::now();
        util::run(
            Command::new(self.openssl)
                .args(["x509", "-req", "-days", "365", digest])
                .arg("-in")
                .arg(&csr)
                .arg("-CA")
                .arg(&self.issuer.cert_pem)
                .arg("-CAkey")
                .arg(&self.issuer.key_pem)
                .args(["-set_serial", &serial_hex])
                .arg("-extfile")
                .arg(self.ext_file)
                .arg("-out")
                .arg(&cert),
            &what,
        )?;
        let _ = std::fs::remove_file(&csr);
        let cert_text = std::fs::read_to_string(&cert)?;
        let issuer_text = std::fs::read_to_string(&self.issuer.cert_pem)?;
        let chain_pem = self.dir.join(format!("{stem}.chain.pem"));
        std::fs::write(&chain_pem, format!("{cert_text}{issuer_text}"))?;
        Ok(CertFiles {
            chain_pem,
            key_pem: key,
            cert_pem: cert,
            not_before,
            not_after: not_before + std::time::Duration::from_secs(365 * 86_400),
        })
    }
}

fn serial_hex() -> anyhow::Result<String> {
    let mut bytes = util::random_bytes::<16>()?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(format!(
        "0x{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}
