//! A watchdog child that cleans up when the test process dies without
//! running destructors (a `static` test bed, a panic=abort, a SIGKILL).
//!
//! The reaper is `sh` blocked reading a pipe whose only writer is our process.
//! When our process exits, the kernel closes the pipe; the reaper sees EOF,
//! stops the Postfix instance by its config directory, terminates the PIDs it
//! was told about (only if they still belong to this test bed: their command
//! line or working directory is inside its directory, so a recycled PID is
//! never hit), and removes the directory.
//!
//! A test bed dropped normally cleans up itself and kills the reaper first.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context, bail};

const SCRIPT: &str = r#"
# Ignore terminal signals: a Ctrl-C must not stop the cleanup it triggers.
trap '' INT HUP TERM QUIT
dir=$1
postfix=$2
pids=
conf=
groups=
while IFS= read -r line; do
  case $line in
    "pid "*) pids="$pids ${line#pid }" ;;
    "postfix "*) conf=${line#postfix } ;;
    "group "*) groups="$groups ${line#group }" ;;
  esac
done
ours() {
  case "$(readlink "/proc/$1/cwd" 2>/dev/null)" in
    "$dir"|"$dir"/*) return 0 ;;
  esac
  grep -qF -- "$dir" "/proc/$1/cmdline" 2>/dev/null
}
if [ -n "$conf" ]; then
  "$postfix" -c "$conf" stop >/dev/null 2>&1
fi
for pid in $pids; do
  if ours "$pid"; then kill -TERM "$pid" 2>/dev/null; fi
done
i=0
while [ "$i" -lt 50 ]; do
  alive=
  for pid in $pids; do
    if ours "$pid"; then alive=1; fi
  done
  [ -z "$alive" ] && break
  sleep 0.2
  i=$((i + 1))
done
for pid in $pids; do
  if ours "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
done
# Dovecot's login processes (and their helpers) outlive its master while a
# client holds a connection: end the rest of each watched process group.
group_members() {
  for s in /proc/[0-9]*/stat; do
    read -r line < "$s" 2>/dev/null || continue
    set -- ${line##*")"}
    if [ "$3" = "$g" ] && [ "$1" != Z ]; then
      p=${s#/proc/}
      echo "${p%/stat}"
    fi
  done
}
for g in $groups; do
  for sig in TERM TERM KILL; do
    members=$(group_members)
    [ -z "$members" ] && break
    for m in $members; do
      if ours "$m"; then kill "-$sig" "$m" 2>/dev/null; fi
    done
    sleep 1
  done
done
case $dir in
  */mailwarden-testbed-*) rm -rf -- "$dir" ;;
esac
"#;

/// The watchdog; see the module documentation.
#[derive(Debug)]
pub(crate) struct Reaper {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Reaper {
    /// Starts a reaper responsible for `dir` (which must be a test bed directory).
    pub(crate) fn spawn(dir: &Path, postfix_bin: &Path) -> anyhow::Result<Reaper> {
        let dir_text = dir
            .to_str()
            .context("the test bed directory is not UTF-8")?;
        if !dir_text.contains("/mailwarden-testbed-") {
            bail!("refusing to arm a reaper for {dir_text}: not a test bed directory");
        }
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("mailwarden-testbed-reaper")
            .arg(dir)
            .arg(postfix_bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Out of our process group, so a Ctrl-C of the test run reaches us,
            // not it: it must outlive us to clean up.
            .process_group(0)
            .spawn()
            .context("cannot start the cleanup watchdog (/bin/sh)")?;
        let stdin = child.stdin.take();
        Ok(Reaper { child, stdin })
    }

    /// Asks the reaper to terminate `pid` when we die.
    pub(crate) fn watch_pid(&mut self, pid: u32) -> anyhow::Result<()> {
        self.send(&format!("pid {pid}"))
    }

    /// Asks the reaper to end what is left of process group `pgid` (after
    /// the PIDs) when we die.
    pub(crate) fn watch_group(&mut self, pgid: u32) -> anyhow::Result<()> {
        self.send(&format!("group {pgid}"))
    }

    /// Asks the reaper to run `postfix -c conf_dir stop` when we die.
    pub(crate) fn watch_postfix(&mut self, conf_dir: &Path) -> anyhow::Result<()> {
        self.send(&format!("postfix {}", conf_dir.display()))
    }

    fn send(&mut self, line: &str) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().context("the reaper was disarmed")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .context("the cleanup watchdog died: cannot guarantee cleanup")
    }

    /// Kills the reaper without letting it clean up: the caller does it.
    pub(crate) fn disarm(&mut self) {
        // SIGKILL before closing the pipe, or the reaper would see EOF and act.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdin = None;
    }

    /// The reaper's PID.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.disarm();
        }
    }
}
