//! The whole filter as plain Rust: one record in, at most one record out.

use crate::settings::Settings;
use crate::timestamp::Timestamp;

/// What the host handed over for one call.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// The record's JSON text (without the trailing NUL).
    Record(&'a [u8]),
    /// The host could not copy the record into the module (Fluent Bit passes pointer 0
    /// with the real length when the record does not fit in `Wasm_Heap_Size`).
    LostInHost { len: usize },
}

pub struct Filter {
    settings: Settings,
    out: String,
}

impl Filter {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            out: String::new(),
        }
    }

    /// Processes one record. `tag` is the Fluent Bit tag, `time` the record's time,
    /// `now_ms` a monotonic clock in milliseconds (idle timeouts are measured on it).
    /// Returns the JSON object to emit, or `None` to drop the record.
    pub fn process(
        &mut self,
        tag: &[u8],
        time: Timestamp,
        input: Input<'_>,
        now_ms: u64,
    ) -> Option<&str> {
        let _ = (tag, time, now_ms, &self.settings);
        match input {
            Input::Record(r) => {
                self.out.clear();
                self.out.push_str(&String::from_utf8_lossy(r));
                Some(&self.out)
            }
            Input::LostInHost { .. } => None,
        }
    }
}
