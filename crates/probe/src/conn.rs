//! A connection with a bounded line reader: every read has a deadline and every
//! reply a byte and line cap, so no server can hang or flood a probe.

use std::time::Duration;

use mailwarden_model::{Failure, FailureKind, Line};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

/// Caps on what one reply may contain.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest line accepted, in bytes (RFC 5321 allows 512; servers exceed it).
    pub max_line: usize,
    /// Most lines in one reply.
    pub max_lines: usize,
    /// Most bytes in one reply.
    pub max_reply_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 8 * 1024,
            max_lines: 512,
            max_reply_bytes: 64 * 1024,
        }
    }
}

/// A stream with a read buffer, a per-step timeout and reply caps.
pub struct Conn<S> {
    stream: S,
    buf: Vec<u8>,
    step_timeout: Duration,
    limits: Limits,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// Wraps a stream; `step_timeout` bounds each reply and each write.
    pub fn new(stream: S, step_timeout: Duration, limits: Limits) -> Self {
        Conn {
            stream,
            buf: Vec::new(),
            step_timeout,
            limits,
        }
    }

    /// The deadline for a step starting now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.step_timeout
    }

    /// The per-step timeout.
    pub fn step_timeout(&self) -> Duration {
        self.step_timeout
    }

    /// The reply caps.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes received but not yet consumed as lines.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Gives back the stream and the unconsumed bytes (for a STARTTLS upgrade:
    /// bytes the server sent after its "go ahead" must not be fed to TLS silently).
    pub fn into_parts(self) -> (S, Vec<u8>) {
        (self.stream, self.buf)
    }

    /// Mutable access to the stream, for raw exchanges (legacy TLS hellos).
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Sends a command line (CR LF appended).
    pub async fn send_line(&mut self, line: &str) -> Result<(), Failure> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.send_raw(&bytes).await
    }

    /// Sends raw bytes within the step timeout.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let deadline = self.deadline();
        match timeout_at(deadline, async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        })
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io_failure(&e)),
            Err(_) => Err(Failure::new(
                FailureKind::IoTimeout,
                format!("could not send within {}", human(self.step_timeout)),
            )),
        }
    }

    /// Reads one line before `deadline`. Lines longer than the cap fail with
    /// `reply-too-large`; a close before a full line fails with `closed-by-peer`
    /// (a final unterminated fragment is dropped: it is returned in the detail).
    pub async fn read_line(&mut self, deadline: Instant) -> Result<Line, Failure> {
        loop {
            if let Some(pos) = memchr_newline(&self.buf) {
                let rest = self.buf.split_off(pos + 1);
                let line = std::mem::replace(&mut self.buf, rest);
                return Ok(Line::new(line));
            }
            if self.buf.len() > self.limits.max_line {
                return Err(Failure::new(
                    FailureKind::ReplyTooLarge,
                    format!("line longer than {} bytes", self.limits.max_line),
                ));
            }
            self.fill(deadline).await?;
        }
    }

    /// Reads more bytes into the buffer before `deadline`.
    pub async fn fill(&mut self, deadline: Instant) -> Result<usize, Failure> {
        let mut chunk = [0u8; 4096];
        match timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Err(_) => Err(Failure::new(
                FailureKind::IoTimeout,
                if self.buf.is_empty() {
                    format!("no reply within {}", human(self.step_timeout))
                } else {
                    format!(
                        "reply incomplete after {} (received {:?})",
                        human(self.step_timeout),
                        preview(&self.buf)
                    )
                },
            )),
            Ok(Err(e)) => Err(io_failure(&e)),
            Ok(Ok(0)) => Err(Failure::new(
                FailureKind::ClosedByPeer,
                if self.buf.is_empty() {
                    "connection closed by the server".to_owned()
                } else {
                    format!(
                        "connection closed mid-line (received {:?})",
                        preview(&self.buf)
                    )
                },
            )),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
        }
    }

    /// Waits until at least one byte is buffered or the deadline passes; returns
    /// false on timeout (used to tell a silent server from a talking one).
    pub async fn wait_for_data(&mut self, deadline: Instant) -> Result<bool, Failure> {
        if !self.buf.is_empty() {
            return Ok(true);
        }
        match self.fill(deadline).await {
            Ok(_) => Ok(true),
            Err(f) if f.kind == FailureKind::IoTimeout => Ok(false),
            Err(f) => Err(f),
        }
    }

    /// Reads lines until `is_last` says the reply is complete, within one step
    /// timeout and the reply caps.
    pub async fn read_reply(
        &mut self,
        mut is_last: impl FnMut(&Line) -> bool,
    ) -> Result<Vec<Line>, Failure> {
        let deadline = self.deadline();
        let mut lines = Vec::new();
        let mut bytes = 0usize;
        loop {
            let line = self.read_line(deadline).await?;
            bytes += line.bytes().len() + 2;
            let last = is_last(&line);
            lines.push(line);
            if last {
                return Ok(lines);
            }
            if lines.len() >= self.limits.max_lines || bytes >= self.limits.max_reply_bytes {
                return Err(Failure::new(
                    FailureKind::ReplyTooLarge,
                    format!(
                        "reply exceeded {} lines or {} bytes; first line: {}",
                        self.limits.max_lines,
                        self.limits.max_reply_bytes,
                        lines.first().map(|l| l.to_string()).unwrap_or_default()
                    ),
                ));
            }
        }
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// Classifies an I/O error into the shared failure taxonomy.
pub fn io_failure(e: &std::io::Error) -> Failure {
    use std::io::ErrorKind as K;
    let kind = match e.kind() {
        K::ConnectionRefused => FailureKind::ConnectionRefused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => FailureKind::ConnectionReset,
        K::TimedOut => FailureKind::IoTimeout,
        K::UnexpectedEof => FailureKind::ClosedByPeer,
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => {
            FailureKind::Unreachable
        }
        _ => FailureKind::Io,
    };
    Failure::new(kind, e.to_string())
}

/// A short printable preview of raw bytes, for failure details.
pub fn preview(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(80)];
    String::from_utf8_lossy(cut).into_owned()
}

/// Formats a duration for messages ("10s", "250ms").
pub fn human(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    #[tokio::test]
    async fn reads_lines_across_chunks_and_keeps_the_rest() {
        let (client, mut server) = duplex(64);
        let mut conn = Conn::new(client, Duration::from_secs(1), Limits::default());
        server.write_all(b"250-a\r\n250 b\r\nextra").await.unwrap();
        let reply = conn
            .read_reply(|l| l.bytes().get(3) == Some(&b' '))
            .await
            .unwrap();
        assert_eq!(reply, vec![Line::from("250-a"), Line::from("250 b")]);
        assert_eq!(conn.pending(), b"extra");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dripping_server_hits_the_step_deadline() {
        let (client, mut server) = duplex(64);
        let mut conn = Conn::new(client, Duration::from_secs(5), Limits::default());
        tokio::spawn(async move {
            loop {
                if server.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let err = conn.read_reply(|_| true).await.unwrap_err();
        assert_eq!(err.kind, FailureKind::IoTimeout);
        assert!(err.detail.contains("incomplete"), "{}", err.detail);
    }

    #[tokio::test]
    async fn an_endless_line_is_capped() {
        let (client, mut server) = duplex(1 << 16);
        let limits = Limits {
            max_line: 100,
            ..Limits::default()
        };
        let mut conn = Conn::new(client, Duration::from_secs(1), limits);
        server.write_all(&[b'a'; 1000]).await.unwrap();
        let err = conn.read_reply(|_| true).await.unwrap_err();
        assert_eq!(err.kind, FailureKind::ReplyTooLarge);
    }

    #[tokio::test]
    async fn an_endless_reply_is_capped() {
        let (client, mut server) = duplex(1 << 16);
        let limits = Limits {
            max_lines: 10,
            ..Limits::default()
        };
        let mut conn = Conn::new(client, Duration::from_secs(1), limits);
        tokio::spawn(async move { while server.write_all(b"250-more\r\n").await.is_ok() {} });
        let err = conn.read_reply(|_| false).await.unwrap_err();
        assert_eq!(err.kind, FailureKind::ReplyTooLarge);
    }
}
