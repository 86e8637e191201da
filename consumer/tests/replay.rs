//! `cali replay` end to end through the binary: good events become incidents and alerts,
//! duplicates are dropped, every kind of bad payload lands in the dead-letter directory
//! with its reason while the good records around it go through, and the counts reconcile.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use cali::dead_letter::{DeadLetterStore, DirectoryDeadLetters};
use cali::decode::RejectReason;
use cali::samples::{event, event_id, fingerprint, Spec};

fn good(n: u64, fp: u64, pod: &str) -> String {
    event(&Spec {
        event_id: &event_id(n),
        fingerprint: &fingerprint(fp),
        pod,
        ..Spec::default()
    })
}

#[tokio::test]
async fn replay_groups_alerts_and_dead_letters_every_bad_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut bad: Vec<(Vec<u8>, RejectReason)> = Vec::new();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&good(999, 9, "p")).unwrap();
        f(&mut v);
        v.to_string().into_bytes()
    };
    bad.push((b"{this is not json".to_vec(), RejectReason::NotJson));
    bad.push((b"[\"an\", \"array\"]".to_vec(), RejectReason::WrongSchema));
    bad.push((
        with(&|v| v["line_count"] = "four".into()),
        RejectReason::WrongTypes,
    ));
    bad.push((
        with(&|v| v["schema"] = "cali.event/v2".into()),
        RejectReason::UnknownSchemaVersion,
    ));
    bad.push((
        format!("{{\"pad\":\"{}\"}}", "x".repeat(5_000)).into_bytes(),
        RejectReason::Oversized,
    ));
    bad.push((
        vec![0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03, 0x04],
        RejectReason::Decompression,
    ));
    let mut n = 0;
    for (i, (payload, _)) in bad.iter().enumerate() {
        // Good events of three fingerprints around each bad one, plus a duplicate.
        for fp in 1..=3 {
            n += 1;
            lines.push(good(n, fp, &format!("pod-{}", i % 2)).into_bytes());
        }
        lines.push(good(n, 3, "pod-0").into_bytes());
        lines.push(payload.clone());
    }
    let input = dir.path().join("events.ndjson");
    let mut text = lines.join(&b'\n');
    text.push(b'\n');
    std::fs::write(&input, text).unwrap();

    let mut cmd = Command::new(common::cali_bin());
    common::base_env(&mut cmd, dir.path());
    let out = cmd
        .env("CALI_DECODE_MAX_RECORD_BYTES", "4096")
        .env("CALI_ALERT_GROUP_WAIT", "1h")
        .arg("replay")
        .arg(&input)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout {stdout}\nstderr {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // One alert per fingerprint, even with group wait longer than the replay.
    assert_eq!(stdout.matches("ALERT ").count(), 3, "{stdout}");
    for fp in 1..=3 {
        assert!(
            stdout.contains(&format!("[{}-", fingerprint(fp))),
            "{stdout}"
        );
    }
    assert!(stdout.contains("checkout"), "{stdout}");
    let events = bad.len() as u64 * 4;
    assert!(
        stdout.contains(&format!(
            "replayed {} records: {events} events decoded, {} dead-lettered, 0 not alertable, {} new, {} duplicates, 3 incidents, 3 alerts",
            lines.len(),
            bad.len(),
            n,
            bad.len()
        )),
        "{stdout}"
    );

    let stored = DirectoryDeadLetters::new(dir.path().join("dead-letter"))
        .list()
        .await
        .unwrap();
    let by_reason: BTreeMap<RejectReason, &cali::dead_letter::DeadLetter> =
        stored.iter().map(|d| (d.reason, d)).collect();
    assert_eq!(stored.len(), bad.len());
    for (payload, reason) in &bad {
        let entry = by_reason
            .get(reason)
            .unwrap_or_else(|| panic!("no {reason:?} entry"));
        assert_eq!(
            &entry.raw().unwrap(),
            payload,
            "{reason:?} keeps its raw bytes"
        );
        assert!(entry.shard_id.starts_with("file:"));
        let line: usize = entry.sequence_number.parse().unwrap();
        assert_eq!(&lines[line - 1], payload, "sequence number is the line");
    }
}

#[test]
fn a_second_persisted_replay_finds_only_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    std::fs::write(
        &input,
        format!("{}\n{}\n", good(1, 1, "a"), good(2, 1, "b")),
    )
    .unwrap();
    let replay = || {
        let mut cmd = Command::new(common::cali_bin());
        common::base_env(&mut cmd, dir.path());
        let out = cmd
            .args(["replay", "--persist"])
            .arg(&input)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let first = replay();
    assert!(
        first.contains("2 new, 0 duplicates, 1 incidents, 1 alerts"),
        "{first}"
    );
    let second = replay();
    assert!(
        second.contains("0 new, 2 duplicates, 0 incidents, 0 alerts"),
        "{second}"
    );
    assert!(!second.contains("ALERT "), "{second}");
}

#[test]
fn config_errors_name_the_key_and_secrets_stay_out_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cali.toml");
    std::fs::write(
        &file,
        "[slack]\nwebhook_url = \"https://hooks.slack.com/services/x\"\n",
    )
    .unwrap();
    let mut cmd = Command::new(common::cali_bin());
    common::base_env(&mut cmd, dir.path());
    let out = cmd
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("slack.webhook_url") && err.contains("CALI_SLACK_WEBHOOK_URL"),
        "{err}"
    );

    std::fs::write(&file, "[alert]\ngroup_wait = \"45s\"\n").unwrap();
    let mut cmd = Command::new(common::cali_bin());
    common::base_env(&mut cmd, dir.path());
    let out = cmd
        .env("CALI_ALERT_REPEAT_INTERVAL", "2h")
        .arg("--config")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("group_wait = \"45s\"") && printed.contains("repeat_interval = \"2h\""),
        "{printed}"
    );

    let mut cmd = Command::new(common::cali_bin());
    common::base_env(&mut cmd, dir.path());
    let out = cmd
        .env("CALI_ALERT_GROUP_WAIT", "soon")
        .arg("config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CALI_ALERT_GROUP_WAIT"));

    let help = Command::new(common::cali_bin())
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for key in [
        "alert.group_wait",
        "alert.repeat_interval",
        "dedupe.window",
        "CALI_SLACK_WEBHOOK_URL",
    ] {
        assert!(help.contains(key), "--help explains {key}");
    }
}
