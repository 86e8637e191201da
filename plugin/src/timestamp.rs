//! Points in time as the event carries them: UTC, nanosecond precision, RFC 3339 out.
//! Civil-date arithmetic is done by hand (no chrono) to keep the module small and fast.

use std::cell::Cell;

/// A point in time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

/// A civil (proleptic Gregorian) date and time in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

const SECS_PER_DAY: i64 = 86_400;

thread_local! {
    /// The last second `write_rfc3339` wrote (years 0..=9999 only) and its
    /// `YYYY-MM-DDTHH:MM:SS`.
    static LAST_SECOND: Cell<(i64, [u8; 19])> = const { Cell::new((i64::MIN, [0; 19])) };
    /// The last valid date `from_civil` read and its days since 1970-01-01 (a valid date
    /// from the start, so that an invalid one is never taken for it).
    static LAST_DATE: Cell<(i32, u32, u32, i64)> = const { Cell::new((1970, 1, 1, 0)) };
}

impl Timestamp {
    pub fn new(secs: i64, nanos: u32) -> Self {
        Self { secs, nanos }
    }

    /// From milliseconds since the epoch (JSON `ts` fields, pino, Java `Instant` millis).
    pub fn from_unix_millis(millis: i64) -> Self {
        Self {
            secs: millis.div_euclid(1000),
            nanos: (millis.rem_euclid(1000) * 1_000_000) as u32,
        }
    }

    /// From a civil date and time with a UTC offset in seconds (east positive).
    /// `None` when a field is out of range. A leap second (`:60`) is folded into the
    /// next second, as RFC 3339 readers commonly do.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn from_civil(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nanos: u32,
        offset_secs: i32,
    ) -> Option<Self> {
        if hour > 23
            || minute > 59
            || second > 60
            || nanos > 999_999_999
            || offset_secs.unsigned_abs() >= 24 * 3600
        {
            return None;
        }
        // Consecutive lines mostly carry one date: the last valid one's day count is kept.
        let (y, m, d, last_days) = LAST_DATE.with(Cell::get);
        let days = if (y, m, d) == (year, month, day) {
            last_days
        } else {
            days_of_date(year, month, day)?
        };
        let secs = days * SECS_PER_DAY
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second)
            - i64::from(offset_secs);
        Some(Self { secs, nanos })
    }

    /// The civil date and time (UTC) of this instant.
    pub fn to_civil(&self) -> Civil {
        let days = self.secs.div_euclid(SECS_PER_DAY);
        let rem = self.secs.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            nanos: self.nanos,
        }
    }

    /// The civil year (UTC) of this instant, for headers that omit the year (syslog).
    pub fn year(&self) -> i32 {
        self.to_civil().year
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (fraction trimmed to ms, µs or ns).
    #[inline(always)]
    pub fn write_rfc3339(&self, out: &mut String) {
        // The whole text is laid out in one buffer and appended once: a `String::push`
        // per character is a capacity check and a UTF-8 encode each.
        let mut buf = *b"0000-00-00T00:00:00.000000000Z";
        // Consecutive events mostly fall in the same second: its text is kept, which
        // saves the civil-date arithmetic and twelve digits.
        let (last_secs, last_text) = LAST_SECOND.with(Cell::get);
        let from = if last_secs == self.secs {
            buf[..19].copy_from_slice(&last_text);
            0
        } else {
            let c = self.to_civil();
            // Years outside 0..=9999 are not RFC 3339; they only come from absurd epoch
            // numbers, so write them plainly rather than wrap.
            let from = if (0..=9999).contains(&c.year) {
                put_digits(&mut buf[..4], c.year as u32);
                0
            } else {
                out.push_str(&c.year.to_string());
                4
            };
            put_digits(&mut buf[5..7], c.month);
            put_digits(&mut buf[8..10], c.day);
            put_digits(&mut buf[11..13], c.hour);
            put_digits(&mut buf[14..16], c.minute);
            put_digits(&mut buf[17..19], c.second);
            if from == 0 {
                let mut text = [0u8; 19];
                text.copy_from_slice(&buf[..19]);
                LAST_SECOND.with(|last| last.set((self.secs, text)));
            }
            from
        };
        let nanos = self.nanos;
        let len = if nanos == 0 {
            19
        } else if nanos % 1_000_000 == 0 {
            put_digits(&mut buf[20..23], nanos / 1_000_000);
            23
        } else if nanos % 1_000 == 0 {
            put_digits(&mut buf[20..26], nanos / 1_000);
            26
        } else {
            put_digits(&mut buf[20..29], nanos);
            29
        };
        buf[len] = b'Z';
        // SAFETY: `buf` starts as ASCII and is written with `put_digits`' digits, `Z` and
        // `LAST_SECOND`'s text, itself an earlier `buf`'s first 19 bytes: all ASCII.
        out.push_str(unsafe { crate::bytes::ascii_unchecked(&buf[from..=len]) });
    }

    /// This instant as an RFC 3339 string (see `write_rfc3339`).
    pub fn to_rfc3339(&self) -> String {
        let mut out = String::with_capacity(30);
        self.write_rfc3339(&mut out);
        out
    }
}

/// Writes `value`'s last `slot.len()` decimal digits into `slot`, two per step from a
/// table of the pairs `00`..`99`.
fn put_digits(slot: &mut [u8], mut value: u32) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut end = slot.len();
    while end >= 2 {
        let pair = (value % 100) as usize * 2;
        slot[end - 2..end].copy_from_slice(&PAIRS[pair..pair + 2]);
        value /= 100;
        end -= 2;
    }
    if end == 1 {
        slot[0] = b'0' + (value % 10) as u8;
    }
}

/// `from_civil`'s days since 1970-01-01 of a date other than the last valid one, which it
/// becomes; `None` for an invalid date. Out of line: `from_civil` is inlined where the
/// usual headers are read, and in the interpreter this arithmetic's constants would be
/// copied into that frame for every line.
#[inline(never)]
fn days_of_date(year: i32, month: u32, day: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    LAST_DATE.with(|last| last.set((year, month, day, days)));
    Some(days)
}

pub fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`): eras of
/// 400 years have a fixed length, and counting years from March puts the leap day last.
#[inline(always)]
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of `days_from_civil`.
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        month,
        day,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc(t: Timestamp) -> String {
        t.to_rfc3339()
    }

    #[test]
    fn known_instants() {
        let t = Timestamp::from_civil(1970, 1, 1, 0, 0, 0, 0, 0).unwrap();
        assert_eq!(t, Timestamp::new(0, 0));
        // `date -u -d 2026-11-20T13:10:00Z +%s` = 1795180200
        let t = Timestamp::from_civil(2026, 11, 20, 13, 10, 0, 0, 0).unwrap();
        assert_eq!(t.secs, 1_795_180_200);
        // 2000-02-29 is a leap day (divisible by 400): 951782400
        let t = Timestamp::from_civil(2000, 2, 29, 0, 0, 0, 0, 0).unwrap();
        assert_eq!(t.secs, 951_782_400);
        // Before the epoch: 1969-12-31T23:59:59Z = -1
        let t = Timestamp::from_civil(1969, 12, 31, 23, 59, 59, 0, 0).unwrap();
        assert_eq!(t.secs, -1);
        // 2038-01-19T03:14:08Z = 2^31
        let t = Timestamp::from_civil(2038, 1, 19, 3, 14, 8, 0, 0).unwrap();
        assert_eq!(t.secs, 1 << 31);
    }

    #[test]
    fn offsets_shift_to_utc() {
        let utc = Timestamp::from_civil(2026, 11, 20, 11, 10, 0, 0, 0).unwrap();
        let plus2 = Timestamp::from_civil(2026, 11, 20, 13, 10, 0, 0, 2 * 3600).unwrap();
        let minus5 = Timestamp::from_civil(2026, 11, 20, 6, 10, 0, 0, -5 * 3600).unwrap();
        assert_eq!(plus2, utc);
        assert_eq!(minus5, utc);
        let across_midnight = Timestamp::from_civil(2027, 1, 1, 1, 0, 0, 0, 3 * 3600).unwrap();
        assert_eq!(rfc(across_midnight), "2026-12-31T22:00:00Z");
    }

    #[test]
    fn rejects_out_of_range_fields() {
        assert!(Timestamp::from_civil(2026, 2, 29, 0, 0, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2024, 2, 29, 0, 0, 0, 0, 0).is_some());
        assert!(Timestamp::from_civil(1900, 2, 29, 0, 0, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2026, 4, 31, 0, 0, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2026, 13, 1, 0, 0, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2026, 0, 1, 0, 0, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2026, 1, 0, 0, 0, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2026, 1, 1, 24, 0, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2026, 1, 1, 0, 60, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2026, 1, 1, 0, 0, 61, 0, 0).is_none());
        assert!(Timestamp::from_civil(2026, 1, 1, 0, 0, 0, 1_000_000_000, 0).is_none());
        assert!(Timestamp::from_civil(2026, 1, 1, 0, 0, 0, 0, 24 * 3600).is_none());
    }

    #[test]
    fn the_remembered_date_never_answers_for_another() {
        // Dates asked twice in a row and between others, invalid ones first and right after
        // valid ones (the memo of the last date is this thread's, fresh in each test).
        for (y, m, d) in [
            (0, 0, 0),
            (1970, 0, 1),
            (2026, 11, 20),
            (2026, 11, 20),
            (2026, 11, 21),
            (2026, 2, 29),
            (2026, 11, 20),
            (1970, 1, 1),
            (2026, 0, 20),
            (2024, 2, 29),
            (2024, 2, 29),
            (2025, 2, 29),
            (2026, 11, 0),
        ] {
            let got = Timestamp::from_civil(y, m, d, 1, 2, 3, 0, 0);
            let valid = (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m);
            let want =
                valid.then(|| Timestamp::new(days_from_civil(y, m, d) * SECS_PER_DAY + 3723, 0));
            assert_eq!(got, want, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn leap_second_folds_into_the_next_minute() {
        let t = Timestamp::from_civil(2016, 12, 31, 23, 59, 60, 0, 0).unwrap();
        assert_eq!(rfc(t), "2017-01-01T00:00:00Z");
    }

    #[test]
    fn rfc3339_trims_the_fraction_to_3_6_or_9_digits() {
        let base = Timestamp::from_civil(2026, 11, 20, 13, 10, 0, 0, 0)
            .unwrap()
            .secs;
        assert_eq!(rfc(Timestamp::new(base, 0)), "2026-11-20T13:10:00Z");
        assert_eq!(
            rfc(Timestamp::new(base, 123_000_000)),
            "2026-11-20T13:10:00.123Z"
        );
        assert_eq!(
            rfc(Timestamp::new(base, 100_000_000)),
            "2026-11-20T13:10:00.100Z"
        );
        assert_eq!(
            rfc(Timestamp::new(base, 123_456_000)),
            "2026-11-20T13:10:00.123456Z"
        );
        assert_eq!(
            rfc(Timestamp::new(base, 1)),
            "2026-11-20T13:10:00.000000001Z"
        );
        let mut out = String::from("t=");
        Timestamp::new(-1, 0).write_rfc3339(&mut out);
        assert_eq!(out, "t=1969-12-31T23:59:59Z");
    }

    #[test]
    fn rfc3339_agrees_with_formatted_civil_fields() {
        let mut secs: i64 = -62_167_219_200; // 0000-01-01
        while secs < 253_402_300_800 {
            // 9999-12-31 and below; nanos of every kind of trimming.
            for nanos in [0, 7_000_000, 120_000, 999_999_999, 5] {
                let t = Timestamp::new(secs, nanos);
                let c = t.to_civil();
                let fraction = match nanos {
                    0 => String::new(),
                    n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
                    n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
                    n => format!(".{n:09}"),
                };
                let expected = format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
                    c.year, c.month, c.day, c.hour, c.minute, c.second
                );
                assert_eq!(rfc(t), expected);
            }
            secs += 86_400 * 97 + 3_671;
        }
    }

    #[test]
    fn rfc3339_text_of_the_last_second_is_never_reused_for_another() {
        // Alternating seconds, sub-second steps within one, and a year RFC 3339 cannot
        // hold in between: each text must be the one of its own instant.
        let a = Timestamp::new(1_795_180_200, 0); // 2026-11-20T13:10:00Z
        let b = Timestamp::new(1_795_180_201, 5_000_000);
        let far = Timestamp::new(400_000_000_000, 0);
        assert_eq!(rfc(a), "2026-11-20T13:10:00Z");
        assert_eq!(rfc(b), "2026-11-20T13:10:01.005Z");
        assert_eq!(
            rfc(Timestamp::new(a.secs, 1_000)),
            "2026-11-20T13:10:00.000001Z"
        );
        assert!(rfc(far).starts_with("14645-"), "{}", rfc(far));
        assert_eq!(rfc(b), "2026-11-20T13:10:01.005Z");
        assert!(rfc(far).starts_with("14645-"));
        assert_eq!(rfc(a), "2026-11-20T13:10:00Z");
    }

    #[test]
    fn from_unix_millis_handles_negative_values() {
        assert_eq!(
            Timestamp::from_unix_millis(1_500),
            Timestamp::new(1, 500_000_000)
        );
        assert_eq!(
            Timestamp::from_unix_millis(-1),
            Timestamp::new(-1, 999_000_000)
        );
    }

    #[test]
    fn civil_round_trip_over_four_centuries() {
        // Every day from 1800 to 2400 (both leap rules) survives days -> civil -> days.
        let start = days_from_civil(1800, 1, 1);
        let end = days_from_civil(2400, 12, 31);
        let mut previous = civil_from_days(start - 1);
        for days in start..=end {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!(d >= 1 && d <= days_in_month(y, m));
            // Consecutive days either advance the day or roll over to day 1.
            assert!(d == previous.2 + 1 || d == 1, "{previous:?} -> {y}-{m}-{d}");
            previous = (y, m, d);
        }
        assert_eq!(Timestamp::new(1_795_180_200, 0).year(), 2026);
        assert_eq!(Timestamp::new(-1, 0).year(), 1969);
    }

    #[test]
    fn far_years_are_written_plainly() {
        let t = Timestamp::from_civil(12026, 1, 2, 3, 4, 5, 0, 0).unwrap();
        assert_eq!(rfc(t), "12026-01-02T03:04:05Z");
    }
}
