//! Reads the header of a log line: timestamp, level, logger, thread, service and the
//! trace/request ids, for the common layouts (ISO 8601, Spring Boot/Logback, Python
//! logging, Go log, klog, Rails, PHP, nginx, syslog, logfmt, JSON) without configuration.
//! Hand-written byte scanning: regexes are too slow on this path inside an interpreter.

use std::borrow::Cow;

use crate::json;
use crate::timestamp::Timestamp;

/// Normalized severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// Parses a level word in any common spelling (`error`, `ERR`, `E`, `crit`, `warning`, `50`...).
    pub fn parse(word: &str) -> Option<Level> {
        let word = word.trim();
        if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
            return Self::from_number(word);
        }
        Self::from_name(word).map(|(level, _)| level)
    }

    fn from_number(digits: &str) -> Option<Level> {
        Self::from_code(digits.parse().ok()?)
    }

    /// Numeric levels: syslog severities 0-7 and bunyan/pino levels 10-60.
    fn from_code(code: u32) -> Option<Level> {
        Some(match code {
            0..=2 => Level::Fatal,
            3 => Level::Error,
            4 => Level::Warn,
            5 | 6 => Level::Info,
            7 => Level::Debug,
            10 => Level::Trace,
            20 => Level::Debug,
            30 => Level::Info,
            40 => Level::Warn,
            50 => Level::Error,
            60 => Level::Fatal,
            _ => return None,
        })
    }

    /// A level name, case-insensitively, and whether the name is also an ordinary English
    /// word (`alert`, `fine`, `trace`...) that only counts as a level in a strong position.
    fn from_name(word: &str) -> Option<(Level, bool)> {
        let bytes = word.as_bytes();
        if bytes.is_empty() || bytes.len() > 13 {
            return None;
        }
        let mut buf = [0u8; 13];
        for (slot, b) in buf.iter_mut().zip(bytes) {
            *slot = b.to_ascii_lowercase();
        }
        Some(match &buf[..bytes.len()] {
            b"error" | b"err" | b"e" | b"eror" => (Level::Error, false),
            b"severe" | b"fail" | b"failure" => (Level::Error, true),
            b"warn" | b"warning" | b"w" | b"wrn" => (Level::Warn, false),
            b"fatal" | b"f" | b"ftl" | b"crit" | b"emerg" => (Level::Fatal, false),
            b"critical" | b"emergency" | b"alert" | b"panic" | b"dpanic" => (Level::Fatal, true),
            b"info" | b"i" | b"inf" => (Level::Info, false),
            b"information" | b"informational" | b"notice" => (Level::Info, true),
            b"debug" | b"d" | b"dbg" | b"dbug" => (Level::Debug, false),
            b"fine" | b"config" => (Level::Debug, true),
            b"trace" | b"verbose" | b"finer" | b"finest" => (Level::Trace, true),
            b"t" | b"v" | b"trc" | b"trce" | b"vrb" => (Level::Trace, false),
            _ => return None,
        })
    }

    /// A level word inside a text header. `strong`: the word is bracketed, followed by a
    /// colon, or upper case, so even English words count. Single letters never count
    /// here (they are only levels in layouts that say so, like klog or Rails).
    fn in_text(word: &str, strong: bool) -> Option<Level> {
        if word.len() < 3 {
            return None;
        }
        let (level, english) = Self::from_name(word)?;
        let upper = word.bytes().all(|b| b.is_ascii_uppercase());
        let lower = word.bytes().all(|b| b.is_ascii_lowercase());
        let capitalized = word.as_bytes()[0].is_ascii_uppercase()
            && word.bytes().skip(1).all(|b| b.is_ascii_lowercase());
        if !(upper || lower || capitalized) {
            return None;
        }
        (strong || upper || !english).then_some(level)
    }
}

/// What the header of one line says. Borrowed from the line where possible.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Header<'a> {
    pub timestamp: Option<Timestamp>,
    pub level: Option<Level>,
    pub logger: Option<Cow<'a, str>>,
    pub thread: Option<Cow<'a, str>>,
    pub service: Option<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    pub span_id: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
    pub correlation_id: Option<Cow<'a, str>>,
    /// The text after the header (the whole line when there is no header).
    pub message: Cow<'a, str>,
    /// For JSON log lines: a stack trace carried in a field (`stack_trace`, `err.stack`...).
    pub stack_trace: Option<Cow<'a, str>>,
    /// The line is a JSON object (a JSON log line: one event, never merged).
    pub is_json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    pub layout: String,
    pub reason: String,
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "header layout {:?}: {}", self.layout, self.reason)
    }
}

impl std::error::Error for LayoutError {}

/// Header recognition: the built-in layouts plus user layouts from the settings.
#[derive(Debug, Clone, Default)]
pub struct HeaderParser {
    layouts: Vec<Layout>,
}

/// How far into a line `starts_event` looks for a date: prefixes such as a file name
/// (`nova-api.log.1.2017-05-16_13:53:08 2017-05-16 ...`) push it past the start.
const DATE_WINDOW: usize = 64;

/// How far into a plain-text line the id markers (`trace_id=`...) are looked for.
const ID_WINDOW: usize = 2048;

impl HeaderParser {
    /// `custom_layouts`: strptime-like timestamp layouts (`%Y-%m-%d %H:%M:%S`, ...)
    /// tried before the built-in ones.
    pub fn new(custom_layouts: &[&str]) -> Result<Self, LayoutError> {
        let layouts = custom_layouts
            .iter()
            .map(|l| Layout::compile(l))
            .collect::<Result<_, _>>()?;
        Ok(Self { layouts })
    }

    /// Parses the header of `line`. `reference` is the record's time, used for layouts
    /// without a year (syslog) or without a date (Go `log` with only a time).
    pub fn parse<'a>(&self, line: &'a str, reference: Timestamp) -> Header<'a> {
        let mut h = Header {
            message: Cow::Borrowed(line),
            ..Header::default()
        };
        let trimmed = line.trim_start();
        if trimmed.starts_with('{') && parse_json(line, reference, &mut h) {
            return h;
        }
        let message_start = match self.custom_header(line, reference, &mut h) {
            Some(p) => Some(p),
            None => builtin_header(line, reference, &mut h),
        };
        match message_start {
            Some(MESSAGE_SET) => {}
            Some(p) => h.message = Cow::Borrowed(line[p.min(line.len())..].trim_start()),
            None => {
                if let Some(ts) = timestamp_in_text(line.as_bytes(), reference) {
                    h.timestamp = Some(ts);
                }
            }
        }
        php_level(&mut h);
        scan_ids(line, &mut h);
        h
    }

    /// Cheap test used by the grouper: does this line begin a new timestamped event?
    /// True for a JSON object, a date (or a dateless layout: klog, syslog, a time with a
    /// fraction) near the start; false for indented lines and stack-trace lines.
    pub fn starts_event(&self, line: &str) -> bool {
        let b = line.as_bytes();
        match b.first() {
            None => return false,
            Some(b' ' | b'\t') => return false,
            Some(b'{') => return true,
            _ => {}
        }
        let after_bracket = usize::from(b[0] == b'[');
        if self.layouts.iter().any(|l| {
            l.match_at(b, 0).is_some() || (after_bracket == 1 && l.match_at(b, 1).is_some())
        }) {
            return true;
        }
        if is_trace_line(b) {
            return false;
        }
        // Dateless layouts recognized at the very start.
        if time_with_fraction(b, after_bracket) || klog_prefix(b).is_some() {
            return true;
        }
        date_near_start(b)
    }
}

// ---------------------------------------------------------------------------------------
// Timestamp pieces

/// A timestamp as read from text, before missing parts are filled from the reference.
#[derive(Debug, Clone, Copy, Default)]
struct Parts {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    offset: i32,
    pm: Option<bool>,
    epoch: Option<i64>,
}

const DAY: i64 = 86_400;

impl Parts {
    /// The instant, with a missing year or date taken from `reference` (the record's time),
    /// choosing the candidate closest to it so a line just before midnight (or New Year)
    /// read just after still lands on the right day.
    fn resolve(self, reference: Timestamp) -> Option<Timestamp> {
        if let Some(secs) = self.epoch {
            return Some(Timestamp::new(secs, self.nanos));
        }
        let mut hour = self.hour;
        match self.pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
        let civil = reference.to_civil();
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
            let year = self.year.unwrap_or(civil.year);
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
                let this = build(civil.year, m, d);
                match this {
                    Some(t) if t.secs > reference.secs + 7 * DAY => {
                        build(civil.year - 1, m, d).or(Some(t))
                    }
                    Some(t) => Some(t),
                    None => build(civil.year - 1, m, d),
                }
            }
            _ => {
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
fn digits(b: &[u8], pos: usize, min: usize, max: usize) -> Option<(u32, usize)> {
    let mut v = 0u32;
    let mut i = pos;
    while i < b.len() && i - pos < max && b[i].is_ascii_digit() {
        v = v * 10 + u32::from(b[i] - b'0');
        i += 1;
    }
    (i - pos >= min).then_some((v, i))
}

/// Digits not followed by another digit (so `12:30:2017` is not the time `12:30:20`).
fn digits_exact(b: &[u8], pos: usize, min: usize, max: usize) -> Option<(u32, usize)> {
    let (v, end) = digits(b, pos, min, max)?;
    (!b.get(end).is_some_and(u8::is_ascii_digit)).then_some((v, end))
}

/// A fraction of a second at `pos` (its first digit): nanoseconds and the end.
fn fraction(b: &[u8], pos: usize) -> Option<(u32, usize)> {
    let mut nanos = 0u32;
    let mut i = pos;
    while i < b.len() && b[i].is_ascii_digit() {
        if i - pos < 9 {
            nanos = nanos * 10 + u32::from(b[i] - b'0');
        }
        i += 1;
    }
    let n = i - pos;
    if n == 0 {
        return None;
    }
    for _ in n..9 {
        nanos *= 10;
    }
    Some((nanos, i))
}

fn byte_is(b: &[u8], pos: usize, want: u8) -> bool {
    b.get(pos) == Some(&want)
}

fn skip_spaces(b: &[u8], mut pos: usize) -> usize {
    while matches!(b.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

const MONTHS: [&[u8]; 12] = [
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

const WEEKDAYS: [&[u8]; 7] = [
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
fn name_at(b: &[u8], pos: usize, names: &[&[u8]]) -> Option<(u32, usize)> {
    if pos >= b.len() {
        return None;
    }
    let mut end = pos;
    while end < b.len() && b[end].is_ascii_alphabetic() {
        end += 1;
    }
    let word = &b[pos..end];
    if word.len() < 3 {
        return None;
    }
    names
        .iter()
        .position(|name| {
            word.len() <= name.len()
                && word
                    .iter()
                    .zip(*name)
                    .all(|(a, n)| a.to_ascii_lowercase() == *n)
        })
        .map(|i| (i as u32 + 1, end))
}

fn month_at(b: &[u8], pos: usize) -> Option<(u32, usize)> {
    name_at(b, pos, &MONTHS)
}

/// `HH:MM[:SS][.fraction]` at `pos`, hour with 1 or 2 digits.
fn time_at(b: &[u8], pos: usize, parts: &mut Parts) -> Option<usize> {
    let (hour, p) = digits(b, pos, 1, 2)?;
    if !byte_is(b, p, b':') {
        return None;
    }
    let (minute, mut p) = digits_exact(b, p + 1, 2, 2)?;
    let mut second = 0;
    if byte_is(b, p, b':') {
        let (s, q) = digits_exact(b, p + 1, 2, 2)?;
        second = s;
        p = q;
        if matches!(b.get(p), Some(b'.' | b',')) && b.get(p + 1).is_some_and(u8::is_ascii_digit) {
            let (nanos, q) = fraction(b, p + 1)?;
            parts.nanos = nanos;
            p = q;
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    parts.hour = hour;
    parts.minute = minute;
    parts.second = second;
    Some(p)
}

/// Zone abbreviations with a fixed meaning; anything else is not read as a zone.
const ZONE_NAMES: [(&[u8], i32); 17] = [
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
fn zone_at(b: &[u8], pos: usize) -> Option<(i32, usize)> {
    match b.get(pos)? {
        b'Z' | b'z' if !b.get(pos + 1).is_some_and(u8::is_ascii_alphabetic) => Some((0, pos + 1)),
        sign @ (b'+' | b'-') => {
            let (hh, p) = digits(b, pos + 1, 2, 2)?;
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
fn trailing_zone(b: &[u8], pos: usize, parts: &mut Parts) -> usize {
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
fn iso_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let (year, p) = digits(b, pos, 4, 4)?;
    if !matches!(b.get(p), Some(b'-' | b'/' | b'.')) {
        return None;
    }
    let (month, p) = digits(b, p + 1, 1, 2)?;
    if !matches!(b.get(p), Some(b'-' | b'/' | b'.')) {
        return None;
    }
    let (day, p) = digits_exact(b, p + 1, 1, 2)?;
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
    let p = time_at(b, p, &mut parts)?;
    let p = trailing_zone(b, p, &mut parts);
    Some((parts, p))
}

/// `M/D/YYYY h:mm:ss [AM|PM]` (US) or `D.M.YYYY HH:MM:SS` (European).
fn numeric_date_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
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

fn am_pm(b: &[u8], pos: usize, parts: &mut Parts) -> usize {
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
fn month_name_date_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
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
fn ctime_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let (_, p) = name_at(b, pos, &WEEKDAYS)?;
    let p = skip_spaces(b, p);
    let (mut parts, p) = month_name_date_at(b, p)?;
    if parts.year.is_some() {
        return Some((parts, p));
    }
    let q = skip_spaces(b, p);
    let (year, q) = digits_exact(b, q, 4, 4)?;
    parts.year = Some(year as i32);
    Some((parts, q))
}

/// `DD/Mon/YYYY:HH:MM:SS +zzzz` (access logs) and `DD-Mon-YYYY HH:MM:SS [zone]` (PHP).
fn day_month_name_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
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

/// `YYYY-MM-DD` alone (the date after a time).
fn date_only_at(b: &[u8], pos: usize) -> Option<(i32, u32, u32, usize)> {
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
fn timestamp_at(b: &[u8], pos: usize) -> Option<(Parts, usize)> {
    let first = *b.get(pos)?;
    if first.is_ascii_digit() {
        iso_at(b, pos)
            .or_else(|| day_month_name_at(b, pos))
            .or_else(|| numeric_date_at(b, pos))
            .or_else(|| {
                let mut parts = Parts::default();
                let end = time_at(b, pos, &mut parts)?;
                // A time alone needs its seconds: `10:10 foo` is not a header.
                (end >= pos + 7).then_some((parts, end))
            })
    } else if first.is_ascii_alphabetic() {
        ctime_at(b, pos).or_else(|| month_name_date_at(b, pos))
    } else {
        None
    }
}

/// A timestamp given as a JSON/logfmt value: a layout above, or epoch seconds, millis,
/// micros or nanos (told apart by magnitude), possibly with a fraction.
fn timestamp_value(text: &str, reference: Timestamp) -> Option<Timestamp> {
    let b = text.trim().as_bytes();
    if b.is_empty() {
        return None;
    }
    if let Some(ts) = epoch(b) {
        return Some(ts);
    }
    let (parts, _) = timestamp_at(b, 0)?;
    parts.resolve(reference)
}

fn epoch(b: &[u8]) -> Option<Timestamp> {
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
fn timestamp_in_text(b: &[u8], reference: Timestamp) -> Option<Timestamp> {
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

// ---------------------------------------------------------------------------------------
// starts_event

/// Lines that belong to a stack trace or a traceback even though they start at column 0.
fn is_trace_line(b: &[u8]) -> bool {
    const PREFIXES: [&[u8]; 12] = [
        b"Caused by",
        b"Suppressed:",
        b"Traceback",
        b"During handling",
        b"The above exception",
        b"panic:",
        b"goroutine ",
        b"Exception in thread",
        b"at ",
        b"...",
        b"Stack trace:",
        b"created by ",
    ];
    PREFIXES.iter().any(|p| b.starts_with(p))
        || (b.first() == Some(&b'#') && b.get(1).is_some_and(u8::is_ascii_digit))
        || first_word_ends_with_colon(b)
}

/// `ValueError: ...`, `java.lang.IllegalStateException: ...`: an exception line, whose
/// message may well contain a date. (A header's own first word never ends in a colon
/// before its date, except level words, which are not followed by a date anyway.)
fn first_word_ends_with_colon(b: &[u8]) -> bool {
    let end = b
        .iter()
        .take(DATE_WINDOW)
        .position(|&c| c == b' ')
        .unwrap_or(0);
    end > 1 && b[end - 1] == b':' && b[0].is_ascii_alphabetic()
}

/// `HH:MM:SS.fff` at `pos` (Logback's default layout has no date).
fn time_with_fraction(b: &[u8], pos: usize) -> bool {
    let mut parts = Parts::default();
    time_at(b, pos, &mut parts)
        .is_some_and(|end| b[pos..end].iter().any(|&c| c == b'.' || c == b','))
}

/// klog: `E1120 13:10:00.123456`.
fn klog_prefix(b: &[u8]) -> Option<(Level, Parts, usize)> {
    let level = match b.first()? {
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' => Level::Error,
        b'F' => Level::Fatal,
        _ => return None,
    };
    let (mmdd, p) = digits_exact(b, 1, 4, 4)?;
    if !byte_is(b, p, b' ') {
        return None;
    }
    let mut parts = Parts {
        month: Some(mmdd / 100),
        day: Some(mmdd % 100),
        ..Parts::default()
    };
    let p = time_at(b, p + 1, &mut parts)?;
    Some((level, parts, p))
}

/// A date-like token in the first bytes: `YYYY-MM-DD` (any of `-/.`, years 1900-2199),
/// `DD/Mon/YYYY`, `M/D/YYYY`, `Mon DD HH:MM`, `Mon DD, YYYY`.
fn date_near_start(b: &[u8]) -> bool {
    find_date(&b[..b.len().min(DATE_WINDOW)], 0).is_some()
}

/// The position of the first date-like token in `w` at or after `from`.
fn find_date(w: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < w.len() {
        let c = w[i];
        let word_start = i == 0 || !w[i - 1].is_ascii_alphanumeric();
        if c.is_ascii_digit() && (i == 0 || !w[i - 1].is_ascii_digit()) {
            if year_first_date(w, i) {
                return Some(i);
            }
            if word_start && (day_month_name_at(w, i).is_some() || day_first_date(w, i)) {
                return Some(i);
            }
        } else if c.is_ascii_uppercase() && word_start && month_name_day(w, i) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn year_first_date(w: &[u8], i: usize) -> bool {
    let Some((year, p)) = digits(w, i, 4, 4) else {
        return false;
    };
    if !(1900..=2199).contains(&year) || !matches!(w.get(p), Some(b'-' | b'/' | b'.')) {
        return false;
    }
    let Some((month, p)) = digits(w, p + 1, 1, 2) else {
        return false;
    };
    if !matches!(w.get(p), Some(b'-' | b'/' | b'.')) {
        return false;
    }
    let Some((day, _)) = digits_exact(w, p + 1, 1, 2) else {
        return false;
    };
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn day_first_date(w: &[u8], i: usize) -> bool {
    let Some((a, p)) = digits(w, i, 1, 2) else {
        return false;
    };
    let Some(&sep) = w.get(p) else {
        return false;
    };
    if sep != b'/' && sep != b'.' {
        return false;
    }
    let Some((c, q)) = digits(w, p + 1, 1, 2) else {
        return false;
    };
    if !byte_is(w, q, sep) {
        return false;
    }
    let Some((year, _)) = digits_exact(w, q + 1, 4, 4) else {
        return false;
    };
    (1900..=2199).contains(&year)
        && (1..=31).contains(&a)
        && (1..=31).contains(&c)
        && (a <= 12 || c <= 12)
}

fn month_name_day(w: &[u8], i: usize) -> bool {
    let Some((_, p)) = month_at(w, i) else {
        return false;
    };
    // Only the capitalized abbreviation: `may` and `march` are words too.
    if p - i != 3 || !w[i + 1].is_ascii_lowercase() {
        return false;
    }
    let p = skip_spaces(w, p);
    let Some((day, p)) = digits_exact(w, p, 1, 2) else {
        return false;
    };
    if !(1..=31).contains(&day) {
        return false;
    }
    if byte_is(w, p, b',') {
        let q = skip_spaces(w, p + 1);
        return digits_exact(w, q, 4, 4).is_some();
    }
    let q = skip_spaces(w, p);
    q > p && time_at(w, q, &mut Parts::default()).is_some()
}

// ---------------------------------------------------------------------------------------
// Custom layouts

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Literal(u8),
    /// One or more spaces.
    Space,
    Year,
    Year2,
    Month,
    MonthName,
    Day,
    DayPadded,
    DayOfYear,
    Hour,
    Hour12,
    Minute,
    Second,
    Fraction,
    Zone,
    AmPm,
    Weekday,
    Epoch,
}

#[derive(Debug, Clone)]
struct Layout {
    items: Vec<Item>,
}

impl Layout {
    fn compile(source: &str) -> Result<Self, LayoutError> {
        let fail = |reason: String| LayoutError {
            layout: source.to_string(),
            reason,
        };
        if source.trim().is_empty() {
            return Err(fail("empty layout".into()));
        }
        let mut items = Vec::new();
        let mut chars = source.char_indices();
        while let Some((_, c)) = chars.next() {
            if c == ' ' {
                if items.last() != Some(&Item::Space) {
                    items.push(Item::Space);
                }
                continue;
            }
            if c != '%' {
                let mut buf = [0u8; 4];
                items.extend(c.encode_utf8(&mut buf).bytes().map(Item::Literal));
                continue;
            }
            let Some((at, d)) = chars.next() else {
                return Err(fail("ends with a lone '%'".into()));
            };
            let item = match d {
                'Y' => Item::Year,
                'y' => Item::Year2,
                'm' => Item::Month,
                'b' | 'B' | 'h' => Item::MonthName,
                'd' => Item::Day,
                'e' => Item::DayPadded,
                'j' => Item::DayOfYear,
                'H' => Item::Hour,
                'I' => Item::Hour12,
                'M' => Item::Minute,
                'S' => Item::Second,
                'f' => Item::Fraction,
                'z' | 'Z' => Item::Zone,
                'p' => Item::AmPm,
                'a' | 'A' => Item::Weekday,
                's' => Item::Epoch,
                'T' => {
                    items.extend([Item::Hour, Item::Literal(b':'), Item::Minute, Item::Literal(b':'), Item::Second]);
                    continue;
                }
                'F' => {
                    items.extend([Item::Year, Item::Literal(b'-'), Item::Month, Item::Literal(b'-'), Item::Day]);
                    continue;
                }
                '%' => Item::Literal(b'%'),
                other => {
                    return Err(fail(format!(
                        "unknown directive %{other} at byte {} (known: %Y %y %m %b %d %e %j %H %I %M %S %f %z %p %a %s %T %F %%)",
                        at - 1
                    )))
                }
            };
            if item != Item::Literal(b'%') && items.contains(&item) {
                return Err(fail(format!("%{d} appears twice")));
            }
            items.push(item);
        }
        let has = |i: Item| items.contains(&i);
        if !has(Item::Epoch) {
            if !(has(Item::Hour) || has(Item::Hour12)) || !has(Item::Minute) {
                return Err(fail("needs a time of day (%H or %I, and %M) or %s".into()));
            }
            if has(Item::Hour12) != has(Item::AmPm) {
                return Err(fail("%I and %p go together".into()));
            }
            if has(Item::Hour) && has(Item::Hour12) {
                return Err(fail("%H and %I both given".into()));
            }
            let month = has(Item::Month) || has(Item::MonthName);
            let day = has(Item::Day) || has(Item::DayPadded);
            if month != day || (has(Item::DayOfYear) && (month || day)) {
                return Err(fail("a date needs both month and day (or %j alone)".into()));
            }
            if (has(Item::Year) || has(Item::Year2)) && !month && !has(Item::DayOfYear) {
                return Err(fail("a year without month and day".into()));
            }
        }
        if has(Item::Year) && has(Item::Year2) {
            return Err(fail("%Y and %y both given".into()));
        }
        Ok(Self { items })
    }

    /// Matches the layout at `pos`: the parts read and the end.
    fn match_at(&self, b: &[u8], pos: usize) -> Option<(Parts, usize)> {
        let mut parts = Parts::default();
        let mut p = pos;
        for item in &self.items {
            p = match *item {
                Item::Literal(c) => byte_is(b, p, c).then_some(p + 1)?,
                Item::Space => {
                    let q = skip_spaces(b, p);
                    (q > p).then_some(q)?
                }
                Item::Year => {
                    let (v, q) = digits(b, p, 4, 4)?;
                    parts.year = Some(v as i32);
                    q
                }
                Item::Year2 => {
                    let (v, q) = digits(b, p, 2, 2)?;
                    parts.year = Some(2000 + v as i32);
                    q
                }
                Item::Month => {
                    let (v, q) = digits(b, p, 1, 2)?;
                    parts.month = Some(v);
                    q
                }
                Item::MonthName => {
                    let (v, q) = month_at(b, p)?;
                    parts.month = Some(v);
                    q
                }
                Item::Day => {
                    let (v, q) = digits(b, p, 1, 2)?;
                    parts.day = Some(v);
                    q
                }
                Item::DayPadded => {
                    let (v, q) = digits(b, skip_spaces(b, p), 1, 2)?;
                    parts.day = Some(v);
                    q
                }
                Item::DayOfYear => {
                    let (v, q) = digits(b, p, 1, 3)?;
                    parts.day_of_year = Some(v);
                    q
                }
                Item::Hour | Item::Hour12 => {
                    let (v, q) = digits(b, p, 1, 2)?;
                    parts.hour = v;
                    q
                }
                Item::Minute => {
                    let (v, q) = digits(b, p, 2, 2)?;
                    parts.minute = v;
                    q
                }
                Item::Second => {
                    let (v, q) = digits(b, p, 2, 2)?;
                    parts.second = v;
                    q
                }
                Item::Fraction => {
                    let (v, q) = fraction(b, p)?;
                    parts.nanos = v;
                    q
                }
                Item::Zone => {
                    let (v, q) = zone_at(b, p)?;
                    parts.offset = v;
                    q
                }
                Item::AmPm => {
                    let q = am_pm(b, p, &mut parts);
                    (q > p).then_some(q)?
                }
                Item::Weekday => name_at(b, p, &WEEKDAYS)?.1,
                Item::Epoch => {
                    let (v, q) = digits(b, p, 1, 9)?;
                    let (rest, q2) = digits(b, q, 0, 9)?;
                    let width = (q2 - q) as u32;
                    parts.epoch = Some(i64::from(v) * 10i64.pow(width) + i64::from(rest));
                    q2
                }
            };
        }
        if parts.hour > 23 || parts.minute > 59 || parts.second > 60 {
            return None;
        }
        Some((parts, p))
    }
}

impl HeaderParser {
    /// A user layout at the start (or just inside a leading `[`).
    fn custom_header<'a>(
        &self,
        line: &'a str,
        reference: Timestamp,
        h: &mut Header<'a>,
    ) -> Option<usize> {
        let b = line.as_bytes();
        for layout in &self.layouts {
            let found = layout.match_at(b, 0).or_else(|| {
                let (parts, end) =
                    layout.match_at(b, usize::from(b.first() == Some(&b'[')).max(1))?;
                (b.first() == Some(&b'[')).then_some((parts, close_bracket(b, end)?))
            });
            if let Some((parts, end)) = found {
                if let Some(ts) = parts.resolve(reference) {
                    h.timestamp = Some(ts);
                    return Some(text_tail(line, end, h));
                }
            }
        }
        None
    }
}

/// Text after a bracketed timestamp, inside its brackets: Serilog's `[13:10:00 ERR]`,
/// Celery's `[2026-11-20 13:10:00,123: ERROR/MainProcess]` (level, then the process).
fn bracket_rest<'a>(line: &'a str, start: usize, close: usize, h: &mut Header<'a>) {
    let inner = line[start..close - 1].trim_matches(|c: char| c == ' ' || c == ':');
    for piece in inner.split([' ', '/']).filter(|p| !p.is_empty()) {
        if h.level.is_none() {
            if let Some(level) = Level::in_text(piece, true) {
                h.level = Some(level);
            }
        } else if h.thread.is_none() && is_name(piece.as_bytes()) {
            h.thread = Some(Cow::Borrowed(piece));
        }
    }
}

/// The position after the `]` that closes a bracketed timestamp (allowing a zone name
/// or other short text before it, as PHP writes `[... Europe/Berlin]`).
fn close_bracket(b: &[u8], pos: usize) -> Option<usize> {
    let rest = &b[pos..b.len().min(pos + 40)];
    let q = rest.iter().position(|&c| c == b']')?;
    Some(pos + q + 1)
}

// ---------------------------------------------------------------------------------------
// Built-in text layouts

/// Recognizes a header at the start of `line`; returns where the message starts.
fn builtin_header<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> Option<usize> {
    let b = line.as_bytes();
    let first = *b.first()?;
    if first == b'<' {
        return syslog_pri(line, reference, h);
    }
    if first == b'[' {
        if let Some((parts, end)) = timestamp_at(b, 1) {
            let close = close_bracket(b, end)?;
            h.timestamp = parts.resolve(reference);
            bracket_rest(line, end, close, h);
            return Some(text_tail(line, close, h));
        }
        return level_only(line, h);
    }
    if let Some((level, parts, end)) = klog_prefix(b) {
        h.level = Some(level);
        h.timestamp = parts.resolve(reference);
        return Some(klog_tail(line, end, h));
    }
    if let Some(end) = rails(line, reference, h) {
        return Some(end);
    }
    if let Some((mut parts, mut end)) = timestamp_at(b, 0) {
        if parts.month.is_none() && parts.epoch.is_none() {
            // A time first, then its date: `13:45:30 2021-03-28`.
            if let Some((y, m, d, e)) = date_only_at(b, skip_spaces(b, end)) {
                (parts.year, parts.month, parts.day) = (Some(y), Some(m), Some(d));
                end = e;
            }
        }
        h.timestamp = parts.resolve(reference);
        if parts.year.is_none() && parts.month.is_some() && parts.epoch.is_none() {
            if let Some(msg) = syslog_tail(line, end, h) {
                return Some(msg);
            }
        }
        return Some(text_tail(line, end, h));
    }
    if let Some(end) = access_log(line, reference, h) {
        return Some(end);
    }
    if let Some(end) = logfmt(line, reference, h) {
        return Some(end);
    }
    level_only(line, h)
}

fn token_end(b: &[u8], pos: usize) -> usize {
    let mut e = pos;
    while e < b.len() && !matches!(b[e], b' ' | b'\t') {
        e += 1;
    }
    e
}

fn is_separator(tok: &[u8]) -> bool {
    matches!(
        tok,
        b"-" | b"--" | b"---" | b":" | b"|" | b"::" | b"=>" | b">"
    )
}

/// A logger-like name: letters, digits and `. _ $ / -`, starting with a letter.
fn is_name(tok: &[u8]) -> bool {
    tok.first().is_some_and(u8::is_ascii_alphabetic)
        && tok
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'$' | b'/' | b'-'))
}

fn is_hex_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

fn nonempty(s: &str) -> Option<Cow<'_, str>> {
    let s = s.trim();
    (!s.is_empty()).then_some(Cow::Borrowed(s))
}

/// Reads the fields between a timestamp and the message: level words, `[thread]`,
/// Spring's `pid --- [app] [thread] logger :`, Sleuth `[app,trace,span]`, Python's
/// `- logger - LEVEL -`, Logback's `logger - `, Flask's `LEVEL in module:`, Rails'
/// `LEVEL -- progname:`. Returns where the message starts.
fn text_tail<'a>(line: &'a str, pos: usize, h: &mut Header<'a>) -> usize {
    let b = line.as_bytes();
    let mut p = pos;
    let mut after_dashes = false;
    let mut thread_after_dashes = false;
    let mut after_rails_sep = false;
    let mut after_in = false;
    for _ in 0..12 {
        p = skip_spaces(b, p);
        if p >= b.len() {
            return p;
        }
        if b[p] == b'[' {
            let Some(close) = b[p..b.len().min(p + 256)].iter().position(|&c| c == b']') else {
                return p;
            };
            let inner = &line[p + 1..p + close];
            if !bracket(inner, h, after_dashes, &mut thread_after_dashes) {
                return p;
            }
            p += close + 1;
            continue;
        }
        let end = token_end(b, p);
        let tok = &b[p..end];
        let word = &line[p..end];
        if is_separator(tok) {
            if tok == b"---" {
                after_dashes = true;
            }
            after_rails_sep = tok == b"--";
            p = end;
            continue;
        }
        let bare = word.trim_end_matches(':');
        let colon = bare.len() < word.len();
        if h.level.is_none() {
            if let Some(level) = Level::in_text(bare, colon) {
                h.level = Some(level);
                p = end;
                continue;
            }
        }
        let next = skip_spaces(b, end);
        let next_end = token_end(b, next);
        let next_tok = &b[next..next_end];
        // Spring's pid and OpenStack's pid before the level (MySQL's thread id before
        // `[ERROR]`); nginx `7#7:`; `*1`; Airflow's source location `{models.py:12}`.
        if tok.iter().all(u8::is_ascii_digit)
            && (next_tok == b"---"
                || Level::in_text(&line[next..next_end], false).is_some()
                || bracketed_level(next_tok))
        {
            p = end;
            continue;
        }
        if tok.len() > 2 && tok[0] == b'{' && tok[tok.len() - 1] == b'}' {
            p = end;
            continue;
        }
        if is_pid_tid(tok)
            || (tok.len() > 1 && tok[0] == b'*' && tok[1..].iter().all(u8::is_ascii_digit))
        {
            p = end;
            continue;
        }
        if tok == b"in" && h.level.is_some() && h.logger.is_none() {
            after_in = true;
            p = end;
            continue;
        }
        if h.logger.is_none() && is_name(bare.as_bytes()) {
            if colon && (bare.contains('.') || after_in || after_rails_sep) {
                h.logger = Some(Cow::Borrowed(bare));
                return end;
            }
            if !colon && is_separator(next_tok) {
                h.logger = Some(Cow::Borrowed(word));
                p = end;
                continue;
            }
        }
        return p;
    }
    p
}

/// `[ERROR]`, `[warning]`.
fn bracketed_level(tok: &[u8]) -> bool {
    tok.len() > 2
        && tok[0] == b'['
        && tok[tok.len() - 1] == b']'
        && std::str::from_utf8(&tok[1..tok.len() - 1])
            .ok()
            .and_then(|w| Level::in_text(w, true))
            .is_some()
}

fn is_pid_tid(tok: &[u8]) -> bool {
    let t = tok.strip_suffix(b":").unwrap_or(tok);
    match t.iter().position(|&c| c == b'#') {
        Some(i) => {
            i > 0
                && i + 1 < t.len()
                && t[..i].iter().all(u8::is_ascii_digit)
                && t[i + 1..].iter().all(u8::is_ascii_digit)
        }
        None => false,
    }
}

/// Interprets one `[...]` of a text header. Returns false when it is not header material
/// (the message starts there).
fn bracket<'a>(
    inner: &'a str,
    h: &mut Header<'a>,
    after_dashes: bool,
    thread_after_dashes: &mut bool,
) -> bool {
    let trimmed = inner.trim();
    // `[error]`, `[core:error]` (Apache 2.4), `[ERROR]`.
    let level_word = trimmed.rsplit(':').next().unwrap_or(trimmed);
    if let Some(level) = Level::in_text(level_word, true) {
        if h.level.is_none() {
            h.level = Some(level);
        }
        return true;
    }
    if trimmed.is_empty() {
        return true;
    }
    // Sleuth `[app,trace,span(,export)]` / `[trace,span]`.
    if trimmed.contains(',') {
        let parts: Vec<&str> = trimmed.split(',').map(str::trim).collect();
        let (app, trace, span) = match parts.as_slice() {
            [app, trace, span, _] | [app, trace, span] => (Some(*app), *trace, *span),
            [trace, span] => (None, *trace, *span),
            _ => return false,
        };
        if (trace.is_empty() || is_hex_id(trace)) && (span.is_empty() || is_hex_id(span)) {
            if let Some(app) = app.and_then(nonempty) {
                h.service.get_or_insert(app);
            }
            if let Some(t) = nonempty(trace) {
                h.trace_id.get_or_insert(t);
            }
            if let Some(s) = nonempty(span) {
                h.span_id.get_or_insert(s);
            }
            return true;
        }
        return false;
    }
    // Spring Boot 3.2 correlation `[traceId-spanId]`.
    if let Some((trace, span)) = trimmed.split_once('-') {
        if trace.len() >= 16 && is_hex_id(trace) && is_hex_id(span) && span.len() >= 8 {
            h.trace_id.get_or_insert(Cow::Borrowed(trace));
            h.span_id.get_or_insert(Cow::Borrowed(span));
            return true;
        }
    }
    // Apache 2.4 `[pid 35708:tid 4328636416]`, `[client 1.2.3.4:5]`.
    if let Some(rest) = trimmed.strip_prefix("pid ") {
        if let Some((_, tid)) = rest.split_once("tid ") {
            h.thread.get_or_insert(Cow::Borrowed(tid.trim()));
        }
        return true;
    }
    if trimmed.starts_with("client ") {
        return true;
    }
    // Spring Boot 3: `--- [app] [thread]`: the first of two brackets is the application.
    if after_dashes && *thread_after_dashes && h.service.is_none() {
        h.service = h.thread.take();
        h.thread = Some(Cow::Borrowed(trimmed));
        return true;
    }
    if h.thread.is_none() {
        h.thread = Some(Cow::Borrowed(trimmed));
        *thread_after_dashes = after_dashes;
        return true;
    }
    false
}

/// klog: `   12345 file.go:123] msg` after the time: thread id, source location, message.
fn klog_tail<'a>(line: &'a str, pos: usize, h: &mut Header<'a>) -> usize {
    let b = line.as_bytes();
    let p = skip_spaces(b, pos);
    let end = token_end(b, p);
    if end > p && b[p..end].iter().all(u8::is_ascii_digit) {
        h.thread = Some(Cow::Borrowed(&line[p..end]));
    }
    match b[pos..b.len().min(pos + 200)]
        .iter()
        .position(|&c| c == b']')
    {
        Some(q) => pos + q + 1,
        None => pos,
    }
}

/// Rails/Ruby Logger: `F, [2026-11-20T13:10:00.123456 #1] FATAL -- app: msg`.
fn rails<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> Option<usize> {
    let b = line.as_bytes();
    let letter_level = match b.first()? {
        b'D' => Level::Debug,
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' => Level::Error,
        b'F' => Level::Fatal,
        b'A' | b'U' => Level::Info,
        _ => return None,
    };
    if !b[1..].starts_with(b", [") {
        return None;
    }
    let (parts, end) = timestamp_at(b, 4)?;
    let p = skip_spaces(b, end);
    let close = close_bracket(b, p)?;
    if byte_is(b, p, b'#') {
        let pid = line[p + 1..close - 1].trim();
        if !pid.is_empty() {
            h.thread = Some(Cow::Borrowed(pid));
        }
    }
    h.timestamp = parts.resolve(reference);
    let msg = text_tail(line, close, h);
    h.level.get_or_insert(letter_level);
    Some(msg)
}

/// syslog after its `Mon DD HH:MM:SS`: `host app[pid]: msg`.
fn syslog_tail<'a>(line: &'a str, pos: usize, h: &mut Header<'a>) -> Option<usize> {
    let b = line.as_bytes();
    let host = skip_spaces(b, pos);
    let host_end = token_end(b, host);
    let tag = skip_spaces(b, host_end);
    let tag_end = token_end(b, tag);
    if host_end == host || tag_end == tag || b[tag_end - 1] != b':' {
        return None;
    }
    let tag_text = &line[tag..tag_end - 1];
    let app = match tag_text.find('[') {
        Some(i) => {
            let pid = tag_text[i + 1..].trim_end_matches(']');
            if !pid.is_empty() {
                h.thread = Some(Cow::Borrowed(pid));
            }
            &tag_text[..i]
        }
        None => tag_text,
    };
    if !app.is_empty() {
        h.service = Some(Cow::Borrowed(app));
    }
    Some(tag_end)
}

/// `<PRI>` syslog: RFC 5424 (`<34>1 2026-11-20T... host app procid msgid [sd] msg`) or
/// RFC 3164 (`<34>Dec 14 06:41:08 host app[123]: msg`). The level is the PRI's severity.
fn syslog_pri<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> Option<usize> {
    let b = line.as_bytes();
    let (pri, p) = digits(b, 1, 1, 3)?;
    if !byte_is(b, p, b'>') || pri > 191 {
        return None;
    }
    h.level = Level::from_code(pri % 8);
    let p = p + 1;
    if byte_is(b, p, b'1') && byte_is(b, p + 1, b' ') {
        let mut fields = [(0usize, 0usize); 5];
        let mut q = p + 2;
        for field in fields.iter_mut() {
            q = skip_spaces(b, q);
            let e = token_end(b, q);
            *field = (q, e);
            q = e;
        }
        let text = |(s, e): (usize, usize)| {
            let t = &line[s..e];
            (t != "-" && !t.is_empty()).then_some(Cow::Borrowed(t))
        };
        if let Some((parts, _)) = timestamp_at(b, fields[0].0) {
            h.timestamp = parts.resolve(reference);
        }
        h.service = text(fields[2]);
        h.thread = text(fields[3]);
        // Structured data: `-` or one or more `[...]` (quoted values may hold `]`).
        let mut q = skip_spaces(b, q);
        if byte_is(b, q, b'-') {
            q += 1;
        } else {
            while byte_is(b, q, b'[') {
                let mut in_quotes = false;
                let mut i = q + 1;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 1,
                        b'"' => in_quotes = !in_quotes,
                        b']' if !in_quotes => break,
                        _ => {}
                    }
                    i += 1;
                }
                q = (i + 1).min(b.len());
            }
        }
        let q = skip_spaces(b, q);
        let q = if line[q..].starts_with('\u{feff}') {
            q + 3
        } else {
            q
        };
        return Some(q);
    }
    let (parts, end) = timestamp_at(b, p)?;
    h.timestamp = parts.resolve(reference);
    Some(syslog_tail(line, end, h).unwrap_or(end))
}

/// Common/combined access log: `host ident user [16/May/2024:19:49:17 +0000] "GET / ..." 500`.
fn access_log<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> Option<usize> {
    let b = line.as_bytes();
    let open = b[..b.len().min(120)].iter().position(|&c| c == b'[')?;
    if open < 2 || b[open - 1] != b' ' {
        return None;
    }
    let (parts, end) = day_month_name_at(b, open + 1)?;
    let close = close_bracket(b, end)?;
    h.timestamp = parts.resolve(reference);
    let msg = skip_spaces(b, close);
    // The status follows the quoted request line.
    if byte_is(b, msg, b'"') {
        let mut i = msg + 1;
        while i < b.len() && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        let s = skip_spaces(b, i + 1);
        if let Some((status, _)) = digits_exact(b, s, 3, 3) {
            h.level = Some(match status {
                500..=599 => Level::Error,
                400..=499 => Level::Warn,
                _ => Level::Info,
            });
        }
    }
    Some(msg)
}

/// A level word alone at the start: `ERROR: msg`, `[ERROR] msg`, `error: msg`,
/// `WARN  [main] ...`, Python's `ERROR:app.billing:msg`, .NET's `info: Category[1]`.
fn level_only<'a>(line: &'a str, h: &mut Header<'a>) -> Option<usize> {
    let b = line.as_bytes();
    if b.first() == Some(&b'[') {
        let close = b[..b.len().min(16)].iter().position(|&c| c == b']')?;
        let level = Level::in_text(line[1..close].trim(), true)?;
        h.level = Some(level);
        return Some(text_tail(line, close + 1, h));
    }
    let word_end = b
        .iter()
        .take(16)
        .position(|&c| !c.is_ascii_alphabetic())
        .unwrap_or(b.len().min(16));
    if word_end == 0 {
        return None;
    }
    let word = &line[..word_end];
    let colon = byte_is(b, word_end, b':');
    let space = matches!(b.get(word_end), Some(b' ' | b'\t') | None);
    if !colon && !space {
        return None;
    }
    let upper = word.bytes().all(|c| c.is_ascii_uppercase());
    // A bare lower-case word (`error happened`) is prose, not a header.
    let level = Level::in_text(word, colon)?;
    if !colon && !upper {
        return None;
    }
    h.level = Some(level);
    if colon {
        // `Error: Oops` (a JavaScript exception) and `panic: boom` (Go) are the event's
        // own text, not a level tag in front of it: the message keeps them.
        if !upper && (b[0].is_ascii_uppercase() || word == "panic") {
            return Some(0);
        }
        let rest = word_end + 1;
        // Python's default format: `LEVEL:logger:message`.
        if !byte_is(b, rest, b' ') {
            if let Some(i) = b[rest..b.len().min(rest + 200)]
                .iter()
                .position(|&c| c == b':')
            {
                let logger = &line[rest..rest + i];
                if is_name(logger.as_bytes()) {
                    h.logger = Some(Cow::Borrowed(logger));
                    return Some(rest + i + 1);
                }
            }
            return Some(rest);
        }
        // .NET console: `info: Microsoft.AspNetCore.Hosting.Diagnostics[1]`.
        let p = skip_spaces(b, rest);
        let end = token_end(b, p);
        let tok = &line[p..end];
        if let Some(open) = tok.find('[') {
            let id = &tok[open + 1..];
            if tok.ends_with(']') && id[..id.len() - 1].bytes().all(|c| c.is_ascii_digit()) {
                h.logger = Some(Cow::Borrowed(&tok[..open]));
                return Some(end);
            }
        }
        return Some(rest);
    }
    Some(text_tail(line, word_end, h))
}

/// PHP names its severities in the message (`PHP Fatal error:  Uncaught ...`), also when
/// php-fpm wraps it (`NOTICE: PHP message: PHP Fatal error: ...`): that one wins.
fn php_level(h: &mut Header<'_>) {
    let msg = h.message.as_ref();
    let msg = msg.strip_prefix("PHP message: ").unwrap_or(msg);
    let Some(rest) = msg.strip_prefix("PHP ") else {
        return;
    };
    const KINDS: [(&str, Level); 8] = [
        ("Fatal error:", Level::Fatal),
        ("Parse error:", Level::Fatal),
        ("Catchable fatal error:", Level::Error),
        ("Recoverable fatal error:", Level::Error),
        ("Warning:", Level::Warn),
        ("Notice:", Level::Info),
        ("Deprecated:", Level::Info),
        ("Strict Standards:", Level::Info),
    ];
    if let Some((_, level)) = KINDS.iter().find(|(k, _)| rest.starts_with(k)) {
        h.level = Some(*level);
    }
}

/// logfmt: `time=... level=error msg="..." trace_id=...`. Only taken as a header when it
/// names at least one of time, level or message.
fn logfmt<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> Option<usize> {
    let b = line.as_bytes();
    let eq = b.iter().take(32).position(|&c| c == b'=')?;
    if eq == 0
        || !b[..eq]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'@' | b'-'))
    {
        return None;
    }
    let mut found = Header::default();
    let mut message = None;
    let mut recognized = false;
    let mut p = 0;
    while p < b.len() {
        p = skip_spaces(b, p);
        let key_start = p;
        while p < b.len() && !matches!(b[p], b'=' | b' ' | b'\t') {
            p += 1;
        }
        if !byte_is(b, p, b'=') {
            // A bare word: logfmt allows flags; skip it.
            continue;
        }
        let key = &line[key_start..p];
        p += 1;
        let value: Cow<'a, str> = if byte_is(b, p, b'"') {
            let start = p + 1;
            let mut i = start;
            let mut escaped = false;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    escaped = true;
                    i += 1;
                }
                i += 1;
            }
            let raw = &line[start..i.min(b.len())];
            p = (i + 1).min(b.len());
            if escaped {
                Cow::Owned(unquote_logfmt(raw))
            } else {
                Cow::Borrowed(raw)
            }
        } else {
            let e = token_end(b, p);
            let v = &line[p..e];
            p = e;
            Cow::Borrowed(v)
        };
        recognized |= field(key, value, reference, &mut found, &mut message);
    }
    if !recognized {
        return None;
    }
    merge(h, found);
    if let Some(m) = message {
        h.message = m;
    }
    Some(MESSAGE_SET)
}

/// Returned instead of a message position when the message is already set (logfmt's
/// `msg=`, or the whole line when there is none).
const MESSAGE_SET: usize = usize::MAX;

fn unquote_logfmt(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn merge<'a>(h: &mut Header<'a>, found: Header<'a>) {
    h.timestamp = h.timestamp.or(found.timestamp);
    h.level = h.level.or(found.level);
    h.logger = h.logger.take().or(found.logger);
    h.thread = h.thread.take().or(found.thread);
    h.service = h.service.take().or(found.service);
    h.trace_id = h.trace_id.take().or(found.trace_id);
    h.span_id = h.span_id.take().or(found.span_id);
    h.request_id = h.request_id.take().or(found.request_id);
    h.correlation_id = h.correlation_id.take().or(found.correlation_id);
    h.stack_trace = h.stack_trace.take().or(found.stack_trace);
}

/// Assigns one named field (from JSON or logfmt). Returns whether the key names a time,
/// level or message (what makes a line structured rather than text with an `=`).
fn field<'a>(
    key: &str,
    value: Cow<'a, str>,
    reference: Timestamp,
    h: &mut Header<'a>,
    message: &mut Option<Cow<'a, str>>,
) -> bool {
    match key {
        "time" | "ts" | "timestamp" | "@timestamp" | "t" | "datetime" | "date" | "asctime"
        | "@t" | "Timestamp" | "timeMillis" => {
            if h.timestamp.is_none() {
                h.timestamp = timestamp_value(&value, reference);
            }
            true
        }
        "level" | "lvl" | "severity" | "levelname" | "log.level" | "loglevel" | "log_level"
        | "level_name" | "LEVEL" | "Level" | "@l" | "LogLevel" => {
            if h.level.is_none() {
                h.level = Level::parse(&value);
            }
            true
        }
        "msg" | "message" | "log" | "@m" | "@mt" | "MESSAGE" | "Message" | "RenderedMessage" => {
            if message.is_none() {
                *message = Some(value);
            }
            true
        }
        "logger" | "logger_name" | "name" | "loggerName" | "log.logger" | "component"
        | "Category" | "SourceContext" => {
            set(&mut h.logger, value);
            false
        }
        "thread" | "thread_name" | "threadName" | "process.thread.name" => {
            set(&mut h.thread, value);
            false
        }
        "service" | "service.name" | "app" | "application" | "service_name" | "serviceName" => {
            set(&mut h.service, value);
            false
        }
        "stack_trace" | "stacktrace" | "stack" | "exception" | "exc_info" | "error.stack"
        | "err.stack" | "error.stack_trace" | "Exception" | "@x" => {
            set(&mut h.stack_trace, value);
            false
        }
        "traceparent" => {
            // W3C: `00-<32 hex trace>-<16 hex span>-<flags>`.
            let v = value.as_ref();
            let valid = v.len() >= 55
                && v.get(3..35).is_some_and(is_hex_id)
                && v.get(36..52).is_some_and(is_hex_id);
            if valid {
                set(&mut h.trace_id, sub(&value, 3, 35));
                set(&mut h.span_id, sub(&value, 36, 52));
            }
            false
        }
        _ => {
            match id_kind(key) {
                Some(IdKind::Trace) => set(&mut h.trace_id, value),
                Some(IdKind::Span) => set(&mut h.span_id, value),
                Some(IdKind::Request) => set(&mut h.request_id, value),
                Some(IdKind::Correlation) => set(&mut h.correlation_id, value),
                None => {}
            }
            false
        }
    }
}

/// A byte range of a borrowed-or-owned value, borrowed when the value is.
fn sub<'a>(value: &Cow<'a, str>, start: usize, end: usize) -> Cow<'a, str> {
    match value {
        Cow::Borrowed(v) => Cow::Borrowed(&v[start..end]),
        Cow::Owned(v) => Cow::Owned(v[start..end].to_string()),
    }
}

fn set<'a>(slot: &mut Option<Cow<'a, str>>, value: Cow<'a, str>) {
    if slot.is_none() && !value.trim().is_empty() {
        *slot = Some(value);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Trace,
    Span,
    Request,
    Correlation,
}

/// Which id a key names, ignoring case and `_ - .` (`trace_id`, `traceId`, `X-Request-ID`,
/// `dd.trace_id`, `logging.googleapis.com/trace`).
fn id_kind(key: &str) -> Option<IdKind> {
    let key = key.rsplit('/').next().unwrap_or(key);
    let mut buf = [0u8; 24];
    let mut n = 0;
    for c in key.bytes() {
        if matches!(c, b'_' | b'-' | b'.') {
            continue;
        }
        if n == buf.len() {
            return None;
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    Some(match &buf[..n] {
        b"traceid" | b"ddtraceid" | b"xb3traceid" | b"trace" | b"oteltraceid" => IdKind::Trace,
        b"spanid" | b"ddspanid" | b"xb3spanid" | b"otelspanid" => IdKind::Span,
        b"requestid" | b"xrequestid" | b"reqid" => IdKind::Request,
        b"correlationid" | b"xcorrelationid" => IdKind::Correlation,
        _ => return None,
    })
}

/// Ids marked in plain text: `trace_id=abc`, `traceId: abc`, `X-Request-ID: abc`,
/// `SpanId:5018968b4ab3f342,` — each key immediately before `=` or `:`.
fn scan_ids<'a>(line: &'a str, h: &mut Header<'a>) {
    if h.is_json {
        return;
    }
    let b = line.as_bytes();
    let window = b.len().min(ID_WINDOW);
    let mut i = 0;
    while i < window {
        let c = b[i];
        if c != b'=' && c != b':' {
            i += 1;
            continue;
        }
        let mut k = i;
        while k > 0 && (b[k - 1].is_ascii_alphanumeric() || matches!(b[k - 1], b'_' | b'-' | b'.'))
        {
            k -= 1;
        }
        let kind = if i - k >= 5 {
            id_kind(&line[k..i])
        } else {
            None
        };
        let Some(kind) = kind else {
            i += 1;
            continue;
        };
        let mut v = skip_spaces(b, i + 1);
        let quoted = matches!(b.get(v), Some(b'"' | b'\''));
        if quoted {
            v += 1;
        }
        let mut e = v;
        while e < b.len()
            && (b[e].is_ascii_alphanumeric()
                || matches!(b[e], b'-' | b'_' | b'.' | b':' | b'/' | b'+'))
        {
            e += 1;
        }
        // `RequestId:0HMD3I6TBKKDD:00000002` keeps its colon; a trailing `.` or `:` is prose.
        while e > v && matches!(b[e - 1], b'.' | b':') {
            e -= 1;
        }
        if e > v {
            let value = Cow::Borrowed(&line[v..e]);
            let slot = match kind {
                IdKind::Trace => &mut h.trace_id,
                IdKind::Span => &mut h.span_id,
                IdKind::Request => &mut h.request_id,
                IdKind::Correlation => &mut h.correlation_id,
            };
            set(slot, value);
        }
        i = e.max(i + 1);
    }
}

// ---------------------------------------------------------------------------------------
// JSON log lines

/// A JSON log line: maps the usual field names (flat or nested) into the header.
/// Returns false when the line is not a valid JSON object (it is then read as text).
fn parse_json<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> bool {
    let Ok(members) = json::parse_object(line) else {
        return false;
    };
    h.is_json = true;
    let mut message = None;
    for m in &members {
        let value = match json::string_value(m.value) {
            Some(s) => s,
            None => {
                let v = m.value;
                if v.starts_with('{') {
                    nested(&m.key, v, reference, h);
                    continue;
                }
                if v.starts_with('[') || v == "null" {
                    continue;
                }
                Cow::Borrowed(v)
            }
        };
        field(&m.key, value, reference, h, &mut message);
    }
    if let Some(m) = message {
        h.message = m;
    }
    true
}

/// Nested objects: ECS (`log.level`, `service.name`, `error.stack_trace`, `trace.id`),
/// pino (`err.stack`), Datadog (`dd.trace_id`), `exception.stacktrace`.
fn nested<'a>(key: &str, raw: &'a str, reference: Timestamp, h: &mut Header<'a>) {
    let get = |path: &[&str]| json::lookup(raw, path).and_then(scalar);
    let mut unused = None;
    match key {
        "log" => {
            if let Some(v) = get(&["level"]) {
                field("level", v, reference, h, &mut unused);
            }
            if let Some(v) = get(&["logger"]) {
                set(&mut h.logger, v);
            }
        }
        "service" => {
            if let Some(v) = get(&["name"]) {
                set(&mut h.service, v);
            }
        }
        "error" | "err" | "exception" => {
            for path in [["stack_trace"], ["stack"], ["stacktrace"]] {
                if let Some(v) = get(&path) {
                    set(&mut h.stack_trace, v);
                }
            }
        }
        "trace" | "span" | "transaction" => {
            if let Some(v) = get(&["id"]) {
                let slot = if key == "span" {
                    &mut h.span_id
                } else {
                    &mut h.trace_id
                };
                if key != "transaction" {
                    set(slot, v);
                }
            }
        }
        "dd" => {
            if let Some(v) = get(&["trace_id"]) {
                set(&mut h.trace_id, v);
            }
            if let Some(v) = get(&["span_id"]) {
                set(&mut h.span_id, v);
            }
        }
        // log4j2's JsonLayout: `instant: {epochSecond, nanoOfSecond}`, `thrown: {...}`.
        "instant" => {
            if let (Some(secs), None) = (get(&["epochSecond"]), h.timestamp) {
                let nanos = get(&["nanoOfSecond"])
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                if let (Ok(secs), true) = (secs.parse::<i64>(), nanos < 1_000_000_000) {
                    h.timestamp = Some(Timestamp::new(secs, nanos));
                }
            }
        }
        "thrown" => {
            if let Some(v) = get(&["extendedStackTrace"]) {
                set(&mut h.stack_trace, v);
            }
        }
        "process" => {
            if let Some(v) = get(&["thread", "name"]) {
                set(&mut h.thread, v);
            }
        }
        _ => {}
    }
}

/// A JSON scalar as text: a string unescaped, a number or boolean as written.
fn scalar(raw: &str) -> Option<Cow<'_, str>> {
    json::string_value(raw)
        .or_else(|| (!raw.starts_with(['{', '[', 'n'])).then_some(Cow::Borrowed(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Timestamp {
        Timestamp::from_civil(2026, 11, 20, 13, 0, 0, 0, 0).unwrap()
    }

    fn parse(line: &str) -> Header<'_> {
        HeaderParser::default().parse(line, reference())
    }

    fn ts(h: &Header<'_>) -> String {
        h.timestamp.map(|t| t.to_rfc3339()).unwrap_or_default()
    }

    fn s<'a>(v: &'a Option<Cow<'_, str>>) -> Option<&'a str> {
        v.as_deref()
    }

    #[test]
    fn level_spellings() {
        let table = [
            (
                Level::Error,
                &[
                    "error", "ERR", "E", "err", "Error", "ERROR", "severe", "3", "50",
                ][..],
            ),
            (
                Level::Warn,
                &["warn", "warning", "W", "WARNING", "wrn", "4", "40"][..],
            ),
            (
                Level::Fatal,
                &[
                    "fatal", "F", "critical", "crit", "CRITICAL", "emerg", "alert", "panic", "0",
                    "1", "2", "60",
                ][..],
            ),
            (
                Level::Info,
                &["info", "INFO", "I", "notice", "information", "5", "6", "30"][..],
            ),
            (
                Level::Debug,
                &["debug", "DEBUG", "D", "dbg", "fine", "7", "20"][..],
            ),
            (
                Level::Trace,
                &["trace", "verbose", "V", "T", "finest", "10"][..],
            ),
        ];
        for (level, words) in table {
            for w in words {
                assert_eq!(Level::parse(w), Some(level), "{w}");
            }
        }
        for w in ["", "8", "15", "70", "main", "errors", "informative", "E1"] {
            assert_eq!(Level::parse(w), None, "{w}");
        }
    }

    #[test]
    fn iso_timestamps_with_zones_and_fractions() {
        let cases = [
            ("2026-11-20T13:10:00Z x", "2026-11-20T13:10:00Z"),
            ("2026-11-20T13:10:00+02:00 x", "2026-11-20T11:10:00Z"),
            ("2026-11-20T13:10:00+0200 x", "2026-11-20T11:10:00Z"),
            ("2026-11-20T13:10:00-05:30 x", "2026-11-20T18:40:00Z"),
            (
                "2026-11-20T13:10:00.123456789Z x",
                "2026-11-20T13:10:00.123456789Z",
            ),
            ("2026-11-20T13:10:00,5 x", "2026-11-20T13:10:00.500Z"),
            ("2026-11-20 13:10:00,123 x", "2026-11-20T13:10:00.123Z"),
            ("2026-11-20 13:10:00 x", "2026-11-20T13:10:00Z"),
            ("2026-11-20 13:10:00 UTC x", "2026-11-20T13:10:00Z"),
            ("2026-11-20 13:10:00 +0100 x", "2026-11-20T12:10:00Z"),
            ("2026/11/20 13:10:00 x", "2026-11-20T13:10:00Z"),
        ];
        for (line, want) in cases {
            let h = parse(line);
            assert_eq!(ts(&h), want, "{line}");
            assert_eq!(h.message, "x", "{line}");
        }
        // Out of range fields are no timestamp.
        assert_eq!(parse("2026-02-30 13:10:00 x").timestamp, None);
        assert_eq!(parse("2026-11-20 25:10:00 x").timestamp, None);
    }

    #[test]
    fn spring_boot_3() {
        let h = parse("2026-11-20T13:10:00.123Z ERROR 1 --- [app] [  main] c.a.PaymentService : charge failed");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.service), Some("app"));
        assert_eq!(s(&h.thread), Some("main"));
        assert_eq!(s(&h.logger), Some("c.a.PaymentService"));
        assert_eq!(h.message, "charge failed");
    }

    #[test]
    fn spring_boot_2_with_sleuth_ids() {
        let h = parse("2026-11-20 13:10:00.123 ERROR 1 --- [  main] c.a.Svc   : boom");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.thread), Some("main"));
        assert_eq!(s(&h.logger), Some("c.a.Svc"));
        assert_eq!(h.service, None);
        assert_eq!(h.message, "boom");

        let h = parse("2026-11-20 13:10:00.123 ERROR [pay,5f3a9c2b1d4e6f70,9b2c4d6e8f0a1b3c,true] 1 --- [nio-8080-exec-1] c.a.Svc : boom");
        assert_eq!(s(&h.service), Some("pay"));
        assert_eq!(s(&h.trace_id), Some("5f3a9c2b1d4e6f70"));
        assert_eq!(s(&h.span_id), Some("9b2c4d6e8f0a1b3c"));
        assert_eq!(s(&h.thread), Some("nio-8080-exec-1"));
        assert_eq!(h.message, "boom");

        let h = parse("2026-11-20 13:10:00.123  WARN [5f3a9c2b1d4e6f70,9b2c4d6e8f0a1b3c] 1 --- [main] c.a.Svc : slow");
        assert_eq!(h.level, Some(Level::Warn));
        assert_eq!(s(&h.trace_id), Some("5f3a9c2b1d4e6f70"));
        assert_eq!(s(&h.span_id), Some("9b2c4d6e8f0a1b3c"));
        assert_eq!(h.service, None);

        let h = parse("2026-11-20T13:10:00.123Z  INFO 1 --- [app] [main] [6b1d2f3e4a5b6c7d8e9f0a1b2c3d4e5f-7f3e2d1c0b9a8f7e] c.a.Svc : ok");
        assert_eq!(s(&h.trace_id), Some("6b1d2f3e4a5b6c7d8e9f0a1b2c3d4e5f"));
        assert_eq!(s(&h.span_id), Some("7f3e2d1c0b9a8f7e"));
        assert_eq!(s(&h.logger), Some("c.a.Svc"));
    }

    #[test]
    fn logback_and_log4j() {
        let h = parse("13:10:00.123 [main] ERROR c.a.Svc - payment failed");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(s(&h.thread), Some("main"));
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.logger), Some("c.a.Svc"));
        assert_eq!(h.message, "payment failed");

        let h = parse("2026-11-20 13:10:00.123 [http-nio-1] WARN  com.acme.Api - slow call");
        assert_eq!(h.level, Some(Level::Warn));
        assert_eq!(s(&h.thread), Some("http-nio-1"));
        assert_eq!(s(&h.logger), Some("com.acme.Api"));
        assert_eq!(h.message, "slow call");

        // log4j with the level before the thread.
        let h = parse("2026-11-20 13:10:00,123 ERROR [worker-2] com.acme.Job: failed");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.thread), Some("worker-2"));
        assert_eq!(s(&h.logger), Some("com.acme.Job"));
        assert_eq!(h.message, "failed");
    }

    #[test]
    fn python_logging() {
        let h = parse("2026-11-20 13:10:00,123 - app.billing - ERROR - charge failed");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(s(&h.logger), Some("app.billing"));
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(h.message, "charge failed");

        let h = parse("ERROR:app.billing:charge failed");
        assert_eq!(h.timestamp, None);
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.logger), Some("app.billing"));
        assert_eq!(h.message, "charge failed");

        let h = parse("[2026-11-20 13:10:00,123] ERROR in app: Exception on /pay [POST]");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.logger), Some("app"));
        assert_eq!(h.message, "Exception on /pay [POST]");
    }

    #[test]
    fn go_log_and_nginx_error_log() {
        let h = parse("2026/11/20 13:10:00 listening on :8080");
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert_eq!(h.level, None);
        assert_eq!(h.message, "listening on :8080");

        let h =
            parse("2026/11/20 13:10:00 [error] 7#7: *1 connect() failed (111: Connection refused)");
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(h.message, "connect() failed (111: Connection refused)");
    }

    #[test]
    fn klog_takes_the_year_from_the_reference() {
        let h = parse("E1120 13:10:00.123456   12345 controller.go:123] sync failed");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123456Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.thread), Some("12345"));
        assert_eq!(h.message, "sync failed");
        // December lines read in early January belong to the previous year.
        let jan = Timestamp::from_civil(2027, 1, 1, 0, 0, 5, 0, 0).unwrap();
        let h = HeaderParser::default().parse("W1231 23:59:59.000000 1 x.go:1] late", jan);
        assert_eq!(ts(&h), "2026-12-31T23:59:59Z");
        assert_eq!(h.level, Some(Level::Warn));
    }

    #[test]
    fn rails_logger() {
        let h = parse("F, [2026-11-20T13:10:00.123456 #1] FATAL -- : boom");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123456Z");
        assert_eq!(h.level, Some(Level::Fatal));
        assert_eq!(s(&h.thread), Some("1"));
        assert_eq!(h.message, "boom");

        let h = parse("I, [2026-11-20T13:10:00.123456 #42]  INFO -- app: Started GET /");
        assert_eq!(h.level, Some(Level::Info));
        assert_eq!(s(&h.logger), Some("app"));
        assert_eq!(h.message, "Started GET /");
    }

    #[test]
    fn php_error_log() {
        let h = parse(
            "[20-Nov-2026 13:10:00 UTC] PHP Fatal error:  Uncaught Exception: no in /app/x.php:3",
        );
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert_eq!(h.level, Some(Level::Fatal));
        assert_eq!(
            h.message,
            "PHP Fatal error:  Uncaught Exception: no in /app/x.php:3"
        );

        let h = parse("[20-Nov-2026 13:10:00 Europe/Berlin] PHP Warning:  Undefined variable $x");
        assert!(h.timestamp.is_some());
        assert_eq!(h.level, Some(Level::Warn));
    }

    #[test]
    fn access_log_level_from_status() {
        let line = |status: &str| {
            format!("127.0.0.1 - - [16/May/2024:19:49:17 +0200] \"GET /x HTTP/1.1\" {status} 12 \"-\" \"curl\"")
        };
        for (status, level) in [
            ("500", Level::Error),
            ("503", Level::Error),
            ("404", Level::Warn),
            ("200", Level::Info),
            ("302", Level::Info),
        ] {
            let text = line(status);
            let h = parse(&text);
            assert_eq!(h.level, Some(level), "{status}");
            assert_eq!(ts(&h), "2024-05-16T17:49:17Z");
            assert!(h.message.starts_with("\"GET /x"));
        }
    }

    #[test]
    fn syslog_bsd_and_rfc5424() {
        let h = parse("Dec 14 06:41:08 host app[123]: disk full");
        // December read in November 2026: last year's December.
        assert_eq!(ts(&h), "2025-12-14T06:41:08Z");
        assert_eq!(s(&h.service), Some("app"));
        assert_eq!(s(&h.thread), Some("123"));
        assert_eq!(h.message, "disk full");

        let h = parse("Nov 20 06:41:08 host cron: job done");
        assert_eq!(ts(&h), "2026-11-20T06:41:08Z");
        assert_eq!(s(&h.service), Some("cron"));

        let h = parse("<34>1 2026-11-20T13:10:00.003Z mymachine su 1234 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App]\"] 'su root' failed");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.003Z");
        assert_eq!(h.level, Some(Level::Fatal)); // severity 2: critical
        assert_eq!(s(&h.service), Some("su"));
        assert_eq!(s(&h.thread), Some("1234"));
        assert_eq!(h.message, "'su root' failed");

        let h = parse("<11>1 2026-11-20T13:10:00Z host app - - - plain");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(h.thread, None);
        assert_eq!(h.message, "plain");

        let h = parse("<12>Nov 20 13:10:00 host app: warned");
        assert_eq!(h.level, Some(Level::Warn));
        assert_eq!(s(&h.service), Some("app"));
        assert_eq!(h.message, "warned");
    }

    #[test]
    fn apache_and_other_dated_layouts() {
        let h = parse("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok");
        assert_eq!(ts(&h), "2005-12-04T04:47:44Z");
        assert_eq!(h.level, Some(Level::Info));
        assert_eq!(h.message, "workerEnv.init() ok");

        let h = parse("[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] File does not exist");
        assert_eq!(ts(&h), "2011-09-09T10:42:29.902022Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.thread), Some("4328636416"));
        assert_eq!(h.message, "File does not exist");

        assert_eq!(ts(&parse("9/28/2022 2:23:15 PM x")), "2022-09-28T14:23:15Z");
        assert_eq!(
            ts(&parse("9/28/2022 12:23:15 AM x")),
            "2022-09-28T00:23:15Z"
        );
        assert_eq!(
            ts(&parse("Jul 09, 2015 3:23:29 PM com.x.Y main")),
            "2015-07-09T15:23:29Z"
        );
        assert_eq!(ts(&parse("28.09.2022 14:23:15 x")), "2022-09-28T14:23:15Z");
    }

    #[test]
    fn more_text_layouts() {
        // Serilog's console template.
        let h = parse("[13:10:00 ERR] Payment failed for order 7");
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(h.message, "Payment failed for order 7");
        // Celery.
        let h = parse("[2026-11-20 13:10:00,123: ERROR/MainProcess] Task x raised");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.thread), Some("MainProcess"));
        assert_eq!(h.message, "Task x raised");
        // MySQL.
        let h = parse("2026-11-20T13:10:00.123456Z 0 [ERROR] [MY-010119] [Server] Aborting");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123456Z");
        assert_eq!(h.level, Some(Level::Error));
        // Airflow.
        let h = parse("[2026-11-20T13:10:00.123+0000] {taskinstance.py:1234} ERROR - Task failed");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(h.message, "Task failed");
        // PostgreSQL.
        let h = parse("2026-11-20 13:10:00.123 UTC [123] ERROR:  relation \"x\" does not exist");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(s(&h.thread), Some("123"));
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(h.message, "relation \"x\" does not exist");
        // Gunicorn.
        let h = parse("[2026-11-20 13:10:00 +0000] [123] [ERROR] Exception in worker process");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.thread), Some("123"));
        assert_eq!(h.message, "Exception in worker process");
        // Redis: the date is not at the start.
        let h = parse("1:M 20 Nov 2026 13:10:00.123 # Server initialized");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        // Elixir / Winston.
        assert_eq!(parse("13:10:00.123 [error] boom").level, Some(Level::Error));
        let h = parse("2026-11-20T13:10:00.000Z error: boom");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(h.message, "boom");
        // logrus text formatter: a quoted time.
        let h = parse("time=\"2026-11-20T13:10:00Z\" level=warning msg=\"disk almost full\"");
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert_eq!(h.level, Some(Level::Warn));
        assert_eq!(h.message, "disk almost full");
    }

    #[test]
    fn time_only_lines_take_the_nearest_date() {
        assert_eq!(ts(&parse("13:10:00 started")), "2026-11-20T13:10:00Z");
        let just_after_midnight = Timestamp::from_civil(2026, 11, 21, 0, 0, 2, 0, 0).unwrap();
        let h = HeaderParser::default()
            .parse("23:59:59.900 [main] INFO a.B - tick", just_after_midnight);
        assert_eq!(ts(&h), "2026-11-20T23:59:59.900Z");
    }

    #[test]
    fn level_words_without_timestamp() {
        for (line, level, msg) in [
            ("ERROR: disk full", Level::Error, "disk full"),
            ("[ERROR] disk full", Level::Error, "disk full"),
            ("error: disk full", Level::Error, "disk full"),
            ("WARN  [main] a.B - slow", Level::Warn, "slow"),
            ("CRITICAL: down", Level::Fatal, "down"),
            ("fail: Microsoft.Hosting[3] x", Level::Error, "x"),
            ("Error: Oops", Level::Error, "Error: Oops"),
            ("Warning: low disk", Level::Warn, "Warning: low disk"),
            ("panic: boom", Level::Fatal, "panic: boom"),
        ] {
            let h = parse(line);
            assert_eq!(h.timestamp, None, "{line}");
            assert_eq!(h.level, Some(level), "{line}");
            assert_eq!(h.message, msg, "{line}");
        }
        let h = parse("WARN  [main] a.B - slow");
        assert_eq!(s(&h.thread), Some("main"));
        assert_eq!(s(&h.logger), Some("a.B"));
        // Prose is not a level.
        assert_eq!(parse("error happened while reading").level, None);
        assert_eq!(parse("Alerting is enabled").level, None);
    }

    #[test]
    fn ids_marked_in_text() {
        let h = parse("2026-11-20 13:10:00 ERROR charge failed trace_id=4bf92f3577b34da6 span_id=00f067aa0ba902b7 request_id=req-42");
        assert_eq!(s(&h.trace_id), Some("4bf92f3577b34da6"));
        assert_eq!(s(&h.span_id), Some("00f067aa0ba902b7"));
        assert_eq!(s(&h.request_id), Some("req-42"));
        let h = parse("2026-11-20 13:10:00 INFO got X-Request-ID: abc-123; traceId=\"t1abc\" correlationId=c-9.");
        assert_eq!(s(&h.request_id), Some("abc-123"));
        assert_eq!(s(&h.trace_id), Some("t1abc"));
        assert_eq!(s(&h.correlation_id), Some("c-9"));
        assert_eq!(
            parse("2026-11-20 13:10:00 INFO nothing here: a=b").trace_id,
            None
        );
    }

    #[test]
    fn logfmt_lines() {
        let h = parse(
            r#"time=2026-11-20T13:10:00Z level=error msg="charge \"failed\"" logger=billing trace_id=abc123 span_id=def4 request_id=r1"#,
        );
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(h.message, "charge \"failed\"");
        assert_eq!(s(&h.logger), Some("billing"));
        assert_eq!(s(&h.trace_id), Some("abc123"));
        assert_eq!(s(&h.span_id), Some("def4"));
        assert_eq!(s(&h.request_id), Some("r1"));
        assert!(!h.is_json);

        let h = parse("level=warn msg=slow");
        assert_eq!(h.level, Some(Level::Warn));
        assert!(matches!(h.message, Cow::Borrowed("slow")));
        // `a=b` prose is not logfmt.
        let h = parse("x=1 y=2 z");
        assert_eq!(h.level, None);
        assert_eq!(h.message, "x=1 y=2 z");
    }

    #[test]
    fn json_lines() {
        let line = r#"{"@timestamp":"2026-11-20T13:10:00.123+01:00","level":"ERROR","logger_name":"c.a.Svc","thread_name":"main","message":"charge failed","stack_trace":"java.lang.X: y\n\tat a.b(C.java:1)","service":"pay","traceId":"4bf9","spanId":"00f0","x-request-id":"r-1","correlationId":"c-1"}"#;
        let h = parse(line);
        assert!(h.is_json);
        assert_eq!(ts(&h), "2026-11-20T12:10:00.123Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.logger), Some("c.a.Svc"));
        assert_eq!(s(&h.thread), Some("main"));
        assert_eq!(h.message, "charge failed");
        assert_eq!(
            s(&h.stack_trace),
            Some("java.lang.X: y\n\tat a.b(C.java:1)")
        );
        assert_eq!(s(&h.service), Some("pay"));
        assert_eq!(s(&h.trace_id), Some("4bf9"));
        assert_eq!(s(&h.span_id), Some("00f0"));
        assert_eq!(s(&h.request_id), Some("r-1"));
        assert_eq!(s(&h.correlation_id), Some("c-1"));
    }

    #[test]
    fn json_numeric_times_and_levels() {
        let h = parse(
            r#"{"level":50,"time":1795180200123,"msg":"pino","err":{"type":"Error","stack":"Error: x\n    at f (a.js:1:1)"}}"#,
        );
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(s(&h.stack_trace), Some("Error: x\n    at f (a.js:1:1)"));
        let h = parse(r#"{"severity":"WARNING","ts":1795180200.5,"message":"gcp"}"#);
        assert_eq!(h.level, Some(Level::Warn));
        assert_eq!(ts(&h), "2026-11-20T13:10:00.500Z");
        let h = parse(r#"{"timestamp":"1795180200","levelname":"CRITICAL","msg":"s"}"#);
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert_eq!(h.level, Some(Level::Fatal));
    }

    #[test]
    fn json_ecs_nested_and_traceparent() {
        let h = parse(
            r#"{"@timestamp":"2026-11-20T13:10:00Z","log":{"level":"warn","logger":"app.db"},"service":{"name":"orders"},"trace":{"id":"t-1"},"span":{"id":"s-1"},"error":{"stack_trace":"boom"},"message":"m"}"#,
        );
        assert_eq!(h.level, Some(Level::Warn));
        assert_eq!(s(&h.logger), Some("app.db"));
        assert_eq!(s(&h.service), Some("orders"));
        assert_eq!(s(&h.trace_id), Some("t-1"));
        assert_eq!(s(&h.span_id), Some("s-1"));
        assert_eq!(s(&h.stack_trace), Some("boom"));
        let h = parse(
            r#"{"log.level":"error","service.name":"o","trace.id":"t","error.stack_trace":"st","msg":"m"}"#,
        );
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.service), Some("o"));
        assert_eq!(s(&h.trace_id), Some("t"));
        assert_eq!(s(&h.stack_trace), Some("st"));
        let h = parse(
            r#"{"msg":"m","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","dd":{"span_id":"9"}}"#,
        );
        assert_eq!(s(&h.trace_id), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(s(&h.span_id), Some("00f067aa0ba902b7"));
        let h = parse(
            r#"{"message":"m","dd.trace_id":"123","exc_info":"Traceback (most recent call last):\n  x","name":"app"}"#,
        );
        assert_eq!(s(&h.trace_id), Some("123"));
        assert_eq!(s(&h.logger), Some("app"));
        assert!(h
            .stack_trace
            .as_deref()
            .is_some_and(|t| t.starts_with("Traceback")));
    }

    #[test]
    fn json_dotnet_serilog_and_log4j2_names() {
        let h = parse(
            r#"{"Timestamp":"2026-11-20T13:10:00.1234567+00:00","LogLevel":"Error","Category":"Shop.Api","Message":"failed","Exception":"System.X: y"}"#,
        );
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123456700Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.logger), Some("Shop.Api"));
        assert_eq!(h.message, "failed");
        assert_eq!(s(&h.stack_trace), Some("System.X: y"));
        let h = parse(
            r#"{"@t":"2026-11-20T13:10:00Z","@l":"Warning","@mt":"slow {Ms}","SourceContext":"Shop.Db","@x":"trace"}"#,
        );
        assert_eq!(h.level, Some(Level::Warn));
        assert_eq!(s(&h.logger), Some("Shop.Db"));
        assert_eq!(s(&h.stack_trace), Some("trace"));
        let h = parse(
            r#"{"instant":{"epochSecond":1795180200,"nanoOfSecond":5000},"thread":"main","level":"ERROR","loggerName":"a.B","message":"m","thrown":{"name":"java.lang.X","extendedStackTrace":"java.lang.X: m\n\tat a.B.c(B.java:1)"}}"#,
        );
        assert_eq!(ts(&h), "2026-11-20T13:10:00.000005Z");
        assert_eq!(s(&h.logger), Some("a.B"));
        assert_eq!(
            s(&h.stack_trace),
            Some("java.lang.X: m\n\tat a.B.c(B.java:1)")
        );
        let h = parse(r#"{"timeMillis":1795180200123,"level":"INFO","message":"m"}"#);
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
    }

    #[test]
    fn invalid_json_is_read_as_text() {
        let h = parse(r#"{"level":"error", broken"#);
        assert!(!h.is_json);
        assert_eq!(h.level, None);
        assert_eq!(h.message, r#"{"level":"error", broken"#);
    }

    #[test]
    fn custom_layouts_come_first() {
        let p = HeaderParser::new(&["%d/%m/%Y %H:%M:%S", "%b %e %Y %I:%M:%S.%f %p %z"]).unwrap();
        // Built-ins read `01/02/2026` month first; the layout says day first.
        let h = p.parse("01/02/2026 13:10:00 ERROR x.Y - boom", reference());
        assert_eq!(ts(&h), "2026-02-01T13:10:00Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.logger), Some("x.Y"));
        assert_eq!(h.message, "boom");
        let h = p.parse("Nov  3 2026 01:10:00.25 PM +0100 hello", reference());
        assert_eq!(ts(&h), "2026-11-03T12:10:00.250Z");
        assert_eq!(h.message, "hello");
        // In brackets too, and `starts_event` knows the layout.
        let p = HeaderParser::new(&["%Y%m%d-%H%M%S"]).unwrap();
        let h = p.parse("[20261120-131000] INFO ok", reference());
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert!(p.starts_event("20261120-131000 x"));
        assert!(!HeaderParser::default().starts_event("20261120-131000 x"));
        let p = HeaderParser::new(&["%j %H:%M", "epoch=%s"]).unwrap();
        assert_eq!(
            ts(&p.parse("324 13:10 x", reference())),
            "2026-11-20T13:10:00Z"
        );
        assert_eq!(
            ts(&p.parse("epoch=1795180200 x", reference())),
            "2026-11-20T13:10:00Z"
        );
    }

    #[test]
    fn bad_layouts_are_named_errors() {
        for (layout, reason) in [
            ("", "empty"),
            ("%Y-%m-%d %q", "unknown directive %q"),
            ("%H:%M %", "lone '%'"),
            ("%Y-%m-%d", "time of day"),
            ("%I:%M", "%I and %p"),
            ("%H:%M %H", "appears twice"),
            ("%Y %H:%M", "year without month"),
            ("%m %H:%M", "month and day"),
        ] {
            let err = HeaderParser::new(&["%H:%M", layout]).unwrap_err();
            assert_eq!(err.layout, layout);
            assert!(err.reason.contains(reason), "{layout}: {}", err.reason);
            assert!(err.to_string().contains(&format!("{layout:?}")));
        }
    }

    #[test]
    fn starts_event_skips_trace_lines() {
        let p = HeaderParser::default();
        for line in [
            "\tat com.x.Y.z(Y.java:12)",
            "  File \"x.py\", line 3, in <module>",
            "goroutine 1 [running]:",
            "main.go:12 +0x1d",
            "#0 /var/www/x.php(12): f()",
            "main.charge(0xc000012345, 0x1)",
            "    ^^^^^^^^",
            "Caused by: java.time.DateTimeException: bad 2026-11-20 13:10:00",
            "ValueError: time data '2026-11-20 13:10:00' does not match",
            "java.lang.IllegalStateException: since 2026-11-20",
            "Traceback (most recent call last):",
            "panic: runtime error 2026/11/20 13:10:00",
            "",
            "ERROR: no timestamp",
        ] {
            assert!(!p.starts_event(line), "{line:?}");
        }
        for line in [
            "2026-11-20T13:10:00Z x",
            "E1120 13:10:00.123456   1 a.go:1] x",
            "I, [2026-11-20T13:10:00.123456 #1]  INFO -- : x",
            "13:10:00.123 [main] INFO a.B - x",
            "{\"level\":\"error\"}",
            "<34>1 2026-11-20T13:10:00Z h a - - - x",
            "<34>Nov 20 13:10:00 h a: x",
            "time=2026-11-20T13:10:00Z level=info msg=x",
            "[20-Nov-2026 13:10:00 UTC] PHP Fatal error: x",
        ] {
            assert!(p.starts_event(line), "{line:?}");
        }
    }

    /// Random lines built from header-ish pieces and stray bytes: parsing never panics,
    /// and the message is always a part of the line (or a JSON/logfmt value).
    #[test]
    fn random_lines_never_panic() {
        const PIECES: [&str; 40] = [
            "2026-11-20",
            "T",
            " ",
            "13:10:00",
            ".123",
            ",5",
            "Z",
            "+02:00",
            "[",
            "]",
            "ERROR",
            "info",
            ":",
            "-",
            "---",
            "|",
            "c.a.Svc",
            "main",
            "\"",
            "=",
            "level=",
            "msg=",
            "trace_id=",
            "{",
            "}",
            "<34>",
            "1 ",
            "Dec",
            " 4",
            "PM",
            "é",
            "ü",
            "\\",
            "#",
            "E1120",
            "F, [",
            "127.0.0.1 - - ",
            "20/Nov/2026:",
            "\t",
            "9/28/2022",
        ];
        let parser = HeaderParser::new(&["%d/%m/%Y %H:%M:%S", "%b %e %I:%M %p"]).unwrap();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..(next() % 12) {
                line.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
            }
            let h = parser.parse(&line, reference());
            let _ = parser.starts_event(&line);
            assert!(
                h.is_json || line.contains(h.message.as_ref()) || line.contains("msg="),
                "{line:?} -> {:?}",
                h.message
            );
        }
    }

    #[test]
    fn non_ascii_text_is_safe() {
        for line in [
            "ÉRROR: é",
            "[ü] ö",
            "2026-11-20 13:10:00 ERROR é.ü - ✓",
            "é=1 level=info",
            "Déc 14 06:41:08",
            "{\"msg\":\"é\\u00e9\"}",
            "<1>",
            "[",
            "E1",
            "2026-",
        ] {
            let h = parse(line);
            let _ = HeaderParser::default().starts_event(line);
            assert!(line.contains(h.message.as_ref()) || h.is_json, "{line}");
        }
    }
}
