//! A fast keyed hasher for the analyzer's maps (addresses, session ids,
//! queue ids): SipHash costs more than the parsing it serves. Keyed with
//! `std`'s random state, so crafted addresses cannot aim for collisions.

use std::hash::{BuildHasher, Hasher};

/// Builds [`FastHasher`]s sharing one random key per process.
#[derive(Debug, Clone, Copy)]
pub struct FastState(u64);

impl Default for FastState {
    fn default() -> Self {
        static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        FastState(
            *KEY.get_or_init(|| {
                std::collections::hash_map::RandomState::new().hash_one(0x6d77u64) | 1
            }),
        )
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.0)
    }
}

/// Multiply-rotate mixing (in the style of FxHash/foldhash), seeded.
#[derive(Debug, Clone, Copy)]
pub struct FastHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            self.write_u64(u64::from_le_bytes(*word));
            rest = tail;
        }
        // The last 0-7 bytes in two overlapping loads, not a copy of unknown
        // length (which cost a `memcpy` call for every short key).
        let n = rest.len();
        let tail = if n >= 4 {
            let lo = rest
                .first_chunk::<4>()
                .map_or(0, |w| u32::from_le_bytes(*w));
            let hi = rest.last_chunk::<4>().map_or(0, |w| u32::from_le_bytes(*w));
            u64::from(lo) | u64::from(hi) << 32
        } else if n > 0 {
            let at = |i: usize| u64::from(rest.get(i).copied().unwrap_or(0));
            at(0) | at(n / 2) << 8 | at(n - 1) << 16
        } else {
            0
        };
        self.write_u64(tail ^ (n as u64) << 59);
    }

    fn write_u64(&mut self, n: u64) {
        let m = u128::from(self.0 ^ n) * u128::from(K);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// A `HashMap` with [`FastState`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastState>;
