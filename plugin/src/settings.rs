//! Every setting of the filter, in one table. Fluent Bit stops at start-up on any unknown
//! key in a `[FILTER]` section, so the settings travel in the flush-tick record that the
//! shipped configuration's `dummy` input sends through the filter (`{"cali_tick":1, ...}`).
//! A wrong key or value is reported on stderr and the setting keeps its previous value.

use crate::header::{HeaderParser, Level};
use crate::json;
use crate::language::LanguageSet;

/// One row of the settings table: what a user can put in the tick record.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    pub key: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

/// The settings table, in the order the README shows it.
pub const TABLE: &[SettingSpec] = &[
    SettingSpec {
        key: "idle_timeout_ms",
        default: "1000",
        doc: "A stream that received no line for this many milliseconds has its held event released by the next tick (1..=3600000).",
    },
    SettingSpec {
        key: "max_lines",
        default: "500",
        doc: "Lines per event; the overflowing line starts the next event and the event is marked `truncated` (1..=100000).",
    },
    SettingSpec {
        key: "max_bytes",
        default: "262144",
        doc: "Bytes of text per event, likewise; a single longer line is cut to this size (1024..=8388608).",
    },
    SettingSpec {
        key: "max_streams",
        default: "4096",
        doc: "Streams (tag + stdout/stderr) holding a partial event at once; past it the least recently used stream's event is released, never dropped (1..=1000000).",
    },
    SettingSpec {
        key: "max_held_bytes",
        default: "67108864",
        doc: "Bytes held across all streams; past it the least recently used streams are released (65536..=1073741824).",
    },
    SettingSpec {
        key: "languages",
        default: "all",
        doc: "Stack-trace languages recognized: `all` or a comma list of java, python, go, ruby, node, dotnet, php, rust, dart.",
    },
    SettingSpec {
        key: "header_layouts",
        default: "",
        doc: "Extra timestamp layouts, strptime-like (`%d/%m/%Y %H:%M:%S`), separated by `|`, tried before the built-in ones.",
    },
    SettingSpec {
        key: "log_key",
        default: "log",
        doc: "Record member that holds the log line.",
    },
    SettingSpec {
        key: "stream_key",
        default: "stream",
        doc: "Record member that names the stream (stdout/stderr); grouping is per tag and stream.",
    },
    SettingSpec {
        key: "service_labels",
        default: "app.kubernetes.io/name,app",
        doc: "Kubernetes labels naming the service, in order of preference; else the header's service, else the container name.",
    },
    SettingSpec {
        key: "alert_level",
        default: "ERROR",
        doc: "Events at or above this level, and every event with an exception, get `alertable: true` (TRACE, DEBUG, INFO, WARN, ERROR, FATAL).",
    },
    SettingSpec {
        key: "stats_interval_ms",
        default: "60000",
        doc: "How often the filter writes one `cali: stats` line to Fluent Bit's log: what came in, what went out and what is held, counted so that they add up; 0 turns it off (0..=86400000).",
    },
];

/// A setting that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "setting {}: {}", self.key, self.message)
    }
}

impl std::error::Error for SettingError {}

#[derive(Debug, Clone)]
pub struct Settings {
    pub idle_timeout_ms: u64,
    pub max_lines: usize,
    pub max_bytes: usize,
    pub max_streams: usize,
    pub max_held_bytes: usize,
    pub languages: LanguageSet,
    pub header_layouts: Vec<String>,
    pub log_key: String,
    pub stream_key: String,
    pub service_labels: Vec<String>,
    pub alert_level: Level,
    pub stats_interval_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            idle_timeout_ms: 1000,
            max_lines: 500,
            max_bytes: 256 * 1024,
            max_streams: 4096,
            max_held_bytes: 64 * 1024 * 1024,
            languages: LanguageSet::all(),
            header_layouts: Vec::new(),
            log_key: "log".to_string(),
            stream_key: "stream".to_string(),
            service_labels: vec!["app.kubernetes.io/name".to_string(), "app".to_string()],
            alert_level: Level::Error,
            stats_interval_ms: 60_000,
        }
    }
}

/// The key that marks a record as a flush tick.
pub const TICK_KEY: &str = "cali_tick";

impl Settings {
    /// Settings from a tick record's members: defaults overridden by every valid setting.
    /// An invalid value keeps `previous`'s value for that key; every problem is returned.
    pub fn from_tick(
        members: &[json::Member<'_>],
        previous: &Settings,
    ) -> (Settings, Vec<SettingError>) {
        let mut next = Settings::default();
        let mut errors = Vec::new();
        for m in members {
            if m.key == TICK_KEY {
                continue;
            }
            if let Err(e) = next.apply(&m.key, m.value) {
                next.keep(&m.key, previous);
                errors.push(e);
            }
        }
        (next, errors)
    }

    /// Applies one setting given as raw JSON (a string or a number).
    pub fn apply(&mut self, key: &str, raw: &str) -> Result<(), SettingError> {
        let err = |message: String| SettingError {
            key: key.to_string(),
            message,
        };
        let text = scalar_text(raw)
            .ok_or_else(|| err(format!("expected a string or a number, got {raw}")))?;
        let text = text.trim();
        match key {
            "idle_timeout_ms" => {
                self.idle_timeout_ms = int_in(text, 1, 3_600_000).map_err(err)? as u64
            }
            "max_lines" => self.max_lines = int_in(text, 1, 100_000).map_err(err)?,
            "max_bytes" => self.max_bytes = int_in(text, 1024, 8 * 1024 * 1024).map_err(err)?,
            "max_streams" => self.max_streams = int_in(text, 1, 1_000_000).map_err(err)?,
            "max_held_bytes" => self.max_held_bytes = int_in(text, 65_536, 1 << 30).map_err(err)?,
            "languages" => self.languages = LanguageSet::parse_list(text).map_err(err)?,
            "header_layouts" => {
                let layouts: Vec<String> = text
                    .split('|')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
                let refs: Vec<&str> = layouts.iter().map(String::as_str).collect();
                HeaderParser::new(&refs).map_err(|e| err(e.to_string()))?;
                self.header_layouts = layouts;
            }
            "log_key" => self.log_key = non_empty(text).map_err(err)?,
            "stream_key" => self.stream_key = non_empty(text).map_err(err)?,
            "service_labels" => {
                self.service_labels = text
                    .split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            }
            "stats_interval_ms" => {
                self.stats_interval_ms = int_in(text, 0, 86_400_000).map_err(err)? as u64
            }
            "alert_level" => {
                self.alert_level = Level::parse(text).ok_or_else(|| {
                    err(format!(
                        "unknown level {text:?} (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)"
                    ))
                })?
            }
            _ => {
                let known: Vec<&str> = TABLE.iter().map(|s| s.key).collect();
                return Err(err(format!(
                    "unknown setting (known: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Copies `key`'s value from `other` (used to keep the previous value of a bad setting).
    fn keep(&mut self, key: &str, other: &Settings) {
        match key {
            "idle_timeout_ms" => self.idle_timeout_ms = other.idle_timeout_ms,
            "max_lines" => self.max_lines = other.max_lines,
            "max_bytes" => self.max_bytes = other.max_bytes,
            "max_streams" => self.max_streams = other.max_streams,
            "max_held_bytes" => self.max_held_bytes = other.max_held_bytes,
            "languages" => self.languages = other.languages,
            "header_layouts" => self.header_layouts = other.header_layouts.clone(),
            "log_key" => self.log_key = other.log_key.clone(),
            "stream_key" => self.stream_key = other.stream_key.clone(),
            "service_labels" => self.service_labels = other.service_labels.clone(),
            "alert_level" => self.alert_level = other.alert_level,
            "stats_interval_ms" => self.stats_interval_ms = other.stats_interval_ms,
            _ => {}
        }
    }

    /// The header parser these settings describe. Layouts were validated when applied.
    pub fn header_parser(&self) -> HeaderParser {
        let refs: Vec<&str> = self.header_layouts.iter().map(String::as_str).collect();
        HeaderParser::new(&refs).unwrap_or_default()
    }
}

/// A JSON scalar as text: a string's contents or a number's digits.
fn scalar_text(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let raw = raw.trim();
    if raw.starts_with('"') {
        json::string_value(raw)
    } else if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Some(std::borrow::Cow::Borrowed(raw))
    } else {
        None
    }
}

fn int_in(text: &str, min: usize, max: usize) -> Result<usize, String> {
    let v: usize = text
        .parse()
        .map_err(|_| format!("expected a whole number in {min}..={max}, got {text:?}"))?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside {min}..={max}"))
    }
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("must not be empty".to_string())
    } else {
        Ok(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn member<'a>(key: &'a str, value: &'a str) -> json::Member<'a> {
        json::Member {
            key: Cow::Borrowed(key),
            value,
            escapes: None,
            known: None,
        }
    }

    #[test]
    fn numbers_and_strings_are_both_accepted() {
        let mut s = Settings::default();
        s.apply("max_lines", "12").unwrap();
        assert_eq!(s.max_lines, 12);
        s.apply("idle_timeout_ms", "250").unwrap();
        assert_eq!(s.idle_timeout_ms, 250);
        s.apply("alert_level", "\"warn\"")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.alert_level, Level::Warn);
    }

    #[test]
    fn out_of_range_and_unknown_keys_name_the_key() {
        let mut s = Settings::default();
        let e = s.apply("max_lines", "0").unwrap_err();
        assert_eq!(e.key, "max_lines");
        assert!(e.to_string().contains("outside"), "{e}");
        let e = s.apply("max_line", "10").unwrap_err();
        assert!(e.message.contains("unknown setting"), "{e}");
        assert_eq!(s.max_lines, 500);
    }

    #[test]
    fn a_bad_value_keeps_the_previous_one() {
        let previous = Settings {
            max_lines: 42,
            ..Settings::default()
        };
        let members = [
            member("cali_tick", "1"),
            member("max_lines", "-3"),
            member("max_bytes", "4096"),
        ];
        let (next, errors) = Settings::from_tick(&members, &previous);
        assert_eq!(next.max_lines, 42);
        assert_eq!(next.max_bytes, 4096);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "max_lines");
    }

    #[test]
    fn the_table_lists_exactly_the_applicable_keys() {
        let mut s = Settings::default();
        for spec in TABLE {
            // Every documented default is itself a valid value for its key.
            let raw = format!("\"{}\"", spec.default);
            if spec.default.is_empty() {
                continue;
            }
            s.apply(spec.key, &raw)
                .unwrap_or_else(|e| panic!("default of {}: {e}", spec.key));
        }
    }
}
