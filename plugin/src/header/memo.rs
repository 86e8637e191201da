//! What `text_tail` made of recent header tails, for the lines whose tail has the same
//! shape.
//!
//! `text_tail` reads the fields between a timestamp and the message (`  INFO 1 --- [exec-7]
//! c.e.Pay : `), and every field it sets is a slice of the line. Its answer depends on the
//! bytes it reads and on nothing else when it starts from a header without fields, and it
//! asks a digit only whether it is one: so a line whose tail has the same bytes, but for
//! which nonzero digits it has (`bytes::digit_shape`), gets the same fields at the same
//! places. In the interpreter, comparing a tail with a remembered one costs about a third of
//! reading it again.
//!
//! What `text_tail` reads: each token it visits, each with the space or tab that ends it,
//! and at most one token past the current one (its lookahead); a `[` makes it search up to
//! 256 bytes for the `]`. It stops at the message, so everything it read lies before the
//! end of the second token from where the message starts (or within 256 bytes of a `[`
//! there). The remembered key is that stretch, conservatively: the two first words of the
//! message are part of it, and lines of one layout that start their message alike share it.

use std::borrow::Cow;

use super::fields::no_id_key;
use super::{text_tail, token_end, Header, Level};
use crate::bytes::{digit_shape, shape_head, word_padded, HEAD_BYTES};
use crate::hash::SLOT_MIX;
use crate::header::datetime::skip_spaces;

/// Slots of the memo (a power of two), each holding up to `WAYS` tails.
const SLOTS: usize = 256;
const WAYS: usize = 4;
/// Tails read further than this are not remembered.
const MAX_KEY: usize = 256;

#[derive(Default)]
pub struct TailMemo {
    slots: Vec<[Option<Box<Tail>>; WAYS]>,
    worth: crate::memo::Worth,
    /// The next way each slot replaces.
    next: Vec<u8>,
}

/// A remembered tail: its key (shape, length, whether the line ended there) and the fields
/// `text_tail` set, as byte ranges from the tail's start.
struct Tail {
    key: Vec<u64>,
    len: usize,
    /// The key reaches the end of its line: a line matches only if it ends there too.
    at_end: bool,
    /// `scan_ids` turns away every `=` and `:` of the key by the key's own bytes
    /// (`no_id_key`), so it need not look there in a line that matches: asked when the tail
    /// first answers.
    ids_clear: Option<bool>,
    message: usize,
    level: Option<Level>,
    logger: Option<(usize, usize)>,
    thread: Option<(usize, usize)>,
    service: Option<(usize, usize)>,
    trace_id: Option<(usize, usize)>,
    span_id: Option<(usize, usize)>,
}

impl TailMemo {
    /// `text_tail(line, pos, h)`, from the memo when a tail of the same shape was read
    /// recently. Only for a header with no field set yet (the timestamp aside).
    /// `clear`: set to the tail's stretch of the line when a remembered tail answers and no
    /// id key ends in it (`Tail::ids_clear`).
    pub(super) fn text_tail<'a>(
        &mut self,
        line: &'a str,
        pos: usize,
        h: &mut Header<'a>,
        clear: &mut Option<(usize, usize)>,
    ) -> usize {
        if h.level.is_some()
            || h.logger.is_some()
            || h.thread.is_some()
            || h.service.is_some()
            || h.trace_id.is_some()
            || h.span_id.is_some()
            || pos > line.len()
            || !self.worth.ask()
        {
            return text_tail(line, pos, h);
        }
        let b = line.as_bytes();
        let rest = &b[pos..];
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, Default::default);
            self.next = vec![0; SLOTS];
        }
        let head = Head::of(rest);
        let slot = head.slot;
        for tail in self.slots[slot].iter_mut().flatten() {
            if tail.matches(rest, &head) {
                self.worth.answered(true);
                // (The line has the key's shape: the answer is the remembered line's.)
                if *tail
                    .ids_clear
                    .get_or_insert_with(|| no_id_key(&rest[..tail.len]))
                {
                    *clear = Some((pos, pos + tail.len));
                }
                return tail.apply(line, pos, h);
            }
        }
        self.worth.answered(false);
        let message = text_tail(line, pos, h);
        if let Some(tail) = Tail::remember(line, pos, message, h) {
            let way = usize::from(self.next[slot]);
            self.slots[slot][way] = Some(Box::new(tail));
            self.next[slot] = ((way + 1) % WAYS) as u8;
        }
        message
    }
}

/// A tail's first `HEAD_BYTES` bytes: their shape, a word at a time, and the slot they
/// pick. The words serve the slot and then the comparison with each remembered tail of it,
/// which would otherwise shape them again.
struct Head {
    /// The shape of the words at 0, 8, 16 and 24, each padded with zeros past
    /// `HEAD_BYTES` or the tail's end.
    words: [u64; HEAD_BYTES / 8],
    slot: usize,
}

impl Head {
    fn of(rest: &[u8]) -> Self {
        // Only the slot depends on the mix: an answer is checked against the tail's whole
        // key.
        let seed = (rest.len().min(HEAD_BYTES) as u64).wrapping_mul(SLOT_MIX);
        let (words, h) = shape_head(rest, seed);
        Head {
            words,
            slot: (h >> (64 - SLOTS.trailing_zeros())) as usize,
        }
    }
}

impl Tail {
    /// Whether `rest` has this tail's key. `head`: `rest`'s first words' shapes; a word
    /// whole in both the head and the key is the same in both, others are shaped here.
    fn matches(&self, rest: &[u8], head: &Head) -> bool {
        if rest.len() < self.len || (self.at_end && rest.len() != self.len) {
            return false;
        }
        // The head's whole words first, then the key's other words, shaped here.
        let whole = (self.len.min(HEAD_BYTES) / 8).min(self.key.len());
        let (head_key, rest_key) = self.key.split_at(whole);
        head_key.iter().zip(&head.words).all(|(w, s)| w == s)
            && rest_key
                .iter()
                .zip(whole..)
                .all(|(&w, k)| digit_shape(word_padded(rest, k * 8, self.len)) == w)
    }

    /// Sets the remembered fields as slices of `line`; returns where the message starts.
    fn apply<'a>(&self, line: &'a str, pos: usize, h: &mut Header<'a>) -> usize {
        // The ranges are char boundaries of a line with the same bytes there but digits,
        // which are ASCII; `get` is only the check that says so.
        let at = |r: Option<(usize, usize)>| {
            r.and_then(|(a, b)| line.get(pos + a..pos + b))
                .map(Cow::Borrowed)
        };
        h.level = self.level;
        h.logger = at(self.logger);
        h.thread = at(self.thread);
        h.service = at(self.service);
        h.trace_id = at(self.trace_id);
        h.span_id = at(self.span_id);
        pos + self.message
    }

    /// What `text_tail` read and set, when it can be told as ranges of the line.
    fn remember(line: &str, pos: usize, message: usize, h: &Header<'_>) -> Option<Tail> {
        let b = line.as_bytes();
        let end = extent(b, message).max(message);
        if message < pos || end - pos > MAX_KEY {
            return None;
        }
        let range = |f: &Option<Cow<'_, str>>| -> Result<Option<(usize, usize)>, ()> {
            match f {
                None => Ok(None),
                Some(Cow::Borrowed(s)) => {
                    let start = (s.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
                    if start < pos || start + s.len() > end {
                        return Err(());
                    }
                    Ok(Some((start - pos, start - pos + s.len())))
                }
                Some(Cow::Owned(_)) => Err(()),
            }
        };
        let len = end - pos;
        let rest = &b[pos..];
        Some(Tail {
            key: (0..len.div_ceil(8))
                .map(|k| digit_shape(word_padded(rest, k * 8, len)))
                .collect(),
            len,
            at_end: end == b.len(),
            ids_clear: None,
            message: message - pos,
            level: h.level,
            logger: range(&h.logger).ok()?,
            thread: range(&h.thread).ok()?,
            service: range(&h.service).ok()?,
            trace_id: range(&h.trace_id).ok()?,
            span_id: range(&h.span_id).ok()?,
        })
    }
}

/// How far `text_tail` may have read when it answered `message`: to the end of the second
/// token from there and the byte that ends it, or 256 bytes past a `[` there.
fn extent(b: &[u8], message: usize) -> usize {
    let first = skip_spaces(b, message);
    let second = skip_spaces(b, token_end(b, first));
    let mut end = (token_end(b, second) + 1).min(b.len());
    if b.get(first) == Some(&b'[') {
        end = end.max((first + 256).min(b.len()));
    }
    end
}

#[cfg(test)]
mod tests {
    use crate::header::HeaderParser;
    use crate::timestamp::Timestamp;

    fn reference() -> Timestamp {
        Timestamp::from_civil(2026, 11, 20, 13, 0, 0, 0, 0).expect("valid date")
    }

    /// Every line's header with a memo that saw all the lines before it is the header
    /// without one, field for field.
    fn same_with_memo(lines: &[String]) -> Result<(), String> {
        let parser = HeaderParser::default();
        let mut memo = crate::header::HeaderMemo::default();
        for line in lines {
            let plain = parser.parse(line, reference());
            let memoized = parser.parse_with(line, reference(), Some(&mut memo));
            if plain != memoized {
                return Err(format!("{line:?}\nwithout: {plain:?}\nwith: {memoized:?}"));
            }
        }
        Ok(())
    }

    /// The words of text headers and of the messages after them: levels, separators, pids,
    /// brackets (threads, Sleuth ids, levels, unclosed), logger names with and without a
    /// colon, `in`, `{file.py:12}`, digits, ids (one whose key has a digit).
    const WORDS: &[&str] = &[
        "INFO",
        "ERROR",
        "warn",
        "Debug",
        "trace",
        "alert",
        "1",
        "42",
        "7#7:",
        "---",
        "--",
        "-",
        ":",
        "|",
        "=>",
        "[main]",
        "[nio-8080-exec-1]",
        "[ERROR]",
        "[pay,4bf92f3577b34da6,00f067aa0ba902b7]",
        "[4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7]",
        "[pid 12:tid 34]",
        "[client 1.2.3.4]",
        "[",
        "]",
        "[a b]",
        "[unclosed",
        "c.e.shop.Pay",
        "c.e.shop.Pay:",
        "app.worker",
        "Pay:",
        "in",
        "{models.py:12}",
        "*12",
        "org.apache.Foo.bar",
        "POST",
        "/v1/x/12",
        "é",
        "\t",
        "",
        "order=98000",
        "trace_id=ab1",
        "x-b4-traceid=1",
        "span_id:",
        "uid=3",
        "x:",
        "ERROR:",
        "[   main]",
    ];

    proptest::proptest! {
        #[test]
        fn a_header_read_from_the_memo_is_the_header_read_again(
            words in proptest::collection::vec(proptest::sample::select(WORDS), 0..14),
            spaces in proptest::collection::vec(1usize..3, 14),
            variants in proptest::collection::vec(proptest::collection::vec(1u8..=9, 4), 1..4),
            stamp in proptest::sample::select(&[
                "2026-11-20 13:00:00.123", "2026-11-20T13:00:00Z", "13:00:00.123",
                "2026-11-20 13:00:00,000",
            ][..]),
        ) {
            let mut tail = String::new();
            for (w, n) in words.iter().zip(&spaces) {
                tail.push_str(&" ".repeat(*n));
                tail.push_str(w);
            }
            // The same line with other nonzero digits, and with a longer and a shorter end.
            let mut lines = Vec::new();
            for digits in &variants {
                let mut next = digits.iter().cycle();
                let t: String = tail
                    .chars()
                    .map(|c| match c {
                        '1'..='9' => char::from(b'0' + *next.next().unwrap_or(&1)),
                        c => c,
                    })
                    .collect();
                // What follows can change what the tail's last words are: a separator
                // after a name makes it the logger, a `]` closes a bracket.
                for end in ["", " and more words 7", "]", " - x", " -", ": x", " INFO x", " ] x"] {
                    lines.push(format!("{stamp}{t}{end}"));
                }
            }
            lines.push(format!("{stamp}{tail}"));
            if let Err(e) = same_with_memo(&lines) {
                return Err(proptest::test_runner::TestCaseError::fail(e));
            }
        }
    }

    #[test]
    fn typical_headers_read_from_the_memo_are_the_headers_read_again() {
        let mut lines = Vec::new();
        for i in 0..40 {
            let d = i % 10;
            lines.extend([
                format!("2026-11-20 13:00:0{d}.00{d}  INFO 1 --- [nio-8080-exec-{i}] c.e.payments.ChargeController : POST /v1/charges order=9800{d} amount=1{d}.10 EUR"),
                format!("2026-11-20 13:00:0{d}.00{d} ERROR 1 --- [pay] [exec-{d}] c.e.Pay : charge failed"),
                format!("2026-11-20 13:00:0{d},00{d} - inventory.worker - INFO - reserved {i} items"),
                format!("2026-11-20 13:00:0{d} [ERROR] message {d}"),
                format!("2026-11-20 13:00:0{d} INFO [thread-{d}] a.b.C - [unclosed bracket {i}"),
                format!("2026-11-20 13:00:0{d} INFO [thread-{d}] a.b.C - [bracket {i}] after"),
                format!("2026-11-20 13:00:0{d} WARN"),
                format!("2026-11-20 13:00:0{d} WARN "),
                format!("2026-11-20 13:00:0{d}"),
                format!("2026-11-20 13:00:0{d} INFO {}", "x".repeat(300 + i)),
                format!("2026-11-20 13:00:0{d} INFO [{}] y", "t".repeat(300)),
                format!("2026-11-20 13:00:0{d}  7#7: *{i} open() failed"),
                format!("2026-11-20 13:00:0{d} INFO app in module: started {i}"),
            ]);
        }
        same_with_memo(&lines).unwrap();
        // And every line twice in a row, then all again in reverse.
        let twice: Vec<String> = lines.iter().flat_map(|l| [l.clone(), l.clone()]).collect();
        same_with_memo(&twice).unwrap();
        let mut reversed = twice;
        reversed.reverse();
        same_with_memo(&reversed).unwrap();
    }

    #[test]
    fn the_memo_answers_lines_of_a_remembered_shape() {
        let parser = HeaderParser::default();
        let mut memo = crate::header::HeaderMemo::default();
        let a = "2026-11-20 13:00:00.000  INFO 1 --- [exec-1] c.e.Pay : POST /v1 order=1";
        let b = "2026-11-20 13:00:01.001  INFO 7 --- [exec-8] c.e.Pay : POST /v1 order=2";
        parser.parse_with(a, reference(), Some(&mut memo));
        let remembered: usize = memo.tails.slots.iter().flatten().flatten().count();
        assert_eq!(remembered, 1);
        let h = parser.parse_with(b, reference(), Some(&mut memo));
        // Answered from the memo (nothing new remembered), with b's own thread.
        assert_eq!(memo.tails.slots.iter().flatten().flatten().count(), 1);
        assert_eq!(h.thread.as_deref(), Some("exec-8"));
        assert_eq!(h.logger.as_deref(), Some("c.e.Pay"));
        assert_eq!(h.message, "POST /v1 order=2");
        assert_eq!(h, parser.parse(b, reference()));
    }

    /// Tails of every length up to past the memo's slot bytes, so that the words shaped for
    /// the slot end within and across the key's last word: a line of a remembered shape is
    /// answered from the memo.
    #[test]
    fn the_memo_answers_tails_of_every_length() {
        let parser = HeaderParser::default();
        let mut answered = 0;
        let tails = [" INFO ", " ERROR 12 ", "  INFO 1 --- [exec-1] c.e.Pay : "];
        // The key ends at the line's end, or before more of the message.
        for (tail, more) in tails.into_iter().flat_map(|t| [(t, ""), (t, " b c d")]) {
            for k in 0..48 {
                let mut memo = crate::header::HeaderMemo::default();
                let line =
                    |d: char| format!("2026-11-20 13:00:0{d}.000{tail}{}{d}{more}", "x".repeat(k));
                let (a, b) = (line('1'), line('7'));
                parser.parse_with(&a, reference(), Some(&mut memo));
                let count = |m: &crate::header::HeaderMemo| {
                    m.tails.slots.iter().flatten().flatten().count()
                };
                if count(&memo) == 0 {
                    continue;
                }
                let h = parser.parse_with(&b, reference(), Some(&mut memo));
                assert_eq!(count(&memo), 1, "{b:?} was not answered from the memo");
                assert_eq!(h, parser.parse(&b, reference()), "{b:?}");
                answered += 1;
            }
        }
        assert!(answered > 200, "{answered}");
    }

    /// Keys of every kind of field a JSON log line has, a key with an escape, a non-ASCII
    /// one, and keys of nested objects.
    const JSON_KEYS: &[&str] = &[
        "\"time\"",
        "\"ts\"",
        "\"level\"",
        "\"severity\"",
        "\"msg\"",
        "\"message\"",
        "\"logger\"",
        "\"thread\"",
        "\"service\"",
        "\"stack_trace\"",
        "\"trace_id\"",
        "\"span_id\"",
        "\"x-request-id\"",
        "\"correlation_id\"",
        "\"user_id\"",
        "\"log\"",
        "\"error\"",
        "\"dd\"",
        "\"logging.googleapis.com/trace\"",
        "\"lev\\u0065l\"",
        "\"é\"",
    ];
    const JSON_VALUES: &[&str] = &[
        "\"2026-11-20T13:10:00.000Z\"",
        "1795180200",
        "\"ERROR\"",
        "\"info\"",
        "\"GET /x 200\"",
        "\"\"",
        "\" \"",
        "\"a\\nb \\\"q\\\"\"",
        "{\"level\":\"warn\",\"logger\":\"L\"}",
        "{\"stack_trace\":\"boom\\n\\tat x\",\"name\":\"s\"}",
        "{\"trace_id\":\"abc\"}",
        "null",
        "[1,{}]",
        "true",
        "12.5",
        "\"projects/p/traces/t1\"",
        "\"4bf92f3577b34da6\"",
    ];
    const COLONS: &[&str] = &[":", ": ", " : "];

    proptest::proptest! {
        /// Sequences of JSON log lines that keep a line's keys and change its values, or
        /// insert, drop or swap members, change the white space after a colon, or break the
        /// line: through the memo of key layouts, every line gets the header a fresh read
        /// gives.
        #[test]
        fn json_lines_read_by_remembered_key_layouts_are_read_as_anew(
            start in proptest::collection::vec((0..JSON_KEYS.len(), 0..JSON_VALUES.len()), 1..6),
            steps in proptest::collection::vec((0u8..12, 0usize..64, 0usize..64), 1..80),
        ) {
            let mut members: Vec<(usize, usize, usize)> =
                start.into_iter().map(|(k, v)| (k, v, 0)).collect();
            let mut lines = Vec::new();
            for (op, a, b) in steps {
                let n = members.len().max(1);
                match op {
                    6 => members.insert(a % (members.len() + 1), (a % JSON_KEYS.len(), b % JSON_VALUES.len(), 0)),
                    7 if !members.is_empty() => {
                        members.remove(a % n);
                    }
                    8 if !members.is_empty() => members.swap(a % n, b % n),
                    9 if !members.is_empty() => members[a % n].2 = b % COLONS.len(),
                    _ if !members.is_empty() => members[a % n].1 = b % JSON_VALUES.len(),
                    _ => {}
                }
                let body: Vec<String> = members
                    .iter()
                    .map(|&(k, v, c)| format!("{}{}{}", JSON_KEYS[k], COLONS[c], JSON_VALUES[v]))
                    .collect();
                let mut line = format!("{{{}}}", body.join(","));
                if op == 10 {
                    // Broken: read as text.
                    line.pop();
                }
                if op == 11 {
                    line.push_str(" x");
                }
                lines.push(line);
            }
            if let Err(e) = same_with_memo(&lines) {
                return Err(proptest::test_runner::TestCaseError::fail(e));
            }
        }
    }

    /// A JSON line's memo keeps at most a few small layouts: lines of huge keys, or of a
    /// new layout each, are read (the same header as without the memo) but leave no more
    /// than four layouts of at most 4 KiB (and one buffer as large) behind.
    #[test]
    fn the_json_key_memo_keeps_little_memory() {
        let parser = HeaderParser::default();
        let mut memo = crate::header::HeaderMemo::default();
        for i in 0..200 {
            let key = "k".repeat(if i % 2 == 0 { 100_000 } else { 10 + i });
            let line = format!("{{\"level\":\"error\",\"{key}\":{i},\"msg\":\"m{i}\"}}");
            let h = parser.parse_with(&line, reference(), Some(&mut memo));
            assert_eq!(h, parser.parse(&line, reference()));
            assert_eq!(h.message, format!("m{i}"));
            let held = memo.json_keys.layout_bytes();
            assert!(held <= 5 * 4096, "{held} bytes after line {i}");
        }
    }
}
