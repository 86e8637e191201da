//! The shared retrieval suite on the embedded SQLite store, plus what only it does.

mod common;

use cali_retrieval::{DocKind, LocalStore, VectorStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_passes_the_retrieval_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path().join("vectors.sqlite")).unwrap();
    common::run_suite(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_of_another_dimension_are_not_compared() {
    let store = LocalStore::in_memory().unwrap();
    store
        .upsert(vec![
            common::doc("runbook:a.md#x", DocKind::Runbook, common::axis(0)),
            common::doc("runbook:b.md#x", DocKind::Runbook, vec![1.0, 0.0]),
        ])
        .await
        .unwrap();
    let hits = store.search(&common::axis(0), 5, None).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].doc.id, "runbook:a.md#x");
}
