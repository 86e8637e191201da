//! Every case of the shared multi-line corpus, framed per its `format`, through the real
//! `.wasm` in the host, drained by ticks: each event's lines are mapped back to the case's
//! line numbers and compared with `event_line_ranges`; every event is checked against the schema.

mod common;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;

use cali_host::framing::Framed;
use cali_host::record::framed_record_json;
use cali_host::{Framer, Framing};
use common::{content_lines, corpus_dir, Driver, SchemaCheck};
use serde_json::Value;

/// One record handed to the filter: its payload lines and the case lines it came from.
struct Sent {
    lines_text: Vec<String>,
    numbers: Vec<usize>,
}

/// `"1-3"`, `"4"`, `"1,4-7"` → the set of line numbers.
fn parse_ranges(text: &str) -> BTreeSet<usize> {
    let mut set = BTreeSet::new();
    for part in text.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
                set.extend(a..=b);
            }
            None => {
                set.insert(part.parse().unwrap());
            }
        }
    }
    set
}

fn format_set(set: &BTreeSet<usize>) -> String {
    let mut parts = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// docs/grouping.md ("The java_08 policy"): CALI takes `java_08`'s main grouping, so its
/// `alternative_grouping` is not accepted. Set to true only if that document changes policy.
const ACCEPT_JAVA_08_ALTERNATIVE: bool = false;

fn sorted_groups(groups: Vec<BTreeSet<usize>>) -> Vec<BTreeSet<usize>> {
    let mut groups = groups;
    groups.sort();
    groups
}

/// Hands one framed record to the filter and remembers which case lines it carries.
fn send(
    driver: &mut Driver,
    queues: &mut HashMap<String, VecDeque<Sent>>,
    events: &mut Vec<Value>,
    tag: &str,
    framed: Framed,
) {
    let mut payload = String::from_utf8_lossy(&framed.log).into_owned();
    // The filter takes one trailing newline off the line.
    if payload.ends_with('\n') {
        payload.pop();
    }
    queues
        // A line the framing does not recognise has no `stream`: its events say "".
        .entry(framed.stream.clone().unwrap_or_default())
        .or_default()
        .push_back(Sent {
            lines_text: payload.split('\n').map(str::to_string).collect(),
            numbers: framed.lines.clone(),
        });
    let json = framed_record_json(&framed, &[]);
    if let Some(event) = common::parse(driver.raw(tag, &json)) {
        events.push(event);
    }
}

/// Runs one case; `Err` describes how it went wrong.
fn run_case(
    name: &str,
    text: &[u8],
    expected: &Value,
    schema: &SchemaCheck,
    accept_alternative: bool,
) -> Result<(), String> {
    let format = expected["format"].as_str().unwrap_or("raw");
    let framing: Framing = format.parse().map_err(|e: String| e)?;
    let tag = format!("kube.var.log.containers.{name}.log");
    let mut framer = Framer::new(framing);
    let mut driver = Driver::new();
    let mut queues: HashMap<String, VecDeque<Sent>> = HashMap::new();
    let mut events = Vec::new();

    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for line in lines {
        // 1 ms of virtual time per line: far below the idle timeout, as in a burst.
        driver.advance(1);
        for framed in framer.push_line(line) {
            send(&mut driver, &mut queues, &mut events, &tag, framed);
        }
    }
    for framed in framer.finish() {
        send(&mut driver, &mut queues, &mut events, &tag, framed);
    }
    events.extend(driver.drain());

    let mut problems = Vec::new();
    let mut actual = Vec::new();
    for event in &events {
        for violation in schema.violations(event) {
            problems.push(format!("schema: {violation}"));
        }
        if event["tag"].as_str() != Some(tag.as_str()) {
            problems.push(format!(
                "event tag {} is not the stream's {tag}",
                event["tag"]
            ));
        }
        let stream = event["stream"].as_str().unwrap_or_default().to_string();
        let Some(queue) = queues.get_mut(&stream) else {
            problems.push(format!("event of unknown stream {stream:?}"));
            continue;
        };
        let mut want = content_lines(event);
        let mut numbers = BTreeSet::new();
        let mut got: Vec<String> = Vec::new();
        while got.len() < want.len() {
            let Some(sent) = queue.pop_front() else {
                break;
            };
            got.extend(sent.lines_text);
            numbers.extend(sent.numbers);
        }
        let trim = |v: &mut Vec<String>| {
            for l in v.iter_mut() {
                while l.ends_with('\r') {
                    l.pop();
                }
            }
        };
        trim(&mut want);
        trim(&mut got);
        if got != want {
            problems.push(format!(
                "event content does not follow the input of stream {stream:?}: {want:?} vs {got:?}"
            ));
            break;
        }
        actual.push(numbers);
    }
    for (stream, queue) in &queues {
        if let Some(first) = queue.front() {
            problems.push(format!(
                "{} record(s) of stream {stream} never left the filter (from line {:?})",
                queue.len(),
                first.numbers
            ));
        }
    }

    let expected_groups: Vec<BTreeSet<usize>> = expected["event_line_ranges"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(parse_ranges)
                .collect()
        })
        .unwrap_or_default();
    let actual = sorted_groups(actual);
    let mut matches = actual == sorted_groups(expected_groups.clone());
    if !matches && accept_alternative {
        if let Some(alt) = expected.get("alternative_grouping") {
            let line_count = expected["line_count"].as_u64().unwrap_or(0) as usize;
            let alt_groups: Vec<BTreeSet<usize>> = match alt["event_line_ranges"].as_array() {
                Some(ranges) => ranges
                    .iter()
                    .filter_map(Value::as_str)
                    .map(parse_ranges)
                    .collect(),
                // "every line its own event" is the only grouping with as many events as lines.
                None if alt["expected_events"].as_u64() == Some(line_count as u64) => {
                    (1..=line_count).map(|n| BTreeSet::from([n])).collect()
                }
                None => Vec::new(),
            };
            matches = actual == sorted_groups(alt_groups);
        }
    }
    if !matches {
        let show = |g: &[BTreeSet<usize>]| g.iter().map(format_set).collect::<Vec<_>>().join(" | ");
        problems.push(format!(
            "grouped as [{}], expected [{}]",
            show(&actual),
            show(&sorted_groups(expected_groups))
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[test]
fn corpus_groups_as_expected_through_the_wasm() {
    let dir = corpus_dir().join("multiline");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} ({e}); set CALI_CORPUS_DIR", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".expected.json"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no cases under {}", dir.display());
    let schema = SchemaCheck::load();

    let mut failures = Vec::new();
    for name in &names {
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
        )
        .unwrap_or_else(|e| panic!("{name}.expected.json: {e}"));
        let text = std::fs::read(Path::new(&dir).join(format!("{name}.txt"))).unwrap();
        let alternative_ok = ACCEPT_JAVA_08_ALTERNATIVE && name == "java_08";
        if let Err(problem) = run_case(name, &text, &expected, &schema, alternative_ok) {
            failures.push((name.clone(), problem));
        }
    }
    println!(
        "corpus through cali.wasm: {}/{} cases group as expected",
        names.len() - failures.len(),
        names.len()
    );
    for (name, problem) in &failures {
        println!("  {name}: {problem}");
    }
    assert!(
        failures.is_empty(),
        "failing cases: {}",
        failures
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[test]
fn line_ranges_round_trip() {
    assert_eq!(format_set(&parse_ranges("1,4-7")), "1,4-7");
    assert_eq!(parse_ranges("3-4").len(), 2);
}
