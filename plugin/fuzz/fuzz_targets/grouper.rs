//! Fuzzes `TraceGrouper` with arbitrary lines and limits and asserts what the property
//! tests assert: no panic, every line out exactly once and in order (an oversized line as
//! a counted prefix), no group over the limits, held bytes within `max_bytes`. The
//! exception reader and the fingerprints run on every group as well.

#![no_main]

use cali_plugin::exception;
use cali_plugin::fingerprint;
use cali_plugin::grouper::{Group, GroupContext, GroupKind, TraceGrouper};
use cali_plugin::header::HeaderParser;
use cali_plugin::language::{Language, LanguageSet};
use libfuzzer_sys::fuzz_target;

fn check(group: &Group<usize>, input: &[String], next: &mut usize, ctx: &GroupContext) {
    assert_eq!(group.first, *next, "groups out of order");
    assert!(group.line_count >= 1 && group.line_count <= ctx.max_lines);
    assert!(group.text.len() <= ctx.max_bytes);
    let parts: Vec<&str> = group.text.split('\n').collect();
    assert_eq!(parts.len(), group.line_count);
    for (i, part) in parts.iter().enumerate() {
        let original = &input[*next];
        if part != original {
            assert_eq!(i, 0, "only a group's first line may be cut");
            assert!(original.starts_with(part));
            assert_eq!(group.cut_bytes, original.len() - part.len());
            assert!(group.truncated);
        }
        *next += 1;
    }
    let hint = match group.kind {
        GroupKind::Trace(l) => Some(l),
        _ => None,
    };
    if let Some(e) = exception::extract(&group.text, hint) {
        assert!(e.trace_start <= group.text.len());
        let _ = fingerprint::of_exception(&e);
    }
    let _ = fingerprint::template(&group.text);
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let max_lines = usize::from(data[0] % 32) + 1;
    let max_bytes = usize::from(u16::from_le_bytes([data[1], data[2]]) % 2048) + 1;
    let mut languages = LanguageSet::empty();
    for (i, l) in Language::ALL.iter().enumerate() {
        if data[3].rotate_left(i as u32) & 1 == 1 || data[3] == 0 {
            languages.insert(*l);
        }
    }
    let ctx = GroupContext {
        max_lines,
        max_bytes,
        languages,
        header: HeaderParser::default(),
    };
    let text = String::from_utf8_lossy(&data[4..]);
    let mut g = TraceGrouper::new();
    let mut input: Vec<String> = Vec::new();
    let mut next = 0;
    for line in text.split('\n') {
        if line == "\u{0}" {
            // A NUL line stands for an idle timeout.
            g.flush();
        } else {
            g.push(line, input.len(), &ctx);
            input.push(line.to_string());
        }
        while let Some(done) = g.pop_completed() {
            check(&done, &input, &mut next, &ctx);
        }
        assert!(g.held_bytes() <= ctx.max_bytes);
    }
    g.flush();
    while let Some(done) = g.pop_completed() {
        check(&done, &input, &mut next, &ctx);
    }
    assert_eq!(next, input.len(), "lines lost");
    assert!(g.is_empty());
});
