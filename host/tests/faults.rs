//! Records the filter cannot process normally, through the real `.wasm`: each becomes a
//! fault event (never a trap), and the filter keeps working afterwards. Plus a bounded,
//! seeded random-input run: no trap, bounded memory.

mod common;

use cali_host::record::log_record_json;
use cali_host::Outcome;
use common::{content_lines, fault_kind, parse, Driver, SchemaCheck};
use serde_json::Value;

const TAG: &str = "kube.var.log.containers.shop_prod_app.log";
/// Fluent Bit's own default `Wasm_Heap_Size`.
const FLUENT_BIT_DEFAULT_HEAP: u32 = 8 * 1024;

/// After a fault, ordinary lines still group and leave.
fn still_works(driver: &mut Driver) {
    assert_eq!(
        driver.log(TAG, "stdout", "2026-11-20 10:00:00 INFO after the fault"),
        None
    );
    let next = driver
        .log(TAG, "stdout", "2026-11-20 10:00:01 INFO and one more")
        .expect("the next line releases the previous event");
    assert_eq!(
        content_lines(&next),
        ["2026-11-20 10:00:00 INFO after the fault"]
    );
    assert!(next.get("fault").is_none_or(Value::is_null), "{next}");
    let rest = driver.drain();
    assert_eq!(rest.len(), 1);
}

fn assert_fault_event(event: &Value, kind: &str) {
    assert_eq!(fault_kind(event), Some(kind), "{event}");
    assert_eq!(event["level"], "ERROR");
    assert_eq!(event["alertable"], false);
    let lines = event["line_count"].as_u64().unwrap_or(99);
    assert!(lines <= 1, "fault events have line_count 0 or 1: {event}");
}

fn assert_schema(event: &Value) {
    let violations = SchemaCheck::load().violations(event);
    assert!(violations.is_empty(), "{violations:?} in {event}");
}

fn lost_record_event() -> (Driver, Value, usize) {
    let mut driver = Driver::with_heap(FLUENT_BIT_DEFAULT_HEAP);
    let big = "x".repeat(20_000);
    let json = log_record_json(big.as_bytes(), "stdout", &[]);
    let event = parse(driver.raw(TAG, &json)).expect("a fault event in place of the record");
    (driver, event, json.len())
}

#[test]
fn a_record_larger_than_the_app_heap_arrives_as_pointer_0_and_becomes_a_fault() {
    let mut driver = Driver::with_heap(FLUENT_BIT_DEFAULT_HEAP);
    let big = "x".repeat(20_000);
    let json = log_record_json(big.as_bytes(), "stdout", &[]);
    let event = parse(driver.raw(TAG, &json)).expect("a fault event in place of the record");
    assert_fault_event(&event, "record_lost_in_host");
    let detail = event["fault"]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&json.len().to_string()),
        "detail names the size: {detail}"
    );
    assert!(
        detail.contains("Wasm_Heap_Size"),
        "detail names the setting: {detail}"
    );
    assert_eq!(driver.filter.stats().lost_in_host, 1);
    assert!(
        driver
            .filter
            .host_log()
            .iter()
            .any(|l| l.contains("allocate")),
        "the host warns like WAMR: {:?}",
        driver.filter.host_log()
    );
    assert!(
        driver
            .filter
            .module_stderr()
            .lines()
            .any(|l| l.starts_with("cali: ")),
        "the module says so on stderr: {:?}",
        driver.filter.module_stderr()
    );
    assert_eq!(
        driver.filter.heap().free_bytes(),
        driver.filter.heap().size()
    );
    still_works(&mut driver);
}

/// The consumer validates events against the schema (line_count >= 1): a fault event that
/// fails it would be dead-lettered instead of reported.
#[test]
fn a_lost_record_fault_event_satisfies_the_event_schema() {
    let (_, event, _) = lost_record_event();
    assert_schema(&event);
}

#[test]
fn text_that_is_not_json_is_an_invalid_json_fault() {
    let mut driver = Driver::new();
    let text = r#"{"log": "unterminated"#;
    let event = parse(driver.raw(TAG, text.as_bytes())).expect("a fault event");
    assert_fault_event(&event, "invalid_json");
    assert_schema(&event);
    assert_eq!(event["log_content"], text);
    assert!(driver
        .filter
        .module_stderr()
        .lines()
        .any(|l| l.starts_with("cali: ")));
    still_works(&mut driver);
}

#[test]
fn a_json_array_is_a_not_an_object_fault() {
    let mut driver = Driver::new();
    let event = parse(driver.raw(TAG, b"[1,2,3]")).expect("a fault event");
    assert_fault_event(&event, "not_an_object");
    assert_schema(&event);
    still_works(&mut driver);
}

#[test]
fn invalid_utf8_is_converted_lossily_and_marked() {
    // Fluent Bit 5.1.1 makes such bytes valid UTF-8 before the call (U+FFFD with the shipped
    // `json.escape_unicode off`, private use characters with its default; see
    // tests/fluent_bit_strings.rs); the module does not rely on it: another build of Fluent
    // Bit, or a record from another input, may pass them raw.
    let mut driver = Driver::new();
    let json = b"{\"log\":\"2026-11-20 10:00:00 WARN bad \xff\xfe bytes\",\"stream\":\"stdout\"}";
    let mut events: Vec<Value> = parse(driver.raw(TAG, json)).into_iter().collect();
    events.extend(driver.log(TAG, "stdout", "2026-11-20 10:00:01 INFO next"));
    events.extend(driver.drain());
    let fault = events
        .iter()
        .find(|e| fault_kind(e) == Some("invalid_utf8"))
        .unwrap_or_else(|| panic!("no invalid_utf8 event: {events:#?}"));
    assert_fault_event(fault, "invalid_utf8");
    assert_schema(fault);
    let content = fault["log_content"].as_str().unwrap_or_default();
    assert!(
        content.contains("bad \u{fffd}"),
        "lossy conversion: {content:?}"
    );
    let next = events
        .iter()
        .find(|e| e["log_content"] == "2026-11-20 10:00:01 INFO next");
    assert!(
        next.is_some(),
        "the next line is processed normally: {events:#?}"
    );
}

#[test]
fn broken_bytes_as_fluent_bit_passes_them_make_an_ordinary_event() {
    let mut driver = Driver::new();
    let json = log_record_json(
        b"2026-11-20 10:00:00 WARN bad \xff\xfe bytes",
        "stdout",
        &[],
    );
    let mut events: Vec<Value> = parse(driver.raw(TAG, &json)).into_iter().collect();
    events.extend(driver.drain());
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert!(event.get("fault").is_none_or(Value::is_null), "{event:#}");
    assert_eq!(event["level"], "WARN");
    // Each broken byte as the U+FFFD Fluent Bit put in its place.
    assert_eq!(
        event["log_content"],
        "2026-11-20 10:00:00 WARN bad \u{fffd}\u{fffd} bytes"
    );
    assert_schema(event);
}

#[test]
fn a_10_mb_line_is_cut_to_max_bytes_and_the_next_line_is_normal() {
    const MAX_BYTES: usize = 262_144;
    let mut driver = Driver::with_heap(16 * 1024 * 1024);
    let line = format!("2026-11-20 10:00:00 ERROR {}", "y".repeat(10 * 1024 * 1024));
    let json = log_record_json(line.as_bytes(), "stdout", &[]);
    let mut events: Vec<Value> = parse(driver.raw(TAG, &json)).into_iter().collect();
    events.extend(driver.log(TAG, "stdout", "2026-11-20 10:00:01 INFO next line"));
    events.extend(driver.drain());
    assert_eq!(
        driver.filter.stats().lost_in_host,
        0,
        "16 MiB heap holds the record"
    );
    let cut = events
        .iter()
        .find(|e| fault_kind(e) == Some("line_too_long"))
        .unwrap_or_else(|| panic!("no line_too_long event among {} events", events.len()));
    assert_eq!(cut["truncated"], true);
    let content = cut["log_content"].as_str().unwrap_or_default();
    assert!(
        content.len() <= MAX_BYTES,
        "cut to max_bytes: {}",
        content.len()
    );
    assert!(
        content.len() > MAX_BYTES / 2,
        "cut, not emptied: {}",
        content.len()
    );
    assert!(line.starts_with(content), "the cut keeps the line's start");
    assert_schema(cut);
    let next = events
        .iter()
        .find(|e| e["log_content"] == "2026-11-20 10:00:01 INFO next line")
        .unwrap_or_else(|| panic!("the next line is its own event"));
    assert!(next.get("fault").is_none_or(Value::is_null));
    assert_eq!(next["truncated"], false);
}

/// A repeatable random run.
struct Rng(cali_plugin::hash::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
}

fn random_record(rng: &mut Rng) -> Vec<u8> {
    const PIECES: [&str; 12] = [
        "2026-11-20 10:00:00 ERROR failed",
        "java.lang.RuntimeException: boom",
        "\tat a.b.C.d(C.java:1)",
        "Caused by: java.io.IOException",
        "Traceback (most recent call last):",
        "  File \"x.py\", line 1, in <module>",
        "panic: runtime error: index out of range",
        "goroutine 1 [running]:",
        "",
        "    ^^^^^",
        "{\"level\":\"error\",\"msg\":\"x\",\"stack\":\"Error: y\\n    at z (f.js:1:2)\"}",
        "I1120 10:00:00.000000 1 main.go:1] ok",
    ];
    match rng.below(10) {
        // Random bytes, JSON or not.
        0 => (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
        // A log record whose line is random bytes.
        1 => {
            let bytes: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            log_record_json(&bytes, "stdout", &[])
        }
        // Other JSON shapes.
        2 => {
            let shapes = [
                "[]",
                "null",
                "{}",
                "{\"log\":5}",
                "{\"log\":null}",
                "\"s\"",
                "{\"a\":{\"b\":[1,{}]}}",
                "{\"log\":\"x\",\"stream\":7}",
                "{\"cali_tick\":1,\"max_lines\":-1}",
                "{\"cali_tick\":1,\"idle_timeout_ms\":50,\"max_lines\":4}",
            ];
            shapes[rng.below(shapes.len())].as_bytes().to_vec()
        }
        // Long-ish lines.
        3 => log_record_json("z".repeat(rng.below(40_000)).as_bytes(), "stderr", &[]),
        // Trace-like lines on a few streams.
        _ => {
            let piece = PIECES[rng.below(PIECES.len())];
            let stream = ["stdout", "stderr", "other"][rng.below(3)];
            log_record_json(piece.as_bytes(), stream, &[])
        }
    }
}

#[test]
fn random_input_never_traps_and_memory_stays_bounded() {
    const RECORDS: usize = 6_000;
    let mut rng = Rng(cali_plugin::hash::SplitMix64(20_261_120));
    let mut driver = Driver::with_heap(1024 * 1024);
    let tags: Vec<String> = (0..40).map(|i| format!("kube.random.{i}")).collect();
    let mut memory_at_half = 0;
    for i in 0..RECORDS {
        driver.advance(rng.below(50) as u64);
        let outcome = if rng.below(20) == 0 {
            driver.raw(cali_host::TICK_TAG, b"{\"cali_tick\":1}")
        } else {
            let record = random_record(&mut rng);
            let tag = &tags[rng.below(tags.len())];
            driver.raw(tag, &record)
        };
        if let Outcome::Rejected(line) = outcome {
            panic!("record {i}: the module answered something that is not a JSON object: {line}");
        }
        assert_eq!(
            driver.filter.heap().free_bytes(),
            driver.filter.heap().size()
        );
        if i == RECORDS / 2 {
            memory_at_half = driver.filter.memory_bytes();
        }
    }
    driver.drain();
    let end = driver.filter.memory_bytes();
    assert!(end < 64 * 1024 * 1024, "linear memory {end} bytes");
    assert!(
        end <= memory_at_half + 8 * 1024 * 1024,
        "memory keeps growing: {memory_at_half} → {end} bytes"
    );
}
