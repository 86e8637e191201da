//! A record that starts with its line and ends as a recent record did is read without
//! parsing its other members again. Property: on random records (valid and broken lines,
//! valid and broken endings, ticks, duplicate keys), the filter gives exactly the events it
//! gives when every record is read whole. A leading space keeps a record off the short path
//! (it is the same JSON), so the same records with one give the reference.

use cali_plugin::filter::Input;
use cali_plugin::timestamp::Timestamp;
use cali_plugin::{Filter, Settings};
use proptest::prelude::*;

/// Pieces of a record's `log` string, as written inside the JSON (some break it).
const LINE_PIECES: &[&str] = &[
    "plain words ",
    "2026-11-20 13:10:00,000 - app - ERROR - charge failed ",
    "Traceback (most recent call last):",
    "  File \\\"/app/pay.py\\\", line 3, in charge",
    "ValueError: bad amount",
    "\\\"quoted\\\" ",
    "caf\\u00e9 ",
    "{\\\"level\\\":\\\"error\\\",\\\"msg\\\":\\\"x\\\"}",
    "\\t",
    "\\n",
    // Broken: a bad escape, a lone surrogate, a raw control byte, a stray quote.
    "\\x",
    "\\ud800",
    "\u{1}",
    "\"",
];

/// What follows a record's line (some broken, one a tick, one a second `log`).
const ENDINGS: &[&str] = &[
    "}",
    ",\"stream\":\"stdout\"}",
    ",\"stream\":\"stderr\",\"kubernetes\":{\"pod_name\":\"pay-1\",\"labels\":{\"app\":\"pay\"}}}",
    ",\"stream\":\"stdout\",\"kubernetes\":{\"pod_name\":\"cart-1\",\"labels\":{\"app\":\"cart\"}}}",
    ",\"stream\":\"stdout\",\"time\":\"2026-11-20T13:10:00Z\"} ",
    ",\"stream\":7}",
    ",\"log\":\"second\"}",
    ",\"x\":}",
    ",\"stream\":\"stdout\"",
    ",\"cali_tick\":1}",
];

fn record(pieces: &[usize], ending: usize) -> String {
    let line: String = pieces.iter().map(|&i| LINE_PIECES[i]).collect();
    format!("{{\"log\":\"{line}\"{}", ENDINGS[ending])
}

/// Events of `records` through one filter: those without a fault as they are, faults by
/// their kind (a fault event carries the record's text, which the leading space changes).
fn events_of(records: &[String]) -> (Vec<String>, Vec<String>) {
    let mut f = Filter::new(Settings::default());
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let time = Timestamp::new(1_700_000_000 + i as i64, 0);
        if let Some(e) = f.process(b"kube.app", time, Input::Record(r.as_bytes()), i as u64) {
            out.push(e.to_string());
        }
    }
    f.release_all();
    out.extend(std::iter::from_fn(|| f.take_waiting()));
    let (faults, events): (Vec<String>, Vec<String>) = out
        .into_iter()
        .partition(|e| e.contains(",\"fault\":{\"kind\":\""));
    let kinds = faults
        .iter()
        .map(|e| {
            let at = e.find(",\"fault\":{\"kind\":\"").unwrap() + 18;
            e[at..].split('"').next().unwrap_or("").to_string()
        })
        .collect();
    (events, kinds)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn records_read_by_their_ending_give_what_a_whole_read_gives(
        spec in prop::collection::vec(
            (prop::collection::vec(0..LINE_PIECES.len(), 0..4), 0..ENDINGS.len()),
            1..40,
        )
    ) {
        let records: Vec<String> = spec.iter().map(|(p, e)| record(p, *e)).collect();
        let whole: Vec<String> = records.iter().map(|r| format!(" {r}")).collect();
        let (events, faults) = events_of(&records);
        let (expected_events, expected_faults) = events_of(&whole);
        prop_assert_eq!(faults, expected_faults);
        prop_assert_eq!(events, expected_events);
    }
}
