//! Properties of `TraceGrouper` on random mixes of corpus lines, junk and limits: it never
//! panics, every line comes out exactly once and in order (cut lines as a prefix, the cut
//! counted), no group exceeds the limits, and what it holds stays within `max_bytes`; and a
//! grouper that hands groups out as it completes them (`push_emitting`, the filter's way)
//! makes the same groups in the same order as one read through its queue.

use std::sync::OnceLock;

use cali_plugin::grouper::{Group, GroupContext, GroupKind, TraceGrouper};
use cali_plugin::header::HeaderParser;
use cali_plugin::language::{Language, LanguageSet};
use proptest::prelude::*;

mod common;
use common::corpus_dir;

/// Every line of every corpus case (plus a few shapes the corpus lacks).
fn corpus_lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let mut lines: Vec<String> = [
            "",
            "   ",
            "{\"level\":\"error\",\"msg\":\"x\"}",
            "2026-11-20 10:00:00.123 ERROR [main] c.a.B - failed",
            "thread 'main' panicked at src/main.rs:2:5:",
            "stack backtrace:",
            "   0: app::main",
            "             at ./src/main.rs:2:5",
            "fail: Microsoft.AspNetCore.Server.Kestrel[13]",
            "F, [2026-11-20T10:00:00.1 #1] FATAL -- : [r] NoMethodError (x):",
            "F, [2026-11-20T10:00:00.1 #1] FATAL -- : [r] app/a.rb:1:in `b'",
            "Unhandled exception:",
            "#0      main (file:///a.dart:1:2)",
            "node:internal/process:1",
            "    ^",
            "Node.js v20.0.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let dir = corpus_dir().join("multiline");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "txt") {
                    if let Ok(text) = std::fs::read_to_string(e.path()) {
                        lines.extend(text.lines().map(String::from));
                    }
                }
            }
        }
        lines
    })
}

#[derive(Debug, Clone)]
enum Op {
    Line(String),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    let corpus = prop::sample::select(corpus_lines().to_vec()).prop_map(Op::Line);
    // Junk: any characters but the line break, with a bias to the bytes the grouper looks at.
    let junk = "[ \\t{}\\[\\]#:^~|+.a-zA-Z0-9\\r'\"`é€😀\\-]{0,40}".prop_map(Op::Line);
    let any = "[^\\n]{0,300}".prop_map(Op::Line);
    prop_oneof![6 => corpus, 3 => junk, 1 => any, 1 => Just(Op::Flush)]
}

fn context(max_lines: usize, max_bytes: usize, langs: Vec<bool>) -> GroupContext {
    let mut languages = LanguageSet::empty();
    for (l, on) in Language::ALL.iter().zip(langs) {
        if on {
            languages.insert(*l);
        }
    }
    GroupContext {
        max_lines,
        max_bytes,
        languages,
        header: HeaderParser::default(),
    }
}

/// Checks one finished group against the input lines it must cover, from `next`.
fn check_group(
    group: &Group<usize>,
    input: &[String],
    next: &mut usize,
    ctx: &GroupContext,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(group.first, *next, "groups come out in input order");
    prop_assert!(group.line_count >= 1);
    prop_assert!(
        group.line_count <= ctx.max_lines,
        "{} lines",
        group.line_count
    );
    prop_assert!(
        group.text.len() <= ctx.max_bytes,
        "{} bytes",
        group.text.len()
    );
    let parts: Vec<&str> = group.text.split('\n').collect();
    prop_assert_eq!(parts.len(), group.line_count);
    for (i, part) in parts.iter().enumerate() {
        let original = &input[*next];
        if part != original {
            // Only an oversized line is cut, it starts its group, and the cut is counted.
            prop_assert_eq!(i, 0, "only a group's first line may be cut");
            prop_assert!(original.starts_with(part), "{:?} vs {:?}", part, original);
            prop_assert_eq!(group.cut_bytes, original.len() - part.len());
            prop_assert!(group.truncated);
        }
        *next += 1;
    }
    Ok(())
}

/// Everything a group holds.
type Summary = (usize, String, usize, bool, usize, GroupKind, bool);

fn summary(g: &Group<usize>) -> Summary {
    (
        g.first,
        g.text.clone(),
        g.line_count,
        g.truncated,
        g.cut_bytes,
        g.kind,
        g.continued,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn groups_handed_out_as_completed_are_the_groups_of_the_queue(
        ops in prop::collection::vec(op(), 0..120),
        max_lines in 1usize..40,
        max_bytes in 1usize..400,
        langs in prop::collection::vec(any::<bool>(), Language::ALL.len()),
    ) {
        let ctx = context(max_lines, max_bytes, langs);
        let (mut queued, mut handed) = (TraceGrouper::new(), TraceGrouper::new());
        let (mut want, mut got) = (Vec::new(), Vec::new());
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Line(line) => {
                    queued.push(&line, i, &ctx);
                    let emit = |g: &mut Group<usize>| got.push(summary(g));
                    handed.push_emitting(&line, || i, &ctx, Some(emit));
                }
                Op::Flush => {
                    queued.flush();
                    handed.flush();
                }
            }
            while let Some(done) = queued.pop_completed() {
                want.push(summary(&done));
            }
            while let Some(done) = handed.pop_completed() {
                got.push(summary(&done));
            }
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(handed.held_bytes(), queued.held_bytes());
            prop_assert_eq!(handed.held_lines(), queued.held_lines());
        }
        queued.flush();
        handed.flush();
        want.extend(std::iter::from_fn(|| queued.pop_completed()).map(|g| summary(&g)));
        got.extend(std::iter::from_fn(|| handed.pop_completed()).map(|g| summary(&g)));
        prop_assert_eq!(got, want);
    }

    #[test]
    fn every_line_comes_out_once_in_order_within_the_limits(
        ops in prop::collection::vec(op(), 0..120),
        max_lines in 1usize..40,
        max_bytes in 1usize..400,
        langs in prop::collection::vec(any::<bool>(), Language::ALL.len()),
    ) {
        let ctx = context(max_lines, max_bytes, langs);
        let mut g = TraceGrouper::new();
        let mut input: Vec<String> = Vec::new();
        let mut next = 0;
        for op in ops {
            match op {
                Op::Line(line) => {
                    g.push(&line, input.len(), &ctx);
                    input.push(line);
                }
                Op::Flush => g.flush(),
            }
            while let Some(done) = g.pop_completed() {
                check_group(&done, &input, &mut next, &ctx)?;
            }
            prop_assert!(g.held_bytes() <= ctx.max_bytes, "held {}", g.held_bytes());
        }
        g.flush();
        while let Some(done) = g.pop_completed() {
            check_group(&done, &input, &mut next, &ctx)?;
        }
        prop_assert_eq!(next, input.len(), "every line came out");
        prop_assert!(g.is_empty());
        prop_assert_eq!(g.held_bytes(), 0);
    }

    #[test]
    fn exception_extraction_never_panics(text in "[^\\x00]{0,400}", hint in 0usize..10) {
        let lang = Language::ALL.get(hint).copied();
        if let Some(e) = cali_plugin::exception::extract(&text, lang) {
            prop_assert!(e.trace_start <= text.len());
            let _ = cali_plugin::fingerprint::of_exception(&e);
        }
        let _ = cali_plugin::fingerprint::template(&text);
    }
}
