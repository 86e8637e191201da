//! The `wasi_snapshot_preview1` functions the module imports, implemented by hand: an empty
//! environment, the host's `Clock`, stdout/stderr captured (and forwarded), `proc_exit` as a
//! trap. Any other import is a stub answering ERRNO_NOSYS, so a new import never stops loading.

use wasmi::{Caller, Error, Extern, Linker, Memory, Module, Val};

use crate::clock::Clock;

pub const WASI_MODULE: &str = "wasi_snapshot_preview1";
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
pub const ERRNO_NOSYS: i32 = 52;

/// The WASI functions implemented here; every other import gets the NOSYS stub.
const IMPLEMENTED: [&str; 9] = [
    "fd_write",
    "clock_time_get",
    "random_get",
    "environ_sizes_get",
    "environ_get",
    "args_sizes_get",
    "args_get",
    "proc_exit",
    "sched_yield",
];

/// What the module's host functions see: the clock and what the module printed.
#[derive(Debug)]
pub struct HostState {
    pub clock: Clock,
    /// Everything the module wrote to fd 1 / fd 2.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Also copy the module's output to the host's stderr, as Fluent Bit shows it in its log.
    pub forward_output: bool,
    /// State of the deterministic generator behind `random_get`.
    pub random: cali_plugin::hash::SplitMix64,
}

impl HostState {
    pub fn new(clock: Clock, forward_output: bool) -> Self {
        Self {
            clock,
            stdout: Vec::new(),
            stderr: Vec::new(),
            forward_output,
            random: cali_plugin::hash::SplitMix64(0x5eed_ca11_0000_0001),
        }
    }
}

fn memory(caller: &Caller<'_, HostState>) -> Option<Memory> {
    caller.get_export("memory").and_then(Extern::into_memory)
}

fn write_bytes(caller: &mut Caller<'_, HostState>, addr: i32, bytes: &[u8]) -> Result<(), ()> {
    let memory = memory(caller).ok_or(())?;
    let data = memory.data_mut(caller);
    let start = addr as u32 as usize;
    let end = start.checked_add(bytes.len()).ok_or(())?;
    data.get_mut(start..end).ok_or(())?.copy_from_slice(bytes);
    Ok(())
}

fn errno(result: Result<(), ()>) -> i32 {
    match result {
        Ok(()) => ERRNO_SUCCESS,
        Err(()) => ERRNO_FAULT,
    }
}

fn read_u32(data: &[u8], addr: usize) -> Option<u32> {
    let bytes = data.get(addr..addr.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn fd_write(
    mut caller: Caller<'_, HostState>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> i32 {
    if fd != 1 && fd != 2 {
        return ERRNO_BADF;
    }
    let Some(memory) = memory(&caller) else {
        return ERRNO_FAULT;
    };
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let mut written: u32 = 0;
    let mut gathered = Vec::new();
    for i in 0..iovs_len.max(0) as usize {
        let entry = iovs as u32 as usize + i * 8;
        let (Some(ptr), Some(len)) = (read_u32(data, entry), read_u32(data, entry + 4)) else {
            return ERRNO_FAULT;
        };
        let (ptr, len) = (ptr as usize, len as usize);
        let Some(bytes) = ptr.checked_add(len).and_then(|end| data.get(ptr..end)) else {
            return ERRNO_FAULT;
        };
        gathered.extend_from_slice(bytes);
        written = written.wrapping_add(len as u32);
    }
    if state.forward_output {
        // eprint! (not a raw stderr handle) so that test harnesses capture it per test.
        eprint!("{}", String::from_utf8_lossy(&gathered));
    }
    if fd == 1 {
        state.stdout.extend_from_slice(&gathered);
    } else {
        state.stderr.extend_from_slice(&gathered);
    }
    errno(write_bytes(&mut caller, nwritten, &written.to_le_bytes()))
}

fn clock_time_get(mut caller: Caller<'_, HostState>, id: i32, _precision: i64, out: i32) -> i32 {
    let clock = &caller.data().clock;
    let ns = match id {
        0 => clock.realtime_ns(),
        // MONOTONIC, PROCESS_CPUTIME, THREAD_CPUTIME
        1..=3 => clock.monotonic_ns(),
        _ => return ERRNO_INVAL,
    };
    errno(write_bytes(&mut caller, out, &ns.to_le_bytes()))
}

fn random_get(mut caller: Caller<'_, HostState>, buf: i32, len: i32) -> i32 {
    // Deterministic (splitmix64) so that runs and tests repeat exactly.
    let mut bytes = Vec::with_capacity(len.max(0) as usize);
    let rng = &mut caller.data_mut().random;
    while bytes.len() < len.max(0) as usize {
        bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    bytes.truncate(len.max(0) as usize);
    errno(write_bytes(&mut caller, buf, &bytes))
}

/// `environ_sizes_get` / `args_sizes_get` of an empty list: no entries, no bytes.
fn empty_list_sizes(mut caller: Caller<'_, HostState>, count: i32, size: i32) -> i32 {
    errno(
        write_bytes(&mut caller, count, &0u32.to_le_bytes())
            .and_then(|()| write_bytes(&mut caller, size, &0u32.to_le_bytes())),
    )
}

/// Defines every function the module imports: the WASI subset above, and a NOSYS stub for
/// the rest (any module name).
pub fn define_imports(linker: &mut Linker<HostState>, module: &Module) -> Result<(), Error> {
    let w = WASI_MODULE;
    linker.func_wrap(w, "fd_write", fd_write)?;
    linker.func_wrap(w, "clock_time_get", clock_time_get)?;
    linker.func_wrap(w, "random_get", random_get)?;
    // Fluent Bit passes no environment and no arguments: both lists are empty.
    linker.func_wrap(w, "environ_sizes_get", empty_list_sizes)?;
    linker.func_wrap(
        w,
        "environ_get",
        |_: Caller<'_, HostState>, _environ: i32, _buf: i32| -> i32 { ERRNO_SUCCESS },
    )?;
    linker.func_wrap(w, "args_sizes_get", empty_list_sizes)?;
    linker.func_wrap(
        w,
        "args_get",
        |_: Caller<'_, HostState>, _argv: i32, _buf: i32| -> i32 { ERRNO_SUCCESS },
    )?;
    linker.func_wrap(
        w,
        "proc_exit",
        |_: Caller<'_, HostState>, code: i32| -> Result<(), Error> { Err(Error::i32_exit(code)) },
    )?;
    linker.func_wrap(w, "sched_yield", |_: Caller<'_, HostState>| -> i32 {
        ERRNO_SUCCESS
    })?;

    for import in module.imports() {
        if import.module() == w && IMPLEMENTED.contains(&import.name()) {
            continue;
        }
        let Some(ty) = import.ty().func().cloned() else {
            continue; // memories, tables, globals: instantiation reports them as missing
        };
        let results: Vec<_> = ty.results().to_vec();
        linker.func_new(
            import.module(),
            import.name(),
            ty,
            move |_caller, _params: &[Val], out: &mut [Val]| {
                for (slot, ty) in out.iter_mut().zip(&results) {
                    *slot = match ty {
                        wasmi::ValType::I32 => Val::I32(ERRNO_NOSYS),
                        other => Val::default_for_ty(*other),
                    };
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// The names of the module's imports that only get the NOSYS stub.
pub fn stubbed_imports(module: &Module) -> Vec<String> {
    module
        .imports()
        .filter(|i| i.ty().func().is_some())
        .filter(|i| !(i.module() == WASI_MODULE && IMPLEMENTED.contains(&i.name())))
        .map(|i| format!("{}.{}", i.module(), i.name()))
        .collect()
}
