//! Records as Fluent Bit hands them to a filter: tag, time and the JSON object text.

use crate::framing::{Framed, Runtime};

/// One record in: `json` is raw bytes so tests can hand the module invalid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub tag: String,
    pub time: (u32, u32),
    pub json: Vec<u8>,
}

impl Record {
    pub fn new(tag: impl Into<String>, time: (u32, u32), json: impl Into<Vec<u8>>) -> Self {
        Self {
            tag: tag.into(),
            time,
            json: json.into(),
        }
    }
}

/// Appends `bytes` as the inside of a JSON string. Bytes that are not valid UTF-8 are copied
/// unchanged, the way a log line with broken encoding reaches the filter.
pub fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// The record tail hands on for a framed line: `log_record_json`'s for raw lines, and for
/// container logs the members tail's `multiline.parser cri, docker` keeps too, in its order
/// (Fluent Bit 5.1: `time`, `stream`, `_p`, `log` for CRI; `log`, `stream`, `time` for
/// Docker), then `extra`.
pub fn framed_record_json(framed: &Framed, extra: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(framed.log.len() + 96);
    match &framed.runtime {
        None => return log_record_json(&framed.log, &framed.stream, extra),
        Some(Runtime::Cri { time, flag }) => {
            out.extend_from_slice(b"{\"time\":");
            push_json_string(&mut out, time.as_bytes());
            out.extend_from_slice(b",\"stream\":");
            push_json_string(&mut out, framed.stream.as_bytes());
            out.extend_from_slice(b",\"_p\":");
            push_json_string(&mut out, flag.to_string().as_bytes());
            out.extend_from_slice(b",\"log\":");
            push_json_string(&mut out, &framed.log);
        }
        Some(Runtime::Docker { time }) => {
            out.extend_from_slice(b"{\"log\":");
            push_json_string(&mut out, &framed.log);
            out.extend_from_slice(b",\"stream\":");
            push_json_string(&mut out, framed.stream.as_bytes());
            if let Some(time) = time {
                out.extend_from_slice(b",\"time\":");
                push_json_string(&mut out, time.as_bytes());
            }
        }
    }
    push_extra(&mut out, extra);
    out.push(b'}');
    out
}

fn push_extra(out: &mut Vec<u8>, extra: &[(String, String)]) {
    for (name, value) in extra {
        out.push(b',');
        push_json_string(out, name.as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
    }
}

/// A container-log record: `{"log":..,"stream":..}` plus extra members given as
/// (name, JSON value text), e.g. a `kubernetes` object.
pub fn log_record_json(log: &[u8], stream: &str, extra: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(log.len() + 32);
    out.extend_from_slice(b"{\"log\":");
    push_json_string(&mut out, log);
    out.extend_from_slice(b",\"stream\":");
    push_json_string(&mut out, stream.as_bytes());
    push_extra(&mut out, extra);
    out.push(b'}');
    out
}

/// A flush tick as the shipped configuration's `dummy` input sends it: `{"cali_tick":1, ...settings}`.
/// `settings` is a JSON object's text (or empty for none).
pub fn tick_json(settings: &serde_json::Map<String, serde_json::Value>) -> Vec<u8> {
    let mut object = serde_json::Map::new();
    object.insert("cali_tick".into(), serde_json::Value::from(1));
    for (key, value) in settings {
        object.insert(key.clone(), value.clone());
    }
    serde_json::Value::Object(object).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_record_escapes_and_keeps_extra_members() {
        let json = log_record_json(
            b"a \"q\"\tb\\",
            "stderr",
            &[("kubernetes".into(), r#"{"pod_name":"p"}"#.into())],
        );
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["log"], "a \"q\"\tb\\");
        assert_eq!(value["stream"], "stderr");
        assert_eq!(value["kubernetes"]["pod_name"], "p");
    }

    #[test]
    fn container_records_carry_what_tails_parsers_keep_in_their_order() {
        use crate::framing::{Framer, Framing};
        let kube = [("kubernetes".to_string(), r#"{"pod_name":"p"}"#.to_string())];
        let record = |framing, lines: &[&str]| {
            let mut framer = Framer::new(framing);
            let framed: Vec<_> = lines
                .iter()
                .flat_map(|l| framer.push_line(l.as_bytes()))
                .collect();
            assert_eq!(framed.len(), 1, "{lines:?}");
            String::from_utf8(framed_record_json(&framed[0], &kube)).unwrap()
        };
        // What Fluent Bit 5.1.1's tail (`multiline.parser cri, docker`) printed for these
        // lines, with the `kubernetes` filter's member after them.
        assert_eq!(
            record(Framing::Cri, &["2026-11-20T13:10:00.3Z stderr F err"]),
            r#"{"time":"2026-11-20T13:10:00.3Z","stream":"stderr","_p":"F","log":"err","kubernetes":{"pod_name":"p"}}"#
        );
        assert_eq!(
            record(
                Framing::Cri,
                &[
                    "2026-11-20T13:10:00.1Z stdout P part one ",
                    "2026-11-20T13:10:00.2Z stdout F and two"
                ]
            ),
            r#"{"time":"2026-11-20T13:10:00.1Z","stream":"stdout","_p":"P","log":"part one and two","kubernetes":{"pod_name":"p"}}"#
        );
        assert_eq!(
            record(
                Framing::Docker,
                &[
                    r#"{"log":"part one ","stream":"stdout","time":"2026-11-20T13:10:00.1Z"}"#,
                    r#"{"log":"and two\n","stream":"stdout","time":"2026-11-20T13:10:00.2Z"}"#
                ]
            ),
            r#"{"log":"part one and two\n","stream":"stdout","time":"2026-11-20T13:10:00.1Z","kubernetes":{"pod_name":"p"}}"#
        );
        assert_eq!(
            record(Framing::Docker, &[r#"{"log":"x\n","stream":"stdout"}"#]),
            r#"{"log":"x\n","stream":"stdout","kubernetes":{"pod_name":"p"}}"#
        );
        assert_eq!(
            record(Framing::Raw, &["plain"]),
            r#"{"log":"plain","stream":"stdout","kubernetes":{"pod_name":"p"}}"#
        );
    }

    #[test]
    fn invalid_utf8_is_passed_through_raw() {
        let json = log_record_json(b"bad \xff byte", "stdout", &[]);
        assert!(json.windows(1).any(|w| w == [0xff]));
        assert!(std::str::from_utf8(&json).is_err());
    }

    #[test]
    fn tick_carries_settings() {
        let settings: serde_json::Map<_, _> = serde_json::from_str(r#"{"max_lines":3}"#).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&tick_json(&settings)).unwrap();
        assert_eq!(value["cali_tick"], 1);
        assert_eq!(value["max_lines"], 3);
    }
}
