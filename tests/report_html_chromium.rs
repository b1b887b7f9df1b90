//! The HTML report in a real browser: `mailwarden scan --format html` of
//! real Postfix listeners and of a hostile server whose banner and EHLO
//! reply carry markup (`<script>`, `<img src=http://…>`), rendered by
//! headless Chromium (Debian's `chromium`, installed by
//! scripts/setup-debian.sh). The rendered DOM must show the findings, the
//! posture matrix and the certificate timeline; the server's markup must
//! come out as text; our own inline script must have run (the CSP allows
//! it by hash) while the server's did not; and no request may leave the
//! page (a beacon listener the hostile markup points at must see nothing).

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::testbed;

/// A listener that counts connections: nothing in the page may reach it.
fn beacon() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (addr, hits)
}

/// An SMTP server whose greeting and EHLO reply are hostile markup; it
/// otherwise follows the protocol far enough to be scanned.
fn hostile_smtp(beacon: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let greeting = format!(
        "220 <script>document.title='pwned';fetch('http://{beacon}/s')</script><img src=\"http://{beacon}/i\"> ESMTP\r\n"
    );
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let greeting = greeting.clone();
            std::thread::spawn(move || serve(conn, &greeting, beacon));
        }
    });
    addr
}

fn serve(mut conn: TcpStream, greeting: &str, beacon: SocketAddr) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    if conn.write_all(greeting.as_bytes()).is_err() {
        return;
    }
    let Ok(reader) = conn.try_clone() else { return };
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { return };
        let upper = line.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            format!(
                "250-mail.test\r\n250-<b onmouseover=alert(1)>x</b><a href=\"http://{beacon}/a\">y</a>\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
            )
        } else if upper.starts_with("QUIT") {
            let _ = conn.write_all(b"221 bye\r\n");
            return;
        } else if upper.starts_with("MAIL") || upper.starts_with("RSET") {
            "250 ok\r\n".to_owned()
        } else {
            "502 no\r\n".to_owned()
        };
        if conn.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// Runs Chromium headless on `page` with the extra `args`; returns stdout.
fn chromium(page: &Path, profile: &Path, args: &[&str]) -> String {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium is installed (scripts/setup-debian.sh installs Debian's chromium)");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader")
}

#[test]
fn the_html_report_renders_in_chromium_with_hostile_text_inert() {
    let tb = testbed();
    let (beacon, hits) = beacon();
    let hostile = hostile_smtp(beacon);
    let (mx, expiring) = (tb.endpoint("smtp-mx"), tb.endpoint("smtp-expiring"));
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("report.html");
    let ports = format!(
        "{}/submission,{}/smtp,{}/smtp",
        hostile.port(),
        mx.port(),
        expiring.port()
    );
    let ca = tb.ca_file().display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_mailwarden"))
        .args([
            "scan",
            "127.0.0.1",
            "--ports",
            &ports,
            "--name",
            "mail.test",
            "--ca-file",
            &ca,
        ])
        .args([
            "--tls",
            "off",
            "--timeout",
            "5",
            "--no-store",
            "--format",
            "html",
            "-o",
        ])
        .arg(&page)
        .output()
        .expect("run mailwarden");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).expect("the page");
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only our own script is in the file"
    );

    let dom = chromium(
        &page,
        &dir.path().join("profile"),
        &["--dump-dom", "--virtual-time-budget=3000"],
    );
    assert!(
        dom.contains("<html lang=\"en\" data-js=\"ok\">"),
        "our hashed inline script ran:\n{}",
        &dom[..dom.len().min(400)]
    );
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .expect("a title");
    assert!(
        title.starts_with("mailwarden report"),
        "the server's script ran: title {title:?}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title="),
        "the banner is shown as text"
    );
    assert!(
        dom.contains("&lt;b onmouseover=alert(1)&gt;"),
        "the EHLO reply is shown as text"
    );
    assert!(!dom.contains("<img"), "an image element from the server");
    assert!(
        !dom.contains("<b onmouseover"),
        "an element from the server"
    );
    assert_eq!(dom.matches("<script").count(), 1);
    // What the report is for: the matrix, the findings, the timeline.
    assert!(dom.contains("id=\"matrix\""));
    assert!(dom.contains("plaintext-only") && dom.contains("starttls-optional"));
    for rule in ["MW-TRANSPORT-001", "MW-AUTH-001"] {
        assert!(dom.contains(rule), "{rule} not rendered");
    }
    assert!(dom.contains("<svg id=\"timeline\""));
    assert!(
        dom.contains(&format!("127.0.0.1 127.0.0.1:{}", expiring.port())),
        "the expiring certificate's row"
    );
    assert!(dom.contains("days left"));

    // A screenshot renders too (layout, SVG, fonts), still without a request.
    let shot = dir.path().join("report.png");
    chromium(
        &page,
        &dir.path().join("profile2"),
        &[
            "--window-size=1280,2400",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    if let Ok(keep) = std::env::var("MAILWARDEN_KEEP_SCREENSHOT") {
        let _ = std::fs::copy(&shot, keep);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the page made a request to the beacon"
    );
}
