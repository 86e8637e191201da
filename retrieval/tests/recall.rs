//! Retrieval quality over the labelled set: recall@5 of the right runbook page and past
//! incident, for MiniLM (asserted >= 0.9) and for the hashed fallback (reported).

use std::path::{Path, PathBuf};

use cali_retrieval::embed::locate_model_dir;
use cali_retrieval::evaluation::{
    evaluate_recall, read_jsonl, LabelledIncident, PastIncident, RecallReport,
};
use cali_retrieval::{Embedder, HashedEmbedder, LocalStore, MiniLmEmbedder};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

async fn recall_at_5(embedder: &dyn Embedder) -> RecallReport {
    let past: Vec<PastIncident> =
        read_jsonl(&root().join("testdata/past_incidents.jsonl")).unwrap();
    let labelled: Vec<LabelledIncident> =
        read_jsonl(&root().join("testdata/incidents.jsonl")).unwrap();
    let store = LocalStore::in_memory().unwrap();
    let report = evaluate_recall(
        embedder,
        &store,
        &root().join("../runbooks"),
        &past,
        &labelled,
        5,
    )
    .await
    .unwrap();
    println!(
        "{}: recall@5 {:.3} (runbooks {}/{}, past incidents {}/{}), misses: {:?}",
        embedder.model_id(),
        report.recall(),
        report.runbook_found,
        report.runbook_total,
        report.incident_found,
        report.incident_total,
        report.misses
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labelled_set_covers_every_runbook_and_language() {
    let labelled: Vec<LabelledIncident> =
        read_jsonl(&root().join("testdata/incidents.jsonl")).unwrap();
    let mut pages: Vec<String> = std::fs::read_dir(root().join("../runbooks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect();
    pages.sort();
    for page in &pages {
        let n = labelled.iter().filter(|q| &q.runbook == page).count();
        assert!(n >= 5, "{page} has only {n} labelled incidents");
    }
    for q in &labelled {
        assert!(
            pages.contains(&q.runbook),
            "{} points at a missing page {}",
            q.id,
            q.runbook
        );
    }
    for language in ["java", "python", "go", "node", "dotnet", "ruby"] {
        assert!(
            labelled.iter().filter(|q| q.language == language).count() >= 10,
            "{language}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_fallback_recall_at_5() {
    let report = recall_at_5(&HashedEmbedder::new(384)).await;
    assert!(report.runbook_total > 70);
    // The fallback is weaker than MiniLM; this floor guards against it breaking outright.
    assert!(
        report.recall() >= 0.6,
        "hashed recall@5 {:.3}",
        report.recall()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minilm_recall_at_5_is_at_least_0_9() {
    let Some(dir) = locate_model_dir() else {
        assert!(
            std::env::var("CALI_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "MiniLM weights not found (run scripts/setup or set CALI_MODEL_DIR)"
        );
        eprintln!("skipped: MiniLM weights not found; run scripts/setup or set CALI_MODEL_DIR");
        return;
    };
    let embedder = MiniLmEmbedder::load(&dir).unwrap();
    let report = recall_at_5(&embedder).await;
    assert!(
        report.recall() >= 0.9,
        "MiniLM recall@5 {:.3}",
        report.recall()
    );
}
