//! Sans-IO TLS hello codec for mailwarden.
//!
//! rustls deliberately cannot offer TLS 1.0, SSL 3.0 or weak suites, so
//! mailwarden crafts its own ClientHello and reads the server's answer: one
//! round trip per probe, no cryptography. This crate is that codec; the
//! sockets live in `mailwarden-probe`.
//!
//! * [`legacy_client_hello`] and [`ClientHelloSpec`] build ClientHellos
//!   (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2); [`ClientHello::parse`] reads one
//!   back (for tests and fake servers).
//! * [`ServerFlightReader`] reassembles the server's first flight from bytes
//!   fed in any chunking and yields a [`ServerFlight`]: ServerHello,
//!   certificates, ServerKeyExchange, ServerHelloDone, or an [`Alert`]. It never
//!   panics, caps every length it buffers and says [`Error::NotTls`] when the
//!   peer answers in plain text.
//! * [`suite`], [`group`] and [`alert_name`] name and classify wire values
//!   from the IANA registries embedded in `data/`.
//! * [`Sslv2ClientHello`] and [`parse_sslv2_answer`] speak just enough
//!   SSL 2.0 to tell whether a server still accepts it.
//!
//! A probe sends the hello and feeds whatever arrives until the flight is
//! complete, the peer closes, a byte cap or a timeout is hit:
//!
//! ```
//! use mailwarden_tls::{FlightEnd, Progress, ServerFlightReader, legacy_client_hello};
//!
//! let hello = legacy_client_hello(Some("mx.example.org"));
//! assert_eq!(hello[0], 22); // a handshake record, ready for the socket
//!
//! let mut reader = ServerFlightReader::new();
//! // What the socket returned, in whatever pieces (here: a protocol_version alert).
//! for chunk in [&[0x15, 0x03][..], &[0x03, 0x00, 0x02, 0x02, 0x46]] {
//!     match reader.feed(chunk) {
//!         Ok(Progress::NeedMore) => continue,
//!         Ok(Progress::Complete(end)) => assert_eq!(end, FlightEnd::Alert),
//!         Err(e) => panic!("{e}"), // NotTls, TooLarge or Malformed: record as evidence
//!     }
//! }
//! let seen = reader.into_flight().legacy_hello(); // the model's LegacyHello
//! assert_eq!(seen.alert, Some(70));
//! ```
//!
//! * [`scan::Planner`] plans a whole enumeration (versions, suites,
//!   groups, features, Heartbleed) as probes for a caller to send, with as
//!   few connections as the questions allow; [`HeartbeatReader`] reads the
//!   answer to the Heartbleed probe, keeping lengths only.
//!
//! Wire enumerations are newtypes over the wire integer ([`ContentType`],
//! [`ExtensionType`], [`NamedGroup`], ...) so unknown values survive and
//! print as hex.
#![deny(missing_docs)]

mod client_hello;
mod codec;
mod error;
mod groups;
mod heartbeat;
mod hello;
mod record;
mod registry;
pub mod scan;
mod server_flight;
mod server_hello;
mod sslv2;
mod wire;

pub use client_hello::ClientHello;
pub use error::Error;
pub use groups::{GroupInfo, GroupKind, group, group_name, groups};
pub use heartbeat::{
    CONTROL_PAYLOAD, HEARTBLEED_CLAIMED_LEN, HeartbeatReader, HeartbeatResponse,
    MAX_HEARTBEAT_READ, heartbleed_requests,
};
pub use hello::{
    ClientHelloSpec, EMPTY_RENEGOTIATION_INFO_SCSV, FALLBACK_SCSV, KeyShareEntry, LEGACY_GROUPS,
    LEGACY_SIGNATURE_ALGORITHMS, LEGACY_SUITES, derive_random, legacy_client_hello,
    legacy_client_hello_with_random, sni_host_name,
};
pub use record::{
    MAX_FRAGMENT_LEN, MAX_RECORD_PAYLOAD, RECORD_HEADER_LEN, RecordHeader, encode_handshake,
    encode_records, is_tls_content_type, split_records,
};
pub use registry::{
    Authentication, Cipher, KeyExchange, Mac, SuiteFlags, SuiteInfo, suite, suite_by_name,
    suite_id, suite_name, suites,
};
pub use server_flight::{
    Alert, EVIDENCE_LEN, FlightEnd, MAX_FLIGHT_LEN, MAX_HANDSHAKE_MESSAGE_LEN, Progress,
    ServerFlight, ServerFlightReader, ServerKeyExchange,
};
pub use server_hello::{HRR_RANDOM, ServerExtensions, ServerHello};
pub use sslv2::{
    SSLV2_MAX_RECORD, Sslv2Answer, Sslv2ClientHello, Sslv2ServerHello, Sslv2SuiteInfo,
    parse_sslv2_answer, sslv2_suite, sslv2_suites,
};
pub use wire::{
    AlertDescription, AlertLevel, ContentType, Extension, ExtensionType, HandshakeType, NamedGroup,
    SignatureScheme, alert_name,
};
