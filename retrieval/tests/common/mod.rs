//! The retrieval behaviour every vector store must have; `local_store.rs` and
//! `milvus_store.rs` run it on their store.

#![allow(dead_code)]

use cali_retrieval::{DocKind, Document, VectorStore, RESOLVED_BONUS};

pub const DIM: usize = 8;

/// A unit vector whose cosine with `axis(0)` is exactly `cosine`, leaning towards `other`.
pub fn at_cosine(cosine: f32, other: usize) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[0] = cosine;
    v[other] = (1.0 - cosine * cosine).sqrt();
    v
}

pub fn axis(i: usize) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[i] = 1.0;
    v
}

pub fn doc(id: &str, kind: DocKind, vector: Vec<f32>) -> Document {
    Document {
        id: id.to_string(),
        kind,
        title: format!("title of {id}"),
        text: format!("text of {id} with ünïcode and \"quotes\""),
        resolution: None,
        vector,
    }
}

fn ids(hits: &[cali_retrieval::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.doc.id.as_str()).collect()
}

/// Runs every check on an empty store of dimension [`DIM`].
pub async fn run_suite(store: &dyn VectorStore) {
    upsert_get_and_replace(store).await;
    search_orders_by_cosine_and_filters_by_kind(store).await;
    resolved_incidents_rank_first_among_near_equal_scores(store).await;
}

async fn upsert_get_and_replace(store: &dyn VectorStore) {
    assert_eq!(store.len().await.unwrap(), 0);
    store
        .upsert(vec![
            doc("incident:a", DocKind::Incident, axis(1)),
            doc("runbook:x.md#fix", DocKind::Runbook, axis(2)),
        ])
        .await
        .unwrap();
    assert_eq!(store.len().await.unwrap(), 2);
    let got = store
        .get("runbook:x.md#fix")
        .await
        .unwrap()
        .expect("stored document");
    assert_eq!(got.kind, DocKind::Runbook);
    assert_eq!(got.title, "title of runbook:x.md#fix");
    assert_eq!(
        got.text,
        "text of runbook:x.md#fix with ünïcode and \"quotes\""
    );
    assert_eq!(got.resolution, None);
    assert_eq!(got.vector, axis(2));
    assert!(store.get("incident:missing").await.unwrap().is_none());

    let mut replaced = doc("incident:a", DocKind::Incident, axis(3));
    replaced.title = "new title".into();
    store.upsert(vec![replaced]).await.unwrap();
    assert_eq!(store.len().await.unwrap(), 2, "upsert replaces by id");
    let got = store.get("incident:a").await.unwrap().unwrap();
    assert_eq!(
        (got.title.as_str(), got.vector.clone()),
        ("new title", axis(3))
    );

    assert!(!store
        .set_resolution("incident:missing", "note")
        .await
        .unwrap());
    assert!(store
        .set_resolution("incident:a", "rolled back 2.3.1")
        .await
        .unwrap());
    let got = store.get("incident:a").await.unwrap().unwrap();
    assert_eq!(got.resolution.as_deref(), Some("rolled back 2.3.1"));
    assert_eq!(got.vector, axis(3), "a resolution keeps the vector");
}

async fn search_orders_by_cosine_and_filters_by_kind(store: &dyn VectorStore) {
    store
        .upsert(vec![
            doc("incident:c90", DocKind::Incident, at_cosine(0.90, 1)),
            doc("incident:c50", DocKind::Incident, at_cosine(0.50, 2)),
            doc("runbook:r.md#c80", DocKind::Runbook, at_cosine(0.80, 3)),
            doc("runbook:r.md#c20", DocKind::Runbook, at_cosine(0.20, 4)),
            doc("runbook:r.md#c99", DocKind::Runbook, at_cosine(0.99, 5)),
        ])
        .await
        .unwrap();
    let query = axis(0);
    let hits = store.search(&query, 3, None).await.unwrap();
    assert_eq!(
        ids(&hits),
        ["runbook:r.md#c99", "incident:c90", "runbook:r.md#c80"]
    );
    let expected = [0.99, 0.90, 0.80];
    for (hit, want) in hits.iter().zip(expected) {
        assert!(
            (hit.score - want).abs() < 1e-4,
            "{} scored {} not {want}",
            hit.doc.id,
            hit.score
        );
    }
    let runbooks = store
        .search(&query, 10, Some(DocKind::Runbook))
        .await
        .unwrap();
    // The first test's runbook is orthogonal to the query (cosine 0): last.
    assert_eq!(
        ids(&runbooks),
        [
            "runbook:r.md#c99",
            "runbook:r.md#c80",
            "runbook:r.md#c20",
            "runbook:x.md#fix"
        ]
    );
    let incidents = store
        .search(&query, 2, Some(DocKind::Incident))
        .await
        .unwrap();
    assert_eq!(ids(&incidents), ["incident:c90", "incident:c50"]);
    assert!(store.search(&query, 0, None).await.unwrap().is_empty());
}

async fn resolved_incidents_rank_first_among_near_equal_scores(store: &dyn VectorStore) {
    let close = RESOLVED_BONUS / 2.0;
    store
        .upsert(vec![
            doc("incident:open-best", DocKind::Incident, at_cosine(0.70, 1)),
            doc(
                "incident:resolved-close",
                DocKind::Incident,
                at_cosine(0.70 - close, 2),
            ),
            doc(
                "incident:resolved-far",
                DocKind::Incident,
                at_cosine(0.70 - 3.0 * RESOLVED_BONUS, 3),
            ),
        ])
        .await
        .unwrap();
    assert!(store
        .set_resolution("incident:resolved-close", "raised pool size")
        .await
        .unwrap());
    assert!(store
        .set_resolution("incident:resolved-far", "unrelated fix")
        .await
        .unwrap());
    let query = axis(0);
    let hits = store
        .search(&query, 20, Some(DocKind::Incident))
        .await
        .unwrap();
    let order: Vec<&str> = ids(&hits)
        .into_iter()
        .filter(|id| id.contains("resolved") || id.contains("open-best"))
        .collect();
    assert_eq!(
        order,
        [
            "incident:resolved-close",
            "incident:open-best",
            "incident:resolved-far"
        ]
    );
    let close_hit = hits
        .iter()
        .find(|h| h.doc.id == "incident:resolved-close")
        .unwrap();
    assert!(
        (close_hit.score - (0.70 - close)).abs() < 1e-4,
        "the reported score is the plain cosine"
    );
    assert_eq!(
        close_hit.doc.resolution.as_deref(),
        Some("raised pool size")
    );
}
