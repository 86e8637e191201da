//! The whole pipeline without an LLM, on the real embedded store: runbook sections and
//! resolved past incidents are retrieved, a resolution ranks first, and nothing secret is
//! stored.

mod common;

use std::path::Path;
use std::sync::Arc;

use cali_analysis::{AnalysisConfig, AnalysisPipeline, Analyzer, PipelineOptions};
use cali_retrieval::{ingest_runbooks, HashedEmbedder, LocalStore, VectorStore};
use common::{pool_incident, PLANTED};

async fn setup(cache_path: Option<std::path::PathBuf>) -> (AnalysisPipeline, Arc<LocalStore>) {
    let embedder = Arc::new(HashedEmbedder::new(384));
    let store = Arc::new(LocalStore::in_memory().expect("store"));
    let runbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/runbooks");
    let chunks = ingest_runbooks(&runbooks, embedder.as_ref(), store.as_ref())
        .await
        .expect("runbooks ingest");
    assert!(chunks >= 3);
    let pipeline = AnalysisPipeline::new(
        // Hashed features score prose runbooks low against a stack trace; the ranking, not
        // the threshold, is what these tests look at.
        AnalysisConfig {
            min_score: 0.0,
            ..AnalysisConfig::default()
        },
        embedder,
        store.clone(),
        PipelineOptions {
            cache_path,
            ..PipelineOptions::default()
        },
    )
    .expect("pipeline");
    (pipeline, store)
}

#[tokio::test]
async fn an_offline_analysis_quotes_the_incident_and_points_at_the_runbook() {
    let (pipeline, _) = setup(None).await;
    let incident = pool_incident("6000000000000001", 5);
    let analysis = pipeline.analyze(&incident).await;

    assert_eq!(analysis.source, "offline");
    assert!(
        analysis
            .likely_cause
            .as_deref()
            .is_some_and(|c| c.contains("pool")),
        "{analysis:?}"
    );
    let redacted = pipeline.redactor().redact_incident(&incident);
    for line in &analysis.evidence {
        assert!(
            redacted
                .sample
                .log_content
                .lines()
                .any(|l| l.trim() == line),
            "{line:?} is not an incident line"
        );
    }
    let runbook = analysis
        .related
        .iter()
        .find(|r| r.id.starts_with("runbook:"))
        .expect("runbook sections are related");
    assert!(runbook.id.contains("db-pool.md"), "{:?}", analysis.related);
    assert!(analysis.actions.iter().any(|a| a.contains(&runbook.id)));
}

#[tokio::test]
async fn nothing_secret_is_stored() {
    let dir = std::env::temp_dir().join(format!("cali-analysis-offline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cache = dir.join("analysis.sqlite");
    let (pipeline, store) = setup(Some(cache.clone())).await;
    let incident = pool_incident("6000000000000002", 5);
    pipeline.analyze(&incident).await;

    let doc = store
        .get("incident:6000000000000002")
        .await
        .expect("get")
        .expect("incident stored");
    let recorded = serde_json::to_string(
        &pipeline
            .recorded_analysis("6000000000000002")
            .expect("analysis recorded"),
    )
    .expect("json");
    let on_disk = String::from_utf8_lossy(&std::fs::read(&cache).expect("cache file")).to_string();
    for secret in PLANTED {
        assert!(
            !doc.text.contains(secret) && !doc.title.contains(secret),
            "{secret} stored in the vector store"
        );
        assert!(
            !recorded.contains(secret),
            "{secret} in the recorded analysis"
        );
        assert!(!on_disk.contains(secret), "{secret} in the cache file");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_resolved_past_incident_ranks_first_with_its_note() {
    let (pipeline, _) = setup(None).await;
    pipeline
        .analyze(&pool_incident("7000000000000001", 5))
        .await;
    let note = "Raised maximumPoolSize to 30; contact dba@acme.io";
    assert!(pipeline
        .resolve("7000000000000001", note)
        .await
        .expect("resolve"));
    assert!(!pipeline
        .resolve("7fffffffffffffff", "no such incident")
        .await
        .expect("resolve"));

    let analysis = pipeline
        .analyze(&pool_incident("7000000000000002", 5))
        .await;

    let first = &analysis.related[0];
    assert_eq!(
        first.id, "incident:7000000000000001",
        "{:?}",
        analysis.related
    );
    let stored_note = first.resolution.as_deref().expect("resolution shown");
    assert!(stored_note.contains("Raised maximumPoolSize to 30"));
    assert!(
        !stored_note.contains("dba@acme.io"),
        "the note is redacted too"
    );
    assert!(
        analysis.actions[0].starts_with("Seen before (incident:7000000000000001"),
        "{:?}",
        analysis.actions
    );
    assert!(analysis.confidence > 0.6);
}

#[tokio::test]
async fn the_same_fingerprint_recurring_shows_its_own_resolution() {
    let (pipeline, _) = setup(None).await;
    let incident = pool_incident("8000000000000001", 5);
    let before = pipeline.analyze(&incident).await;
    assert!(
        before
            .related
            .iter()
            .all(|r| r.id != "incident:8000000000000001"),
        "an unresolved incident is not its own match"
    );
    pipeline
        .resolve("8000000000000001", "restarted the pgbouncer pods")
        .await
        .expect("resolve");

    let after = pipeline.analyze(&incident).await;
    assert_eq!(after.related[0].id, "incident:8000000000000001");
    assert!(after.actions[0].contains("restarted the pgbouncer pods"));
}

#[tokio::test]
async fn an_incident_without_a_known_pattern_claims_no_cause() {
    let (pipeline, _) = setup(None).await;
    let mut incident = pool_incident("9000000000000001", 0);
    incident.sample.exception_type = Some("com.acme.pricing.ZoneException".into());
    incident.sample.exception_message = Some("unexpected shipping zone XQ".into());
    incident.sample.message = "pricing failed".into();
    incident.sample.stack_trace =
        Some("com.acme.pricing.ZoneException: unexpected shipping zone XQ".into());
    incident.sample.log_content =
        "ERROR pricing failed\ncom.acme.pricing.ZoneException: unexpected shipping zone XQ".into();
    let analysis = pipeline.analyze(&incident).await;
    assert_eq!(analysis.likely_cause, None);
    assert!(analysis.evidence.is_empty());
    assert!(analysis.confidence <= 0.2);
}
