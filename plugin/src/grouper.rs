//! Groups the lines of ONE stream into events: a multi-line stack trace (with the header
//! line that introduced it) becomes one group; every other line is a group of its own.
//! Streaming: a line is held until the next line of its stream shows whether it continues.

use crate::header::HeaderParser;
use crate::language::{Language, LanguageSet};

/// Limits and switches the grouper obeys (from the settings).
#[derive(Debug, Clone)]
pub struct GroupContext {
    /// At most this many lines per group; the overflowing line starts the next group.
    pub max_lines: usize,
    /// At most this many bytes of text per group (lines plus separators); likewise.
    /// A single line longer than this is cut to it (the cut is counted in `Group::cut_bytes`).
    pub max_bytes: usize,
    /// Languages whose traces are recognized.
    pub languages: LanguageSet,
    pub header: HeaderParser,
}

/// What kind of group this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// One ordinary line (or a header with non-trace continuation lines).
    Plain,
    /// A JSON log line: always alone.
    Json,
    /// A stack trace of this language (with its header line, if any).
    Trace(Language),
}

/// A finished group. `first` is the caller's metadata of the group's first line.
#[derive(Debug, Clone)]
pub struct Group<M> {
    pub first: M,
    /// The lines, joined with '\n', exactly as pushed (except oversized lines, which are cut).
    pub text: String,
    pub line_count: usize,
    /// Hit `max_lines`/`max_bytes`, or a line was cut.
    pub truncated: bool,
    /// Bytes removed from oversized lines.
    pub cut_bytes: usize,
    pub kind: GroupKind,
}

/// The grouping state of one stream.
#[derive(Debug)]
pub struct TraceGrouper<M> {
    held: Option<Group<M>>,
    completed: std::collections::VecDeque<Group<M>>,
}

impl<M> Default for TraceGrouper<M> {
    fn default() -> Self {
        Self {
            held: None,
            completed: Default::default(),
        }
    }
}

impl<M> TraceGrouper<M> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one line (without its trailing newline) with its metadata.
    /// Groups this line completes become available from `pop_completed`.
    pub fn push(&mut self, line: &str, meta: M, ctx: &GroupContext) {
        let _ = ctx;
        if let Some(g) = self.held.take() {
            self.completed.push_back(g);
        }
        self.held = Some(Group {
            first: meta,
            text: line.to_string(),
            line_count: 1,
            truncated: false,
            cut_bytes: 0,
            kind: GroupKind::Plain,
        });
    }

    /// Next finished group, oldest first.
    pub fn pop_completed(&mut self) -> Option<Group<M>> {
        self.completed.pop_front()
    }

    /// Ends whatever is held (idle timeout, eviction): it becomes completed.
    pub fn flush(&mut self) {
        if let Some(g) = self.held.take() {
            self.completed.push_back(g);
        }
    }

    /// Nothing held and nothing completed.
    pub fn is_empty(&self) -> bool {
        self.held.is_none() && self.completed.is_empty()
    }

    /// Bytes of text currently held (for memory accounting).
    pub fn held_bytes(&self) -> usize {
        self.held.as_ref().map_or(0, |g| g.text.len())
            + self.completed.iter().map(|g| g.text.len()).sum::<usize>()
    }
}
