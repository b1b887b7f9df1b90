//! Counting each failed login once when servers log it twice.
//!
//! - A Dovecot login process summarizes a session (`auth failed, 3 attempts`,
//!   `session=<S>`); with `auth_verbose` the auth process has already logged
//!   each attempt (`passwd-file(bob,ip,<S>): Password mismatch`). The backend
//!   lines count when they arrive; the summary then counts only the attempts
//!   not yet counted for session S.
//! - Postfix (or Exim) authenticating through Dovecot SASL logs
//!   `SASL LOGIN authentication failed` while Dovecot's auth process logs the
//!   same attempt, without a login session. Such a pair (same address,
//!   compatible user, within [`PAIR_SECS`]) counts once, whichever comes first.

use std::collections::VecDeque;
use std::net::IpAddr;

use crate::event::{AuthVia, Event, EventKind, Server};
use crate::hash::FastMap;
use crate::parse::Bounded;

/// How far apart (seconds) two lines of one attempt may be.
pub const PAIR_SECS: i64 = 10;

#[derive(Debug, Clone)]
struct Recent {
    t: i64,
    user: Option<Box<str>>,
    backend: bool,
    session: bool,
    matched: bool,
}

/// The deduplicating counter.
#[derive(Debug)]
pub struct AttemptCounter {
    recent: FastMap<IpAddr, VecDeque<Recent>>,
    sessions: Bounded<Box<str>, u32>,
    ops: u64,
}

impl Default for AttemptCounter {
    fn default() -> Self {
        AttemptCounter {
            recent: FastMap::default(),
            sessions: Bounded::new(65_536),
            ops: 0,
        }
    }
}

impl AttemptCounter {
    /// How many attempts `event` adds (0 when another line already counted them).
    pub fn count(&mut self, event: &Event, t: i64) -> u32 {
        let EventKind::AuthFailed { attempts, via, .. } = &event.kind else {
            return 0;
        };
        self.ops += 1;
        if self.ops.is_multiple_of(4096) {
            self.recent.retain(|_, list| {
                list.retain(|r| t - r.t <= PAIR_SECS);
                !list.is_empty()
            });
        }
        let user = event.user.as_deref();
        match via {
            AuthVia::Backend => {
                if let Some(ip) = event.source
                    && let Some(r) = self.find(ip, t, user, false)
                {
                    r.matched = true;
                    return 0;
                }
                if let Some(s) = &event.session {
                    let n = self.sessions.get_mut(s).map_or(0, |n| *n);
                    self.sessions.insert(s.clone(), n + 1);
                }
                self.remember(event, t, true);
                1
            }
            AuthVia::Server if event.server == Server::Dovecot => {
                let already = match &event.session {
                    Some(s) => self.sessions.remove(s).unwrap_or(0),
                    None => 0,
                };
                if let Some(ip) = event.source
                    && let Some(list) = self.recent.get_mut(&ip)
                {
                    for r in list.iter_mut().filter(|r| r.backend && r.session) {
                        r.matched = true;
                    }
                }
                attempts.saturating_sub(already)
            }
            AuthVia::Server => {
                if let Some(ip) = event.source
                    && let Some(r) = self.find(ip, t, user, true)
                {
                    r.matched = true;
                    return 0;
                }
                self.remember(event, t, false);
                *attempts
            }
        }
    }

    /// An unmatched recent line of the other kind for the same attempt.
    fn find(
        &mut self,
        ip: IpAddr,
        t: i64,
        user: Option<&str>,
        backend: bool,
    ) -> Option<&mut Recent> {
        let list = self.recent.get_mut(&ip)?;
        list.retain(|r| t - r.t <= PAIR_SECS);
        list.iter_mut().find(|r| {
            r.backend == backend
                && !r.matched
                && (t - r.t).abs() <= PAIR_SECS
                && compatible(r.user.as_deref(), user)
        })
    }

    fn remember(&mut self, event: &Event, t: i64, backend: bool) {
        let Some(ip) = event.source else {
            return;
        };
        let list = self.recent.entry(ip).or_default();
        if list.len() >= 32 {
            list.pop_front();
        }
        list.push_back(Recent {
            t,
            user: event.user.clone(),
            backend,
            session: event.session.is_some(),
            matched: false,
        });
    }
}

/// Same account: equal ignoring case, or one is the other's local part.
fn compatible(a: Option<&str>, b: Option<&str>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return true;
    };
    let local = |s: &str| s.split('@').next().unwrap_or(s).to_ascii_lowercase();
    a.eq_ignore_ascii_case(b) || (!a.contains('@') || !b.contains('@')) && local(a) == local(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_compatible_by_local_part() {
        assert!(compatible(Some("Bob"), Some("bob")));
        assert!(compatible(Some("bob"), Some("bob@example.org")));
        assert!(!compatible(Some("bob@a.example"), Some("bob@b.example")));
        assert!(!compatible(Some("bob"), Some("carol")));
        assert!(compatible(None, Some("carol")));
    }
}
