//! Certificate chain facts for mailwarden, without I/O.
//!
//! The probe crate records the DER chain a mail server presented during a TLS handshake (its
//! verifier records instead of failing) and hands it here. This crate turns it into the facts of
//! [`mailwarden_model::CertificateChain`]:
//!
//! * [`parse_certificate`]: what each certificate says (names, validity, key, signature
//!   algorithm, self-signed, CA, fingerprint), leniently, so that broken certificates are still
//!   reported. It never panics on any input.
//! * [`analyze_chain`]: path validation with rustls-webpki against [`TrustAnchors`] at an
//!   explicit instant, plus a separate name check of the leaf. An untrusted certificate still
//!   gets a name verdict and a trusted one can still fail the name check.
//! * [`check_name`]: the RFC 6125 / RFC 7817 §3 name check, on its own.
//!
//! It states facts only; whether a fact is bad is for `mailwarden-rules` to decide. Apart from
//! [`TrustAnchors::with_ca_file`], nothing here touches the network or the file system.
//!
//! The stable strings that [`ChainValidation::error`](mailwarden_model::ChainValidation) takes
//! are listed, with their meaning, in [`VALIDATION_ERRORS`].
//!
//! ```
//! use mailwarden_cert::{TrustAnchors, analyze_chain};
//!
//! // Once per scan: parsing the anchors is the expensive part.
//! let anchors = TrustAnchors::mozilla();
//! // As the probe's recording verifier saw it: DER, leaf first (here: nothing was sent).
//! let chain: Vec<Vec<u8>> = Vec::new();
//! let facts = analyze_chain(&chain, "mx.example.org", &anchors, jiff::Timestamp::now());
//! assert!(!facts.validation.trusted);
//! assert_eq!(facts.validation.error.as_deref(), Some("no-certificate"));
//! assert_eq!(facts.validation.anchors, ["mozilla"]);
//! assert!(!facts.name_check.matched);
//! ```
#![deny(missing_docs)]

mod anchors;
mod diagnose;
mod dn;
mod key;
mod name;
mod parse;
mod validate;

pub use anchors::{CertError, TrustAnchors};
pub use name::check_name;
pub use parse::parse_certificate;
pub use validate::{VALIDATION_ERRORS, analyze_chain};
