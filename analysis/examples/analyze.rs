//! Analyses incident files (JSON `IncidentInput`) in order with the offline analyst, the
//! default embedder and an in-memory store, and prints each analysis as JSON.
//!
//! `cargo run -p cali-analysis --example analyze -- --runbooks runbooks \
//!     --resolve-first "note" analysis/testdata/incidents/past-pool-exhausted.json \
//!     analysis/testdata/incidents/pool-exhausted.json`
//!
//! `--resolve-first NOTE` attaches NOTE as the human resolution of the first incident
//! before the next ones are analysed. `--hashed` uses the hashed-features embedder instead
//! of the default (MiniLM when its weights are found; slow in a debug build).

use std::path::PathBuf;
use std::sync::Arc;

use cali_analysis::{AnalysisConfig, AnalysisPipeline, Analyzer, IncidentInput, PipelineOptions};
use cali_retrieval::{default_embedder, ingest_runbooks, Embedder, HashedEmbedder, LocalStore};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut runbooks: Option<PathBuf> = None;
    let mut resolve_first: Option<String> = None;
    let mut files = Vec::new();
    let mut hashed = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runbooks" => runbooks = args.next().map(PathBuf::from),
            "--resolve-first" => resolve_first = args.next(),
            "--hashed" => hashed = true,
            _ => files.push(PathBuf::from(arg)),
        }
    }
    let embedder: Arc<dyn Embedder> = if hashed {
        Arc::new(HashedEmbedder::new(384))
    } else {
        default_embedder(None)
    };
    let store = Arc::new(LocalStore::in_memory()?);
    if let Some(dir) = &runbooks {
        let chunks = ingest_runbooks(dir, embedder.as_ref(), store.as_ref()).await?;
        eprintln!(
            "ingested {chunks} runbook sections from {} with {}",
            dir.display(),
            embedder.model_id()
        );
    }
    let pipeline = AnalysisPipeline::new(
        AnalysisConfig::default(),
        embedder,
        store,
        PipelineOptions::default(),
    )?;
    for (i, file) in files.iter().enumerate() {
        let incident: IncidentInput = serde_json::from_str(&std::fs::read_to_string(file)?)?;
        let analysis = pipeline.analyze(&incident).await;
        println!(
            "# {}\n{}",
            file.display(),
            serde_json::to_string_pretty(&analysis)?
        );
        if i == 0 {
            if let Some(note) = &resolve_first {
                let found = pipeline.resolve(&incident.fingerprint, note).await?;
                eprintln!("resolved incident:{} ({found})", incident.fingerprint);
            }
        }
    }
    Ok(())
}
