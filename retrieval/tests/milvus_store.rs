//! The shared retrieval suite on Milvus (`milvus-lite server` started by
//! `scripts/services start`; address from CALI_TEST_MILVUS_ADDR), plus what only it does.

mod common;

use cali_retrieval::{DocKind, MilvusStore, RetrievalError, VectorStore};

fn milvus_addr() -> Option<String> {
    match std::env::var("CALI_TEST_MILVUS_ADDR") {
        Ok(addr) => Some(addr),
        Err(_) => {
            assert!(
                std::env::var("CALI_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "CALI_TEST_MILVUS_ADDR is not set"
            );
            eprintln!("skipped: start services with scripts/services start");
            None
        }
    }
}

/// A collection name no other run uses.
fn collection(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("cali_test_{test}_{}_{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn milvus_store_passes_the_retrieval_suite() {
    let Some(addr) = milvus_addr() else { return };
    let store = MilvusStore::connect(&addr, &collection("suite"), common::DIM)
        .await
        .unwrap();
    common::run_suite(&store).await;
    store.drop_collection().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_persist_across_connections_and_dimensions_are_checked() {
    let Some(addr) = milvus_addr() else { return };
    let name = collection("reopen");
    let store = MilvusStore::connect(&addr, &name, common::DIM)
        .await
        .unwrap();
    store
        .upsert(vec![common::doc(
            "runbook:a.md#fix",
            DocKind::Runbook,
            common::axis(0),
        )])
        .await
        .unwrap();
    let wrong = store
        .upsert(vec![common::doc(
            "runbook:b.md#fix",
            DocKind::Runbook,
            vec![1.0, 0.0],
        )])
        .await;
    assert!(
        matches!(
            wrong,
            Err(RetrievalError::DimensionMismatch {
                expected: 8,
                got: 2
            })
        ),
        "{wrong:?}"
    );

    let again = MilvusStore::connect(&addr, &name, common::DIM)
        .await
        .unwrap();
    assert_eq!(again.len().await.unwrap(), 1);
    assert!(again.get("runbook:a.md#fix").await.unwrap().is_some());
    match MilvusStore::connect(&addr, &name, 384).await {
        Err(RetrievalError::DimensionMismatch {
            expected: 384,
            got: 8,
        }) => {}
        Err(other) => panic!("expected a dimension mismatch, got {other}"),
        Ok(_) => panic!("expected a dimension mismatch, got a store"),
    }
    again.drop_collection().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_with_quotes_are_found() {
    let Some(addr) = milvus_addr() else { return };
    let store = MilvusStore::connect(&addr, &collection("quotes"), common::DIM)
        .await
        .unwrap();
    let id = r#"runbook:odd "name"\here.md#fix"#;
    store
        .upsert(vec![common::doc(id, DocKind::Runbook, common::axis(1))])
        .await
        .unwrap();
    assert_eq!(
        store.get(id).await.unwrap().map(|d| d.id),
        Some(id.to_string())
    );
    store.drop_collection().await.unwrap();
}
