//! MiniLM in-process against reference vectors computed independently (a numpy BERT
//! forward pass over the same weights: `testdata/minilm_reference.py`), and its sense of
//! similarity. Skipped when the weights are absent, unless CALI_REQUIRE_SERVICES=1.

use std::path::{Path, PathBuf};

use cali_retrieval::embed::{cosine, locate_model_dir};
use cali_retrieval::{default_embedder, Embedder, MiniLmEmbedder};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    text: String,
    word_pieces: usize,
    vector: Vec<f32>,
}

fn model() -> Option<(PathBuf, MiniLmEmbedder)> {
    let Some(dir) = locate_model_dir() else {
        assert!(
            std::env::var("CALI_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "MiniLM weights not found (run scripts/setup or set CALI_MODEL_DIR)"
        );
        eprintln!("skipped: MiniLM weights not found; run scripts/setup or set CALI_MODEL_DIR");
        return None;
    };
    let model = MiniLmEmbedder::load(&dir).expect("weights load");
    Some((dir, model))
}

fn references() -> Vec<Reference> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/minilm_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectors_match_the_reference_one_by_one_and_in_a_padded_batch() {
    let Some((_, model)) = model() else { return };
    assert_eq!(model.dim(), 384);
    assert_eq!(model.model_id(), "all-MiniLM-L6-v2");
    let refs = references();
    assert!(
        refs.iter().any(|r| r.word_pieces > 128),
        "one reference must exceed the shipped 128 limit"
    );
    let texts: Vec<String> = refs.iter().map(|r| r.text.clone()).collect();
    // All at once: texts of different lengths are padded to the longest in the batch.
    let batch = model.embed(&texts).await.unwrap();
    for (r, v) in refs.iter().zip(&batch) {
        let single = model
            .embed(std::slice::from_ref(&r.text))
            .await
            .unwrap()
            .remove(0);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not normalized: {norm}");
        let batch_cos = cosine(v, &r.vector);
        let single_cos = cosine(&single, &r.vector);
        assert!(
            batch_cos > 0.999,
            "batched {:?}: cosine {batch_cos}",
            r.text
        );
        assert!(
            single_cos > 0.999,
            "single {:?}: cosine {single_cos}",
            r.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_meanings_score_higher_than_unrelated_ones() {
    let Some((_, model)) = model() else { return };
    let texts: Vec<String> = [
        "The database connection pool is exhausted",
        "No free connections are left in the DB pool",
        "The TLS certificate of the payment gateway expired",
        "A cat is sleeping on the sofa",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let v = model.embed(&texts).await.unwrap();
    let close = cosine(&v[0], &v[1]);
    assert!(close > cosine(&v[0], &v[2]) + 0.1, "pool vs pool {close}");
    assert!(close > cosine(&v[0], &v[3]) + 0.1);
    assert!(cosine(&v[2], &v[3]) < 0.3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_embedder_prefers_minilm_and_falls_back_to_hashed() {
    let Some((dir, _)) = model() else { return };
    assert_eq!(default_embedder(Some(&dir)).model_id(), "all-MiniLM-L6-v2");
    let empty = tempfile::tempdir().unwrap();
    let fallback = default_embedder(Some(empty.path()));
    assert_eq!(fallback.model_id(), "hashed-v1");
    assert_eq!(fallback.dim(), 384);
}
