//! One instance of the `.wasm` filter, called exactly as Fluent Bit's `wasm` filter calls it:
//! instantiate once, `_initialize`, then per record copy tag and JSON (+NUL) into the app
//! heap (pointer 0 with the real length when it does not fit), call, read the NUL-terminated
//! answer, free both copies.

use std::path::{Path, PathBuf};

use wasmi::{Config, Engine, Linker, Memory, Module, Store, TypedFunc};

use crate::clock::Clock;
use crate::heap::AppHeap;
use crate::record::Record;
use crate::wasi::{self, HostState};

const PAGE: u64 = 65536;
/// The export Fluent Bit's `Function_Name` names in the shipped configuration.
pub const FUNCTION_NAME: &str = "cali_filter";

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot read the module {path}: {source} (build it with scripts/build-plugin)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load the module: {0}")]
    Load(wasmi::Error),
    #[error("the module does not export `{0}` with the expected signature")]
    MissingExport(String),
    #[error("cannot reserve an app heap of {bytes} bytes in linear memory: {reason}")]
    Heap { bytes: u32, reason: String },
    #[error("the module trapped: {0}")]
    Trap(wasmi::Error),
}

#[derive(Debug, Clone)]
pub struct WasmFilterOptions {
    /// Fluent Bit's `Wasm_Heap_Size`: room for one tag and one record at a time.
    pub heap_size: u32,
    pub clock: Clock,
    /// Copy what the module prints to the host's stderr (it is kept either way).
    pub forward_output: bool,
    /// Meter fuel (wasmi's count of executed instructions), for `bench`; slower.
    pub count_fuel: bool,
}

impl Default for WasmFilterOptions {
    fn default() -> Self {
        Self {
            heap_size: crate::DEFAULT_HEAP_SIZE,
            clock: Clock::virtual_at_zero(),
            forward_output: true,
            count_fuel: false,
        }
    }
}

/// Counts kept by the host, as Fluent Bit's filter metrics would.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub records_in: u64,
    pub records_out: u64,
    /// Empty answers: the filter chose to drop (or hold) the record.
    pub dropped: u64,
    /// Answers the host rejected (not a JSON object, pointer 0 or out of bounds): dropped too.
    pub errors: u64,
    /// Tag or record that did not fit in the app heap (passed as pointer 0).
    pub lost_in_host: u64,
}

/// What one call produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Emitted(String),
    Dropped,
    /// The host could not use the answer; the line is Fluent Bit's error line.
    Rejected(String),
}

impl Outcome {
    pub fn emitted(self) -> Option<String> {
        match self {
            Outcome::Emitted(json) => Some(json),
            _ => None,
        }
    }
}

type FilterFn = TypedFunc<(i32, i32, i32, i32, i32, i32), i32>;

pub struct WasmFilter {
    store: Store<HostState>,
    memory: Memory,
    function: FilterFn,
    heap: AppHeap,
    stats: Stats,
    /// The host's own error lines (Fluent Bit's `[error] [filter:wasm:wasm.0] ...`).
    host_log: Vec<String>,
    stubbed_imports: Vec<String>,
}

impl WasmFilter {
    pub fn load(path: &Path, options: WasmFilterOptions) -> Result<Self, HostError> {
        let bytes = std::fs::read(path).map_err(|source| HostError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, options)
    }

    pub fn from_bytes(wasm: &[u8], options: WasmFilterOptions) -> Result<Self, HostError> {
        let mut config = Config::default();
        config.consume_fuel(options.count_fuel);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, wasm).map_err(HostError::Load)?;
        let mut store = Store::new(
            &engine,
            HostState::new(options.clock, options.forward_output),
        );
        if options.count_fuel {
            store.set_fuel(u64::MAX).map_err(HostError::Load)?;
        }
        let mut linker = Linker::new(&engine);
        wasi::define_imports(&mut linker, &module).map_err(HostError::Load)?;
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .map_err(HostError::Load)?;
        let memory = instance
            .get_memory(&store, "memory")
            .ok_or_else(|| HostError::MissingExport("memory".into()))?;
        let function = instance
            .get_typed_func::<(i32, i32, i32, i32, i32, i32), i32>(&store, FUNCTION_NAME)
            .map_err(|_| HostError::MissingExport(FUNCTION_NAME.into()))?;

        // WAMR places the app heap in linear memory at instantiation, before the module
        // runs; the module's own allocator grows memory past it later.
        let pages = u64::from(options.heap_size).div_ceil(PAGE);
        let heap_base = if pages > 0 {
            let before = memory
                .grow(&mut store, pages)
                .map_err(|e| HostError::Heap {
                    bytes: options.heap_size,
                    reason: e.to_string(),
                })?;
            before * PAGE
        } else {
            memory.data_size(&store) as u64
        };
        let heap_base = u32::try_from(heap_base).map_err(|_| HostError::Heap {
            bytes: options.heap_size,
            reason: "beyond 4 GiB".into(),
        })?;
        let heap = AppHeap::new(heap_base, options.heap_size);

        if let Ok(init) = instance.get_typed_func::<(), ()>(&store, "_initialize") {
            init.call(&mut store, ()).map_err(HostError::Trap)?;
        }
        Ok(Self {
            store,
            memory,
            function,
            heap,
            stats: Stats::default(),
            host_log: Vec::new(),
            stubbed_imports: wasi::stubbed_imports(&module),
        })
    }

    /// Calls the filter with one record; `Ok(None)` when the record is dropped (by the
    /// filter, or by the host because the answer was unusable). `Err` only on a trap.
    pub fn process(&mut self, record: &Record) -> Result<Option<String>, HostError> {
        Ok(self
            .call(record.tag.as_bytes(), record.time, &record.json)?
            .emitted())
    }

    pub fn call(
        &mut self,
        tag: &[u8],
        time: (u32, u32),
        json: &[u8],
    ) -> Result<Outcome, HostError> {
        self.stats.records_in += 1;
        let tag_block = self.copy_in(tag);
        let record_block = self.copy_in(json);
        if tag_block.is_none() || record_block.is_none() {
            self.stats.lost_in_host += 1;
        }
        let args = (
            tag_block.map_or(0, |(addr, _)| addr as i32),
            tag.len() as i32,
            time.0 as i32,
            time.1 as i32,
            record_block.map_or(0, |(addr, _)| addr as i32),
            json.len() as i32,
        );
        let result = self.function.call(&mut self.store, args);
        for block in [tag_block, record_block].into_iter().flatten() {
            self.heap.release(block);
        }
        let pointer = result.map_err(HostError::Trap)?;
        let outcome = self.read_answer(pointer as u32);
        match &outcome {
            Outcome::Emitted(_) => self.stats.records_out += 1,
            Outcome::Dropped => self.stats.dropped += 1,
            Outcome::Rejected(line) => {
                self.stats.errors += 1;
                eprintln!("{line}");
                self.host_log.push(line.clone());
            }
        }
        Ok(outcome)
    }

    /// Copies `bytes` and a NUL into the app heap; `None` (→ pointer 0) when it does not fit,
    /// which WAMR reports as `allocate N bytes memory failed`.
    fn copy_in(&mut self, bytes: &[u8]) -> Option<(u32, u32)> {
        let Some(block) = self.heap.alloc(bytes.len() + 1) else {
            let line = format!(
                "[warn] [wasm] allocate {} bytes memory failed (Wasm_Heap_Size {})",
                bytes.len() + 1,
                self.heap.size()
            );
            eprintln!("{line}");
            self.host_log.push(line);
            return None;
        };
        let data = self.memory.data_mut(&mut self.store);
        let start = block.0 as usize;
        data[start..start + bytes.len()].copy_from_slice(bytes);
        data[start + bytes.len()] = 0;
        Some(block)
    }

    fn read_answer(&self, pointer: u32) -> Outcome {
        let data = self.memory.data(&self.store);
        if pointer == 0 || pointer as usize >= data.len() {
            return Outcome::Rejected(format!(
                "[error] [filter:wasm:wasm.0] function returned an invalid pointer {pointer:#x} \
                 (memory is {} bytes)",
                data.len()
            ));
        }
        let tail = &data[pointer as usize..];
        let Some(len) = tail.iter().position(|&b| b == 0) else {
            return Outcome::Rejected(
                "[error] [filter:wasm:wasm.0] answer is not NUL-terminated before the end of memory"
                    .into(),
            );
        };
        if len == 0 {
            return Outcome::Dropped;
        }
        let text = String::from_utf8_lossy(&tail[..len]).into_owned();
        if is_json_object(&text) {
            Outcome::Emitted(text)
        } else {
            Outcome::Rejected(format!(
                "[error] [filter:wasm:wasm.0] invalid JSON format. ret: -1, buf: {text}"
            ))
        }
    }

    /// Fuel spent so far (about one unit per executed instruction), when metered.
    pub fn fuel_spent(&self) -> Option<u64> {
        self.store.get_fuel().ok().map(|left| u64::MAX - left)
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    pub fn clock(&self) -> &Clock {
        &self.store.data().clock
    }

    pub fn clock_mut(&mut self) -> &mut Clock {
        &mut self.store.data_mut().clock
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.clock_mut().advance_ms(ms);
    }

    /// Current size of the module's linear memory in bytes (app heap included).
    pub fn memory_bytes(&self) -> usize {
        self.memory.data_size(&self.store)
    }

    pub fn heap(&self) -> &AppHeap {
        &self.heap
    }

    /// What the module wrote to its stderr so far (lossy UTF-8).
    pub fn module_stderr(&self) -> String {
        String::from_utf8_lossy(&self.store.data().stderr).into_owned()
    }

    pub fn module_stdout(&self) -> String {
        String::from_utf8_lossy(&self.store.data().stdout).into_owned()
    }

    pub fn host_log(&self) -> &[String] {
        &self.host_log
    }

    /// Imports that only got the ERRNO_NOSYS stub.
    pub fn stubbed_imports(&self) -> &[String] {
        &self.stubbed_imports
    }
}

/// Fluent Bit converts the answer with its JSON packer and keeps it only when the root is an
/// object; anything else is an error and the record is dropped.
fn is_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_objects_are_accepted() {
        assert!(is_json_object(r#"{"a":1}"#));
        assert!(is_json_object(r#" {"a":[1,2]}"#));
        assert!(!is_json_object("[1,2]"));
        assert!(!is_json_object("{not json"));
        assert!(!is_json_object("\"text\""));
    }
}
