//! The streams that currently hold a partial event, keyed by (tag, stream). Bounded by
//! count and by held bytes: past either bound the least recently used stream is released
//! (its event completed, never dropped). A stream leaves the table once it holds nothing.

use std::collections::HashMap;
use std::rc::Rc;

use crate::event::Passthrough;
use crate::grouper::{Group, GroupContext, TraceGrouper};
use crate::hash::{FixedState, WordHash};
use crate::timestamp::Timestamp;

/// What the filter remembers of a line until its event is built: only the first line's
/// survives grouping.
#[derive(Debug, Clone)]
pub struct LineMeta {
    /// The record's time (Fluent Bit's, not the header's).
    pub time: Timestamp,
    /// The record's other members, prepared for the event once and shared between
    /// consecutive lines of a stream whose members are identical.
    pub passthrough: Rc<Passthrough>,
    /// The raw JSON value of the record's `time` member (`event::VOLATILE_KEY`), which
    /// `passthrough` leaves out because it changes on every record.
    pub volatile: Option<Box<str>>,
    /// The line as the record carried it, JSON-escaped, for the event to copy.
    pub json: LineJson,
}

/// The JSON string form of a line, kept from the record that carried it: an event of one
/// line copies it instead of escaping the line again (each byte escaped is interpreted
/// work in Fluent Bit; a copy is one native `memory.copy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LineJson {
    /// The record's string had no escapes, so the line holds no `"`, `\` or control
    /// character (a JSON string cannot hold them unescaped): it and every part of it
    /// are their own JSON form.
    Verbatim,
    /// The record's string body, escapes and all, and how many of its bytes come before
    /// its first escape (that start of the line is its own JSON form).
    Escaped { json: String, plain: usize },
    /// Not kept (the record's body differs from the line, e.g. a stripped newline).
    #[default]
    Unknown,
}

/// One stream's grouping state.
#[derive(Debug)]
pub struct StreamSlot {
    pub tag: Rc<str>,
    /// What every event of the stream carries of its names, prepared once.
    pub names: Rc<StreamNames>,
    pub grouper: TraceGrouper<LineMeta>,
    /// Monotonic ms of the last line.
    pub last_seen_ms: u64,
    /// Bytes this slot held after its last change (for the global byte bound).
    held: usize,
}

#[derive(Debug, Default)]
pub struct StreamTable {
    index: HashMap<Vec<u8>, usize, FixedState>,
    slots: Vec<(Vec<u8>, StreamSlot)>,
    held_bytes: usize,
    key_buf: Vec<u8>,
    /// The slot of the previous line: consecutive lines mostly share a stream, and a
    /// compare is cheaper than hashing the key again.
    last: Option<usize>,
    /// Streams released early to respect `max_streams` or `max_held_bytes`.
    limit_releases: u64,
}

impl StreamTable {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Total bytes held by all streams.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Lines held by all streams (walks every stream: for reports, not per line).
    pub fn held_lines(&self) -> usize {
        self.slots.iter().map(|(_, s)| s.grouper.held_lines()).sum()
    }

    /// The tag of the last line's stream, which the next line's is compared with first.
    pub fn last_tag(&self) -> Option<&str> {
        self.last.map(|i| &*self.slots[i].1.tag)
    }

    /// How many streams were released early to respect `max_streams` or
    /// `max_held_bytes` (their events left whole, before their idle timeout).
    pub fn limit_releases(&self) -> u64 {
        self.limit_releases
    }

    /// Pushes a line into its stream (created when new) and moves every group this
    /// completes into `done`, or hands it to `emit` (with the stream's tag and names) when
    /// `done` is empty and the group is the only one the line completes. Streams released
    /// to respect `max_streams`/`max_held_bytes` also land in `done`, each as `(tag,
    /// stream, group)`.
    ///
    /// `tag_is_last`: the caller found `tag` to be `last_tag()` (comparing it as it checked
    /// it for UTF-8), so only the stream is compared here.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        tag: &str,
        tag_is_last: bool,
        stream: &str,
        line: &str,
        meta: impl FnOnce() -> LineMeta,
        now_ms: u64,
        ctx: &GroupContext,
        max_streams: usize,
        max_held_bytes: usize,
        done: &mut Vec<Released>,
        emit: impl FnOnce(&str, &StreamNames, &mut Group<LineMeta>),
    ) {
        // The last record's stream, compared in place: most records continue it, and the
        // key is only built to look another one up.
        debug_assert!(!tag_is_last || self.last_tag() == Some(tag));
        let same_as_last = self.last.filter(|&i| match tag_is_last {
            true => is_stream_key(&self.slots[i].0, tag.len(), stream),
            false => is_key(&self.slots[i].0, tag, stream),
        });
        let idx = match same_as_last {
            Some(i) => i,
            None => self.slot_of(tag, stream, now_ms, max_streams, done),
        };
        let slot = &mut self.slots[idx].1;
        // Handed to `emit` only when nothing was released before it (the order of events).
        let (tag, names) = (&slot.tag, &slot.names);
        let emit = done
            .is_empty()
            .then_some(|g: &mut Group<LineMeta>| emit(tag, names, g));
        slot.grouper.push_emitting(line, meta, ctx, emit);
        slot.last_seen_ms = now_ms;
        drain(slot, done);
        self.rebalance(idx);
        self.last = Some(idx);
        if slot_is_empty(&self.slots[idx].1) {
            self.remove(idx);
        }
        while self.held_bytes > max_held_bytes && !self.slots.is_empty() {
            self.release_lru(done);
        }
    }

    /// The slot of a stream other than the last record's: looked up, or made. Out of line,
    /// as the hash map's code is: in WAMR's interpreter a function's every call first
    /// copies all the constants its code uses, those of paths not taken too.
    #[inline(never)]
    fn slot_of(
        &mut self,
        tag: &str,
        stream: &str,
        now_ms: u64,
        max_streams: usize,
        done: &mut Vec<Released>,
    ) -> usize {
        self.key_buf.clear();
        self.key_buf.extend_from_slice(tag.as_bytes());
        self.key_buf.push(0);
        self.key_buf.extend_from_slice(stream.as_bytes());
        match self.index.get(self.key_buf.as_slice()) {
            Some(&i) => i,
            None => self.new_slot(tag, stream, now_ms, max_streams, done),
        }
    }

    /// A slot for the stream of `key_buf`, after releasing the least recently used
    /// streams past `max_streams`. Out of line: a stream is new once, its lines many times.
    #[inline(never)]
    fn new_slot(
        &mut self,
        tag: &str,
        stream: &str,
        now_ms: u64,
        max_streams: usize,
        done: &mut Vec<Released>,
    ) -> usize {
        while self.slots.len() >= max_streams.max(1) {
            self.release_lru(done);
        }
        let slot = StreamSlot {
            tag: Rc::from(tag),
            names: Rc::new(StreamNames::new(tag, stream)),
            grouper: TraceGrouper::new(),
            last_seen_ms: now_ms,
            held: 0,
        };
        self.slots.push((self.key_buf.clone(), slot));
        let i = self.slots.len() - 1;
        self.index.insert(self.key_buf.clone(), i);
        i
    }

    /// Releases the held event of the stream silent the longest, if it has been silent for
    /// more than `idle_ms`. Returns whether one was released.
    pub fn release_idle(&mut self, now_ms: u64, idle_ms: u64, done: &mut Vec<Released>) -> bool {
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| now_ms.saturating_sub(s.last_seen_ms) > idle_ms)
            .min_by_key(|(_, (_, s))| s.last_seen_ms)
            .map(|(i, _)| i);
        match oldest {
            Some(i) => {
                self.release(i, done);
                true
            }
            None => false,
        }
    }

    /// Releases every stream (used by tests and at an orderly end of input).
    pub fn release_all(&mut self, done: &mut Vec<Released>) {
        while !self.slots.is_empty() {
            self.release(self.slots.len() - 1, done);
        }
    }

    fn release_lru(&mut self, done: &mut Vec<Released>) {
        if let Some(i) = self
            .slots
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, s))| s.last_seen_ms)
            .map(|(i, _)| i)
        {
            self.limit_releases += 1;
            self.release(i, done);
        }
    }

    fn release(&mut self, i: usize, done: &mut Vec<Released>) {
        let slot = &mut self.slots[i].1;
        slot.grouper.flush();
        drain(slot, done);
        self.rebalance(i);
        self.remove(i);
    }

    /// Updates the global byte count after slot `i` changed.
    fn rebalance(&mut self, i: usize) {
        let slot = &mut self.slots[i].1;
        let now = slot.grouper.held_bytes();
        self.held_bytes = self.held_bytes + now - slot.held;
        slot.held = now;
    }

    fn remove(&mut self, i: usize) {
        // Indices move: the next line looks its stream up again.
        self.last = None;
        let (key, slot) = self.slots.swap_remove(i);
        self.held_bytes -= slot.held;
        self.index.remove(&key);
        if i < self.slots.len() {
            let moved = self.slots[i].0.clone();
            self.index.insert(moved, i);
        }
    }
}

/// A finished group with the stream it came from.
#[derive(Debug)]
pub struct Released {
    pub tag: Rc<str>,
    pub names: Rc<StreamNames>,
    pub group: crate::grouper::Group<LineMeta>,
}

/// A stream's tag and name as its events use them.
#[derive(Debug)]
pub struct StreamNames {
    /// `,"stream":…,"tag":…`, escaped once.
    pub json: String,
    /// The event id's hash once it has read the tag and the stream, which every event id
    /// of the stream starts with.
    pub id_seed: WordHash,
}

impl StreamNames {
    pub fn new(tag: &str, stream: &str) -> Self {
        let mut json = String::with_capacity(tag.len() + stream.len() + 20);
        json.push_str(",\"stream\":");
        crate::json::write_str(&mut json, stream);
        json.push_str(",\"tag\":");
        crate::json::write_str(&mut json, tag);
        let mut id_seed = WordHash::with_seed(1);
        id_seed.write_field(tag.as_bytes());
        id_seed.write_field(stream.as_bytes());
        Self { json, id_seed }
    }
}

fn drain(slot: &mut StreamSlot, done: &mut Vec<Released>) {
    while let Some(group) = slot.grouper.pop_completed() {
        done.push(Released {
            tag: slot.tag.clone(),
            names: slot.names.clone(),
            group,
        });
    }
}

/// Whether `key` is the key of (`tag`, `stream`): the tag's bytes, a 0, the stream's.
fn is_key(key: &[u8], tag: &str, stream: &str) -> bool {
    let n = tag.len();
    key.len() == n + 1 + stream.len()
        && key[n] == 0
        && crate::json::same_bytes(&key[..n], tag.as_bytes())
        && crate::json::same_bytes(&key[n + 1..], stream.as_bytes())
}

/// `is_key` for a key whose first `tag_len` bytes are known to be the tag's.
#[inline(always)]
fn is_stream_key(key: &[u8], tag_len: usize, stream: &str) -> bool {
    key.len() == tag_len + 1 + stream.len()
        && key[tag_len] == 0
        && crate::json::same_bytes(&key[tag_len + 1..], stream.as_bytes())
}

fn slot_is_empty(slot: &StreamSlot) -> bool {
    slot.grouper.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::HeaderParser;
    use crate::language::LanguageSet;

    fn ctx() -> GroupContext {
        GroupContext {
            max_lines: 100,
            max_bytes: 10_000,
            languages: LanguageSet::all(),
            header: HeaderParser::default(),
        }
    }

    #[test]
    fn a_key_is_its_tag_a_zero_and_its_stream() {
        let pairs = [
            ("a", "b"),
            ("ab", ""),
            ("a", "b\0"),
            ("", "ab"),
            ("kube.x", "stdout"),
        ];
        for (tag, stream) in pairs {
            let key = [tag.as_bytes(), &[0], stream.as_bytes()].concat();
            for (t, st) in pairs {
                assert_eq!(
                    is_key(&key, t, st),
                    (t, st) == (tag, stream),
                    "{t:?} {st:?}"
                );
            }
            assert!(!is_key(&key[..key.len() - 1], tag, stream));
        }
    }

    fn meta() -> LineMeta {
        LineMeta {
            time: Timestamp::default(),
            passthrough: Rc::default(),
            volatile: None,
            json: LineJson::Unknown,
        }
    }

    fn done_direct_never(tag: &str, _: &StreamNames, g: &mut Group<LineMeta>) {
        panic!(
            "{tag}: {:?} handed out directly where each stream has one line",
            g.text
        );
    }

    /// (tag, text) of the groups a push hands out.
    fn push_collecting(
        t: &mut StreamTable,
        tag: &str,
        line: &str,
        now: u64,
        max_streams: usize,
        done: &mut Vec<Released>,
    ) -> Vec<(String, String)> {
        let mut emitted = Vec::new();
        // As the filter does: the hint whenever it holds.
        let tag_is_last = t.last_tag() == Some(tag);
        t.push(
            tag,
            tag_is_last,
            "stdout",
            line,
            meta,
            now,
            &ctx(),
            max_streams,
            usize::MAX,
            done,
            |tag, names, g| {
                assert!(names.json.contains(tag), "{} for {tag}", names.json);
                emitted.push((tag.to_string(), g.text.clone()));
            },
        );
        emitted
    }

    #[test]
    fn a_line_of_the_last_tag_still_finds_its_own_stream() {
        let mut t = StreamTable::default();
        let mut done = Vec::new();
        let mut emitted = Vec::new();
        for (stream, line) in [
            ("stdout", "out 1"),
            // The tag is the last line's: only the stream tells the slot, another one.
            ("stderr", "err 1"),
            ("stderr", "err 2"),
            ("stdout", "out 2"),
        ] {
            let is_last = t.last_tag() == Some("a");
            assert_eq!(is_last, !t.is_empty());
            t.push(
                "a",
                is_last,
                stream,
                line,
                meta,
                1,
                &ctx(),
                100,
                usize::MAX,
                &mut done,
                |_: &str, names: &StreamNames, g: &mut Group<LineMeta>| {
                    emitted.push((names.json.clone(), g.text.clone()))
                },
            );
        }
        assert_eq!(t.len(), 2);
        // Each line completed its own stream's last line, never the other's.
        let names = |stream: &str| StreamNames::new("a", stream).json;
        assert_eq!(
            emitted,
            [
                (names("stderr"), "err 1".to_string()),
                (names("stdout"), "out 1".to_string())
            ]
        );
        assert!(done.is_empty());
    }

    #[test]
    fn a_group_a_line_completes_is_handed_out_unless_releases_came_before_it() {
        let mut t = StreamTable::default();
        let mut done = Vec::new();
        assert!(push_collecting(&mut t, "a", "first a", 1, 2, &mut done).is_empty());
        assert_eq!(
            push_collecting(&mut t, "a", "second a", 2, 2, &mut done),
            [("a".to_string(), "first a".to_string())]
        );
        assert!(done.is_empty());
        assert!(push_collecting(&mut t, "b", "first b", 3, 2, &mut done).is_empty());
        assert!(done.is_empty());
        // A third stream releases the least recently used one ("a") first: the group "b"'s
        // next line completes queues behind it, in order.
        assert!(push_collecting(&mut t, "c", "first c", 4, 2, &mut done).is_empty());
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].group.text, "second a");
        assert!(push_collecting(&mut t, "b", "second b", 5, 2, &mut done).is_empty());
        let texts: Vec<&str> = done.iter().map(|r| r.group.text.as_str()).collect();
        assert_eq!(texts, ["second a", "first b"]);
        done.clear();
        // The held text's buffer took the next line: it is that line alone.
        assert_eq!(
            push_collecting(&mut t, "b", "third b", 6, 2, &mut done),
            [("b".to_string(), "second b".to_string())]
        );
        t.release_all(&mut done);
        let texts: Vec<&str> = done.iter().map(|r| r.group.text.as_str()).collect();
        assert_eq!(texts, ["first c", "third b"]);
    }

    #[test]
    fn streams_past_the_bound_are_released_least_recently_used_first() {
        let mut t = StreamTable::default();
        let mut done = Vec::new();
        assert!(push_collecting(&mut t, "a", "line a", 1, 2, &mut done).is_empty());
        assert!(push_collecting(&mut t, "b", "line b", 2, 2, &mut done).is_empty());
        assert!(done.is_empty());
        assert!(push_collecting(&mut t, "c", "line c", 3, 2, &mut done).is_empty());
        assert_eq!(done.len(), 1);
        assert_eq!(&*done[0].tag, "a");
        assert_eq!(done[0].group.text, "line a");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn only_streams_idle_past_the_timeout_are_released_oldest_first() {
        let mut t = StreamTable::default();
        let mut done = Vec::new();
        assert!(push_collecting(&mut t, "a", "x", 100, 10, &mut done).is_empty());
        assert!(push_collecting(&mut t, "b", "y", 150, 10, &mut done).is_empty());
        assert!(!t.release_idle(1000, 1000, &mut done));
        assert!(t.release_idle(1101, 1000, &mut done));
        assert_eq!(&*done[0].tag, "a");
        assert!(!t.release_idle(1101, 1000, &mut done));
        assert!(t.release_idle(1151, 1000, &mut done));
        assert!(t.is_empty());
        assert_eq!(t.held_bytes(), 0);
    }

    #[test]
    fn held_bytes_bound_releases_streams() {
        let mut t = StreamTable::default();
        let mut done = Vec::new();
        let long = "z".repeat(600);
        for (tag, now) in [("a", 1), ("b", 2)] {
            let ctx = ctx();
            t.push(
                tag,
                false,
                "s",
                &long,
                meta,
                now,
                &ctx,
                100,
                1000,
                &mut done,
                done_direct_never,
            );
        }
        assert_eq!(
            done.len(),
            1,
            "the older stream is released to stay under the byte bound"
        );
        assert!(t.held_bytes() <= 1000);
    }
}
