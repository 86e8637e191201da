//! The header parser against the labelled corpus in shared/corpus/header_samples.tsv:
//! `starts_event` must agree with every `startGroup`/`aggregate` label, `parse` must find
//! a timestamp on every `startGroup` line that has a real one, and the header lines taken
//! from the trace cases must yield their fields.

use std::path::PathBuf;

use cali_plugin::header::{Header, HeaderParser, Level};
use cali_plugin::timestamp::Timestamp;

mod common;
use common::corpus_dir;

fn samples() -> Vec<(String, String)> {
    let path = corpus_dir().join("header_samples.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (label, line) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("no tab in {l:?}"));
            (label.to_string(), line.to_string())
        })
        .collect()
}

fn reference() -> Timestamp {
    Timestamp::from_civil(2026, 11, 20, 13, 0, 0, 0, 0).expect("valid date")
}

fn rfc(h: &Header<'_>) -> Option<String> {
    h.timestamp.map(|t| t.to_rfc3339())
}

#[test]
fn starts_event_agrees_with_every_label() {
    let parser = HeaderParser::default();
    let labelled: Vec<_> = samples()
        .into_iter()
        .filter(|(label, _)| label == "startGroup" || label == "aggregate")
        .collect();
    let mut disagree = Vec::new();
    for (label, line) in &labelled {
        let want = label == "startGroup";
        if parser.starts_event(line) != want {
            disagree.push(format!("{label}\t{line:?}"));
        }
    }
    println!(
        "header samples: {}/{} agree",
        labelled.len() - disagree.len(),
        labelled.len()
    );
    assert!(labelled.len() >= 40, "corpus too small: {}", labelled.len());
    assert!(
        disagree.is_empty(),
        "disagreements:\n{}",
        disagree.join("\n")
    );
}

/// `startGroup` lines whose only date-like text is not a valid timestamp (hours and
/// minutes joined by `-`): `starts_event` still fires on the date, `parse` finds no time.
const NO_REAL_TIMESTAMP: [&str; 2] = [
    "2023-03.28T14-33:53-7430Z App started successfully",
    "Datadog Agent 2023-03.28T14-33:53-7430Z App started successfully",
];

#[test]
fn start_lines_yield_timestamps() {
    let parser = HeaderParser::default();
    let mut without = Vec::new();
    for (label, line) in samples() {
        if label != "startGroup" {
            continue;
        }
        let h = parser.parse(&line, reference());
        match h.timestamp {
            Some(_) => assert!(
                !NO_REAL_TIMESTAMP.contains(&line.as_str()),
                "unexpected timestamp in {line:?}"
            ),
            None => without.push(line),
        }
    }
    assert_eq!(without, NO_REAL_TIMESTAMP);
}

#[test]
fn start_line_timestamps_are_the_written_ones() {
    let parser = HeaderParser::default();
    let want = [
        ("2021-03-28 13:45:30 App started successfully", "2021-03-28T13:45:30Z"),
        ("13:45:30 2021-03-28", "2021-03-28T13:45:30Z"),
        ("foo bar 13:45:30 2021-03-28", "2021-03-28T13:45:30Z"),
        ("2023-03-28T14:33:53.743350Z App started successfully", "2023-03-28T14:33:53.743350Z"),
        ("9/28/2022 2:23:15 PM", "2022-09-28T14:23:15Z"),
        ("2024-05-15 17:04:12,369 - root - DEBUG -", "2024-05-15T17:04:12.369Z"),
        (
            "2024-05-15 14:03:13 EDT | CORE | INFO | (pkg/logs/tailers/file/tailer.go:353 in forwardMessages) | ",
            "2024-05-15T18:03:13Z",
        ),
        ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties", "2005-12-04T04:47:44Z"),
        ("127.0.0.1 - - [16/May/2024:19:49:17 +0000]", "2024-05-16T19:49:17Z"),
        ("foo bar log 2024-07-01T14:59:55.711'+0000' my log line", "2024-07-01T14:59:55.711Z"),
        ("acb def 10:10:10 foo 2024-05-15 hijk lmop", "2024-05-15T10:10:10Z"),
        // The header's own timestamp, not the one glued to the file name before it.
        (
            "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi",
            "2017-05-16T00:00:00.008Z",
        ),
        // syslog has no year: the reference's year (2026).
        (
            "Jul  1 09:00:55 calvisitor-10-105-160-95 kernel[0]: IOThunderboltSwitch<0>(0x0)::listenerCallback -",
            "2026-07-01T09:00:55Z",
        ),
    ];
    let lines: Vec<String> = samples().into_iter().map(|(_, l)| l).collect();
    for (line, ts) in want {
        assert!(
            lines.iter().any(|l| l == line),
            "not in the corpus: {line:?}"
        );
        assert_eq!(
            rfc(&parser.parse(line, reference())).as_deref(),
            Some(ts),
            "{line}"
        );
    }
}

#[test]
fn trace_case_headers_yield_their_fields() {
    let parser = HeaderParser::default();
    let cases: Vec<(String, String)> = samples()
        .into_iter()
        .filter(|(label, _)| label.starts_with("case:"))
        .collect();
    assert_eq!(cases.len(), 8);
    for (label, line) in &cases {
        let h = parser.parse(line, reference());
        let ts = rfc(&h);
        let logger = h.logger.as_deref();
        match label.as_str() {
            "case:java_01" => {
                assert_eq!(ts.as_deref(), Some("2015-07-09T15:23:29Z"));
                assert_eq!(
                    logger,
                    Some("com.google.devtools.search.cloud.feeder.MakeLog")
                );
                assert_eq!(h.message, "RuntimeException: Run from this message!");
            }
            "case:java_11" => {
                assert_eq!(ts.as_deref(), Some("2019-08-13T22:00:12Z"));
                assert_eq!(h.level, Some(Level::Error));
                assert_eq!(h.thread.as_deref(), Some("main"));
                assert_eq!(logger, Some("c.i.b.w.w.WebAdapterAgent"));
                assert_eq!(h.message, "cycle failed:");
            }
            "case:java_12" => {
                assert_eq!(ts.as_deref(), Some("2024-08-13T17:15:17Z"));
                assert_eq!(h.level, Some(Level::Error));
                assert_eq!(h.message, "Request handler failed");
            }
            "case:java_13" => {
                assert_eq!(ts.as_deref(), Some("2019-02-06T09:32:51.839Z"));
                assert_eq!(h.level, Some(Level::Info));
                assert_eq!(
                    h.thread.as_deref(),
                    Some("qtp396180261-19 - /resteasy/exception")
                );
                assert_eq!(logger, Some("com.intuit.application.SyncControllerImpl"));
                assert_eq!(
                    h.message,
                    "Stack trace of current thread using dumpStack() method"
                );
            }
            "case:python_04" => {
                assert_eq!(ts.as_deref(), Some("2023-07-09T00:00:00Z"));
                assert_eq!(h.level, Some(Level::Error));
                assert!(h.message.starts_with("some_app custom string prefix"));
            }
            "case:go_04" => {
                assert_eq!(ts.as_deref(), Some("2019-01-15T07:48:05Z"));
                assert_eq!(h.level, None);
                assert_eq!(h.message, "http: panic serving [::1]:54143: test panic");
            }
            "case:csharp_04" => {
                assert_eq!(ts, None);
                assert_eq!(h.level, Some(Level::Info));
                assert_eq!(logger, Some("Microsoft.AspNetCore.Hosting.Diagnostics"));
                assert_eq!(h.span_id.as_deref(), Some("5018968b4ab3f342"));
                assert_eq!(
                    h.trace_id.as_deref(),
                    Some("94b3b5b666fba84ca420f0a336559e7b")
                );
                assert_eq!(h.request_id.as_deref(), Some("0HMD3I6TBKKDD:00000002"));
            }
            "case:php_03" => {
                assert_eq!(ts, None);
                // php-fpm says NOTICE, the PHP message inside says Fatal error.
                assert_eq!(h.level, Some(Level::Fatal));
                assert!(h.message.starts_with("PHP message: PHP Fatal error:"));
            }
            other => panic!("unknown case {other}"),
        }
    }
}

/// Every prefix of every sample (cut at each char boundary) parses without panicking and
/// keeps a message that is part of the line.
#[test]
fn truncated_samples_never_panic() {
    let parser =
        HeaderParser::new(&["%d/%m/%Y %H:%M:%S", "%b %e %I:%M %p"]).expect("valid layouts");
    for (_, line) in samples() {
        for (cut, _) in line.char_indices().chain([(line.len(), ' ')]) {
            let part = &line[..cut];
            let h = parser.parse(part, reference());
            let _ = parser.starts_event(part);
            assert!(
                part.contains(h.message.as_ref()),
                "{part:?} -> {:?}",
                h.message
            );
        }
    }
}

/// Over the multi-line corpus (raw cases), `starts_event` never fires on a line that
/// continues an event: a false start there would split a stack trace.
#[test]
fn starts_event_never_fires_inside_corpus_events() {
    let parser = HeaderParser::default();
    let dir = corpus_dir().join("multiline");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    cases.sort();
    let (mut checked, mut false_starts) = (0, Vec::new());
    for path in cases {
        let expected = path.with_extension("expected.json");
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&expected).expect("expected file"))
                .expect("expected JSON");
        if expected["format"] != "raw" {
            continue;
        }
        let firsts: Vec<usize> = expected["event_line_ranges"]
            .as_array()
            .expect("event_line_ranges")
            .iter()
            .filter_map(|r| r.as_str()?.split([',', '-']).next()?.parse().ok())
            .collect();
        let text = std::fs::read_to_string(&path).expect("case file");
        for (i, line) in text.lines().enumerate() {
            if firsts.contains(&(i + 1)) {
                continue;
            }
            checked += 1;
            if parser.starts_event(line) {
                false_starts.push(format!("{}:{}: {line}", path.display(), i + 1));
            }
        }
    }
    println!("continuation lines checked: {checked}");
    assert!(checked > 300, "too few continuation lines: {checked}");
    assert!(
        false_starts.is_empty(),
        "false starts:\n{}",
        false_starts.join("\n")
    );
}

/// The header memos change nothing: every sample line, read after all the others
/// (and after itself), gets the header it gets without one.
#[test]
fn sample_headers_are_the_same_through_the_header_memos() {
    use cali_plugin::header::HeaderMemo;
    let parser = HeaderParser::default();
    let mut memo = HeaderMemo::default();
    let lines: Vec<String> = samples().into_iter().map(|(_, l)| l).collect();
    for round in 0..2 {
        for line in &lines {
            assert_eq!(
                parser.parse_with(line, reference(), Some(&mut memo)),
                parser.parse(line, reference()),
                "round {round}: {line}"
            );
        }
    }
}
