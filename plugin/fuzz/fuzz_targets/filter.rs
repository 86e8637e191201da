//! Fuzzes the whole `Filter`, as the host calls it: arbitrary records (bytes that may not be
//! JSON or UTF-8, log strings with raw escapes, records that pass through, ticks carrying
//! arbitrary settings, records lost in the host) over several tags. It asserts what Fluent
//! Bit relies on and what the counters promise:
//! - no panic;
//! - every answer is a JSON object (an event, a fault event, or a record passed through);
//! - after every call the counts add up (records = lines + ticks + passed through + faults,
//!   lines = lines in events + lines held, events = events returned + waiting);
//! - at the end, once everything held is released, every line is in an event.

#![no_main]

use cali_plugin::filter::{Filter, Input};
use cali_plugin::timestamp::Timestamp;
use cali_plugin::Settings;
use libfuzzer_sys::fuzz_target;

/// Checks one answer and counts it when it is an event of lines or a fault event.
fn check(out: &str) -> u64 {
    let value: serde_json::Value = match serde_json::from_str(out) {
        Ok(v) => v,
        // serde_json refuses `\uD800`-style lone surrogates, which JSON's grammar allows
        // and Fluent Bit's parser takes; the filter copies such escapes as they came.
        Err(e) if e.to_string().contains("surrogate") => {
            return u64::from(out.contains("\"schema\":"))
        }
        Err(e) => panic!("answer is not JSON ({e}): {out}"),
    };
    let object = value.as_object().expect("answer is a JSON object");
    match object.get("schema") {
        Some(schema) => {
            assert_eq!(schema, "cali.event/v1");
            for key in ["event_id", "fingerprint", "log_content", "tag", "level"] {
                assert!(
                    object.get(key).is_some_and(|v| v.is_string()),
                    "{key} in {out}"
                );
            }
            let lines = object["line_count"].as_u64().expect("line_count");
            assert!(lines >= 1, "{out}");
            1
        }
        None => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let mut f = Filter::new(Settings {
        max_streams: usize::from(data[0] % 6) + 1,
        max_lines: usize::from(data[1] % 40) + 1,
        max_bytes: usize::from(u16::from_le_bytes([data[2], data[3]]) % 4096) + 16,
        idle_timeout_ms: 30,
        ..Settings::default()
    });
    let (mut returned, mut now) = (0u64, 0u64);
    let mut record = Vec::new();
    for chunk in data[4..].split(|&b| b == 0xff) {
        let Some((&op, body)) = chunk.split_first() else {
            continue;
        };
        now += u64::from(op >> 4) * 7;
        let tag = format!("kube.c{}.log", op & 3);
        record.clear();
        let input = match (op >> 2) & 3 {
            // Raw bytes: not JSON, not UTF-8, or any JSON at all.
            0 if op & 0x80 == 0 => Input::Record(body),
            0 => Input::LostInHost { len: body.len() },
            // A log line as a valid JSON string.
            1 => {
                let text = String::from_utf8_lossy(body);
                let mut s = String::from("{\"log\":");
                s.push_str(&serde_json::to_string(&text).expect("a string"));
                s.push_str(
                    [
                        ",\"stream\":\"stdout\"}",
                        ",\"stream\":\"stderr\",\"kubernetes\":{\"labels\":{\"app\":\"pay\"}}}",
                    ][usize::from(op >> 7)],
                );
                record.extend_from_slice(s.as_bytes());
                Input::Record(&record)
            }
            // The bytes placed raw inside the log string: escapes as they come.
            2 => {
                record.extend_from_slice(b"{\"log\":\"");
                record.extend_from_slice(body);
                record.extend_from_slice(b"\",\"stream\":\"stdout\"}");
                Input::Record(&record)
            }
            // A tick whose members are the bytes (settings, valid or not).
            _ => {
                record.extend_from_slice(b"{\"cali_tick\":1");
                if !body.is_empty() {
                    record.push(b',');
                    record.extend_from_slice(body);
                }
                record.push(b'}');
                Input::Record(&record)
            }
        };
        if let Some(out) = f.process(tag.as_bytes(), Timestamp::default(), input, now) {
            returned += check(out);
        }
        let st = f.stats();
        assert_eq!(
            st.records,
            st.lines + st.ticks + st.passed_through + st.record_faults
        );
        assert_eq!(st.lines, st.event_lines + f.held_lines() as u64);
        assert_eq!(st.events, returned + f.waiting() as u64);
    }
    f.release_all();
    while let Some(out) = f.take_waiting() {
        returned += check(&out);
    }
    let st = f.stats();
    assert_eq!(f.held_lines(), 0);
    assert_eq!(st.lines, st.event_lines);
    assert_eq!(st.events, returned);
});
