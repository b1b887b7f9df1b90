//! Prometheus metrics of the last run, served over plain HTTP/1.1 (text
//! exposition format 0.0.4) by one thread with a std listener: a scrape is a
//! small GET on loopback, so no HTTP framework is needed. Each connection has
//! a read timeout and a 8 KiB cap on the request head.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use mailwarden_model::{ScanReport, Severity};
use mailwarden_store::RunDiff;

/// What the last run left for the next scrape.
#[derive(Debug, Default)]
pub struct State {
    /// Completed and failed runs.
    runs_ok: u64,
    runs_failed: u64,
    last_run: Option<Timestamp>,
    last_success: bool,
    last_exit_status: i32,
    last_duration_ms: u64,
    last_changes: usize,
    findings: [usize; 5],
    /// (target, address, subject, days left at the scan).
    certificates: Vec<(String, String, String, f64)>,
    /// (target, address, posture).
    postures: Vec<(String, String, String)>,
}

impl State {
    /// Records a completed run.
    pub fn update(
        &mut self,
        report: &ScanReport,
        exit_status: i32,
        duration_ms: u64,
        changes: Option<&RunDiff>,
    ) {
        self.runs_ok += 1;
        self.last_run = Some(report.finished_at);
        self.last_success = true;
        self.last_exit_status = exit_status;
        self.last_duration_ms = duration_ms;
        self.last_changes = changes.map_or(0, RunDiff::len);
        self.findings = [0; 5];
        for f in &report.assessment.findings {
            if let Some(i) = Severity::ALL.iter().position(|s| *s == f.severity) {
                self.findings[i] += 1;
            }
        }
        self.certificates = report
            .endpoints
            .iter()
            .filter_map(|e| {
                let implicit = e.implicit_tls.as_ref().and_then(|i| i.handshake.value());
                let starttls = e
                    .plaintext
                    .as_ref()
                    .and_then(|p| p.starttls.value())
                    .and_then(|x| x.handshake.value());
                let leaf = implicit
                    .into_iter()
                    .chain(starttls)
                    .find_map(|h| h.certificate_chain.as_ref())?
                    .leaf()?;
                let seconds = leaf.not_after?.as_second() - report.started_at.as_second();
                Some((
                    e.target.clone(),
                    e.address.to_string(),
                    leaf.subject.clone(),
                    seconds as f64 / 86_400.0,
                ))
            })
            .collect();
        self.postures = report
            .assessment
            .endpoints
            .iter()
            .map(|a| {
                (
                    a.target.clone(),
                    a.address.to_string(),
                    a.posture.as_str().to_owned(),
                )
            })
            .collect();
    }

    /// Records a run that failed.
    pub fn failed(&mut self, at: Timestamp) {
        self.runs_failed += 1;
        self.last_run = Some(at);
        self.last_success = false;
        self.last_exit_status = 2;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "mailwarden_certificate_expiry_days",
            "gauge",
            "Days from the last run to the expiry of the leaf certificate an endpoint presented (negative: expired).",
        );
        for (target, address, subject, days) in &self.certificates {
            let _ = writeln!(
                out,
                "mailwarden_certificate_expiry_days{{target=\"{}\",address=\"{}\",subject=\"{}\"}} {days:.3}",
                label(target),
                label(address),
                label(subject)
            );
        }
        family(
            &mut out,
            "mailwarden_findings",
            "gauge",
            "Findings of the last run, by severity.",
        );
        for (i, s) in Severity::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "mailwarden_findings{{severity=\"{}\"}} {}",
                s.as_str(),
                self.findings[i]
            );
        }
        family(
            &mut out,
            "mailwarden_endpoint_posture",
            "gauge",
            "1 for the posture verdict of each endpoint at the last run.",
        );
        for (target, address, posture) in &self.postures {
            let _ = writeln!(
                out,
                "mailwarden_endpoint_posture{{target=\"{}\",address=\"{}\",posture=\"{}\"}} 1",
                label(target),
                label(address),
                label(posture)
            );
        }
        family(
            &mut out,
            "mailwarden_last_run_timestamp_seconds",
            "gauge",
            "When the last run ended (Unix time).",
        );
        let _ = writeln!(
            out,
            "mailwarden_last_run_timestamp_seconds {}",
            self.last_run.map_or(0, |t| t.as_second())
        );
        family(
            &mut out,
            "mailwarden_last_run_success",
            "gauge",
            "1 when the last run completed, 0 when it failed.",
        );
        let _ = writeln!(
            out,
            "mailwarden_last_run_success {}",
            u8::from(self.last_success)
        );
        family(
            &mut out,
            "mailwarden_last_run_exit_status",
            "gauge",
            "Exit status of the last run: 0 clean, 1 findings at --fail-on, 2 failed.",
        );
        let _ = writeln!(
            out,
            "mailwarden_last_run_exit_status {}",
            self.last_exit_status
        );
        family(
            &mut out,
            "mailwarden_last_run_duration_seconds",
            "gauge",
            "Wall time of the last completed run.",
        );
        let _ = writeln!(
            out,
            "mailwarden_last_run_duration_seconds {:.3}",
            self.last_duration_ms as f64 / 1000.0
        );
        family(
            &mut out,
            "mailwarden_last_run_changes",
            "gauge",
            "Changes between the last run and the one before.",
        );
        let _ = writeln!(out, "mailwarden_last_run_changes {}", self.last_changes);
        family(
            &mut out,
            "mailwarden_runs_total",
            "counter",
            "Runs since the watcher started.",
        );
        let _ = writeln!(
            out,
            "mailwarden_runs_total{{status=\"ok\"}} {}",
            self.runs_ok
        );
        let _ = writeln!(
            out,
            "mailwarden_runs_total{{status=\"error\"}} {}",
            self.runs_failed
        );
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value escaped as the exposition format wants: `\\`, `\"`, `\n`.
fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Binds `addr` and serves `/metrics` from a background thread; returns the
/// bound address (port 0 picks one).
pub fn serve(addr: SocketAddr, state: Arc<Mutex<State>>) -> anyhow::Result<SocketAddr> {
    let listener =
        TcpListener::bind(addr).with_context(|| format!("--metrics: cannot listen on {addr}"))?;
    let bound = listener.local_addr().context("--metrics: local address")?;
    std::thread::Builder::new()
        .name("metrics".to_owned())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // One bad client never stops the server.
                let _ = answer(stream, &state);
            }
        })
        .context("starting the metrics thread")?;
    Ok(bound)
}

/// The longest request head read.
const HEAD_CAP: usize = 8 * 1024;

fn answer(mut stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < HEAD_CAP {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let request_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let request_line = String::from_utf8_lossy(request_line);
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => (
            "200 OK",
            state.lock().map(|s| s.render()).unwrap_or_default(),
        ),
        ("GET" | "HEAD", _) => ("404 Not Found", "see /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", String::new()),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        response.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&response)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd\u{1b}"), "a\\\"b\\\\c\\nd ");
    }

    #[test]
    fn an_empty_state_renders_every_family() {
        let text = State::default().render();
        for name in [
            "mailwarden_findings{severity=\"critical\"} 0",
            "mailwarden_last_run_success 0",
            "mailwarden_runs_total{status=\"ok\"} 0",
            "# TYPE mailwarden_certificate_expiry_days gauge",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
