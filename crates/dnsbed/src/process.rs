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
"#;

/// A running daemon; dropping it (or exiting) stops it.
pub struct Guard {
    stdin: Option<ChildStdin>,
    sh: Child,
}

impl Guard {
    /// Starts `tool args...` with its output in `<dir>/<tool>.log`.
    pub fn spawn(dir: &Path, tool: &str, args: &[&str]) -> anyhow::Result<Guard> {
        let log = std::fs::File::create(dir.join(format!("{tool}.log")))?;
        let mut sh = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("sh")
            .arg(tool)
            .args(args)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
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
