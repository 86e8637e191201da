//! The records `cali-host` builds for lines, against what Fluent Bit 5.1.1 itself handed a
//! wasm filter for the same lines, in both settings of `json.escape_unicode`:
//! `tests/data/fluent-bit-5.1.1-records-raw.tsv` (off, as the shipped configurations set it)
//! and `tests/data/fluent-bit-5.1.1-records.tsv` (on, Fluent Bit's default). The lines hold
//! control characters, every byte value, valid, broken and truncated UTF-8, CR at the end.

use cali_host::record::{push_json_string_styled, tail_line, StringStyle};

fn check(recording: &str, style: StringStyle) {
    let path = format!("{}/tests/data/{recording}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("the recorded records");
    let (mut checked, mut differ) = (0, Vec::new());
    for row in text.lines().filter(|l| !l.starts_with('#')) {
        let (hex, expected) = row.split_once('\t').expect("hex, a tab, the record");
        let line: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let mut record = b"{\"log\":".to_vec();
        push_json_string_styled(&mut record, tail_line(&line), style);
        record.push(b'}');
        if record != expected.as_bytes() {
            differ.push(format!(
                "{hex}: {} instead of {expected}",
                String::from_utf8_lossy(&record)
            ));
        }
        checked += 1;
    }
    assert!(checked > 900, "the recording has {checked} lines");
    assert!(
        differ.is_empty(),
        "{} of {checked} differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

#[test]
fn records_are_what_fluent_bit_hands_a_filter_with_escape_unicode_off() {
    check("fluent-bit-5.1.1-records-raw.tsv", StringStyle::Raw);
}

#[test]
fn records_are_what_fluent_bit_hands_a_filter_with_escape_unicode_on() {
    check("fluent-bit-5.1.1-records.tsv", StringStyle::Escaped);
}
