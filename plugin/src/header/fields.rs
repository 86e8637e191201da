//! Named fields of structured lines (JSON log lines and logfmt) and id markers in plain
//! text (`trace_id=...`, `X-Request-ID: ...`).

use super::*;

/// logfmt: `time=... level=error msg="..." trace_id=...`. Only taken as a header when it
/// names at least one of time, level or message.
pub(super) fn logfmt<'a>(line: &'a str, reference: Timestamp, h: &mut Header<'a>) -> Option<usize> {
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
pub(super) const MESSAGE_SET: usize = usize::MAX;

pub(super) fn unquote_logfmt(raw: &str) -> String {
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

pub(super) fn merge<'a>(h: &mut Header<'a>, found: Header<'a>) {
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
#[inline(never)]
pub(super) fn field<'a>(
    key: &str,
    value: Cow<'a, str>,
    reference: Timestamp,
    h: &mut Header<'a>,
    message: &mut Option<Cow<'a, str>>,
) -> bool {
    field_inline(key, value, reference, h, message)
}

/// What a named field does to the header, by its name: `field_inline`'s cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldKind {
    Time,
    Level,
    Message,
    Logger,
    Thread,
    Service,
    StackTrace,
    CloudTrace,
    Id(IdKind),
    Other,
}

/// The kind of the field named `key`.
#[inline(always)]
pub(super) fn field_kind(key: &str) -> FieldKind {
    match key {
        "time" | "ts" | "timestamp" | "@timestamp" | "t" | "datetime" | "date" | "asctime"
        | "@t" | "Timestamp" | "timeMillis" => FieldKind::Time,
        "level" | "lvl" | "severity" | "levelname" | "log.level" | "loglevel" | "log_level"
        | "level_name" | "LEVEL" | "Level" | "@l" | "LogLevel" => FieldKind::Level,
        "msg" | "message" | "log" | "@m" | "@mt" | "MESSAGE" | "Message" | "RenderedMessage" => {
            FieldKind::Message
        }
        "logger" | "logger_name" | "name" | "loggerName" | "log.logger" | "component"
        | "Category" | "SourceContext" => FieldKind::Logger,
        "thread" | "thread_name" | "threadName" | "process.thread.name" => FieldKind::Thread,
        "service" | "service.name" | "app" | "application" | "service_name" | "serviceName" => {
            FieldKind::Service
        }
        "stack_trace" | "stacktrace" | "stack" | "exception" | "exc_info" | "error.stack"
        | "err.stack" | "error.stack_trace" | "Exception" | "@x" => FieldKind::StackTrace,
        "logging.googleapis.com/trace" => FieldKind::CloudTrace,
        _ => id_kind(key).map_or(FieldKind::Other, FieldKind::Id),
    }
}

/// `field`, inlined into the JSON line's reader, which asks it of every member: in the
/// interpreter each call copies the names' constants into a new frame.
#[inline(always)]
fn field_inline<'a>(
    key: &str,
    value: Cow<'a, str>,
    reference: Timestamp,
    h: &mut Header<'a>,
    message: &mut Option<Cow<'a, str>>,
) -> bool {
    apply_field(field_kind(key), value, reference, h, message)
}

/// Assigns a field of the kind `kind`. Returns whether it is a time, level or message.
#[inline(always)]
fn apply_field<'a>(
    kind: FieldKind,
    value: Cow<'a, str>,
    reference: Timestamp,
    h: &mut Header<'a>,
    message: &mut Option<Cow<'a, str>>,
) -> bool {
    match kind {
        FieldKind::Time => {
            if h.timestamp.is_none() {
                h.timestamp = timestamp_value(&value, reference);
            }
            true
        }
        FieldKind::Level => {
            if h.level.is_none() {
                h.level = level_of_value(&value);
            }
            true
        }
        FieldKind::Message => {
            if message.is_none() {
                *message = Some(value);
            }
            true
        }
        FieldKind::Logger => {
            set(&mut h.logger, value);
            false
        }
        FieldKind::Thread => {
            set(&mut h.thread, value);
            false
        }
        FieldKind::Service => {
            set(&mut h.service, value);
            false
        }
        FieldKind::StackTrace => {
            set(&mut h.stack_trace, value);
            false
        }
        // Google Cloud Logging: `projects/<project>/traces/<trace id>`.
        FieldKind::CloudTrace => {
            let start = value.rfind('/').map_or(0, |i| i + 1);
            let end = value.len();
            set(&mut h.trace_id, sub(&value, start, end));
            false
        }
        FieldKind::Id(kind) => {
            assign_id(kind, value, h);
            false
        }
        FieldKind::Other => false,
    }
}

thread_local! {
    /// The last level value of up to eight bytes `level_of_value` read (as a zero-padded
    /// word, and its length) and its level: a logger writes a few level words over and over.
    static LAST_LEVEL: std::cell::Cell<(u64, usize, Option<Level>)> =
        const { std::cell::Cell::new((0, usize::MAX, None)) };
}

/// `Level::parse` of a JSON line's level value, answered from the last one when the value
/// is the same word.
fn level_of_value(value: &str) -> Option<Level> {
    let b = value.as_bytes();
    if b.len() > 8 {
        return Level::parse(value);
    }
    let mut w = [0u8; 8];
    w[..b.len()].copy_from_slice(b);
    let word = u64::from_le_bytes(w);
    let (last, len, level) = LAST_LEVEL.with(std::cell::Cell::get);
    if (last, len) == (word, b.len()) {
        return level;
    }
    let level = Level::parse(value);
    LAST_LEVEL.with(|l| l.set((word, b.len(), level)));
    level
}

/// A byte range of a borrowed-or-owned value, borrowed when the value is.
pub(super) fn sub<'a>(value: &Cow<'a, str>, start: usize, end: usize) -> Cow<'a, str> {
    match value {
        Cow::Borrowed(v) => Cow::Borrowed(&v[start..end]),
        Cow::Owned(v) => Cow::Owned(v[start..end].to_string()),
    }
}

pub(super) fn set<'a>(slot: &mut Option<Cow<'a, str>>, value: Cow<'a, str>) {
    if slot.is_none() && !trim(&value).is_empty() {
        *slot = Some(value);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdKind {
    Trace,
    Span,
    Request,
    Correlation,
    /// W3C `traceparent`: both the trace and the span id.
    TraceParent,
}

/// Which id a key names, ignoring case and `_ - .` (`trace_id`, `traceId`, `X-Request-ID`,
/// `dd.trace_id`, `logging.googleapis.com/trace`).
// Every id key ends in `id` or `nt` (`traceparent`), separators aside: the last letter is
// asked inline, since most keys (`duration_ms`, `status`) end otherwise and in the
// interpreter the call itself costs more than the test.
#[inline(always)]
pub(super) fn id_kind(key: &str) -> Option<IdKind> {
    let b = key.as_bytes();
    let last = before_separators(b, b.len());
    match b[..last].last().map(|c| c | 0x20) {
        Some(b'd') if ends_in_a_d_name(b, last - 1) => id_kind_rest(key, false),
        Some(b't') => id_kind_rest(key, true),
        _ => None,
    }
}

/// Every name of `id_kind_rest` that ends in `d` ends in `eid`, `nid`, `tid` or `qid`
/// (`traceid`, `spanid`, `requestid`, `reqid`, `correlationid`), separators aside: asked of
/// the letters before the `d` at `d`, so that `user_id` or `order_id` stop here.
#[inline(always)]
pub(super) fn ends_in_a_d_name(b: &[u8], d: usize) -> bool {
    let i = before_separators(b, d);
    if i == 0 || b[i - 1] | 0x20 != b'i' {
        return false;
    }
    let k = before_separators(b, i - 1);
    k > 0 && matches!(b[k - 1] | 0x20, b'e' | b'n' | b't' | b'q')
}

/// Where the id key separators (`_ - .`) that end `b[..end]` begin: the end of the key's
/// last letter, as `id_kind` reads keys.
#[inline(always)]
/// Where the key of the `=` or `:` at `i` starts, when it may name an id (`None` for most
/// marks); and the first byte the answer read, `None` when it would have read before
/// `b`'s start (`no_id_key` asks that a text holds all it reads).
///
/// Every id key ends in `id` or `traceparent`'s `nt` (separators aside, as `id_kind` reads
/// it), most colons (times, URLs) stop at that; and `id_kind` would also say no to a key
/// shorter than `traceparent` ending in `nt` (`amount`, `count`), or shorter than five:
/// both asked here, without its call.
fn candidate_key(b: &[u8], i: usize) -> (Option<usize>, Option<usize>) {
    let t = before_separators(b, i);
    if t < 2 {
        return (None, None);
    }
    let tail = [b[t - 2].to_ascii_lowercase(), b[t - 1].to_ascii_lowercase()];
    if tail != *b"id" && tail != *b"nt" {
        return (None, Some(t - 2));
    }
    let mut k = i;
    while k > 0 && (b[k - 1].is_ascii_alphanumeric() || matches!(b[k - 1], b'_' | b'-' | b'.')) {
        k -= 1;
    }
    let read_from = k.checked_sub(1);
    let long_enough = i - k >= 5 && (tail == *b"id" || i - k >= b"traceparent".len());
    (long_enough.then_some(k), read_from)
}

/// Whether `scan_ids` finds no id key at any `=` or `:` of `b`, by bytes of `b` alone, and
/// would find none in a text of the same shape (`bytes::digit_shape`): such a text has the
/// same marks at the same places and the same bytes around them but for digits, which are
/// none of `_ - . i d n t` and are read as any letter or digit where a key is delimited. A
/// key `id_kind` is asked about must hold no digit (`x-b3-traceid` names an id,
/// `x-b4-traceid` does not).
pub(crate) fn no_id_key(b: &[u8]) -> bool {
    let mut j = 0;
    loop {
        j = crate::bytes::find2(b, j, b'=', b':');
        if j >= b.len() {
            return true;
        }
        let (key, read_from) = candidate_key(b, j);
        if read_from.is_none() {
            return false;
        }
        if let Some(k) = key {
            // (A key's bytes are ASCII letters, digits and separators.)
            let key = std::str::from_utf8(&b[k..j]).unwrap_or("");
            if b[k..j].iter().any(u8::is_ascii_digit) || id_kind(key).is_some() {
                return false;
            }
        }
        j += 1;
    }
}

fn before_separators(b: &[u8], mut end: usize) -> usize {
    while end > 0 && matches!(b[end - 1], b'_' | b'-' | b'.') {
        end -= 1;
    }
    end
}

/// The names `id_kind_rest` knows, as it compares them (lower case, no separators).
#[cfg(test)]
pub(super) const ID_NAMES: &[&str] = &[
    "traceid",
    "ddtraceid",
    "xb3traceid",
    "oteltraceid",
    "spanid",
    "ddspanid",
    "xb3spanid",
    "otelspanid",
    "requestid",
    "xrequestid",
    "reqid",
    "correlationid",
    "xcorrelationid",
    "traceparent",
];

/// `id_kind` for a key whose last letter is `d` or `t` (`ends_in_t`).
#[inline(never)]
fn id_kind_rest(key: &str, ends_in_t: bool) -> Option<IdKind> {
    let key = key.as_bytes();
    let key = match key.iter().rposition(|&c| c == b'/') {
        Some(i) => &key[i + 1..],
        None => key,
    };
    // Only `traceparent` ends in `t`: shorter keys (`amount`, `count`, `event`) stop here.
    if ends_in_t && key.len() < b"traceparent".len() {
        return None;
    }
    let mut buf = [0u8; 24];
    let mut n = 0;
    for &c in key {
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
        b"traceid" | b"ddtraceid" | b"xb3traceid" | b"oteltraceid" => IdKind::Trace,
        b"spanid" | b"ddspanid" | b"xb3spanid" | b"otelspanid" => IdKind::Span,
        b"requestid" | b"xrequestid" | b"reqid" => IdKind::Request,
        b"correlationid" | b"xcorrelationid" => IdKind::Correlation,
        b"traceparent" => IdKind::TraceParent,
        _ => return None,
    })
}

fn assign_id<'a>(kind: IdKind, value: Cow<'a, str>, h: &mut Header<'a>) {
    match kind {
        IdKind::Trace => set(&mut h.trace_id, value),
        IdKind::Span => set(&mut h.span_id, value),
        IdKind::Request => set(&mut h.request_id, value),
        IdKind::Correlation => set(&mut h.correlation_id, value),
        IdKind::TraceParent => {
            // W3C: `00-<32 hex trace>-<16 hex span>-<flags>`.
            let v = value.as_ref();
            let valid = v.len() >= 55
                && v.get(3..35).is_some_and(is_hex_id)
                && v.get(36..52).is_some_and(is_hex_id);
            if valid {
                set(&mut h.trace_id, sub(&value, 3, 35));
                set(&mut h.span_id, sub(&value, 36, 52));
            }
        }
    }
}

/// Ids marked in plain text: `trace_id=abc`, `traceId: abc`, `X-Request-ID: abc`,
/// `SpanId:5018968b4ab3f342,` — each key immediately before `=` or `:`.
/// `from`: where to start looking for the `:` or `=` after a key (the end of a timestamp
/// that starts the line, which holds none); a key may still begin before it.
/// `clear`: stretches of the line where it finds no id key (`no_id_key`: `TailMemo` and
/// `MessageMemo` know some), passed over without a look. (Inline, as
/// `MessageMemo::of_message` is.)
#[inline(always)]
pub(super) fn scan_ids<'a>(
    line: &'a str,
    from: usize,
    clear: [Option<(usize, usize)>; 2],
    h: &mut Header<'a>,
) {
    if h.is_json {
        return;
    }
    let b = line.as_bytes();
    let window = b.len().min(ID_WINDOW);
    // The stretches to search: from `from` to the window's end, less the clear ones.
    let none = (usize::MAX, usize::MAX);
    let (mut c0, mut c1) = (clear[0].unwrap_or(none), clear[1].unwrap_or(none));
    if c1.0 < c0.0 {
        (c0, c1) = (c1, c0);
    }
    // Each stretch searched as it is found: the clear stretch `k` (0, 1, then the window's
    // end) ends the one before it. (Kept in an array first, in the interpreter, the
    // stretches cost more than the search of a short line.)
    let mut at = from.min(window);
    let (mut start, mut end) = c0;
    let mut k = 0;
    let mut i = 0;
    loop {
        if start > at {
            search_ids(line, i.max(at), start.min(window), h, &mut i);
        }
        at = at.max(end);
        if at >= window || k == 2 {
            break;
        }
        k += 1;
        (start, end) = if k == 1 { c1 } else { (window, window) };
    }
}

/// The search of `scan_ids` in one stretch, from `i` to `limit` (`i` is left after the
/// last id's value, which may be past `limit`).
#[inline(always)]
fn search_ids<'a>(line: &'a str, from: usize, limit: usize, h: &mut Header<'a>, at: &mut usize) {
    let b = line.as_bytes();
    let mut i = from;
    loop {
        // (`i` may be past `limit`, after an id's value: it then stays there.)
        let mark = crate::bytes::find2(&b[..limit], i, b'=', b':');
        if mark >= limit {
            break;
        }
        i = mark;
        let kind = match candidate_key(b, i).0 {
            Some(k) => id_kind(&line[k..i]),
            None => None,
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
            assign_id(kind, Cow::Borrowed(&line[v..e]), h);
        }
        i = e.max(i + 1);
    }
    *at = i;
}

// ---------------------------------------------------------------------------------------
// JSON log lines

/// A JSON log line: maps the usual field names (flat or nested) into the header, which
/// comes fresh from `HeaderParser::parse`. Returns false when the line is not a valid JSON
/// object (it is then read as text), the header fresh again.
// Out of line: inlined into `HeaderParser::parse`, it made the path of every text line
// longer in the interpreter (measured by wasmi fuel per line).
#[inline(never)]
pub(super) fn parse_json<'a>(
    line: &'a str,
    reference: Timestamp,
    h: &mut Header<'a>,
    memo: Option<&mut JsonKeyMemo>,
) -> bool {
    let mut message = None;
    // Each member is read into the header as the object is validated; an object that
    // turns out invalid leaves the header as it found it (the line is then read as text).
    // Without a memo, or when it is not asked, the line is read as without one, by the
    // same code (one copy of it in the module).
    let mut throwaway;
    let (memo, guided) = match memo {
        Some(m) => {
            let ask = m.worth.ask();
            (m, ask)
        }
        None => {
            throwaway = JsonKeyMemo::default();
            (&mut throwaway, false)
        }
    };
    let valid = memo.read(line, reference, h, &mut message, guided);
    if !valid {
        *h = fresh(line);
        return false;
    }
    h.is_json = true;
    if let Some(m) = message {
        h.message = m;
    }
    true
}

fn fresh(line: &str) -> Header<'_> {
    Header {
        message: Cow::Borrowed(line),
        ..Header::default()
    }
}

/// One member of a JSON log line into the header: its value, when a string, unescaped.
#[inline(always)]
fn member_field<'a>(
    m: json::Member<'a>,
    kind: FieldKind,
    reference: Timestamp,
    h: &mut Header<'a>,
    message: &mut Option<Cow<'a, str>>,
) {
    // The members are validated already: no second scan of each string.
    let value = match json::member_string(&m) {
        Some(s) => s,
        None => {
            let v = m.value;
            if v.starts_with('{') {
                nested(&m.key, v, reference, h);
                return;
            }
            if v.starts_with('[') || v == "null" {
                return;
            }
            Cow::Borrowed(v)
        }
    };
    apply_field(kind, value, reference, h, message);
}

/// The key layouts (`json::KeyLayout`) of recent JSON log lines, with the kind of each
/// key: a line that writes the keys of one of them, byte for byte, is read without reading
/// its keys or looking up their names (`json::for_each_member_guided`), and a line that
/// leaves its guide's keys is read on from there as without one. The JSON lines of one
/// logger share a layout; a line whose keys are not a layout's whole is remembered. The
/// header is the same either way: the guided reading hands out `json::parse_object`'s
/// members, and a key's kind is a function of its text.
#[derive(Default)]
pub struct JsonKeyMemo {
    /// The most recently used first.
    layouts: Vec<json::KeyLayout>,
    /// The kind of each key of each layout.
    kinds: Vec<Vec<FieldKind>>,
    /// Memory for the next line's layout.
    spare: (json::KeyLayout, Vec<FieldKind>),
    worth: crate::memo::Worth,
}

/// Layouts remembered (a few containers that log JSON, their lines interleaved), the most
/// members a remembered layout has, and the most memory one keeps (its keys' bytes and
/// their places): a line of a few huge keys is read, not remembered.
const JSON_LAYOUTS: usize = 4;
const MAX_LAYOUT_MEMBERS: usize = 64;
const MAX_LAYOUT_BYTES: usize = 4096;

impl JsonKeyMemo {
    /// Reads `line`'s members into `h` and `message`, `guided` by the remembered layouts
    /// (else as without them, remembering nothing). Whether it is a valid JSON object.
    #[inline(always)]
    fn read<'a>(
        &mut self,
        line: &'a str,
        reference: Timestamp,
        h: &mut Header<'a>,
        message: &mut Option<Cow<'a, str>>,
        guided: bool,
    ) -> bool {
        // The line's own layout, written unless a layout is its whole, and its keys' kinds
        // (those read after the guide's, at first): in the memory of the layout forgotten
        // last.
        let (record, kinds) = &mut self.spare;
        kinds.clear();
        let known = &self.kinds;
        let (guides, record) = match guided {
            true => (&self.layouts[..], Some(record)),
            false => (&[][..], None),
        };
        let result = json::for_each_member_guided(
            line,
            guides,
            record,
            // Inlined where it is called (a guided key, a key read): as a call, each member
            // would copy the constants of every field's reading into a new frame.
            #[inline(always)]
            |at, m| {
                let kind = match at {
                    Some((g, i)) => known[g][i],
                    None => {
                        let kind = field_kind(&m.key);
                        kinds.push(kind);
                        kind
                    }
                };
                member_field(m, kind, reference, h, message);
            },
        );
        let valid = result.is_ok();
        if !guided {
            return valid;
        }
        let (record, kinds) = &mut self.spare;
        match result {
            Ok(guided) if guided.whole => {
                self.worth.answered(true);
                let g = guided.followed.map_or(0, |(g, _)| g);
                if g > 0 {
                    let layout = self.layouts.remove(g);
                    let kinds = self.kinds.remove(g);
                    self.layouts.insert(0, layout);
                    self.kinds.insert(0, kinds);
                }
            }
            Ok(guided)
                if !record.is_empty()
                    && record.len() <= MAX_LAYOUT_MEMBERS
                    && record.capacity() <= MAX_LAYOUT_BYTES =>
            {
                self.worth.answered(false);
                if let Some((g, n)) = guided.followed {
                    kinds.splice(0..0, self.kinds[g][..n].iter().copied());
                }
                let (record, kinds) = std::mem::take(&mut self.spare);
                if self.layouts.len() >= JSON_LAYOUTS {
                    if let (Some(layout), Some(kinds)) = (self.layouts.pop(), self.kinds.pop()) {
                        self.spare = (layout, kinds);
                    }
                }
                self.layouts.insert(0, record);
                self.kinds.insert(0, kinds);
            }
            Ok(_) => self.worth.answered(false),
            Err(_) => {}
        }
        // A layout too large to keep leaves none of its memory behind either.
        if self.spare.0.capacity() > MAX_LAYOUT_BYTES {
            self.spare = Default::default();
        }
        valid
    }

    /// The memory the memo holds for its layouts (not the kinds), in bytes.
    #[cfg(test)]
    pub(super) fn layout_bytes(&self) -> usize {
        self.layouts
            .iter()
            .chain([&self.spare.0])
            .map(json::KeyLayout::capacity)
            .sum()
    }
}

/// Nested objects: ECS (`log.level`, `service.name`, `error.stack_trace`, `trace.id`),
/// pino (`err.stack`), Datadog (`dd.trace_id`), `exception.stacktrace`.
pub(super) fn nested<'a>(key: &str, raw: &'a str, reference: Timestamp, h: &mut Header<'a>) {
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
pub(super) fn scalar(raw: &str) -> Option<Cow<'_, str>> {
    json::string_value(raw)
        .or_else(|| (!raw.starts_with(['{', '[', 'n'])).then_some(Cow::Borrowed(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_level_value_answers_only_for_the_same_word() {
        // Each value asked twice in a row, then after values that share its padded word,
        // its first bytes, or nothing (the memo is this thread's, fresh in each test).
        let values = [
            "",
            "info",
            "info",
            "INFO",
            "info\0",
            "info",
            "inf",
            "warn",
            "warning",
            "warning",
            "error",
            "err",
            "e",
            "E",
            "50",
            "5",
            "30",
            "critical",
            "critical!",
            "fatal",
            "\0",
            "",
            "debugging",
            "trace",
            "Trace",
        ];
        for v in values.iter().chain(values.iter().rev()) {
            assert_eq!(level_of_value(v), Level::parse(v), "{v:?}");
            assert_eq!(level_of_value(v), Level::parse(v), "{v:?} again");
        }
    }
}
