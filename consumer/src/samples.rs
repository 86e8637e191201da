//! Generated `cali.event/v1` events for the bench command, the demo and the tests: real
//! events of the shape the plugin writes, with chosen ids, fingerprints and pods.

use serde_json::json;

/// One event as a JSON line (no newline).
pub fn event_json(event_id: &str, fingerprint: &str) -> String {
    event(&Spec {
        event_id,
        fingerprint,
        ..Spec::default()
    })
}

/// What varies between generated events.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub event_id: &'a str,
    pub fingerprint: &'a str,
    pub timestamp: &'a str,
    pub service: &'a str,
    pub namespace: &'a str,
    pub pod: &'a str,
    pub image: &'a str,
    pub exception_type: &'a str,
    /// Extra characters appended to `log_content`, to reach a wanted event size.
    pub padding: usize,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Self {
            event_id: "0123456789abcdef0123456789abcdef",
            fingerprint: "00000000000000aa",
            timestamp: "2026-11-26T04:00:00.000Z",
            service: "checkout",
            namespace: "shop",
            pod: "checkout-7d9f8-abcde",
            image: "registry.local:5000/shop/checkout:1.4.2",
            exception_type: "java.lang.IllegalStateException",
            padding: 0,
        }
    }
}

pub fn event(spec: &Spec) -> String {
    let message = format!("{}: cart is empty", spec.exception_type);
    let trace = format!(
        "{message}\n\tat com.shop.Cart.checkout(Cart.java:42)\n\tat com.shop.Api.post(Api.java:7)"
    );
    let mut content =
        format!("2026-11-26 04:00:00 ERROR [main] c.s.Api - checkout failed\n{trace}");
    if spec.padding > 0 {
        content.push('\n');
        content.push_str(&"x".repeat(spec.padding));
    }
    json!({
        "schema": "cali.event/v1",
        "event_id": spec.event_id,
        "timestamp": spec.timestamp,
        "level": "ERROR",
        "service": spec.service,
        "logger": "c.s.Api",
        "thread": "main",
        "message": "checkout failed",
        "trace_id": null,
        "exception": {
            "type": spec.exception_type,
            "message": "cart is empty",
            "language": "java",
            "frames": [
                {"function": "checkout", "module": "com.shop.Cart", "file": "Cart.java", "line": 42},
                {"function": "post", "module": "com.shop.Api", "file": "Api.java", "line": 7}
            ]
        },
        "stack_trace": trace,
        "log_content": content,
        "line_count": 4,
        "truncated": false,
        "fingerprint": spec.fingerprint,
        "stream": "stdout",
        "tag": "kube.var.log.containers.checkout",
        "alertable": true,
        "kubernetes": {
            "pod_name": spec.pod,
            "namespace_name": spec.namespace,
            "container_name": "app",
            "container_image": spec.image,
            "labels": {"app.kubernetes.io/name": spec.service}
        }
    })
    .to_string()
}

/// A 32-hex event id made from a number.
pub fn event_id(n: u64) -> String {
    format!("{n:032x}")
}

/// A 16-hex fingerprint made from a number.
pub fn fingerprint(n: u64) -> String {
    format!("{n:016x}")
}

/// Event `n` (id `event_id(n)`) of fingerprint `fingerprint` from `pod`, decoded.
pub fn decoded_event(n: u64, fingerprint: &str, pod: &str) -> crate::event::Event {
    serde_json::from_str(&event(&Spec {
        event_id: &event_id(n),
        fingerprint,
        pod,
        ..Spec::default()
    }))
    .expect("a generated event decodes")
}

/// The duplicate window the state stores' tests use: 60 s, 1,000 ids.
pub const STORE_DEDUPE: crate::state::DedupeRules = crate::state::DedupeRules {
    window_ms: 60_000,
    capacity: 1_000,
};

/// The incident rules the state stores' tests use: an hour, at most 10 pods named.
pub const STORE_FOLD: crate::incident::FoldRules = crate::incident::FoldRules {
    incident_window_ms: 3_600_000,
    max_pods: 10,
};

/// The claim of a first alert (`expected_sent` alerts sent before) for the incident of
/// `fingerprint` opened at `opened_ms`, queueing an outbox message `id`, at 50 s.
pub fn alert_claim(
    fingerprint: &str,
    opened_ms: i64,
    expected_sent: u32,
    id: &str,
) -> crate::state::AlertClaim {
    crate::state::AlertClaim {
        fingerprint: fingerprint.into(),
        opened_ms,
        expected_sent,
        now_ms: 50_000,
        alerted_count: 1,
        alerted_pods: 1,
        message: Some(crate::state::OutboxMessage {
            id: id.into(),
            fingerprint: fingerprint.into(),
            created_ms: 50_000,
            body: "{}".into(),
            status: crate::state::OutboxStatus::Pending,
            attempts: 0,
            next_attempt_ms: 50_000,
            last_error: None,
        }),
    }
}
