//! The CALI consumer: reads `cali.event/v1` events from a record source, drops duplicates,
//! groups them into incidents, explains them and sends few, throttled Slack alerts through
//! a durable outbox. Each stage is its own module; `pipeline` joins them.

pub mod alert;
pub mod bench;
pub mod clock;
pub mod config;
pub mod dead_letter;
pub mod decode;
pub mod dedupe;
pub mod event;
pub mod http;
pub mod incident;
pub mod metrics;
pub mod outbox;
pub mod pipeline;
pub mod samples;
pub mod service;
pub mod slack;
pub mod state;
