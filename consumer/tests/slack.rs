//! Delivery to a local HTTP server that plays Slack: 429 with Retry-After, 500 and slow
//! answers lose no alert and repeat none; other 4xx are recorded as dead; a message marked
//! sent is not sent again by a restarted sender.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use cali::clock::SystemClock;
use cali::incident::FoldRules;
use cali::metrics::Metrics;
use cali::outbox::{DeliveryRules, OutboxSender};
use cali::samples::{event, event_id, fingerprint, Spec};
use cali::slack::Webhook;
use cali::state::{AlertClaim, DedupeRules, OutboxMessage, OutboxStatus, SqliteStore, StateStore};
use common::{Answer, SlackServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_through_429_500_and_slow_answers_without_loss_or_repeat() {
    let slack = SlackServer::start(vec![
        Answer::TooManyRequests {
            retry_after_secs: 1,
        },
        Answer::ServerError,
        Answer::Slow(Duration::from_secs(3)),
        Answer::ServerError,
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    let mut text = String::new();
    for n in 1..=9 {
        text.push_str(&event(&Spec {
            event_id: &event_id(n),
            fingerprint: &fingerprint(n % 3 + 1),
            ..Spec::default()
        }));
        text.push('\n');
    }
    std::fs::write(&input, text).unwrap();
    let mut cmd = Command::new(common::cali_bin());
    common::base_env(&mut cmd, dir.path());
    cmd.env("CALI_SLACK_WEBHOOK_URL", &slack.url)
        .env("CALI_SLACK_TIMEOUT", "500ms")
        .env("CALI_SLACK_BACKOFF_BASE", "100ms")
        .env("CALI_SLACK_BACKOFF_MAX", "1s")
        .env("CALI_ALERT_WEBHOOK_MIN_INTERVAL", "50ms")
        .env(
            "CALI_SLACK_LOGS_URL_TEMPLATE",
            "https://grafana.local/explore?fp={fingerprint}",
        )
        .arg("replay")
        .arg(&input);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 alerts (3 delivered to Slack)"),
        "{stdout}"
    );

    let received = slack.received();
    let delivered = slack.delivered();
    let unique: BTreeSet<_> = delivered.iter().cloned().collect();
    assert_eq!(
        delivered.len(),
        3,
        "each alert accepted exactly once: {received:#?}"
    );
    assert_eq!(unique.len(), 3);
    for fp in 1..=3 {
        assert!(
            unique.iter().any(|id| id.starts_with(&fingerprint(fp))),
            "{unique:?}"
        );
    }
    // The 429 said "retry after 1 s": nothing was sent sooner.
    let limited = received
        .iter()
        .position(|r| r.answer.starts_with("TooManyRequests"))
        .unwrap();
    assert!(received[limited + 1].at - received[limited].at >= Duration::from_secs(1));
    let body: serde_json::Value = serde_json::from_str(&received.last().unwrap().body).unwrap();
    assert!(body["blocks"].as_array().unwrap().len() <= 50);
    assert!(body
        .to_string()
        .contains("https://grafana.local/explore?fp="));
}

fn rules() -> DeliveryRules {
    DeliveryRules {
        min_interval_ms: 0,
        lease_ms: 10_000,
        backoff_base_ms: 10,
        backoff_max_ms: 100,
        max_attempts: 5,
        poll_ms: 10,
    }
}

async fn queue_one(store: &SqliteStore) -> String {
    let e = serde_json::from_str(&event(&Spec::default())).unwrap();
    let dedupe = DedupeRules {
        window_ms: 60_000,
        capacity: 10,
    };
    let fold = FoldRules {
        incident_window_ms: 60_000,
        max_pods: 10,
    };
    let now = chrono::Utc::now().timestamp_millis();
    store
        .record_events(&[e], now, &dedupe, &fold)
        .await
        .unwrap();
    let incident = store.incidents().await.unwrap().remove(0);
    let id = format!("{}-{}-1", incident.fingerprint, incident.opened_ms);
    let claim = AlertClaim {
        fingerprint: incident.fingerprint.clone(),
        opened_ms: incident.opened_ms,
        expected_sent: 0,
        now_ms: now,
        alerted_count: 1,
        alerted_pods: 1,
        message: Some(OutboxMessage {
            id: id.clone(),
            fingerprint: incident.fingerprint,
            created_ms: now,
            body: "{\"text\":\"x\"}".into(),
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_ms: now,
            last_error: None,
        }),
    };
    assert!(store.claim_alert(&claim).await.unwrap());
    id
}

#[tokio::test]
async fn a_rejected_message_is_recorded_dead_with_its_reason() {
    let slack = SlackServer::start(vec![Answer::BadRequest]).await;
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    queue_one(&store).await;
    let metrics = Arc::new(Metrics::default());
    let sender = OutboxSender::new(
        store.clone(),
        Webhook::new(slack.url.clone(), Duration::from_secs(5)).unwrap(),
        Arc::new(SystemClock),
        rules(),
        metrics.clone(),
    );
    assert!(sender.deliver_one().await.unwrap());
    assert!(
        !sender.deliver_one().await.unwrap(),
        "a dead message is not retried"
    );
    let outbox = store.outbox().await.unwrap();
    assert_eq!(outbox[0].status, OutboxStatus::Dead);
    assert!(
        outbox[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("HTTP 400"),
        "{outbox:?}"
    );
    assert_eq!(
        metrics
            .alerts_failed
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(slack.received().len(), 1);
}

#[tokio::test]
async fn a_restarted_sender_does_not_repeat_a_sent_message() {
    let slack = SlackServer::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let id = queue_one(&SqliteStore::open(&path).unwrap()).await;
    for _ in 0..2 {
        // Each round is a fresh process's view of the same state file.
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let sender = OutboxSender::new(
            store,
            Webhook::new(slack.url.clone(), Duration::from_secs(5)).unwrap(),
            Arc::new(SystemClock),
            rules(),
            Arc::new(Metrics::default()),
        );
        sender
            .drain(tokio::time::Instant::now() + Duration::from_secs(10))
            .await
            .unwrap();
    }
    assert_eq!(slack.delivered(), [id]);
}
