//! Captures a server's raw answer to one crafted ClientHello, as hex, for the
//! fixtures under `tests/fixtures/` (see the README there).
//!
//! ```text
//! cargo run -p mailwarden-tls --example capture_flight -- 127.0.0.1:4433 legacy > out.hex
//! ```
//!
//! Hellos: `legacy` ([`legacy_client_hello`]), `tls13` ([`ClientHelloSpec::tls13`]),
//! `rc4` (a legacy hello offering only RC4 suites). Reads until the server is
//! silent for 700 ms (or closes), at most 256 KiB. Loopback only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use mailwarden_tls::{ClientHelloSpec, legacy_client_hello};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .ok_or("usage: capture_flight ADDR HELLO")?
        .parse()?;
    if !addr.ip().is_loopback() {
        return Err("only loopback addresses".into());
    }
    let hello = match args.next().as_deref() {
        Some("legacy") => legacy_client_hello(Some("localhost")),
        Some("tls13") => ClientHelloSpec::tls13(Some("localhost")).encode(),
        Some("rc4") => {
            let mut spec = ClientHelloSpec::legacy(Some("localhost"));
            spec.suites = vec![0xc011, 0x0005, 0x0004, 0x00ff];
            spec.encode()
        }
        _ => return Err("HELLO is one of legacy, tls13, rc4".into()),
    };
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_millis(700)))?;
    stream.write_all(&hello)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 256 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    for line in got.chunks(32) {
        let hex: String = line.iter().map(|b| format!("{b:02x}")).collect();
        println!("{hex}");
    }
    Ok(())
}
