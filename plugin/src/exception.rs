//! Reads the exception out of a grouped trace: its type, message, language and frames.

use crate::language::Language;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Function or method (`charge`, `PaymentService.charge`, `main.main.func1`).
    pub function: String,
    /// Class, package or module (`com.acme.PaymentService`, `app.billing`), when known.
    pub module: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionInfo {
    /// `java.lang.IllegalStateException`, `ValueError`, `panic`, `TypeError`...
    pub kind: String,
    pub message: String,
    pub language: Option<Language>,
    /// Frames of the outermost trace, in the order printed.
    pub frames: Vec<Frame>,
    /// Byte offset in the text where the trace starts (after any header line).
    pub trace_start: usize,
}

/// Extracts the exception from a group's text (or from a JSON log line's stack field).
/// `hint` is the language the grouper recognized, if any.
pub fn extract(text: &str, hint: Option<Language>) -> Option<ExceptionInfo> {
    let _ = (text, hint);
    None
}
