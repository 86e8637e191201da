//! What `starts_event` looks for: a date in the first bytes of a line (wherever it hides),
//! and the lines that belong to a stack trace even though they start at column 0.

use super::*;

/// Lines that belong to a stack trace or a traceback even though they start at column 0.
pub(super) fn is_trace_line(b: &[u8]) -> bool {
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
    // Only lines starting with one of the prefixes' first letters are compared with them.
    let Some(&first) = b.first() else {
        return false;
    };
    if matches!(
        first,
        b'C' | b'S' | b'T' | b'D' | b'p' | b'g' | b'E' | b'a' | b'.' | b'c'
    ) && PREFIXES.iter().any(|p| b.starts_with(p))
    {
        return true;
    }
    (first == b'#' && b.get(1).is_some_and(u8::is_ascii_digit)) || first_word_ends_with_colon(b)
}

/// `ValueError: ...`, `java.lang.IllegalStateException: ...`: an exception line, whose
/// message may well contain a date. (A header's own first word never ends in a colon
/// before its date, except level words, which are not followed by a date anyway.)
pub(super) fn first_word_ends_with_colon(b: &[u8]) -> bool {
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let window = &b[..b.len().min(DATE_WINDOW)];
    let end = crate::bytes::find(window, 0, b' ');
    end < window.len() && end > 1 && b[end - 1] == b':'
}

/// `HH:MM:SS.fff` at `pos` (Logback's default layout has no date).
pub(super) fn time_with_fraction(b: &[u8], pos: usize) -> bool {
    let mut parts = Parts::default();
    time_at(b, pos, &mut parts)
        .is_some_and(|end| b[pos..end].iter().any(|&c| c == b'.' || c == b','))
}

/// klog: `E1120 13:10:00.123456`.
// The first byte is asked inline: few lines are klog's, and in the interpreter the call
// itself costs more than the test.
#[inline(always)]
pub(super) fn klog_prefix(b: &[u8]) -> Option<(Level, Parts, usize)> {
    match b.first()? {
        b'I' | b'W' | b'E' | b'F' => klog_prefix_rest(b),
        _ => None,
    }
}

#[inline(never)]
fn klog_prefix_rest(b: &[u8]) -> Option<(Level, Parts, usize)> {
    let level = match b.first()? {
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' => Level::Error,
        b'F' => Level::Fatal,
        _ => return None,
    };
    let mmdd = two_digits(b, 1)? * 100 + two_digits(b, 3)?;
    let p = 5;
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
pub(super) fn date_near_start(b: &[u8]) -> bool {
    find_date(&b[..b.len().min(DATE_WINDOW)], 0).is_some()
}

/// The position of the first date-like token in `w` at or after `from`.
///
/// Every date form holds a digit: a numeric one starts at the first digit of a run, and
/// `Mon DD` starts three letters before the spaces in front of its day. So only those two
/// positions are tried for each run of digits, found eight bytes per step, and lines
/// without digits are passed over at that speed.
pub(super) fn find_date(w: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < w.len() {
        let d = crate::bytes::find_digit(w, i);
        if d >= w.len() {
            return None;
        }
        let mut s = d;
        while s > i && matches!(w[s - 1], b' ' | b'\t') {
            s -= 1;
        }
        if s >= i + 3 && date_at(w, s - 3) {
            return Some(s - 3);
        }
        if date_at(w, d) {
            return Some(d);
        }
        i = d + 1;
    }
    None
}

/// Whether a date-like token starts at `i`.
fn date_at(w: &[u8], i: usize) -> bool {
    let c = w[i];
    let word_start = i == 0 || !w[i - 1].is_ascii_alphanumeric();
    if c.is_ascii_digit() && (i == 0 || !w[i - 1].is_ascii_digit()) {
        // The length of the digit run and the byte after it rule out most forms before
        // any is read: a year has four digits, a day one or two and then its separator.
        let mut run = 1;
        while run < 5 && w.get(i + run).is_some_and(u8::is_ascii_digit) {
            run += 1;
        }
        match (run, w.get(i + run)) {
            (4, _) => year_first_date(w, i),
            (1 | 2, Some(&sep)) if word_start => {
                (matches!(sep, b'/' | b'-' | b' ') && day_month_name_at(w, i).is_some())
                    || (matches!(sep, b'/' | b'.') && day_first_date(w, i))
            }
            _ => false,
        }
    } else {
        c.is_ascii_uppercase() && word_start && month_name_day(w, i)
    }
}

pub(super) fn year_first_date(w: &[u8], i: usize) -> bool {
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

pub(super) fn day_first_date(w: &[u8], i: usize) -> bool {
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

pub(super) fn month_name_day(w: &[u8], i: usize) -> bool {
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
