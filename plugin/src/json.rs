//! Just enough JSON for the per-record path: split a record into its top-level members
//! as raw text spans (validating as it goes), unescape the few strings CALI reads, and
//! write escaped strings. A general parse + re-serialise of every record would cost more
//! than the whole filter's budget inside Fluent Bit's interpreter.

use std::borrow::Cow;

/// One top-level member of an object: its unescaped key and its value's raw JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    pub key: Cow<'a, str>,
    /// The value exactly as written (`"text"`, `12`, `{...}`, `[...]`, `true`, `null`).
    pub value: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset where the text stopped being valid JSON.
    pub offset: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for JsonError {}

/// Splits a JSON object into its top-level members, validating the whole text
/// (nested values included). Leading/trailing whitespace is allowed.
pub fn parse_object(src: &str) -> Result<Vec<Member<'_>>, JsonError> {
    let _ = src;
    Err(JsonError {
        offset: 0,
        reason: "not implemented",
    })
}

/// If `raw` is a JSON string value, its unescaped contents.
pub fn string_value(raw: &str) -> Option<Cow<'_, str>> {
    let _ = raw;
    None
}

/// The raw value at `path` inside the raw JSON object `raw` (nested objects only),
/// e.g. `lookup(kubernetes, &["labels", "app"])`.
pub fn lookup<'a>(raw: &'a str, path: &[&str]) -> Option<&'a str> {
    let _ = (raw, path);
    None
}

/// Appends `s` as a quoted, escaped JSON string.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}
