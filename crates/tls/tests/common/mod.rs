//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The bytes of a hex fixture under `tests/fixtures/`, comments skipped.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.trim().chars())
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex fixture"))
        .collect()
}

/// All fixtures by name.
pub const FIXTURES: &[&str] = &[
    "tls12-ecdhe-rsa.hex",
    "tls10.hex",
    "tls11-dhe.hex",
    "tls13-server-hello.hex",
    "hello-retry-request.hex",
    "handshake-failure.hex",
    "protocol-version.hex",
];
