//! Postfix program names (`postfix/submission/smtpd`): the service, its
//! port and the daemon they name, looked up once per distinct name.

use std::sync::Arc;

/// (service, daemon) from `postfix/submission/smtpd`: the daemon is the last
/// component; the service is the middle one, or `smtp` for a plain smtpd/postscreen.
fn names(program: &[u8]) -> (&[u8], &[u8]) {
    let mut parts = program.rsplitn(2, |&b| b == b'/');
    let daemon = parts.next().unwrap_or_default();
    let prefix = parts.next().unwrap_or_default();
    let service = match memchr::memchr(b'/', prefix) {
        Some(i) => prefix.get(i + 1..).unwrap_or_default(),
        None => match daemon {
            b"smtpd" | b"postscreen" => b"smtp",
            other => other,
        },
    };
    (service, daemon)
}

/// What a program name tells, worked out once per distinct name (a log
/// has a handful): its service and port, its daemon, and its part of the
/// session key. Splitting the name, interning the service and hashing the
/// key for every line cost more than the rest of reading many of them.
#[derive(Debug)]
struct Program {
    name: Box<[u8]>,
    service: Arc<str>,
    port: Option<u16>,
    daemon: Daemon,
    hash: u64,
}

/// What a line's daemon decides about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Daemon {
    Smtpd,
    Postscreen,
    Anvil,
    Qmgr,
    /// cleanup, pickup, delivery agents...
    Other,
}

/// A program's facts for one line: the session key mixes in the host.
pub(super) struct Known<'a> {
    pub(super) service: &'a Arc<str>,
    pub(super) port: Option<u16>,
    pub(super) daemon: Daemon,
    pub(super) key: u64,
}

#[derive(Debug, Default)]
pub(super) struct Programs {
    items: Vec<Program>,
    /// Where the last lookup hit (lines of one program come in runs).
    last: usize,
    /// The last host and its hash.
    host: Option<(Box<[u8]>, u64)>,
    /// What an empty name tells (never looked up: `items` has what `get` returns).
    none: Program,
}

impl Programs {
    /// Names kept; past this many, the last place is reused.
    const CAP: usize = 64;

    pub(super) fn get(&mut self, host: &[u8], name: &[u8]) -> Known<'_> {
        let host_hash = match &self.host {
            Some((h, hash)) if same(h, host) => *hash,
            _ => {
                let hash = hash_bytes(host);
                self.host = Some((host.into(), hash));
                hash
            }
        };
        let hit = match self.items.get(self.last) {
            Some(p) if same(&p.name, name) => Some(self.last),
            _ => self.items.iter().position(|p| same(&p.name, name)),
        };
        let at = match hit {
            Some(i) => i,
            None if self.items.len() < Self::CAP => {
                self.items.push(Program::new(name));
                self.items.len() - 1
            }
            None => {
                let i = Self::CAP - 1;
                if let Some(slot) = self.items.get_mut(i) {
                    *slot = Program::new(name);
                }
                i
            }
        };
        self.last = at;
        let p = self.items.get(at).unwrap_or(&self.none);
        Known {
            service: &p.service,
            port: p.port,
            daemon: p.daemon,
            key: (host_hash ^ p.hash.rotate_left(23)).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
    }
}

impl Default for Program {
    fn default() -> Self {
        Program::new(b"")
    }
}

impl Program {
    fn new(name: &[u8]) -> Program {
        let (service, daemon) = names(name);
        let service: Arc<str> = String::from_utf8_lossy(service).into();
        Program {
            name: name.into(),
            port: crate::event::standard_port(&service),
            service,
            daemon: match daemon {
                b"smtpd" => Daemon::Smtpd,
                b"postscreen" => Daemon::Postscreen,
                b"anvil" => Daemon::Anvil,
                b"qmgr" => Daemon::Qmgr,
                _ => Daemon::Other,
            },
            hash: hash_bytes(name),
        }
    }
}

/// Slice equality for short names, word by word: `==` calls `memcmp`,
/// whose call costs more than comparing a 20-byte program name.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a, b);
    while let (Some((x, ra)), Some((y, rb))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if x != y {
            return false;
        }
        (a, b) = (ra, rb);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

fn hash_bytes(b: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    crate::hash::FastState::default().hash_one(b)
}
