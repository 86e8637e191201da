//! A tail → filter pipeline on virtual time: input lines are framed into records, the clock
//! advances per line, a flush tick is sent every `tick_ms`, and at end of input the clock
//! moves past the idle timeout and ticks drain what the filter still holds.

use crate::framing::{Framed, Framer, Framing};
use crate::record::{framed_record_json_styled, tick_json, StringStyle};
use crate::runtime::{HostError, WasmFilter};
use crate::TICK_TAG;

/// The filter's default `idle_timeout_ms`, used when the settings do not name one.
const DEFAULT_IDLE_TIMEOUT_MS: u64 = 1000;

#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub framing: Framing,
    /// Tag of every input record (tail's `Tag`).
    pub tag: String,
    /// Virtual milliseconds between two flush ticks (the `dummy` input's rate).
    pub tick_ms: u64,
    /// Virtual milliseconds between two input lines.
    pub line_ms: u64,
    /// Members of every tick record besides `cali_tick`: the filter's settings.
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Extra members of every log record, as (name, JSON value text), e.g. `kubernetes`.
    pub extra: Vec<(String, String)>,
    /// How Fluent Bit writes the records' strings (`json.escape_unicode`).
    pub string_style: StringStyle,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            framing: Framing::Raw,
            tag: "kube.app".into(),
            tick_ms: 200,
            line_ms: 1,
            settings: serde_json::Map::new(),
            extra: Vec::new(),
            string_style: StringStyle::Raw,
        }
    }
}

/// One record that left the filter, and the tag it travels under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    pub tag: String,
    pub json: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub records_in: u64,
    pub records_out: u64,
    pub dropped: u64,
    pub errors: u64,
    pub ticks: u64,
    /// Emitted events carrying a `fault` object.
    pub faults: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lines {} · records in {} (ticks {}) · out {} · dropped {} · host errors {} · faults {}",
            self.lines,
            self.records_in,
            self.ticks,
            self.records_out,
            self.dropped,
            self.errors,
            self.faults
        )
    }
}

pub struct Pipeline {
    filter: WasmFilter,
    framer: Framer,
    options: PipelineOptions,
    next_tick_ns: u64,
    summary: Summary,
}

impl Pipeline {
    pub fn new(filter: WasmFilter, options: PipelineOptions) -> Self {
        Self {
            filter,
            framer: Framer::new(options.framing),
            options,
            next_tick_ns: 0,
            summary: Summary::default(),
        }
    }

    pub fn filter(&self) -> &WasmFilter {
        &self.filter
    }

    /// Feeds one input line (without '\n'); `emit` receives what leaves the filter.
    pub fn push_line(
        &mut self,
        line: &[u8],
        emit: &mut dyn FnMut(Emitted),
    ) -> Result<(), HostError> {
        self.summary.lines += 1;
        self.filter.advance_ms(self.options.line_ms);
        self.send_due_ticks(emit)?;
        for framed in self.framer.push_line(line) {
            self.send_record(framed, emit)?;
        }
        Ok(())
    }

    /// End of input: pending partials, then time passes the idle timeout and ticks drain the
    /// filter until a tick yields nothing.
    pub fn finish(mut self, emit: &mut dyn FnMut(Emitted)) -> Result<Summary, HostError> {
        for framed in self.framer.finish() {
            self.send_record(framed, emit)?;
        }
        let idle = self
            .options
            .settings
            .get("idle_timeout_ms")
            .and_then(|v| v.as_u64())
            .unwrap_or(DEFAULT_IDLE_TIMEOUT_MS);
        self.filter.advance_ms(idle + 1);
        // Each tick releases at most one event: never more ticks than records sent.
        let limit = self.summary.records_in + 16;
        for _ in 0..limit {
            if !self.send_tick(emit)? {
                break;
            }
            self.filter.advance_ms(self.options.tick_ms);
        }
        let stats = self.filter.stats();
        self.summary.records_out = stats.records_out;
        self.summary.dropped = stats.dropped;
        self.summary.errors = stats.errors;
        Ok(self.summary)
    }

    fn send_due_ticks(&mut self, emit: &mut dyn FnMut(Emitted)) -> Result<(), HostError> {
        let interval = self.options.tick_ms.max(1) * 1_000_000;
        while self.filter.clock().monotonic_ns() >= self.next_tick_ns {
            self.send_tick(emit)?;
            self.next_tick_ns += interval;
        }
        Ok(())
    }

    /// Sends one tick; true when it released an event.
    pub fn send_tick(&mut self, emit: &mut dyn FnMut(Emitted)) -> Result<bool, HostError> {
        self.summary.ticks += 1;
        self.summary.records_in += 1;
        let json = tick_json(&self.options.settings);
        let time = self.filter.clock().record_time();
        let out = self
            .filter
            .call(TICK_TAG.as_bytes(), time, &json)?
            .emitted();
        let released = out.is_some();
        if let Some(json) = out {
            self.deliver(TICK_TAG.to_string(), json, emit);
        }
        Ok(released)
    }

    fn send_record(
        &mut self,
        framed: Framed,
        emit: &mut dyn FnMut(Emitted),
    ) -> Result<(), HostError> {
        self.summary.records_in += 1;
        let json =
            framed_record_json_styled(&framed, &self.options.extra, self.options.string_style);
        let time = framed
            .time
            .unwrap_or_else(|| self.filter.clock().record_time());
        let tag = self.options.tag.clone();
        if let Some(out) = self.filter.call(tag.as_bytes(), time, &json)?.emitted() {
            self.deliver(tag, out, emit);
        }
        Ok(())
    }

    fn deliver(&mut self, tag: String, json: String, emit: &mut dyn FnMut(Emitted)) {
        if has_fault(&json) {
            self.summary.faults += 1;
        }
        emit(Emitted { tag, json });
    }
}

fn has_fault(json: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("fault").map(|f| f.is_object()))
        .unwrap_or(false)
}
