//! The DynamoDB lease store against a real moto server: the same lease semantics as the
//! SQLite store, and table creation when asked.

use cali_stream::lease::open_lease_store;
use cali_stream::testing;
use cali_stream::{LeaseStore, LeaseStoreConfig};

#[tokio::test]
async fn the_dynamodb_store_has_the_lease_semantics() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let table = testing::unique_name("leases");
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
    let other = testing::dynamo_lease_store(&url, &table, "other-stream");
    assert!(other.leases().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_table_is_an_error_unless_creation_is_asked_for() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = LeaseStoreConfig::DynamoDb {
        table: testing::unique_name("absent"),
        endpoint_url: Some(url.clone()),
        create_if_missing: false,
    };
    let store = open_lease_store(&config, "events", &testing::sdk_config(&url))
        .await
        .unwrap();
    let err = store.leases().await.unwrap_err();
    assert!(err.to_string().contains("Scan"), "{err}");
}
