//! The filter contract, checked through the real `.wasm` in the host: one record out per
//! record in at most, empty answer = drop, ticks and idle timeouts on virtual time, streams,
//! pass-through, settings from ticks, deterministic ids and fingerprints.

mod common;

use common::{content_lines, Driver};
use serde_json::{json, Value};

const TAG_A: &str = "kube.var.log.containers.shop-a_prod_app-1.log";
const TAG_B: &str = "kube.var.log.containers.shop-b_prod_app-2.log";

const JAVA_TRACE: [&str; 4] = [
    "2026-11-20 10:00:00.123 ERROR 1 --- [main] c.e.shop.Checkout : charge failed",
    "java.lang.IllegalStateException: card declined",
    "\tat com.example.shop.Checkout.charge(Checkout.java:42)",
    "\tat com.example.shop.Api.handle(Api.java:17)",
];

const PYTHON_TRACE: [&str; 4] = [
    "Traceback (most recent call last):",
    "  File \"/app/worker.py\", line 12, in run",
    "    total = 1 / count",
    "ZeroDivisionError: division by zero",
];

fn java_trace_with_frames(frames: usize) -> Vec<String> {
    let mut lines = vec![
        "2026-11-20 10:00:00.123 ERROR 1 --- [main] c.e.shop.Checkout : charge failed".to_string(),
        "java.lang.IllegalStateException: card declined".to_string(),
    ];
    lines.extend(
        (0..frames).map(|i| format!("\tat com.example.shop.Step{i}.run(Step{i}.java:{})", 10 + i)),
    );
    lines
}

/// Sends `lines` on one stream 1 ms apart, then drains; returns every event out.
fn events_of(driver: &mut Driver, tag: &str, stream: &str, lines: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    for line in lines {
        driver.advance(1);
        out.extend(driver.log(tag, stream, line));
    }
    out.extend(driver.drain());
    out
}

#[test]
fn every_line_leaves_exactly_once_and_at_most_one_record_per_call() {
    let mut driver = Driver::new();
    let mut sent_a = Vec::new();
    let mut sent_b = Vec::new();
    let mut out = Vec::new();
    let mut calls = 0;
    for round in 0..3 {
        for (i, line) in JAVA_TRACE.iter().enumerate() {
            driver.advance(1);
            out.extend(driver.log(TAG_A, "stdout", line));
            sent_a.push(line.to_string());
            let plain = format!("2026-11-20 10:00:0{round}.{i:03} INFO worker: tick {round}/{i}");
            out.extend(driver.log(TAG_B, "stdout", &plain));
            sent_b.push(plain);
            calls += 2;
        }
    }
    let released = driver.drain();
    assert!(out.len() <= calls, "more records out than in");
    out.extend(released);
    let lines_of = |tag: &str| -> Vec<String> {
        out.iter()
            .filter(|e| e["tag"] == tag)
            .flat_map(content_lines)
            .collect()
    };
    assert_eq!(
        lines_of(TAG_A),
        sent_a,
        "stream A: every line once, in order"
    );
    assert_eq!(
        lines_of(TAG_B),
        sent_b,
        "stream B: every line once, in order"
    );
    let stats = driver.filter.stats();
    assert_eq!(stats.records_out as usize, out.len());
    assert_eq!(
        stats.records_in,
        stats.records_out + stats.dropped + stats.errors
    );
}

#[test]
fn an_empty_answer_drops_the_record() {
    let mut driver = Driver::new();
    // The first line of a stream is held (its event may go on): nothing comes out.
    assert_eq!(
        driver.log(TAG_A, "stdout", "2026-11-20 10:00:00 INFO started"),
        None
    );
    assert_eq!(driver.filter.stats().dropped, 1);
    assert_eq!(driver.filter.stats().records_out, 0);
    // A tick with nothing idle long enough is dropped too, never passed through.
    assert_eq!(driver.tick(), None);
    assert_eq!(driver.filter.stats().dropped, 2);
}

#[test]
fn a_tick_releases_an_idle_stream_only_after_the_idle_timeout() {
    let mut driver = Driver::new();
    driver
        .settings
        .insert("idle_timeout_ms".into(), json!(1000));
    assert_eq!(driver.tick(), None, "the first tick applies the settings");
    for line in JAVA_TRACE {
        assert_eq!(
            driver.log(TAG_A, "stderr", line),
            None,
            "a trace is held while it grows"
        );
    }
    driver.advance(999);
    assert_eq!(driver.tick(), None, "999 ms idle: not yet");
    driver.advance(1);
    assert_eq!(
        driver.tick(),
        None,
        "exactly 1000 ms idle: not yet (idle must exceed the timeout)"
    );
    driver.advance(1);
    let event = driver
        .tick()
        .expect("1001 ms idle: the next tick releases the event");
    assert_eq!(content_lines(&event), JAVA_TRACE);
    // It travels under the tick's tag, but names the stream it came from.
    assert_eq!(event["tag"], TAG_A);
    assert_eq!(event["stream"], "stderr");
    assert_eq!(driver.tick(), None, "released once");
}

#[test]
fn worst_case_delay_with_k_quiet_streams_is_idle_timeout_plus_k_ticks() {
    const K: usize = 5;
    const TICK_MS: u64 = 200;
    const IDLE_MS: u64 = 1000;
    let mut driver = Driver::new();
    assert_eq!(driver.tick(), None);
    for k in 0..K {
        let tag = format!("kube.var.log.containers.pod-{k}_ns_app.log");
        assert_eq!(
            driver.log(
                &tag,
                "stdout",
                &format!("2026-11-20 10:00:00 ERROR pod {k} failed")
            ),
            None
        );
    }
    // Ticks every TICK_MS from the moment the streams went quiet.
    let mut elapsed = 0;
    let mut release_times = Vec::new();
    while release_times.len() < K && elapsed <= IDLE_MS + (K as u64 + 2) * TICK_MS {
        driver.advance(TICK_MS);
        elapsed += TICK_MS;
        if let Some(event) = driver.tick() {
            assert!(
                elapsed > IDLE_MS,
                "released after {elapsed} ms, before the idle timeout"
            );
            release_times.push((
                elapsed,
                event["tag"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    assert_eq!(
        release_times.len(),
        K,
        "every quiet stream is released: {release_times:?}"
    );
    let last = release_times.last().map(|r| r.0).unwrap_or_default();
    assert!(
        last <= IDLE_MS + K as u64 * TICK_MS,
        "last release after {last} ms > idle_timeout + K ticks"
    );
    // One event per tick: K distinct streams at K distinct ticks.
    let mut tags: Vec<_> = release_times.iter().map(|r| r.1.clone()).collect();
    tags.dedup();
    assert_eq!(tags.len(), K);
    let mut times: Vec<_> = release_times.iter().map(|r| r.0).collect();
    times.dedup();
    assert_eq!(times.len(), K, "each tick releases at most one event");
}

#[test]
fn interleaved_streams_group_separately() {
    let mut driver = Driver::new();
    let mut out = Vec::new();
    for i in 0..4 {
        driver.advance(1);
        out.extend(driver.log(TAG_A, "stdout", JAVA_TRACE[i]));
        out.extend(driver.log(TAG_A, "stderr", PYTHON_TRACE[i]));
        out.extend(driver.log(TAG_B, "stdout", JAVA_TRACE[i]));
    }
    out.extend(driver.drain());
    assert_eq!(out.len(), 3, "one event per stream: {out:#?}");
    let find = |tag: &str, stream: &str| {
        out.iter()
            .find(|e| e["tag"] == tag && e["stream"] == stream)
            .unwrap_or_else(|| panic!("no event for {tag} {stream}"))
    };
    assert_eq!(content_lines(find(TAG_A, "stdout")), JAVA_TRACE);
    assert_eq!(content_lines(find(TAG_A, "stderr")), PYTHON_TRACE);
    assert_eq!(content_lines(find(TAG_B, "stdout")), JAVA_TRACE);
}

#[test]
fn extra_fields_of_the_first_line_pass_through() {
    let first_k8s = json!({
        "pod_name": "checkout-7d9f", "namespace_name": "shop",
        "labels": {"app.kubernetes.io/name": "checkout", "app": "shop-legacy"}
    });
    let mut driver = Driver::new();
    driver.extra = vec![("kubernetes".into(), first_k8s.to_string())];
    driver.log(TAG_A, "stdout", JAVA_TRACE[0]);
    // Later lines of the same event carry another object: the first line's is kept.
    driver.extra = vec![(
        "kubernetes".into(),
        json!({"pod_name": "other"}).to_string(),
    )];
    for line in &JAVA_TRACE[1..] {
        driver.log(TAG_A, "stdout", line);
    }
    let events = driver.drain();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kubernetes"], first_k8s);
    assert_eq!(
        events[0]["service"], "checkout",
        "app.kubernetes.io/name comes first"
    );

    let mut driver = Driver::new();
    driver.extra = vec![(
        "kubernetes".into(),
        json!({"labels": {"app": "billing"}}).to_string(),
    )];
    let events = events_of(
        &mut driver,
        TAG_A,
        "stdout",
        &["2026-11-20 10:00:00 ERROR payment refused"],
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["service"], "billing", "else the app label");
}

#[test]
fn settings_from_a_tick_apply_max_lines_without_losing_lines() {
    let trace = java_trace_with_frames(8);
    assert_eq!(trace.len(), 10);
    let mut driver = Driver::new();
    driver.settings.insert("max_lines".into(), json!(3));
    assert_eq!(driver.tick(), None);
    let refs: Vec<&str> = trace.iter().map(String::as_str).collect();
    let events = events_of(&mut driver, TAG_A, "stdout", &refs);
    assert!(
        events.len() >= 4,
        "10 lines at 3 per event: {} events",
        events.len()
    );
    for event in &events {
        assert!(event["line_count"].as_u64().unwrap_or(0) <= 3, "{event}");
    }
    assert!(
        events.iter().any(|e| e["truncated"] == true),
        "the limit marks events truncated"
    );
    let lines: Vec<String> = events.iter().flat_map(content_lines).collect();
    assert_eq!(lines, trace, "no line lost or reordered");
    assert!(
        !driver.filter.module_stderr().contains("cali: setting"),
        "a valid setting is not reported: {}",
        driver.filter.module_stderr()
    );
}

#[test]
fn a_wrong_setting_is_reported_and_the_default_kept() {
    let trace = java_trace_with_frames(8);
    let refs: Vec<&str> = trace.iter().map(String::as_str).collect();

    let mut driver = Driver::new();
    driver.settings.insert("max_lines".into(), json!("lots"));
    assert_eq!(driver.tick(), None);
    let stderr = driver.filter.module_stderr();
    let line = stderr
        .lines()
        .find(|l| l.starts_with("cali: setting"))
        .unwrap_or_else(|| panic!("no `cali: setting` line on stderr: {stderr:?}"));
    assert!(line.contains("max_lines"), "the line names the key: {line}");
    let events = events_of(&mut driver, TAG_A, "stdout", &refs);
    assert_eq!(events.len(), 1, "default max_lines (500) kept: one event");
    assert_eq!(content_lines(&events[0]), trace);

    let mut driver = Driver::new();
    driver.settings.insert("no_such_setting".into(), json!(1));
    assert_eq!(driver.tick(), None);
    let stderr = driver.filter.module_stderr();
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("cali: setting") && l.contains("no_such_setting")),
        "an unknown key is named: {stderr:?}"
    );
}

#[test]
fn event_ids_are_deterministic_across_fresh_instances() {
    let run = || {
        let mut driver = Driver::new();
        let mut lines: Vec<&str> = JAVA_TRACE.to_vec();
        lines.push("2026-11-20 10:00:01 INFO recovered");
        lines.push("2026-11-20 10:00:02 INFO serving again");
        lines.extend(PYTHON_TRACE);
        events_of(&mut driver, TAG_A, "stdout", &lines)
            .iter()
            .map(|e| e["event_id"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let first = run();
    // The trace, one plain line, the second plain line with the traceback it introduces.
    assert_eq!(first.len(), 3, "{first:?}");
    assert_eq!(first, run());
    let mut unique = first.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        first.len(),
        "distinct events have distinct ids"
    );
}

#[test]
fn the_same_exception_at_other_line_numbers_has_the_same_fingerprint() {
    let trace = |line: u32, ts: &str| {
        vec![
            format!("{ts} ERROR 1 --- [main] c.e.shop.Checkout : charge failed"),
            "java.lang.IllegalStateException: card declined for order 7731".to_string(),
            format!("\tat com.example.shop.Checkout.charge(Checkout.java:{line})"),
            format!("\tat com.example.shop.Api.handle(Api.java:{})", line + 100),
        ]
    };
    let fingerprint_of = |lines: Vec<String>| {
        let mut driver = Driver::new();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let events = events_of(&mut driver, TAG_A, "stdout", &refs);
        assert_eq!(events.len(), 1, "{events:#?}");
        events[0]["fingerprint"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let a = fingerprint_of(trace(42, "2026-11-20 10:00:00.123"));
    let b = fingerprint_of(trace(57, "2026-11-21 18:30:00.999"));
    assert_eq!(a, b);
    let mut other = trace(42, "2026-11-20 10:00:00.123");
    other[1] = "java.lang.NullPointerException: card is null".to_string();
    assert_ne!(
        a,
        fingerprint_of(other),
        "another exception type, another fingerprint"
    );
}

/// The counts of the module's last `cali: stats` line on stderr.
fn last_stats(driver: &Driver) -> std::collections::BTreeMap<String, u64> {
    let stderr = driver.filter.module_stderr();
    stderr
        .lines()
        .rev()
        .find_map(cali_plugin::filter::parse_stats_line)
        .unwrap_or_else(|| panic!("no `cali: stats` line on stderr: {stderr:?}"))
}

#[test]
fn the_stats_line_comes_once_per_interval_and_its_counts_add_up() {
    let mut driver = Driver::new();
    driver
        .settings
        .insert("stats_interval_ms".into(), json!(1000));
    assert_eq!(driver.tick(), None);
    let trace = java_trace_with_frames(8);
    let mut returned = 0;
    for line in &trace {
        driver.advance(1);
        returned += usize::from(driver.log(TAG_A, "stdout", line).is_some());
    }
    for i in 0..5 {
        driver.advance(1);
        returned += usize::from(driver.log(TAG_B, "stderr", &format!("line {i}")).is_some());
    }
    returned += usize::from(parse_raw_is_event(driver.raw(TAG_B, b"not json")));
    assert!(
        !driver.filter.module_stderr().contains("cali: stats"),
        "not before the interval"
    );
    driver.advance(1000);
    // The line is written as the tick arrives, before the tick releases anything.
    driver.tick();
    let s = last_stats(&driver);
    assert_eq!(
        s["records"],
        s["lines"] + s["ticks"] + s["passed_through"] + s["record_faults"]
    );
    assert_eq!(s["lines"], s["event_lines"] + s["held_lines"]);
    assert_eq!(s["lines"], (trace.len() + 5) as u64);
    assert_eq!(
        (s["ticks"], s["record_faults"]),
        (2, 1),
        "this tick counted"
    );
    assert_eq!(
        s["events"] as usize,
        returned + s["waiting_events"] as usize
    );
    assert!(s["held_lines"] > 0 && s["held_streams"] > 0, "{s:?}");
    let lines_on_stderr = |d: &Driver| d.filter.module_stderr().matches("cali: stats").count();
    assert_eq!(lines_on_stderr(&driver), 1);
    driver.advance(500);
    driver.tick();
    assert_eq!(lines_on_stderr(&driver), 1, "once per interval");
    driver.advance(500);
    driver.tick();
    assert_eq!(lines_on_stderr(&driver), 2);
}

fn parse_raw_is_event(outcome: cali_host::Outcome) -> bool {
    common::parse(outcome).is_some()
}
