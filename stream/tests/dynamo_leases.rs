//! The DynamoDB lease store against a real moto server: the same lease semantics as the
//! SQLite store, and table creation when asked.

use cali_stream::lease::{open_lease_store, DynamoLeaseStore};
use cali_stream::testing;
use cali_stream::{LeaseStore, LeaseStoreConfig};

fn moto_url() -> Option<String> {
    match std::env::var(testing::MOTO_URL_VAR) {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CALI_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!("CALI_TEST_MOTO_URL is not set and CALI_REQUIRE_SERVICES=1")
        }
        Err(_) => {
            eprintln!("skipped: start services with scripts/services start");
            None
        }
    }
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cali-{name}-{nanos}")
}

#[tokio::test]
async fn the_dynamodb_store_has_the_lease_semantics() {
    let Some(url) = moto_url() else { return };
    let table = unique("leases");
    let config = LeaseStoreConfig::DynamoDb {
        table: table.clone(),
        endpoint_url: Some(url.clone()),
        create_if_missing: true,
    };
    let store = open_lease_store(&config, "events", &testing::sdk_config(&url))
        .await
        .unwrap();
    testing::check_lease_semantics(store.as_ref()).await;

    // Another stream in the same table sees none of these leases.
    let client = aws_sdk_dynamodb::Client::new(&testing::sdk_config(&url));
    let other = DynamoLeaseStore::new(client, &table, "other-stream");
    assert!(other.leases().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_table_is_an_error_unless_creation_is_asked_for() {
    let Some(url) = moto_url() else { return };
    let config = LeaseStoreConfig::DynamoDb {
        table: unique("absent"),
        endpoint_url: Some(url.clone()),
        create_if_missing: false,
    };
    let store = open_lease_store(&config, "events", &testing::sdk_config(&url))
        .await
        .unwrap();
    let err = store.leases().await.unwrap_err();
    assert!(err.to_string().contains("Scan"), "{err}");
}
