//! Turning log timestamps into instants: the year a syslog line leaves out,
//! the time zone a local timestamp is in, and a small cache so that a million
//! lines do not mean a million time zone lookups.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// Per-input clock state. RFC 3164 lines (`Nov 28 01:34:11`) carry no year:
/// the first line takes the year of the reference time (the file's
/// modification time, or now for standard input), or the year before when
/// that would put it more than a day after the reference; a later jump from a
/// late month back to an early one (December to January) moves to the next year.
#[derive(Debug, Clone)]
pub struct Clock {
    tz: TimeZone,
    reference: Timestamp,
    year: Option<i16>,
    last_month: i8,
    cache: Option<(i64, Timestamp)>,
    /// The month of the first syslog line and the year the reference gave it
    /// (what [`Clock::take_over`] checks when an input is read in pieces).
    first: Option<(i8, i16)>,
}

/// The fields of a timestamp as written in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year, when written.
    pub year: Option<i16>,
    /// 1–12.
    pub month: i8,
    /// 1–31.
    pub day: i8,
    /// 0–23.
    pub hour: i8,
    /// 0–59.
    pub minute: i8,
    /// 0–60.
    pub second: i8,
    /// Fraction of the second.
    pub nanos: i32,
    /// UTC offset in seconds, when written.
    pub offset: Option<i32>,
}

impl Clock {
    /// A clock for local timestamps in `tz`, inferring years from `reference`.
    pub fn new(tz: TimeZone, reference: Timestamp) -> Clock {
        Clock {
            tz,
            reference,
            year: None,
            last_month: 0,
            cache: None,
            first: None,
        }
    }

    /// A clock like this one that has read nothing yet (for a piece of an
    /// input read on another thread).
    pub(crate) fn fresh(&self) -> Clock {
        Clock::new(self.tz.clone(), self.reference)
    }

    /// Continues after `piece`, a [`Clock::fresh`] clock that read the lines
    /// following this clock's: true when every year it gave is the one this
    /// clock would have given (it then takes over the piece's state), false
    /// when the piece must be read again after this clock's lines.
    ///
    /// The piece inferred its first syslog year from the reference; this
    /// clock would have carried its own year on (plus one across December
    /// to January). After that first line both clocks are in the same state.
    pub(crate) fn take_over(&mut self, piece: &Clock) -> bool {
        let Some((month, year)) = piece.first else {
            // No syslog date in the piece: nothing depended on the year.
            return true;
        };
        if let Some(carried) = self.year {
            let expected = if self.last_month >= 10 && month <= 3 {
                carried.saturating_add(1)
            } else {
                carried
            };
            if expected != year {
                return false;
            }
        }
        self.year = piece.year;
        self.last_month = piece.last_month;
        true
    }

    /// The instant of a written timestamp, or `None` when it is not a valid date.
    pub fn resolve(&mut self, c: Civil) -> Option<Timestamp> {
        let year = match c.year {
            Some(y) => y,
            None => self.infer_year(c.month, c.day)?,
        };
        let (h, m, s) = (c.hour, c.minute, c.second.min(59));
        if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..=59).contains(&s) {
            return None;
        }
        let base = match c.offset {
            Some(offset) => {
                let offset = Offset::from_seconds(offset).ok()?;
                let dt = DateTime::new(year, c.month, c.day, h, 0, 0, 0).ok()?;
                offset.to_timestamp(dt).ok()?
            }
            None => self.hour_start(year, c.month, c.day, h)?,
        };
        // Plain seconds: cheaper than adding a duration, the same instant.
        let secs = base.as_second() + i64::from(m) * 60 + i64::from(s);
        Timestamp::new(secs, c.nanos.clamp(0, 999_999_999)).ok()
    }

    fn hour_start(&mut self, year: i16, month: i8, day: i8, hour: i8) -> Option<Timestamp> {
        let key = ((i64::from(year) * 16 + i64::from(month)) * 32 + i64::from(day)) * 32
            + i64::from(hour);
        if let Some((k, ts)) = self.cache
            && k == key
        {
            return Some(ts);
        }
        let dt = DateTime::new(year, month, day, hour, 0, 0, 0).ok()?;
        let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        self.cache = Some((key, ts));
        Some(ts)
    }

    fn infer_year(&mut self, month: i8, day: i8) -> Option<i16> {
        if !(1..=12).contains(&month) {
            return None;
        }
        let year = match self.year {
            None => {
                let reference = self.reference.to_zoned(self.tz.clone());
                let mut year = reference.year();
                let ahead = jiff::civil::Date::new(year, month, day.clamp(1, 28))
                    .ok()
                    .map(|d| d > reference.date().saturating_add(jiff::Span::new().days(1)));
                if ahead == Some(true) {
                    year -= 1;
                }
                self.first = Some((month, year));
                year
            }
            Some(year) if self.last_month >= 10 && month <= 3 => year.saturating_add(1),
            Some(year) => year,
        };
        self.year = Some(year);
        self.last_month = month;
        Some(year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc_clock(reference: &str) -> Clock {
        Clock::new(TimeZone::UTC, reference.parse().unwrap())
    }

    fn syslog(month: i8, day: i8) -> Civil {
        Civil {
            year: None,
            month,
            day,
            hour: 10,
            minute: 30,
            second: 5,
            nanos: 0,
            offset: None,
        }
    }

    #[test]
    fn year_comes_from_the_reference() {
        let mut c = utc_clock("2026-11-28T12:00:00Z");
        let t = c.resolve(syslog(11, 28)).unwrap();
        assert_eq!(t.to_string(), "2026-11-28T10:30:05Z");
    }

    #[test]
    fn december_lines_read_in_january_are_last_year_and_roll_over() {
        let mut c = utc_clock("2027-01-02T00:00:00Z");
        assert_eq!(
            c.resolve(syslog(12, 31)).unwrap().to_string(),
            "2026-12-31T10:30:05Z"
        );
        assert_eq!(
            c.resolve(syslog(1, 1)).unwrap().to_string(),
            "2027-01-01T10:30:05Z"
        );
    }

    #[test]
    fn invalid_dates_are_none() {
        let mut c = utc_clock("2026-11-28T12:00:00Z");
        assert_eq!(c.resolve(syslog(13, 1)), None);
        assert_eq!(c.resolve(syslog(2, 30)), None);
        let mut bad = syslog(11, 1);
        bad.hour = 24;
        assert_eq!(c.resolve(bad), None);
    }

    #[test]
    fn explicit_offsets_are_honoured() {
        let mut c = utc_clock("2026-11-28T12:00:00Z");
        let mut t = syslog(11, 28);
        t.year = Some(2026);
        t.offset = Some(3600);
        assert_eq!(c.resolve(t).unwrap().to_string(), "2026-11-28T09:30:05Z");
    }
}
