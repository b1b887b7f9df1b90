//! "An HTTP server on a mail port": the real `python3 -m http.server` when
//! Python is installed, else a minimal in-process responder answering 400.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::{HostileServer, bind_std};
use crate::util;

/// Serves HTTP on 127.0.0.1: the real `python3 -m http.server` (serving an
/// empty directory) when Python is installed, else a minimal in-process
/// responder that answers every request with `400 Bad Request`. A mail client
/// gets no greeting there; what it sends gets an HTML error page back.
///
/// # Panics
///
/// When no TCP port can be bound on 127.0.0.1.
pub async fn spawn_http() -> HostileServer {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let handle = start_http_on(&tokio::runtime::Handle::current(), None, move |addr| {
        let _ = tx.send(addr);
    });
    match rx.await {
        Ok(addr) => HostileServer { addr, handle },
        Err(_) => panic!("the HTTP server task ended before reporting its address"),
    }
}

/// Starts the HTTP server from a task of `runtime` and calls `report` with its
/// address once it accepts connections. `www` is the directory Python serves
/// (a fresh empty one when `None`).
pub(crate) fn start_http_on(
    runtime: &tokio::runtime::Handle,
    www: Option<PathBuf>,
    report: impl FnOnce(SocketAddr) + Send + 'static,
) -> JoinHandle<()> {
    // The child is spawned inside the task, so its parent thread is a runtime
    // worker: the parent-death signal then fires when the runtime (or the
    // whole process) goes away, not when some short-lived caller thread ends.
    runtime.spawn(async move {
        let mut report = Some(report);
        let temp = match &www {
            Some(_) => None,
            None => tempfile::Builder::new()
                .prefix("mailwarden-testbed-www-")
                .tempdir()
                .ok(),
        };
        let dir = www.or_else(|| temp.as_ref().map(|t| t.path().to_path_buf()));
        if let (Some(python), Some(dir)) = (python3(), dir) {
            for _ in 0..3 {
                match run_python(&python, &dir, &mut report).await {
                    PythonOutcome::ServedUntilExit => return,
                    PythonOutcome::Retry => continue,
                    PythonOutcome::Unusable => break,
                }
            }
        }
        let listener = bind_std();
        let Ok(addr) = listener.local_addr() else {
            return;
        };
        let Ok(listener) = TcpListener::from_std(listener) else {
            return;
        };
        if let Some(report) = report.take() {
            report(addr);
        }
        serve_400(listener).await;
        drop(temp);
    })
}

enum PythonOutcome {
    /// It ran and was reported; the task has nothing more to do.
    ServedUntilExit,
    /// It did not come up (port taken in the meantime?): try another port.
    Retry,
    /// Python cannot run here: use the in-process responder.
    Unusable,
}

async fn run_python<F: FnOnce(SocketAddr)>(
    python: &std::path::Path,
    dir: &std::path::Path,
    report: &mut Option<F>,
) -> PythonOutcome {
    let Ok(ports) = util::free_ports(&[Ipv4Addr::LOCALHOST]) else {
        return PythonOutcome::Unusable;
    };
    let Some(&port) = ports.first() else {
        return PythonOutcome::Unusable;
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut cmd = tokio::process::Command::new(python);
    cmd.args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .arg("--directory")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    // SAFETY: prctl(2) is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            // Die with our process even when it is killed without destructors.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let Ok(mut child) = cmd.spawn() else {
        return PythonOutcome::Unusable;
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return PythonOutcome::Retry;
        }
        if TcpStream::connect(addr).await.is_ok() {
            if let Some(report) = report.take() {
                report(addr);
            }
            let _ = child.wait().await;
            return PythonOutcome::ServedUntilExit;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    PythonOutcome::Retry
}

/// Debian's interpreter first (the pyenv shims of developer machines add a
/// slow wrapper), else whatever `python3` is in `PATH`.
fn python3() -> Option<PathBuf> {
    let system = PathBuf::from("/usr/bin/python3");
    if system.is_file() {
        Some(system)
    } else {
        util::find_program("python3")
    }
}

async fn serve_400(listener: TcpListener) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if connections.len() < super::MAX_CONNECTIONS => {
                    connections.spawn(answer_400(stream));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn answer_400(mut stream: TcpStream) {
    // Wait for a request line (at most 8 KiB, 30 s), like a real server.
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while len < buf.len() {
            match stream.read(&mut buf[len..]).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => len += n,
            }
            if buf[..len].contains(&b'\n') {
                return true;
            }
        }
        true
    })
    .await;
    if !matches!(read, Ok(true)) {
        return;
    }
    let body = "<html><body><h1>400 Bad Request</h1></body></html>\n";
    let reply = format!(
        "HTTP/1.0 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}
