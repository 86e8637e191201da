//! Points in time as the event carries them: UTC, nanosecond precision, RFC 3339 out.
//! Civil-date arithmetic is done by hand (no chrono) to keep the module small and fast.

/// A point in time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn new(secs: i64, nanos: u32) -> Self {
        Self { secs, nanos }
    }

    /// From a civil date and time with a UTC offset in seconds (east positive).
    /// `None` when a field is out of range.
    #[allow(clippy::too_many_arguments)]
    pub fn from_civil(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nanos: u32,
        offset_secs: i32,
    ) -> Option<Self> {
        let _ = (year, month, day, hour, minute, second, nanos, offset_secs);
        None // replaced by the real implementation
    }

    /// The civil year (UTC) of this instant, for headers that omit the year (syslog).
    pub fn year(&self) -> i32 {
        1970
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (fraction trimmed to ms, µs or ns).
    pub fn write_rfc3339(&self, out: &mut String) {
        let _ = out;
    }
}
