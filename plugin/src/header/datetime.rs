//! Timestamps as headers write them: ISO 8601 and its relatives, month names, zones,
//! 12-hour clocks, epochs. Each reader starts at a byte offset and returns the parts
//! it read and where it stopped; missing parts come from the record time.

use super::*;

/// A timestamp as read from text, before missing parts are filled from the reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Parts {
    pub(super) year: Option<i32>,
    pub(super) month: Option<u32>,
    pub(super) day: Option<u32>,
    pub(super) day_of_year: Option<u32>,
    pub(super) hour: u32,
    pub(super) minute: u32,
    pub(super) second: u32,
    pub(super) nanos: u32,
    pub(super) offset: i32,
    pub(super) pm: Option<bool>,
    pub(super) epoch: Option<i64>,
}

pub(super) const DAY: i64 = 86_400;

impl Parts {
    /// The instant, with a missing year or date taken from `reference` (the record's time),
    /// choosing the candidate closest to it so a line just before midnight (or New Year)
    /// read just after still lands on the right day.
    /// `resolve` for the usual parts, a whole date on a 24-hour clock, inline where the
    /// usual headers are read: the call of `resolve` cost more there than that case's work.
    #[inline(always)]
    pub(super) fn resolve_usual(self, reference: Timestamp) -> Option<Timestamp> {
        match (
            self.epoch,
            self.pm,
            self.day_of_year,
            self.year,
            self.month,
            self.day,
        ) {
            (None, None, None, Some(year), Some(month), Some(day)) => Timestamp::from_civil(
                year,
                month,
                day,
                self.hour,
                self.minute,
                self.second,
                self.nanos,
                self.offset,
            ),
            _ => self.resolve(reference),
        }
    }

    pub(super) fn resolve(self, reference: Timestamp) -> Option<Timestamp> {
        if let Some(secs) = self.epoch {
            return Some(Timestamp::new(secs, self.nanos));
        }
        let mut hour = self.hour;
        match self.pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
        // Only headers missing part of the date need the reference's calendar date.
        let civil = || reference.to_civil();
        let build = |year: i32, month: u32, day: u32| {
            Timestamp::from_civil(
                year,
                month,
                day,
                hour,
                self.minute,
                self.second,
                self.nanos,
                self.offset,
            )
        };
        if let Some(doy) = self.day_of_year {
            let year = self.year.unwrap_or_else(|| civil().year);
            let last = if crate::timestamp::is_leap_year(year) {
                366
            } else {
                365
            };
            if doy == 0 || doy > last {
                return None;
            }
            let base = build(year, 1, 1)?;
            return Some(Timestamp::new(
                base.secs + i64::from(doy - 1) * DAY,
                base.nanos,
            ));
        }
        match (self.year, self.month, self.day) {
            (Some(y), Some(m), Some(d)) => build(y, m, d),
            (None, Some(m), Some(d)) => {
                // Without a year: this year, unless that is well in the future.
                let year = civil().year;
                let this = build(year, m, d);
                match this {
                    Some(t) if t.secs > reference.secs + 7 * DAY => {
                        build(year - 1, m, d).or(Some(t))
                    }
                    Some(t) => Some(t),
                    None => build(year - 1, m, d),
                }
            }
            _ => {
                let civil = civil();
                let t = build(civil.year, civil.month, civil.day)?;
                let secs = if t.secs - reference.secs > DAY / 2 {
                    t.secs - DAY
                } else if reference.secs - t.secs > DAY / 2 {
                    t.secs + DAY
                } else {
                    t.secs
                };
                Some(Timestamp::new(secs, t.nanos))
            }
        }
    }
}

/// Reads `min..=max` ASCII digits at `pos` (max <= 9).
pub(super) fn digits(b: &[u8], pos: usize, min: usize, max: usize) -> Option<(u32, usize)> {
    let mut v = 0u32;
    let mut i = pos;
    while i < b.len() && i - pos < max && b[i].is_ascii_digit() {
        v = v * 10 + u32::from(b[i] - b'0');
        i += 1;
    }
    (i - pos >= min).then_some((v, i))
}

/// Digits not followed by another digit (so `12:30:2017` is not the time `12:30:20`).
pub(super) fn digits_exact(b: &[u8], pos: usize, min: usize, max: usize) -> Option<(u32, usize)> {
    let (v, end) = digits(b, pos, min, max)?;
    (!b.get(end).is_some_and(u8::is_ascii_digit)).then_some((v, end))
}

/// A fraction of a second at `pos` (its first digit): nanoseconds and the end.
#[inline(always)]
pub(super) fn fraction(b: &[u8], pos: usize) -> Option<(u32, usize)> {
    // Nanoseconds per unit of the last digit read, by the number of digits.
    const SCALE: [u32; 10] = [
        0,
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];
    // Eight bytes as one word when there are eight: the digits are the bytes below ten once
    // `'0'` is xored away, up to the first that is not; fewer than eight of them are the
    // number (`digits_word`). Eight or more, and the last bytes of a line, take the loop.
    if let Some(w) = crate::bytes::word_at(b, pos) {
        let x = w ^ u64::from_le_bytes(*b"00000000");
        let not_digit = (x | x.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080;
        if not_digit != 0 {
            let n = crate::bytes::first_marked(not_digit);
            if n == 0 {
                return None;
            }
            return Some((digits_word(x, n) * SCALE[n], pos + n));
        }
    }
    let mut nanos = 0u32;
    let mut i = pos;
    let nine = b.len().min(pos.saturating_add(9));
    while i < nine && b[i].is_ascii_digit() {
        nanos = nanos * 10 + u32::from(b[i] - b'0');
        i += 1;
    }
    let n = i - pos;
    if n == 0 {
        return None;
    }
    // Digits past the ninth (below a nanosecond) are read and dropped.
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    Some((nanos * SCALE[n], i))
}

/// The number that the first `n` bytes of `x` (1 to 7, each 0 to 9, the first the most
/// significant) spell: moved to the top of the word, then pairs, fours and eights of
/// digits joined by three multiplications.
#[inline(always)]
fn digits_word(x: u64, n: usize) -> u32 {
    let mut v = x << (8 * (8 - n));
    v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff;
    v as u32
}

pub(super) fn byte_is(b: &[u8], pos: usize, want: u8) -> bool {
    b.get(pos) == Some(&want)
}

pub(super) fn skip_spaces(b: &[u8], mut pos: usize) -> usize {
    while matches!(b.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

pub(super) const MONTHS: [&[u8]; 12] = [
    b"january",
    b"february",
    b"march",
    b"april",
    b"may",
    b"june",
    b"july",
    b"august",
    b"september",
    b"october",
    b"november",
    b"december",
];

pub(super) const WEEKDAYS: [&[u8]; 7] = [
    b"monday",
    b"tuesday",
    b"wednesday",
    b"thursday",
    b"friday",
    b"saturday",
    b"sunday",
];

/// A name from `names` at `pos`: its 3-letter abbreviation or a longer prefix of it
/// (`Sep`, `Sept`, `September`), case-insensitively, not followed by another letter.
pub(super) fn name_at(b: &[u8], pos: usize, names: &[&[u8]]) -> Option<(u32, usize)> {
    if pos >= b.len() {
        return None;
    }
    // No month or weekday name is longer than 9 letters: stop there on long words.
    let mut end = pos;
    while end < b.len() && end - pos <= 9 && b[end].is_ascii_alphabetic() {
        end += 1;
    }
    let word = &b[pos..end];
    if word.len() < 3 || word.len() > 9 {
        return None;
    }
    // The names differ in their first three letters: only the one sharing them can match.
    let lower = |c: u8| c | 0x20;
    let i = names
        .iter()
        .position(|n| n[0] == lower(word[0]) && n[1] == lower(word[1]) && n[2] == lower(word[2]))?;
    let name = names[i];
    let rest_matches = word.len() <= name.len()
        && word[3..]
            .iter()
            .zip(&name[3..])
            .all(|(a, n)| a.to_ascii_lowercase() == *n);
    rest_matches.then_some((i as u32 + 1, end))
}

pub(super) fn month_at(b: &[u8], pos: usize) -> Option<(u32, usize)> {
    name_at(b, pos, &MONTHS)
}

/// Two ASCII digits at `pos` as a number.
#[inline(always)]
pub(super) fn two_digits(b: &[u8], pos: usize) -> Option<u32> {
    let (&hi, &lo) = (b.get(pos)?, b.get(pos + 1)?);
    (hi.is_ascii_digit() && lo.is_ascii_digit())
        .then(|| u32::from(hi - b'0') * 10 + u32::from(lo - b'0'))
}

/// `HH:MM:SS` at `pos`, the shape of nearly every header's time, tested as one word:
/// reading it digit by digit costs several times more. Not followed by a digit.
fn hh_mm_ss(b: &[u8], pos: usize) -> Option<(u32, u32, u32, usize)> {
    let w = crate::bytes::word_at(b, pos)?;
    // Digits become 0..=9 and the two colons 0.
    let x = w ^ u64::from_le_bytes(*b"00:00:00");
    let all_below_ten = (x | x.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080 == 0;
    if !all_below_ten
        || x & 0x0000_ff00_00ff_0000 != 0
        || b.get(pos + 8).is_some_and(u8::is_ascii_digit)
    {
        return None;
    }
    let pair = |i: u32| ((x >> (8 * i)) & 0xff) as u32 * 10 + ((x >> (8 * i + 8)) & 0xff) as u32;
    Some((pair(0), pair(3), pair(6), pos + 8))
}

/// `HH:MM[:SS][.fraction]` at `pos`, hour with 1 or 2 digits.
pub(super) fn time_at(b: &[u8], pos: usize, parts: &mut Parts) -> Option<usize> {
    time_at_inline(b, pos, parts)
}

/// `time_at`, inlined where nearly every header's time is read (`iso_at`): in the
/// interpreter a call copies the callee's constants into a new frame.
#[inline(always)]
fn time_at_inline(b: &[u8], pos: usize, parts: &mut Parts) -> Option<usize> {
    let (hour, minute, second, mut p) = match hh_mm_ss(b, pos) {
        Some((hour, minute, second, p)) => (hour, minute, Some(second), p),
        None => clock_digits(b, pos)?,
    };
    if second.is_some()
        && matches!(b.get(p), Some(b'.' | b','))
        && b.get(p + 1).is_some_and(u8::is_ascii_digit)
    {
        let (nanos, q) = fraction(b, p + 1)?;
        parts.nanos = nanos;
        p = q;
    }
    let second = second.unwrap_or(0);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    parts.hour = hour;
    parts.minute = minute;
    parts.second = second;
    Some(p)
}

/// `H[H]:MM[:SS]` read digit by digit: hour, minute, second if any, and the end.
fn clock_digits(b: &[u8], pos: usize) -> Option<(u32, u32, Option<u32>, usize)> {
    let (hour, p) = digits(b, pos, 1, 2)?;
    if !byte_is(b, p, b':') {
        return None;
    }
    let (minute, p) = digits_exact(b, p + 1, 2, 2)?;
    if !byte_is(b, p, b':') {
        return Some((hour, minute, None, p));
    }
    let (second, p) = digits_exact(b, p + 1, 2, 2)?;
    Some((hour, minute, Some(second), p))
}

/// Zone abbreviations with a fixed meaning; anything else is not read as a zone.
pub(super) const ZONE_NAMES: [(&[u8], i32); 17] = [
    (b"UTC", 0),
    (b"GMT", 0),
    (b"UT", 0),
    (b"Z", 0),
    (b"EST", -5),
    (b"EDT", -4),
    (b"CST", -6),
    (b"CDT", -5),
    (b"MST", -7),
    (b"MDT", -6),
    (b"PST", -8),
    (b"PDT", -7),
    (b"CET", 1),
    (b"CEST", 2),
    (b"EET", 2),
    (b"EEST", 3),
    (b"JST", 9),
];

/// A zone at `pos`: `Z`, `+HH:MM`, `+HHMM`, `+HH`, or a known abbreviation.
#[inline(always)]
pub(super) fn zone_at(b: &[u8], pos: usize) -> Option<(i32, usize)> {
    match b.get(pos)? {
        // UTC, the usual zone of machine-written times, answered here: `zone_at_rest`'s
        // call would copy its constants into a new frame.
        b'Z' | b'z' if !b.get(pos + 1).is_some_and(u8::is_ascii_alphabetic) => Some((0, pos + 1)),
        b'Z' | b'z' => zone_at_rest(b, pos),
        b'+' | b'-' if b.get(pos + 1).is_some_and(u8::is_ascii_digit) => zone_at_rest(b, pos),
        // The first letters of `ZONE_NAMES`.
        b'U' | b'G' | b'E' | b'C' | b'M' | b'P' | b'J' => zone_at_rest(b, pos),
        _ => None,
    }
}

#[inline(never)]
fn zone_at_rest(b: &[u8], pos: usize) -> Option<(i32, usize)> {
    match b.get(pos)? {
        b'Z' | b'z' if !b.get(pos + 1).is_some_and(u8::is_ascii_alphabetic) => Some((0, pos + 1)),
        sign @ (b'+' | b'-') => {
            // Two digits each, as `two_digits` reads them: a call to the digit loop per
            // number costs more in the interpreter than the whole offset.
            let not_digit = |i: usize| !b.get(i).is_some_and(u8::is_ascii_digit);
            let (hh, p) = (two_digits(b, pos + 1)?, pos + 3);
            let (mm, p) = if byte_is(b, p, b':') {
                (two_digits(b, p + 1).filter(|_| not_digit(p + 3))?, p + 3)
            } else if !not_digit(p) {
                (two_digits(b, p).filter(|_| not_digit(p + 2))?, p + 2)
            } else {
                (0, p)
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            let secs = (hh * 3600 + mm * 60) as i32;
            Some((if *sign == b'-' { -secs } else { secs }, p))
        }
        c if c.is_ascii_uppercase() => {
            let mut end = pos;
            while end < b.len() && b[end].is_ascii_alphabetic() {
                end += 1;
            }
            let (_, hours) = ZONE_NAMES.iter().find(|(n, _)| *n == &b[pos..end])?;
            Some((hours * 3600, end))
        }
        _ => None,
    }
}

/// An optional zone right after a time: `Z`/`+02:00` directly, `'+0000'` quoted, or a
/// known name / numeric offset after one space.
#[inline(always)]
pub(super) fn trailing_zone(b: &[u8], pos: usize, parts: &mut Parts) -> usize {
    if let Some((offset, end)) = zone_at(b, pos) {
        parts.offset = offset;
        return end;
    }
    if byte_is(b, pos, b'\'') {
        if let Some((offset, end)) = zone_at(b, pos + 1) {
            if byte_is(b, end, b'\'') {
                parts.offset = offset;
                return end + 1;
            }
        }
    }
    if byte_is(b, pos, b' ') {
        if let Some((offset, end)) = zone_at(b, pos + 1) {
            // A bare `-`/`+` separator is not a zone; an offset needs its 4 digits here.
            let numeric = matches!(b[pos + 1], b'+' | b'-');
            if !numeric || end - (pos + 1) >= 5 {
                parts.offset = offset;
                return end;
            }
        }
    }
    pos
}

/// `YYYY-MM-DD[T ]HH:MM[:SS][.f][zone]` with `-`, `/` or `.` between the date fields and
/// `T`, ` `, `_` or `'T'` before the time.
pub(super) fn iso_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let (year, month, day, p) = match padded_date_at(b, pos) {
        Some(date) => date,
        None => {
            let (year, p) = digits(b, pos, 4, 4)?;
            if !is_date_separator(b, p) {
                return None;
            }
            let (month, p) = digits(b, p + 1, 1, 2)?;
            if !is_date_separator(b, p) {
                return None;
            }
            let (day, p) = digits_exact(b, p + 1, 1, 2)?;
            (year, month, day, p)
        }
    };
    let p = match b.get(p) {
        Some(b'T' | b't' | b' ' | b'_') => p + 1,
        Some(b'\'') if b[p..].starts_with(b"'T'") => p + 3,
        _ => return None,
    };
    let mut parts = Parts {
        year: Some(year as i32),
        month: Some(month),
        day: Some(day),
        ..Parts::default()
    };
    let p = time_at_inline(b, p, &mut parts)?;
    let p = trailing_zone(b, p, &mut parts);
    Some((parts, p))
}

fn is_date_separator(b: &[u8], pos: usize) -> bool {
    matches!(b.get(pos), Some(b'-' | b'/' | b'.'))
}

/// `YYYY-MM-DD` with both month and day in two digits (any of `-/.` between), the usual
/// shape, read without the digit loops of the general case. Not followed by a digit.
fn padded_date_at(b: &[u8], pos: usize) -> Option<(u32, u32, u32, usize)> {
    // `YYYY-MM-` as one word, as `hh_mm_ss` reads a time.
    let w = crate::bytes::word_at(b, pos)?;
    let separator = |i: u32| matches!((w >> (8 * i)) as u8, b'-' | b'/' | b'.');
    if !separator(4) || !separator(7) {
        return None;
    }
    // Digits become 0..=9; the separators' bytes are cleared.
    let x = (w ^ u64::from_le_bytes(*b"00000000")) & 0x00ff_ff00_ffff_ffff;
    if (x | x.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    let digit = |i: u32| ((x >> (8 * i)) & 0xff) as u32;
    let year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
    let month = digit(5) * 10 + digit(6);
    let day = two_digits(b, pos + 8)?;
    if b.get(pos + 10).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((year, month, day, pos + 10))
}

/// `M/D/YYYY h:mm:ss [AM|PM]` (US) or `D.M.YYYY HH:MM:SS` (European).
pub(super) fn numeric_date_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let (first, p) = digits(b, pos, 1, 2)?;
    let sep = *b.get(p)?;
    if sep != b'/' && sep != b'.' {
        return None;
    }
    let (second, p) = digits(b, p + 1, 1, 2)?;
    if !byte_is(b, p, sep) {
        return None;
    }
    let (year, p) = digits_exact(b, p + 1, 4, 4)?;
    // `/` is month first unless that cannot be; `.` is day first.
    let (month, day) = if sep == b'/' && first <= 12 {
        (first, second)
    } else {
        (second, first)
    };
    let mut parts = Parts {
        year: Some(year as i32),
        month: Some(month),
        day: Some(day),
        ..Parts::default()
    };
    let p = skip_spaces(b, p);
    let p = time_at(b, p, &mut parts)?;
    let end = am_pm(b, p, &mut parts);
    Some((parts, end))
}

pub(super) fn am_pm(b: &[u8], pos: usize, parts: &mut Parts) -> usize {
    let p = skip_spaces(b, pos);
    let pm = match (b.get(p), b.get(p + 1)) {
        (Some(b'A' | b'a'), Some(b'M' | b'm')) => false,
        (Some(b'P' | b'p'), Some(b'M' | b'm')) => true,
        _ => return pos,
    };
    if b.get(p + 2).is_some_and(u8::is_ascii_alphanumeric) || parts.hour > 12 {
        return pos;
    }
    parts.pm = Some(pm);
    p + 2
}

/// Month-name layouts: syslog `Mon  D HH:MM:SS` (no year) and java.util.logging
/// `Mon DD, YYYY h:mm:ss AM`.
pub(super) fn month_name_date_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let (month, p) = month_at(b, pos)?;
    let p = skip_spaces(b, p);
    let (day, p) = digits_exact(b, p, 1, 2)?;
    let mut parts = Parts {
        month: Some(month),
        day: Some(day),
        ..Parts::default()
    };
    if byte_is(b, p, b',') {
        let p = skip_spaces(b, p + 1);
        let (year, p) = digits_exact(b, p, 4, 4)?;
        parts.year = Some(year as i32);
        let p = skip_spaces(b, p);
        let p = time_at(b, p, &mut parts)?;
        let end = am_pm(b, p, &mut parts);
        return Some((parts, end));
    }
    let p = skip_spaces(b, p);
    let p = time_at(b, p, &mut parts)?;
    // `Dec 14 06:41:08 2026` (some syslog daemons add the year).
    if byte_is(b, p, b' ') {
        if let Some((year, q)) = digits_exact(b, p + 1, 4, 4) {
            parts.year = Some(year as i32);
            return Some((parts, q));
        }
    }
    Some((parts, p))
}

/// `Www Mon DD HH:MM:SS[.f] YYYY` (Apache error log, C `ctime`).
pub(super) fn ctime_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let (_, p) = name_at(b, pos, &WEEKDAYS)?;
    let p = skip_spaces(b, p);
    let (mut parts, p) = month_name_date_at(b, p)?;
    if parts.year.is_some() {
        return Some((parts, p));
    }
    // `date`'s output puts the zone before the year: `Fri Nov 20 13:10:00 UTC 2026`.
    let q = trailing_zone(b, p, &mut parts);
    let q = skip_spaces(b, q);
    let (year, q) = digits_exact(b, q, 4, 4)?;
    parts.year = Some(year as i32);
    Some((parts, q))
}

/// `DD/Mon/YYYY:HH:MM:SS +zzzz` (access logs) and `DD-Mon-YYYY HH:MM:SS [zone]` (PHP).
pub(super) fn day_month_name_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    // The access log's `DD/Mon/YYYY:` first, its bytes at their places: the general
    // reading below costs several times more in the interpreter (a call per number, the
    // month's letters one by one), and every nginx or Apache line has this date.
    match access_date_at(b, pos) {
        Some(date) => access_time_at(b, pos, date),
        None => day_month_name_read(b, pos),
    }
}

/// The rest of `day_month_name_at` after an access log's date (`date`, read at `pos`):
/// its time and zone. Inline, also where access logs are read.
#[inline(always)]
pub(super) fn access_time_at(b: &[u8], pos: usize, date: Parts) -> Option<(Parts, usize)> {
    let mut parts = date;
    let p = time_at_inline(b, pos + 12, &mut parts)?;
    // The access log's ` +0000`, read here: `zone_at_rest` is a call.
    if let Some((offset, end)) = space_hhmm_zone(b, p) {
        parts.offset = offset;
        return Some((parts, end));
    }
    let end = trailing_zone(b, p, &mut parts);
    Some((parts, end))
}

/// ` +HHMM` or ` -HHMM` at `pos`, not followed by a digit: the offset in seconds and the
/// end, as `trailing_zone` reads it.
#[inline(always)]
fn space_hhmm_zone(b: &[u8], pos: usize) -> Option<(i32, usize)> {
    // ` +HHMM` and two more bytes as one word, when there are two more.
    if let Some(w) = crate::bytes::word_at(b, pos) {
        let sign = match (w & 0xffff) as u16 {
            s if s == u16::from_le_bytes(*b" +") => 1,
            s if s == u16::from_le_bytes(*b" -") => -1,
            _ => return None,
        };
        // The four digits become 0..=9; the other bytes are cleared.
        let x = (w ^ u64::from_le_bytes(*b"00000000")) & 0x0000_ffff_ffff_0000;
        if (x | x.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080 != 0 {
            return None;
        }
        let digit = |i: u32| ((x >> (8 * i)) & 0xff) as u32;
        let (hh, mm) = (digit(2) * 10 + digit(3), digit(4) * 10 + digit(5));
        if hh > 23 || mm > 59 || ((w >> 48) as u8).is_ascii_digit() {
            return None;
        }
        return Some((sign * (hh * 3600 + mm * 60) as i32, pos + 6));
    }
    let sign = match b.get(pos..pos + 2)? {
        [b' ', b'+'] => 1,
        [b' ', b'-'] => -1,
        _ => return None,
    };
    let (hh, mm) = (two_digits(b, pos + 2)?, two_digits(b, pos + 4)?);
    if hh > 23 || mm > 59 || b.get(pos + 6).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((sign * (hh * 3600 + mm * 60) as i32, pos + 6))
}

/// `day_month_name_at` for every shape, field by field. (Inline: as a call of its own
/// it made a Spark line, whose `17/06/09` date is tried here first, 2% dearer.)
#[inline(always)]
fn day_month_name_read(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let (day, p) = digits(b, pos, 1, 2)?;
    let sep = *b.get(p)?;
    if sep != b'/' && sep != b'-' && sep != b' ' {
        return None;
    }
    let (month, p) = month_at(b, p + 1)?;
    if !byte_is(b, p, sep) {
        return None;
    }
    let (year, p) = digits_exact(b, p + 1, 4, 4)?;
    if !matches!(b.get(p), Some(b':' | b' ')) {
        return None;
    }
    let mut parts = Parts {
        year: Some(year as i32),
        month: Some(month),
        day: Some(day),
        ..Parts::default()
    };
    let p = time_at(b, p + 1, &mut parts)?;
    let end = trailing_zone(b, p, &mut parts);
    Some((parts, end))
}

/// The three-letter month names, lower case, as little-endian words of their bytes.
const MONTH_WORDS: [u32; 12] = {
    let mut w = [0u32; 12];
    let mut i = 0;
    while i < 12 {
        let n = MONTHS[i];
        w[i] = n[0] as u32 | (n[1] as u32) << 8 | (n[2] as u32) << 16;
        i += 1;
    }
    w
};

/// A three-letter month word's slot in `MONTH_SLOTS`: a multiply's top four bits, which
/// tell the twelve apart (checked where the table is built). One lookup instead of a
/// search of up to twelve words.
const fn month_slot(word: u32) -> usize {
    (word.wrapping_mul(26_596) >> 28) as usize
}

/// Each month word (`MONTH_WORDS`) with its number at its slot; free slots hold the word 0,
/// which no three letters make.
const MONTH_SLOTS: [(u32, u32); 16] = {
    let mut slots = [(0u32, 0u32); 16];
    let mut i = 0;
    while i < 12 {
        let word = MONTH_WORDS[i];
        let slot = month_slot(word);
        assert!(slots[slot].0 == 0, "two months share a slot");
        slots[slot] = (word, i as u32 + 1);
        i += 1;
    }
    slots
};

/// `DD/Mon/YYYY:` at `pos` (two-digit day, a three-letter month in any case): the date,
/// as `day_month_name_at` reads it when that is what the text holds, or `None` for
/// any other text, which that reading then takes.
#[inline(always)]
pub(super) fn access_date_at(b: &[u8], pos: usize) -> Option<Parts> {
    if b.get(pos + 11) != Some(&b':') || b[pos + 2] != b'/' || b[pos + 6] != b'/' {
        return None;
    }
    // A byte OR 0x20 is a lower-case letter only when it was a letter.
    let word = u32::from(b[pos + 3] | 0x20)
        | u32::from(b[pos + 4] | 0x20) << 8
        | u32::from(b[pos + 5] | 0x20) << 16;
    let (name, month) = MONTH_SLOTS[month_slot(word)];
    if name != word {
        return None;
    }
    let day = two_digits(b, pos)?;
    let year = two_digits(b, pos + 7)? * 100 + two_digits(b, pos + 9)?;
    Some(Parts {
        year: Some(year as i32),
        month: Some(month),
        day: Some(day),
        ..Parts::default()
    })
}

/// `YYYY-MM-DD` alone (the date after a time).
pub(super) fn date_only_at(b: &[u8], pos: usize) -> Option<(i32, u32, u32, usize)> {
    let (year, p) = digits(b, pos, 4, 4)?;
    let sep = *b.get(p)?;
    if sep != b'-' && sep != b'/' {
        return None;
    }
    let (month, p) = digits(b, p + 1, 1, 2)?;
    if !byte_is(b, p, sep) {
        return None;
    }
    let (day, p) = digits_exact(b, p + 1, 1, 2)?;
    Some((year as i32, month, day, p))
}

/// Any of the built-in timestamp layouts starting exactly at `pos`.
pub(super) fn timestamp_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let first = *b.get(pos)?;
    if first.is_ascii_digit() {
        // An ISO date first, the usual header. Each other layout needs one or two digits
        // first and a certain byte after them, so that byte picks the layouts tried, in
        // their order: `20/Nov`, `20 Nov` or `20-Nov`, `11/20/2026` or `20.11.2026`, and a
        // time after a colon. A line that starts with an address (`10.1.2.3 - -`) or a
        // count tries one layout after the ISO date, or none.
        iso_at(b, pos).or_else(|| {
            let run = if b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
                2
            } else {
                1
            };
            match b.get(pos + run) {
                Some(b'/') => day_month_name_at(b, pos).or_else(|| numeric_date_at(b, pos)),
                Some(b'-' | b' ') => day_month_name_at(b, pos),
                // `20.11.2026`: its year's four digits are asked first, so that an address
                // (`10.1.2.3 - -`, every access log's first word) costs no call.
                Some(b'.') if year_after_dot(b, pos + run + 1) => numeric_date_at(b, pos),
                Some(b'.') => None,
                Some(b':') => {
                    let mut parts = Parts::default();
                    let end = time_at(b, pos, &mut parts)?;
                    // A time alone needs its seconds: `10:10 foo` is not a header.
                    (end >= pos + 7).then_some((parts, end))
                }
                // A third digit (or anything else): none of them.
                _ => None,
            }
        })
    } else if first.is_ascii_alphabetic() {
        ctime_at(b, pos).or_else(|| month_name_date_at(b, pos))
    } else {
        None
    }
}

/// Whether `b` starts with what `timestamp_at(b, 0)` turns away after its first test: one
/// or two digits and a `.` that is not `D.M.YYYY`'s, such as an address (`10.1.2.13 - -`,
/// every access log's first word). Asked inline before that call, which would copy its
/// constants into a new frame in the interpreter only to answer no.
#[inline(always)]
pub(super) fn address_first(b: &[u8]) -> bool {
    let dot = match (b.get(1), b.get(2)) {
        (Some(b'.'), _) => 1,
        (Some(e), Some(b'.')) if e.is_ascii_digit() => 2,
        _ => return false,
    };
    b[0].is_ascii_digit() && !year_after_dot(b, dot + 1)
}

/// Whether four digits follow the second `.` of `D.M.YYYY`, `q` being where the month
/// starts: what `numeric_date_at` needs of such a date.
#[inline(always)]
fn year_after_dot(b: &[u8], q: usize) -> bool {
    let year = if byte_is(b, q + 1, b'.') {
        q + 2
    } else {
        q + 3
    };
    b.get(year..year + 4)
        .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
}

/// A timestamp given as a JSON/logfmt value: a layout above, or epoch seconds, millis,
/// micros or nanos (told apart by magnitude), possibly with a fraction.
pub(super) fn timestamp_value(text: &str, reference: Timestamp) -> Option<Timestamp> {
    let b = trim(text).as_bytes();
    if b.is_empty() {
        return None;
    }
    if let Some(ts) = epoch(b) {
        return Some(ts);
    }
    let (parts, _) = timestamp_at(b, 0)?;
    parts.resolve(reference)
}

pub(super) fn epoch(b: &[u8]) -> Option<Timestamp> {
    let int_end = b
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(b.len());
    if int_end == 0 || int_end > 19 {
        return None;
    }
    let frac = match &b[int_end..] {
        [] => 0,
        [b'.', rest @ ..] if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) => {
            fraction(rest, 0)?.0
        }
        _ => return None,
    };
    let whole: i64 = std::str::from_utf8(&b[..int_end]).ok()?.parse().ok()?;
    Some(match int_end {
        0..=11 => Timestamp::new(whole, frac),
        12..=14 => Timestamp::new(
            whole / 1_000,
            (whole % 1_000) as u32 * 1_000_000 + frac / 1_000,
        ),
        15..=17 => Timestamp::new(whole / 1_000_000, (whole % 1_000_000) as u32 * 1_000),
        _ => Timestamp::new(whole / 1_000_000_000, (whole % 1_000_000_000) as u32),
    })
}

/// A date and a time anywhere in the first bytes of a line whose start is no header
/// (`foo bar 13:45:30 2021-03-28`): the date's zone if it has one, else UTC.
/// The message stays the whole line: a timestamp in mid-line may be part of the text.
// Out of line, a fallback few lines reach: inlined into `HeaderParser::parse`, it made
// the path of every line longer in the interpreter (measured by wasmi fuel per line).
#[inline(never)]
pub(super) fn timestamp_in_text(b: &[u8], reference: Timestamp) -> Option<Timestamp> {
    let window = &b[..b.len().min(DATE_WINDOW)];
    let date_pos = find_date(window, 0)?;
    // A complete timestamp that starts a word beats one glued to a prefix such as a file
    // name (`nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 ...`).
    let mut glued = None;
    let mut pos = Some(date_pos);
    while let Some(p) = pos {
        if let Some((parts, _)) = timestamp_at(b, p) {
            if p == 0 || matches!(b[p - 1], b' ' | b'\t' | b'[' | b'(' | b'"') {
                return parts.resolve(reference);
            }
            glued.get_or_insert(parts);
        }
        pos = find_date(window, p + 1);
    }
    if let Some(parts) = glued {
        return parts.resolve(reference);
    }
    // A date without its own time: only a year-first date borrows a time from elsewhere
    // in the window (`acb def 10:10:10 foo 2024-05-15`).
    let (y, p) = digits(b, date_pos, 4, 4)?;
    let (m, p) = digits(b, p + 1, 1, 2)?;
    let (d, _) = digits(b, p + 1, 1, 2)?;
    let mut parts = Parts {
        year: Some(y as i32),
        month: Some(m),
        day: Some(d),
        ..Parts::default()
    };
    let mut i = 0;
    while i < window.len() {
        if window[i].is_ascii_digit() && (i == 0 || !window[i - 1].is_ascii_digit()) {
            let mut t = parts;
            if let Some(end) = time_at(b, i, &mut t) {
                if end >= i + 7 {
                    parts = t;
                    return parts.resolve(reference);
                }
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `padded_date_at` against the field-by-field reading it replaced, on dates with every
    /// byte of the first eleven replaced (digits, separators, letters, high bytes), cut at
    /// every length.
    #[test]
    fn the_padded_date_read_as_a_word_is_the_date_read_by_fields() {
        let by_fields = |b: &[u8], pos: usize| -> Option<(u32, u32, u32, usize)> {
            if !is_date_separator(b, pos + 4) || !is_date_separator(b, pos + 7) {
                return None;
            }
            let year = two_digits(b, pos)? * 100 + two_digits(b, pos + 2)?;
            let month = two_digits(b, pos + 5)?;
            let day = two_digits(b, pos + 8)?;
            if b.get(pos + 10).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            Some((year, month, day, pos + 10))
        };
        let mut read = 0;
        for base in [
            "2026-11-20 13:10:00",
            "1999/01/09T",
            "0000.00.00",
            "9999-99-99x",
        ] {
            for i in 0..11 {
                for c in [
                    b'0', b'5', b'9', b'-', b'/', b'.', b':', b'a', b' ', 0x80, 0xb0, 0xff,
                ] {
                    let mut b = format!(" {base}").into_bytes();
                    if i + 1 < b.len() {
                        b[i + 1] = c;
                    }
                    for len in 0..=b.len() {
                        let cut = &b[..len];
                        let got = padded_date_at(cut, 1);
                        assert_eq!(got, by_fields(cut, 1), "{:?}", String::from_utf8_lossy(cut));
                        read += usize::from(got.is_some());
                    }
                }
            }
        }
        assert!(read > 100, "{read}");
    }

    #[test]
    fn a_fraction_of_any_length_is_its_nanoseconds() {
        for n in 0..=12usize {
            let digits: String = (0..n).map(|k| char::from(b'1' + (k % 9) as u8)).collect();
            let zeros_and_nines: String = (0..n).map(|k| ['0', '9'][k % 2]).collect();
            // Ends shorter and longer than a word; bytes next to the digits (`/`, `:`) and
            // with the high bit set.
            for (digits, end) in [&digits, &zeros_and_nines].into_iter().flat_map(|d| {
                [
                    "",
                    "Z",
                    " ",
                    "+01:00",
                    " - inventory.worker",
                    "/abcdefgh",
                    ":00:00:00",
                    "\u{e9}t\u{e9} 2026",
                ]
                .map(|e| (d, e))
            }) {
                let text = format!("{digits}{end}");
                let expected = (n > 0).then(|| {
                    let mut nanos = 0u32;
                    for k in 0..9 {
                        let d = digits.as_bytes().get(k).map_or(0, |c| u32::from(c - b'0'));
                        nanos = nanos * 10 + d;
                    }
                    (nanos, n)
                });
                assert_eq!(fraction(text.as_bytes(), 0), expected, "{text:?}");
                let shifted = format!(",{text}");
                let at_one = expected.map(|(v, e)| (v, e + 1));
                assert_eq!(fraction(shifted.as_bytes(), 1), at_one, "{shifted:?}");
            }
        }
        assert_eq!(fraction(b"12", 5), None);
    }

    /// `timestamp_at` as it was first written: every layout tried in turn.
    fn timestamp_at_every_layout(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
        let first = *b.get(pos)?;
        if first.is_ascii_digit() {
            iso_at(b, pos)
                .or_else(|| day_month_name_at(b, pos))
                .or_else(|| numeric_date_at(b, pos))
                .or_else(|| {
                    let mut parts = Parts::default();
                    let end = time_at(b, pos, &mut parts)?;
                    (end >= pos + 7).then_some((parts, end))
                })
        } else {
            timestamp_at(b, pos)
        }
    }

    /// Every digit-first layout, and near misses at every byte of each.
    #[test]
    fn layouts_picked_by_their_first_bytes_read_as_every_layout_tried_on_each_layout() {
        for base in [
            "2026-11-20 13:10:00.123Z x",
            "20/Nov/2026:13:10:00 +0000]",
            "20 Nov 2026 13:10:00 x",
            "20-Nov-2026 13:10:00",
            "11/20/2026 1:10:00 PM",
            "20.11.2026 13:10:00",
            "1.2.2026 13:10:00",
            "13:10:00,123 x",
            "1:10:00 x",
            "10.1.2.3 - - [20/Nov/2026:13:10:00 +0000]",
            "123 items",
        ] {
            for i in 0..base.len() {
                for c in [b'0', b'9', b':', b'-', b'/', b'.', b' ', b'a', b'N'] {
                    let mut b = base.as_bytes().to_vec();
                    b[i] = c;
                    for pos in 0..3 {
                        assert_eq!(
                            format!("{:?}", timestamp_at(&b, pos)),
                            format!("{:?}", timestamp_at_every_layout(&b, pos)),
                            "{:?} at {pos}",
                            String::from_utf8_lossy(&b)
                        );
                    }
                }
            }
            // The layouts themselves are read (the address and the count are not).
            let layout = !base.starts_with("10.") && !base.starts_with("123");
            assert_eq!(timestamp_at(base.as_bytes(), 0).is_some(), layout, "{base}");
        }
    }

    proptest::proptest! {
        /// Picking the layouts by the first digits and the byte after them finds what
        /// trying every layout finds.
        #[test]
        fn layouts_picked_by_their_first_bytes_read_as_every_layout_tried(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "1", "2", "0", "20", "2026", "13", "123", "10.1.2.3", "-", "/", ".", ":", " ",
                "T", "Z", ",5", "Nov", "nov", "PM", "+01:00", "x", "12:30:45", "2026-11-20",
            ]), 0..10),
        ) {
            let text = pieces.concat();
            let b = text.as_bytes();
            for pos in 0..b.len() {
                proptest::prop_assert_eq!(
                    format!("{:?}", timestamp_at(b, pos)),
                    format!("{:?}", timestamp_at_every_layout(b, pos)),
                    "{:?} at {}", text, pos
                );
            }
        }
    }

    #[test]
    fn every_zone_name_and_offset_is_read_past_the_inline_first_byte_test() {
        for (name, hours) in ZONE_NAMES {
            let mut b = name.to_vec();
            b.extend_from_slice(b" x");
            assert_eq!(zone_at(&b, 0), Some((hours * 3600, name.len())), "{b:?}");
        }
        assert_eq!(zone_at(b"+02:00", 0), Some((7200, 6)));
        assert_eq!(zone_at(b"-0130 x", 0), Some((-5400, 5)));
        assert_eq!(zone_at(b"z", 0), Some((0, 1)));
        for no in [&b"- x"[..], b"+x", b"INFO", b"WARN", b" UTC", b"Zulu", b""] {
            assert_eq!(zone_at(no, 0), None, "{no:?}");
        }
    }

    /// A line `address_first` turns away has no timestamp at its start; on addresses,
    /// dates with dots, ISO dates and times, and near misses of each at every byte.
    #[test]
    fn an_address_first_has_no_timestamp() {
        let mut turned_away = 0;
        for base in [
            "10.1.2.13 - - [20/Nov/2026:13:10:00 +0000] x",
            "1.2.3.4 x",
            "20.11.2026 13:10:00 x",
            "1.2.2026 13:10:00 x",
            "2026.11.20 13:10:00 x",
            "13:10:00.5 x",
            "7.5 x",
        ] {
            let base = base.as_bytes();
            for i in 0..base.len().min(16) {
                for c in [b'0', b'9', b'.', b':', b'-', b'/', b' ', b'x'] {
                    let mut b = base.to_vec();
                    b[i] = c;
                    if address_first(&b) {
                        turned_away += 1;
                        assert_eq!(
                            timestamp_at(&b, 0),
                            None,
                            "{:?}",
                            String::from_utf8_lossy(&b)
                        );
                    }
                }
            }
        }
        assert!(turned_away > 50, "{turned_away}");
    }

    /// `resolve_usual` answers as `resolve` does: on the parts every layout reads from the
    /// samples below and from headers of each shape, and on parts that leave its usual case
    /// (12-hour clocks, epochs, days of the year, missing years and dates, invalid dates).
    #[test]
    fn the_usual_resolution_agrees_with_the_whole_one() {
        let reference = Timestamp::new(1_795_179_600, 5);
        let mut all: Vec<Parts> = Vec::new();
        let texts = [
            "2026-11-20 13:10:00,123 x",
            "2026-11-20T13:10:00.5+02:00 x",
            "2026-02-30 13:10:00 x",
            "2024-02-29T23:59:60Z",
            "20/Nov/2026:13:10:00 -0700",
            "Nov 20 13:10:00 x",
            "13:10:00 x",
            "11/20/2026 1:10:00 PM x",
            "20.11.2026 13:10:00",
        ];
        for t in texts.iter().map(|t| t.as_bytes().to_vec()).chain(samples()) {
            if let Some((parts, _)) = timestamp_at(&t, 0) {
                all.push(parts);
            }
        }
        let full = Parts {
            year: Some(2026),
            month: Some(11),
            day: Some(20),
            hour: 12,
            minute: 10,
            second: 0,
            nanos: 7,
            offset: 3600,
            ..Parts::default()
        };
        all.extend([
            full,
            Parts {
                pm: Some(true),
                ..full
            },
            Parts {
                pm: Some(false),
                ..full
            },
            Parts {
                epoch: Some(1_700_000_000),
                ..full
            },
            Parts {
                day_of_year: Some(40),
                ..full
            },
            Parts { year: None, ..full },
            Parts { day: None, ..full },
            Parts {
                month: Some(13),
                ..full
            },
            Parts { hour: 24, ..full },
        ]);
        assert!(all.len() > 40, "{}", all.len());
        for parts in all {
            assert_eq!(
                parts.resolve_usual(reference),
                parts.resolve(reference),
                "{parts:?}"
            );
        }
    }

    /// Times and dates around the fixed shapes, including near misses at every byte.
    fn samples() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for base in [
            "13:10:00",
            "13:10:00.123",
            "23:59:60,5 x",
            "24:00:00 ",
            "13:60:00 ",
            "13:10:000",
            "13:10:00Z",
            "2026-11-20",
            "2026/11/20T",
            "2026.11.20 ",
            "2026-1-20 ",
            "2026-11-200",
            "2026-11-2",
        ] {
            out.push(base.as_bytes().to_vec());
            for i in 0..base.len() {
                for c in [b'0', b'9', b':', b'-', b'a', b' ', 0x80] {
                    let mut b = base.as_bytes().to_vec();
                    b[i] = c;
                    out.push(b);
                }
            }
        }
        out
    }

    #[test]
    fn the_word_read_time_agrees_with_the_digit_reader() {
        let mut read = 0;
        for b in samples() {
            if let Some((h, m, s, end)) = hh_mm_ss(&b, 0) {
                assert_eq!(clock_digits(&b, 0), Some((h, m, Some(s), end)), "{b:?}");
                read += 1;
            }
        }
        assert!(read > 10);
    }

    /// The access log's fixed-width date and zone read as the field-by-field reading
    /// does, on the shape, near misses at every byte (letters of both cases, digits, signs,
    /// separators, a byte past ASCII) and other day-and-month-name layouts.
    #[test]
    fn the_access_date_agrees_with_the_field_reader() {
        let mut fast = 0;
        for base in [
            "20/Nov/2026:13:10:00 +0000",
            "01/jan/1999:00:00:00 -0530 x",
            "20/Nov/2026:13:10:00 +2359]",
            "20/Nov/2026:13:10:00 +2400",
            "20/Nov/2026:13:10:00 -1200",
            "20/Nov/2026:13:10:00 +0000] \"GET / HTTP/1.1\"",
            "20/Nov/2026:13:10:00 +2400] \"GET\"",
            "20/Nov/2026:13:10:00 -2359] x",
            "20/Nov/2026:13:10:00 +1260] x",
            "31/DEC/2026:23:59:59.5Z",
            "20/Sep/2026:13:10:00 +05:30",
            "20/Sep/2026:13:10:00 +05",
            "5/Nov/2026:13:10:00",
            "20-Nov-2026 13:10:00",
            "20/Sept/2026:13:10:00",
        ] {
            let base = base.as_bytes();
            let mut texts = vec![base.to_vec()];
            for i in 0..base.len() {
                for c in [
                    b'0', b'9', b'2', b'6', b'/', b':', b'.', b'a', b'A', b'z', b'Z', b'@', b'`',
                    b' ', b'+', b'-', 0x80,
                ] {
                    let mut b = base.to_vec();
                    b[i] = c;
                    texts.push(b);
                }
            }
            for b in texts {
                assert_eq!(
                    day_month_name_at(&b, 0),
                    day_month_name_read(&b, 0),
                    "{b:?}"
                );
                fast += usize::from(access_date_at(&b, 0).is_some());
            }
        }
        assert!(fast > 20, "{fast}");
    }

    /// Numeric zone offsets read two digits at a time as the digit loops read them.
    #[test]
    fn zone_offsets_agree_with_the_digit_reader() {
        let reference = |b: &[u8]| -> Option<(i32, usize)> {
            let (hh, p) = digits(b, 1, 2, 2)?;
            let (mm, p) = if byte_is(b, p, b':') {
                digits_exact(b, p + 1, 2, 2)?
            } else if b.get(p).is_some_and(u8::is_ascii_digit) {
                digits_exact(b, p, 2, 2)?
            } else {
                (0, p)
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            let secs = (hh * 3600 + mm * 60) as i32;
            Some((if b[0] == b'-' { -secs } else { secs }, p))
        };
        let alphabet = [b'0', b'2', b'5', b'9', b':', b'x'];
        let mut read = 0;
        for sign in [b'+', b'-'] {
            for n in 0..=6u32 {
                for k in 0..alphabet.len().pow(n) {
                    let mut b = vec![sign];
                    let mut k = k;
                    for _ in 0..n {
                        b.push(alphabet[k % alphabet.len()]);
                        k /= alphabet.len();
                    }
                    let got = zone_at_rest(&b, 0);
                    assert_eq!(got, reference(&b), "{:?}", String::from_utf8_lossy(&b));
                    read += usize::from(got.is_some());
                }
            }
        }
        assert!(read > 1000, "{read}");
    }

    #[test]
    fn the_padded_date_agrees_with_the_digit_reader() {
        let mut read = 0;
        for b in samples() {
            if let Some((y, m, d, end)) = padded_date_at(&b, 0) {
                let (year, p) = digits(&b, 0, 4, 4).unwrap();
                assert!(is_date_separator(&b, p));
                let (month, p) = digits(&b, p + 1, 1, 2).unwrap();
                assert!(is_date_separator(&b, p));
                assert_eq!(digits_exact(&b, p + 1, 1, 2), Some((d, end)), "{b:?}");
                assert_eq!((year, month), (y, m));
                read += 1;
            }
        }
        assert!(read > 10);
    }

    #[test]
    fn names_match_by_any_prefix_of_three_letters_or_more() {
        assert_eq!(month_at(b"Sept 1", 0), Some((9, 4)));
        assert_eq!(month_at(b"NOVEMBER", 0), Some((11, 8)));
        assert_eq!(month_at(b"Novembers", 0), None);
        assert_eq!(month_at(b"Mayo", 0), None);
        assert_eq!(month_at(b"No", 0), None);
        assert_eq!(name_at(b"thu,", 0, &WEEKDAYS), Some((4, 3)));
    }
}
