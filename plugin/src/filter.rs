//! The whole filter as plain Rust: one record in, at most one record out.
//!
//! A log line is held in its stream until the next line of that stream shows whether it
//! continues (a trace) or not; finished events wait in a queue and leave one per call, in
//! the slot of a record that produced nothing itself or of a flush tick. Ticks also carry
//! the settings and release streams that went quiet.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::event::{self, cut, Fault, FaultKind, Passthrough};
use crate::grouper::{Group, GroupContext};
use crate::json::{self, KnownValue, Member};
use crate::settings::{Settings, TICK_KEY};
use crate::streams::{LineJson, LineMeta, Released, StreamNames, StreamTable};
use crate::timestamp::Timestamp;

/// What the host handed over for one call.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// The record's JSON text (without the trailing NUL).
    Record(&'a [u8]),
    /// The host could not copy the record into the module (Fluent Bit passes pointer 0
    /// with the real length when the record does not fit in `Wasm_Heap_Size`).
    LostInHost { len: usize },
}

/// Counters of what the filter did since it started. They add up: every record is a
/// line, a tick, a record passed through or a record fault, and every line is in an event
/// built (`event_lines`) or still held (`Filter::held_lines`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FilterStats {
    pub records: u64,
    pub lines: u64,
    pub ticks: u64,
    /// Records that are not log lines (no `log_key` string), returned as they came.
    pub passed_through: u64,
    /// Records that became a fault event: lost in the host, not JSON, not UTF-8, not an
    /// object.
    pub record_faults: u64,
    /// Events built: of lines, and of record faults.
    pub events: u64,
    /// Lines in the events built.
    pub event_lines: u64,
    /// Lines cut at `max_bytes` (their events carry a `line_too_long` fault).
    pub cut_lines: u64,
}

/// The counts of a `cali: stats` line (`Filter::stats_line`) by name, for tools that
/// read Fluent Bit's log; `None` for any other line.
pub fn parse_stats_line(line: &str) -> Option<std::collections::BTreeMap<String, u64>> {
    line.strip_prefix("cali: stats ")?
        .split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// Event buffers kept for reuse, and the largest one kept.
const MAX_SPARE: usize = 16;
const MAX_SPARE_BYTES: usize = 64 * 1024;

pub struct Filter {
    settings: Settings,
    ctx: GroupContext,
    streams: StreamTable,
    /// Finished events (JSON text) waiting for an output slot, oldest first.
    ready: VecDeque<String>,
    /// The answer of the current call.
    out: String,
    /// `out` holds an event written during this call, older than any in `ready`.
    out_fresh: bool,
    /// The last tick record applied, to apply settings only when they change.
    last_tick: String,
    /// When the last `cali: stats` line was written (the first tick's time before that).
    last_stats_ms: Option<u64>,
    /// The members (other than the line) of recent log records, as written, and what was
    /// prepared from them; most recently used first. Streams interleave, so the last
    /// record's alone would rarely match.
    passthroughs: Vec<(String, Rc<Passthrough>)>,
    scratch: String,
    /// Emptied event buffers, reused so that an event costs no allocation once the
    /// filter has warmed up (each one is an interpreted `malloc` + `free` in Fluent Bit).
    spare: Vec<String>,
    /// The runtime's time and the JSON form of the line of the last event written where
    /// its group was held, for the next records to reuse (`LineMeta::volatile`,
    /// `LineJson::Escaped`): most records carry a time, and each would otherwise allocate
    /// one and free one.
    spare_time: Option<Box<str>>,
    spare_json: std::cell::Cell<String>,
    /// Large member values of recent records (a container's `kubernetes` object), which
    /// the next records' parse compares instead of validating again.
    known_values: Vec<KnownValue>,
    /// The id the next remembered value gets.
    next_known_id: u64,
    /// Recent log records' shapes, most recently used first.
    shapes: Vec<Shape>,
    /// Fingerprints of recent message shapes, fields of recent header tails.
    memos: event::Memos,
    /// How many shapes are kept (`MAX_SHAPES`; none in tests that compare with a full
    /// parse of every record).
    max_shapes: usize,
    released: Vec<Released>,
    stats: FilterStats,
}

impl Filter {
    pub fn new(settings: Settings) -> Self {
        let ctx = context(&settings);
        Self {
            settings,
            ctx,
            streams: StreamTable::default(),
            ready: VecDeque::new(),
            out: String::with_capacity(4096),
            out_fresh: false,
            last_tick: String::new(),
            last_stats_ms: None,
            passthroughs: Vec::new(),
            scratch: String::new(),
            spare: Vec::new(),
            spare_time: None,
            spare_json: std::cell::Cell::default(),
            known_values: Vec::new(),
            next_known_id: 0,
            shapes: Vec::new(),
            memos: event::Memos::default(),
            max_shapes: MAX_SHAPES,
            released: Vec::new(),
            stats: FilterStats::default(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn stats(&self) -> FilterStats {
        self.stats
    }

    /// Events finished and waiting for an output slot.
    pub fn waiting(&self) -> usize {
        self.ready.len()
    }

    /// Streams holding a partial event.
    pub fn held_streams(&self) -> usize {
        self.streams.len()
    }

    /// Lines held in streams, not yet in an event.
    pub fn held_lines(&self) -> usize {
        self.streams.held_lines()
    }

    /// The `cali: stats` line: the counters since start and what is held now, as
    /// `key=value` pairs. `records` = `lines` + `ticks` + `passed_through` +
    /// `record_faults`, and `lines` = `event_lines` + `held_lines`.
    #[cold]
    #[inline(never)]
    pub fn stats_line(&self) -> String {
        let s = &self.stats;
        format!(
            "cali: stats records={} lines={} ticks={} passed_through={} record_faults={} \
             events={} event_lines={} held_lines={} held_streams={} held_bytes={} \
             waiting_events={} released_by_limits={} cut_lines={}",
            s.records,
            s.lines,
            s.ticks,
            s.passed_through,
            s.record_faults,
            s.events,
            s.event_lines,
            self.streams.held_lines(),
            self.streams.len(),
            self.streams.held_bytes(),
            self.ready.len(),
            self.streams.limit_releases(),
            s.cut_lines,
        )
    }

    /// Processes one record. `tag` is the Fluent Bit tag, `time` the record's time,
    /// `now_ms` a monotonic clock in milliseconds (idle timeouts are measured on it).
    /// Returns the JSON object to emit, or `None` to drop the record.
    pub fn process(
        &mut self,
        tag: &[u8],
        time: Timestamp,
        input: Input<'_>,
        now_ms: u64,
    ) -> Option<&str> {
        self.stats.records += 1;
        // Most records carry the last line's tag: compared with it, a tag needs no UTF-8
        // check, and the stream table compares only the stream. Else `from_utf8` first:
        // the lossy decoder walks a tag char by char even when it is valid.
        let tag_is_last = self
            .streams
            .last_tag()
            .is_some_and(|last| json::same_bytes(last.as_bytes(), tag));
        let tag = match tag_is_last {
            // SAFETY: the bytes are those of a `str`, the last line's tag.
            true => std::borrow::Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(tag) }),
            false => match crate::bytes::utf8(tag) {
                Ok(t) => std::borrow::Cow::Borrowed(t),
                Err(_) => String::from_utf8_lossy(tag),
            },
        };
        let record = match input {
            Input::LostInHost { len } => {
                self.lost_in_host(&tag, time, len);
                None
            }
            // A record of a recent shape is checked for UTF-8 in its holes only.
            Input::Record(bytes) => match self.record_by_shape(bytes) {
                Some(record) => Some(record),
                None => match crate::bytes::utf8(bytes) {
                    Ok(text) => match self.record_parsed(&tag, time, text, now_ms) {
                        Parsed::Line(record) => Some(record),
                        Parsed::Through(passed) => {
                            self.stats.passed_through += 1;
                            // A record that is not a log line takes this call's slot as it is.
                            self.out.clear();
                            self.out.push_str(passed);
                            return Some(&self.out);
                        }
                        Parsed::Done => None,
                    },
                    Err(e) => {
                        self.invalid_utf8(&tag, time, bytes, e.valid_up_to());
                        None
                    }
                },
            },
        };
        // One call site, inlined: in the interpreter a call of `line` copied its
        // constants into a new frame on every record.
        if let Some(record) = record {
            self.line(&tag, tag_is_last, time, record, now_ms);
        }
        self.next_out()
    }

    /// The line of a record that has the members of a recent one (the same stream and
    /// passthrough) but for the line and the runtime's time, read without parsing the rest
    /// again. `None`, having done nothing, for any other record.
    ///
    /// The bytes are not known to be UTF-8: a shape's text is (it is an earlier record's),
    /// so a record equal to it outside the holes is UTF-8 once the holes' strings are.
    fn record_by_shape<'t>(&mut self, bytes: &'t [u8]) -> Option<LineRecord<'t>> {
        let mut reads = Reads::default();
        let mut hit = None;
        for (i, shape) in self.shapes.iter().enumerate() {
            if let Some(h) = shape.matches(bytes, &mut reads) {
                hit = Some((i, h));
                break;
            }
        }
        let (i, hit) = hit?;
        // SAFETY: the record matched the shape: outside its holes it is the shape's text, a
        // `String`, and in them strings whose text `line_string_at_bytes` checked, each
        // between ASCII quotes. UTF-8 texts joined are UTF-8.
        let text = unsafe { std::str::from_utf8_unchecked(bytes) };
        if i > 0 {
            let shape = self.shapes.remove(i);
            self.shapes.insert(0, shape);
        }
        let (start, end) = hit.log;
        // (Always there: a shape's holes are its last two reads.)
        let (line, plain) = reads.take(start)?;
        Some(LineRecord {
            log_value: &text[start..end],
            line,
            plain,
            stream: self.shapes[0].stream.clone(),
            passthrough: self.shapes[0].passthrough.clone(),
            volatile: hit
                .volatile
                .map(|(a, b)| boxed_in(&text[a..b], &mut self.spare_time)),
        })
    }

    /// A UTF-8 record no recent shape matches (the first of a container, a tick, anything
    /// else): parsed whole. Out of line, so that the path of the records a shape matches
    /// (nearly all) stays short in the interpreter.
    #[inline(never)]
    fn record_parsed<'t>(
        &mut self,
        tag: &str,
        time: Timestamp,
        text: &'t str,
        now_ms: u64,
    ) -> Parsed<'t> {
        let members = match json::parse_object_known(text, &self.known_values) {
            Ok(m) => m,
            Err(e) => {
                let trimmed = text.trim_start();
                let (kind, detail) = if !trimmed.starts_with('{') && is_json_value(trimmed) {
                    (
                        FaultKind::NotAnObject,
                        "record is JSON but not an object".to_string(),
                    )
                } else {
                    (
                        FaultKind::InvalidJson,
                        format!("record is not valid JSON: {e}"),
                    )
                };
                let content = cut(text, self.settings.max_bytes);
                self.fault(tag, time, content, Fault { kind, detail });
                return Parsed::Done;
            }
        };
        remember_values(&mut self.known_values, &mut self.next_known_id, &members);
        if members.iter().any(|m| same_key(&m.key, TICK_KEY)) {
            self.tick(text, &members, now_ms);
            return Parsed::Done;
        }
        let log_member = members
            .iter()
            .find(|m| same_key(&m.key, &self.settings.log_key));
        let Some((log_member, (line, plain))) = log_member.and_then(|m| Some((m, read_line(m)?)))
        else {
            return Parsed::Through(text);
        };
        let stream: Rc<str> = members
            .iter()
            .find(|m| same_key(&m.key, &self.settings.stream_key))
            .and_then(json::member_string)
            .unwrap_or_default()
            .into();
        let (passthrough, volatile) = self.passthrough(&members);
        if self.max_shapes > 0 {
            if let Some(shape) = Shape::of(text, log_member, &members, &stream, &passthrough) {
                if self.shapes.len() >= self.max_shapes {
                    self.shapes.pop();
                }
                self.shapes.insert(0, shape);
            }
        }
        Parsed::Line(LineRecord {
            log_value: log_member.value,
            line,
            plain,
            stream,
            passthrough,
            volatile,
        })
    }

    /// Groups one log line of a record. `tag_is_last`: `tag` is the stream table's
    /// `last_tag()`, found so by `process`.
    #[inline(always)]
    fn line(
        &mut self,
        tag: &str,
        tag_is_last: bool,
        time: Timestamp,
        record: LineRecord<'_>,
        now_ms: u64,
    ) {
        let LineRecord {
            log_value,
            line,
            plain,
            stream,
            passthrough,
            volatile,
        } = record;
        let stripped = line.strip_suffix('\n');
        let escaped = matches!(line, std::borrow::Cow::Owned(_));
        // The member is a validated string, so its body is between its quotes.
        let body = &log_value[1..log_value.len() - 1];
        // The line's JSON form, when the record's string has it. A Docker record's line ends
        // in a newline, `\n` at the end of its body (the decoded text ends in one, so the
        // body's last `\n` is that escape, not the end of a `\\`).
        let json = match stripped {
            Some(_) => body.strip_suffix("\\n"),
            None => Some(body),
        };
        let spare_json = &self.spare_json;
        let line_json = move || match (escaped, json) {
            (false, _) => LineJson::Verbatim,
            (true, Some(json)) => {
                let mut form = spare_json.take();
                form.clear();
                form.push_str(json);
                LineJson::Escaped { json: form, plain }
            }
            (true, None) => LineJson::Unknown,
        };
        let line = stripped.unwrap_or(&line);
        self.stats.lines += 1;
        let meta = || LineMeta {
            time,
            passthrough,
            volatile,
            json: line_json(),
        };
        // The event of a group this line completes, when no other is waiting: written
        // straight into this call's answer.
        let (out, out_fresh, ready, spare, spare_time) = (
            &mut self.out,
            &mut self.out_fresh,
            &mut self.ready,
            &mut self.spare,
            &mut self.spare_time,
        );
        let (settings, memos, stats) = (&self.settings, &mut self.memos, &mut self.stats);
        let emit = |tag: &str, names: &StreamNames, group: &mut Group<LineMeta>| {
            let mut queued = None;
            let json = if ready.is_empty() && !*out_fresh {
                // A buffer grown by one huge event is not kept (as in `next_out`).
                if out.capacity() > MAX_SPARE_BYTES {
                    *out = String::new();
                }
                out.clear();
                out
            } else {
                queued.insert(spare.pop().unwrap_or_default())
            };
            write_event(
                json,
                tag,
                names,
                group,
                settings,
                &self.ctx.header,
                memos,
                stats,
            );
            match queued {
                Some(json) => ready.push_back(json),
                None => *out_fresh = true,
            }
            // The group is let go now: its buffers serve the next records.
            if let Some(time) = group.first.volatile.take() {
                *spare_time = Some(time);
            }
            if let LineJson::Escaped { json, .. } = &mut group.first.json {
                if json.capacity() <= MAX_SPARE_BYTES {
                    spare_json.set(std::mem::take(json));
                }
            }
        };
        self.streams.push(
            tag,
            tag_is_last,
            &stream,
            line,
            meta,
            now_ms,
            &self.ctx,
            self.settings.max_streams,
            self.settings.max_held_bytes,
            &mut self.released,
            emit,
        );
        // (Most lines leave nothing here: their group, if any, went to `emit`.)
        if !self.released.is_empty() {
            self.build_released();
        }
    }

    /// The record's members other than the line, prepared for the event, shared with the
    /// previous record when identical (consecutive lines of one container usually are).
    ///
    /// The record's `time` (`event::VOLATILE_KEY`) is new on every record of a container
    /// runtime: its value stays out of the comparison and is returned for the line itself.
    fn passthrough(&mut self, members: &[Member<'_>]) -> (Rc<Passthrough>, Option<Box<str>>) {
        let log_key = self.settings.log_key.as_str();
        let others = members.iter().filter(|m| !same_key(&m.key, log_key));
        self.scratch.clear();
        let mut volatile = None;
        for m in others.clone() {
            if volatile.is_none() && same_key(&m.key, event::VOLATILE_KEY) {
                // Its place, not its value.
                self.scratch.push_str("\0time,");
                volatile = Some(Box::from(m.value));
                continue;
            }
            match &m.key {
                // A key read without escapes needs none.
                std::borrow::Cow::Borrowed(key) => {
                    self.scratch.push('"');
                    self.scratch.push_str(key);
                    self.scratch.push('"');
                }
                std::borrow::Cow::Owned(key) => json::write_str(&mut self.scratch, key),
            }
            self.scratch.push(':');
            match m.known {
                // A known value stands for its text by its id: a NUL, which no JSON text
                // holds, then the id. Hundreds of bytes of `kubernetes` are then neither
                // copied here nor compared below.
                Some(id) => {
                    self.scratch.push('\0');
                    crate::hash::push_hex64(&mut self.scratch, id);
                }
                None => self.scratch.push_str(m.value),
            }
            self.scratch.push(',');
        }
        let hit = self
            .passthroughs
            .iter()
            .position(|(text, _)| json::same_bytes(text.as_bytes(), self.scratch.as_bytes()));
        let entry = match hit {
            Some(i) => self.passthroughs.remove(i),
            None => {
                if self.passthroughs.len() >= MAX_PASSTHROUGHS {
                    self.passthroughs.pop();
                }
                let prepared = Rc::new(Passthrough::new(others, &self.settings));
                (self.scratch.clone(), prepared)
            }
        };
        let prepared = entry.1.clone();
        self.passthroughs.insert(0, entry);
        (prepared, volatile)
    }

    // Out of line: a tick is one record in hundreds, and its code inlined into `record`
    // makes the path every log line takes longer in the interpreter.
    #[inline(never)]
    fn tick(&mut self, text: &str, members: &[Member<'_>], now_ms: u64) {
        self.stats.ticks += 1;
        if let Some(line) = self.stats_due(now_ms) {
            eprintln!("{line}");
        }
        if text != self.last_tick {
            let (next, errors) = Settings::from_tick(members, &self.settings);
            for e in &errors {
                eprintln!("cali: {e}; keeping {}", current_value(&next, &e.key));
            }
            self.settings = next;
            self.ctx = context(&self.settings);
            // The service labels may have changed: prepare records' members anew.
            self.passthroughs.clear();
            self.shapes.clear();
            self.last_tick.clear();
            self.last_tick.push_str(text);
        }
        if self.ready.is_empty()
            && self
                .streams
                .release_idle(now_ms, self.settings.idle_timeout_ms, &mut self.released)
        {
            self.build_released();
        }
    }

    /// The `cali: stats` line when `stats_interval_ms` has passed since the last one (or
    /// since the first tick).
    fn stats_due(&mut self, now_ms: u64) -> Option<String> {
        let interval = self.settings.stats_interval_ms;
        match self.last_stats_ms {
            None => self.last_stats_ms = Some(now_ms),
            Some(last) if interval > 0 && now_ms.saturating_sub(last) >= interval => {
                self.last_stats_ms = Some(now_ms);
                return Some(self.stats_line());
            }
            Some(_) => {}
        }
        None
    }

    fn build_released(&mut self) {
        for r in self.released.drain(..) {
            let mut json = self.spare.pop().unwrap_or_default();
            write_event(
                &mut json,
                &r.tag,
                &r.names,
                &r.group,
                &self.settings,
                &self.ctx.header,
                &mut self.memos,
                &mut self.stats,
            );
            self.ready.push_back(json);
        }
    }

    // The faults below are rare and out of line: their code inlined into `process` and
    // `record` would make every record's call longer in the interpreter.
    #[cold]
    #[inline(never)]
    fn lost_in_host(&mut self, tag: &str, time: Timestamp, len: usize) {
        let fault = Fault {
            kind: FaultKind::RecordLostInHost,
            detail: format!(
                "Fluent Bit could not copy a record of {len} bytes into the filter (raise Wasm_Heap_Size above the largest record)"
            ),
        };
        self.fault(tag, time, "", fault);
    }

    #[cold]
    #[inline(never)]
    fn invalid_utf8(&mut self, tag: &str, time: Timestamp, bytes: &[u8], valid_up_to: usize) {
        let lossy = String::from_utf8_lossy(bytes);
        let content = cut(&lossy, self.settings.max_bytes);
        let fault = Fault {
            kind: FaultKind::InvalidUtf8,
            detail: format!(
                "record is not valid UTF-8 (at byte {valid_up_to}); kept with U+FFFD replacements"
            ),
        };
        self.fault(tag, time, content, fault);
    }

    #[cold]
    #[inline(never)]
    fn fault(&mut self, tag: &str, time: Timestamp, content: &str, fault: Fault) {
        eprintln!("cali: {} in {tag}: {}", fault.kind.as_str(), fault.detail);
        self.stats.record_faults += 1;
        self.stats.events += 1;
        let mut json = self.spare.pop().unwrap_or_default();
        json.reserve(content.len() + 512);
        event::write_fault_event(&mut json, tag, time, content, &fault);
        self.ready.push_back(json);
    }

    /// `process`'s answer as the host takes it: the JSON text and a NUL, or a lone NUL (the
    /// record is dropped). The NUL goes after the text in its own buffer, which the next
    /// event clears before it is written there: no copy of the text.
    pub fn process_nul(
        &mut self,
        tag: &[u8],
        time: Timestamp,
        input: Input<'_>,
        now_ms: u64,
    ) -> &[u8] {
        if self.process(tag, time, input, now_ms).is_none() {
            return b"\0";
        }
        self.out.push('\0');
        self.out.as_bytes()
    }

    fn next_out(&mut self) -> Option<&str> {
        if self.out_fresh {
            self.out_fresh = false;
            return Some(&self.out);
        }
        let next = self.ready.pop_front()?;
        let mut previous = std::mem::replace(&mut self.out, next);
        // A buffer grown by one huge event is not kept: it would pin that memory.
        if self.spare.len() < MAX_SPARE && previous.capacity() <= MAX_SPARE_BYTES {
            previous.clear();
            self.spare.push(previous);
        }
        Some(&self.out)
    }

    /// Releases everything held (end of input in tests and tools): afterwards every
    /// event can be taken with `take_waiting`.
    pub fn release_all(&mut self) {
        self.streams.release_all(&mut self.released);
        self.build_released();
    }

    /// Takes the next waiting event, if any (tools that are not bound to one-out-per-in).
    pub fn take_waiting(&mut self) -> Option<String> {
        self.ready.pop_front()
    }
}

/// Writes the event of a finished group into `json` and counts it.
#[allow(clippy::too_many_arguments)]
fn write_event(
    json: &mut String,
    tag: &str,
    names: &StreamNames,
    group: &Group<LineMeta>,
    settings: &Settings,
    header: &crate::header::HeaderParser,
    memos: &mut event::Memos,
    stats: &mut FilterStats,
) {
    json.reserve(group.text.len() + group.first.passthrough.members.len() + 512);
    event::write_group(json, names, group, settings, header, memos);
    if group.cut_bytes > 0 {
        eprintln!(
            "cali: cut {} bytes from a line longer than max_bytes ({}) in {tag}",
            group.cut_bytes, settings.max_bytes
        );
        stats.cut_lines += 1;
    }
    stats.events += 1;
    stats.event_lines += group.line_count as u64;
}

/// Values worth remembering are at least this long; at most `MAX_KNOWN` are kept (streams
/// interleave, so a few containers' metadata alternate).
const KNOWN_MIN_BYTES: usize = 64;
const MAX_KNOWN: usize = 8;

/// Distinct sets of record members kept prepared (about one per container).
const MAX_PASSTHROUGHS: usize = 8;

/// `key == name` without a `memcmp` call (a byte loop in WebAssembly) for keys this short.
fn same_key(key: &str, name: &str) -> bool {
    json::same_bytes(key.as_bytes(), name.as_bytes())
}

fn remember_values(known: &mut Vec<KnownValue>, next_id: &mut u64, members: &[Member<'_>]) {
    for m in members {
        // A value the parse found known is not compared again.
        if m.known.is_some()
            || m.value.len() < KNOWN_MIN_BYTES
            || !matches!(m.value.as_bytes()[0], b'{' | b'[')
            || known
                .iter()
                .any(|k| json::same_bytes(k.text.as_bytes(), m.value.as_bytes()))
        {
            continue;
        }
        if known.len() >= MAX_KNOWN {
            known.remove(0);
        }
        known.push(KnownValue {
            id: *next_id,
            text: m.value.to_string(),
        });
        *next_id += 1;
    }
}

/// A log line as its record holds it, read by the record's shape or by a whole parse.
struct LineRecord<'t> {
    /// The line member's value as written (a JSON string, quotes and all).
    log_value: &'t str,
    /// Its text.
    line: std::borrow::Cow<'t, str>,
    /// The bytes of the value's body before its first escape (all when it has none): the
    /// start of the line that is its own JSON form.
    plain: usize,
    stream: Rc<str>,
    passthrough: Rc<Passthrough>,
    /// The runtime's `time`, its raw JSON value (`event::VOLATILE_KEY`).
    volatile: Option<Box<str>>,
}

/// What a record parsed whole is.
enum Parsed<'t> {
    /// A log line, to group.
    Line(LineRecord<'t>),
    /// Not a log line (no `log_key` string): the record's text, which leaves as it came.
    Through(&'t str),
    /// Handled already: a tick, or a record fault's event.
    Done,
}

/// `text` in a box: the spare one when it has the same length (the runtime's time has the
/// same length on every record of a container), else a new one.
fn boxed_in(text: &str, spare: &mut Option<Box<str>>) -> Box<str> {
    match spare.take() {
        Some(mut b) if b.len() == text.len() => {
            // SAFETY: every byte is replaced by those of a `str` of the same length.
            unsafe { b.as_bytes_mut() }.copy_from_slice(text.as_bytes());
            b
        }
        _ => Box::from(text),
    }
}

/// The record's line, read from its member as the short path reads it
/// (`json::line_member_at`): Docker's final `\n` is left out in place when it is the
/// string's only escape (no unescaped copy, no second look for bytes to escape when the
/// event is written).
fn read_line<'t>(log: &Member<'t>) -> Option<(std::borrow::Cow<'t, str>, usize)> {
    json::line_member_at(log.value, 0, "").map(|(_, _, line, plain)| (line, plain))
}

/// A recent log record as written, but for its holes: the line's value and the runtime's
/// `time` (`event::VOLATILE_KEY`), which change on every record; and what it gave.
/// A record whose text around its holes is byte for byte the same, with a valid JSON
/// string in each hole, has the same members but for those values: its stream and
/// passthrough are the shape's, and only its line (and time) need reading.
struct Shape {
    /// Each hole and the text before it (after the previous hole).
    holes: Vec<(String, Hole)>,
    /// The text after the last hole.
    last: String,
    stream: Rc<str>,
    passthrough: Rc<Passthrough>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    Line,
    Volatile,
}

/// What a record that matches a shape holds in its holes.
struct ShapeHit {
    /// Where the line's member value (quotes and all) starts and ends; its text is in the
    /// record's `Reads`.
    log: (usize, usize),
    /// Where the raw JSON string of the runtime's time starts and ends.
    volatile: Option<(usize, usize)>,
}

/// The strings read in a record while its shapes are tried: most shapes have a hole at the
/// same place (just after `{"log":`, or after `{"time":`), which is read once.
#[derive(Default)]
struct Reads<'t> {
    /// The last two strings read.
    slots: [Option<Read<'t>>; 2],
    /// The slot the next string read takes: the one read before the other.
    next: usize,
}

/// A string read in a record: where it starts and ends, its text, and its bytes before its
/// first escape.
type Read<'t> = (usize, usize, std::borrow::Cow<'t, str>, usize);

impl<'t> Reads<'t> {
    /// Where the valid JSON string that starts at `at` ends (`None` also when its text is
    /// not UTF-8). (The slots stay where they are: in the interpreter, swapping them moved
    /// ten words per read.)
    fn read(&mut self, bytes: &'t [u8], at: usize) -> Option<usize> {
        for (a, end, _, _) in self.slots.iter().flatten() {
            if *a == at {
                return Some(*end);
            }
        }
        let (end, value, plain) = json::line_string_at_bytes(bytes, at)?;
        let k = self.next & 1;
        self.next = k ^ 1;
        self.slots[k] = Some((at, end, value, plain));
        Some(end)
    }

    /// The text of the string read at `at`, and its bytes before its first escape.
    fn take(&mut self, at: usize) -> Option<(std::borrow::Cow<'t, str>, usize)> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|(a, _, _, _)| *a == at))?;
        slot.take().map(|(_, _, value, plain)| (value, plain))
    }
}

impl Shape {
    /// The shape of a record that parsed whole (`members`), its line read from `log`.
    /// `None` when the record is too long to keep, or its `time` is not a string (a hole
    /// holds strings only, and the passthrough leaves that member's value to the line).
    fn of(
        text: &str,
        log: &Member<'_>,
        members: &[Member<'_>],
        stream: &Rc<str>,
        passthrough: &Rc<Passthrough>,
    ) -> Option<Self> {
        let span = |value: &str| {
            let start = value.as_ptr() as usize - text.as_ptr() as usize;
            (start, start + value.len())
        };
        let mut holes = vec![(span(log.value), Hole::Line)];
        if passthrough.keeps_volatile() {
            // The member `Filter::passthrough` kept out: the first `time` but the line.
            let time = members
                .iter()
                .find(|m| !std::ptr::eq(*m, log) && same_key(&m.key, event::VOLATILE_KEY))?;
            if !time.value.starts_with('"') {
                return None;
            }
            holes.push((span(time.value), Hole::Volatile));
        }
        holes.sort_by_key(|((start, _), _)| *start);
        let mut pieces = Vec::with_capacity(holes.len());
        let mut at = 0;
        for ((start, end), hole) in holes {
            pieces.push((text.get(at..start)?.to_owned(), hole));
            at = end;
        }
        let last = text.get(at..)?.to_owned();
        if pieces.iter().map(|(p, _)| p.len()).sum::<usize>() + last.len() > MAX_SHAPE_BYTES {
            return None;
        }
        Some(Self {
            holes: pieces,
            last,
            stream: stream.clone(),
            passthrough: passthrough.clone(),
        })
    }

    /// What the record `b` holds in the holes, when it has this shape (and its holes' strings
    /// are UTF-8).
    fn matches<'t>(&self, b: &'t [u8], reads: &mut Reads<'t>) -> Option<ShapeHit> {
        let mut at = 0;
        let mut log = None;
        let mut volatile = None;
        for (piece, hole) in &self.holes {
            let piece = piece.as_bytes();
            if !json::same_bytes(b.get(at..at + piece.len())?, piece) {
                return None;
            }
            at += piece.len();
            let end = reads.read(b, at)?;
            match hole {
                Hole::Line => log = Some((at, end)),
                Hole::Volatile => volatile = Some((at, end)),
            }
            at = end;
        }
        let last = self.last.as_bytes();
        let same = if last.len() >= 64 {
            json::same_long_bytes(&b[at..], last)
        } else {
            json::same_bytes(&b[at..], last)
        };
        if !same {
            return None;
        }
        Some(ShapeHit {
            log: log?,
            volatile,
        })
    }
}

/// Record shapes kept (about one per container stream that writes at the moment), and the
/// most bytes of text one keeps.
const MAX_SHAPES: usize = 8;
const MAX_SHAPE_BYTES: usize = 64 * 1024;

fn context(settings: &Settings) -> GroupContext {
    GroupContext {
        max_lines: settings.max_lines,
        max_bytes: settings.max_bytes,
        languages: settings.languages,
        header: settings.header_parser(),
    }
}

/// Whether `text` is a JSON value of some kind (checked on the error path only, by
/// wrapping it as a member of an object).
fn is_json_value(text: &str) -> bool {
    let wrapped = format!("{{\"v\":{text}}}");
    json::parse_object(&wrapped).is_ok()
}

fn current_value(s: &Settings, key: &str) -> String {
    match key {
        "idle_timeout_ms" => s.idle_timeout_ms.to_string(),
        "max_lines" => s.max_lines.to_string(),
        "max_bytes" => s.max_bytes.to_string(),
        "max_streams" => s.max_streams.to_string(),
        "max_held_bytes" => s.max_held_bytes.to_string(),
        "log_key" => s.log_key.clone(),
        "stream_key" => s.stream_key.clone(),
        "alert_level" => s.alert_level.as_str().to_string(),
        "languages" | "header_layouts" | "service_labels" => "the previous value".to_string(),
        _ => "nothing (ignored)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass reader of a record's line accepts what the validating scan accepts,
        /// ends where it ends, and gives the string's unescaped text, or, when its only
        /// escape is a final `\n`, the text before it, borrowed; on raw string bodies
        /// mixing plain text, every escape (valid or not), surrogates, control characters,
        /// quotes, a final `\n`, and bytes one above a quote or backslash (`#`, `]`).
        #[test]
        fn line_member_at_reads_as_validation_then_unescaping(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "a", "é", " ", "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\u00e9", "\\ud83d\\ude00",
                "\\ud83d", "\\x", "\\", "\"", "\u{1}", "n", "}", "\\r\\n",
                // Bytes next to a quote or backslash that word-wide searches must not take for one.
                "#", "]", "!", " \\\"#", "\\\\]",
            ]), 0..12),
            close in proptest::bool::ANY,
            rest in proptest::sample::select(vec!["}", ",\"stream\":\"stdout\"}", "", "\\n\"}"]),
        ) {
            let body: String = pieces.concat();
            let src = format!("{{\"log\":\"{body}{}{rest}", if close { "\"" } else { "" });
            let at = "{\"log\":".len();
            let slow = json::string_member_at(&src, at, "log").map(|(m, end)| {
                let body = &m.value[1..m.value.len() - 1];
                let line = match body.strip_suffix("\\n") {
                    Some(text) if !text.contains('\\') => Some(std::borrow::Cow::Borrowed(text)),
                    _ => json::member_string(&m),
                };
                // The body's bytes before its first backslash.
                let plain = body.find('\\').unwrap_or(body.len());
                (m.value, m.escapes, end, line, plain)
            });
            let fast = json::line_member_at(&src, at, "log")
                .map(|(m, end, line, plain)| (m.value, m.escapes, end, Some(line), plain));
            proptest::prop_assert_eq!(fast, slow, "{}", src);
        }
    }

    proptest::proptest! {
        /// The reader of a line in bytes not yet known to be UTF-8 gives what `line_member_at`
        /// gives on the record's longest UTF-8 prefix: the same end and text when the string
        /// is UTF-8 (whatever follows it), nothing when a byte inside it is not; on bodies
        /// mixing plain text, escapes, quotes and control bytes with multi-byte chars whole
        /// and cut, stray continuation bytes, overlong forms, encoded surrogates and bytes
        /// that are never UTF-8.
        #[test]
        fn the_line_read_from_bytes_is_the_line_of_their_utf8_prefix(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                &b"a"[..], "\u{e9}".as_bytes(), "\u{1f600}".as_bytes(), b" ", b"\\n", b"\\\"",
                b"\\u00e9", b"\"", b"\x01", b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98",
                b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3\xa9\xc3",
                b"12345678",
            ]), 0..12),
            close in proptest::bool::ANY,
            rest in proptest::sample::select(vec![
                &b"}"[..], b",\"stream\":\"stdout\"}", b"", b"\\n\"}", b"\xff}", b"\xc3\xa9}",
            ]),
        ) {
            let mut src = b"{\"log\":".to_vec();
            let at = src.len();
            src.push(b'"');
            for p in &pieces {
                src.extend_from_slice(p);
            }
            if close {
                src.push(b'"');
            }
            src.extend_from_slice(rest);
            let valid = match std::str::from_utf8(&src) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&src[..e.valid_up_to()]).unwrap(),
            };
            let slow = json::line_member_at(valid, at, "log")
                .map(|(_, end, line, plain)| (end, line, plain));
            let fast = json::line_string_at_bytes(&src, at);
            proptest::prop_assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(&src));
        }
    }

    /// Pieces of a record's `log` string, as written inside the JSON (some break it).
    const LINE_PIECES: &[&str] = &[
        "plain words ",
        "2026-11-20 13:10:00,000 - app - ERROR - charge failed ",
        "Traceback (most recent call last):",
        "  File \\\"/app/pay.py\\\", line 3, in charge",
        "ValueError: bad amount",
        "\\\"quoted\\\" ",
        "caf\\u00e9 ",
        "{\\\"level\\\":\\\"error\\\",\\\"msg\\\":\\\"x\\\"}",
        "\\t",
        "\\n",
        // Broken: a bad escape, a lone surrogate, a raw control byte, a stray quote.
        "\\x",
        "\\ud800",
        "\u{1}",
        "\"",
    ];

    /// Bytes that are not UTF-8 (a stray continuation byte, a char cut short, an overlong
    /// form, an encoded surrogate), and a char that is, for records' lines and endings.
    const NOT_UTF8: &[&[u8]] = &[
        b"\xff",
        b"\x80",
        b"\xc3",
        b"\xc0\xaf",
        b"\xed\xa0\x80",
        "\u{e9}".as_bytes(),
    ];

    /// What follows a record's line (some broken, one a tick, one a second `log`).
    const ENDINGS: &[&str] = &[
        "}",
        ",\"stream\":\"stdout\"}",
        ",\"stream\":\"stderr\",\"kubernetes\":{\"pod_name\":\"pay-1\",\"labels\":{\"app\":\"pay\"}}}",
        ",\"stream\":\"stdout\",\"kubernetes\":{\"pod_name\":\"cart-1\",\"labels\":{\"app\":\"cart\"}}}",
        ",\"stream\":\"stdout\",\"time\":\"2026-11-20T13:10:00Z\"} ",
        ",\"stream\":7}",
        ",\"log\":\"second\"}",
        ",\"x\":}",
        ",\"stream\":\"stdout\"",
        ",\"cali_tick\":1}",
        // Not UTF-8 outside the line (a stream, a member of the metadata, a key).
        ",\"stream\":\"std\u{fffd}\"}",
        ",\"stream\":\"stdout\",\"kubernetes\":{\"pod_name\":\"pay-\u{fffd}\"}}",
        ",\"\u{fffd}\":1}",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

        /// Records read by their shape give exactly the events (faults included) that the
        /// same records give a filter that parses every record whole: random lines and
        /// endings (valid and broken, ticks, duplicate keys, bytes that are not UTF-8 in the
        /// line, in the runtime's time and elsewhere), framed as a plain file, as Docker's
        /// (the runtime's `time` after the line) and as CRI's (`time` first), the time a new
        /// one on each record.
        #[test]
        fn records_read_by_their_shape_give_what_a_whole_read_gives(
            spec in proptest::collection::vec(
                (
                    proptest::collection::vec(0..LINE_PIECES.len() + NOT_UTF8.len(), 0..4),
                    0..ENDINGS.len(),
                    0..3usize,
                    0..NOT_UTF8.len() * 4,
                ),
                1..40,
            )
        ) {
            let records: Vec<Vec<u8>> = spec
                .iter()
                .enumerate()
                .map(|(i, (pieces, ending, framing, bad))| {
                    let piece = |p: usize| match LINE_PIECES.get(p) {
                        Some(s) => s.as_bytes(),
                        None => NOT_UTF8[p - LINE_PIECES.len()],
                    };
                    let line: Vec<u8> = pieces.iter().flat_map(|&p| piece(p).to_vec()).collect();
                    // Now and then the time, or the ending's U+FFFD, holds bytes that are not
                    // UTF-8 instead.
                    let odd = NOT_UTF8.get(*bad).copied();
                    let mut time = format!("\"2026-11-20T13:10:00.{i:09}Z\"").into_bytes();
                    let mut ending = ENDINGS[*ending].as_bytes().to_vec();
                    if let Some(odd) = odd {
                        if i % 2 == 0 {
                            time.splice(5..5, odd.iter().copied());
                        } else if let Some(at) = ENDINGS[spec[i].1].find('\u{fffd}') {
                            ending.splice(at..at + 3, odd.iter().copied());
                        }
                    }
                    let mut r = Vec::new();
                    let mut put = |parts: &[&[u8]]| parts.iter().for_each(|p| r.extend_from_slice(p));
                    match framing {
                        0 => put(&[b"{\"log\":\"", &line, b"\"", &ending]),
                        1 => put(&[b"{\"log\":\"", &line, b"\\n\",\"time\":", &time, &ending]),
                        _ => put(&[b"{\"time\":", &time, b",\"_p\":\"F\",\"log\":\"", &line, b"\"", &ending]),
                    }
                    r
                })
                .collect();
            let (shaped, whole) = with_and_without_shapes(&records);
            proptest::prop_assert_eq!(shaped, whole);
        }
    }

    const TAG: &[u8] = b"kube.var.log.containers.pay-1.log";

    fn line(f: &mut Filter, text: &str, now: u64) -> Option<String> {
        let mut rec = String::from("{\"log\":");
        json::write_str(&mut rec, text);
        rec.push_str(",\"stream\":\"stderr\",\"kubernetes\":{\"pod_name\":\"pay-1\",\"labels\":{\"app\":\"payments\"}}}");
        f.process(
            TAG,
            Timestamp::new(1_700_000_000, 0),
            Input::Record(rec.as_bytes()),
            now,
        )
        .map(String::from)
    }

    fn tick(f: &mut Filter, settings: &str, now: u64) -> Option<String> {
        let rec = format!("{{\"cali_tick\":1{settings}}}");
        f.process(
            b"cali.tick",
            Timestamp::new(1_700_000_001, 0),
            Input::Record(rec.as_bytes()),
            now,
        )
        .map(String::from)
    }

    fn field(event: &str, key: &str) -> String {
        let members = json::parse_object(event).unwrap_or_else(|e| panic!("{e}: {event}"));
        members
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.value.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_line_leaves_when_the_next_line_of_its_stream_arrives() {
        let mut f = Filter::new(Settings::default());
        assert_eq!(line(&mut f, "first plain line", 0), None);
        let out = line(&mut f, "second plain line", 1).expect("first line released");
        assert_eq!(field(&out, "log_content"), "\"first plain line\"");
        assert_eq!(
            field(&out, "tag"),
            format!("\"{}\"", String::from_utf8_lossy(TAG))
        );
        assert_eq!(field(&out, "service"), "\"payments\"");
        assert!(
            field(&out, "kubernetes").contains("pay-1"),
            "kubernetes passed through"
        );
        assert_eq!(field(&out, "log"), "", "the raw line is not repeated");
    }

    /// The event of one record (raw JSON) once it is released.
    fn event_of_record(record: &str) -> String {
        let mut f = Filter::new(Settings::default());
        let r = f.process(
            TAG,
            Timestamp::new(1_700_000_000, 0),
            Input::Record(record.as_bytes()),
            0,
        );
        assert_eq!(r, None, "held until the next line");
        f.release_all();
        f.take_waiting().expect("released")
    }

    #[test]
    fn log_content_is_the_records_line_however_it_was_escaped() {
        // A JSON line, escaped as Fluent Bit writes it (`\u00e9`, `\/` included): the
        // event copies the record's string as it is.
        let body = r#"{\"time\":\"t\",\"level\":\"error\",\"msg\":\"caf\u00e9 \/x\"}"#;
        let out = event_of_record(&format!(r#"{{"log":"{body}"}}"#));
        assert_eq!(field(&out, "log_content"), format!("\"{body}\""));
        let content = json::string_value(&field(&out, "log_content")).map(|s| s.into_owned());
        assert_eq!(
            content.as_deref(),
            Some(r#"{"time":"t","level":"error","msg":"café /x"}"#)
        );
        assert_eq!(field(&out, "message"), "\"café /x\"");

        // A trailing newline (Docker's `log`) is not part of the line: the record's string
        // is copied without its final `\n`.
        let out = event_of_record(r#"{"log":"say \"hi\"\n"}"#);
        assert_eq!(field(&out, "log_content"), r#""say \"hi\"""#);
        let out = event_of_record(r#"{"log":"caf\u00e9 \/x \"q\"\n"}"#);
        assert_eq!(field(&out, "log_content"), r#""caf\u00e9 \/x \"q\"""#);
        assert_eq!(field(&out, "message"), r#""caf\u00e9 \/x \"q\"""#);
        // A newline written `\u000a` is not copied: the line is escaped anew, without it.
        let out = event_of_record(r#"{"log":"say \"hi\"\u000a"}"#);
        assert_eq!(field(&out, "log_content"), r#""say \"hi\"""#);

        // Without escapes the line and its parts are written as they are.
        let out = event_of_record(r#"{"log":"2026-11-20 13:10:00 ERROR [main] a.B : boom"}"#);
        assert_eq!(
            field(&out, "log_content"),
            r#""2026-11-20 13:10:00 ERROR [main] a.B : boom""#
        );
        assert_eq!(field(&out, "message"), r#""boom""#);
    }

    #[test]
    fn docker_lines_give_the_events_of_their_text_without_the_newline() {
        let lines = [
            "2026-11-20 13:10:00 ERROR [main] a.B : boom",
            r#"say \"hi\""#,
            r"tab\there",
            r"ends in a backslash \\",
            r"ends in backslash-n \\n",
            r#"{\"level\":\"error\",\"msg\":\"x\"}"#,
            "",
        ];
        for body in lines {
            let docker = event_of_record(&format!(r#"{{"log":"{body}\n"}}"#));
            let plain = event_of_record(&format!(r#"{{"log":"{body}"}}"#));
            assert_eq!(docker, plain, "{body}");
        }
        // `\\n` at the end is a backslash and an `n`, part of the line.
        let out = event_of_record(r#"{"log":"a\\n"}"#);
        assert_eq!(field(&out, "log_content"), r#""a\\n""#);
    }

    #[test]
    fn a_tick_releases_a_quiet_stream_only_after_the_idle_timeout() {
        let mut f = Filter::new(Settings::default());
        assert_eq!(line(&mut f, "last words", 10), None);
        assert_eq!(tick(&mut f, "", 500), None, "not idle yet");
        assert_eq!(
            tick(&mut f, "", 1010),
            None,
            "exactly the timeout is not past it"
        );
        let out = tick(&mut f, "", 1011).expect("released after the timeout");
        assert_eq!(field(&out, "log_content"), "\"last words\"");
        assert_eq!(tick(&mut f, "", 5000), None, "nothing left");
    }

    #[test]
    fn settings_come_from_the_tick_and_bad_ones_keep_the_default() {
        let mut f = Filter::new(Settings::default());
        tick(&mut f, ",\"idle_timeout_ms\":50,\"max_lines\":\"zero\"", 0);
        assert_eq!(f.settings().idle_timeout_ms, 50);
        assert_eq!(f.settings().max_lines, 500);
    }

    /// Every event `records` give, in order, then the held ones.
    fn events_of(records: &[impl AsRef<[u8]>]) -> Vec<String> {
        events_with(Filter::new(Settings::default()), records)
    }

    fn events_with(mut f: Filter, records: &[impl AsRef<[u8]>]) -> Vec<String> {
        let mut events = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let time = Timestamp::new(1_700_000_000 + i as i64, 0);
            if let Some(e) = f.process(TAG, time, Input::Record(r.as_ref()), i as u64) {
                events.push(e.to_string());
            }
        }
        f.release_all();
        while let Some(e) = f.take_waiting() {
            events.push(e);
        }
        events
    }

    /// The events of `records` read with record shapes and with a full parse of each.
    fn with_and_without_shapes(records: &[impl AsRef<[u8]>]) -> (Vec<String>, Vec<String>) {
        let mut full = Filter::new(Settings::default());
        full.max_shapes = 0;
        (events_of(records), events_with(full, records))
    }

    #[test]
    fn records_shaped_like_a_recent_one_give_what_a_full_parse_gives() {
        let kube = |app: &str| {
            format!(
                r#","kubernetes":{{"pod_name":"{app}-1","labels":{{"app":"{app}"}},"annotations":{{"note":"{}"}}}}"#,
                "x".repeat(80)
            )
        };
        let lines = [
            "2026-11-20 13:10:00,000 - app - ERROR - charge failed \\\"card\\\"",
            "plain words",
            "Traceback (most recent call last):",
            "  File \\\"/app/pay.py\\\", line 3, in charge",
            "ValueError: bad amount",
            "I1120 13:10:00.000456       1 controller.go:100] Reconciled",
        ];
        // Each framing the shipped tail gives (parsed, Docker's with `time` last, CRI's
        // with `time` first), with and without Kubernetes metadata, on both streams; plus
        // a `time` that is not a string, a second `time`, and a record ending in a space.
        let record = |i: usize, line: &str| {
            let t = format!("2026-11-20T13:10:{:02}.{:09}Z", i % 60, i * 7919);
            let stream = ["stdout", "stderr"][i / 2 % 2];
            let k8s = match i / 4 % 3 {
                0 => kube("pay"),
                1 => kube("cart"),
                _ => String::new(),
            };
            match i / 12 % 6 {
                0 => format!(r#"{{"log":"{line}","stream":"{stream}"{k8s}}}"#),
                1 => format!(r#"{{"log":"{line}\n","stream":"{stream}","time":"{t}"{k8s}}}"#),
                2 => {
                    format!(r#"{{"time":"{t}","stream":"{stream}","_p":"F","log":"{line}"{k8s}}}"#)
                }
                3 => format!(r#"{{"time":{i},"stream":"{stream}","log":"{line}"{k8s}}}"#),
                4 => format!(r#"{{"time":"{t}","log":"{line}","time":"{t}"{k8s}}}"#),
                _ => format!(r#"{{"log":"{line}","stream":"{stream}","time":"{t}"}} "#),
            }
        };
        let records: Vec<String> = (0..144)
            .map(|i| record(i, lines[i % lines.len()]))
            .collect();
        let (fast, full) = with_and_without_shapes(&records);
        assert_eq!(fast.len(), full.len());
        for (a, b) in fast.iter().zip(&full) {
            assert_eq!(a, b);
        }
        assert!(fast.iter().any(|e| field(e, "service") == "\"cart\""));
        assert!(fast.iter().any(|e| field(e, "service") == "\"pay\""));
    }

    #[test]
    fn each_event_carries_the_time_member_of_its_own_first_record() {
        // Container runtimes stamp every line: records alike but for that time (and the
        // line) share what was prepared of them, and each event still has its own. Each
        // event's time and line are kept in buffers the last events let go: times of three
        // lengths, and lines with and without escapes, each its own.
        let times: Vec<String> = (0..40)
            .map(|i| match i % 5 {
                0 | 3 => format!("2026-11-20T13:10:00.{:09}Z", i * 1_000_003),
                1 => format!("2026-11-20T13:10:00.{:03}Z", i),
                _ => format!("2026-11-20T13:10:{:02}Z", i),
            })
            .collect();
        let line = |i: usize| match i % 3 {
            0 => format!("line {i}"),
            _ => format!("say \\\"hi {}\\\"", "x".repeat(i)),
        };
        for framing in 0..3 {
            let records: Vec<String> = times
                .iter()
                .enumerate()
                .map(|(i, t)| (line(i), t))
                .map(|(line, t)| match framing {
                    0 => format!(
                        r#"{{"time":"{t}","stream":"stdout","_p":"F","log":"{line}","kubernetes":{{"labels":{{"app":"pay"}}}}}}"#
                    ),
                    1 => format!(
                        r#"{{"log":"{line}\n","stream":"stdout","time":"{t}","kubernetes":{{"labels":{{"app":"pay"}}}}}}"#
                    ),
                    // Kept members on both sides of the time.
                    _ => format!(
                        r#"{{"log":"{line}","_p":"F","time":"{t}","kubernetes":{{"labels":{{"app":"pay"}}}}}}"#
                    ),
                })
                .collect();
            let events = events_of(&records);
            assert_eq!(events.len(), times.len());
            for (i, (event, t)) in events.iter().zip(&times).enumerate() {
                assert_eq!(field(event, "time"), format!("\"{t}\""), "{event}");
                assert_eq!(field(event, "service"), "\"pay\"");
                assert_eq!(
                    field(event, "log_content"),
                    format!("\"{}\"", line(i)),
                    "{event}"
                );
            }
            // The member keeps its place among the others.
            let first = &events[0];
            match framing {
                0 => assert!(first.starts_with("{\"time\":"), "{first}"),
                1 => assert!(first.find("\"time\":") < first.find("\"kubernetes\":")),
                _ => {
                    assert!(first.starts_with("{\"_p\":\"F\",\"time\":"), "{first}");
                    assert!(first.find("\"time\":") < first.find("\"kubernetes\":"));
                }
            }
        }
    }

    #[test]
    fn records_alike_but_for_their_time_share_one_prepared_passthrough() {
        let mut full = Filter::new(Settings::default());
        full.max_shapes = 0;
        for (i, f) in [Filter::new(Settings::default()), full]
            .iter_mut()
            .enumerate()
        {
            for n in 0..5 {
                let rec = format!(
                    r#"{{"time":"2026-11-20T13:10:0{n}Z","stream":"stdout","_p":"F","log":"line {n}","kubernetes":{{"labels":{{"app":"pay"}}}}}}"#
                );
                f.process(TAG, Timestamp::default(), Input::Record(rec.as_bytes()), n);
            }
            assert_eq!(f.passthroughs.len(), 1, "filter {i}");
            assert_eq!(f.shapes.len(), [1, 0][i], "filter {i}");
        }
    }

    #[test]
    fn a_record_that_goes_on_after_a_recent_shape_is_parsed_whole() {
        let mut f = Filter::new(Settings::default());
        let rec =
            |line: &str, after: &str| format!(r#"{{"log":"{line}","stream":"stdout"}}{after}"#);
        let mut events = Vec::new();
        for (n, r) in [rec("a", ""), rec("b", ""), rec("c", "x"), rec("d", "")]
            .iter()
            .enumerate()
        {
            events.extend(
                f.process(
                    TAG,
                    Timestamp::default(),
                    Input::Record(r.as_bytes()),
                    n as u64,
                )
                .map(String::from),
            );
        }
        f.release_all();
        events.extend(std::iter::from_fn(|| f.take_waiting()));
        let faults: Vec<&String> = events.iter().filter(|e| e.contains("\"fault\"")).collect();
        assert_eq!(faults.len(), 1, "{events:?}");
        assert!(faults[0].contains("invalid_json"), "{}", faults[0]);
        assert_eq!(events.len(), 4);
    }

    #[test]
    fn a_record_ending_like_a_recent_one_still_has_its_line_validated() {
        let mut f = Filter::new(Settings::default());
        line(&mut f, "first", 0);
        let bad = br#"{"log":"broken \u12 escape","stream":"stderr","kubernetes":{"pod_name":"pay-1","labels":{"app":"payments"}}}"#;
        let mut events: Vec<String> = f
            .process(TAG, Timestamp::default(), Input::Record(bad), 1)
            .map(String::from)
            .into_iter()
            .collect();
        f.release_all();
        events.extend(std::iter::from_fn(|| f.take_waiting()));
        let fault = events
            .iter()
            .find(|e| e.contains("\"fault\""))
            .expect("a fault event");
        assert!(fault.contains("invalid_json"), "{fault}");
    }

    #[test]
    fn a_new_log_key_is_read_at_once() {
        let mut f = Filter::new(Settings::default());
        line(&mut f, "first", 0);
        line(&mut f, "second", 1);
        tick(&mut f, ",\"log_key\":\"message\"", 2);
        let rec = br#"{"log":"third","stream":"stderr","kubernetes":{"pod_name":"pay-1","labels":{"app":"payments"}}}"#;
        let out = f.process(TAG, Timestamp::default(), Input::Record(rec), 3);
        assert_eq!(out.map(str::as_bytes), Some(&rec[..]));
        // Records that start with the old key and end alike: the line is their `message`.
        let mut events = Vec::new();
        for (i, text) in ["fourth", "fifth", "sixth"].iter().enumerate() {
            let rec = format!(r#"{{"log":"{text}","message":"the line","stream":"stderr"}}"#);
            let out = f.process(
                TAG,
                Timestamp::default(),
                Input::Record(rec.as_bytes()),
                4 + i as u64,
            );
            events.extend(out.map(String::from));
        }
        f.release_all();
        events.extend(std::iter::from_fn(|| f.take_waiting()));
        let contents: Vec<String> = events
            .iter()
            .map(|e| field(e, "log_content"))
            .filter(|c| c != "\"second\"")
            .collect();
        assert_eq!(contents, ["\"the line\"", "\"the line\"", "\"the line\""]);
    }

    #[test]
    fn records_without_a_log_member_pass_through_unchanged() {
        let mut f = Filter::new(Settings::default());
        let rec = br#"{"metric":"cpu","value":3}"#;
        let out = f.process(TAG, Timestamp::default(), Input::Record(rec), 0);
        assert_eq!(out, Some(r#"{"metric":"cpu","value":3}"#));
    }

    #[test]
    fn faults_become_marked_events() {
        let mut f = Filter::new(Settings::default());
        let lost = f
            .process(
                TAG,
                Timestamp::default(),
                Input::LostInHost { len: 70_000 },
                0,
            )
            .map(String::from)
            .expect("a fault event");
        assert!(field(&lost, "fault").contains("record_lost_in_host"));
        assert!(field(&lost, "message").contains("70000"));

        let bad = f
            .process(
                TAG,
                Timestamp::default(),
                Input::Record(b"{\"log\": oops"),
                0,
            )
            .map(String::from)
            .expect("a fault event");
        assert!(field(&bad, "fault").contains("invalid_json"));
        assert!(field(&bad, "log_content").contains("oops"));

        let arr = f
            .process(TAG, Timestamp::default(), Input::Record(b"[1,2]"), 0)
            .map(String::from)
            .expect("a fault event");
        assert!(field(&arr, "fault").contains("not_an_object"));

        let words = f
            .process(TAG, Timestamp::default(), Input::Record(b"not json"), 0)
            .map(String::from)
            .expect("a fault event");
        assert!(field(&words, "fault").contains("invalid_json"), "{words}");

        let utf = f
            .process(
                TAG,
                Timestamp::default(),
                Input::Record(b"{\"log\":\"caf\xe9\"}"),
                0,
            )
            .map(String::from)
            .expect("a fault event");
        assert!(field(&utf, "fault").contains("invalid_utf8"));
        assert_eq!(f.stats().record_faults, 5);
    }

    #[test]
    fn every_record_gives_at_most_one_and_nothing_is_lost() {
        let mut f = Filter::new(Settings {
            max_streams: 3,
            ..Settings::default()
        });
        let mut events = Vec::new();
        let lines = 200u64;
        for i in 0..lines {
            let tag = format!("kube.c{}.log", i % 7);
            let rec = format!("{{\"log\":\"line {i}\",\"stream\":\"stdout\"}}");
            let out = f.process(
                tag.as_bytes(),
                Timestamp::default(),
                Input::Record(rec.as_bytes()),
                i,
            );
            events.extend(out.map(String::from));
        }
        let mut now = 100_000;
        while let Some(e) = tick(&mut f, "", now) {
            events.push(e);
            now += 1;
        }
        assert_eq!(f.held_streams(), 0);
        assert_eq!(f.waiting(), 0);
        let counted: u64 = events
            .iter()
            .map(|e| field(e, "line_count").parse::<u64>().unwrap())
            .sum();
        assert_eq!(counted, lines, "every line is in exactly one event");
        assert_eq!(f.stats().events, events.len() as u64);
    }

    /// The host's answer is `process`'s text and a NUL, or a lone NUL, record after record:
    /// events that leave one per record and several at once (streams released to make room,
    /// faults queued), records passed through, records lost in the host, and ticks.
    #[test]
    fn the_answer_with_its_nul_is_the_answer_of_process() {
        let settings = || Settings {
            max_streams: 2,
            ..Settings::default()
        };
        let (mut plain, mut nul) = (Filter::new(settings()), Filter::new(settings()));
        let mut inputs: Vec<(String, String)> = Vec::new();
        for i in 0..60 {
            let tag = format!("kube.c{}.log", i % 3);
            let text = match i % 6 {
                0 => "2026-11-20 13:10:00,123 ERROR charge failed".to_string(),
                1 => "Traceback (most recent call last):".to_string(),
                2 => "  File \"/app/pay.py\", line 12, in charge".to_string(),
                3 => format!("INFO order {i} done"),
                _ => format!("line {i}"),
            };
            let mut rec = String::from("{\"log\":");
            json::write_str(&mut rec, &text);
            rec.push_str(",\"stream\":\"stdout\"}");
            inputs.push((tag.clone(), rec));
            if i % 10 == 9 {
                inputs.push((tag.clone(), "{\"metric\":1}".to_string()));
                inputs.push((tag.clone(), "{\"log\":\"broken".to_string()));
                inputs.push((tag, String::new()));
            }
        }
        for n in 0..8 {
            inputs.push(("cali.tick".to_string(), "{\"cali_tick\":1}".to_string()));
            inputs.push((format!("kube.t{n}.log"), "{\"log\":\"x\"}".to_string()));
        }
        for (i, (tag, rec)) in inputs.iter().enumerate() {
            let input = || match rec.is_empty() {
                true => Input::LostInHost { len: 64 },
                false => Input::Record(rec.as_bytes()),
            };
            let time = Timestamp::new(1_700_000_000, 0);
            let now = 1_000 * i as u64;
            let mut expected = plain
                .process(tag.as_bytes(), time, input(), now)
                .map(|json| json.as_bytes().to_vec())
                .unwrap_or_default();
            expected.push(0);
            assert_eq!(
                String::from_utf8_lossy(nul.process_nul(tag.as_bytes(), time, input(), now)),
                String::from_utf8_lossy(&expected),
                "record {i}: {rec}"
            );
        }
    }

    #[test]
    fn the_counters_add_up_after_every_record() {
        let mut rng = crate::hash::SplitMix64(7);
        let mut next = move |n: u64| rng.below(n);
        let mut f = Filter::new(Settings {
            max_streams: 3,
            max_bytes: 1024,
            idle_timeout_ms: 50,
            ..Settings::default()
        });
        let long = "x".repeat(1500);
        let lines = [
            "2026-11-20 13:10:00.101 ERROR 1 --- [main] c.e.Pay : charge failed",
            "java.lang.IllegalStateException: boom",
            "\tat com.example.Pay.charge(Pay.java:42)",
            "Traceback (most recent call last):",
            "  File \"app.py\", line 3, in <module>",
            "ValueError: bad",
            "",
            "plain line",
            long.as_str(),
        ];
        let (mut returned, mut now) = (0u64, 0u64);
        for _ in 0..3000 {
            now += next(20);
            let rec = match next(20) {
                0 => r#"{"cali_tick":1,"idle_timeout_ms":50,"max_streams":3,"max_bytes":1024}"#
                    .to_string(),
                1 => "not json".to_string(),
                2 => r#"{"other":"no log member"}"#.to_string(),
                _ => {
                    let mut rec = String::from("{\"log\":");
                    json::write_str(&mut rec, lines[next(lines.len() as u64) as usize]);
                    rec.push_str(
                        [",\"stream\":\"stdout\"}", ",\"stream\":\"stderr\"}"][next(2) as usize],
                    );
                    rec
                }
            };
            let tag = format!("kube.c{}.log", next(5));
            let input = if next(200) == 0 {
                Input::LostInHost { len: 99 }
            } else {
                Input::Record(rec.as_bytes())
            };
            let out = f.process(tag.as_bytes(), Timestamp::default(), input, now);
            returned += u64::from(out.is_some_and(|o| o.contains("\"schema\"")));
            let st = f.stats();
            assert_eq!(
                st.records,
                st.lines + st.ticks + st.passed_through + st.record_faults
            );
            assert_eq!(st.lines, st.event_lines + f.held_lines() as u64);
            assert_eq!(st.events, returned + f.waiting() as u64);
            let pairs = parse_stats_line(&f.stats_line()).expect("a stats line");
            assert_eq!(pairs["records"], st.records);
            assert_eq!(pairs["lines"], pairs["event_lines"] + pairs["held_lines"]);
            assert_eq!(pairs["waiting_events"], f.waiting() as u64);
        }
        let st = f.stats();
        assert!(st.ticks > 0 && st.passed_through > 0 && st.record_faults > 0);
        assert!(st.cut_lines > 0 && f.streams.limit_releases() > 0);
        assert!(
            st.record_faults < 200,
            "only the random faults: {}",
            st.record_faults
        );
        // Lines joined to an earlier line of their stream's event (a header's trace).
        let joined = st.event_lines - (st.events - st.record_faults);
        assert!(joined > 100, "traces were grouped: {st:?}");
    }

    #[test]
    fn stats_are_due_once_per_interval_and_never_when_off() {
        let mut f = Filter::new(Settings {
            stats_interval_ms: 1000,
            ..Settings::default()
        });
        assert_eq!(f.stats_due(5_000), None, "the first tick starts the clock");
        assert_eq!(f.stats_due(5_999), None);
        let line = f.stats_due(6_000).expect("due after the interval");
        assert!(line.starts_with("cali: stats records="), "{line}");
        assert_eq!(f.stats_due(6_500), None);
        assert!(f.stats_due(7_000).is_some());
        f.settings.stats_interval_ms = 0;
        assert_eq!(f.stats_due(100_000), None);
    }

    /// The event's `service` is the first service label, else the header's, else the
    /// container's name, whatever their text needs escaped, on every record of a container
    /// (the first prepares the passthrough, the next reuse it).
    #[test]
    fn the_service_comes_from_a_label_the_header_or_the_container_name() {
        let names = [
            "pay",
            "pay \"v2\"",
            "a\\b",
            "caf\u{e9}",
            "tab\there",
            "\u{1f600}",
        ];
        for name in names {
            let mut quoted = String::new();
            json::write_str(&mut quoted, name);
            // As the kubernetes filter writes them, `\u` escapes too.
            let escaped = quoted.replace('\u{e9}', "\\u00e9");
            let cases = [
                // (labels, container name, line, service)
                (
                    format!("{{\"app\":{escaped}}}"),
                    "\"c\"".to_string(),
                    "plain",
                    name,
                ),
                (
                    format!("{{\"app.kubernetes.io/name\":{escaped},\"app\":\"x\"}}"),
                    "\"c\"".to_string(),
                    "level=info service=hdr msg=m",
                    name,
                ),
                ("{}".to_string(), escaped.clone(), "plain", name),
                ("{\"app\":\"\"}".to_string(), escaped.clone(), "plain", name),
                (
                    "{}".to_string(),
                    escaped.clone(),
                    "level=info service=hdr msg=m",
                    "hdr",
                ),
            ];
            for (labels, container, text, want) in cases {
                let mut f = Filter::new(Settings::default());
                let mut events = Vec::new();
                for i in 0..3 {
                    let mut rec = String::from("{\"log\":");
                    json::write_str(&mut rec, &format!("{text} {i}"));
                    rec.push_str(&format!(
                        ",\"stream\":\"stdout\",\"kubernetes\":{{\"container_name\":{container},\"labels\":{labels}}}}}"
                    ));
                    let now = i * 10;
                    let t = Timestamp::new(1_700_000_000, 0);
                    events.extend(
                        f.process(TAG, t, Input::Record(rec.as_bytes()), now)
                            .map(String::from),
                    );
                }
                f.release_all();
                events.extend(std::iter::from_fn(|| f.take_waiting()));
                assert_eq!(events.len(), 3, "{labels} {container} {text}");
                for e in &events {
                    let v: serde_json::Value = serde_json::from_str(e).expect("valid JSON");
                    assert_eq!(v["service"], want, "{labels} {container} {text}: {e}");
                }
            }
        }
    }
}
