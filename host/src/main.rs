//! `cali-host`: runs CALI's `.wasm` filter the way Fluent Bit's `wasm` filter does.
//! `run` shows what the filter does to a log file; `bench` measures it against the
//! native build of the same filter.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cali_host::bench;
use cali_host::pipeline::Emitted;
use cali_host::record::StringStyle;
use cali_host::{Clock, Framing, Pipeline, PipelineOptions, WasmFilter, WasmFilterOptions};

const HELP: &str = "\
cali-host: runs CALI's .wasm filter exactly as Fluent Bit's wasm filter calls it
(one call per record, tag and record copied into an app heap of Wasm_Heap_Size bytes,
the answer read as a NUL-terminated JSON object; ticks from a dummy input flush held events).

USAGE:
  cali-host run   --wasm PATH [OPTIONS] < FILE
  cali-host bench [--wasm PATH] [--lines N] [--seed N] [--log FILE] [--fuel-only]
  cali-host --help

run: feeds each line of standard input to the filter as one record and prints every record
that leaves the filter as one JSON line on stdout (what Fluent Bit's stdout/file output would
carry); a summary goes to stderr. Time is virtual: it advances --line-ms per line, a tick is
sent at the start and then every --tick-ms; at end of input the clock moves past the idle
timeout and ticks are sent until one releases nothing.
  --wasm PATH             the module (build it with scripts/build-plugin → target/cali.wasm)
  --format raw|cri|docker how lines are framed before the filter, as tail's
                          `multiline.parser cri, docker` does [default: raw]
                            raw:    each line is a record {\"log\": line}, no stream
                            cri:    `TIME STREAM P|F text`, P partials joined per stream
                            docker: `{\"log\":..,\"stream\":..,\"time\":..}`, a log without
                                    trailing newline is joined with the next of its stream
  --tag TAG               tag of the input records [default: kube.app]
  --tick-ms MS            virtual milliseconds between flush ticks [default: 200]
  --line-ms MS            virtual milliseconds between input lines [default: 1]
  --settings JSON         filter settings carried by every tick, e.g. '{\"max_lines\":100}'
                          [default: none, the filter's defaults]
  --heap-size BYTES       Fluent Bit's Wasm_Heap_Size: the largest tag or record the host can
                          hand over (bigger ones arrive as pointer 0) [default: 4194304,
                          the shipped configuration's value; Fluent Bit's own is 8192]
  --kubernetes-json JSON  a `kubernetes` object added to every log record, as Fluent Bit's
                          kubernetes filter does, e.g. '{\"labels\":{\"app\":\"shop\"}}'
  --real-clock            use the host's real clocks instead of virtual time
  --escape-unicode        write the records' strings as Fluent Bit does with its default
                          `json.escape_unicode on`: non-ASCII as \\uXXXX, broken bytes as
                          U+E000 + the byte [default: off, as the shipped configurations
                          set it: UTF-8 as it is, broken bytes as U+FFFD]

bench: generates a mixed container log deterministically (Spring Boot, Python logging,
klog, JSON and nginx lines in 8 interleaved streams, real traces from the corpus spliced
in) and runs it through the .wasm in wasmi (as tail gives the records of a plain file, and
as the shipped pipeline gives them on a containerd node: CRI members and a ~700-byte
`kubernetes` object) and through the native filter; prints a
markdown table (lines/s, MiB/s, µs/line, events out, peak RSS, linear memory), then wasmi's
fuel per line: the instructions it executed, a measure of the module's work that does not
depend on the machine or its load (compare two builds with it on a busy machine).
  --wasm PATH             the module [default: target/cali.wasm]
  --lines N               lines to generate [default: 300000]
  --seed N                generator seed [default: 1]
  --corpus DIR            the shared corpus (its multiline/ traces) [default: $CALI_CORPUS_DIR,
                          else ../shared/corpus beside the workspace]
  --log FILE              bench these lines instead (one stream, one record per line)
  --fuel-only             only the fuel per line (no timed runs)
";

fn main() {
    if let Err(error) = run_cli(std::env::args().skip(1).collect()) {
        eprintln!("cali-host: {error:#}");
        std::process::exit(2);
    }
}

fn run_cli(args: Vec<String>) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(());
    };
    match command.as_str() {
        "-h" | "--help" | "help" => {
            print!("{HELP}");
            Ok(())
        }
        "run" => run(Flags::parse(rest)?),
        "bench" => bench_command(Flags::parse(rest)?),
        other => bail!("unknown command `{other}` (run, bench or --help)"),
    }
}

/// `--name value` pairs and bare `--switch`es.
struct Flags(Vec<(String, Option<String>)>);

impl Flags {
    const SWITCHES: [&'static str; 4] =
        ["--real-clock", "--escape-unicode", "--help", "--fuel-only"];

    fn parse(args: &[String]) -> Result<Self> {
        let mut flags = Vec::new();
        let mut iter = args.iter();
        while let Some(name) = iter.next() {
            if !name.starts_with("--") {
                bail!("unexpected argument `{name}` (see --help)");
            }
            if let Some((n, v)) = name.split_once('=') {
                flags.push((n.to_string(), Some(v.to_string())));
            } else if Self::SWITCHES.contains(&name.as_str()) {
                flags.push((name.clone(), None));
            } else {
                let value = iter
                    .next()
                    .with_context(|| format!("{name} needs a value"))?;
                flags.push((name.clone(), Some(value.clone())));
            }
        }
        Ok(Self(flags))
    }

    fn check_known(&self, known: &[&str]) -> Result<()> {
        for (name, _) in &self.0 {
            if name == "--help" {
                print!("{HELP}");
                std::process::exit(0);
            }
            if !known.contains(&name.as_str()) {
                bail!("unknown option {name} (see --help)");
            }
        }
        Ok(())
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.value(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|e| anyhow::anyhow!("{name} {text}: {e}")),
        }
    }
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(flags: Flags) -> Result<()> {
    flags.check_known(&[
        "--wasm",
        "--format",
        "--tag",
        "--tick-ms",
        "--line-ms",
        "--settings",
        "--heap-size",
        "--kubernetes-json",
        "--real-clock",
        "--escape-unicode",
    ])?;
    let wasm = flags
        .value("--wasm")
        .context("--wasm PATH is required (build the module with scripts/build-plugin)")?;
    let framing: Framing = flags
        .value("--format")
        .unwrap_or("raw")
        .parse()
        .map_err(anyhow::Error::msg)?;
    let settings = match flags.value("--settings") {
        None => serde_json::Map::new(),
        Some(text) => match serde_json::from_str(text).context("--settings")? {
            serde_json::Value::Object(map) => map,
            _ => bail!("--settings must be a JSON object"),
        },
    };
    let mut extra = Vec::new();
    if let Some(text) = flags.value("--kubernetes-json") {
        let value: serde_json::Value = serde_json::from_str(text).context("--kubernetes-json")?;
        if !value.is_object() {
            bail!("--kubernetes-json must be a JSON object");
        }
        extra.push(("kubernetes".to_string(), value.to_string()));
    }
    let options = PipelineOptions {
        framing,
        tag: flags.value("--tag").unwrap_or("kube.app").to_string(),
        tick_ms: flags.number("--tick-ms", 200)?,
        line_ms: flags.number("--line-ms", 1)?,
        settings,
        extra,
        string_style: if flags.has("--escape-unicode") {
            StringStyle::Escaped
        } else {
            StringStyle::Raw
        },
    };
    let filter_options = WasmFilterOptions {
        heap_size: flags.number("--heap-size", cali_host::DEFAULT_HEAP_SIZE)?,
        clock: if flags.has("--real-clock") {
            Clock::real()
        } else {
            Clock::virtual_at_zero()
        },
        forward_output: true,
        count_fuel: false,
    };
    let filter = WasmFilter::load(Path::new(wasm), filter_options)?;
    for import in filter.stubbed_imports() {
        eprintln!("cali-host: import {import} answers ERRNO_NOSYS");
    }
    let mut pipeline = Pipeline::new(filter, options);

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    let mut emit = |emitted: Emitted| {
        if write_error.is_none() {
            if let Err(e) = writeln!(out, "{}", emitted.json) {
                write_error = Some(e);
            }
        }
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("reading stdin")?
            == 0
        {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        pipeline.push_line(cali_host::record::tail_line(&line), &mut emit)?;
    }
    let summary = pipeline.finish(&mut emit)?;
    if let Some(e) = write_error {
        return Err(e).context("writing stdout");
    }
    out.flush().context("writing stdout")?;
    eprintln!("cali-host: {summary}");
    Ok(())
}

fn bench_command(flags: Flags) -> Result<()> {
    flags.check_known(&[
        "--wasm",
        "--lines",
        "--seed",
        "--corpus",
        "--log",
        "--fuel-only",
    ])?;
    let wasm_path = flags
        .value("--wasm")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target/cali.wasm"));
    let wasm = std::fs::read(&wasm_path).with_context(|| {
        format!(
            "reading {} (build it with scripts/build-plugin)",
            wasm_path.display()
        )
    })?;
    let lines: usize = flags.number("--lines", 300_000)?;
    let seed: u64 = flags.number("--seed", 1)?;
    let corpus = flags
        .value("--corpus")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CALI_CORPUS_DIR").map(PathBuf::from))
        .unwrap_or_else(|| workspace_dir().join("../shared/corpus"));
    let traces = bench::load_traces(&corpus);
    if traces.is_empty() {
        eprintln!(
            "cali-host: no traces found under {}/multiline: ordinary lines only",
            corpus.display()
        );
    }
    let records = match flags.value("--log") {
        Some(path) => bench::from_log(
            &std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
        ),
        None => bench::generate(lines, seed, &traces),
    };
    let lines = records.len();
    // The kubernetes variant of the input exists only while it is measured, and the fuel
    // runs come last, so that neither counts in the timed runs' peak RSS.
    let fuel = || -> Result<String> {
        Ok(format!(
            "wasmi fuel per line (instructions executed): {:.0}, as the shipped pipeline frames them (CRI, kubernetes metadata) {:.0}\n",
            bench::fuel_per_line(&wasm, &records)?,
            bench::fuel_per_line(&wasm, &bench::with_kubernetes(&records))?,
        ))
    };
    if flags.has("--fuel-only") {
        print!("{}", fuel()?);
        return Ok(());
    }
    let baseline = bench::rss_kib();
    let native = bench::run_native(&records);
    let interpreted = bench::run_wasm("cali.wasm in wasmi (interpreted)", &wasm, &records, true)?;
    let kubernetes = bench::run_wasm(
        "cali.wasm in wasmi, CRI records with kubernetes metadata",
        &wasm,
        &bench::with_kubernetes(&records),
        true,
    )?;
    let floor = bench::run_wasm(
        "floor: a module returning its input, in wasmi",
        bench::ECHO_MODULE,
        &records,
        false,
    )?;
    print!(
        "{}",
        bench::report(
            &[interpreted, kubernetes, native, floor],
            wasm.len(),
            lines,
            match flags.value("--log") {
                Some(path) => bench::Source::Log(path),
                None => bench::Source::Generated {
                    seed,
                    traces: traces.len(),
                },
            },
            baseline
        )
    );
    print!("{}", fuel()?);
    Ok(())
}
