//! Timestamps as log lines write them, taken apart without allocation:
//! RFC 3164 (`Nov 28 01:34:11`), RFC 3339 and Exim's ISO form, TAI64N. The
//! [`Civil`] fields go to the [`crate::clock::Clock`], which knows the year
//! and zone they leave out.

use jiff::Timestamp;

use crate::clock::Civil;

/// 1-12 for an English month abbreviation (a match, not a search of a
/// table: this runs for every syslog line).
fn month(name: &[u8; 3]) -> Option<i8> {
    Some(match name {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// daemontools/s6 `@4000000063b1f2a50a1b2c3d ` (TAI64N) stamps.
pub(crate) fn tai64n(s: &[u8]) -> Option<(Timestamp, &[u8])> {
    let hex = s.strip_prefix(b"@")?.get(..24)?;
    let secs = u64::from_str_radix(std::str::from_utf8(hex.get(..16)?).ok()?, 16).ok()?;
    let nanos = u32::from_str_radix(std::str::from_utf8(hex.get(16..)?).ok()?, 16).ok()?;
    // TAI64 labels start at 2^62; TAI was 10 s ahead of UTC in 1972 (leap seconds since are ignored).
    let unix = i64::try_from(secs.checked_sub(1 << 62)?)
        .ok()?
        .checked_sub(10)?;
    let time = Timestamp::new(unix, i32::try_from(nanos).ok()?).ok()?;
    let rest = s.get(25..)?;
    Some((time, rest))
}

fn two(s: &[u8], at: usize) -> Option<i8> {
    let a = *s.get(at)?;
    let b = *s.get(at + 1)?;
    if !a.is_ascii_digit() || !b.is_ascii_digit() {
        return None;
    }
    i8::try_from((a - b'0') * 10 + (b - b'0')).ok()
}

/// `HH:MM:SS` at `at`, then an optional fraction: the fields and the index after them.
fn clock_time(s: &[u8], at: usize) -> Option<(i8, i8, i8, i32, usize)> {
    let hour = two(s, at)?;
    let minute = two(s, at + 3)?;
    let second = two(s, at + 6)?;
    if s.get(at + 2) != Some(&b':') || s.get(at + 5) != Some(&b':') {
        return None;
    }
    let mut i = at + 8;
    let mut nanos = 0i32;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let mut scale = 100_000_000i32;
        while let Some(&d) = s.get(i).filter(|d| d.is_ascii_digit()) {
            nanos += i32::from(d - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    Some((hour, minute, second, nanos, i))
}

/// `Nov 28 01:34:11` (day may be space-padded), optional fraction.
pub(crate) fn bsd_time(s: &[u8]) -> Option<(Civil, &[u8])> {
    // Nearly every line: `Mmm dd hh:mm:ss ` at fixed places, read in one go.
    if let Some(
        &[
            m0,
            m1,
            m2,
            b' ',
            d0,
            d1,
            b' ',
            h0,
            h1,
            b':',
            i0,
            i1,
            b':',
            s0,
            s1,
            b' ',
        ],
    ) = s.first_chunk::<16>()
    {
        let digit = |b: u8| b.wrapping_sub(b'0');
        let pair = |a: u8, b: u8| {
            (digit(a) < 10 && digit(b) < 10).then(|| (digit(a) * 10 + digit(b)) as i8)
        };
        let day = if d0 == b' ' {
            pair(b'0', d1)
        } else {
            pair(d0, d1)
        };
        if let (Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            month(&[m0, m1, m2]),
            day,
            pair(h0, h1),
            pair(i0, i1),
            pair(s0, s1),
        ) {
            let civil = Civil {
                year: None,
                month,
                day,
                hour,
                minute,
                second,
                nanos: 0,
                offset: None,
            };
            return Some((civil, s.get(16..).unwrap_or_default()));
        }
    }
    let month = month(s.first_chunk::<3>()?)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let (day, at) = match (s.get(4), s.get(5)) {
        (Some(b' '), Some(d)) if d.is_ascii_digit() => (i8::try_from(d - b'0').ok()?, 7),
        (Some(d), Some(b' ')) if d.is_ascii_digit() => (i8::try_from(d - b'0').ok()?, 6),
        _ => (two(s, 4)?, 7),
    };
    let (hour, minute, second, nanos, end) = clock_time(s, at)?;
    let rest = s.get(end..)?.strip_prefix(b" ")?;
    let civil = Civil {
        year: None,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset: None,
    };
    Some((civil, rest))
}

/// `2026-11-28T01:34:11[.frac][Z|±hh:mm]` or `2026-11-28 01:34:11[.frac][ ±hhmm]`.
pub(crate) fn iso_time(s: &[u8]) -> Option<(Civil, &[u8])> {
    let year = i16::from(two(s, 0)?) * 100 + i16::from(two(s, 2)?);
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || !matches!(s.get(10), Some(b'T' | b' '))
    {
        return None;
    }
    let month = two(s, 5)?;
    let day = two(s, 8)?;
    let (hour, minute, second, nanos, mut i) = clock_time(s, 11)?;
    let mut offset = None;
    match s.get(i) {
        Some(b'Z') => {
            offset = Some(0);
            i += 1;
        }
        Some(&sign @ (b'+' | b'-')) => {
            let h = i32::from(two(s, i + 1)?);
            let colon = usize::from(s.get(i + 3) == Some(&b':'));
            let m = i32::from(two(s, i + 3 + colon)?);
            offset = Some(if sign == b'-' { -1 } else { 1 } * (h * 3600 + m * 60));
            i += 5 + colon;
        }
        // Exim's log_timezone: a space, then +hhmm.
        Some(b' ') if matches!(s.get(i + 1), Some(b'+' | b'-')) && two(s, i + 2).is_some() => {
            let sign = if s.get(i + 1) == Some(&b'-') { -1 } else { 1 };
            let h = i32::from(two(s, i + 2)?);
            let m = i32::from(two(s, i + 4)?);
            offset = Some(sign * (h * 3600 + m * 60));
            i += 6;
        }
        _ => {}
    }
    let rest = match s.get(i..)? {
        [] => &[][..],
        [b' ', rest @ ..] => rest,
        _ => return None,
    };
    let civil = Civil {
        year: Some(year),
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset,
    };
    Some((civil, rest))
}
