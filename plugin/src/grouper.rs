//! Groups the lines of ONE stream into events: a multi-line stack trace (with the header
//! line that introduced it) becomes one group; every other line is a group of its own.
//! Streaming: a line is held until the next line of its stream shows whether it continues.
//!
//! Every line is classified by its first (and last) few bytes against the phase the held
//! group is in (`Phase`): no regexes and no allocation per line, because the plugin runs
//! interpreted. The rules are described in docs/grouping.md.

use std::collections::VecDeque;

/// Least growth of a group's text once it spans lines (bytes).
const TEXT_STEP: usize = 1024;
/// The largest text buffer an emitted group leaves to the next line of its stream.
const MAX_REUSED_TEXT: usize = 4 * TEXT_STEP;

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
    /// This group carries on the trace of the previous group of the stream, which a limit
    /// cut (the previous group has `truncated: true`).
    pub continued: bool,
}

/// Blank lines in a row a trace may contain (Dart prints two before its frames).
const MAX_BLANK_RUN: u8 = 2;
/// Frameless lines after a qualified exception line (`java.sql.SQLException: ...` followed
/// by `ORA-12521, ...`): the java_08 policy of docs/grouping.md.
const MAX_MESSAGE_LINES: u8 = 2;
/// Message lines between Dart's `Unhandled exception:` and its first `#0` frame.
const MAX_DART_MESSAGE_LINES: u8 = 4;
/// Message lines of a Rust panic before `note:`/`stack backtrace:`.
const MAX_RUST_MESSAGE_LINES: u8 = 4;

/// Where the held group is in its trace: decides which next lines continue it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not a trace. `header`: a single line that begins a timestamped (or levelled) event,
    /// to which a trace starting on the next line belongs. `None` until asked: it is only
    /// asked when a trace starts on the next line, so most lines never need the answer.
    Plain {
        header: Option<bool>,
    },
    Json,
    /// After an exception line (`X: msg`, `Caused by: ...`), before its frames. `loose`
    /// frameless lines seen so far; `loose_ok` whether any are allowed at all.
    ExcMessage {
        loose: u8,
        loose_ok: bool,
    },
    /// `at ...` frames (Java, Node.js, .NET).
    Frames,
    /// Node's uncaught-exception preamble: 0 after `file.js:N`, 1 after the source line,
    /// 2 after the caret line.
    NodePreamble(u8),
    /// Inside the `{ code: ... }` block Node prints after the last frame.
    NodeProps,
    NodeEnded,
    PyStack,
    PyEnded,
    PyChain,
    GoHead,
    GoStack,
    GoSignal,
    Ruby,
    /// Rails logger lines (`F, [ts #pid] FATAL -- : ...`), grouped by their prefix key.
    Rails {
        key: u64,
        stage: RailsStage,
    },
    Php,
    RustHead {
        loose: u8,
    },
    RustBacktrace,
    DartHead {
        loose: u8,
    },
    DartFrames,
    /// ASP.NET Core console logger: `fail: Category[1]` and its indented lines.
    AspNet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RailsStage {
    /// Only empty payloads so far (Rails starts an error with a blank FATAL line).
    Lead,
    Exception,
    Frames,
}

impl Phase {
    fn takes_blanks(self) -> bool {
        !matches!(
            self,
            Phase::Plain { .. }
                | Phase::Json
                | Phase::Rails { .. }
                | Phase::AspNet
                | Phase::NodePreamble(0)
                | Phase::NodePreamble(1)
        )
    }
}

/// The decision for one line against the held group.
struct Step {
    phase: Phase,
    lang: Option<Language>,
    /// The line proves the group is a trace (a frame or an unmistakable trace start).
    trace: bool,
    blank: bool,
}

enum Decision {
    Continue(Step),
    /// The line starts a new group; `header` is the cached `starts_event` answer and
    /// `trace` the cached `trace_start` answer, if asked.
    Break {
        header: Option<bool>,
        trace: Option<Option<TraceStart>>,
    },
}

#[derive(Debug)]
struct Held<M> {
    group: Group<M>,
    phase: Phase,
    lang: Option<Language>,
    /// The last line ended with ':' (`nested exception is:`): an exception line may follow.
    last_colon: bool,
    blank_run: u8,
    /// The group began with a blank line: nothing continues it.
    first_blank: bool,
}

/// The grouping state of one stream.
#[derive(Debug)]
pub struct TraceGrouper<M> {
    held: Option<Held<M>>,
    /// Blank lines at the end of the held group, each with its offset in the text (of the
    /// '\n' before it) and its meta: they belong to the trace only if a line continuing it
    /// follows; otherwise each leaves as a group of its own.
    tentative: Vec<(usize, M)>,
    completed: VecDeque<Group<M>>,
    completed_bytes: usize,
}

impl<M> Default for TraceGrouper<M> {
    fn default() -> Self {
        Self {
            held: None,
            tentative: Vec::new(),
            completed: VecDeque::new(),
            completed_bytes: 0,
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
        self.push_with(line, || meta, ctx);
    }

    /// `push`, making the line's metadata only when it is kept: a line that continues
    /// a group leaves only its text (most lines of a trace).
    pub fn push_with(&mut self, line: &str, meta: impl FnOnce() -> M, ctx: &GroupContext) {
        self.push_emitting(line, meta, ctx, None::<fn(&mut Group<M>)>);
    }

    /// `push_with`, handing a group this line completes to `emit` (when given) instead of
    /// the completed queue, when nothing is queued before it: the group is read where it
    /// is held, and its text's buffer takes the next line. Most lines are events of one
    /// line, and this spares each the moves of a group through the queue to its reader,
    /// and an allocation. The group is let go once `emit` returns: `emit` may take parts of
    /// its metadata (buffers to reuse), never its text.
    pub fn push_emitting(
        &mut self,
        line: &str,
        meta: impl FnOnce() -> M,
        ctx: &GroupContext,
        emit: Option<impl FnOnce(&mut Group<M>)>,
    ) {
        let (decision, plain) = match &self.held {
            None => (
                Decision::Break {
                    header: None,
                    trace: None,
                },
                None,
            ),
            Some(held) => decide(held, line, ctx),
        };
        match decision {
            Decision::Break { header, trace } => {
                match (emit, &mut self.held) {
                    (Some(emit), Some(held))
                        if self.tentative.is_empty() && self.completed.is_empty() =>
                    {
                        emit(&mut held.group);
                    }
                    _ => self.complete_held(),
                }
                self.start(line, meta(), ctx, header, trace, plain);
            }
            Decision::Continue(step) => self.append(line, meta, step, ctx),
        }
    }

    /// Next finished group, oldest first.
    pub fn pop_completed(&mut self) -> Option<Group<M>> {
        let g = self.completed.pop_front()?;
        self.completed_bytes -= g.text.len();
        Some(g)
    }

    /// Ends whatever is held (idle timeout, eviction): it becomes completed.
    pub fn flush(&mut self) {
        self.complete_held();
    }

    /// Nothing held and nothing completed.
    pub fn is_empty(&self) -> bool {
        self.held.is_none() && self.completed.is_empty()
    }

    /// Lines held: those of the group still open and of the completed groups not yet
    /// taken.
    pub fn held_lines(&self) -> usize {
        self.held.as_ref().map_or(0, |h| h.group.line_count)
            + self.completed.iter().map(|g| g.line_count).sum::<usize>()
    }

    /// Bytes of text currently held (for memory accounting).
    pub fn held_bytes(&self) -> usize {
        self.held.as_ref().map_or(0, |h| h.group.text.len()) + self.completed_bytes
    }

    /// `trace`: the line's `trace_start` answer when `decide` has it already; `plain`: the
    /// line is neither blank, JSON nor Rails', as `decide` found.
    fn start(
        &mut self,
        line: &str,
        meta: M,
        ctx: &GroupContext,
        header: Option<bool>,
        trace: Option<Option<TraceStart>>,
        plain: Option<usize>,
    ) {
        let b = line.as_bytes();
        let langs = ctx.languages;
        // (`plain`: the line is neither blank, JSON nor Rails', and this long without its
        // trailing white space.) The line without it, found once here otherwise.
        let t = match plain {
            Some(n) => &b[..n],
            None => trim_end(b),
        };
        let last_colon = t.last() == Some(&b':');
        let plain = plain.is_some();
        let blank = !plain && is_blank(b);
        let (phase, lang, trace) = if blank {
            (
                Phase::Plain {
                    header: Some(false),
                },
                None,
                false,
            )
        } else if !plain && is_json_trimmed(t) {
            (Phase::Json, None, false)
        } else if let Some(r) = (!plain)
            .then(|| rails_line(b))
            .flatten()
            .filter(|_| langs.contains(Language::Ruby))
        {
            let (stage, trace) = rails_stage_of(r.payload);
            let phase = Phase::Rails { key: r.key, stage };
            (phase, Some(Language::Ruby), trace)
        } else if langs.contains(Language::Dotnet) && aspnet_header(b) {
            (Phase::AspNet, Some(Language::Dotnet), false)
        } else if let Some(s) = trace.unwrap_or_else(|| trace_start(b, langs)) {
            (s.phase, s.lang, s.definitive)
        } else {
            let header = match header {
                Some(h) => Some(h || level_word_prefix(b)),
                // Asked later of the held text, which is this line unless it was cut.
                None if line.len() > ctx.max_bytes.max(1) => Some(starts_header(line, ctx)),
                None => None,
            };
            (Phase::Plain { header }, None, false)
        };
        let kind = match (phase, lang) {
            (Phase::Json, _) => GroupKind::Json,
            (_, Some(l)) if trace => GroupKind::Trace(l),
            _ => GroupKind::Plain,
        };
        self.begin(line, meta, ctx, phase, lang, kind, false, last_colon);
        if let Some(h) = &mut self.held {
            h.first_blank = blank;
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn begin(
        &mut self,
        line: &str,
        meta: M,
        ctx: &GroupContext,
        phase: Phase,
        lang: Option<Language>,
        kind: GroupKind,
        continued: bool,
        last_colon: bool,
    ) {
        let max_bytes = ctx.max_bytes.max(1);
        let (kept, cut_bytes) = if line.len() > max_bytes {
            let mut end = max_bytes;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            (&line[..end], line.len() - end)
        } else {
            (line, 0)
        };
        // A group still held was emitted where it lay (`push_emitting`): it becomes this
        // line's in place, its text's buffer taking the line, unless a long trace grew it.
        if let Some(h) = self.held.as_mut() {
            if h.group.text.capacity() <= MAX_REUSED_TEXT {
                h.group.text.clear();
                h.group.text.push_str(kept);
                h.group.first = meta;
                h.group.line_count = 1;
                h.group.truncated = cut_bytes > 0;
                h.group.cut_bytes = cut_bytes;
                h.group.kind = kind;
                h.group.continued = continued;
                h.phase = phase;
                h.lang = lang;
                h.last_colon = last_colon;
                h.blank_run = 0;
                h.first_blank = false;
                return;
            }
        }
        self.held = Some(Held {
            group: Group {
                first: meta,
                text: kept.to_string(),
                line_count: 1,
                truncated: cut_bytes > 0,
                cut_bytes,
                kind,
                continued,
            },
            phase,
            lang,
            last_colon,
            blank_run: 0,
            first_blank: false,
        });
    }

    fn append(&mut self, line: &str, meta: impl FnOnce() -> M, step: Step, ctx: &GroupContext) {
        let Some(held) = self.held.as_mut() else {
            return;
        };
        let lang = held.lang.or(step.lang);
        let kind = match (held.group.kind, lang) {
            (GroupKind::Plain, Some(l)) if step.trace => GroupKind::Trace(l),
            (k, _) => k,
        };
        let fits = held.group.line_count < ctx.max_lines.max(1)
            && held.group.text.len() + 1 + line.len() <= ctx.max_bytes.max(1);
        if !fits {
            if step.blank {
                // A blank line never carries a trace over a limit: it stands alone.
                self.complete_held();
                self.begin(
                    line,
                    meta(),
                    ctx,
                    Phase::Plain {
                        header: Some(false),
                    },
                    None,
                    GroupKind::Plain,
                    false,
                    ends_with_colon(line.as_bytes()),
                );
                if let Some(h) = &mut self.held {
                    h.first_blank = true;
                }
                return;
            }
            // The tentative blank lines are followed by a continuing line: they stay.
            self.tentative.clear();
            if let Some(mut done) = self.held.take() {
                done.group.truncated = true;
                done.group.kind = kind;
                self.push_completed(done.group);
            }
            let last_colon = ends_with_colon(line.as_bytes());
            self.begin(line, meta(), ctx, step.phase, lang, kind, true, last_colon);
            return;
        }
        if step.blank {
            self.tentative.push((held.group.text.len(), meta()));
            held.blank_run += 1;
        } else {
            self.tentative.clear();
            held.blank_run = 0;
            held.last_colon = ends_with_colon(line.as_bytes());
            held.phase = step.phase;
            held.lang = lang;
            held.group.kind = kind;
        }
        let text = &mut held.group.text;
        if text.capacity() - text.len() < line.len() + 1 {
            // A trace grows line by line: grow in large steps, each step is a `realloc`
            // that copies the whole text so far.
            text.reserve((line.len() + 1).max(text.len()).max(TEXT_STEP));
        }
        text.push('\n');
        text.push_str(line);
        held.group.line_count += 1;
    }

    /// Moves the held group to the completed queue, splitting off trailing blank lines
    /// that no continuing line confirmed.
    #[inline(always)]
    fn complete_held(&mut self) {
        let Some(held) = self.held.take() else {
            self.tentative.clear();
            return;
        };
        if self.tentative.is_empty() {
            self.push_completed(held.group);
            return;
        }
        self.complete_with_blanks(held);
    }

    /// `complete_held` when blank lines end the held group: each leaves as a group of its
    /// own. Out of line: few groups end so.
    #[inline(never)]
    fn complete_with_blanks(&mut self, mut held: Held<M>) {
        let cut_at = self.tentative[0].0;
        let tail = held.group.text.split_off(cut_at);
        held.group.line_count -= self.tentative.len();
        self.push_completed(held.group);
        let mut blanks = tail.split('\n').skip(1);
        let tentative = std::mem::take(&mut self.tentative);
        for (_, meta) in tentative {
            let text = blanks.next().unwrap_or("").to_string();
            self.push_completed(Group {
                first: meta,
                text,
                line_count: 1,
                truncated: false,
                cut_bytes: 0,
                kind: GroupKind::Plain,
                continued: false,
            });
        }
    }

    fn push_completed(&mut self, group: Group<M>) {
        self.completed_bytes += group.text.len();
        self.completed.push_back(group);
    }
}

/// The held group goes on with a line that is not blank.
fn cont(phase: Phase, lang: Option<Language>, trace: bool) -> Decision {
    Decision::Continue(Step {
        phase,
        lang,
        trace,
        blank: false,
    })
}

/// Does `b` continue the held group, and how? With, when the line was found neither blank,
/// JSON nor Rails' (`start` then need not ask again), its length without trailing white
/// space.
fn decide<M>(held: &Held<M>, line: &str, ctx: &GroupContext) -> (Decision, Option<usize>) {
    let b = line.as_bytes();
    let brk = Decision::Break {
        header: None,
        trace: None,
    };
    if held.phase == Phase::Json || held.first_blank {
        return (brk, None);
    }
    if is_blank(b) {
        if held.phase.takes_blanks() && held.blank_run < MAX_BLANK_RUN {
            return (
                Decision::Continue(Step {
                    phase: held.phase,
                    lang: None,
                    trace: false,
                    blank: true,
                }),
                None,
            );
        }
        return (brk, None);
    }
    let t = trim_end(b);
    if is_json_trimmed(t) {
        return (brk, None);
    }
    if let Some(r) = rails_line(b) {
        if let Phase::Rails { key, stage } = held.phase {
            if key == r.key {
                if let Some((stage, trace)) = rails_next(stage, r.payload) {
                    let phase = Phase::Rails { key, stage };
                    return (cont(phase, Some(Language::Ruby), trace), None);
                }
            }
        }
        return (brk, None);
    }
    (decide_plain(held, line, t, ctx), Some(t.len()))
}

/// `decide` for a line that is neither blank, JSON nor Rails' (`t`: without its trailing
/// white space).
#[inline(always)]
fn decide_plain<M>(held: &Held<M>, line: &str, t: &[u8], ctx: &GroupContext) -> Decision {
    let b = line.as_bytes();
    let langs = ctx.languages;
    let ind = indent(t);
    let r = &t[ind..];

    // Lines the phase owns whatever they look like.
    if ind > 0 {
        match held.phase {
            Phase::NodeProps | Phase::PyStack | Phase::GoStack | Phase::GoHead => {
                return cont(held.phase, None, false);
            }
            Phase::AspNet => {
                return cont(Phase::AspNet, None, r.starts_with(b"at "));
            }
            _ => {}
        }
    }

    if let Some((frame, lang)) = strong_frame(ind, r, held.lang, langs) {
        let phase = phase_after_frame(frame, held.phase, r);
        return cont(phase, Some(lang), true);
    }

    // What the held group's phase makes of the line, then whether the line begins an
    // event of its own, which breaks the group whatever the phase says: asked only when the
    // phase would continue (a break is a break either way, and `start` asks itself).
    let by_phase = continue_by_phase(held, b, ind, t, r, ctx);
    if matches!(by_phase, Decision::Break { .. }) {
        return by_phase;
    }
    let header = ctx.header.starts_event(line);
    if header || (ind == 0 && (level_word_prefix(r) || aspnet_header(r))) {
        return Decision::Break {
            header: Some(header),
            trace: None,
        };
    }
    by_phase
}

/// Whether `line` begins a timestamped or levelled event (the `header` of `Phase::Plain`).
fn starts_header(line: &str, ctx: &GroupContext) -> bool {
    ctx.header.starts_event(line) || level_word_prefix(line.as_bytes())
}

/// `decide` for a line that is neither blank, JSON, Rails nor a strong frame: what the held
/// group's phase makes of it. `t` is the line without trailing white space, `ind` its
/// indent, `r` the rest after the indent.
#[inline(always)]
fn continue_by_phase<M>(
    held: &Held<M>,
    b: &[u8],
    ind: usize,
    t: &[u8],
    r: &[u8],
    ctx: &GroupContext,
) -> Decision {
    match held.phase {
        Phase::Plain { header } if held.group.line_count == 1 => {
            let start = match starts_with_iso_time(b) {
                true => None,
                false => trace_start_trimmed(t, ind, ctx.languages, true),
            };
            match start.filter(|s| s.attaches) {
                // A group of one line holds that line whole unless it was cut, and a cut
                // line's answer was taken before the cut.
                Some(s) if header.unwrap_or_else(|| starts_header(&held.group.text, ctx)) => {
                    cont(s.phase, s.lang, s.definitive)
                }
                // The new group's start asks the same of the same line.
                _ => Decision::Break {
                    header: None,
                    trace: Some(start),
                },
            }
        }
        _ => continue_in_trace(held, b, ind, t, r, ctx),
    }
}

/// `continue_by_phase` for a group past its first line or in a trace's phase. Out of line:
/// most groups are one line, and in the interpreter every call of the function that holds
/// this code would first copy the constants of all these phases into its frame.
#[inline(never)]
fn continue_in_trace<M>(
    held: &Held<M>,
    b: &[u8],
    ind: usize,
    t: &[u8],
    r: &[u8],
    ctx: &GroupContext,
) -> Decision {
    let brk = Decision::Break {
        header: None,
        trace: None,
    };
    let langs = ctx.languages;
    match held.phase {
        Phase::ExcMessage { .. } if held.lang == Some(Language::Node) && r == b"{" => {
            // The properties of an error printed without frames.
            cont(Phase::NodeProps, None, false)
        }
        Phase::ExcMessage { loose, loose_ok } => {
            if ind == 0 {
                if let Some(shape) = exception_shape(r) {
                    return if held.last_colon {
                        let phase = Phase::ExcMessage {
                            loose: 0,
                            loose_ok: loose_ok || shape.qualified,
                        };
                        cont(phase, None, false)
                    } else {
                        brk
                    };
                }
                if trace_start(b, langs).is_some() {
                    return brk;
                }
            }
            if loose_ok && loose < MAX_MESSAGE_LINES {
                let phase = Phase::ExcMessage {
                    loose: loose + 1,
                    loose_ok,
                };
                return cont(phase, None, false);
            }
            brk
        }
        Phase::Frames | Phase::NodeEnded => {
            if ind == 0 && r.starts_with(b"Node.js v") && langs.contains(Language::Node) {
                cont(Phase::NodeEnded, Some(Language::Node), true)
            } else {
                brk
            }
        }
        Phase::NodePreamble(0) => cont(Phase::NodePreamble(1), None, false),
        Phase::NodePreamble(1) if is_caret_line(r) => cont(Phase::NodePreamble(2), None, false),
        // After the caret and the blank line comes the error, whatever its shape
        // (`[UnhandledPromiseRejection: ...]` has none).
        Phase::NodePreamble(2) if ind == 0 => {
            let phase = if r.ends_with(b" {") {
                Phase::NodeProps
            } else {
                Phase::ExcMessage {
                    loose: 0,
                    loose_ok: true,
                }
            };
            cont(phase, Some(Language::Node), true)
        }
        Phase::NodeProps if ind == 0 && matches!(r.first(), Some(b'}') | Some(b']')) => {
            cont(Phase::NodeEnded, None, false)
        }
        Phase::PyStack if ind == 0 => {
            if trace_start(b, langs).is_some_and(|s| s.definitive) {
                brk
            } else {
                cont(Phase::PyEnded, None, false)
            }
        }
        Phase::PyEnded
            if r.starts_with(b"During handling of the above exception")
                || r.starts_with(b"The above exception was the direct cause") =>
        {
            cont(Phase::PyChain, None, false)
        }
        Phase::PyChain if t.ends_with(TRACEBACK) => cont(Phase::PyStack, None, false),
        Phase::GoHead => {
            if r.starts_with(b"[signal ") || r.starts_with(b"panic: ") {
                cont(Phase::GoHead, None, false)
            } else if go_stack_line(r) {
                cont(Phase::GoStack, None, true)
            } else {
                brk
            }
        }
        Phase::GoStack => {
            if go_stack_line(r) || r.starts_with(b"[signal ") {
                cont(Phase::GoStack, None, false)
            } else {
                brk
            }
        }
        Phase::GoSignal => {
            if r.starts_with(b"PC=")
                || r.starts_with(b"-----")
                || r.starts_with(b"signal arrived")
                || register_line(r)
            {
                cont(Phase::GoSignal, None, false)
            } else if go_stack_line(r) {
                cont(Phase::GoStack, None, false)
            } else {
                brk
            }
        }
        Phase::Php => {
            if (ind == 0 && numbered_frame(r))
                || r.starts_with(b"Next ")
                || r.starts_with(b"PHP Stack trace:")
                || (r.starts_with(b"PHP ") && r.get(4) == Some(&b' '))
            {
                cont(Phase::Php, None, true)
            } else {
                brk
            }
        }
        Phase::RustHead { loose } => {
            if r.starts_with(b"note: ") {
                // The message is over once the runtime's notes begin.
                cont(Phase::RustBacktrace, None, false)
            } else if r.starts_with(b"stack backtrace:") || (ind > 0 && rust_frame_index(r)) {
                cont(Phase::RustBacktrace, None, true)
            } else if loose < MAX_RUST_MESSAGE_LINES {
                cont(Phase::RustHead { loose: loose + 1 }, None, false)
            } else {
                brk
            }
        }
        Phase::RustBacktrace => {
            if (ind > 0 && rust_frame_index(r))
                || r.starts_with(b"note: ")
                || r.starts_with(b"stack backtrace:")
            {
                cont(Phase::RustBacktrace, None, true)
            } else {
                brk
            }
        }
        Phase::DartHead { loose } => {
            if numbered_frame(r) {
                cont(Phase::DartFrames, None, true)
            } else if is_caret_line(r) {
                cont(held.phase, None, false)
            } else if loose < MAX_DART_MESSAGE_LINES {
                cont(Phase::DartHead { loose: loose + 1 }, None, false)
            } else {
                brk
            }
        }
        Phase::DartFrames => {
            if numbered_frame(r) || r.starts_with(b"<asynchronous suspension>") {
                cont(Phase::DartFrames, None, true)
            } else {
                brk
            }
        }
        _ => brk,
    }
}

/// Frame-like lines that continue any group (except JSON lines): they cannot start an
/// event of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrongFrame {
    /// `at ...` (Java, Node.js, .NET, Rust backtrace locations).
    At,
    /// `... 12 more`, `... 27 common frames omitted`.
    JavaElided,
    /// `Caused by: ...`, `Suppressed: ...`.
    JavaCause,
    PyFile,
    RubyFrame,
    /// `--- End of inner exception stack trace ---` and friends.
    DotnetEnd,
    /// ` ---> System.Exception: inner` on a line of its own (AggregateException).
    DotnetInner,
    PhpStack,
    PhpThrown,
    GoFile,
}

/// Whether the line is a frame of a known shape (`strong_frame_at`). A line at column 0
/// can be one only if it starts with `C`, `-`, `<` or `S`, asked inline: most lines are
/// headers, and the call would copy `strong_frame_at`'s constants into a new frame.
#[inline(always)]
fn strong_frame(
    ind: usize,
    r: &[u8],
    current: Option<Language>,
    langs: LanguageSet,
) -> Option<(StrongFrame, Language)> {
    if ind == 0 && !matches!(r.first(), Some(b'C' | b'-' | b'<' | b'S')) {
        return None;
    }
    strong_frame_at(ind, r, current, langs)
}

fn strong_frame_at(
    ind: usize,
    r: &[u8],
    current: Option<Language>,
    langs: LanguageSet,
) -> Option<(StrongFrame, Language)> {
    let (frame, lang) = if ind == 0 {
        if r.starts_with(b"Caused by: ") {
            (StrongFrame::JavaCause, Language::Java)
        } else if r.starts_with(b"--- End of ") || r == b"<---" {
            (StrongFrame::DotnetEnd, Language::Dotnet)
        } else if r.starts_with(b"---> ") {
            (StrongFrame::DotnetInner, Language::Dotnet)
        } else if r == b"Stack trace:" {
            (StrongFrame::PhpStack, Language::Php)
        } else {
            return None;
        }
    } else if r.starts_with(b"at ") || r.starts_with(b"eval at ") {
        return at_frame_language(r, current, langs).map(|l| (StrongFrame::At, l));
    } else if r.starts_with(b"... ") && r.get(4).is_some_and(u8::is_ascii_digit) {
        (StrongFrame::JavaElided, Language::Java)
    } else if r.starts_with(b"Caused by: ") || r.starts_with(b"Suppressed: ") {
        (StrongFrame::JavaCause, Language::Java)
    } else if r.starts_with(b"File \"") {
        (StrongFrame::PyFile, Language::Python)
    } else if r.starts_with(b"--- End of ") || r == b"<---" {
        (StrongFrame::DotnetEnd, Language::Dotnet)
    } else if r.starts_with(b"---> ") {
        (StrongFrame::DotnetInner, Language::Dotnet)
    } else if r.starts_with(b"thrown in ") {
        (StrongFrame::PhpThrown, Language::Php)
    } else if ruby_frame(r) {
        (StrongFrame::RubyFrame, Language::Ruby)
    } else if go_file_line(r) {
        (StrongFrame::GoFile, Language::Go)
    } else {
        return None;
    };
    langs.contains(lang).then_some((frame, lang))
}

fn phase_after_frame(frame: StrongFrame, current: Phase, r: &[u8]) -> Phase {
    match frame {
        StrongFrame::At => match current {
            Phase::RustHead { .. } | Phase::RustBacktrace => Phase::RustBacktrace,
            _ if r.ends_with(b"{") => Phase::NodeProps,
            _ => Phase::Frames,
        },
        StrongFrame::JavaElided => Phase::Frames,
        StrongFrame::DotnetEnd => Phase::Frames,
        StrongFrame::JavaCause | StrongFrame::DotnetInner => Phase::ExcMessage {
            loose: 0,
            loose_ok: true,
        },
        StrongFrame::PyFile => Phase::PyStack,
        StrongFrame::RubyFrame => match current {
            Phase::Rails { .. } => current,
            _ => Phase::Ruby,
        },
        StrongFrame::PhpStack | StrongFrame::PhpThrown => Phase::Php,
        StrongFrame::GoFile => Phase::GoStack,
    }
}

/// The language of an `at ...` frame: the group's when it is one that prints such frames,
/// else a guess from the frame's file.
pub(crate) fn at_frame_language(
    r: &[u8],
    current: Option<Language>,
    langs: LanguageSet,
) -> Option<Language> {
    use Language::*;
    if let Some(l) = current {
        if matches!(l, Java | Node | Dotnet | Rust) && langs.contains(l) {
            return Some(l);
        }
    }
    let guess = if contains(r, b".java:")
        || contains(r, b"(Native Method)")
        || contains(r, b"(Unknown Source)")
        || contains(r, b".kt:")
        || contains(r, b".scala:")
    {
        Java
    } else if contains(r, b".rs:") {
        Rust
    } else if contains(r, b":line ") || contains(r, b"[0x") {
        Dotnet
    } else if contains(r, b".js")
        || contains(r, b".ts:")
        || contains(r, b"node:")
        || contains(r, b"<anonymous>")
        || contains(r, b"(native)")
        || ends_with_line_and_column(r)
    {
        Node
    } else {
        Java
    };
    if langs.contains(guess) {
        return Some(guess);
    }
    [Java, Node, Dotnet]
        .into_iter()
        .find(|l| langs.contains(*l))
}

/// `...:22:11)` or `...:22:11`: a Node location (Java prints only a line).
fn ends_with_line_and_column(r: &[u8]) -> bool {
    let r = r.strip_suffix(b")").unwrap_or(r);
    let col = r.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    let Some(rest) = r[..r.len() - col].strip_suffix(b":") else {
        return false;
    };
    let line = rest.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    col > 0 && line > 0 && rest[..rest.len() - line].ends_with(b":")
}

/// A line that begins a trace.
#[derive(Debug, Clone, Copy)]
struct TraceStart {
    phase: Phase,
    lang: Option<Language>,
    /// Unmistakably a trace even before any frame (`Traceback ...`, `panic: `).
    definitive: bool,
    /// May belong to the header line before it (PHP's own `PHP Fatal error:` prefix may not).
    attaches: bool,
}

const TRACEBACK: &[u8] = b"Traceback (most recent call last):";

/// Does this line begin a trace of an enabled language?
fn trace_start(b: &[u8], langs: LanguageSet) -> Option<TraceStart> {
    trace_start_with(b, langs, true)
}

/// Whether the line starts with `YYYY-MM-DD HH:` and ends with neither `:` nor white
/// space: such a line begins no trace (`trace_start` answers `None`, tested). Its first
/// colon is the hour's, after digits, not `.rb`; a space lies in its first 16 bytes, which
/// no Node location has; and a traceback's first line ends with `:`. Asked inline, two
/// words: most lines of Python's `logging` and Spring Boot are such, and the call of
/// `trace_start` cost them more than the rest of their grouping.
#[inline(always)]
fn starts_with_iso_time(b: &[u8]) -> bool {
    use crate::bytes::word_at;
    let (Some(w0), Some(w1), Some(last)) = (word_at(b, 0), word_at(b, 6), b.last()) else {
        return false;
    };
    // Digits become 0..=9 and the separators 0; every byte must be below ten, and the
    // separators' bytes zero.
    let x0 = w0 ^ u64::from_le_bytes(*b"0000-00-");
    let x1 = w1 ^ u64::from_le_bytes(*b"0-00 00:");
    let below_ten =
        |x: u64| (x | x.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080 == 0;
    below_ten(x0)
        && below_ten(x1)
        && x0 & 0xff00_00ff_0000_0000 == 0
        && x1 & 0xff00_00ff_0000_ff00 == 0
        && *last != b':'
        && !last.is_ascii_whitespace()
}

/// `trace_start`; `klog_skip`: a line that begins with klog's header answers no before
/// the shapes that cannot begin so are tried (tests compare both ways).
fn trace_start_with(b: &[u8], langs: LanguageSet, klog_skip: bool) -> Option<TraceStart> {
    let t = trim_end(b);
    trace_start_trimmed(t, indent(t), langs, klog_skip)
}

/// `trace_start_with` for a line `t` without its trailing white space, indented by `ind`.
#[inline(always)]
fn trace_start_trimmed(
    t: &[u8],
    ind: usize,
    langs: LanguageSet,
    klog_skip: bool,
) -> Option<TraceStart> {
    // The last byte first: `ends_with` is a `memcmp` call, byte by byte in the interpreter.
    if t.last() == Some(&b':') && t.ends_with(TRACEBACK) {
        return start_of(Phase::PyStack, Language::Python, true, langs);
    }
    if ind > 1 {
        return None;
    }
    let r = &t[ind..];
    let first = *r.first()?;
    // A line that starts with a digit (a timestamp, an address) can only be Ruby's
    // `file.rb:6:in` or Node's `file.js:13`: the other shapes all need a letter, `_`, `[`
    // or klog's level first. Most headers do, so the others are asked out of line.
    if first.is_ascii_digit() {
        if ruby_exception_line(r) {
            return start_of(Phase::Ruby, Language::Ruby, true, langs);
        }
        if node_preamble(r) {
            return start_of(Phase::NodePreamble(0), Language::Node, false, langs);
        }
        return None;
    }
    // klog's `I1120 13:` (a level letter, month and day, a space, the hour and a colon)
    // begins no other shape: each needs its own word, path or name first.
    if klog_skip && klog_head(r) {
        return None;
    }
    trace_start_other(r, ind, first, langs)
}

/// The start of a trace of an enabled language.
fn start_of(
    phase: Phase,
    lang: Language,
    definitive: bool,
    langs: LanguageSet,
) -> Option<TraceStart> {
    langs.contains(lang).then_some(TraceStart {
        phase,
        lang: Some(lang),
        definitive,
        attaches: true,
    })
}

/// `trace_start_with` for a line `r` (indented by `ind`, at most one) whose first byte is
/// not a digit, and that is not klog's header (when that is skipped). Out of line: in the
/// interpreter every call of the function that holds this code would first copy all its
/// names' constants into its frame.
#[inline(never)]
fn trace_start_other(r: &[u8], ind: usize, first: u8, langs: LanguageSet) -> Option<TraceStart> {
    use Language::*;
    let start = |phase, lang, definitive| start_of(phase, lang, definitive, langs);
    let exc_message = Phase::ExcMessage {
        loose: 0,
        loose_ok: true,
    };
    match first {
        b'E' if r.starts_with(b"Exception in thread \"") => {
            return start(exc_message, Java, true);
        }
        b'p' if r.starts_with(b"panic: ") => return start(Phase::GoHead, Go, true),
        b'f' if r.starts_with(b"fatal error: ") => return start(Phase::GoHead, Go, true),
        b'g' if r.starts_with(b"goroutine ") && r.get(10).is_some_and(u8::is_ascii_digit) => {
            return start(Phase::GoStack, Go, true);
        }
        b'S' if signal_line(r) => return start(Phase::GoSignal, Go, true),
        b't' if r.starts_with(b"thread '") && contains(r, b"' panicked at") => {
            return start(Phase::RustHead { loose: 0 }, Rust, true);
        }
        b'U' if r == b"Unhandled exception:" => {
            return start(Phase::DartHead { loose: 0 }, Dart, true);
        }
        b'U' if r == b"Unhandled Exception:" => return start(exc_message, Dotnet, true),
        b'U' if r.starts_with(b"Unhandled exception. ") => {
            return start(exc_message, Dotnet, false);
        }
        _ => {}
    }
    if php_fatal(r) {
        return langs.contains(Php).then_some(TraceStart {
            phase: Phase::Php,
            lang: Some(Php),
            definitive: true,
            attaches: false,
        });
    }
    if r.starts_with(b"exception '") && contains(r, b"' with message '") {
        return start(Phase::Php, Php, true);
    }
    if ruby_exception_line(r) {
        return start(Phase::Ruby, Ruby, true);
    }
    if rails_exception_shape(r) {
        return start(Phase::Ruby, Ruby, false);
    }
    if node_preamble(r) {
        return start(Phase::NodePreamble(0), Node, false);
    }
    if ind > 0 {
        return None;
    }
    let shape = exception_shape(r)?;
    let lang = if r.starts_with(b"System.") || r.starts_with(b"Microsoft.") {
        Some(Dotnet)
    } else if shape.qualified {
        Some(Java)
    } else {
        None
    };
    let enabled = match lang {
        Some(l) => langs.contains(l),
        None => [Java, Node, Dotnet].iter().any(|l| langs.contains(*l)),
    };
    enabled.then_some(TraceStart {
        phase: Phase::ExcMessage {
            loose: 0,
            loose_ok: shape.qualified,
        },
        lang,
        definitive: false,
        attaches: true,
    })
}

/// klog's header up to the hour's colon: `[IWEF]MMDD HH:`.
fn klog_head(r: &[u8]) -> bool {
    matches!(r.first(), Some(b'I' | b'W' | b'E' | b'F'))
        && r.len() > 8
        && r[1..5].iter().all(u8::is_ascii_digit)
        && r[5] == b' '
        && r[6].is_ascii_digit()
        && r[7].is_ascii_digit()
        && r[8] == b':'
}

/// The shape of an exception line: `Name`, `Name: msg`, `pkg.Name: msg`,
/// `Name [CODE]: msg`, where the name's last segment ends in Exception, Error or Throwable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExceptionShape {
    /// Where the type name ends.
    pub(crate) name_end: usize,
    /// The name has a package (`java.lang.X`, `System.X`).
    pub(crate) qualified: bool,
}

pub(crate) fn exception_shape(r: &[u8]) -> Option<ExceptionShape> {
    let first = *r.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    let mut i = 0;
    let mut seg_start = 0;
    let mut qualified = false;
    while i < r.len() {
        let c = r[i];
        if ident(c) {
            i += 1;
        } else if c == b'.' && r.get(i + 1).is_some_and(|&n| ident(n)) {
            qualified = true;
            i += 1;
            seg_start = i;
        } else {
            break;
        }
    }
    let seg = &r[seg_start..i];
    if !(seg.ends_with(b"Exception") || seg.ends_with(b"Error") || seg.ends_with(b"Throwable")) {
        return None;
    }
    let rest = trim_end(&r[i..]);
    let ok = rest.is_empty()
        || rest == b":"
        || rest.starts_with(b": ")
        || (rest.starts_with(b" [") && (contains(rest, b"]: ") || rest.ends_with(b"]")));
    ok.then_some(ExceptionShape {
        name_end: i,
        qualified,
    })
}

/// `PHP Fatal error:  Uncaught ...`, with php-fpm's `NOTICE: PHP message: ` or an
/// error_log `[date] ` before it.
pub(crate) fn php_fatal(r: &[u8]) -> bool {
    let mut r = r;
    if r.first() == Some(&b'[') {
        if let Some(p) = find(&r[..r.len().min(48)], b"] ") {
            r = &r[p + 2..];
        }
    }
    if let Some(rest) = r.strip_prefix(b"NOTICE: PHP message: ") {
        r = rest;
    }
    let r = r.strip_prefix(b"PHP ").unwrap_or(r);
    match r.strip_prefix(b"Fatal error:") {
        Some(rest) => trim_start(rest).starts_with(b"Uncaught"),
        None => false,
    }
}

/// `file.rb:6:in `meth': message (Class)`: Ruby's uncaught-exception line.
#[inline(always)]
pub(crate) fn ruby_exception_line(r: &[u8]) -> bool {
    let colon = crate::bytes::find(r, 0, b':');
    if colon == r.len() {
        return false;
    }
    if !r[..colon].ends_with(b".rb") || r.get(colon + 1).is_none_or(|c| !c.is_ascii_digit()) {
        return false;
    }
    let rest = &r[colon + 1..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    rest[digits..].starts_with(b":in ")
}

/// Rails' ` NoMethodError (undefined method ...):` / `ActionController::RoutingError (...):`.
fn rails_exception_shape(r: &[u8]) -> bool {
    if !r.first().is_some_and(u8::is_ascii_uppercase) || !r.ends_with(b"):") {
        return false;
    }
    let name_len = r
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        .count();
    let name = &r[..name_len];
    r[name_len..].starts_with(b" (")
        && (contains(name, b"::") || name.ends_with(b"Error") || name.ends_with(b"Exception"))
}

/// A Ruby frame: `from x.rb:6:in `m'`, `app/models/user.rb:12:in `save'`,
/// `actionpack (5.1.4) lib/...rb:63:in `call'`.
fn ruby_frame(r: &[u8]) -> bool {
    let Some(p) = find(r, b".rb:") else {
        return false;
    };
    let rest = &r[p + 4..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(b":in ")
}

/// `/app/server.js:13` or `node:assert:124`: the first line Node prints for an uncaught
/// exception.
#[inline(always)]
fn node_preamble(r: &[u8]) -> bool {
    r.last().is_some_and(u8::is_ascii_digit) && !space_in_first_16(r) && node_location(r)
}

/// A space among the first 16 bytes, which no Node location has: asked inline, two words,
/// before the call, for the many lines that end in a number (`... order 98231`).
#[inline(always)]
fn space_in_first_16(r: &[u8]) -> bool {
    use crate::bytes::{eq_bytes, word_at};
    match (word_at(r, 0), word_at(r, 8)) {
        (Some(a), Some(b)) => eq_bytes(a, b' ') | eq_bytes(b, b' ') != 0,
        _ => false,
    }
}

#[inline(never)]
fn node_location(r: &[u8]) -> bool {
    let digits = r.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits == r.len() || contains(r, b" ") {
        return false;
    }
    let head = &r[..r.len() - digits];
    let Some(head) = head.strip_suffix(b":") else {
        return false;
    };
    head.starts_with(b"node:")
        || head.ends_with(b".js")
        || head.ends_with(b".mjs")
        || head.ends_with(b".cjs")
        || head.ends_with(b".ts")
}

/// `SIGSEGV: segmentation violation` (Go's signal crash).
fn signal_line(r: &[u8]) -> bool {
    let Some(rest) = r.strip_prefix(b"SIG") else {
        return false;
    };
    let n = rest.iter().take_while(|c| c.is_ascii_uppercase()).count();
    n >= 2 && rest[n..].starts_with(b": ")
}

/// `r0\t0xff`, `rax    0x0`: a register of Go's signal dump.
fn register_line(r: &[u8]) -> bool {
    let n = r
        .iter()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .count();
    if n == 0 || n > 6 {
        return false;
    }
    let rest = &r[n..];
    let ws = indent(rest);
    ws > 0 && rest[ws..].starts_with(b"0x")
}

/// A Go function line (`main.main()`, `net/http.(*conn).serve(0xc0...)`) or one of the
/// markers of a goroutine dump.
fn go_stack_line(r: &[u8]) -> bool {
    if r.starts_with(b"goroutine ")
        || r.starts_with(b"created by ")
        || r.starts_with(b"exit status ")
        || r.starts_with(b"runtime stack:")
        || r.starts_with(b"...additional frames elided...")
    {
        return true;
    }
    if !r.ends_with(b")") {
        return false;
    }
    match r.iter().position(|&c| c == b'(') {
        Some(p) => p > 0 && !r[..p].contains(&b' '),
        None => false,
    }
}

/// `\t/usr/local/go/src/runtime/panic.go:542 +0x46c`: a Go file line.
fn go_file_line(r: &[u8]) -> bool {
    let token_end = r.iter().position(|&c| c == b' ').unwrap_or(r.len());
    let token = &r[..token_end];
    match find(token, b".go:") {
        Some(p) => token.get(p + 4).is_some_and(u8::is_ascii_digit),
        None => false,
    }
}

/// `#0 ...`: a PHP or Dart frame.
fn numbered_frame(r: &[u8]) -> bool {
    if r.first() != Some(&b'#') {
        return false;
    }
    let n = r[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    n > 0 && r.get(1 + n) == Some(&b' ')
}

/// `0: std::panicking::begin_panic`: a numbered Rust backtrace frame.
fn rust_frame_index(r: &[u8]) -> bool {
    let n = r.iter().take_while(|c| c.is_ascii_digit()).count();
    n > 0 && r.get(n) == Some(&b':')
}

/// Only spaces and `^`/`~` markers (Python 3.11+, Node, Dart).
fn is_caret_line(r: &[u8]) -> bool {
    r.iter().any(|&c| c == b'^' || c == b'~')
        && r.iter().all(|&c| matches!(c, b'^' | b'~' | b' ' | b'\t'))
}

/// `fail: Microsoft.AspNetCore.Server.Kestrel[13]`: the ASP.NET Core console header.
#[inline(always)]
fn aspnet_header(b: &[u8]) -> bool {
    b.len() >= 8 && &b[4..6] == b": " && aspnet_level_header(b)
}

#[inline(never)]
fn aspnet_level_header(b: &[u8]) -> bool {
    matches!(
        &b[..4],
        b"trce" | b"dbug" | b"info" | b"warn" | b"fail" | b"crit"
    ) && trim_end(b).ends_with(b"]")
}

/// A line that begins with a severity word (`ERROR ...`, `[WARN] ...`, `NOTICE: ...`): an
/// event of its own even without a timestamp.
fn level_word_prefix(b: &[u8]) -> bool {
    let b = b.strip_prefix(b"[").unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(3..=8).contains(&n) {
        return false;
    }
    if !matches!(
        b.get(n),
        Some(b' ') | Some(b':') | Some(b']') | Some(b'\t') | Some(b'|')
    ) {
        return false;
    }
    matches!(
        &b[..n],
        b"TRACE"
            | b"DEBUG"
            | b"INFO"
            | b"NOTICE"
            | b"WARN"
            | b"WARNING"
            | b"ERROR"
            | b"ERR"
            | b"SEVERE"
            | b"FATAL"
            | b"CRIT"
            | b"CRITICAL"
            | b"ALERT"
            | b"EMERG"
            | b"PANIC"
    )
}

/// A Rails logger line and its prefix key (severity letter, pid and request tag).
struct RailsLine<'a> {
    key: u64,
    payload: &'a [u8],
}

/// `F, [2026-11-20T10:00:00.123456 #1] FATAL -- : [req-id] payload`.
#[inline(always)]
fn rails_line(b: &[u8]) -> Option<RailsLine<'_>> {
    if b.len() < 8 || !matches!(b[0], b'E' | b'F') || &b[1..4] != b", [" {
        return None;
    }
    rails_line_rest(b)
}

#[inline(never)]
fn rails_line_rest(b: &[u8]) -> Option<RailsLine<'_>> {
    let close = find(&b[..b.len().min(64)], b"] ")?;
    let stamp = &b[4..close];
    let pid = &stamp[find(stamp, b" #")? + 2..];
    let after = &b[close + 2..];
    let dashes = find(&after[..after.len().min(24)], b" -- ")?;
    let after = &after[dashes + 4..];
    let colon = find(&after[..after.len().min(64)], b": ").or_else(|| {
        // An empty progname and an empty payload: `FATAL -- :`.
        trim_end(after)
            .ends_with(b":")
            .then(|| trim_end(after).len() - 1)
    })?;
    let mut payload = after.get(colon + 2..).unwrap_or(b"");
    let mut key = crate::hash::Fnv64::default();
    key.write(&b[..1]);
    key.write(pid);
    while payload.first() == Some(&b'[') {
        match find(payload, b"]") {
            Some(p) => {
                key.write(&payload[..=p]);
                payload = payload.get(p + 1..).unwrap_or(b"");
                payload = payload.strip_prefix(b" ").unwrap_or(payload);
            }
            None => break,
        }
    }
    Some(RailsLine {
        key: key.finish(),
        payload,
    })
}

/// The payload of a Rails logger line (`F, [...] FATAL -- : [tag] payload`), if it is one.
pub(crate) fn rails_payload(line: &str) -> Option<&str> {
    let r = rails_line(line.as_bytes())?;
    let start = line.len() - r.payload.len();
    line.get(start..)
}

fn rails_stage_of(payload: &[u8]) -> (RailsStage, bool) {
    let t = trim_end(payload);
    let r = &t[indent(t)..];
    if r.is_empty() {
        (RailsStage::Lead, false)
    } else if ruby_frame(r) {
        (RailsStage::Frames, true)
    } else {
        (RailsStage::Exception, rails_exception_shape(r))
    }
}

fn rails_next(stage: RailsStage, payload: &[u8]) -> Option<(RailsStage, bool)> {
    let t = trim_end(payload);
    let r = &t[indent(t)..];
    let blank = r.is_empty();
    let frame = ruby_frame(r);
    match stage {
        RailsStage::Lead if blank => Some((RailsStage::Lead, false)),
        RailsStage::Lead if rails_exception_shape(r) || exception_shape(r).is_some() => {
            Some((RailsStage::Exception, true))
        }
        RailsStage::Exception if blank => Some((RailsStage::Exception, false)),
        RailsStage::Lead | RailsStage::Exception | RailsStage::Frames if frame => {
            Some((RailsStage::Frames, true))
        }
        _ => None,
    }
}

// Byte helpers.

pub(crate) fn indent(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| c == b' ' || c == b'\t').count()
}

fn trim_end(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    &b[..b.len() - n]
}

fn trim_start(b: &[u8]) -> &[u8] {
    &b[b.iter().take_while(|c| c.is_ascii_whitespace()).count()..]
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

fn ends_with_colon(b: &[u8]) -> bool {
    trim_end(b).last() == Some(&b':')
}

/// A JSON log line, given without its trailing white space (`t`): first non-space byte
/// `{`, last `}`.
fn is_json_trimmed(t: &[u8]) -> bool {
    t.last() == Some(&b'}') && t.get(indent(t)) == Some(&b'{')
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = hay.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        match hay[i..=last_start].iter().position(|&c| c == first) {
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
            None => return None,
        }
    }
    None
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> GroupContext {
        GroupContext {
            max_lines: 500,
            max_bytes: 64 * 1024,
            languages: LanguageSet::all(),
            header: HeaderParser::default(),
        }
    }

    /// Groups `text`'s lines; each group as (its text, its kind, the index of its first line).
    /// Read both through the queue and as handed out (`push_emitting`), which must agree.
    fn groups_with(text: &str, ctx: &GroupContext) -> Vec<(String, GroupKind, usize)> {
        let (mut g, mut h) = (TraceGrouper::new(), TraceGrouper::new());
        let (mut out, mut handed) = (Vec::new(), Vec::new());
        let summary = |g: &Group<usize>| (g.text.clone(), g.kind, g.first);
        for (i, line) in text.lines().enumerate() {
            g.push(line, i, ctx);
            while let Some(done) = g.pop_completed() {
                out.push(summary(&done));
            }
            h.push_emitting(
                line,
                || i,
                ctx,
                Some(|d: &mut Group<usize>| handed.push(summary(d))),
            );
            while let Some(done) = h.pop_completed() {
                handed.push(summary(&done));
            }
        }
        g.flush();
        h.flush();
        out.extend(std::iter::from_fn(|| g.pop_completed()).map(|d| summary(&d)));
        handed.extend(std::iter::from_fn(|| h.pop_completed()).map(|d| summary(&d)));
        assert_eq!(handed, out, "handed out as completed vs through the queue");
        out
    }

    /// A group taken over in place for the next line (`begin` after `push_emitting`) starts
    /// afresh: the previous group's last line ended with a colon, which lets an exception
    /// line continue only the group it belongs to.
    #[test]
    fn a_group_begun_in_place_keeps_nothing_of_the_last() {
        let got = texts("config follows:\njava.lang.IllegalStateException: boom\norg.example.OtherException: nested");
        assert_eq!(
            got,
            [
                "config follows:",
                "java.lang.IllegalStateException: boom",
                "org.example.OtherException: nested"
            ]
        );
    }

    fn groups(text: &str) -> Vec<(String, GroupKind, usize)> {
        groups_with(text, &ctx())
    }

    /// An exception line that ends with a colon takes the exception line after it (its
    /// cause, printed as its message); without the colon that line begins its own event.
    /// At the input's start, and after a line that ended with a colon itself.
    #[test]
    fn an_exception_line_ending_in_a_colon_takes_the_next_exception_line() {
        let cause = "java.lang.IllegalArgumentException: amount must be positive";
        let frame = "\tat com.shop.Orders.charge(Orders.java:42)";
        for before in ["", "config follows:\n"] {
            let skip = usize::from(!before.is_empty());
            let with = texts(&format!(
                "{before}java.lang.IllegalStateException: could not charge:\n{cause}\n{frame}"
            ));
            assert_eq!(
                with[skip..],
                [format!(
                    "java.lang.IllegalStateException: could not charge:\n{cause}\n{frame}"
                )],
                "{before:?}"
            );
            let without = texts(&format!(
                "{before}java.lang.IllegalStateException: could not charge\n{cause}\n{frame}"
            ));
            assert_eq!(
                without[skip..],
                [
                    "java.lang.IllegalStateException: could not charge".to_string(),
                    format!("{cause}\n{frame}")
                ],
                "{before:?}"
            );
        }
    }

    /// A header line takes a trace that starts on the next line indented by one space, as it
    /// takes one that starts at the line's beginning.
    #[test]
    fn a_header_takes_a_trace_started_one_space_in() {
        let header = "2026-11-20 13:10:00,000 ERROR [main] app: charge failed";
        for indent in ["", " "] {
            let got = texts(&format!(
                "{header}\n{indent}panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d\n2026-11-20 13:10:01,000 INFO next"
            ));
            assert_eq!(got.len(), 2, "{indent:?}: {got:?}");
            assert!(
                got[0].starts_with(&format!("{header}\n{indent}panic: boom")),
                "{got:?}"
            );
        }
    }

    fn texts(text: &str) -> Vec<String> {
        groups(text).into_iter().map(|(t, _, _)| t).collect()
    }

    #[test]
    fn rust_panic_with_backtrace_is_one_group() {
        let trace = "thread 'main' panicked at src/main.rs:2:5:\n\
            called `Option::unwrap()` on a `None` value\n\
            stack backtrace:\n   \
            0: rust_begin_unwind\n             \
            at /rustc/abc/library/std/src/panicking.rs:645:5\n   \
            1: app::main\n             \
            at ./src/main.rs:2:5\n\
            note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.";
        let input = format!("{trace}\n2026-11-20 10:00:01 INFO restarting");
        let got = groups(&input);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, trace);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Rust));
    }

    #[test]
    fn rust_panic_without_backtrace_keeps_its_note() {
        let trace = "thread 'tokio-runtime-worker' panicked at src/db.rs:40:9:\n\
            pool exhausted\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";
        let got = texts(&format!("{trace}\nlistening on 0.0.0.0:80"));
        assert_eq!(
            got,
            vec![trace.to_string(), "listening on 0.0.0.0:80".into()]
        );
    }

    /// A line that begins with klog's header starts a trace (or not) exactly as it would
    /// were every shape tried: klog heads followed by the first lines of every trace shape,
    /// and by random pieces of them.
    /// A line `starts_with_iso_time` lets skip `trace_start` begins no trace: on headers of
    /// that shape with every kind of end (a traceback's first line, Ruby's and Node's
    /// locations, `:`, white space), near misses at every byte of the first fourteen, and
    /// other layouts.
    #[test]
    fn a_line_that_starts_with_an_iso_time_begins_no_trace() {
        let heads = [
            "2026-11-20 13:10:00,123 - app - ERROR - ",
            "2026-11-20 13:10:00.000  INFO 1 --- [main] c.e.App : ",
            "2026-11-20T13:10:00Z ",
            "2026-11-20 13:",
            "10.1.2.13 - - [20/Nov/2026:13:10:00 +0000] ",
            "I1120 13:10:00.000456 1 x.go:1] ",
            "2026-11-20 13:10:00/app/server.js:",
        ];
        let tails = [
            "charge failed",
            "Traceback (most recent call last):",
            "Traceback (most recent call last): ",
            "app/models/user.rb:12:in `save': boom (RuntimeError)",
            "x.rb:6:in `m'",
            "/app/server.js:13",
            "node:assert:124",
            "order 98231",
            "done:",
            "done \t",
            "",
        ];
        let all = LanguageSet::all();
        let mut skipped = 0;
        let mut check = |line: &[u8]| {
            if starts_with_iso_time(line) {
                skipped += 1;
                for klog_skip in [true, false] {
                    let start = trace_start_with(line, all, klog_skip);
                    assert!(
                        start.is_none(),
                        "{:?}: {start:?}",
                        String::from_utf8_lossy(line)
                    );
                }
            }
        };
        for head in heads {
            for tail in tails {
                let line = format!("{head}{tail}");
                check(line.as_bytes());
                for i in 0..14.min(line.len()) {
                    for c in [
                        b'0', b'9', b'-', b' ', b':', b';', b'(', b'.', b'r', b'b', b'T', b'\t',
                    ] {
                        let mut b = line.clone().into_bytes();
                        b[i] = c;
                        check(&b);
                    }
                }
            }
        }
        assert!(skipped > 100, "{skipped}");
    }

    #[test]
    fn klog_lines_start_traces_as_when_every_shape_is_tried() {
        const HEADS: [&str; 8] = [
            "I1120 13:10:00.000456       1 controller.go:100] ",
            "E1120 13:10:00.000456 1 x.go:1] ",
            "W0101 00:00:00.000000 ",
            "F1231 23:",
            "E1120 13:",
            " E1120 13:10:00 ",
            "I1120 13:10",
            "E9999 99:",
        ];
        const TAILS: [&str; 30] = [
            "panic: runtime error: index out of range",
            "Traceback (most recent call last):",
            "java.lang.IllegalStateException: card declined",
            "Exception in thread \"main\" java.lang.Error",
            "app.rb:12:in `charge': boom (RuntimeError)",
            "from /app/x.rb:3:in `x'",
            "/app/server.js:13",
            "PHP Fatal error:  Uncaught Exception: x in /a.php:3",
            "exception 'E' with message 'm' in /a.php:1",
            "IllegalStateException: x",
            "goroutine 1 [running]:",
            "fatal error: all goroutines are asleep",
            "thread 'main' panicked at src/main.rs:2:5:",
            "Unhandled exception:",
            "Unhandled Exception: System.Exception: x",
            "System.InvalidOperationException: x",
            "ActionController::RoutingError (No route matches [GET] \"/x\"):",
            "    at f (/x.js:1:2)",
            "\tat com.x.Y.z(Y.java:1)",
            "SIGSEGV: segmentation violation",
            "[signal SIGSEGV: segmentation violation code=0x1]",
            "Error: boom",
            "TypeError: x is not a function",
            "Caused by: java.io.IOException",
            "ExceptionGroup: errors (2 sub-exceptions)",
            "",
            "x",
            ":",
            "13:10:00.000456",
            "12:in ",
        ];
        let all = LanguageSet::all();
        let same = |line: &str| {
            let (a, b) = (
                trace_start_with(line.as_bytes(), all, true),
                trace_start_with(line.as_bytes(), all, false),
            );
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{line:?}");
        };
        for head in HEADS {
            for tail in TAILS {
                same(&format!("{head}{tail}"));
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..20_000 {
            let mut line = HEADS[next(HEADS.len())].to_string();
            for _ in 0..next(4) {
                let tail = TAILS[next(TAILS.len())];
                let cut = next(tail.len() + 1);
                line.push_str(tail.get(..cut).unwrap_or(tail));
            }
            same(&line);
        }
        // The skip is taken: klog lines are what it is for.
        assert!(klog_head(b"I1120 13:10:00.000456 1 x.go:1] ok"));
        assert!(!klog_head(b"I1120 1:10"));
    }

    #[test]
    fn a_line_that_starts_with_a_digit_still_starts_ruby_and_node_traces() {
        let all = LanguageSet::all();
        let lang = |line: &str| trace_start(line.as_bytes(), all).and_then(|s| s.lang);
        assert_eq!(
            lang("2fa.rb:6:in `verify': bad code (RuntimeError)"),
            Some(Language::Ruby)
        );
        assert_eq!(
            lang("2026-11-20 app.rb:6:in `run': boom (RuntimeError)"),
            Some(Language::Ruby)
        );
        assert_eq!(lang("3d.js:13"), Some(Language::Node));
        // The shapes that need a letter first stay out.
        assert_eq!(lang("2026-11-20 13:00:00 RuntimeError: x"), None);
        assert_eq!(lang("42Exception: x"), None);
        assert!(trace_start(b"IllegalStateException: x", all).is_some());
        assert_eq!(
            lang("java.lang.IllegalStateException: x"),
            Some(Language::Java)
        );
    }

    #[test]
    fn the_inline_first_byte_test_passes_every_column_0_strong_frame() {
        let all = LanguageSet::all();
        let lines = [
            "Caused by: java.io.IOException: x",
            "--- End of inner exception stack trace ---",
            "--- End of stack trace from previous location ---",
            "<---",
            "---> System.Exception: x",
            "Stack trace:",
            "2026-11-20 13:10:00 INFO x",
        ];
        for line in lines {
            // Every first byte in front of each shape's rest, so a shape that starts with
            // a byte the inline test passes over fails here.
            for c in 0u8..128 {
                let mut b = line.as_bytes().to_vec();
                b[0] = c;
                assert_eq!(
                    strong_frame(0, &b, None, all).map(|(_, l)| l),
                    strong_frame_at(0, &b, None, all).map(|(_, l)| l),
                    "{:?}",
                    String::from_utf8_lossy(&b)
                );
            }
            assert_eq!(
                strong_frame(0, line.as_bytes(), None, all).is_some(),
                !line.starts_with("2026"),
                "{line:?}"
            );
        }
    }

    #[test]
    fn the_inline_space_test_passes_every_node_location_to_the_full_one() {
        for line in [
            "/app/server.js:13",
            "/app/error_aggregateTwoErrors.js:13",
            "node:internal/process/task_queues:95",
            "node:assert:124",
            "3d.js:13",
            "/srv/a b/app.js:13",
            "/srv/app/dist/main.mjs:7",
            "/a.ts:1",
            "x.js:1",
            "2026-11-20 13:10:00,000 - worker - INFO - order 98231",
            "2026-11-20 13:10:00 /app/server.js:13",
            "/app/srv.js 13",
            "12345678901234567",
            "",
        ] {
            let r = line.as_bytes();
            let full = r.last().is_some_and(u8::is_ascii_digit) && node_location(r);
            assert_eq!(node_preamble(r), full, "{line:?}");
        }
        assert!(node_preamble(b"/app/error_aggregateTwoErrors.js:13"));
        assert!(!node_preamble(
            b"2026-11-20 13:10:00,000 - worker - INFO - order 98231"
        ));
    }

    #[test]
    fn php_fatal_error_with_error_log_prefix() {
        let trace = "[20-Nov-2026 10:00:00 UTC] PHP Fatal error:  Uncaught RuntimeException: no db in /var/www/src/Db.php:12\n\
            Stack trace:\n\
            #0 /var/www/src/App.php(30): Db->connect()\n\
            #1 {main}\n  \
            thrown in /var/www/src/Db.php on line 12";
        let got = groups(&format!(
            "{trace}\n[20-Nov-2026 10:00:01 UTC] PHP Notice:  x"
        ));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, trace);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Php));
    }

    #[test]
    fn dart_async_trace() {
        let trace = "Unhandled exception:\n\
            FormatException: Invalid radix-10 number (at character 1)\n\
            #0      int._throwFormatException (dart:core-patch/integers_patch.dart:111:5)\n\
            #1      main (file:///app/bin/main.dart:4:7)\n\
            <asynchronous suspension>\n\
            #2      _delayEntrypointInvocation.<anonymous closure> (dart:isolate-patch/isolate_patch.dart:295:33)";
        let got = groups(&format!("{trace}\nserver stopped"));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, trace);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Dart));
    }

    #[test]
    fn aspnet_console_error_with_exception() {
        let event = "fail: Microsoft.AspNetCore.Server.Kestrel[13]\n      \
            Connection id \"0HMD3\", Request id \"0HMD3:00000001\": An unhandled exception was thrown by the application.\n      \
            System.InvalidOperationException: boom\n         \
            at Shop.Api.OrdersController.Get() in /src/OrdersController.cs:line 20\n         \
            at lambda_method(Closure, Object, Object[])";
        let input = format!(
            "{event}\ninfo: Microsoft.Hosting.Lifetime[0]\n      Application is shutting down..."
        );
        let got = groups(&input);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, event);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Dotnet));
        assert_eq!(got[1].1, GroupKind::Plain);
    }

    #[test]
    fn a_json_line_between_traces_stands_alone() {
        let input = "java.lang.IllegalStateException: a\n\tat com.acme.A.run(A.java:1)\n\
            {\"level\":\"error\",\"msg\":\"x\"}\n\
            \tat com.acme.B.run(B.java:2)\n\
            Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in <module>\nValueError: b";
        let got = groups(input);
        let kinds: Vec<GroupKind> = got.iter().map(|g| g.1).collect();
        assert_eq!(
            kinds,
            vec![
                GroupKind::Trace(Language::Java),
                GroupKind::Json,
                GroupKind::Plain,
                GroupKind::Trace(Language::Python)
            ],
            "{got:?}"
        );
        assert_eq!(got[1].0, "{\"level\":\"error\",\"msg\":\"x\"}");
    }

    #[test]
    fn a_header_takes_the_trace_that_follows_it_but_a_plain_line_does_not() {
        let got = texts(
            "2026-11-20 10:00:00.123 ERROR [billing] charge failed\n\
             Traceback (most recent call last):\n  File \"/app/pay.py\", line 3, in charge\nKeyError: 'card'\n\
             nothing special here\n\
             Traceback (most recent call last):\n  File \"/app/pay.py\", line 3, in charge\nKeyError: 'card'",
        );
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].starts_with("2026-11-20") && got[0].ends_with("KeyError: 'card'"));
        assert_eq!(got[1], "nothing special here");
    }

    #[test]
    fn a_cut_header_line_still_takes_its_trace_and_a_cut_plain_line_does_not() {
        // A line over max_bytes is held cut; whether it begins an event is answered from the
        // whole line. Its trace attaches (the group becomes a Python trace), then overflows
        // the full group into an event of its own, as any line over the limit does.
        let ctx = GroupContext {
            max_bytes: 1024,
            ..ctx()
        };
        let trace = "Traceback (most recent call last):\n  File \"/app/pay.py\", line 3, in charge\nKeyError: 'card'";
        let long = "x".repeat(2000);
        let header = format!("2026-11-20 10:00:00.123 ERROR charge failed {long}\n{trace}");
        let got = groups_with(&header, &ctx);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1, GroupKind::Trace(Language::Python));
        // The same line without its date begins nothing: the trace stands alone.
        let plain = format!("charge failed {long}\n{trace}");
        let got = groups_with(&plain, &ctx);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].1, GroupKind::Plain);
    }

    #[test]
    fn trailing_blank_lines_leave_as_their_own_groups() {
        let got = groups("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d\n\n\nlisten failed");
        let t: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(
            t,
            vec![
                "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d",
                "",
                "",
                "listen failed"
            ]
        );
        // Each blank line keeps its own meta (here: its line index).
        assert_eq!(got[1].2, 5);
        assert_eq!(got[2].2, 6);
    }

    #[test]
    fn disabled_languages_are_plain_lines() {
        let mut c = ctx();
        c.languages = LanguageSet::parse_list("java").unwrap_or_default();
        let got = groups_with(
            "Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in <module>\nValueError: b",
            &c,
        );
        assert!(got.len() > 1, "{got:?}");
        assert!(got.iter().all(|g| !matches!(g.1, GroupKind::Trace(_))));
        let java = groups_with("java.lang.Error: x\n\tat a.B.c(B.java:1)", &c);
        assert_eq!(java.len(), 1);
    }

    #[test]
    fn rails_fatal_lines_group_by_their_prefix() {
        let p = "F, [2026-11-20T10:00:00.123456 #1] FATAL -- : [req-1]";
        let event = format!(
            "{p}   \n{p} ActionController::RoutingError (No route matches [GET] \"/x\"):\n{p}   \n\
             {p} actionpack (7.0.4) lib/action_dispatch/middleware/debug_exceptions.rb:28:in `call'\n\
             {p} railties (7.0.4) lib/rails/rack/logger.rb:40:in `call_app'"
        );
        let input = format!(
            "{event}\nI, [2026-11-20T10:00:01.000000 #1]  INFO -- : [req-2] Started GET \"/\""
        );
        let got = groups(&input);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, event);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Ruby));
    }

    #[test]
    fn dotnet_unhandled_exception_and_node_props() {
        let dotnet = "Unhandled exception. System.IO.FileNotFoundException: Could not find file '/data/x'.\n   \
            at System.IO.FileStream.ValidateFileHandle(SafeFileHandle fileHandle)\n   \
            at Shop.Program.Main(String[] args) in /src/Program.cs:line 9";
        let got = groups(dotnet);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Dotnet));

        let node = "Error: connect ECONNREFUSED 127.0.0.1:5432\n    \
            at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {\n  \
            errno: -111,\n  code: 'ECONNREFUSED'\n}";
        let got = groups(&format!("{node}\nserver listening"));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, node);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Node));
    }

    #[test]
    fn dotnet_aggregate_exception_with_inner_exceptions_on_their_own_lines() {
        let trace = "Unhandled exception. System.AggregateException: One or more errors occurred. (boom)\n \
            ---> System.Exception: boom\n   \
            at Shop.Worker.Run() in /src/Worker.cs:line 14\n   \
            --- End of inner exception stack trace ---\n   \
            at Shop.Program.Main() in /src/Program.cs:line 8";
        let got = groups(&format!("{trace}\ninfo: Shop[0]"));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, trace);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Dotnet));
    }

    #[test]
    fn node_unhandled_rejection_without_frames() {
        let trace = "node:internal/process/promises:288\n            \
            triggerUncaughtException(err, true /* fromPromise */);\n            ^\n\n\
            [UnhandledPromiseRejection: This error originated either by throwing inside of an async function.] {\n  \
            code: 'ERR_UNHANDLED_REJECTION'\n}\n\nNode.js v18.19.0";
        let got = groups(&format!("{trace}\nnpm ERR! code 1"));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, trace);
        assert_eq!(got[0].1, GroupKind::Trace(Language::Node));
    }

    #[test]
    fn max_lines_splits_a_trace_without_losing_lines() {
        let mut c = ctx();
        c.max_lines = 3;
        let mut g = TraceGrouper::new();
        let lines = [
            "java.lang.Error: x",
            "\tat a.B.c(B.java:1)",
            "\tat a.B.d(B.java:2)",
            "\tat a.B.e(B.java:3)",
            "\tat a.B.f(B.java:4)",
        ];
        for l in lines {
            g.push(l, (), &c);
        }
        g.flush();
        let first = g.pop_completed().expect("first part");
        let second = g.pop_completed().expect("second part");
        assert!(g.pop_completed().is_none());
        assert_eq!(first.line_count, 3);
        assert!(first.truncated && !first.continued);
        assert_eq!(second.text, "\tat a.B.e(B.java:3)\n\tat a.B.f(B.java:4)");
        assert!(second.continued);
        assert_eq!(second.kind, GroupKind::Trace(Language::Java));
    }

    #[test]
    fn max_bytes_cuts_an_oversized_line_at_a_char_boundary() {
        let mut c = ctx();
        c.max_bytes = 10;
        let mut g = TraceGrouper::new();
        g.push("abcdefgh€-rest", (), &c); // '€' spans bytes 8..11: the cut at 10 lands inside
        g.push("short", (), &c);
        let cut = g.pop_completed().expect("the long line");
        assert_eq!(cut.text, "abcdefgh");
        assert_eq!(cut.cut_bytes, "abcdefgh€-rest".len() - 8);
        assert!(cut.truncated);
        assert!(g.held_bytes() <= c.max_bytes);
    }

    #[test]
    fn max_bytes_splits_a_group() {
        let mut c = ctx();
        c.max_bytes = 40;
        let got = groups_with(
            "java.lang.Error: x\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)",
            &c,
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.iter().all(|g| g.0.len() <= 40));
    }

    #[test]
    fn ordinary_words_ending_in_panic_or_error_start_nothing() {
        let got =
            texts("It sounds tympanic: a word\nERROR: disk full\nretrying\nerror=denied code=5");
        assert_eq!(got.len(), 4, "{got:?}");
    }
}
