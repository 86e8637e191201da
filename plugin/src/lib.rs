//! CALI's Fluent Bit filter, as plain Rust: header parsing, multi-line stack-trace
//! grouping and fingerprints. Builds and tests natively; `ffi` is the only part that
//! knows about Fluent Bit's `wasm` filter, and it and `allocator` hold all of the `unsafe`,
//! but for four `from_utf8_unchecked` on bytes already checked and one `get_unchecked` of a
//! `str` at ASCII bytes, each with its argument (`bytes::utf8`, a record's string and its
//! unescaped text and the JSON scanner's slices in `json`, a record of a known shape in
//! `filter`).

pub mod allocator;
pub mod bytes;
pub mod event;
pub mod exception;
pub mod filter;
pub mod fingerprint;
pub mod grouper;
pub mod hash;
pub mod header;
pub mod json;
pub mod language;
pub mod memo;
pub mod settings;
pub mod streams;
pub mod timestamp;

#[cfg(target_arch = "wasm32")]
mod ffi;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: allocator::SizeClasses = allocator::SizeClasses::new();

pub use filter::Filter;
pub use settings::Settings;
