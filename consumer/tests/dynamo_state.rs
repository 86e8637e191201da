//! The DynamoDB state store against DynamoDB on moto: what replicas sharing the tables rely
//! on (duplicates dropped across replicas, one claim per alert, the outbox's leases and
//! global rate), and an outbox item that does not decode. Needs `scripts/services start`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;
use cali::event::Event;
use cali::incident::FoldRules;
use cali::samples::{alert_claim, decoded_event, STORE_DEDUPE, STORE_FOLD};
use cali::state::{AlertClaim, DedupeRules, Delivery, DynamoStore, OutboxStatus, StateStore};
use cali_stream::testing;
use tracing_subscriber::util::SubscriberInitExt;

const DEDUPE: DedupeRules = STORE_DEDUPE;
const FOLD: FoldRules = STORE_FOLD;

/// Two stores on the same fresh tables, as two replicas see them. `None` without moto.
async fn replicas(
    test: &str,
) -> Option<(DynamoStore, DynamoStore, aws_sdk_dynamodb::Client, String)> {
    let moto = testing::moto_url()?;
    let client = aws_sdk_dynamodb::Client::new(&testing::sdk_config(&moto));
    let prefix = testing::unique_name(test);
    let a = DynamoStore::new(client.clone(), &prefix);
    a.create_tables_if_missing().await.unwrap();
    let b = DynamoStore::new(client.clone(), &prefix);
    b.create_tables_if_missing().await.unwrap();
    Some((a, b, client, prefix))
}

fn ev(n: u64, fp: &str, pod: &str) -> Event {
    decoded_event(n, fp, pod)
}

fn claim(fp: &str, expected_sent: u32, id: &str) -> AlertClaim {
    alert_claim(fp, 1_000, expected_sent, id)
}

#[tokio::test]
async fn replicas_drop_each_others_duplicates_and_fold_into_one_incident() {
    let Some((a, b, ..)) = replicas("dyn-dedupe").await else {
        return;
    };
    let fp = "00000000000000aa";
    let r = a
        .record_events(&[ev(1, fp, "p1"), ev(2, fp, "p2")], 1_000, &DEDUPE, &FOLD)
        .await
        .unwrap();
    assert_eq!((r.new, r.duplicates, r.incidents_opened), (2, 0, 1));
    // The same delivery again through the other replica, plus one new event.
    let r = b
        .record_events(
            &[ev(1, fp, "p1"), ev(2, fp, "p2"), ev(3, fp, "p3")],
            2_000,
            &DEDUPE,
            &FOLD,
        )
        .await
        .unwrap();
    assert_eq!((r.new, r.duplicates, r.incidents_opened), (1, 2, 0));
    let incidents = a.incidents().await.unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].count, 3);
    assert_eq!(incidents[0].pods, ["p1", "p2", "p3"]);
}

#[tokio::test]
async fn one_claim_wins_and_the_outbox_leases_by_the_global_rate() {
    let Some((a, b, ..)) = replicas("dyn-outbox").await else {
        return;
    };
    for (n, fp) in ["00000000000000aa", "00000000000000bb"].iter().enumerate() {
        a.record_events(&[ev(n as u64, fp, "p")], 1_000, &DEDUPE, &FOLD)
            .await
            .unwrap();
        assert!(a
            .claim_alert(&claim(fp, 0, &format!("m{n}")))
            .await
            .unwrap());
        assert!(
            !b.claim_alert(&claim(fp, 0, &format!("m{n}-again")))
                .await
                .unwrap(),
            "the other replica's claim of the same alert loses"
        );
    }
    assert_eq!(b.outbox().await.unwrap().len(), 2);
    let first = a.next_outbox(50_000, 10_000, 1_000).await.unwrap().unwrap();
    assert_eq!(first.attempts, 1);
    assert!(
        b.next_outbox(50_500, 10_000, 1_000)
            .await
            .unwrap()
            .is_none(),
        "the global rate slot is taken"
    );
    let second = b.next_outbox(51_000, 10_000, 1_000).await.unwrap().unwrap();
    assert_ne!(
        first.id, second.id,
        "a leased message is not handed out twice"
    );
    a.settle_outbox(&first.id, &Delivery::Sent).await.unwrap();
    let left: Vec<_> = a
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.status == OutboxStatus::Pending)
        .map(|m| m.id)
        .collect();
    assert_eq!(left, [second.id]);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_outbox_item_that_does_not_decode_is_named_in_the_log_and_stalls_nothing() {
    let Some((a, _, client, prefix)) = replicas("dyn-bad-item").await else {
        return;
    };
    let log = Captured::default();
    let _guard = tracing_subscriber::fmt()
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .with_ansi(false)
        .set_default();
    let fp = "00000000000000aa";
    a.record_events(&[ev(1, fp, "p")], 1_000, &DEDUPE, &FOLD)
        .await
        .unwrap();
    assert!(a.claim_alert(&claim(fp, 0, "good")).await.unwrap());
    // An item as a later version might write it: a status this one does not know.
    client
        .put_item()
        .table_name(format!("{prefix}-outbox"))
        .item("id", AttributeValue::S("from-the-future".into()))
        .item("fingerprint", AttributeValue::S(fp.into()))
        .item("created_ms", AttributeValue::N("1".into()))
        .item("body", AttributeValue::S("{}".into()))
        .item("status", AttributeValue::S("parked".into()))
        .item("attempts", AttributeValue::N("0".into()))
        .item("next_attempt_ms", AttributeValue::N("1".into()))
        .item("lease_until_ms", AttributeValue::N("0".into()))
        .send()
        .await
        .unwrap();
    let next = a.next_outbox(50_000, 10_000, 1_000).await.unwrap().unwrap();
    assert_eq!(next.id, "good");
    let ids: Vec<_> = a
        .outbox()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["good"]);
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("outbox item does not decode") && log.contains("from-the-future"),
        "the log names the item: {log}"
    );
}
