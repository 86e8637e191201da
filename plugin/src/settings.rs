//! Every setting of the filter, in one table. Stub: replaced by the full table.

#[derive(Debug, Clone)]
pub struct Settings {
    pub idle_timeout_ms: u64,
    pub max_lines: usize,
    pub max_bytes: usize,
    pub max_streams: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            idle_timeout_ms: 1000,
            max_lines: 500,
            max_bytes: 256 * 1024,
            max_streams: 1024,
        }
    }
}
