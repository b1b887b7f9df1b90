//! Trust anchors: the Mozilla set from `webpki-roots`, plus anchors the user supplies.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, TrustAnchor};

/// Largest CA file [`TrustAnchors::with_ca_file`] reads (the Mozilla bundle as PEM is ~200 KiB).
const CA_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// The set of trust anchors a chain is validated against, with labels saying where they came
/// from ("mozilla", "ca-file:/etc/ssl/private-ca.pem", ...), which end up in
/// [`ChainValidation::anchors`](mailwarden_model::ChainValidation).
///
/// Building one parses every anchor once; build it once per scan and share it by reference.
#[derive(Clone)]
pub struct TrustAnchors {
    anchors: Vec<TrustAnchor<'static>>,
    labels: Vec<String>,
}

impl TrustAnchors {
    /// The Mozilla root program's server-authentication roots as compiled into `webpki-roots`
    /// (deterministic: the same set on every machine, independent of the operating system).
    /// Labelled "mozilla".
    pub fn mozilla() -> Self {
        Self {
            anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            labels: vec!["mozilla".to_owned()],
        }
    }

    /// No anchor at all: every chain is untrusted ("unknown-issuer") until anchors are added
    /// with [`with_ca_file`](Self::with_ca_file) or [`with_ca_pem`](Self::with_ca_pem) — for a
    /// private mail infrastructure whose CA alone must be trusted.
    pub fn empty() -> Self {
        Self {
            anchors: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Adds every certificate of the PEM bundle at `path` as an anchor, labelled
    /// "ca-file:PATH". Sections other than `CERTIFICATE` (keys, CRLs) and text around the
    /// sections are ignored.
    ///
    /// Fails, naming the path, when the file cannot be read or is larger than 16 MiB, when the
    /// PEM is malformed, when it holds no certificate, or when a certificate cannot be parsed.
    pub fn with_ca_file(self, path: &Path) -> Result<Self, CertError> {
        let pem = read_capped(path)?;
        self.with_ca_pem(&pem, &format!("ca-file:{}", path.display()))
    }

    /// Adds every certificate of a PEM bundle as an anchor, under `label` (which errors name,
    /// and which [`labels`](Self::labels) then lists).
    pub fn with_ca_pem(mut self, pem: &[u8], label: &str) -> Result<Self, CertError> {
        let mut added = Vec::new();
        for (position, item) in CertificateDer::pem_slice_iter(pem).enumerate() {
            let der = item.map_err(|error| CertError::BadPem {
                label: label.to_owned(),
                detail: pem_error_detail(&error),
            })?;
            let anchor = webpki::anchor_from_trusted_cert(&der).map_err(|error| {
                CertError::BadCertificate {
                    label: label.to_owned(),
                    position: position + 1,
                    detail: crate::validate::error_name(&error).to_owned(),
                }
            })?;
            added.push(anchor.to_owned());
        }
        if added.is_empty() {
            return Err(CertError::NoCertificates {
                label: label.to_owned(),
            });
        }
        self.anchors.append(&mut added);
        self.labels.push(label.to_owned());
        Ok(self)
    }

    /// Where the anchors came from, in the order they were added: "mozilla", then one label
    /// per added bundle ("ca-file:PATH" for [`with_ca_file`](Self::with_ca_file)).
    pub fn labels(&self) -> Vec<String> {
        self.labels.clone()
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// True when there is no anchor at all.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    pub(crate) fn as_slice(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }
}

impl fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("anchors", &self.anchors.len())
            .field("labels", &self.labels)
            .finish()
    }
}

/// Why extra trust anchors could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The CA file could not be opened or read.
    #[error("cannot read CA file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The CA file is larger than the limit (16 MiB).
    #[error("CA file {} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The bundle holds no `-----BEGIN CERTIFICATE-----` section.
    #[error("{label}: no PEM certificate found (expected -----BEGIN CERTIFICATE----- sections)")]
    NoCertificates {
        /// The bundle's label ("ca-file:PATH" for a file).
        label: String,
    },
    /// The PEM is malformed (missing END line, bad base64, ...).
    #[error("{label}: bad PEM: {detail}")]
    BadPem {
        /// The bundle's label ("ca-file:PATH" for a file).
        label: String,
        /// What is wrong.
        detail: String,
    },
    /// A certificate of the bundle cannot be parsed as a trust anchor.
    #[error("{label}: certificate {position} cannot be used as a trust anchor: {detail}")]
    BadCertificate {
        /// The bundle's label ("ca-file:PATH" for a file).
        label: String,
        /// Position of the certificate among the bundle's certificates, starting at 1.
        position: usize,
        /// The rustls-webpki error name (see [`VALIDATION_ERRORS`](crate::VALIDATION_ERRORS)).
        detail: String,
    },
}

fn read_capped(path: &Path) -> Result<Vec<u8>, CertError> {
    let unreadable = |source| CertError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut pem = Vec::new();
    file.take(CA_FILE_LIMIT + 1)
        .read_to_end(&mut pem)
        .map_err(unreadable)?;
    if pem.len() as u64 > CA_FILE_LIMIT {
        return Err(CertError::TooLarge {
            path: path.to_owned(),
            limit: CA_FILE_LIMIT,
        });
    }
    Ok(pem)
}

fn pem_error_detail(error: &pem::Error) -> String {
    match error {
        pem::Error::MissingSectionEnd { end_marker } => {
            format!("missing end line {:?}", String::from_utf8_lossy(end_marker))
        }
        pem::Error::IllegalSectionStart { line } => {
            format!("malformed BEGIN line {:?}", String::from_utf8_lossy(line))
        }
        other => other.to_string(),
    }
}
