//! Daemons tied to the test process: each runs under a `sh` that reads a
//! pipe from us; at EOF (our exit, however it happens) the `sh` kills its
//! own child by PID. Nothing is ever killed by name.

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::Context as _;

const SCRIPT: &str = r#"
trap '' INT HUP
"$@" &
child=$!
read _ignored
kill "$child" 2>/dev/null
wait "$child" 2>/dev/null
if [ -n "${MW_DNSBED_RM:-}" ]; then rm -rf -- "$MW_DNSBED_RM"; fi
"#;

/// A running daemon; dropping it (or exiting) stops it.
pub struct Guard {
    stdin: Option<ChildStdin>,
    sh: Child,
}

impl Guard {
    /// Starts `tool args...` with its output in `<dir>/<tool>.log`; with
    /// `remove_dir`, the directory is removed once the daemon stopped.
    pub fn spawn(dir: &Path, tool: &str, args: &[&str], remove_dir: bool) -> anyhow::Result<Guard> {
        let log = std::fs::File::create(dir.join(format!("{tool}.log")))?;
        let mut sh = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("sh")
            .arg(tool)
            .args(args)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env(
                "MW_DNSBED_RM",
                if remove_dir {
                    dir.as_os_str()
                } else {
                    "".as_ref()
                },
            )
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {tool}"))?;
        let stdin = sh.stdin.take();
        Ok(Guard { stdin, sh })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.sh.wait();
    }
}
