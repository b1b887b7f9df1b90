//! `mailwarden-testbed up [--json] [--no-stdin]`: starts the test bed, prints
//! its endpoints, and keeps it running until stdin closes or SIGINT/SIGTERM.

use std::io::{Read, Write};
use std::process::ExitCode;

use mailwarden_testbed::Testbed;

const USAGE: &str = "\
usage: mailwarden-testbed up [--json] [--no-stdin]

Starts real Postfix, Dovecot and Exim on loopback (needs root and the
packages of scripts/setup-debian.sh) plus hostile fake servers, prints the
endpoint table, the CA file and the logs, then runs until stdin closes or
SIGINT/SIGTERM arrives, and stops everything it started.

  --json      print one line of JSON instead of the table: keys ca_file, dir,
              user, password, postfix_log, dovecot_log, exim_log,
              exim_reject_log, pids {postfix, dovecot, exim [..], reaper},
              endpoints [{name, addr, ip, port, description, server,
              protocol, implicit_tls}]
  --no-stdin  ignore stdin (run until a signal), e.g. when stdin is /dev/null,
              as it is for `cmd &` in a script";

struct Options {
    json: bool,
    watch_stdin: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(
        args.first().map(String::as_str),
        Some("-h" | "--help" | "help")
    ) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse_args(args.into_iter()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let stop = match StopRequests::register() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("mailwarden-testbed: cannot handle signals: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let testbed = match Testbed::start() {
        Ok(tb) => tb,
        Err(e) => {
            eprintln!("mailwarden-testbed: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let text = if options.json {
        json(&testbed)
    } else {
        table(&testbed)
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // Nobody reads us: there is no point in running.
        return ExitCode::FAILURE;
    }
    drop(stdout);
    stop.wait(options.watch_stdin);
    drop(testbed);
    ExitCode::SUCCESS
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    match args.next().as_deref() {
        Some("up") => {}
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("missing command".to_string()),
    }
    let mut options = Options {
        json: false,
        watch_stdin: true,
    };
    for arg in args {
        match arg.as_str() {
            "--json" => options.json = true,
            "--no-stdin" => options.watch_stdin = false,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(options)
}

fn table(tb: &Testbed) -> String {
    let width = tb
        .endpoints()
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(4);
    let mut out = format!("{:width$}  {:21}  DESCRIPTION\n", "NAME", "ADDRESS");
    for e in tb.endpoints() {
        out.push_str(&format!(
            "{:width$}  {:21}  {}\n",
            e.name,
            e.addr.to_string(),
            e.description
        ));
    }
    out.push_str(&format!(
        "\nCA file:     {}\nuser:        {}\npassword:    {}\nPostfix log: {}\nDovecot log: {}\nExim logs:   {} (mainlog, rejectlog, paniclog)",
        tb.ca_file().display(),
        tb.user(),
        tb.password(),
        tb.postfix_log().display(),
        tb.dovecot_log().display(),
        tb.exim_log_dir().display(),
    ));
    out
}

fn json(tb: &Testbed) -> String {
    let endpoints: Vec<serde_json::Value> = tb
        .endpoints()
        .iter()
        .map(|e| {
            serde_json::json!({
                "name": e.name,
                "addr": e.addr.to_string(),
                "ip": e.addr.ip().to_string(),
                "port": e.addr.port(),
                "description": e.description,
                "server": e.server.as_str(),
                "protocol": e.protocol,
                "implicit_tls": e.implicit_tls,
            })
        })
        .collect();
    serde_json::json!({
        "ca_file": tb.ca_file(),
        "dir": tb.dir(),
        "user": tb.user(),
        "password": tb.password(),
        "postfix_log": tb.postfix_log(),
        "dovecot_log": tb.dovecot_log(),
        "exim_log": tb.exim_log(),
        "exim_reject_log": tb.exim_reject_log(),
        "pids": {
            "postfix": tb.postfix_pid(),
            "dovecot": tb.dovecot_pid(),
            "exim": tb.exim_pids(),
            "reaper": tb.reaper_pid(),
        },
        "endpoints": endpoints,
    })
    .to_string()
}

/// The ways to ask a running test bed to stop, registered before it starts
/// so that a SIGTERM arriving right after the endpoint table is printed is
/// handled (and not fatal, which would leave the cleanup to the watchdog).
struct StopRequests {
    runtime: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopRequests {
    fn register() -> anyhow::Result<StopRequests> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let context = runtime.enter();
        let interrupt = signal(SignalKind::interrupt())?;
        let terminate = signal(SignalKind::terminate())?;
        drop(context);
        Ok(StopRequests {
            runtime,
            interrupt,
            terminate,
        })
    }

    /// Returns when stdin reaches EOF (if watched), or on SIGINT or SIGTERM.
    fn wait(mut self, watch_stdin: bool) {
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        if watch_stdin {
            // A plain thread: tokio's stdin would hold up the runtime's shutdown.
            std::thread::spawn(move || {
                let mut sink = [0u8; 1024];
                let mut stdin = std::io::stdin().lock();
                while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
                let _ = eof_tx.send(());
            });
        } else {
            // Keep the sender alive forever so the receiver never fires.
            std::mem::forget(eof_tx);
        }
        self.runtime.block_on(async {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
                _ = eof_rx => {}
            }
        });
    }
}
