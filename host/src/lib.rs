//! Runs CALI's `.wasm` filter the way Fluent Bit's `wasm` filter does (one call per record,
//! tag and record copied into an app heap, answer read as a NUL-terminated JSON object),
//! plus the container-log framing and flush ticks that surround the filter in a pipeline.

pub mod bench;
pub mod clock;
pub mod framing;
pub mod heap;
pub mod pipeline;
pub mod record;
pub mod runtime;
pub mod wasi;

pub use clock::Clock;
pub use framing::{Framer, Framing};
pub use pipeline::{Pipeline, PipelineOptions, Summary};
pub use record::Record;
pub use runtime::{HostError, Outcome, Stats, WasmFilter, WasmFilterOptions};

/// Fluent Bit's `Wasm_Heap_Size` in the shipped configuration (Fluent Bit's own default is 8 KiB).
pub const DEFAULT_HEAP_SIZE: u32 = 4 * 1024 * 1024;

/// The tag the shipped configuration's `dummy` input gives its flush ticks.
pub const TICK_TAG: &str = "cali.tick";
