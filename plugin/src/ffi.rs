//! The entry point Fluent Bit's `wasm` filter calls, and all of the plugin's `unsafe`.
//!
//! Fluent Bit (>= 4.1) instantiates the module once per `[FILTER]` and calls
//! `cali_filter` once per record with the tag and the record's JSON text copied into the
//! module's app heap. It `strdup`s the NUL-terminated string we return right after the
//! call, so the answer lives in one module-owned buffer reused on every call.

use std::cell::RefCell;

use crate::filter::{Filter, Input};
use crate::settings::Settings;
use crate::timestamp::Timestamp;

struct State {
    filter: Filter,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// # Safety
/// Called by the host with pointers into this module's linear memory, each valid for its
/// length, or 0 when the host could not copy the data in.
#[no_mangle]
pub unsafe extern "C" fn cali_filter(
    tag: *const u8,
    tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    let tag = if tag.is_null() {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(tag, tag_len as usize) }
    };
    let input = if record.is_null() {
        Input::LostInHost {
            len: record_len as usize,
        }
    } else {
        // SAFETY: as above.
        Input::Record(unsafe { std::slice::from_raw_parts(record, record_len as usize) })
    };
    let time = Timestamp::new(i64::from(time_sec), time_nsec);
    STATE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let state = guard.get_or_insert_with(|| State {
            filter: Filter::new(Settings::default()),
        });
        let now_ms = monotonic_ms();
        // The answer (JSON text + NUL, or a lone NUL = drop) stays valid until the next
        // call; the host copies it right after this one.
        state.filter.process_nul(tag, time, input, now_ms).as_ptr()
    })
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    /// WASI's clock, called directly: `Instant::now()` reaches it through four more
    /// calls, and this runs for every record.
    fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> u16;
}

/// WASI's monotonic clock (id 1) in milliseconds; 0 if the host refuses it.
fn monotonic_ms() -> u64 {
    const MONOTONIC: u32 = 1;
    let mut ns = 0u64;
    // SAFETY: the host writes one u64 through the pointer, which is valid and aligned.
    let errno = unsafe { clock_time_get(MONOTONIC, 1_000_000, &mut ns) };
    if errno == 0 {
        ns / 1_000_000
    } else {
        0
    }
}

extern "C" {
    /// Synthesized by the linker: runs static constructors (wasi-libc's among them).
    fn __wasm_call_ctors();
}

/// WASI reactor entry: Fluent Bit's runtime calls it once after instantiation; exporting
/// it makes the module a reactor, which loads without the "should be either a command or
/// a reactor" warning.
#[no_mangle]
pub extern "C" fn _initialize() {
    // SAFETY: called once by the host before any other export, as the WASI reactor ABI says.
    unsafe { __wasm_call_ctors() }
}
