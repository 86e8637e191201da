//! Writes seed inputs for the `filter` fuzz target into `corpus/filter/`: the first 40 traces
//! of the multi-line corpus (`CALI_CORPUS_DIR`, else `../../../shared/corpus`), each line a
//! record of the kinds the target knows (mostly log lines as JSON strings, every fourth one
//! placed raw inside `{"log":"…"}`), on one or two tags, with a settings tick every 25 lines
//! and a record passed through, a broken one and a lost one at the end.
//!   cd plugin/fuzz && cargo run --example filter_seeds
//!   RUSTC_BOOTSTRAP=1 cargo fuzz run filter -- -max_total_time=600 -max_len=8192

use std::path::{Path, PathBuf};

fn main() {
    let dir = match std::env::var_os("CALI_CORPUS_DIR") {
        Some(d) => PathBuf::from(d).join("multiline"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/multiline"),
    };
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (set CALI_CORPUS_DIR)", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    traces.sort();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/filter");
    std::fs::create_dir_all(&out).expect("corpus/filter");
    for (i, path) in traces.iter().take(40).enumerate() {
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("a trace")).into_owned();
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        for (j, line) in text.split('\n').take(60).enumerate() {
            // The target reads bits 2-3 of the first byte as the kind (1: a JSON string,
            // 2: raw inside the string), bits 0-1 as the tag, bits 4-7 as time passing.
            let raw = (i + j) % 4 == 3;
            let tag = if i % 3 == 0 { j % 2 } else { 0 } as u8;
            let time = if j % 7 == 0 { 0x10 } else { 0 };
            let mut chunk = vec![(if raw { 2 << 2 } else { 1 << 2 }) | tag | time];
            if raw {
                let quoted = serde_json::to_string(line).expect("a string");
                chunk.extend_from_slice(quoted[1..quoted.len() - 1].as_bytes());
            } else {
                chunk.extend_from_slice(line.as_bytes());
            }
            chunks.push(chunk);
            if j % 25 == 24 {
                let mut tick = vec![0x7c];
                tick.extend_from_slice(br#""idle_timeout_ms":10,"max_lines":7"#);
                chunks.push(tick);
            }
        }
        chunks.push(b"\x00{\"other\":1}".to_vec());
        chunks.push(b"\x00not json".to_vec());
        chunks.push(b"\x80lost".to_vec());
        let mut data = vec![3, 30, 0xff, 0x0f];
        data.extend_from_slice(&chunks.join(&0xff_u8));
        std::fs::write(out.join(format!("seed-{i:02}")), data).expect("a seed");
    }
    println!("{} seeds in {}", traces.len().min(40), out.display());
}
