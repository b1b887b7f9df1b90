//! One enumeration probe on one fresh connection: connect (politely, with
//! retries when the server throttles), repeat the STARTTLS dialog where
//! the port needs it, send the planner's bytes and read the answer within
//! a deadline and a byte cap.

use std::time::Duration;

use mailwarden_model::{Failure, FailureKind, Line, Protocol, ThrottleEvent};
use mailwarden_tls::scan::{Answer, HeartbeatAnswer, ProbeRequest, Send, TlsAnswer};
use mailwarden_tls::{
    HeartbeatReader, Progress, SSLV2_MAX_RECORD, ServerFlightReader, heartbleed_requests,
    parse_sslv2_answer,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use crate::Prober;
use crate::conn::{Conn, human, io_failure, preview};
use crate::connector::Link;
use crate::protocol;

/// How TLS starts on the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsPath {
    /// Greeting, capabilities and STARTTLS first (SMTP, LMTP, IMAP, POP3, ManageSieve).
    StartTls(Protocol),
    /// TLS from the first byte.
    Implicit,
}

/// What one probe cost.
#[derive(Debug, Default)]
pub(crate) struct Cost {
    pub connections: u32,
    pub throttling: Vec<ThrottleEvent>,
}

/// Makes one probe. Never fails: problems are part of the [`Answer`].
pub(crate) async fn exchange(
    prober: &Prober,
    address: std::net::SocketAddr,
    path: TlsPath,
    request: &ProbeRequest,
    hold: Option<Duration>,
) -> (Answer, Cost) {
    let mut cost = Cost::default();
    let retries = prober.config.throttle_retries;
    let mut last = Failure::new(FailureKind::Throttled, "throttled");
    for attempt in 0..=retries {
        cost.connections += 1;
        let mut link = match ready(prober, address, path).await {
            Ok(link) => link,
            Err(f) if throttle_like(&f) => {
                // Fewer connections at once, further apart, for the rest of the run.
                prober.connector.throttled(address.ip());
                last = Failure::new(FailureKind::Throttled, f.detail.clone());
                let wait = backoff(prober, attempt, retries);
                cost.throttling.push(ThrottleEvent {
                    evidence: vec![Line::from(format!("({f})").as_str())],
                    backoff_ms: wait.as_millis() as u64,
                });
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(f) => return (Answer::NotSent(f), cost),
        };
        if let Some(hold) = hold {
            // Every probe is a handshake the server sees fail.
            link.hold_after_close(hold);
        }
        let answer = send_and_read(link, &request.send, prober.config.timeout).await;
        return (answer, cost);
    }
    (Answer::NotSent(last), cost)
}

/// Refusals that say "not now" rather than "no": 421 greetings and
/// connections dropped before the dialog got anywhere.
fn throttle_like(f: &Failure) -> bool {
    matches!(
        f.kind,
        FailureKind::Throttled | FailureKind::ConnectionReset | FailureKind::ClosedByPeer
    )
}

fn backoff(prober: &Prober, attempt: u32, retries: u32) -> Duration {
    if attempt < retries {
        prober.config.throttle_backoff * 2u32.saturating_pow(attempt)
    } else {
        Duration::ZERO
    }
}

/// Connects and, for STARTTLS ports, runs the dialog up to "go ahead".
async fn ready(
    prober: &Prober,
    address: std::net::SocketAddr,
    path: TlsPath,
) -> Result<Link, Failure> {
    let link = prober.connector.connect(address).await?;
    let TlsPath::StartTls(protocol) = path else {
        return Ok(link);
    };
    let mut conn = Conn::new(link, prober.config.timeout, prober.config.limits);
    protocol::reach_starttls(&mut conn, protocol).await?;
    let (link, early) = conn.into_parts();
    if !early.is_empty() {
        return Err(Failure::new(
            FailureKind::ProtocolError,
            format!(
                "the server sent data after accepting STARTTLS: {:?}",
                preview(&early)
            ),
        ));
    }
    Ok(link)
}

async fn send_and_read(mut link: Link, send: &Send, timeout: Duration) -> Answer {
    let deadline = Instant::now() + timeout;
    let bytes = match send {
        Send::Hello(b) | Send::Heartbleed(b) | Send::Sslv2(b) => b,
    };
    if let Err(f) = write(&mut link, bytes, deadline, timeout).await {
        return Answer::NotSent(f);
    }
    match send {
        Send::Sslv2(_) => read_sslv2(&mut link, deadline, timeout).await,
        Send::Hello(_) => Answer::Tls(Box::new(read_flight(&mut link, deadline, timeout).await)),
        Send::Heartbleed(_) => {
            let mut answer = read_flight(&mut link, deadline, timeout).await;
            if let Some(hello) = answer
                .flight
                .server_hello
                .as_ref()
                .filter(|_| answer.flight.hello_done)
            {
                let requests = heartbleed_requests(hello.legacy_version.0);
                let deadline = Instant::now() + timeout;
                answer.heartbeat =
                    Some(match write(&mut link, &requests, deadline, timeout).await {
                        Ok(()) => read_heartbeats(&mut link, deadline, timeout).await,
                        Err(f) => HeartbeatAnswer {
                            reader: HeartbeatReader::new(),
                            ended: Some(f),
                        },
                    });
            }
            Answer::Tls(Box::new(answer))
        }
    }
}

async fn write(
    link: &mut Link,
    bytes: &[u8],
    deadline: Instant,
    timeout: Duration,
) -> Result<(), Failure> {
    match timeout_at(deadline, async {
        link.write_all(bytes).await?;
        link.flush().await
    })
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io_failure(&e)),
        Err(_) => Err(Failure::new(
            FailureKind::IoTimeout,
            format!("could not send the hello within {}", human(timeout)),
        )),
    }
}

/// One read before `deadline`: the bytes, or why there are none.
async fn read_some(
    link: &mut Link,
    buf: &mut [u8],
    deadline: Instant,
    timeout: Duration,
) -> Result<usize, Failure> {
    match timeout_at(deadline, link.read(buf)).await {
        Err(_) => Err(Failure::new(
            FailureKind::IoTimeout,
            format!("no complete answer within {}", human(timeout)),
        )),
        Ok(Err(e)) => Err(io_failure(&e)),
        Ok(Ok(0)) => Err(Failure::new(
            FailureKind::ClosedByPeer,
            "the server closed the connection",
        )),
        Ok(Ok(n)) => Ok(n),
    }
}

/// Reads the first flight (the reader caps it at `MAX_FLIGHT_LEN`).
async fn read_flight(link: &mut Link, deadline: Instant, timeout: Duration) -> TlsAnswer {
    let mut reader = ServerFlightReader::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut answer = TlsAnswer::default();
    loop {
        let n = match read_some(link, &mut buf, deadline, timeout).await {
            Ok(n) => n,
            Err(f) => {
                answer.ended = Some(f);
                break;
            }
        };
        match reader.feed(buf.get(..n).unwrap_or_default()) {
            Ok(Progress::NeedMore) => continue,
            Ok(Progress::Complete(_)) => break,
            Err(e) => {
                answer.error = Some(e);
                break;
            }
        }
    }
    answer.flight = reader.into_flight();
    answer
}

/// Reads heartbeat responses until an alert, the byte cap, a close or the deadline.
async fn read_heartbeats(link: &mut Link, deadline: Instant, timeout: Duration) -> HeartbeatAnswer {
    let mut reader = HeartbeatReader::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match read_some(link, &mut buf, deadline, timeout).await {
            Ok(n) => n,
            Err(f) => {
                return HeartbeatAnswer {
                    reader,
                    ended: Some(f),
                };
            }
        };
        match reader.feed(buf.get(..n).unwrap_or_default()) {
            Ok(false) => continue,
            Ok(true) => {
                return HeartbeatAnswer {
                    reader,
                    ended: None,
                };
            }
            Err(e) => {
                return HeartbeatAnswer {
                    reader,
                    ended: Some(Failure::new(FailureKind::ProtocolError, e.to_string())),
                };
            }
        }
    }
}

/// Reads an SSL 2.0 answer (one record of at most `SSLV2_MAX_RECORD` bytes).
async fn read_sslv2(link: &mut Link, deadline: Instant, timeout: Duration) -> Answer {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 8 * 1024];
    loop {
        let n = match read_some(link, &mut chunk, deadline, timeout).await {
            Ok(n) => n,
            Err(f) => {
                return Answer::Sslv2 {
                    answer: None,
                    ended: Some(f),
                };
            }
        };
        let room = (SSLV2_MAX_RECORD + 3).saturating_sub(buf.len());
        buf.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
        match parse_sslv2_answer(&buf) {
            Ok(Some(answer)) => {
                return Answer::Sslv2 {
                    answer: Some(answer),
                    ended: None,
                };
            }
            Ok(None) if room > n => continue,
            Ok(None) => {
                return Answer::Sslv2 {
                    answer: None,
                    ended: Some(Failure::new(
                        FailureKind::ReplyTooLarge,
                        "SSL 2.0 record too long",
                    )),
                };
            }
            Err(e) => {
                return Answer::Sslv2 {
                    answer: None,
                    ended: Some(Failure::new(FailureKind::ProtocolError, e.to_string())),
                };
            }
        }
    }
}
