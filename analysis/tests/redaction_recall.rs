//! Redaction recall on the labelled set `testdata/redaction.jsonl` (planted secrets around
//! real-looking frames): at least 99.5% of planted secrets are replaced, no frame or
//! exception type is altered, and a repeated secret gets one placeholder.
//! Prints the numbers: `cargo test -p cali-analysis --test redaction_recall -- --nocapture`.

use std::collections::BTreeMap;

use cali_analysis::redact::Redactor;
use serde::Deserialize;

#[derive(Deserialize)]
struct Labelled {
    id: String,
    text: String,
    secrets: Vec<Planted>,
    keep: Vec<String>,
}

#[derive(Deserialize)]
struct Planted {
    kind: String,
    value: String,
    /// Character offsets into `text`.
    start: usize,
    end: usize,
}

fn byte_offset(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

#[test]
fn planted_secrets_are_found_and_frames_survive() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/redaction.jsonl");
    let data =
        std::fs::read_to_string(path).expect("testdata/redaction.jsonl is in the repository");
    let redactor = Redactor::new(&[]).expect("built-in rules compile");

    let mut planted = 0usize;
    let mut found = 0usize;
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut missed = Vec::new();
    let mut damaged = Vec::new();
    let mut inconsistent = Vec::new();
    let mut extra_findings = 0usize;
    let mut keep_lines = 0usize;

    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let case: Labelled = serde_json::from_str(line).expect("valid labelled line");
        let findings = redactor.find(&case.text);
        // One incident: learn every secret first, so bare repeats are replaced too.
        let mut scope = redactor.scope();
        scope.learn(&case.text);
        let (redacted, replaced) = scope.redact_with_ranges(&case.text);
        let spans: Vec<(usize, usize)> = case
            .secrets
            .iter()
            .map(|s| {
                (
                    byte_offset(&case.text, s.start),
                    byte_offset(&case.text, s.end),
                )
            })
            .collect();
        for (secret, &(start, end)) in case.secrets.iter().zip(&spans) {
            assert_eq!(
                &case.text[start..end],
                secret.value,
                "{}: label offsets",
                case.id
            );
            planted += 1;
            let entry = per_kind.entry(secret.kind.clone()).or_default();
            entry.0 += 1;
            if replaced.iter().any(|r| r.start <= start && r.end >= end) {
                found += 1;
                entry.1 += 1;
            } else {
                missed.push(format!("{} {}: {}", case.id, secret.kind, secret.value));
            }
        }
        extra_findings += findings
            .iter()
            .filter(|f| !spans.iter().any(|&(s, e)| f.start < e && f.end > s))
            .count();

        for keep in &case.keep {
            keep_lines += 1;
            if !redacted.lines().any(|l| l == keep) {
                damaged.push(format!("{}: {keep}", case.id));
            }
        }
        for secret in &case.secrets {
            if redacted.contains(&secret.value) {
                // Counted as missed above unless it also occurs unlabelled; either way a leak.
                missed.push(format!("{} leaked {}", case.id, secret.value));
            }
        }
        // A value planted twice maps to one placeholder, and nowhere else.
        let mut scope = redactor.scope();
        let first = scope.redact(&case.text);
        assert_eq!(
            first,
            scope.redact(&case.text),
            "{}: placeholders are stable",
            case.id
        );
        for secret in &case.secrets {
            let occurrences = case
                .secrets
                .iter()
                .filter(|s| s.value == secret.value)
                .count();
            if occurrences < 2 {
                continue;
            }
            let Some(line) = first.lines().find(|l| l.starts_with("retry with <")) else {
                inconsistent.push(format!(
                    "{}: repeat of {} not replaced",
                    case.id, secret.value
                ));
                continue;
            };
            let placeholder = &line["retry with ".len()..line.len() - " failed".len()];
            if first.matches(placeholder).count() < 2 {
                inconsistent.push(format!(
                    "{}: {} has two placeholders",
                    case.id, secret.value
                ));
            }
        }
    }

    let recall = found as f64 / planted as f64;
    println!(
        "redaction recall: {found}/{planted} = {:.2}%",
        recall * 100.0
    );
    for (kind, (total, hit)) in &per_kind {
        println!("  {kind:<15} {hit}/{total}");
    }
    println!(
        "frame/exception lines checked: {keep_lines}, altered: {}",
        damaged.len()
    );
    println!("findings outside labelled spans: {extra_findings}");
    for m in missed.iter().take(20) {
        println!("  missed: {m}");
    }

    assert!(planted >= 300, "the labelled set has a few hundred secrets");
    assert!(
        recall >= 0.995,
        "recall {recall:.4} below 0.995; missed: {missed:?}"
    );
    assert!(
        damaged.is_empty(),
        "frames or exception types altered: {damaged:?}"
    );
    assert!(
        inconsistent.is_empty(),
        "inconsistent placeholders: {inconsistent:?}"
    );
}
