//! The consumer's strict decoding agrees with the project's JSON Schema file: what the
//! schema accepts decodes, and what it rejects is dead-lettered.

use cali::decode::decode_event;
use cali::samples::{event, Spec};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/cali.event.v1.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn generated_events_validate_against_the_schema_file() {
    let v = validator();
    for (n, spec) in [
        Spec::default(),
        Spec {
            exception_type: "ValueError",
            pod: "worker-0",
            ..Spec::default()
        },
        Spec {
            timestamp: "2026-11-26T04:00:00Z",
            padding: 900,
            ..Spec::default()
        },
    ]
    .iter()
    .enumerate()
    {
        let line = event(spec);
        let value: Value = serde_json::from_str(&line).unwrap();
        let errors: Vec<String> = v.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "sample {n}: {errors:?}");
        assert!(decode_event(line.as_bytes()).is_ok(), "sample {n} decodes");
    }
}

/// A change to a valid event.
type Change = Box<dyn Fn(&mut Value)>;

#[test]
fn decoder_and_schema_agree_on_what_is_an_event() {
    let v = validator();
    let good: Value = serde_json::from_str(&event(&Spec::default())).unwrap();
    let variants: Vec<(&str, Change)> = vec![
        ("as is", Box::new(|_| {})),
        ("no exception", Box::new(|v| v["exception"] = Value::Null)),
        (
            "extra member",
            Box::new(|v| v["path"] = "/var/log/x.log".into()),
        ),
        (
            "fault",
            Box::new(|v| v["fault"] = serde_json::json!({"kind": "invalid_json", "detail": "x"})),
        ),
        (
            "missing message",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("message");
            }),
        ),
        ("bad level", Box::new(|v| v["level"] = "LOUD".into())),
        ("short id", Box::new(|v| v["event_id"] = "abc".into())),
        (
            "upper-case fingerprint",
            Box::new(|v| v["fingerprint"] = "00000000000000AA".into()),
        ),
        ("zero lines", Box::new(|v| v["line_count"] = 0.into())),
        ("string count", Box::new(|v| v["line_count"] = "4".into())),
        (
            "offset timestamp",
            Box::new(|v| v["timestamp"] = "2026-11-26T04:00:00+02:00".into()),
        ),
        (
            "other schema",
            Box::new(|v| v["schema"] = "cali.event/v2".into()),
        ),
        (
            "frame extra member",
            Box::new(|v| v["exception"]["frames"][0]["column"] = 3.into()),
        ),
        (
            "bad language",
            Box::new(|v| v["exception"]["language"] = "cobol".into()),
        ),
        (
            "bad fault kind",
            Box::new(|v| v["fault"] = serde_json::json!({"kind": "other", "detail": "x"})),
        ),
        (
            "negative line",
            Box::new(|v| v["exception"]["frames"][0]["line"] = (-1).into()),
        ),
    ];
    for (name, change) in variants {
        let mut value = good.clone();
        change(&mut value);
        let schema_ok = v.is_valid(&value);
        let decoded_ok = decode_event(value.to_string().as_bytes()).is_ok();
        assert_eq!(
            decoded_ok, schema_ok,
            "{name}: decoder {decoded_ok}, schema {schema_ok}"
        );
    }
}
