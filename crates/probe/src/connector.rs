//! Opening TCP connections politely: a global concurrency cap, a per-host
//! concurrency cap and a per-host pacing interval. Mail servers limit
//! connections per client (Postfix anvil, Exim `smtp_accept_max`, Dovecot login
//! limits); exceeding those turns into 421s and false negatives.

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
    /// Connections open at once to one host.
    pub per_host_concurrency: usize,
    /// Minimum interval between two new connections to one host.
    pub per_host_interval: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
}

impl Default for ConnectPolicy {
    fn default() -> Self {
        ConnectPolicy {
            concurrency: 64,
            per_host_concurrency: 4,
            per_host_interval: Duration::from_millis(20),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

struct HostGate {
    permits: Arc<Semaphore>,
    next_slot: Instant,
}

/// Opens connections under a [`ConnectPolicy`].
pub struct Connector {
    policy: ConnectPolicy,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<IpAddr, HostGate>>,
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
    /// until it is dropped.
    pub async fn connect(&self, addr: SocketAddr) -> Result<Link, Failure> {
        let host_permits = self.host_permits(addr.ip());
        let host = host_permits
            .acquire_owned()
            .await
            .map_err(|_| Failure::new(FailureKind::Io, "connector closed"))?;
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Failure::new(FailureKind::Io, "connector closed"))?;
        let slot = self.reserve_slot(addr.ip());
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
            _permits: [host, global],
        })
    }

    fn host_permits(&self, ip: IpAddr) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let per_host = self.policy.per_host_concurrency.max(1);
        hosts
            .entry(ip)
            .or_insert_with(|| HostGate {
                permits: Arc::new(Semaphore::new(per_host)),
                next_slot: Instant::now(),
            })
            .permits
            .clone()
    }

    /// Takes the next start time for a connection to `ip`, spacing them out.
    fn reserve_slot(&self, ip: IpAddr) -> Instant {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let Some(gate) = hosts.get_mut(&ip) else {
            return now;
        };
        let slot = gate.next_slot.max(now);
        gate.next_slot = slot + self.policy.per_host_interval;
        slot
    }
}

/// A TCP connection holding its concurrency slots.
pub struct Link {
    stream: TcpStream,
    _permits: [OwnedSemaphorePermit; 2],
}

impl Link {
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
