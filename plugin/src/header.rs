//! Reads the header of a log line: timestamp, level, logger, thread, service and the
//! trace/request ids, for the common layouts (ISO 8601, Spring Boot/Logback, Python
//! logging, Go log, klog, Rails, PHP, nginx, syslog, logfmt, JSON) without configuration.
//! Hand-written byte scanning: regexes are too slow on this path inside an interpreter.

use std::borrow::Cow;

use crate::json;
use crate::timestamp::Timestamp;

mod datetime;
mod fields;
mod layout;
mod memo;
mod start;

pub(crate) use fields::no_id_key;
pub use fields::JsonKeyMemo;
pub use memo::TailMemo;

use datetime::*;
use fields::*;
use layout::*;
use start::*;

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
        let word = trim(word);
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
    // The length and the first letter (every name's is one of `acdefinpstvw`) are asked
    // inline: most words asked are no level, and in the interpreter the call itself costs
    // more than these tests.
    #[inline(always)]
    fn from_name(word: &str) -> Option<(Level, bool)> {
        let bytes = word.as_bytes();
        match bytes.first() {
            Some(&c) if bytes.len() <= 13 => match c | 0x20 {
                b'a' | b'c' | b'd' | b'e' | b'f' | b'i' | b'n' | b'p' | b's' | b't' | b'v'
                | b'w' => Self::from_listed_name(bytes),
                _ => None,
            },
            _ => None,
        }
    }

    #[inline(never)]
    fn from_listed_name(bytes: &[u8]) -> Option<(Level, bool)> {
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
        // One pass: are all letters upper case, and are all but the first lower case?
        let b = word.as_bytes();
        let mut upper = b[0].is_ascii_uppercase();
        let mut rest_lower = true;
        for c in &b[1..] {
            upper &= c.is_ascii_uppercase();
            rest_lower &= c.is_ascii_lowercase();
        }
        let lower = rest_lower && b[0].is_ascii_lowercase();
        let capitalized = rest_lower && b[0].is_ascii_uppercase();
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

impl Header<'_> {
    /// Whether any of its texts is owned (an unescaped JSON value, a joined message): only
    /// then does dropping it free memory.
    #[inline(always)]
    pub fn owns_text(&self) -> bool {
        // Every field named, so that a new one cannot be left out.
        let Header {
            timestamp: _,
            level: _,
            logger,
            thread,
            service,
            trace_id,
            span_id,
            request_id,
            correlation_id,
            message,
            stack_trace,
            is_json: _,
        } = self;
        let owned = |t: &Option<Cow<'_, str>>| matches!(t, Some(Cow::Owned(_)));
        matches!(message, Cow::Owned(_))
            || owned(logger)
            || owned(thread)
            || owned(service)
            || owned(trace_id)
            || owned(span_id)
            || owned(request_id)
            || owned(correlation_id)
            || owned(stack_trace)
    }
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

/// What the header reader remembers of recent lines to read theirs with less work.
#[derive(Default)]
pub struct HeaderMemo {
    pub tails: TailMemo,
    pub json_keys: JsonKeyMemo,
}

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
        self.parse_with(line, reference, None)
    }

    /// `parse`, with memos of recent headers (the same header either way).
    #[inline(always)]
    pub fn parse_with<'a>(
        &self,
        line: &'a str,
        reference: Timestamp,
        memo: Option<&mut HeaderMemo>,
    ) -> Header<'a> {
        let (mut h, ids) = self.parse_head(line, reference, memo);
        if let Some(ids) = ids {
            ids.scan(line, None, &mut h);
        }
        h
    }

    /// `parse_with` but for the search for ids in the text, which the caller runs
    /// (`IdSearch`; `None` for a JSON log line, whose ids are its fields).
    #[inline(always)]
    pub fn parse_head<'a>(
        &self,
        line: &'a str,
        reference: Timestamp,
        memo: Option<&mut HeaderMemo>,
    ) -> (Header<'a>, Option<IdSearch>) {
        let mut h = Header {
            message: Cow::Borrowed(line),
            ..Header::default()
        };
        let (memo, json_keys) = match memo {
            Some(m) => (Some(&mut m.tails), Some(&mut m.json_keys)),
            None => (None, None),
        };
        if trim_start(line).starts_with('{') && parse_json(line, reference, &mut h, json_keys) {
            return (h, None);
        }
        // Where a timestamp that starts the line ends: no id key can be inside it, so the
        // search for ids starts there.
        let mut time_end = 0;
        // A stretch the tail memo knows holds no id key.
        let mut clear = None;
        // (No call when no layout is set, the default.)
        let custom = match self.layouts.is_empty() {
            true => None,
            false => self.custom_header(line, reference, &mut h),
        };
        let message_start = match custom {
            Some(p) => Some(p),
            None => builtin_header(line, reference, &mut h, &mut time_end, memo, &mut clear),
        };
        match message_start {
            Some(MESSAGE_SET) => {}
            Some(p) => h.message = Cow::Borrowed(trim_start(&line[p.min(line.len())..])),
            None => {
                if let Some(ts) = timestamp_in_text(line.as_bytes(), reference) {
                    h.timestamp = Some(ts);
                }
            }
        }
        // (Most messages do not start with `PHP `: no call, and the names' constants stay
        // out of this function's frame in the interpreter.)
        if h.message.starts_with("PHP ") {
            php_level(&mut h);
        }
        let ids = IdSearch {
            from: time_end,
            clear,
        };
        (h, Some(ids))
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
        // The usual headers, answered before the trace-line tests (neither shape can be a
        // trace line: those start with a letter, `.` or `#`).
        if year_first_date(b, 0) || klog_prefix(b).is_some() {
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

/// The search for ids in a text line's header that `HeaderParser::parse_head` leaves to
/// its caller: from where, and a stretch known to hold no id key.
pub struct IdSearch {
    from: usize,
    clear: Option<(usize, usize)>,
}

impl IdSearch {
    /// Sets the ids marked in `line` (the line `parse_head` read) on `h`. `also_clear`: one
    /// more stretch of the line known to hold no id key (`MessageMemo` knows one).
    #[inline(always)]
    pub fn scan<'a>(self, line: &'a str, also_clear: Option<(usize, usize)>, h: &mut Header<'a>) {
        scan_ids(line, self.from, [self.clear, also_clear], h);
    }
}

/// Text after a bracketed timestamp, inside its brackets: Serilog's `[13:10:00 ERR]`,
/// Celery's `[2026-11-20 13:10:00,123: ERROR/MainProcess]` (level, then the process).
#[inline(never)]
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

// The readers of one layout each (`syslog_pri`, `access_log`, `klog_tail`,
// `bracket_rest`) are `#[inline(never)]`: inlined into `HeaderParser::parse`, each made
// the path of every other line longer in the interpreter.

/// Recognizes a header at the start of `line`; returns where the message starts.
/// `time_end`: set to where the timestamp ends when the line starts with one. (Inline, as
/// `MessageMemo::of_message` is.)
#[inline(always)]
fn builtin_header<'a>(
    line: &'a str,
    reference: Timestamp,
    h: &mut Header<'a>,
    time_end: &mut usize,
    memo: Option<&mut TailMemo>,
    clear: &mut Option<(usize, usize)>,
) -> Option<usize> {
    let b = line.as_bytes();
    let first = *b.first()?;
    if first == b'<' {
        return syslog_pri(line, reference, h);
    }
    if first == b'[' {
        if let Some((parts, end)) = timestamp_at(b, 1) {
            *time_end = end;
            let close = close_bracket(b, end)?;
            h.timestamp = parts.resolve(reference);
            bracket_rest(line, end, close, h);
            return Some(text_tail(line, close, h));
        }
        return level_only(line, h);
    }
    if let Some((level, parts, end)) = klog_prefix(b) {
        *time_end = end;
        h.level = Some(level);
        h.timestamp = parts.resolve(reference);
        return Some(klog_tail(line, end, h));
    }
    if let Some(end) = rails(line, reference, h) {
        return Some(end);
    }
    // (An address first, such as an access log's, is no timestamp: no call for it.)
    if !address_first(b) {
        if let Some((mut parts, mut end)) = timestamp_at(b, 0) {
            *time_end = end;
            if parts.month.is_none() && parts.epoch.is_none() {
                // A time first, then its date: `13:45:30 2021-03-28`.
                if let Some((y, m, d, e)) = date_only_at(b, skip_spaces(b, end)) {
                    (parts.year, parts.month, parts.day) = (Some(y), Some(m), Some(d));
                    end = e;
                }
            }
            h.timestamp = parts.resolve_usual(reference);
            if parts.year.is_none() && parts.month.is_some() && parts.epoch.is_none() {
                if let Some(msg) = syslog_tail(line, end, h) {
                    return Some(msg);
                }
            }
            return Some(match memo {
                Some(memo) => memo.text_tail(line, end, h, clear),
                None => text_tail(line, end, h),
            });
        }
    }
    if let Some(end) = access_log(line, reference, h, clear) {
        return Some(end);
    }
    if let Some(end) = logfmt(line, reference, h) {
        return Some(end);
    }
    level_only(line, h)
}

fn token_end(b: &[u8], pos: usize) -> usize {
    crate::bytes::find2(b, pos, b' ', b'\t')
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
        && tok.iter().all(|&c| NAME_BYTE[usize::from(c)])
}

/// The bytes of a logger-like name (one lookup per byte on every logger a header has).
const NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'$' | b'/' | b'-');
        c += 1;
    }
    t
};

/// An ASCII byte that is not white space: a text starting and ending with one needs no
/// trimming, which `str::trim` only finds out by decoding characters from each end.
fn is_plain(c: u8) -> bool {
    c < 0x80 && !matches!(c, b'\t'..=b'\r' | b' ')
}

/// `s.trim()`, without the character decoding when there is nothing to trim.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if is_plain(a) && is_plain(z) => s,
        _ => s.trim(),
    }
}

/// `s.trim_start()`, without the character decoding: ASCII white space is passed over byte
/// by byte, and only text that then starts with a non-ASCII character (which may be white
/// space too) is left to `str::trim_start`.
fn trim_start(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b'\t'..=b'\r' | b' ') {
        i += 1;
    }
    match b.get(i) {
        Some(&c) if c >= 0x80 => s[i..].trim_start(),
        _ => &s[i..],
    }
}

/// `s.contains(c)` for an ASCII `c`, eight bytes per step.
fn has_byte(s: &str, c: u8) -> bool {
    crate::bytes::find(s.as_bytes(), 0, c) < s.len()
}

fn is_hex_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

fn nonempty(s: &str) -> Option<Cow<'_, str>> {
    let s = trim(s);
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
    // The token a lookahead already found, (start, end): the next round starts there.
    let mut ahead = (usize::MAX, 0);
    for _ in 0..12 {
        p = skip_spaces(b, p);
        if p >= b.len() {
            return p;
        }
        let c = b[p];
        if c == b'[' {
            let window = &b[p..b.len().min(p + 256)];
            let close = crate::bytes::find(window, 0, b']');
            if close == window.len() {
                return p;
            }
            let inner = &line[p + 1..p + close];
            if !bracket(inner, h, after_dashes, &mut thread_after_dashes) {
                return p;
            }
            p += close + 1;
            continue;
        }
        let end = if ahead.0 == p {
            ahead.1
        } else {
            token_end(b, p)
        };
        let tok = &b[p..end];
        let word = &line[p..end];
        // The next token, read only by the checks that need it.
        let mut next_token = || {
            let next = skip_spaces(b, end);
            ahead = (next, token_end(b, next));
            ahead
        };
        // Each check needs a certain first byte, so the first byte picks the checks (asked
        // in their order).
        if c.is_ascii_alphabetic() {
            let mut bare_end = end;
            while bare_end > p && b[bare_end - 1] == b':' {
                bare_end -= 1;
            }
            let bare = &line[p..bare_end];
            let colon = bare_end < end;
            if h.level.is_none() {
                if let Some(level) = Level::in_text(bare, colon) {
                    h.level = Some(level);
                    p = end;
                    continue;
                }
            }
            if tok == b"in" && h.level.is_some() && h.logger.is_none() {
                after_in = true;
                p = end;
                continue;
            }
            if h.logger.is_none() && is_name(bare.as_bytes()) {
                if colon && (has_byte(bare, b'.') || after_in || after_rails_sep) {
                    h.logger = Some(Cow::Borrowed(bare));
                    return end;
                }
                if !colon && {
                    let (next, next_end) = next_token();
                    is_separator(&b[next..next_end])
                } {
                    h.logger = Some(Cow::Borrowed(word));
                    p = end;
                    continue;
                }
                // Tomcat/JUL one-line: `LEVEL [thread] org.apache.Class.method message`.
                if !colon
                    && h.level.is_some()
                    && h.thread.is_some()
                    && bare.bytes().filter(|&c| c == b'.').count() >= 2
                {
                    h.logger = Some(Cow::Borrowed(word));
                    return end;
                }
            }
            return p;
        }
        if c.is_ascii_digit() {
            // Spring's pid and OpenStack's pid before the level (MySQL's thread id before
            // `[ERROR]`); nginx `7#7:`.
            if tok.iter().all(u8::is_ascii_digit) && {
                let (next, next_end) = next_token();
                let next_tok = &b[next..next_end];
                next_tok == b"---"
                    || Level::in_text(&line[next..next_end], false).is_some()
                    || bracketed_level(next_tok)
            } {
                p = end;
                continue;
            }
            if is_pid_tid(tok) {
                p = end;
                continue;
            }
            return p;
        }
        if is_separator(tok) {
            if tok == b"---" {
                after_dashes = true;
            }
            after_rails_sep = tok == b"--";
            p = end;
            continue;
        }
        // Airflow's source location `{models.py:12}`; `*1`.
        if (tok.len() > 2 && c == b'{' && tok[tok.len() - 1] == b'}')
            || (tok.len() > 1 && c == b'*' && tok[1..].iter().all(u8::is_ascii_digit))
        {
            p = end;
            continue;
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
    // Digits come first: most tokens are words and stop here.
    if !tok.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
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
    let trimmed = trim(inner);
    // `[error]`, `[core:error]` (Apache 2.4), `[ERROR]`. Most brackets have no colon: one
    // word-at-a-time search answers that before the backward search for the last one.
    let last_colon = if has_byte(trimmed, b':') {
        trimmed.as_bytes().iter().rposition(|&c| c == b':')
    } else {
        None
    };
    let level_word = last_colon.map_or(trimmed, |i| &trimmed[i + 1..]);
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
    if has_byte(trimmed, b',') {
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
    let dash = crate::bytes::find(trimmed.as_bytes(), 0, b'-');
    if let Some((trace, span)) =
        (dash < trimmed.len()).then(|| (&trimmed[..dash], &trimmed[dash + 1..]))
    {
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
#[inline(never)]
fn klog_tail<'a>(line: &'a str, pos: usize, h: &mut Header<'a>) -> usize {
    let b = line.as_bytes();
    let p = skip_spaces(b, pos);
    let end = token_end(b, p);
    if end > p && b[p..end].iter().all(u8::is_ascii_digit) {
        h.thread = Some(Cow::Borrowed(&line[p..end]));
    }
    let reach = &b[..b.len().min(pos + 200)];
    match crate::bytes::find(reach, pos.min(reach.len()), b']') {
        q if q < reach.len() => q + 1,
        _ => pos,
    }
}

/// Rails/Ruby Logger: `F, [2026-11-20T13:10:00.123456 #1] FATAL -- app: msg`. Its `, [`
/// is asked inline: the call would cost every other line more than the test.
#[inline(always)]
fn rails<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> Option<usize> {
    match line.as_bytes().get(1..4) {
        Some(b", [") => rails_at(line, reference, h),
        _ => None,
    }
}

/// `rails` for a line whose second to fourth bytes are `, [`.
#[inline(never)]
fn rails_at<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> Option<usize> {
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
#[inline(never)]
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
#[inline(never)]
fn access_log<'a>(
    line: &'a str,
    reference: Timestamp,
    h: &mut Header<'a>,
    clear: &mut Option<(usize, usize)>,
) -> Option<usize> {
    let b = line.as_bytes();
    let head = &b[..b.len().min(120)];
    let open = crate::bytes::find(head, 0, b'[');
    if open >= head.len() || open < 2 || b[open - 1] != b' ' {
        return None;
    }
    // The usual date read here, the others by the call.
    let (parts, end) = match access_date_at(b, open + 1) {
        Some(date) => access_time_at(b, open + 1, date),
        None => day_month_name_at(b, open + 1),
    }?;
    let close = close_bracket(b, end)?;
    h.timestamp = parts.resolve_usual(reference);
    // The time's colons each follow a digit, and no id key ends in one.
    *clear = Some((open + 1, end));
    let msg = skip_spaces(b, close);
    // The status follows the quoted request line.
    if byte_is(b, msg, b'"') {
        let mut i = msg + 1;
        // (Eight bytes per step: in the interpreter a byte loop costs about as much per
        // byte.)
        loop {
            i = crate::bytes::find2(b, i, b'"', b'\\');
            if b.get(i) != Some(&b'\\') {
                break;
            }
            i += 2;
        }
        let s = skip_spaces(b, i + 1);
        // Three digits, read here: `digits_exact` is a call.
        let status = match (b.get(s..s + 3), b.get(s + 3)) {
            (Some(&[x, y, z]), next)
                if x.is_ascii_digit()
                    && y.is_ascii_digit()
                    && z.is_ascii_digit()
                    && !next.is_some_and(u8::is_ascii_digit) =>
            {
                Some(u32::from(x - b'0') * 100 + u32::from(y - b'0') * 10 + u32::from(z - b'0'))
            }
            _ => None,
        };
        if let Some(status) = status {
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
#[inline(never)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_owns_text_exactly_when_one_of_its_texts_is_owned() {
        let line = "2026-11-20 13:10:00 ERROR [main] app: boom";
        let borrowed = Header {
            logger: Some(Cow::Borrowed(&line[30..33])),
            thread: Some(Cow::Borrowed(&line[26..30])),
            service: Some(Cow::Borrowed("svc")),
            trace_id: Some(Cow::Borrowed("t")),
            span_id: Some(Cow::Borrowed("s")),
            request_id: Some(Cow::Borrowed("r")),
            correlation_id: Some(Cow::Borrowed("c")),
            message: Cow::Borrowed(&line[35..]),
            stack_trace: Some(Cow::Borrowed("st")),
            ..Header::default()
        };
        assert!(!borrowed.owns_text());
        fn own(s: &str) -> Option<Cow<'static, str>> {
            Some(Cow::Owned(s.to_string()))
        }
        let one_owned: [fn(&mut Header<'_>); 9] = [
            |h| h.logger = own("l"),
            |h| h.thread = own("t"),
            |h| h.service = own("s"),
            |h| h.trace_id = own("t"),
            |h| h.span_id = own("s"),
            |h| h.request_id = own("r"),
            |h| h.correlation_id = own("c"),
            |h| h.message = Cow::Owned("m".to_string()),
            |h| h.stack_trace = own("st"),
        ];
        for (i, set) in one_owned.iter().enumerate() {
            let mut h = borrowed.clone();
            set(&mut h);
            assert!(h.owns_text(), "field {i} owned");
        }
    }

    #[test]
    fn every_level_name_passes_the_inline_first_letter_test() {
        // Every name `from_listed_name` knows, in the cases a header writes it.
        let names = [
            "error",
            "err",
            "e",
            "eror",
            "severe",
            "fail",
            "failure",
            "warn",
            "warning",
            "w",
            "wrn",
            "fatal",
            "f",
            "ftl",
            "crit",
            "emerg",
            "critical",
            "emergency",
            "alert",
            "panic",
            "dpanic",
            "info",
            "i",
            "inf",
            "information",
            "informational",
            "notice",
            "debug",
            "d",
            "dbg",
            "dbug",
            "fine",
            "config",
            "trace",
            "verbose",
            "finer",
            "finest",
            "t",
            "v",
            "trc",
            "trce",
            "vrb",
        ];
        for name in names {
            let upper = name.to_ascii_uppercase();
            let capitalized = format!("{}{}", &upper[..1], &name[1..]);
            for word in [name, upper.as_str(), capitalized.as_str()] {
                let listed = Level::from_listed_name(word.as_bytes());
                assert!(listed.is_some(), "{word} is not a listed name");
                assert_eq!(Level::from_name(word), listed, "{word}");
            }
        }
        for word in [
            "",
            "x",
            "1",
            "-",
            "[info]",
            "informationally",
            "c.e.payments.Charge",
        ] {
            assert_eq!(Level::from_name(word), None, "{word}");
        }
    }

    /// A line that starts as a JSON object but is not one keeps nothing its members said:
    /// they are read as the object is validated, and the header starts again for the text.
    #[test]
    fn a_broken_json_line_keeps_none_of_its_members() {
        let parser = HeaderParser::default();
        let reference = Timestamp::new(1_795_179_600, 0);
        for line in [
            r#"{"level":"error","msg":"boom","trace_id":"4bf92f3577b34da6","logger":"x""#,
            r#"{"level":"error","msg":"boom","time":"2026-11-20T13:00:00Z",}"#,
            r#"{"severity":"ERROR","message":"boom","service":{"name":"pay"}} trailing"#,
        ] {
            let h = parser.parse(line, reference);
            assert!(!h.is_json, "{line}");
            assert_eq!(h.level, None, "{line}");
            assert_eq!(
                (h.trace_id, h.logger, h.service),
                (None, None, None),
                "{line}"
            );
            assert_eq!(h.message, line, "{line}");
        }
    }

    /// The id search starts after a timestamp that starts the line; it finds exactly what a
    /// search from the first byte finds, ids glued to the timestamp and zones included.
    #[test]
    fn ids_are_found_as_from_the_start_of_the_line() {
        let stamps = [
            "2026-11-20 13:00:00.000",
            "2026-11-20T13:00:00Z",
            "2026-11-20T13:00:00.123+01:00",
            "2026-11-20 13:00:00,123 UTC",
            "[2026-11-20T13:00:00.000Z]",
            "I1120 13:10:00.000456",
            "13:45:30 2021-03-28",
            "Nov 20 13:00:00",
        ];
        let rests = [
            " trace_id=4bf92f3577b34da6 msg",
            "trace_id=4bf92f3577b34da6",
            ":request_id=abc-1 x",
            "Ztrace_id=ab span_id: cd",
            " INFO [req-id:r-9] traceId: abc, spanId=def x-request-id=q",
            "id=1 nt=2 traceparent=00-ab-cd-01",
            " x_trace_id_:12 correlation_id=\"c-1\"",
        ];
        let parser = HeaderParser::default();
        let reference = Timestamp::new(1_795_179_600, 0);
        for stamp in stamps {
            for rest in rests {
                let line = format!("{stamp}{rest}");
                let parsed = parser.parse(&line, reference);
                // None of these headers sets an id itself: all come from the search.
                let mut from_start = Header {
                    message: Cow::Borrowed(line.as_str()),
                    ..Header::default()
                };
                scan_ids(&line, 0, [None, None], &mut from_start);
                let ids = |h: &Header<'_>| {
                    [&h.trace_id, &h.span_id, &h.request_id, &h.correlation_id]
                        .map(|id| id.as_deref().map(str::to_owned))
                };
                assert_eq!(ids(&parsed), ids(&from_start), "{line}");
            }
        }
    }

    /// The ids `scan_ids` finds in `line`, with or without stretches said to be clear.
    fn ids_in(line: &str, clear: [Option<(usize, usize)>; 2]) -> [Option<String>; 4] {
        let mut h = Header {
            message: Cow::Borrowed(line),
            ..Header::default()
        };
        scan_ids(line, 0, clear, &mut h);
        [h.trace_id, h.span_id, h.request_id, h.correlation_id]
            .map(|id| id.as_deref().map(str::to_owned))
    }

    /// Texts `no_id_key` says hold no id key, and texts it may not say that of: a key it
    /// would name, one that may go on before the text, one with a digit (`x-b3-traceid`
    /// names an id, `x-b4-traceid` does not).
    #[test]
    fn no_id_key_tells_texts_without_an_id_key() {
        for clear in [
            "",
            "POST /v1/charges order=98000 amount=18.10 EUR",
            " user_id=5 count=2 at 13:00:00",
            " id=5 x:1 nt=3 amount=4",
            "c.e.Pay : done",
            " uid=7",
        ] {
            assert!(no_id_key(clear.as_bytes()), "{clear:?}");
        }
        for not_clear in [
            " trace_id=abc",
            "x traceId: abc",
            " X-Request-ID: q",
            " traceparent=00-a-b-01",
            "id=5",
            "uid=7",
            "_id=5",
            "trace_id=1",
            " x-b3-traceid=1",
            " x-b4-traceid=1",
            " span9id=1",
        ] {
            assert!(!no_id_key(not_clear.as_bytes()), "{not_clear:?}");
        }
    }

    proptest::proptest! {
        /// A stretch `no_id_key` says is clear may be passed over: the search finds the
        /// same ids in any line that holds it, or a text of its shape (other nonzero
        /// digits), anywhere, beside a second clear stretch or not.
        #[test]
        fn a_clear_stretch_hides_no_id(
            words in proptest::collection::vec(proptest::sample::select(&[
                "trace_id=4bf9", "traceId:", "X-Request-ID:", "x-b3-traceid=12", "x-b4-traceid=1",
                "span-id=3",
                "user_id=5", "amount=7", "count:2", "id=1", "nt=2", "_id:", "ID=", "d:", "t=",
                "x", "abc", "13:00:00", "a.b.C", "-", "_", ".", "=", ":", "\"", "9", "é",
                "correlation_id=\"c-1\"", "traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ][..]), 0..10),
            glue in proptest::collection::vec(proptest::sample::select(&[" ", "", "=", ":", "-"][..]), 10),
            cut in (0usize..10, 0usize..10),
            digits in proptest::collection::vec(1u8..=9, 6),
        ) {
            let mut line = String::new();
            for (w, g) in words.iter().zip(&glue) {
                line.push_str(w);
                line.push_str(g);
            }
            let b = line.as_bytes();
            // Stretches at word boundaries (any byte place would do; these keep UTF-8 whole).
            let bounds: Vec<usize> = (0..=line.len()).filter(|&i| line.is_char_boundary(i)).collect();
            let at = |k: usize| bounds[k * bounds.len() / 10];
            let (s, e) = (at(cut.0.min(cut.1)), at(cut.0.max(cut.1)));
            if no_id_key(&b[s..e]) {
                let mut next = digits.iter().cycle();
                // The same shape: each nonzero digit of the stretch replaced.
                let other: String = line[s..e]
                    .chars()
                    .map(|c| match c {
                        '1'..='9' => char::from(b'0' + *next.next().unwrap_or(&1)),
                        c => c,
                    })
                    .collect();
                let variant = format!("{}{}{}", &line[..s], other, &line[e..]);
                for l in [&line, &variant] {
                    let whole = ids_in(l, [None, None]);
                    proptest::prop_assert_eq!(&ids_in(l, [Some((s, e)), None]), &whole, "{:?} {}..{}", l, s, e);
                    proptest::prop_assert_eq!(&ids_in(l, [None, Some((s, e))]), &whole, "{:?}", l);
                    // With the empty stretch at its end as the other.
                    proptest::prop_assert_eq!(&ids_in(l, [Some((e, e)), Some((s, e))]), &whole, "{:?}", l);
                }
            }
        }
    }

    /// Every id name, in any case and with separators anywhere, passes `id_kind`'s inline
    /// tests to the comparison; keys that only end in `id` do not get past them.
    #[test]
    fn every_id_name_passes_the_inline_tests() {
        for name in fields::ID_NAMES {
            let upper = name.to_ascii_uppercase();
            let spaced: String = name.chars().flat_map(|c| [c, '_']).collect();
            let dotted: String = name.chars().flat_map(|c| ['.', c, '-']).collect();
            for key in [name.to_string(), upper, spaced, dotted, format!("a/{name}")] {
                assert!(id_kind(&key).is_some(), "{key}");
            }
        }
        for key in [
            "user_id", "order-id", "podId", "ID", "id", "uid", "a/id", "trace/id", "void",
        ] {
            assert!(
                !fields::ends_in_a_d_name(key.as_bytes(), key.len() - 1),
                "{key}"
            );
        }
    }

    #[test]
    fn trims_like_std() {
        for t in [
            "",
            " ",
            "a",
            " a ",
            "a\u{a0}",
            "\u{a0}a",
            "\u{b}a\u{c}",
            "a\u{1c}",
            "é",
            " é ",
        ] {
            assert_eq!(trim(t), t.trim(), "{t:?}");
            assert_eq!(trim_start(t), t.trim_start(), "{t:?}");
        }
    }

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
    fn an_access_logs_time_is_left_out_of_the_search_for_ids_and_nothing_else() {
        let p = HeaderParser::default();
        for line in [
            r#"10.0.0.1 - - [20/Nov/2026:13:10:00 +0000] "GET /a?trace_id=4bf9 HTTP/1.1" 200 2 "-" "curl""#,
            r#"10.0.0.1 - request_id=r-1 [20/Nov/2026:13:10:00 +0200] "GET / HTTP/1.1" 500 2 "-" "curl""#,
            r#"10.0.0.1 span_id:ab12 - [20/Nov/2026:13:10:00 +02:00] "GET / HTTP/1.1" 404 2 "-" "x""#,
        ] {
            let (mut found, ids) = p.parse_head(line, Timestamp::default(), None);
            let ids = ids.expect("a text line");
            assert!(ids.clear.is_some(), "{line}");
            // The same search over the whole line finds the same ids.
            let mut whole = found.clone();
            ids.scan(line, None, &mut found);
            IdSearch {
                from: 0,
                clear: None,
            }
            .scan(line, None, &mut whole);
            assert_eq!(found, whole, "{line}");
            assert!(
                found.trace_id.is_some() || found.request_id.is_some() || found.span_id.is_some(),
                "{line}"
            );
        }
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
        // Not a status: other than three digits, or at the end of the line.
        for status in ["5000", "50", "5x0", "x500", ""] {
            let text = line(status);
            assert_eq!(parse(&text).level, None, "{status:?}");
        }
        let end = "127.0.0.1 - - [16/May/2024:19:49:17 +0200] \"GET /x HTTP/1.1\" 503";
        assert_eq!(parse(end).level, Some(Level::Error));
    }

    /// `trim_start` is `str::trim_start`: ASCII white space, Unicode white space after it
    /// or alone, and characters that are not white space, in every order of two and three.
    #[test]
    fn trim_start_is_the_standard_one() {
        let pieces = [
            " ",
            "\t",
            "\n",
            "\r",
            "\x0b",
            "\x0c",
            "\u{85}",
            "\u{a0}",
            "\u{2003}",
            "\u{3000}",
            "x",
            "é",
            "\u{1f600}",
            "\x00",
            "\x1f",
            "",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let s = format!("{a}{b}{c}tail");
                    assert_eq!(trim_start(&s), s.trim_start(), "{s:?}");
                }
            }
        }
    }

    /// The request line is read to its closing quote, past escaped quotes and
    /// backslashes; a line whose request never closes has no status.
    #[test]
    fn access_log_request_lines_with_escapes() {
        let with = |request: &str, after: &str| {
            parse(&format!(
                "10.1.2.3 - - [16/May/2024:19:49:17 +0200] \"{request}{after}"
            ))
            .level
        };
        assert_eq!(with("GET /a\\\"b HTTP/1.1", "\" 500 1"), Some(Level::Error));
        assert_eq!(with("GET /a\\\\", "\" 404 1"), Some(Level::Warn));
        assert_eq!(with("GET /\\\"\\\"", "\" 503 1"), Some(Level::Error));
        assert_eq!(with("GET /x 500", ""), None);
        assert_eq!(with("GET /x\\", ""), None);
        assert_eq!(with("GET /x\\\" 500", ""), None);
        // The bracket must come within the first 120 bytes, after a space.
        let far = format!(
            "{} - - [16/May/2024:19:49:17 +0200] \"GET /\" 500 1",
            "h".repeat(120)
        );
        assert_eq!(parse(&far).timestamp, None);
        let glued = "h-[16/May/2024:19:49:17 +0200] \"GET /\" 500 1";
        assert_eq!(parse(glued).level, None);
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
    fn java_util_logging_layouts() {
        let h = parse("20-Nov-2026 13:10:00.123 SEVERE [main] org.apache.catalina.core.StandardService.startInternal Starting service [Catalina]");
        assert_eq!(ts(&h), "2026-11-20T13:10:00.123Z");
        assert_eq!(h.level, Some(Level::Error));
        assert_eq!(s(&h.thread), Some("main"));
        assert_eq!(
            s(&h.logger),
            Some("org.apache.catalina.core.StandardService.startInternal")
        );
        assert_eq!(h.message, "Starting service [Catalina]");
        let h = parse("Fri Nov 20 13:10:00 UTC 2026 started");
        assert_eq!(ts(&h), "2026-11-20T13:10:00Z");
        assert_eq!(h.message, "started");
        let h = parse("Fri Nov 20 13:10:00 CET 2026 started");
        assert_eq!(ts(&h), "2026-11-20T12:10:00Z");
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
        // `trace:` is prose, not an id.
        assert_eq!(
            parse("2026-11-20 13:10:00 ERROR printing stack trace: java.lang.X").trace_id,
            None
        );
        let h = parse("2026-11-20 13:10:00 INFO traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ok");
        assert_eq!(s(&h.trace_id), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(s(&h.span_id), Some("00f067aa0ba902b7"));
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
    fn json_google_cloud_trace() {
        let h =
            parse(r#"{"message":"m","logging.googleapis.com/trace":"projects/p/traces/abc123"}"#);
        assert_eq!(s(&h.trace_id), Some("abc123"));
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

    /// A 10 MB line (the filter's worst case) is read without panicking, and the header
    /// before it still counts.
    #[test]
    fn huge_lines() {
        for filler in ["a", "=", "[", "1", " ", "é"] {
            let tail = filler.repeat(10 * 1024 * 1024 / filler.len());
            let line = format!("2026-11-20 13:10:00 ERROR {tail}");
            let h = parse(&line);
            assert_eq!(ts(&h), "2026-11-20T13:10:00Z", "{filler}");
            assert_eq!(h.level, Some(Level::Error));
            let _ = parse(&tail);
            let _ = HeaderParser::default().starts_event(&tail);
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
