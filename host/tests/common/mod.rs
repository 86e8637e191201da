//! Shared by the end-to-end tests: finding the built `.wasm`, the corpus and the event
//! schema, and a small driver that feeds records on virtual time.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cali_host::record::{log_record_json, tick_json};
use cali_host::{Clock, Outcome, WasmFilter, WasmFilterOptions, TICK_TAG};
use serde_json::{Map, Value};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate sits inside the workspace")
        .to_path_buf()
}

/// A path from the environment: a relative one is read from the workspace's root, where
/// the README's commands run (cargo runs a test in its package's directory).
fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).map(|p| workspace().join(p))
}

/// `CALI_WASM`, else `<workspace>/target/cali.wasm`.
pub fn wasm_path() -> PathBuf {
    env_path("CALI_WASM").unwrap_or_else(|| workspace().join("target/cali.wasm"))
}

pub fn wasm_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = wasm_path();
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "the module {} is missing ({e}): build it with scripts/build-plugin \
                 (or point CALI_WASM at a built cali_plugin.wasm)",
                path.display()
            )
        })
    })
}

/// `CALI_CORPUS_DIR`, else `<workspace>/../shared/corpus`.
pub fn corpus_dir() -> PathBuf {
    env_path("CALI_CORPUS_DIR").unwrap_or_else(|| workspace().join("../shared/corpus"))
}

/// Checks events against schema/cali.event.v1.json.
pub struct SchemaCheck(jsonschema::Validator);

impl SchemaCheck {
    pub fn load() -> Self {
        let path = workspace().join("schema/cali.event.v1.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        Self(jsonschema::validator_for(&schema).expect("the schema compiles"))
    }

    /// Every violation, as readable lines (empty = valid).
    pub fn violations(&self, event: &Value) -> Vec<String> {
        self.0
            .iter_errors(event)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect()
    }
}

pub fn filter_with(heap_size: u32) -> WasmFilter {
    let options = WasmFilterOptions {
        heap_size,
        clock: Clock::virtual_at_zero(),
        forward_output: true,
        ..WasmFilterOptions::default()
    };
    WasmFilter::from_bytes(wasm_bytes(), options).expect("the module loads")
}

/// Drives one filter instance: log records and ticks on a virtual clock.
pub struct Driver {
    pub filter: WasmFilter,
    pub settings: Map<String, Value>,
    pub extra: Vec<(String, String)>,
}

impl Driver {
    pub fn new() -> Self {
        Self::with_heap(cali_host::DEFAULT_HEAP_SIZE)
    }

    pub fn with_heap(heap_size: u32) -> Self {
        Self {
            filter: filter_with(heap_size),
            settings: Map::new(),
            extra: Vec::new(),
        }
    }

    pub fn advance(&mut self, ms: u64) {
        self.filter.advance_ms(ms);
    }

    /// Sends raw record bytes; a trap fails the test.
    pub fn raw(&mut self, tag: &str, json: &[u8]) -> Outcome {
        let time = self.filter.clock().record_time();
        self.filter
            .call(tag.as_bytes(), time, json)
            .unwrap_or_else(|e| panic!("no trap expected: {e}"))
    }

    /// Sends one log line; returns the event that left, parsed.
    pub fn log(&mut self, tag: &str, stream: &str, line: &str) -> Option<Value> {
        let json = log_record_json(line.as_bytes(), stream, &self.extra);
        parse(self.raw(tag, &json))
    }

    pub fn tick(&mut self) -> Option<Value> {
        let json = tick_json(&self.settings);
        parse(self.raw(TICK_TAG, &json))
    }

    /// Moves time past any idle timeout and ticks until a tick releases nothing.
    pub fn drain(&mut self) -> Vec<Value> {
        self.advance(3_600_000);
        let mut out = Vec::new();
        while let Some(event) = self.tick() {
            out.push(event);
            assert!(out.len() < 100_000, "ticks never stop releasing");
        }
        out
    }
}

impl Default for Driver {
    fn default() -> Self {
        Self::new()
    }
}

pub fn parse(outcome: Outcome) -> Option<Value> {
    match outcome {
        Outcome::Emitted(json) => Some(serde_json::from_str(&json).expect("emitted JSON parses")),
        Outcome::Dropped => None,
        Outcome::Rejected(line) => panic!("the host rejected the module's answer: {line}"),
    }
}

/// The lines of an event's `log_content`.
pub fn content_lines(event: &Value) -> Vec<String> {
    event["log_content"]
        .as_str()
        .unwrap_or_else(|| panic!("event without log_content: {event}"))
        .split('\n')
        .map(str::to_string)
        .collect()
}

pub fn fault_kind(event: &Value) -> Option<&str> {
    event
        .get("fault")
        .and_then(|f| f.get("kind"))
        .and_then(Value::as_str)
}
