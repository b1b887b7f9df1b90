//! Opening TCP connections politely: a global concurrency cap, a per-host
//! concurrency cap and a per-host pacing interval. Mail servers limit
//! connections per client (Postfix anvil, Exim `smtp_accept_max`, Dovecot login
//! limits); exceeding those turns into 421s and false negatives.
//!
//! The per-host cap counts what the *server* sees, not only what we hold
//! open: a connection the server is known to keep busy after the client
//! left ([`Link::hold_after_close`]: Exim sleeps 500 ms after every failed
//! TLS handshake before its child exits, and counts that child against
//! `smtp_accept_max` until then) keeps the slot for that long after the
//! close.
//!
//! The interval is a sustained rate with a burst allowance (a token bucket
//! of [`BURST`] connections, scheduled as GCRA): one port's whole TLS
//! enumeration (60 to 110 connections) goes at the pace the server answers
//! within the concurrency cap, a scan of many ports of one host settles to
//! the interval. What limits a server's load is how many sessions it
//! serves at once, which the cap bounds; what rate limits such as Postfix's
//! `smtpd_client_connection_rate_limit` count is connections per minute,
//! which the burst bounds.
//!
//! Both adapt: a host that refused service for load
//! ([`Connector::throttled`]: a 421 greeting) gets half as many connections
//! at once, no burst, and a wider interval between new ones, for the rest
//! of the run.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use mailwarden_model::{Failure, FailureKind};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::conn::{human, io_failure};

/// Limits on how hard we press on hosts.
#[derive(Debug, Clone, Copy)]
pub struct ConnectPolicy {
    /// Connections open at once, all hosts together.
    pub concurrency: usize,
    /// Connections open at once to one host (including those the host is
    /// known to keep busy after we closed them).
    pub per_host_concurrency: usize,
    /// Minimum interval between two new connections to one host.
    pub per_host_interval: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
}

impl Default for ConnectPolicy {
    /// 8 connections at once per host, 50 new ones per second sustained
    /// after a burst of [`BURST`] (see the README's TLS enumeration section).
    fn default() -> Self {
        ConnectPolicy {
            concurrency: 64,
            per_host_concurrency: 8,
            per_host_interval: Duration::from_millis(20),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// New connections to one host that may start without waiting for the
/// interval, as long as the host never throttled us (then refilled at one
/// per interval).
pub const BURST: u32 = 128;

/// The interval after a throttling refusal is at least this ...
const THROTTLED_INTERVAL: Duration = Duration::from_millis(50);
/// ... and at most this.
const MAX_INTERVAL: Duration = Duration::from_secs(1);
/// Throttling refusals within this time of the last decrease change nothing.
const THROTTLE_QUIET: Duration = Duration::from_secs(1);

/// One host's slots and pacing.
struct HostGate {
    permits: Arc<Semaphore>,
    state: Mutex<GateState>,
}

struct GateState {
    /// GCRA's theoretical arrival time: when the bucket is full again.
    next_slot: Instant,
    interval: Duration,
    /// How many connections may start ahead of the interval.
    burst: u32,
    /// When the cap was last lowered.
    throttled_at: Option<Instant>,
    /// The cap in force (the policy's, lowered by throttling).
    limit: usize,
    /// Permits to retire instead of returning (the cap was lowered).
    retire: usize,
}

impl HostGate {
    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives a slot back once the server's hold time is over.
    fn release(self: Arc<Self>, permit: OwnedSemaphorePermit, hold: Duration) {
        if hold.is_zero() {
            self.give_back(permit);
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    tokio::time::sleep(hold).await;
                    self.give_back(permit);
                });
            }
            Err(_) => self.give_back(permit),
        }
    }

    /// Returns a slot, or retires it when the cap was lowered.
    fn give_back(&self, permit: OwnedSemaphorePermit) {
        let mut st = self.state();
        if st.retire > 0 {
            st.retire -= 1;
            permit.forget();
        }
    }
}

/// Opens connections under a [`ConnectPolicy`].
pub struct Connector {
    policy: ConnectPolicy,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<IpAddr, Arc<HostGate>>>,
}

impl Connector {
    /// A connector enforcing `policy`.
    pub fn new(policy: ConnectPolicy) -> Self {
        Connector {
            global: Arc::new(Semaphore::new(policy.concurrency.max(1))),
            hosts: Mutex::new(HashMap::new()),
            policy,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> ConnectPolicy {
        self.policy
    }

    /// Waits for a slot, then connects. The returned [`Link`] holds the slots
    /// until it is dropped (the host's slot longer when the host holds
    /// sessions after the close).
    pub async fn connect(&self, addr: SocketAddr) -> Result<Link, Failure> {
        let gate = self.gate(addr.ip());
        let host = gate
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Failure::new(FailureKind::Io, "connector closed"))?;
        let host = HostPermit {
            gate: gate.clone(),
            permit: Some(host),
            hold: Duration::ZERO,
        };
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Failure::new(FailureKind::Io, "connector closed"))?;
        let slot = {
            let mut st = gate.state();
            let now = Instant::now();
            // GCRA: a connection may start once `next_slot` is within
            // `burst - 1` intervals of now; each start pushes it one interval.
            let tolerance = st.interval * st.burst.saturating_sub(1);
            let slot = now.max(st.next_slot.checked_sub(tolerance).unwrap_or(now));
            st.next_slot = st.next_slot.max(slot) + st.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
        let timeout = self.policy.connect_timeout;
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Err(_) => {
                return Err(Failure::new(
                    FailureKind::ConnectTimeout,
                    format!(
                        "no answer to the connection attempt within {}",
                        human(timeout)
                    ),
                ));
            }
            Ok(Err(e)) => return Err(io_failure(&e)),
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        Ok(Link {
            stream,
            _host: host,
            _global: global,
        })
    }

    /// `ip` refused service for load (a 421 greeting): from now on, half
    /// as many connections at once (at least one), no burst, and new ones
    /// at least [`THROTTLED_INTERVAL`] apart, doubling at each refusal up
    /// to 1 s. Refusals within [`THROTTLE_QUIET`] of the last decrease
    /// answer the same excess and change nothing.
    pub fn throttled(&self, ip: IpAddr) {
        let gate = self.gate(ip);
        let mut st = gate.state();
        // Refusals of connections that were opened together answer the
        // same excess: one decrease per second.
        let now = Instant::now();
        if st.throttled_at.is_some_and(|t| now < t + THROTTLE_QUIET) {
            return;
        }
        st.throttled_at = Some(now);
        let lower = (st.limit / 2).max(1);
        // Free slots go at once; slots in use are retired when given back.
        let excess = st.limit - lower;
        st.retire += excess - gate.permits.forget_permits(excess);
        st.limit = lower;
        st.interval = (st.interval * 2).clamp(THROTTLED_INTERVAL, MAX_INTERVAL);
        st.burst = 1;
        st.next_slot = st.next_slot.max(Instant::now());
    }

    /// Connections to `ip` allowed at once now (the policy's cap, lowered
    /// by throttling).
    pub fn host_limit(&self, ip: IpAddr) -> usize {
        self.gate(ip).state().limit
    }

    fn gate(&self, ip: IpAddr) -> Arc<HostGate> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let per_host = self.policy.per_host_concurrency.max(1);
        let interval = self.policy.per_host_interval;
        hosts
            .entry(ip)
            .or_insert_with(|| {
                Arc::new(HostGate {
                    permits: Arc::new(Semaphore::new(per_host)),
                    state: Mutex::new(GateState {
                        next_slot: Instant::now(),
                        interval,
                        burst: BURST,
                        throttled_at: None,
                        limit: per_host,
                        retire: 0,
                    }),
                })
            })
            .clone()
    }
}

/// A host slot, given back through its gate.
struct HostPermit {
    gate: Arc<HostGate>,
    permit: Option<OwnedSemaphorePermit>,
    /// How long after the close the server still counts the session.
    hold: Duration,
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.gate.clone().release(permit, self.hold);
        }
    }
}

/// A TCP connection holding its concurrency slots.
pub struct Link {
    stream: TcpStream,
    _host: HostPermit,
    _global: OwnedSemaphorePermit,
}

impl Link {
    /// Declares that the server will keep this session busy for `hold`
    /// after we close it (Exim after a failed TLS handshake): the host's
    /// slot is given back only then, so that the server's own count stays
    /// within the cap.
    pub fn hold_after_close(&mut self, hold: Duration) {
        self._host.hold = hold;
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.stream.peer_addr().ok()
    }
}

impl AsyncRead for Link {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn per_host_concurrency_is_enforced() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let connector = Arc::new(Connector::new(ConnectPolicy {
            per_host_concurrency: 2,
            per_host_interval: Duration::ZERO,
            ..ConnectPolicy::default()
        }));
        let a = connector.connect(addr).await.unwrap();
        let _b = connector.connect(addr).await.unwrap();
        let c2 = connector.clone();
        let third = tokio::spawn(async move { c2.connect(addr).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !third.is_finished(),
            "a third connection must wait for a slot"
        );
        drop(a);
        tokio::time::timeout(Duration::from_secs(2), third)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }

    async fn listener() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_host_that_holds_sessions_keeps_the_slot_after_the_close() {
        let addr = listener().await;
        let connector = Connector::new(ConnectPolicy {
            per_host_concurrency: 1,
            per_host_interval: Duration::ZERO,
            ..ConnectPolicy::default()
        });
        // A session without a hold gives its slot back at once.
        drop(connector.connect(addr).await.unwrap());
        let mut held = connector.connect(addr).await.unwrap();
        held.hold_after_close(Duration::from_millis(300));
        drop(held);
        let started = std::time::Instant::now();
        drop(connector.connect(addr).await.unwrap());
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[tokio::test]
    async fn throttling_halves_the_cap_and_widens_the_interval() {
        let addr = listener().await;
        let connector = Arc::new(Connector::new(ConnectPolicy {
            per_host_concurrency: 4,
            per_host_interval: Duration::ZERO,
            ..ConnectPolicy::default()
        }));
        let a = connector.connect(addr).await.unwrap();
        let b = connector.connect(addr).await.unwrap();
        let c = connector.connect(addr).await.unwrap();
        connector.throttled(addr.ip());
        assert_eq!(connector.host_limit(addr.ip()), 2);
        // Three are open with a cap of two: a fourth waits until two have closed.
        let c2 = connector.clone();
        let fourth = tokio::spawn(async move { c2.connect(addr).await.map(|_| ()) });
        drop(a);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            !fourth.is_finished(),
            "one slot was retired, not given back"
        );
        drop(b);
        let started = std::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(2), fourth)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        drop(c);
        // New connections are now paced at least 50 ms apart.
        let _d = connector.connect(addr).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(40));
        // More refusals right after answer the same excess.
        connector.throttled(addr.ip());
        connector.throttled(addr.ip());
        assert_eq!(connector.host_limit(addr.ip()), 2);
        let single = Connector::new(ConnectPolicy {
            per_host_concurrency: 1,
            ..ConnectPolicy::default()
        });
        single.throttled(addr.ip());
        assert_eq!(single.host_limit(addr.ip()), 1, "never below one");
    }

    #[tokio::test]
    async fn a_burst_goes_at_once_then_the_interval_applies() {
        let addr = listener().await;
        let connector = Connector::new(ConnectPolicy {
            per_host_concurrency: 1,
            per_host_interval: Duration::from_millis(500),
            ..ConnectPolicy::default()
        });
        let started = std::time::Instant::now();
        for _ in 0..BURST {
            drop(connector.connect(addr).await.unwrap());
        }
        let burst = started.elapsed();
        assert!(burst < Duration::from_millis(400), "{burst:?}");
        // The bucket is empty: the next two start 0.5 s and 1 s after the first.
        drop(connector.connect(addr).await.unwrap());
        drop(connector.connect(addr).await.unwrap());
        let total = started.elapsed();
        assert!(total >= Duration::from_millis(950), "{total:?}");
        assert!(total < Duration::from_secs(3), "{total:?}");
    }

    #[tokio::test]
    async fn refused_port_is_classified() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let connector = Connector::new(ConnectPolicy::default());
        let err = connector.connect(addr).await.err().unwrap();
        assert_eq!(err.kind, FailureKind::ConnectionRefused);
    }
}
