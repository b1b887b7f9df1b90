//! Bounded sliding windows: the building blocks of per-source state.

use std::collections::VecDeque;

/// Times of the last `cap` occurrences; answers "how many within the window".
#[derive(Debug, Clone, Default)]
pub struct Ring {
    times: VecDeque<i64>,
}

impl Ring {
    /// Records `n` occurrences at `t`, keeping at most `cap`, and returns how
    /// many fall within `window` seconds up to `t`.
    pub fn push(&mut self, t: i64, n: u32, cap: u32, window: u64) -> u32 {
        let cap = cap.max(1) as usize;
        for _ in 0..n.min(cap as u32) {
            self.times.push_back(t);
        }
        while self.times.len() > cap {
            self.times.pop_front();
        }
        self.count(t, window)
    }

    /// Occurrences within `window` seconds up to `t`.
    pub fn count(&mut self, t: i64, window: u64) -> u32 {
        let since = t.saturating_sub(i64::try_from(window).unwrap_or(i64::MAX));
        while self.times.front().is_some_and(|&x| x < since) {
            self.times.pop_front();
        }
        u32::try_from(self.times.len()).unwrap_or(u32::MAX)
    }
}

/// Distinct keys (hashes) seen within a window, each with its last time; at
/// most `cap` kept.
#[derive(Debug, Clone, Default)]
pub struct Distinct {
    items: Vec<(u64, i64)>,
}

impl Distinct {
    /// Records `key` at `t` and returns the number of distinct keys within `window`.
    pub fn insert(&mut self, key: u64, t: i64, cap: u32, window: u64) -> u32 {
        let since = t.saturating_sub(i64::try_from(window).unwrap_or(i64::MAX));
        self.items.retain(|&(_, last)| last >= since);
        match self.items.iter_mut().find(|(k, _)| *k == key) {
            Some(item) => item.1 = t,
            None => {
                if self.items.len() >= cap.max(1) as usize {
                    // Drop the stalest: the count is already at the cap.
                    if let Some(i) = self
                        .items
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, (_, last))| *last)
                        .map(|(i, _)| i)
                    {
                        self.items.swap_remove(i);
                    }
                }
                self.items.push((key, t));
            }
        }
        u32::try_from(self.items.len()).unwrap_or(u32::MAX)
    }
}

/// A small list of distinct names (samples for reports), capped.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    items: Vec<Box<str>>,
    /// How many distinct names were offered (up to the tracking cap).
    pub distinct: u32,
}

impl Samples {
    /// Adds a name if new; keeps at most `cap`.
    pub fn add(&mut self, name: &str, cap: usize) {
        if self.items.iter().any(|i| &**i == name) {
            return;
        }
        self.distinct = self.distinct.saturating_add(1);
        if self.items.len() < cap {
            self.items.push(name.into());
        }
    }

    /// The names kept.
    pub fn items(&self) -> &[Box<str>] {
        &self.items
    }
}

/// A stable 64-bit hash of a string (FNV-1a over the lower-cased bytes).
pub fn hash_name(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_counts_within_the_window_and_is_bounded() {
        let mut r = Ring::default();
        assert_eq!(r.push(0, 1, 3, 10), 1);
        assert_eq!(r.push(5, 1, 3, 10), 2);
        assert_eq!(r.push(20, 1, 3, 10), 1);
        assert_eq!(r.push(21, 5, 3, 10), 3);
        assert_eq!(r.times.len(), 3);
    }

    #[test]
    fn distinct_expires_and_caps() {
        let mut d = Distinct::default();
        assert_eq!(d.insert(1, 0, 4, 10), 1);
        assert_eq!(d.insert(1, 1, 4, 10), 1);
        assert_eq!(d.insert(2, 2, 4, 10), 2);
        assert_eq!(d.insert(3, 30, 4, 10), 1);
        for k in 10..20 {
            d.insert(k, 31, 4, 10);
        }
        assert_eq!(d.items.len(), 4);
    }
}
