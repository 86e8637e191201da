//! The `cali-host` binary itself: `run` on a small file prints the filter's events as JSON
//! lines and a summary; `--help` documents every option; bad options fail.

mod common;

use std::process::{Command, Stdio};

use serde_json::Value;

const LOG: &str = "\
2026-11-20 10:00:00.001 INFO 1 --- [main] c.e.shop.App : started
2026-11-20 10:00:01.000 ERROR 1 --- [main] c.e.shop.Checkout : charge failed
java.lang.IllegalStateException: card declined
\tat com.example.shop.Checkout.charge(Checkout.java:42)
\tat com.example.shop.Api.handle(Api.java:17)
2026-11-20 10:00:02.000 INFO 1 --- [main] c.e.shop.App : still serving
";

fn cali_host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cali-host"))
}

#[test]
fn run_prints_one_json_event_per_line_and_a_summary() {
    let path = std::env::temp_dir().join(format!("cali-host-cli-{}.log", std::process::id()));
    std::fs::write(&path, LOG).unwrap();
    let output = cali_host()
        .args(["run", "--wasm"])
        .arg(common::wasm_path())
        .args([
            "--format",
            "raw",
            "--tag",
            "kube.shop",
            "--settings",
            r#"{"max_lines":100}"#,
        ])
        .args(["--kubernetes-json", r#"{"labels":{"app":"shop"}}"#])
        .stdin(Stdio::from(std::fs::File::open(&path).unwrap()))
        .output()
        .expect("the binary runs");
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );

    let stdout = String::from_utf8(output.stdout).unwrap();
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(
        events.len(),
        3,
        "started, the trace, still serving: {stdout}"
    );
    assert_eq!(events[1]["line_count"], 4);
    assert_eq!(
        events[1]["exception"]["type"],
        "java.lang.IllegalStateException"
    );
    for event in &events {
        assert_eq!(event["tag"], "kube.shop");
        assert_eq!(event["service"], "shop");
    }
    let all: Vec<&str> = events
        .iter()
        .flat_map(|e| e["log_content"].as_str().unwrap_or_default().split('\n'))
        .collect();
    assert_eq!(
        all,
        LOG.lines().collect::<Vec<_>>(),
        "every line exactly once"
    );

    let summary = stderr
        .lines()
        .find(|l| l.starts_with("cali-host: lines"))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert!(summary.contains("lines 6"), "{summary}");
    assert!(summary.contains(" out 3 "), "{summary}");
    assert!(summary.contains("faults 0"), "{summary}");
}

#[test]
fn help_explains_every_option() {
    let output = cali_host().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--wasm",
        "--format",
        "--tag",
        "--tick-ms",
        "--line-ms",
        "--settings",
        "--heap-size",
        "--kubernetes-json",
        "--lines",
        "--seed",
    ] {
        assert!(help.contains(option), "--help does not mention {option}");
    }
}

#[test]
fn unknown_options_and_missing_modules_fail_clearly() {
    let output = cali_host().args(["run", "--nope", "1"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--nope"));

    let output = cali_host()
        .args(["run", "--wasm", "/nonexistent/cali.wasm"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("scripts/build-plugin"));
}
