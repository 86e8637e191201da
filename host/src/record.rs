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

/// How Fluent Bit writes a record's strings as JSON for a filter: its `[SERVICE]` setting
/// `json.escape_unicode`. The shipped configurations turn it off (`Raw`); Fluent Bit's own
/// default is on (`Escaped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StringStyle {
    /// `json.escape_unicode off`: valid UTF-8 as it is, each byte that does not start a
    /// valid character as U+FFFD (`flb_utils_write_str_raw`).
    #[default]
    Raw,
    /// `json.escape_unicode on`: non-ASCII as `\uXXXX`, broken bytes as private use
    /// characters (`flb_utils_write_str_escaped`, x86-64).
    Escaped,
}

/// Appends `bytes` as a JSON string as Fluent Bit 5.1.1 writes a record's string for a
/// filter, in the shipped configurations' style (`json.escape_unicode off`).
pub fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    push_json_string_styled(out, bytes, StringStyle::Raw);
}

/// `push_json_string` in either style: the quotes and ASCII alike, each non-ASCII sequence
/// by the style's own rule.
pub fn push_json_string_styled(out: &mut Vec<u8>, bytes: &[u8], style: StringStyle) {
    out.push(b'"');
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] < 0x80 {
            push_ascii(out, bytes[i]);
            i += 1;
        } else {
            i += match style {
                StringStyle::Raw => push_raw_char(out, &bytes[i..]),
                StringStyle::Escaped => push_escaped_char(out, &bytes[i..]),
            };
        }
    }
    out.push(b'"');
}

/// `\uXXXX` of a UTF-16 unit, lower-case hex as Fluent Bit writes it.
fn push_u(out: &mut Vec<u8>, unit: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((unit >> shift) & 0xf) as usize]);
    }
}

/// The escapes both styles share: `"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f` by their short
/// forms, other control characters and DEL as `\u00XX`.
fn push_ascii(out: &mut Vec<u8>, c: u8) {
    match c {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        0..=0x1f | 0x7f => push_u(out, u32::from(c)),
        _ => out.push(c),
    }
}

/// `json.escape_unicode off` (`flb_utils_write_str_raw`), for the non-ASCII byte that
/// starts `rest`: a valid UTF-8 character is copied as it is (overlong forms, surrogates and
/// code points past U+10FFFF are not valid); any other byte becomes U+FFFD, one per byte.
/// Returns the bytes taken.
fn push_raw_char(out: &mut Vec<u8>, rest: &[u8]) -> usize {
    let second = rest.get(1).copied();
    let len = match rest[0] {
        0xc2..=0xdf => 2,
        0xe0 if second.is_some_and(|b| b < 0xa0) => 0,
        0xed if second.is_some_and(|b| b >= 0xa0) => 0,
        0xe0..=0xef => 3,
        0xf0 if second.is_some_and(|b| b < 0x90) => 0,
        0xf4 if second.is_some_and(|b| b > 0x8f) => 0,
        0xf0..=0xf4 => 4,
        _ => 0,
    };
    if len > 0 && len <= rest.len() && rest[1..len].iter().all(|&b| b & 0xc0 == 0x80) {
        out.extend_from_slice(&rest[..len]);
        len
    } else {
        out.extend_from_slice("\u{fffd}".as_bytes());
        1
    }
}

/// `json.escape_unicode on`, Fluent Bit's default (`flb_utils_write_str_escaped` as built for
/// x86-64), for the non-ASCII byte that starts `rest`: a character as `\uXXXX` (a surrogate
/// pair beyond U+FFFF; overlong forms are decoded as such); bytes that do not form a valid
/// character as characters of the private use area, U+E000 plus the byte (`\xff` → U+E0FF),
/// written as UTF-8; a lead byte whose sequence would run past the end of the string left
/// out. Returns the bytes taken. `host/tests/fluent_bit_strings.rs` holds this to what
/// Fluent Bit 5.1.1 handed a module.
fn push_escaped_char(out: &mut Vec<u8>, rest: &[u8]) -> usize {
    // The sequence length the lead byte announces (Fluent Bit's `flb_utf8_len`).
    let len = match rest[0] {
        0x80..=0xbf => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        0xf8..=0xfb => 5,
        _ => 6,
    };
    if len > rest.len() {
        return 1;
    }
    match decode_sequence(&rest[..len]) {
        Ok(cp) if cp > 0xffff => {
            push_u(out, 0xd800 + ((cp - 0x10000) >> 10));
            push_u(out, 0xdc00 + ((cp - 0x10000) & 0x3ff));
            len
        }
        Ok(cp) => {
            push_u(out, cp);
            len
        }
        Err(fragments) => {
            for &f in &rest[..fragments] {
                out.extend_from_slice(&[0xee, 0x80 | (f >> 6), 0x80 | (f & 0x3f)]);
            }
            fragments
        }
    }
}

/// Decodes one sequence as Fluent Bit's `flb_utf8_decode` does (overlong forms accepted,
/// surrogates and code points past U+10FFFF rejected). `Err(n)`: the first `n` bytes are
/// the invalid fragment (at least one); the rest are read again as the next characters.
fn decode_sequence(seq: &[u8]) -> Result<u32, usize> {
    let lead = seq[0];
    let (mut cp, continuations) = match lead {
        0xc0..=0xdf => (u32::from(lead & 0x1f), 1),
        0xe0..=0xef => (u32::from(lead & 0x0f), 2),
        0xf0..=0xf7 => (u32::from(lead & 0x07), 3),
        _ => return Err(1),
    };
    for (n, &b) in seq.iter().enumerate().skip(1).take(continuations) {
        if b & 0xc0 != 0x80 {
            return Err(n);
        }
        cp = (cp << 6) | u32::from(b & 0x3f);
    }
    if (0xd800..=0xdfff).contains(&cp) || cp > 0x10_ffff {
        // Rejected on the last byte, which is not part of the fragment.
        return Err(continuations);
    }
    Ok(cp)
}

/// What `tail` makes of a line read from a file (without its `\n`): a final `\r` is dropped
/// when the line has at least one other byte (Fluent Bit 5.1.1's CRLF handling; a line that
/// is only `\r` stays as it is).
pub fn tail_line(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r'] if !rest.is_empty() => rest,
        _ => line,
    }
}

/// The record tail hands on for a framed line: `log_record_json`'s for raw lines, and for
/// container logs the members tail's `multiline.parser cri, docker` keeps too, in its order
/// (Fluent Bit 5.1: `time`, `stream`, `_p`, `log` for CRI; `log`, `stream`, `time` for
/// Docker), then `extra`.
pub fn framed_record_json(framed: &Framed, extra: &[(String, String)]) -> Vec<u8> {
    framed_record_json_styled(framed, extra, StringStyle::Raw)
}

/// `framed_record_json` with the strings in `style`.
pub fn framed_record_json_styled(
    framed: &Framed,
    extra: &[(String, String)],
    style: StringStyle,
) -> Vec<u8> {
    let push_json_string =
        |out: &mut Vec<u8>, bytes: &[u8]| push_json_string_styled(out, bytes, style);
    let mut out = Vec::with_capacity(framed.log.len() + 96);
    match &framed.runtime {
        None => match &framed.stream {
            Some(stream) => return log_record_json_styled(&framed.log, stream, extra, style),
            None => {
                out.extend_from_slice(b"{\"log\":");
                push_json_string(&mut out, &framed.log);
            }
        },
        Some(Runtime::Cri { time, flag }) => {
            out.extend_from_slice(b"{\"time\":");
            push_json_string(&mut out, time.as_bytes());
            out.extend_from_slice(b",\"stream\":");
            push_json_string(
                &mut out,
                framed.stream.as_deref().unwrap_or_default().as_bytes(),
            );
            out.extend_from_slice(b",\"_p\":");
            push_json_string(&mut out, flag.to_string().as_bytes());
            out.extend_from_slice(b",\"log\":");
            push_json_string(&mut out, &framed.log);
        }
        Some(Runtime::Docker { time }) => {
            out.extend_from_slice(b"{\"log\":");
            push_json_string(&mut out, &framed.log);
            out.extend_from_slice(b",\"stream\":");
            push_json_string(
                &mut out,
                framed.stream.as_deref().unwrap_or_default().as_bytes(),
            );
            if let Some(time) = time {
                out.extend_from_slice(b",\"time\":");
                push_json_string(&mut out, time.as_bytes());
            }
        }
    }
    push_extra(&mut out, extra, style);
    out.push(b'}');
    out
}

fn push_extra(out: &mut Vec<u8>, extra: &[(String, String)], style: StringStyle) {
    for (name, value) in extra {
        out.push(b',');
        push_json_string_styled(out, name.as_bytes(), style);
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
    }
}

/// A container-log record: `{"log":..,"stream":..}` plus extra members given as
/// (name, JSON value text), e.g. a `kubernetes` object.
pub fn log_record_json(log: &[u8], stream: &str, extra: &[(String, String)]) -> Vec<u8> {
    log_record_json_styled(log, stream, extra, StringStyle::Raw)
}

/// `log_record_json` with the strings in `style`.
pub fn log_record_json_styled(
    log: &[u8],
    stream: &str,
    extra: &[(String, String)],
    style: StringStyle,
) -> Vec<u8> {
    let push_json_string =
        |out: &mut Vec<u8>, bytes: &[u8]| push_json_string_styled(out, bytes, style);
    let mut out = Vec::with_capacity(log.len() + 32);
    out.extend_from_slice(b"{\"log\":");
    push_json_string(&mut out, log);
    out.extend_from_slice(b",\"stream\":");
    push_json_string(&mut out, stream.as_bytes());
    push_extra(&mut out, extra, style);
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
            r#"{"log":"plain","kubernetes":{"pod_name":"p"}}"#
        );
    }

    #[test]
    fn broken_bytes_reach_the_filter_as_valid_utf8_in_either_style() {
        let line = b"bad \xff\xc3( caf\xc3\xa9 \xf0\x9f\x98\x80 \xe6\x97";
        // `json.escape_unicode off` (the shipped configurations): U+FFFD per broken byte.
        let json = log_record_json(line, "stdout", &[]);
        assert_eq!(
            std::str::from_utf8(&json).expect("valid UTF-8"),
            "{\"log\":\"bad \u{fffd}\u{fffd}( caf\u{e9} \u{1f600} \u{fffd}\u{fffd}\",\"stream\":\"stdout\"}"
        );
        // `on` (Fluent Bit's default): private use characters, the rest as `\u` escapes, and
        // a truncated sequence's lead byte at the end left out.
        let json = log_record_json_styled(line, "stdout", &[], StringStyle::Escaped);
        assert_eq!(
            std::str::from_utf8(&json).expect("valid UTF-8"),
            "{\"log\":\"bad \u{e0ff}\u{e0c3}( caf\\u00e9 \\ud83d\\ude00 \u{e097}\",\"stream\":\"stdout\"}"
        );
    }

    #[test]
    fn tail_drops_one_final_carriage_return() {
        assert_eq!(tail_line(b"line\r"), b"line");
        assert_eq!(tail_line(b"line\r\r"), b"line\r");
        assert_eq!(tail_line(b"\r"), b"\r");
        assert_eq!(tail_line(b"mid\rline"), b"mid\rline");
        assert_eq!(tail_line(b""), b"");
    }

    #[test]
    fn tick_carries_settings() {
        let settings: serde_json::Map<_, _> = serde_json::from_str(r#"{"max_lines":3}"#).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&tick_json(&settings)).unwrap();
        assert_eq!(value["cali_tick"], 1);
        assert_eq!(value["max_lines"], 3);
    }
}
