//! Builds the `cali.event/v1` JSON object (schema/cali.event.v1.json) from a finished
//! group: the first line's header, the exception and its fingerprint, the original lines,
//! and the members other filters added to the first line's record.

use std::borrow::Cow;

use crate::exception::{self, ExceptionInfo};
use crate::fingerprint;
use crate::grouper::{Group, GroupKind};
use crate::hash::{push_hex_between, Fnv64, WordHash};
use crate::header::{HeaderParser, Level};
use crate::json::{self, push_all, write_escaped, write_str};
use crate::settings::Settings;
use crate::streams::{LineJson, LineMeta, StreamNames};
use crate::timestamp::Timestamp;

/// The schema's name, as a literal for `concat!`.
macro_rules! schema {
    () => {
        "cali.event/v1"
    };
}

pub const SCHEMA: &str = schema!();

/// The event's `schema` member and the start of its `event_id`.
const SCHEMA_AND_ID: &str = concat!("\"schema\":\"", schema!(), "\",\"event_id\":\"");
/// The end of the `event_id` and the start of the `timestamp`.
const ID_END: &str = "\",\"timestamp\":\"";
/// The schema, the event id and the start of the timestamp, appended as one.
fn push_schema_and_id(out: &mut String, (a, b): (u64, u64)) {
    const N: usize = SCHEMA_AND_ID.len() + 32 + ID_END.len();
    push_hex_between::<N>(out, SCHEMA_AND_ID, &[a, b], ID_END);
}
/// `truncated`, and the fingerprint with its quotes, appended as one.
fn push_truncated_and_fingerprint(out: &mut String, truncated: bool, fp: u64) {
    const TRUE: &str = ",\"truncated\":true,\"fingerprint\":\"";
    const FALSE: &str = ",\"truncated\":false,\"fingerprint\":\"";
    match truncated {
        true => push_hex_between::<{ TRUE.len() + 17 }>(out, TRUE, &[fp], "\""),
        false => push_hex_between::<{ FALSE.len() + 17 }>(out, FALSE, &[fp], "\""),
    }
}

/// The `level` member, with the quote that closes the `timestamp` before it.
fn level_member(level: Option<Level>) -> &'static str {
    match level {
        None => "\",\"level\":\"UNKNOWN\"",
        Some(Level::Trace) => "\",\"level\":\"TRACE\"",
        Some(Level::Debug) => "\",\"level\":\"DEBUG\"",
        Some(Level::Info) => "\",\"level\":\"INFO\"",
        Some(Level::Warn) => "\",\"level\":\"WARN\"",
        Some(Level::Error) => "\",\"level\":\"ERROR\"",
        Some(Level::Fatal) => "\",\"level\":\"FATAL\"",
    }
}

/// Largest event record written: Firehose takes records up to 1,000 KiB and Kinesis up to
/// 1 MiB, and Fluent Bit drops a larger one whole.
pub const MAX_RECORD_BYTES: usize = 1_000_000;

/// `message` is the first line's text after its header, cut to this many bytes: the whole
/// text is in `log_content`.
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// The names CALI writes; a passed-through member with one of these names is left out so
/// the object never carries a key twice.
pub const EVENT_FIELDS: &[&str] = &[
    "schema",
    "event_id",
    "timestamp",
    "level",
    "service",
    "logger",
    "thread",
    "message",
    "trace_id",
    "span_id",
    "request_id",
    "correlation_id",
    "exception",
    "stack_trace",
    "log_content",
    "line_count",
    "truncated",
    "fingerprint",
    "stream",
    "tag",
    "alertable",
    "fault",
];

/// Why a record could not be processed normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    RecordLostInHost,
    InvalidJson,
    InvalidUtf8,
    LineTooLong,
    NotAnObject,
    EventTooLarge,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::RecordLostInHost => "record_lost_in_host",
            FaultKind::InvalidJson => "invalid_json",
            FaultKind::InvalidUtf8 => "invalid_utf8",
            FaultKind::LineTooLong => "line_too_long",
            FaultKind::NotAnObject => "not_an_object",
            FaultKind::EventTooLarge => "event_too_large",
        }
    }
}

/// A fault attached to an event.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    pub detail: String,
}

/// What the filter remembers of recent lines to build their events with less work (the
/// events are the same without it).
#[derive(Default)]
pub struct Memos {
    pub messages: fingerprint::MessageMemo,
    pub header: crate::header::HeaderMemo,
}

/// Writes the event for a finished group.
pub fn write_group(
    out: &mut String,
    names: &StreamNames,
    group: &Group<LineMeta>,
    settings: &Settings,
    header_parser: &HeaderParser,
    memos: &mut Memos,
) {
    let text = group.text.as_str();
    let first_line = if group.line_count == 1 {
        text
    } else {
        text.split('\n').next().unwrap_or("")
    };
    // Text whose parts need no escaping, and the JSON form of the whole text, when the
    // record's string says so (`LineJson`): most events are one line and copy both. Before
    // the first escape of a record's string, the string is the line itself: that part is
    // verbatim too (but for a JSON log line, whose fields lie past its first `\"`).
    // `escaped`: the JSON form of a line that has escapes, for the message.
    let (verbatim, text_json, escaped) = match &group.first.json {
        LineJson::Verbatim => (first_line, (group.line_count == 1).then_some(text), None),
        LineJson::Escaped { json, plain } if group.line_count == 1 && group.cut_bytes == 0 => {
            let plain = match group.kind {
                GroupKind::Json => 0,
                _ => (*plain).min(text.len()),
            };
            let json = Some(json.as_str());
            (text.get(..plain).unwrap_or(""), json, json)
        }
        LineJson::Escaped { .. } | LineJson::Unknown => ("", None, None),
    };
    let time = group.first.time;
    let (mut header, ids) = header_parser.parse_head(first_line, time, Some(&mut memos.header));
    // A JSON line's header holds, borrowed from the line, only members' values that are
    // strings without escapes (so without a quote, a backslash or a control character) or
    // numbers and literals: text that needs no escaping. The one other text it may borrow
    // is the whole line (its message when no member names one), which starts at the
    // line's first byte, before any value.
    let verbatim = if header.is_json {
        first_line.get(1..).unwrap_or("")
    } else {
        verbatim
    };

    // Out of the header, which the search for ids below still writes to (as the service).
    let header_stack = header.stack_trace.take();
    let exception = match (group.kind, &header_stack) {
        // (Most JSON lines carry no stack trace: no call.)
        (GroupKind::Plain, _) | (GroupKind::Json, None) => None,
        (kind, _) => group_exception(kind, text, header_stack.as_deref()),
    };

    let fault = (group.cut_bytes > 0).then(|| line_too_long(group.cut_bytes, settings.max_bytes));

    let passthrough = &group.first.passthrough;
    let header_service = header.service.take();
    let service: Option<&str> = passthrough
        .label_service
        .as_deref()
        .or(header_service.as_deref())
        .or(passthrough.container_name.as_deref());
    // The member as the passthrough wrote it, when the service is one of its names.
    let service_member = passthrough
        .service_member
        .as_deref()
        .filter(|_| passthrough.label_service.is_some() || header_service.is_none());

    let level = header
        .level
        .or_else(|| exception.as_ref().map(exception_level));
    let alertable = exception.is_some() || level.is_some_and(|l| l >= settings.alert_level);

    let (fp, message_clear) = match &exception {
        Some(exc) => (fingerprint::of_exception(exc), false),
        None => memos
            .messages
            .of_message(service.unwrap_or(""), &header.message),
    };
    // The ids marked in the text, after the fingerprint: a remembered message that holds
    // no id key is not searched.
    if let Some(ids) = ids {
        let message_span = match &header.message {
            Cow::Borrowed(m) if message_clear => {
                let start = (m.as_ptr() as usize).wrapping_sub(first_line.as_ptr() as usize);
                (start <= first_line.len() && m.len() <= first_line.len() - start)
                    .then_some((start, start + m.len()))
            }
            _ => None,
        };
        ids.scan(first_line, message_span, &mut header);
    }
    let stack_trace: Option<&str> = match (&group.kind, &exception) {
        (GroupKind::Json, Some(_)) => header_stack.as_deref(),
        (_, Some(exc)) => text.get(exc.trace_start..),
        _ => None,
    };

    // `WordHash::with_seed(1)` over the tag and the stream, then the time and the text.
    let mut id = names.id_seed;
    id.write_u64(time.secs as u64);
    id.write_u64(u64::from(time.nanos));
    id.write_field(text.as_bytes());
    let (id_a, id_b) = id.finish128();

    let message = cut(&header.message, MAX_MESSAGE_BYTES);
    let start = out.len();
    let mut with_stack = stack_trace.is_some();
    let mut content = text;
    let mut truncated = group.truncated;
    let mut fault = fault;
    loop {
        out.truncate(start);
        out.push('{');
        passthrough.write_members(out, group.first.volatile.as_deref());
        // Constant stretches go out whole: in the interpreter each append is a call and a
        // capacity check.
        push_schema_and_id(out, (id_a, id_b));
        header.timestamp.unwrap_or(time).write_rfc3339(out);
        out.push_str(level_member(level));
        match service_member {
            Some(member) => out.push_str(member),
            None => opt_str(out, ",\"service\":\"", service, verbatim),
        }
        opt_str(out, ",\"logger\":\"", header.logger.as_deref(), verbatim);
        opt_str(out, ",\"thread\":\"", header.thread.as_deref(), verbatim);
        match escaped.and_then(|json| json_tail(message, text, verbatim, json)) {
            Some(tail) => push_all(out, [",\"message\":\"", tail, "\""]),
            None => write_part(out, ",\"message\":\"", message, verbatim),
        }
        opt_str(
            out,
            ",\"trace_id\":\"",
            header.trace_id.as_deref(),
            verbatim,
        );
        opt_str(out, ",\"span_id\":\"", header.span_id.as_deref(), verbatim);
        opt_str(
            out,
            ",\"request_id\":\"",
            header.request_id.as_deref(),
            verbatim,
        );
        opt_str(
            out,
            ",\"correlation_id\":\"",
            header.correlation_id.as_deref(),
            verbatim,
        );
        if let Some(exc) = &exception {
            write_exception(out, exc);
        }
        // The escaped stack trace, when it is the end of `content`: log_content then
        // copies it instead of escaping the same text again.
        let mut escaped_tail = None;
        if let (true, Some(st)) = (with_stack, stack_trace) {
            out.push_str(",\"stack_trace\":\"");
            let from = out.len();
            write_escaped(out, st);
            if is_tail_of(st, content) {
                escaped_tail = Some((from..out.len(), st.len()));
            }
            out.push('"');
        }
        // (`content_start`: where the value starts, at its opening quote.)
        let content_start;
        match (
            text_json.filter(|_| content.len() == text.len()),
            escaped_tail,
        ) {
            (Some(json), _) => {
                const KEY: &str = ",\"log_content\":\"";
                content_start = out.len() + KEY.len() - 1;
                push_all(out, [KEY, json, "\""]);
            }
            (None, Some((escaped, len))) => {
                out.push_str(",\"log_content\":\"");
                content_start = out.len() - 1;
                write_escaped(out, &content[..content.len() - len]);
                // (`String::extend_from_within` is newer than the crate's minimum Rust.)
                let tail = out[escaped].to_owned();
                out.push_str(&tail);
                out.push('"');
            }
            (None, None) => {
                out.push_str(",\"log_content\":");
                content_start = out.len();
                write_str(out, content);
            }
        }
        let content_len = out.len() - content_start;
        if group.line_count == 1 {
            out.push_str(",\"line_count\":1");
        } else {
            out.push_str(",\"line_count\":");
            push_uint(out, group.line_count as u64);
        }
        push_truncated_and_fingerprint(out, truncated, fp);
        out.push_str(&names.json);
        out.push_str(if alertable {
            ",\"alertable\":true"
        } else {
            ",\"alertable\":false"
        });
        if let Some(f) = &fault {
            write_fault(out, f);
        }
        out.push('}');

        // Kinesis and Firehose drop a record over ~1 MiB whole, so an event that escapes
        // too large sheds its copies first: the stack trace (a part of log_content), then
        // the tail of log_content, marked and counted.
        let len = out.len() - start;
        if len <= MAX_RECORD_BYTES {
            // A header borrowed whole from the line has nothing to free: forgotten, it
            // costs no call of its drop (in the interpreter a call copies the callee's
            // constants into a new frame first).
            if !header.owns_text() {
                std::mem::forget(header);
            }
            return;
        }
        if with_stack {
            with_stack = false;
            continue;
        }
        if content.len() < text.len() {
            return;
        }
        let (kept, too_large) = shed_content(text, len - content_len);
        content = kept;
        truncated = true;
        fault = Some(too_large);
    }
}

// The rare paths of `write_group`, out of line: in WAMR's interpreter every call of a
// function first copies all the constants its code uses into its frame, those of paths it
// does not take too, so each of these in `write_group` made every event dearer.

/// The exception of a trace, or of a JSON line's stack trace member.
#[inline(never)]
fn group_exception<'a>(
    kind: GroupKind,
    text: &'a str,
    stack: Option<&'a str>,
) -> Option<ExceptionInfo<'a>> {
    match kind {
        GroupKind::Trace(lang) => exception::extract(text, Some(lang)),
        GroupKind::Json => stack.and_then(|s| exception::extract(s, None)),
        GroupKind::Plain => None,
    }
}

#[cold]
#[inline(never)]
fn line_too_long(cut_bytes: usize, max_bytes: usize) -> Fault {
    Fault {
        kind: FaultKind::LineTooLong,
        detail: format!("{cut_bytes} bytes cut from a line longer than max_bytes ({max_bytes})"),
    }
}

/// The part of `text` kept in `log_content` when the event, `overhead` bytes without it,
/// would not fit a record, and the fault that says so.
#[cold]
#[inline(never)]
fn shed_content(text: &str, overhead: usize) -> (&str, Fault) {
    let budget = MAX_RECORD_BYTES.saturating_sub(overhead + 512);
    let content = escaped_prefix(text, budget);
    let fault = Fault {
        kind: FaultKind::EventTooLarge,
        detail: format!(
            "kept {} of {} bytes of log_content so the record fits {} bytes (Kinesis and Firehose record limit)",
            content.len(),
            text.len(),
            MAX_RECORD_BYTES
        ),
    };
    (content, fault)
}

/// Writes a fault event: a record that could not be processed as a log line, kept and
/// marked. `content` is what could be recovered of it (possibly empty).
pub fn write_fault_event(
    out: &mut String,
    tag: &str,
    time: Timestamp,
    content: &str,
    fault: &Fault,
) {
    let mut id = WordHash::with_seed(2);
    id.write_field(tag.as_bytes());
    id.write_field(fault.kind.as_str().as_bytes());
    id.write_u64(time.secs as u64);
    id.write_u64(u64::from(time.nanos));
    id.write_field(content.as_bytes());
    let mut fp = Fnv64::default();
    fp.write_field("cali.fault");
    fp.write_field(fault.kind.as_str());
    fp.write_field(tag);

    out.push('{');
    push_schema_and_id(out, id.finish128());
    time.write_rfc3339(out);
    out.push_str("\",\"level\":\"ERROR\",\"message\":");
    write_str(out, &fault.detail);
    out.push_str(",\"log_content\":");
    write_str(out, content);
    // A fault stands for exactly one record: one line, even when nothing of it survived.
    out.push_str(",\"line_count\":1");
    push_truncated_and_fingerprint(out, false, fp.finish());
    out.push_str(",\"stream\":\"\",\"tag\":");
    write_str(out, tag);
    out.push_str(",\"alertable\":false");
    write_fault(out, fault);
    out.push('}');
}

fn write_fault(out: &mut String, f: &Fault) {
    out.push_str(",\"fault\":{\"kind\":\"");
    out.push_str(f.kind.as_str());
    out.push_str("\",\"detail\":");
    write_str(out, &f.detail);
    out.push('}');
}

/// A trace without a levelled header: a crash is FATAL, anything else ERROR.
// Out of line, as `write_exception` and `escaped_prefix`: only events with an exception
// (or too large) need them, and their code inlined into `write_group` lengthened every
// event's path in the interpreter.
#[inline(never)]
fn exception_level(exc: &ExceptionInfo) -> Level {
    let k = exc.kind.as_str();
    if k == "panic" || k.starts_with("fatal") || k.contains("OutOfMemoryError") {
        Level::Fatal
    } else {
        Level::Error
    }
}

/// Whether `tail` is a slice ending where `text` ends (a suffix of it, as a slice).
fn is_tail_of(tail: &str, text: &str) -> bool {
    let ((t, t_end), (x, x_end)) = (span(tail), span(text));
    t >= x && t_end == x_end
}

/// Where `s` lies in memory: the address of its first byte and one past its last.
fn span(s: &str) -> (usize, usize) {
    let start = s.as_ptr() as usize;
    (start, start + s.len())
}

/// Appends `member` (`,"key":"`, up to the value's opening quote) and the value, when there
/// is one. Inlined: most optional members are absent, and the test costs less than a call
/// in the interpreter.
#[inline(always)]
fn opt_str(out: &mut String, member: &str, value: Option<&str>, verbatim: &str) {
    if let Some(v) = value {
        write_part(out, member, v, verbatim);
    }
}

/// The JSON form of `s` taken from `json`, the JSON form of `text`, when `s` is the end
/// of `text` and starts within `verbatim` (the start of `text` where both forms are the
/// same bytes): the message of most lines is their end.
#[inline(never)]
fn json_tail<'j>(s: &str, text: &str, verbatim: &str, json: &'j str) -> Option<&'j str> {
    let ((p, p_end), (t, t_end), (v, v_end)) = (span(s), span(text), span(verbatim));
    if verbatim.is_empty() || v != t || p_end != t_end || p < v || p > v_end {
        return None;
    }
    json.get(p - v..)
}

/// `member` (which ends with the value's opening quote, `,"logger":"`), then `s` as a
/// JSON string: copied as it is when it is a part of `verbatim` (text known to need no
/// escaping), which saves the scan for bytes to escape.
#[inline(always)]
fn write_part(out: &mut String, member: &str, s: &str, verbatim: &str) {
    debug_assert!(member.ends_with('"'), "{member}");
    let ((p, p_end), (v, v_end)) = (span(s), span(verbatim));
    if !verbatim.is_empty() && p >= v && p_end <= v_end {
        push_all(out, [member, s, "\""]);
    } else {
        // (The member without its quote: `write_str` writes its own.)
        out.push_str(&member[..member.len() - 1]);
        write_str(out, s);
    }
}

#[inline(never)]
fn write_exception(out: &mut String, exc: &ExceptionInfo) {
    out.push_str(",\"exception\":{\"type\":");
    write_str(out, &exc.kind);
    out.push_str(",\"message\":");
    write_str(out, &exc.message);
    out.push_str(",\"language\":\"");
    out.push_str(exc.language.map_or("unknown", |l| l.as_str()));
    out.push_str("\",\"frames\":[");
    for (i, f) in exc.frames.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"function\":");
        write_str(out, &f.function);
        if let Some(m) = &f.module {
            out.push_str(",\"module\":");
            write_str(out, m);
        }
        if let Some(file) = &f.file {
            out.push_str(",\"file\":");
            write_str(out, file);
        }
        if let Some(line) = f.line {
            out.push_str(",\"line\":");
            push_uint(out, u64::from(line));
        }
        out.push('}');
    }
    out.push_str("]}");
}

/// What other filters added to a line's record (`kubernetes`, ...), prepared once per
/// distinct set of members rather than once per event: consecutive lines of a container
/// carry the same metadata, often hundreds of bytes of it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Passthrough {
    /// The members CALI does not write itself, each as `"key":value,`, but for the
    /// record's `time` (see `VOLATILE_KEY`).
    pub members: String,
    /// When the record has a `time` member, which goes in its place among `members` with
    /// the line's own value (`LineMeta::volatile`), so that records that differ only there
    /// share one `Passthrough`: the members before it and its key (`…,"time":`), and a
    /// comma and the members after it. An event writes them around the value in three
    /// appends.
    around_volatile: Option<(String, String)>,
    /// The first non-empty Kubernetes label named in `service_labels`.
    pub label_service: Option<String>,
    /// The container's name, the service when neither a label nor the header names one.
    pub container_name: Option<String>,
    /// The event's `service` member for the label, else the container's name, written
    /// once for all the records that share this passthrough (`,"service":"..."`).
    pub service_member: Option<String>,
}

/// The member whose value is new on every record: the container runtime's time, which
/// tail's `multiline.parser cri, docker` keeps as `time` (a string). The first member of
/// that name is kept out of `Passthrough::members`; each line keeps its own value.
pub const VOLATILE_KEY: &str = "time";
const VOLATILE_MEMBER: &str = "\"time\":";

impl Passthrough {
    /// Whether the record had a `time` member, which each line's event writes with its own
    /// value (`write_members`).
    pub fn keeps_volatile(&self) -> bool {
        self.around_volatile.is_some()
    }

    /// Appends the members as `"key":value,` each, the record's `time` (`volatile`, its
    /// raw JSON value) in its place.
    #[inline]
    pub fn write_members(&self, out: &mut String, volatile: Option<&str>) {
        match (&self.around_volatile, volatile) {
            (Some((before, after)), Some(value)) => push_all(out, [before, value, after]),
            _ => out.push_str(&self.members),
        }
    }

    /// From the record's members other than the line itself.
    pub fn new<'m>(
        members: impl Iterator<Item = &'m json::Member<'m>> + Clone,
        settings: &Settings,
    ) -> Self {
        let mut out = Self::default();
        // Where in `members` the `time` member goes.
        let mut volatile_at = None;
        for m in members.clone() {
            if EVENT_FIELDS.contains(&m.key.as_ref()) {
                continue;
            }
            if volatile_at.is_none() && m.key == VOLATILE_KEY {
                volatile_at = Some(out.members.len());
                continue;
            }
            write_str(&mut out.members, &m.key);
            out.members.push(':');
            out.members.push_str(m.value);
            out.members.push(',');
        }
        out.around_volatile = volatile_at.map(|at| {
            let before = format!("{}{VOLATILE_MEMBER}", &out.members[..at]);
            (before, format!(",{}", &out.members[at..]))
        });
        let Some(k8s) = members.into_iter().find(|m| m.key == "kubernetes") else {
            return out;
        };
        out.label_service = settings.service_labels.iter().find_map(|label| {
            json::lookup(k8s.value, &["labels", label.as_str()])
                .and_then(json::string_value)
                .filter(|v| !v.is_empty())
                .map(|v| v.into_owned())
        });
        out.container_name = json::lookup(k8s.value, &["container_name"])
            .and_then(json::string_value)
            .map(|v| v.into_owned());
        out.service_member = out
            .label_service
            .as_ref()
            .or(out.container_name.as_ref())
            .map(|name| {
                let mut m = String::from(",\"service\":");
                write_str(&mut m, name);
                m
            });
        out
    }
}

/// The longest prefix of `s` within `max` bytes, on a char boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The longest prefix of `s` whose JSON-escaped form fits in `budget` bytes.
#[inline(never)]
fn escaped_prefix(s: &str, budget: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let cost = match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        };
        if used + cost > budget {
            return &s[..i];
        }
        used += cost;
    }
    s
}

fn push_uint(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // The bytes are ASCII digits, so this never falls back.
    out.push_str(crate::bytes::utf8(&buf[i..]).unwrap_or("0"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grouper::GroupKind;
    use std::rc::Rc;

    #[test]
    fn level_members_spell_the_levels_as_the_schema_does() {
        use Level::*;
        for level in [Trace, Debug, Info, Warn, Error, Fatal] {
            let want = format!("\",\"level\":\"{}\"", level.as_str());
            assert_eq!(level_member(Some(level)), want);
        }
        assert_eq!(level_member(None), "\",\"level\":\"UNKNOWN\"");
        assert_eq!(
            SCHEMA_AND_ID,
            format!("\"schema\":\"{SCHEMA}\",\"event_id\":\"")
        );
    }

    /// The values the schema file allows for a member of the event (or of its exception).
    fn schema_enum(path: &[&str]) -> Vec<String> {
        let text = include_str!("../../schema/cali.event.v1.json");
        let mut at = crate::json::lookup(text, &["properties"]).unwrap();
        for (i, key) in path.iter().enumerate() {
            at = crate::json::lookup(at, &[key]).unwrap();
            if i + 1 < path.len() {
                at = crate::json::lookup(at, &["properties"]).unwrap();
            }
        }
        let list = crate::json::lookup(at, &["enum"]).expect("an enum");
        list.trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|v| v.trim().trim_matches('"').to_string())
            .collect()
    }

    #[test]
    fn levels_and_languages_are_exactly_the_schemas() {
        use Level::*;
        let mut levels: Vec<String> = [Trace, Debug, Info, Warn, Error, Fatal]
            .iter()
            .map(|l| l.as_str().to_string())
            .collect();
        levels.push("UNKNOWN".into());
        assert_eq!(levels, schema_enum(&["level"]));
        let mut languages: Vec<String> = crate::language::Language::ALL
            .iter()
            .map(|l| l.as_str().to_string())
            .collect();
        languages.push("unknown".into());
        assert_eq!(languages, schema_enum(&["exception", "language"]));
    }

    fn group(text: String) -> Group<LineMeta> {
        Group {
            first: LineMeta {
                time: Timestamp::new(1_700_000_000, 0),
                passthrough: Rc::default(),
                volatile: None,
                json: LineJson::Unknown,
            },
            line_count: text.split('\n').count(),
            text,
            truncated: false,
            cut_bytes: 0,
            kind: GroupKind::Plain,
            continued: false,
        }
    }

    fn event_of(g: &Group<LineMeta>) -> String {
        let mut out = String::new();
        let settings = Settings::default();
        write_group(
            &mut out,
            &StreamNames::new("kube.x", "stdout"),
            g,
            &settings,
            &settings.header_parser(),
            &mut Memos::default(),
        );
        out
    }

    /// A JSON line's values go out copied as they are only where they need no escaping:
    /// values with escapes of every kind, numbers, nested members, a line without a message
    /// member (its message is the whole line) and a line that is not valid JSON give
    /// events whose members are the line's values, with the record's string escaped or not.
    #[test]
    fn json_line_values_are_copied_only_when_they_need_no_escaping() {
        let lines = [
            r#"{"level":"error","msg":"plain text","logger":"a.b","thread":"main","trace_id":"4bf9"}"#,
            r#"{"level":"error","msg":"say \"hi\"","logger":"a\\b","thread":"t\tx","trace_id":"4b\u0001f9"}"#,
            r#"{"severity":"WARNING","message":"line\nnext \u00e9\u2028 /x\/y","service":{"name":"pay\"s"}}"#,
            r#"{"level":50,"msg":12.5,"log":{"logger":"n\"l"},"dd":{"trace_id":"9\\9"}}"#,
            r#"{"level":"info","logger":"no message here","n":1}"#,
            r#" {"level":"info","msg":"leading space"}"#,
            r#"{"level":"info","msg":"not valid", }"#,
            r#"{"msg":"not valid" trace_id=ab\"cd request_id=x\\y}"#,
            r#"{"level":"info","msg":"é ü 中 \ud83d\ude00","thread":"ß"}"#,
        ];
        for line in lines {
            let want: Option<serde_json::Value> = serde_json::from_str(line).ok();
            for escaped in [false, true] {
                let mut g = group(line.to_string());
                g.kind = GroupKind::Json;
                let mut form = String::new();
                json::write_escaped(&mut form, line);
                g.first.json = if escaped {
                    let plain = json::plain_until(form.as_bytes(), 0);
                    LineJson::Escaped { json: form, plain }
                } else {
                    LineJson::Unknown
                };
                let event = event_of(&g);
                let e: serde_json::Value = serde_json::from_str(&event)
                    .unwrap_or_else(|err| panic!("{line}: {err}: {event}"));
                assert_eq!(e["log_content"], *line, "{event}");
                let Some(want) = &want else {
                    // Not JSON: read as text, the whole line its message.
                    assert_eq!(e["message"], *line, "{event}");
                    continue;
                };
                let msg = want.get("msg").or(want.get("message"));
                match msg {
                    Some(serde_json::Value::String(m)) => assert_eq!(e["message"], *m),
                    Some(n) => assert_eq!(e["message"], n.to_string()),
                    None => assert_eq!(e["message"], *line, "{event}"),
                }
                let logger = want.get("logger").or(want.pointer("/log/logger"));
                if let Some(l) = logger {
                    assert_eq!(e["logger"], *l, "{event}");
                }
                if let Some(t) = want.get("thread") {
                    assert_eq!(e["thread"], *t, "{event}");
                }
                let trace = want.get("trace_id").or(want.pointer("/dd/trace_id"));
                if let Some(t) = trace {
                    assert_eq!(e["trace_id"], *t, "{event}");
                }
                if let Some(s) = want.pointer("/service/name") {
                    assert_eq!(e["service"], *s, "{event}");
                }
            }
        }
    }

    /// The memos change no event: lines of a few shapes, their digits varied, with ids in
    /// their headers and messages (keys with digits among them: `x-b3-traceid` names an
    /// id, `x-b4-traceid` does not), each written with memos that saw every line before it
    /// and with fresh ones.
    #[test]
    fn events_are_the_same_through_the_memos() {
        let settings = Settings::default();
        let parser = settings.header_parser();
        let names = StreamNames::new("kube.x", "stdout");
        let shapes = [
            "2026-11-20 13:00:0D.00D  INFO 1 --- [exec-D] c.e.Pay : POST /v1/charges order=9800D amount=1D.10 EUR",
            "2026-11-20 13:00:0D.00D  INFO 1 --- [exec-D] c.e.Pay : call x-bD-traceid=abcD done",
            "2026-11-20 13:00:0D ERROR [pay,4bf9D,00fD] c.e.Pay : charge failed trace_id=4bf9D",
            "2026-11-20 13:00:0D,00D - inventory.worker - INFO - reserved D items uid=D count=D",
            "2026-11-20 13:00:0D WARN a.b.C - user_id=D span-id=D request_id=r-D",
            "2026-11-20 13:00:0D INFO x-bD-traceid=fD a.b.C : go",
            "I1120 13:10:00.00045D       1 controller.go:10D] Reconciled default/foo-D traceId: aD",
            "10.1.2.D - - [20/Nov/2026:13:10:0D +0000] \"GET /health/D HTTP/1.1\" 200 D \"-\" \"probe/1.D\"",
            "2026-11-20 13:00:0D INFO c.e.Pay : amount=D tid=D.uid=D",
        ];
        let mut memos = Memos::default();
        for i in 0..400 {
            // Every nonzero digit in turn, and now and then a zero (another shape).
            let d = if i % 13 == 0 { 0 } else { 1 + i % 9 };
            for shape in shapes {
                let g = group(shape.replace('D', &d.to_string()));
                let mut through = String::new();
                write_group(&mut through, &names, &g, &settings, &parser, &mut memos);
                let mut fresh = String::new();
                write_group(
                    &mut fresh,
                    &names,
                    &g,
                    &settings,
                    &parser,
                    &mut Memos::default(),
                );
                assert_eq!(through, fresh, "{}", g.text);
                // And the ids are those of the header read alone, which searches the line
                // whole.
                let h = parser.parse(&g.text, g.first.time);
                for (key, id) in [
                    ("trace_id", &h.trace_id),
                    ("span_id", &h.span_id),
                    ("request_id", &h.request_id),
                ] {
                    let member = format!("\"{key}\":");
                    match id {
                        Some(id) => assert!(
                            through.contains(&format!("{member}\"{id}\"")),
                            "{key} {id}: {through}"
                        ),
                        None => assert!(!through.contains(&member), "{key}: {through}"),
                    }
                }
            }
        }
    }

    /// A line whose record string has escapes: the part before the first escape is copied
    /// as it is, and a message that is the line's end is the record's own JSON form of it.
    /// Every field decodes to what the same line gives without its record's form.
    #[test]
    fn escaped_lines_reuse_the_record_form_of_their_message_and_clean_start() {
        let lines = [
            "10.1.2.0 - - [20/Nov/2026:13:10:00 +0000] \"GET /a HTTP/1.1\" 200 2 \"-\" \"probe/1\"",
            "2026-11-20 10:00:00.001  INFO 1 --- [main] c.e.shop.App : user \"bob\" at C:\\tmp\tok /x é",
            "2026-11-20 10:00:00 ERROR [pay \"x\"] c.a.Pay : failed ü é",
            "2026-11-20 10:00:00 WARN \"quoted\" from the start",
            "\"quoted\" 2026-11-20 first",
            "2026-11-20 10:00:00 INFO plain until the end\\",
            "{\"level\":\"error\",\"msg\":\"a \\\"b\\\" c\",\"logger\":\"x\"}",
        ];
        for line in lines {
            // Two JSON forms of the line: ours, and one with `\/` and `\u00XX` escapes as
            // other writers make them.
            let mut ours = String::new();
            json::write_escaped(&mut ours, line);
            let theirs: String = ours
                .chars()
                .flat_map(|c| match c {
                    '/' => "\\/".chars().collect::<Vec<_>>(),
                    c if !c.is_ascii() => format!("\\u{:04x}", c as u32).chars().collect(),
                    c => vec![c],
                })
                .collect();
            let plain = event_of(&group(line.to_string()));
            let plain = json::parse_object(&plain).expect("valid JSON");
            for form in [ours, theirs] {
                let mut g = group(line.to_string());
                g.first.json = LineJson::Escaped {
                    json: form.clone(),
                    plain: json::plain_until(form.as_bytes(), 0),
                };
                if line.starts_with('{') {
                    g.kind = GroupKind::Json;
                }
                let out = event_of(&g);
                let members = json::parse_object(&out).expect("valid JSON");
                for key in ["message", "logger", "thread", "level", "log_content"] {
                    let value = |ms: &Vec<json::Member<'_>>| -> Option<String> {
                        ms.iter().find(|m| m.key == key).map(|m| {
                            json::string_value(m.value)
                                .map(|v| v.into_owned())
                                .unwrap_or_else(|| m.value.to_string())
                        })
                    };
                    assert_eq!(value(&members), value(&plain), "{key} of {line:?} ({form})");
                }
                // The message of a line whose header holds no escape is copied from the
                // record's form: its JSON text is the end of that form.
                let header = Settings::default().header_parser();
                let h = header.parse(line, Timestamp::new(1_700_000_000, 0));
                let start = line.len() - h.message.len();
                let clean = json::plain_until(form.as_bytes(), 0);
                if line.ends_with(h.message.as_ref()) && start <= clean && !line.starts_with('{') {
                    let message = members
                        .iter()
                        .find(|m| m.key == "message")
                        .expect("message");
                    assert_eq!(message.value, format!("\"{}\"", &form[start..]), "{line:?}");
                }
            }
        }
    }

    #[test]
    fn an_event_that_escapes_too_large_is_cut_to_fit_and_marked() {
        // 300 KB of control characters escape to 6 bytes each: 1.8 MB of JSON.
        let out = event_of(&group("\u{1}".repeat(300_000)));
        assert!(out.len() <= MAX_RECORD_BYTES, "{} bytes", out.len());
        let members = json::parse_object(&out).expect("valid JSON");
        let get = |k: &str| {
            members
                .iter()
                .find(|m| m.key == k)
                .map(|m| m.value)
                .unwrap_or("")
        };
        assert_eq!(get("truncated"), "true");
        assert!(get("fault").contains("event_too_large"), "{}", get("fault"));
        assert!(get("message").len() <= MAX_MESSAGE_BYTES * 6 + 2);
    }

    #[test]
    fn ordinary_events_are_not_touched_by_the_size_bound() {
        let out = event_of(&group("2026-11-20 10:00:00 INFO fine".to_string()));
        assert!(!out.contains("fault"));
        assert!(out.contains("\"truncated\":false"));
    }

    #[test]
    fn log_content_holds_every_line_when_it_reuses_the_escaped_stack_trace() {
        // Tabs, quotes, backslashes and non-ASCII text on both sides of where the trace
        // starts: log_content is written from the escaped stack trace.
        let text = "2026-11-20 10:00:00 ERROR [main] c.a.Pay : charge \"42\" failed ü\n\
            java.lang.IllegalStateException: bad \\ path \"x\"\n\
            \tat com.acme.Pay.charge(Pay.java:42)\n\
            \tat com.acme.Main.main(Main.java:7)";
        let mut g = group(text.to_string());
        g.kind = GroupKind::Trace(crate::language::Language::Java);
        let out = event_of(&g);
        let event: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(event["log_content"], text);
        let stack = event["stack_trace"].as_str().expect("a stack trace");
        assert!(
            stack.starts_with("java.lang.IllegalStateException"),
            "{stack}"
        );
        assert!(text.ends_with(stack));
    }
}
