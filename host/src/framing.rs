//! Container-log framing as tail's `multiline.parser cri, docker` applies it before any
//! filter: `raw` lines, CRI `TIME STREAM P|F text` (partials joined per stream), Docker JSON
//! lines (a `log` without trailing newline is a partial). Yields the payload of each record.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Raw,
    Cri,
    Docker,
}

impl std::str::FromStr for Framing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "raw" => Ok(Framing::Raw),
            "cri" => Ok(Framing::Cri),
            "docker" | "docker-json" => Ok(Framing::Docker),
            other => Err(format!("unknown format `{other}` (raw, cri or docker)")),
        }
    }
}

/// One record's payload after framing, with the 1-based input line numbers it was made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    pub log: Vec<u8>,
    /// `None` for a line the `cri`/`docker` framing does not recognise: tail passes it as
    /// `{"log": line}`, with no `stream` member.
    pub stream: Option<String>,
    /// The runtime's timestamp (seconds, nanoseconds) when the framing carries one.
    pub time: Option<(u32, u32)>,
    /// What tail's parser keeps of the runtime's framing as members of the record (those of
    /// the first part, when partials were joined).
    pub runtime: Option<Runtime>,
    pub lines: Vec<usize>,
}

/// The members tail's `multiline.parser cri, docker` (Fluent Bit 5.1) leaves besides `log`
/// and `stream`: `{"time":..,"stream":..,"_p":..,"log":..}` for CRI,
/// `{"log":..,"stream":..,"time":..}` for Docker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// The time as the line wrote it, and the `P`/`F` flag.
    Cri { time: String, flag: char },
    /// The line's `time` string, when it has one.
    Docker { time: Option<String> },
}

#[derive(Debug, Default)]
struct Partial {
    log: Vec<u8>,
    time: Option<(u32, u32)>,
    runtime: Option<Runtime>,
    lines: Vec<usize>,
}

/// Stateful: partial lines wait per stream until their final part.
#[derive(Debug)]
pub struct Framer {
    framing: Framing,
    line_number: usize,
    partials: HashMap<String, Partial>,
    /// Streams in the order their partials started, for a deterministic `finish`.
    order: Vec<String>,
}

impl Framer {
    pub fn new(framing: Framing) -> Self {
        Self {
            framing,
            line_number: 0,
            partials: HashMap::new(),
            order: Vec::new(),
        }
    }

    /// Takes one input line (without its '\n'); returns the record payloads it completes:
    /// usually none or one. A line the framing does not recognise first flushes every
    /// pending partial (as Fluent Bit's docker/cri parsers do), then passes as it is.
    pub fn push_line(&mut self, line: &[u8]) -> Vec<Framed> {
        self.line_number += 1;
        let number = self.line_number;
        let joined = match self.framing {
            Framing::Raw => Some(Framed {
                log: line.to_vec(),
                stream: None,
                time: None,
                runtime: None,
                lines: vec![number],
            }),
            Framing::Cri => match parse_cri(line) {
                Some((time, raw_time, stream, partial, text)) => {
                    let runtime = Runtime::Cri {
                        time: raw_time,
                        flag: if partial { 'P' } else { 'F' },
                    };
                    self.join(stream, time, runtime, text, partial, number)
                }
                None => {
                    let mut out = self.finish();
                    out.push(unframed(line, number));
                    return out;
                }
            },
            Framing::Docker => match parse_docker(line) {
                Some((time, raw_time, stream, log)) => {
                    let partial = !log.ends_with('\n');
                    let runtime = Runtime::Docker { time: raw_time };
                    self.join(&stream, time, runtime, log.as_bytes(), partial, number)
                }
                None => {
                    let mut out = self.finish();
                    out.push(unframed(line, number));
                    return out;
                }
            },
        };
        joined.into_iter().collect()
    }

    fn join(
        &mut self,
        stream: &str,
        time: Option<(u32, u32)>,
        runtime: Runtime,
        text: &[u8],
        partial: bool,
        number: usize,
    ) -> Option<Framed> {
        if !self.partials.contains_key(stream) {
            self.order.push(stream.to_string());
        }
        let held = self.partials.entry(stream.to_string()).or_default();
        if held.lines.is_empty() {
            held.time = time;
            held.runtime = Some(runtime);
        }
        held.log.extend_from_slice(text);
        held.lines.push(number);
        if partial {
            return None;
        }
        self.order.retain(|s| s != stream);
        let held = self.partials.remove(stream)?;
        Some(Framed {
            log: held.log,
            stream: Some(stream.to_string()),
            time: held.time,
            runtime: held.runtime,
            lines: held.lines,
        })
    }

    /// End of input (or an unframed line): partials that never got their final part leave
    /// as they are.
    pub fn finish(&mut self) -> Vec<Framed> {
        let mut out = Vec::new();
        for stream in std::mem::take(&mut self.order) {
            if let Some(held) = self.partials.remove(&stream) {
                out.push(Framed {
                    log: held.log,
                    stream: Some(stream),
                    time: held.time,
                    runtime: held.runtime,
                    lines: held.lines,
                });
            }
        }
        out
    }
}

/// A line the framing does not recognise reaches the filter as it is (tail does the same).
fn unframed(line: &[u8], number: usize) -> Framed {
    Framed {
        log: line.to_vec(),
        stream: None,
        time: None,
        runtime: None,
        lines: vec![number],
    }
}

/// A record time: seconds and nanoseconds since the Unix epoch.
type RecordTime = (u32, u32);

/// `2019-05-07T18:57:50.904275087+00:00 stdout P text` → (time if readable, the time as
/// written, stream, is_partial, text), as Fluent Bit 5.1.1's built-in `cri` parser splits a
/// line: `^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$`. The time is the
/// shortest non-empty prefix that such a split allows, whatever it holds; when it is not
/// RFC 3339 the record takes the host's clock (Fluent Bit's lenient `strptime` would keep
/// what it could read of it, such as the date alone).
#[allow(clippy::type_complexity)]
fn parse_cri(line: &[u8]) -> Option<(Option<RecordTime>, String, &'static str, bool, &[u8])> {
    let (at, stream, partial) = (1..line.len()).find_map(|i| {
        let rest = &line[i..];
        let stream = if rest.starts_with(b" stdout ") {
            "stdout"
        } else if rest.starts_with(b" stderr ") {
            "stderr"
        } else {
            return None;
        };
        let partial = match rest.get(8..10) {
            Some(b"P ") => true,
            Some(b"F ") => false,
            _ => return None,
        };
        Some((i, stream, partial))
    })?;
    let time = String::from_utf8_lossy(&line[..at]).into_owned();
    Some((
        parse_rfc3339(&time),
        time,
        stream,
        partial,
        &line[at + 10..],
    ))
}

/// `{"log":..,"stream":..,"time":..}` → (time if readable, the `time` string, stream, log).
#[allow(clippy::type_complexity)]
fn parse_docker(line: &[u8]) -> Option<(Option<RecordTime>, Option<String>, String, String)> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let log = value.get("log")?.as_str()?.to_string();
    // Fluent Bit 5.1.1 does not take a record with an empty `log` ("error packing event"):
    // the line passes as it is. (Docker never writes one: every part has text or `\n`.)
    if log.is_empty() {
        return None;
    }
    let stream = value
        .get("stream")
        .and_then(|s| s.as_str())
        .unwrap_or("stdout")
        .to_string();
    let raw_time = value.get("time").and_then(|t| t.as_str()).map(String::from);
    let time = raw_time.as_deref().and_then(parse_rfc3339);
    Some((time, raw_time, stream, log))
}

/// RFC 3339 (`2021-02-01T16:45:03.01231Z`, `...+00:00`, lower-case `z` too) → epoch seconds
/// and nanoseconds. `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<(u32, u32)> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        std::str::from_utf8(b.get(range)?).ok()?.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut digits = 0;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if digits < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
                digits += 1;
            }
            i += 1;
        }
        nanos *= 10u32.pow(9 - digits);
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let hours = num(i + 1..i + 3)?;
            let minutes = num(i + 4..i + 6)?;
            let secs = hours * 3600 + minutes * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let secs =
        days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    Some((u32::try_from(secs).ok()?, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_variants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("2019-05-07T18:57:50.904275087+00:00"),
            Some((1_557_255_470, 904_275_087))
        );
        assert_eq!(
            parse_rfc3339("2021-02-01T16:45:03.01231z"),
            Some((1_612_197_903, 12_310_000))
        );
        assert_eq!(
            parse_rfc3339("2021-02-01T18:45:03+02:00"),
            Some((1_612_197_903, 0))
        );
        assert_eq!(parse_rfc3339("not a time at all, no"), None);
    }

    #[test]
    fn cri_partials_join_per_stream() {
        let mut framer = Framer::new(Framing::Cri);
        let t = "2019-05-07T18:57:50.904275087+00:00";
        assert_eq!(
            framer.push_line(format!("{t} stdout P a ").as_bytes()),
            vec![]
        );
        assert_eq!(
            framer.push_line(format!("{t} stderr P x").as_bytes()),
            vec![]
        );
        let out = framer
            .push_line(format!("{t} stdout F b").as_bytes())
            .remove(0);
        assert_eq!(out.log, b"a b");
        assert_eq!(out.stream.as_deref(), Some("stdout"));
        assert_eq!(out.lines, vec![1, 3]);
        assert_eq!(out.time, Some((1_557_255_470, 904_275_087)));
        let rest = framer.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].log, b"x");
        assert_eq!(rest[0].lines, vec![2]);
    }

    #[test]
    fn docker_log_without_newline_is_partial() {
        let mut framer = Framer::new(Framing::Docker);
        let first = br#"{"log":"aa\n","stream":"stderr","time":"2021-02-01T16:45:03.01231z"}"#;
        let part = br#"{"log":"bb","stream":"stdout","time":"2021-02-01T16:45:03.01232z"}"#;
        let end = br#"{"log":"cc\n","stream":"stdout","time":"2021-02-01T16:45:03.01233z"}"#;
        let out = framer.push_line(first).remove(0);
        assert_eq!(
            (
                out.log.as_slice(),
                out.stream.as_deref().unwrap_or_default()
            ),
            (&b"aa\n"[..], "stderr")
        );
        assert_eq!(framer.push_line(part), vec![]);
        let out = framer.push_line(end).remove(0);
        assert_eq!(out.log, b"bbcc\n");
        assert_eq!(out.lines, vec![2, 3]);
    }

    #[test]
    fn unframed_line_flushes_pending_partials_first() {
        let mut framer = Framer::new(Framing::Docker);
        let part = br#"{"log":"dd","stream":"stderr","time":"2021-02-01T16:45:03.01233z"}"#;
        assert_eq!(framer.push_line(part), vec![]);
        let out = framer.push_line(b"plain text line");
        assert_eq!(out.len(), 2);
        assert_eq!(
            (
                out[0].log.as_slice(),
                out[0].stream.as_deref().unwrap_or_default()
            ),
            (&b"dd"[..], "stderr")
        );
        assert_eq!(out[1].log, b"plain text line");
        assert_eq!(out[1].lines, vec![2]);
        // tail passes it as `{"log": line}`: no stream.
        assert_eq!(out[1].stream, None);
        assert_eq!(
            crate::record::framed_record_json(&out[1], &[]),
            br#"{"log":"plain text line"}"#
        );
    }

    #[test]
    fn cri_lines_split_as_fluent_bits_cri_regex_does() {
        let split = |line: &str| {
            let mut framer = Framer::new(Framing::Cri);
            let out = framer.push_line(line.as_bytes()).remove(0);
            let time = match out.runtime {
                Some(Runtime::Cri { time, .. }) => Some(time),
                _ => None,
            };
            (
                time,
                out.stream,
                String::from_utf8(out.log).unwrap(),
                out.time.is_some(),
            )
        };
        let t = "2019-05-07T18:57:50.904275087+00:00";
        // The time is the shortest prefix before ` stdout|stderr F|P `, whatever it holds.
        assert_eq!(
            split(&format!("garbage {t} stdout F x stderr P y")),
            (
                Some(format!("garbage {t}")),
                Some("stdout".into()),
                "x stderr P y".into(),
                false
            )
        );
        assert_eq!(
            split("2026-11-20 not a time stderr F x"),
            (
                Some("2026-11-20 not a time".into()),
                Some("stderr".into()),
                "x".into(),
                false
            )
        );
        assert_eq!(
            split(&format!("{t} stdout F ")),
            (Some(t.into()), Some("stdout".into()), "".into(), true)
        );
        // No text after the flag's space, no time, another stream name, another flag: no match.
        for line in [
            format!("{t} stdout F"),
            " stdout F x".to_string(),
            format!("{t} other F x"),
            format!("{t} stdout X x"),
        ] {
            assert_eq!(split(&line), (None, None, line.clone(), false), "{line}");
        }
    }

    #[test]
    fn a_docker_record_with_an_empty_log_passes_as_a_line() {
        let mut framer = Framer::new(Framing::Docker);
        let line = br#"{"log":"","stream":"stdout","time":"2021-02-01T16:45:03.01233z"}"#;
        let out = framer.push_line(line).remove(0);
        assert_eq!((out.log.as_slice(), out.stream), (&line[..], None));
    }

    #[test]
    fn raw_lines_are_records_without_stream() {
        // tail without a parser: `{"log": line}`, as `fluent-bit.local.conf` reads a file.
        let mut framer = Framer::new(Framing::Raw);
        let out = framer.push_line(b"hello").remove(0);
        assert_eq!(
            (out.log.as_slice(), out.stream.as_deref(), out.lines),
            (&b"hello"[..], None, vec![1])
        );
    }
}
