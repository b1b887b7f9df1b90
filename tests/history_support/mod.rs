//! Helpers for the history tests: a switchable TCP relay that makes one
//! fixed loopback port lead to different real test bed listeners from one
//! run to the next (the way a change on a mail server looks from outside),
//! and runs of the binary with a private history store.
//!
//! The relay only copies bytes: what answers is the real Postfix or Dovecot
//! behind it. While it forwards nowhere its port is closed (connections are
//! refused), so "a port opened" is modelled too.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A loopback port that forwards to a chosen address, or is closed.
pub struct Relay {
    addr: SocketAddr,
    listening: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Relay {
    /// A relay on a free 127.0.0.1 port, closed for now.
    pub fn closed() -> Relay {
        let probe = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let addr = probe.local_addr().expect("local address");
        drop(probe);
        Relay {
            addr,
            listening: None,
        }
    }

    /// A relay forwarding to `target`.
    pub fn to(target: SocketAddr) -> Relay {
        let mut r = Relay::closed();
        r.forward_to(target);
        r
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Forwards new connections to `target` from now on.
    pub fn forward_to(&mut self, target: SocketAddr) {
        self.close();
        // std sets SO_REUSEADDR on Unix: the port can be bound again at once.
        let mut listener = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr) {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        let listener = listener.expect("rebinding the relay port");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = conn else { continue };
                std::thread::spawn(move || pipe(client, target));
            }
        });
        self.listening = Some((stop, handle));
    }

    /// Stops listening: the port refuses connections.
    pub fn close(&mut self) {
        if let Some((stop, handle)) = self.listening.take() {
            stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so it sees the flag and drops the listener.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = handle.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.close();
    }
}

fn pipe(client: TcpStream, target: SocketAddr) {
    let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_secs(5)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || copy(client, server));
    copy(s2, c2);
    let _ = up.join();
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Runs `mailwarden` with `args` and a private store; returns (code, stdout, stderr).
pub fn run(store: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailwarden"))
        .args(args)
        .env("MAILWARDEN_STORE", store)
        .env_remove("NO_COLOR")
        .output()
        .expect("run mailwarden");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
