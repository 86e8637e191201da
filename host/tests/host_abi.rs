//! The host's side of Fluent Bit's calling convention, checked with a small hand-written
//! module (not the plugin): copies with a trailing NUL, pointer 0 with the real length when
//! the app heap is too small, how answers are read, `_initialize`, and the WASI imports.

use cali_host::{Clock, HostError, Outcome, WasmFilter, WasmFilterOptions};

/// The tag's first byte picks what `cali_filter` does.
const MODULE: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $inits (mut i32) (i32.const 0))
  (data (i32.const 16) "{\"ok\":true}\00")
  (data (i32.const 32) "{\"ok\":false}\00")
  (data (i32.const 48) "{\"tag_lost\":true}\00")
  (data (i32.const 80) "[1,2]\00")
  (data (i32.const 96) "\00")
  (data (i32.const 112) "cali: hello\n")
  (func (export "_initialize")
    (global.set $inits (i32.add (global.get $inits) (i32.const 1))))
  (func $yes_no (param $yes i32) (result i32)
    (select (i32.const 16) (i32.const 32) (local.get $yes)))
  (func (export "cali_filter")
    (param $tag i32) (param $tag_len i32) (param $sec i32) (param $nsec i32)
    (param $rec i32) (param $rec_len i32) (result i32)
    (local $cmd i32)
    (if (i32.eqz (local.get $tag)) (then (return (i32.const 48))))
    (local.set $cmd (i32.load8_u (local.get $tag)))
    ;; e: echo the record (its copy must end with a NUL); a lost record answers whether
    ;; the real length arrived (20000).
    (if (i32.eq (local.get $cmd) (i32.const 101)) (then
      (if (i32.eqz (local.get $rec))
        (then (return (call $yes_no (i32.eq (local.get $rec_len) (i32.const 20000))))))
      (return (local.get $rec))))
    (if (i32.eq (local.get $cmd) (i32.const 97)) (then (return (i32.const 80))))    ;; a: array
    (if (i32.eq (local.get $cmd) (i32.const 100)) (then (return (i32.const 96))))   ;; d: empty
    (if (i32.eq (local.get $cmd) (i32.const 122)) (then (return (i32.const 0))))    ;; z: null
    (if (i32.eq (local.get $cmd) (i32.const 111)) (then (return (i32.const 0x7fffff00)))) ;; o
    ;; w: write "cali: hello\n" to fd 2, then drop
    (if (i32.eq (local.get $cmd) (i32.const 119)) (then
      (i32.store (i32.const 128) (i32.const 112))
      (i32.store (i32.const 132) (i32.const 12))
      (drop (call $fd_write (i32.const 2) (i32.const 128) (i32.const 1) (i32.const 140)))
      (return (call $yes_no (i32.eq (i32.load (i32.const 140)) (i32.const 12))))))
    ;; c: is the monotonic clock at least 5 s?
    (if (i32.eq (local.get $cmd) (i32.const 99)) (then
      (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 160)))
      (return (call $yes_no (i64.ge_u (i64.load (i32.const 160)) (i64.const 5000000000))))))
    ;; x: proc_exit traps
    (if (i32.eq (local.get $cmd) (i32.const 120)) (then (call $exit (i32.const 3))))
    ;; p: an import the host does not implement answers ERRNO_NOSYS (52)
    (if (i32.eq (local.get $cmd) (i32.const 112)) (then
      (return (call $yes_no (i32.eq (i32.const 52)
        (call $path_open (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                         (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0)))))))
    ;; i: _initialize ran exactly once
    (if (i32.eq (local.get $cmd) (i32.const 105)) (then
      (return (call $yes_no (i32.eq (global.get $inits) (i32.const 1))))))
    ;; t: the record time arrives as given
    (if (i32.eq (local.get $cmd) (i32.const 116)) (then
      (return (call $yes_no (i32.and (i32.eq (local.get $sec) (i32.const 1700000000))
                                     (i32.eq (local.get $nsec) (i32.const 123))))))) 
    (i32.const 96))
)
"#;

fn host(heap_size: u32) -> WasmFilter {
    let wasm = wat::parse_str(MODULE).expect("the test module assembles");
    let options = WasmFilterOptions {
        heap_size,
        clock: Clock::virtual_at_zero(),
        forward_output: false,
        ..WasmFilterOptions::default()
    };
    WasmFilter::from_bytes(&wasm, options).expect("the test module loads")
}

fn call(filter: &mut WasmFilter, tag: &str, record: &str) -> Outcome {
    filter
        .call(tag.as_bytes(), (1_700_000_000, 123), record.as_bytes())
        .expect("no trap")
}

fn emitted(json: &str) -> Outcome {
    Outcome::Emitted(json.to_string())
}

#[test]
fn records_are_copied_with_a_nul_and_freed_after_the_call() {
    let mut filter = host(64 * 1024);
    let long = r#"{"log":"a much longer record that leaves bytes behind in the heap"}"#;
    assert_eq!(call(&mut filter, "echo", long), emitted(long));
    // The same heap block again, shorter: only the NUL stops the read at the right place.
    assert_eq!(
        call(&mut filter, "echo", r#"{"a":1}"#),
        emitted(r#"{"a":1}"#)
    );
    assert_eq!(filter.heap().free_bytes(), filter.heap().size());
    assert_eq!(filter.stats().records_out, 2);
}

#[test]
fn a_record_larger_than_the_heap_is_passed_as_pointer_0_with_its_real_length() {
    let mut filter = host(8 * 1024);
    let record = format!(r#"{{"log":"{}"}}"#, "x".repeat(20_000 - 10));
    assert_eq!(record.len(), 20_000);
    assert_eq!(
        call(&mut filter, "echo", &record),
        emitted(r#"{"ok":true}"#)
    );
    assert_eq!(filter.stats().lost_in_host, 1);
    assert!(filter.host_log()[0].contains("allocate 20001 bytes memory failed"));
    // A tag that does not fit arrives as pointer 0 too.
    let tag = "e".repeat(9000);
    assert_eq!(
        call(&mut filter, &tag, "{}"),
        emitted(r#"{"tag_lost":true}"#)
    );
    // And the heap is whole again: a record that fits is copied normally.
    assert_eq!(
        call(&mut filter, "echo", r#"{"b":2}"#),
        emitted(r#"{"b":2}"#)
    );
}

#[test]
fn answers_are_read_as_fluent_bit_reads_them() {
    let mut filter = host(64 * 1024);
    assert_eq!(call(&mut filter, "drop", "{}"), Outcome::Dropped);
    let Outcome::Rejected(line) = call(&mut filter, "array", "{}") else {
        panic!("a JSON array is not a record");
    };
    assert!(line.contains("invalid JSON format"), "{line}");
    assert!(matches!(
        call(&mut filter, "zero", "{}"),
        Outcome::Rejected(_)
    ));
    assert!(matches!(
        call(&mut filter, "oob", "{}"),
        Outcome::Rejected(_)
    ));
    let stats = filter.stats();
    assert_eq!(
        (
            stats.records_in,
            stats.dropped,
            stats.errors,
            stats.records_out
        ),
        (4, 1, 3, 0)
    );
}

#[test]
fn initialize_runs_once_and_time_arrives_as_given() {
    let mut filter = host(64 * 1024);
    assert_eq!(call(&mut filter, "init", "{}"), emitted(r#"{"ok":true}"#));
    assert_eq!(call(&mut filter, "init", "{}"), emitted(r#"{"ok":true}"#));
    assert_eq!(call(&mut filter, "time", "{}"), emitted(r#"{"ok":true}"#));
}

#[test]
fn wasi_imports_behave_as_documented() {
    let mut filter = host(64 * 1024);
    assert_eq!(call(&mut filter, "write", "{}"), emitted(r#"{"ok":true}"#));
    assert_eq!(filter.module_stderr(), "cali: hello\n");
    assert_eq!(call(&mut filter, "clock", "{}"), emitted(r#"{"ok":false}"#));
    filter.advance_ms(5000);
    assert_eq!(call(&mut filter, "clock", "{}"), emitted(r#"{"ok":true}"#));
    assert_eq!(
        call(&mut filter, "path_open", "{}"),
        emitted(r#"{"ok":true}"#)
    );
    assert_eq!(
        filter.stubbed_imports(),
        ["wasi_snapshot_preview1.path_open"]
    );
    assert!(matches!(
        filter.call(b"x", (0, 0), b"{}"),
        Err(HostError::Trap(_))
    ));
}

#[test]
fn the_benchmark_echo_module_is_what_its_text_says() {
    let text = r#"(module (memory (export "memory") 1)
        (func (export "cali_filter") (param i32 i32 i32 i32 i32 i32) (result i32) local.get 4))"#;
    assert_eq!(
        cali_host::bench::ECHO_MODULE,
        wat::parse_str(text).unwrap().as_slice()
    );
    let mut filter =
        WasmFilter::from_bytes(cali_host::bench::ECHO_MODULE, WasmFilterOptions::default())
            .unwrap();
    assert_eq!(call(&mut filter, "t", r#"{"x":1}"#), emitted(r#"{"x":1}"#));
}
