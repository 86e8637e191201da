//! The analysis through the `cali` binary: runbooks added with `cali kb add` are found by
//! `cali replay`, whose alert names the cause and quotes the incident; a resolution added
//! with `cali incident resolve` puts that incident first for a similar one afterwards.
//! Hashed embeddings keep the test independent of the MiniLM weights.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use cali::samples::{event, event_id, Spec};

const HIKARI_MESSAGE: &str =
    "HikariPool-1 - Connection is not available, request timed out after 30000ms.";

/// A HikariCP pool timeout as the plugin writes it.
fn hikari_event(n: u64, fingerprint: &str, service: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&event(&Spec {
        event_id: &event_id(n),
        fingerprint,
        service,
        exception_type: "java.sql.SQLTransientConnectionException",
        ..Spec::default()
    }))
    .unwrap();
    let trace = format!(
        "java.sql.SQLTransientConnectionException: {HIKARI_MESSAGE}\n\
         \tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n\
         \tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)\n\
         \tat com.shop.orders.OrderRepository.save(OrderRepository.java:88)"
    );
    v["message"] = "Failed to save order".into();
    v["exception"]["message"] = HIKARI_MESSAGE.into();
    v["exception"]["frames"] = serde_json::json!([
        {"function": "createTimeoutException", "module": "com.zaxxer.hikari.pool.HikariPool", "file": "HikariPool.java", "line": 696},
        {"function": "getConnection", "module": "com.zaxxer.hikari.pool.HikariPool", "file": "HikariPool.java", "line": 197},
        {"function": "save", "module": "com.shop.orders.OrderRepository", "file": "OrderRepository.java", "line": 88}
    ]);
    v["log_content"] =
        format!("2026-11-26 04:00:00 ERROR [http-nio-8080-exec-3] c.s.o.OrderService - Failed to save order\n{trace}").into();
    v["stack_trace"] = trace.into();
    v["line_count"] = 5.into();
    v.to_string()
}

fn cali(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(common::cali_bin());
    common::base_env(&mut cmd, dir);
    cmd.env("CALI_VECTORS_EMBEDDER", "hashed")
        .env("CALI_ALERT_GROUP_WAIT", "1h")
        .args(args);
    let out = cmd.output().expect("cali runs");
    assert!(
        out.status.success(),
        "cali {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The values of the terminal alert's lines that start with `label`.
fn field<'a>(alert: &'a str, label: &str) -> Vec<&'a str> {
    alert
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(label))
        .map(str::trim)
        .collect()
}

#[test]
fn runbooks_explain_a_replayed_alert_and_a_resolution_ranks_first() {
    let dir = tempfile::tempdir().unwrap();
    let runbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runbooks");

    let added = stdout(&cali(
        dir.path(),
        &["kb", "add", runbooks.to_str().unwrap()],
    ));
    let chunks: usize = added
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no chunk count in {added:?}"));
    assert!(chunks > 0, "{added}");

    let first_fp = "00000000000a11ce";
    let events = dir.path().join("orders.ndjson");
    std::fs::write(
        &events,
        format!(
            "{}\n{}\n",
            hikari_event(1, first_fp, "orders"),
            hikari_event(2, first_fp, "orders")
        ),
    )
    .unwrap();
    let alert = stdout(&cali(dir.path(), &["replay", events.to_str().unwrap()]));
    assert!(alert.contains("ALERT"), "{alert}");
    assert!(alert.contains(first_fp), "{alert}");
    let analysis = field(&alert, "analysis (").join(" ");
    assert!(!analysis.starts_with("trivial"), "{alert}");
    let cause = field(&alert, "cause:").join(" ").to_lowercase();
    assert!(
        cause.contains("connection pool"),
        "the cause should name the connection pool:\n{alert}"
    );
    let incident_lines: Vec<String> =
        serde_json::from_str::<serde_json::Value>(&hikari_event(1, first_fp, "orders")).unwrap()
            ["log_content"]
            .as_str()
            .unwrap()
            .lines()
            .map(|l| l.trim().to_string())
            .collect();
    let evidence = field(&alert, "evidence:  >");
    assert!(
        evidence.iter().any(|quoted| incident_lines
            .iter()
            .any(|line| line.contains(quoted.trim()))),
        "no evidence line is quoted from the incident:\n{alert}"
    );
    let related = field(&alert, "related:");
    assert!(
        related
            .iter()
            .any(|r| r.contains("runbook:") && r.to_lowercase().contains("connection pool")),
        "the pool runbook should be related:\n{alert}"
    );

    let resolved = stdout(&cali(
        dir.path(),
        &[
            "incident",
            "resolve",
            first_fp,
            "--note",
            "Raised maximumPoolSize to 30 and fixed the leak in OrderRepository.save",
        ],
    ));
    assert!(resolved.contains(first_fp), "{resolved}");

    // The same failure in another service: a new incident, and the resolved one leads.
    let second_fp = "00000000000b0b00";
    let more = dir.path().join("billing.ndjson");
    std::fs::write(
        &more,
        format!("{}\n", hikari_event(3, second_fp, "billing")),
    )
    .unwrap();
    let alert = stdout(&cali(dir.path(), &["replay", more.to_str().unwrap()]));
    assert!(alert.contains(second_fp), "{alert}");
    let related = field(&alert, "related:");
    let first = related
        .first()
        .unwrap_or_else(|| panic!("nothing related:\n{alert}"));
    assert!(
        first.contains(&format!("incident:{first_fp}")),
        "the resolved incident should be listed first:\n{alert}"
    );
    assert!(
        alert.contains("resolved: Raised maximumPoolSize to 30"),
        "{alert}"
    );
}

#[test]
fn resolving_an_unknown_incident_fails_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(common::cali_bin());
    common::base_env(&mut cmd, dir.path());
    let out = cmd
        .env("CALI_VECTORS_EMBEDDER", "hashed")
        .args(["incident", "resolve", "00000000deadbeef", "--note", "n/a"])
        .output()
        .expect("cali runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("00000000deadbeef"), "{stderr}");
}
