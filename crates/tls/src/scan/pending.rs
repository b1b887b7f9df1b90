//! The suites a legacy task still has to ask about, as a queue of groups.
//!
//! Normally there is one group: everything not chosen yet, offered in one
//! hello. A refusal then means "nothing else". But some refusals are
//! ambiguous — a close without an alert, `internal_error`, `decode_error`:
//! the server may have *chosen* a suite it cannot complete (Dovecot
//! without `ssl_dh` picks a DHE suite, then fails for want of DH
//! parameters) or choked on a long list. Then, once, the remaining suites
//! are split by key-exchange family (ECDHE, DHE, RSA, the rest) in chunks
//! of at most the bundle size, and each group is asked on its own, so that
//! one broken family cannot hide the others.

use std::collections::VecDeque;

use crate::registry::{Authentication, KeyExchange, suite};

/// A queue of suite groups to offer, front first.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    groups: VecDeque<Vec<u16>>,
    split: bool,
    chunk: usize,
}

impl Pending {
    /// All of `suites` in one group; `chunk` bounds the groups of a split.
    pub(crate) fn new(suites: Vec<u16>, chunk: usize) -> Self {
        let mut groups = VecDeque::new();
        if !suites.is_empty() {
            groups.push_back(suites);
        }
        Pending {
            groups,
            split: false,
            chunk: chunk.max(1),
        }
    }

    /// The group to offer next, if any.
    pub(crate) fn current(&self) -> Option<&[u16]> {
        self.groups.front().map(Vec::as_slice)
    }

    /// True when nothing is left to ask.
    pub(crate) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// True once the suites were split by family.
    pub(crate) fn was_split(&self) -> bool {
        self.split
    }

    /// Splits the one group left into lanes (key-exchange and
    /// authentication families, see [`lanes`]): keeps the first, returns
    /// the others. Nothing happens after a split by family, or when there
    /// is not exactly one group.
    pub(crate) fn split_lanes(&mut self) -> Vec<Vec<u16>> {
        if self.split || self.groups.len() != 1 {
            return Vec::new();
        }
        let Some(group) = self.groups.pop_front() else {
            return Vec::new();
        };
        let mut lanes = lanes(&group).into_iter();
        if let Some(first) = lanes.next() {
            self.groups.push_back(first);
        }
        lanes.collect()
    }

    /// The server chose `code`: it is settled.
    pub(crate) fn chose(&mut self, code: u16) {
        for g in &mut self.groups {
            g.retain(|&c| c != code);
        }
        self.groups.retain(|g| !g.is_empty());
    }

    /// The current group was refused. An `ambiguous` refusal of a group
    /// that may hide others splits everything left by family (once);
    /// otherwise the group is settled. Returns true when it split.
    pub(crate) fn refused(&mut self, ambiguous: bool) -> bool {
        let rest: Vec<u16> = self.groups.iter().flatten().copied().collect();
        if ambiguous
            && !self.split
            && families(&rest).len() + usize::from(rest.len() > self.chunk) > 1
        {
            self.split = true;
            self.groups = families(&rest)
                .into_iter()
                .flat_map(|f| {
                    f.chunks(self.chunk)
                        .map(<[u16]>::to_vec)
                        .collect::<Vec<_>>()
                })
                .collect();
            return true;
        }
        self.groups.pop_front();
        false
    }
}

/// `suites` in lanes, order kept: ECDHE with ECDSA, ECDHE with RSA, DHE,
/// RSA, the rest (anonymous, PSK, static DH, ...). Each lane lies within
/// one family of [`families`], so an ambiguous refusal in a lane never
/// splits it again.
fn lanes(suites: &[u16]) -> Vec<Vec<u16>> {
    let lane = |code: u16| match suite(code).map(|s| (s.kx, s.auth)) {
        Some((KeyExchange::Ecdhe, Authentication::Ecdsa)) => 0,
        Some((KeyExchange::Ecdhe, _)) => 1,
        Some((KeyExchange::Dhe, _)) => 2,
        Some((KeyExchange::Rsa, _)) => 3,
        _ => 4,
    };
    let mut out: Vec<Vec<u16>> = vec![Vec::new(); 5];
    for &c in suites {
        if let Some(group) = out.get_mut(lane(c)) {
            group.push(c);
        }
    }
    out.retain(|g| !g.is_empty());
    out
}

/// `suites` by key-exchange family, order kept: ECDHE, DHE, RSA, the rest.
fn families(suites: &[u16]) -> Vec<Vec<u16>> {
    let family = |code: u16| match suite(code).map(|s| s.kx) {
        Some(KeyExchange::Ecdhe) => 0,
        Some(KeyExchange::Dhe) => 1,
        Some(KeyExchange::Rsa) => 2,
        _ => 3,
    };
    let mut out: Vec<Vec<u16>> = vec![Vec::new(); 4];
    for &c in suites {
        if let Some(group) = out.get_mut(family(c)) {
            group.push(c);
        }
    }
    out.retain(|g| !g.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_refusal_settles_the_group() {
        let mut p = Pending::new(vec![0xc02f, 0x009e, 0x002f], 128);
        p.chose(0xc02f);
        assert_eq!(p.current(), Some(&[0x009e, 0x002f][..]));
        assert!(!p.refused(false));
        assert!(p.is_empty());
    }

    #[test]
    fn an_ambiguous_refusal_splits_by_family_once() {
        let mut p = Pending::new(vec![0xc02f, 0x009e, 0x002f, 0x0034, 0xc030], 128);
        p.chose(0xc02f);
        assert!(p.refused(true));
        assert!(p.was_split());
        assert_eq!(p.current(), Some(&[0xc030][..]));
        assert!(!p.refused(true), "only once");
        assert_eq!(p.current(), Some(&[0x009e][..]));
        assert!(!p.refused(true));
        assert_eq!(p.current(), Some(&[0x002f][..]));
        assert!(!p.refused(true));
        assert_eq!(p.current(), Some(&[0x0034][..]));
        assert!(!p.refused(false));
        assert!(p.is_empty());
    }

    #[test]
    fn long_families_are_chunked() {
        let all = crate::scan::legacy_candidates();
        let mut p = Pending::new(all.clone(), 64);
        assert!(p.refused(true));
        let mut seen = Vec::new();
        while let Some(g) = p.current() {
            assert!(g.len() <= 64);
            seen.extend_from_slice(g);
            p.refused(false);
        }
        seen.sort_unstable();
        let mut all = all;
        all.sort_unstable();
        assert_eq!(seen, all);
    }

    #[test]
    fn one_family_that_fits_is_not_split() {
        let mut p = Pending::new(vec![0xc02f, 0xc030], 128);
        assert!(!p.refused(true));
        assert!(p.is_empty());
    }
}
