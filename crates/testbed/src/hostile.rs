//! In-process fake servers that misbehave on purpose, for testing a client's
//! timeouts, byte caps and protocol checks. Everything that behaves like a real
//! mail server is tested against the real Postfix and Dovecot instead.
//!
//! Each `spawn_*` function binds 127.0.0.1 on a free port and serves on the
//! current tokio runtime until the returned [`HostileServer`] is dropped (which
//! also ends its open connections).
//!
//! # Panics
//!
//! The `spawn_*` functions panic when no TCP port can be bound on 127.0.0.1:
//! a test machine without loopback cannot run these tests at all.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

mod http;

pub use http::spawn_http;
pub(crate) use http::start_http_on;

/// A running fake server; dropping it stops it and its connections.
#[derive(Debug)]
pub struct HostileServer {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// The accept loop; aborted on drop.
    pub handle: JoinHandle<()>,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// How a fake server treats each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    Drip,
    Flood,
    Garbage,
    FakeStarttls,
    Silent,
    TlsBogusLength,
    TlsBadInnerLength,
    AcceptThenClose,
}

/// Sends `220 ` and then one byte per second, forever, never ending the line.
pub async fn spawn_drip() -> HostileServer {
    spawn(Behaviour::Drip)
}

/// Greets normally, then answers the first command with an endless
/// multi-line reply (`250-xxxx...` lines, never a final `250 ` line).
pub async fn spawn_flood() -> HostileServer {
    spawn(Behaviour::Flood)
}

/// Sends 4 KiB of random binary bytes (the first one never printable) and closes.
pub async fn spawn_garbage() -> HostileServer {
    spawn(Behaviour::Garbage)
}

/// SMTP that advertises STARTTLS, answers it with `220 2.0.0 go ahead`, and
/// then keeps answering in plaintext (`500 ...` lines) instead of speaking TLS.
pub async fn spawn_fake_starttls() -> HostileServer {
    spawn(Behaviour::FakeStarttls)
}

/// Accepts and never sends a byte; closes only when the client does.
pub async fn spawn_silent() -> HostileServer {
    spawn(Behaviour::Silent)
}

/// Waits for the client's first bytes (a ClientHello), answers with a TLS
/// handshake record header claiming 65535 bytes (over the 16 KiB limit),
/// sends 16 bytes of it and then nothing more, without closing.
pub async fn spawn_tls_bogus_length() -> HostileServer {
    spawn(Behaviour::TlsBogusLength)
}

/// Waits for the client's first bytes, answers with a well-sized TLS record
/// holding a ServerHello whose inner length (65535) exceeds the record, then
/// stays silent without closing.
pub async fn spawn_tls_bad_inner_length() -> HostileServer {
    spawn(Behaviour::TlsBadInnerLength)
}

/// Accepts and closes at once.
pub async fn spawn_accept_then_close() -> HostileServer {
    spawn(Behaviour::AcceptThenClose)
}

/// An address on 127.0.0.1 where nothing listens (bound, read, released).
///
/// # Panics
///
/// When no TCP port can be bound on 127.0.0.1.
pub fn closed_port() -> SocketAddr {
    let listener = bind_std();
    // The listener is dropped here, so the port refuses connections from now on.
    listener_addr(&listener)
}

fn spawn(behaviour: Behaviour) -> HostileServer {
    spawn_on(&tokio::runtime::Handle::current(), behaviour, bind_std())
}

/// Binds 127.0.0.1 on a free port, non-blocking (ready for tokio).
pub(crate) fn bind_std() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("cannot bind a TCP port on 127.0.0.1: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("cannot make a listener non-blocking: {e}"));
    listener
}

fn listener_addr(listener: &std::net::TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("cannot read the address of a bound listener: {e}"))
}

/// Serves `behaviour` on `listener` from a task of `runtime`.
pub(crate) fn spawn_on(
    runtime: &tokio::runtime::Handle,
    behaviour: Behaviour,
    listener: std::net::TcpListener,
) -> HostileServer {
    let addr = listener_addr(&listener);
    let handle = runtime.spawn(async move {
        // from_std needs a runtime context: this runs inside one.
        if let Ok(listener) = TcpListener::from_std(listener) {
            accept_loop(listener, behaviour).await;
        }
    });
    HostileServer { addr, handle }
}

/// More simultaneous connections than any test needs; past it, new ones are closed.
const MAX_CONNECTIONS: usize = 256;

async fn accept_loop(listener: TcpListener, behaviour: Behaviour) {
    // Connection tasks live in this set, so aborting the loop aborts them too.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if connections.len() < MAX_CONNECTIONS => {
                    connections.spawn(serve(behaviour, stream));
                }
                Ok(_) => {}
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve(behaviour: Behaviour, mut stream: TcpStream) {
    // Errors mean the client went away: the connection simply ends.
    let _ = match behaviour {
        Behaviour::Drip => drip(&mut stream).await,
        Behaviour::Flood => flood(&mut stream).await,
        Behaviour::Garbage => garbage(&mut stream).await,
        Behaviour::FakeStarttls => fake_starttls(&mut stream).await,
        Behaviour::Silent => drain(&mut stream).await,
        Behaviour::TlsBogusLength => tls_reply(&mut stream, &bogus_length_record()).await,
        Behaviour::TlsBadInnerLength => tls_reply(&mut stream, &bad_inner_length_record()).await,
        Behaviour::AcceptThenClose => Ok(()),
    };
}

async fn drip(stream: &mut TcpStream) -> std::io::Result<()> {
    stream.write_all(b"220 ").await?;
    for byte in b"drip.mail.test ESMTP slower than you would like "
        .iter()
        .cycle()
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
        stream.write_all(&[*byte]).await?;
    }
    Ok(())
}

async fn flood(stream: &mut TcpStream) -> std::io::Result<()> {
    let (reader, mut writer) = stream.split();
    writer.write_all(b"220 flood.mail.test ESMTP\r\n").await?;
    let mut reader = BufReader::new(reader);
    read_line_capped(&mut reader).await?;
    let line = format!("250-{}\r\n", "x".repeat(70));
    let chunk = line.repeat(64);
    loop {
        writer.write_all(chunk.as_bytes()).await?;
    }
}

async fn garbage(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut bytes = vec![0u8; 4096];
    let mut rng = XorShift::seeded();
    for b in &mut bytes {
        *b = rng.next_byte();
    }
    // Never a printable first byte, so the reply is never accidentally a greeting.
    bytes[0] = 0xff;
    stream.write_all(&bytes).await?;
    stream.shutdown().await
}

async fn fake_starttls(stream: &mut TcpStream) -> std::io::Result<()> {
    let (reader, mut writer) = stream.split();
    let mut reader = BufReader::new(reader);
    writer
        .write_all(b"220 fake-starttls.mail.test ESMTP\r\n")
        .await?;
    loop {
        let line = read_line_capped(&mut reader).await?;
        if line.is_empty() {
            return Ok(());
        }
        let command = String::from_utf8_lossy(&line).trim().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-fake-starttls.mail.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
        } else if command.starts_with("HELO") {
            b"250 fake-starttls.mail.test\r\n"
        } else if command == "STARTTLS" {
            writer
                .write_all(b"220 2.0.0 Ready to start TLS, go ahead\r\n")
                .await?;
            break;
        } else if command == "QUIT" {
            writer.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            b"250 2.0.0 Ok\r\n"
        };
        writer.write_all(reply).await?;
    }
    // The client now sends a ClientHello; keep speaking plaintext SMTP at it.
    let mut buf = [0u8; 4096];
    loop {
        if reader.read(&mut buf).await? == 0 {
            return Ok(());
        }
        writer
            .write_all(b"500 5.5.2 Error: command not recognized\r\n")
            .await?;
    }
}

async fn drain(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}

async fn tls_reply(stream: &mut TcpStream, reply: &[u8]) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    if stream.read(&mut buf).await? == 0 {
        return Ok(());
    }
    stream.write_all(reply).await?;
    drain(stream).await
}

fn bogus_length_record() -> Vec<u8> {
    // Handshake record, TLS 1.2, length 0xffff (> 2^14 + 2048, RFC 8446 5.2),
    // followed by the start of a ServerHello that never completes.
    let mut record = vec![0x16, 0x03, 0x03, 0xff, 0xff];
    record.extend_from_slice(&[0x02, 0x00, 0x00, 0x46, 0x03, 0x03]);
    record.extend_from_slice(&[0u8; 10]);
    record
}

fn bad_inner_length_record() -> Vec<u8> {
    // Handshake record of 42 bytes whose ServerHello claims 65535 bytes.
    let mut record = vec![0x16, 0x03, 0x03, 0x00, 0x2a];
    record.extend_from_slice(&[0x02, 0x00, 0xff, 0xff, 0x03, 0x03]);
    record.extend_from_slice(&[0x5a; 36]);
    record
}

/// Reads one line of at most 1 KiB (a longer one is cut): a hostile server
/// must not be the one that runs out of memory.
async fn read_line_capped<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut limited = reader.take(1024);
    limited.read_until(b'\n', &mut line).await?;
    Ok(line)
}

/// A tiny non-cryptographic generator: garbage need not be unpredictable.
struct XorShift(u64);

impl XorShift {
    fn seeded() -> XorShift {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        XorShift(nanos | 1)
    }

    fn next_byte(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 24) as u8
    }
}
