//! Where payloads that are not valid events go: with the reason, the shard and sequence
//! number they came from and the raw bytes (base64), so nothing is lost and nothing is
//! retried forever. A local directory by default, S3 in a cluster.

use std::path::PathBuf;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::decode::RejectReason;

/// One dead-letter entry, stored as one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub reason: RejectReason,
    pub detail: String,
    pub shard_id: String,
    pub sequence_number: String,
    /// Position of the payload within its record (several events may share one record).
    pub index: u32,
    /// RFC 3339 time the entry was written.
    pub at: String,
    /// The payload exactly as received, base64 (standard alphabet, padded).
    pub raw_base64: String,
}

impl DeadLetter {
    pub fn new(
        reason: RejectReason,
        detail: String,
        shard_id: &str,
        sequence_number: &str,
        index: u32,
        at: String,
        raw: &[u8],
    ) -> Self {
        Self {
            reason,
            detail,
            shard_id: shard_id.to_string(),
            sequence_number: sequence_number.to_string(),
            index,
            at,
            raw_base64: base64::engine::general_purpose::STANDARD.encode(raw),
        }
    }

    /// The entry's name: the same payload replayed after a crash overwrites its own entry
    /// instead of adding a second one.
    pub fn key(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!(
            "{}/{}-{}-{}.json",
            self.reason.as_str(),
            clean(&self.shard_id),
            clean(&self.sequence_number),
            self.index
        )
    }

    pub fn raw(&self) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.raw_base64)
            .ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("dead-letter directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("dead-letter entry does not encode: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("dead-letter bucket: {0}")]
    S3(String),
}

#[async_trait::async_trait]
pub trait DeadLetterStore: Send + Sync {
    /// Stores the entries durably (returns only once they are written).
    async fn put(&self, entries: &[DeadLetter]) -> Result<(), DeadLetterError>;
    /// Every stored entry (for inspection and tests).
    async fn list(&self) -> Result<Vec<DeadLetter>, DeadLetterError>;
}

/// One JSON file per entry under `<dir>/<reason>/`.
pub struct DirectoryDeadLetters {
    dir: PathBuf,
}

impl DirectoryDeadLetters {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait::async_trait]
impl DeadLetterStore for DirectoryDeadLetters {
    async fn put(&self, entries: &[DeadLetter]) -> Result<(), DeadLetterError> {
        for entry in entries {
            let path = self.dir.join(entry.key());
            let io = |source| DeadLetterError::Io {
                path: path.clone(),
                source,
            };
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(io)?;
            }
            // Written aside and renamed, so a crash never leaves half an entry.
            let tmp = path.with_extension("json.tmp");
            let body = serde_json::to_vec_pretty(entry)?;
            let file = async {
                use tokio::io::AsyncWriteExt;
                let mut f = tokio::fs::File::create(&tmp).await?;
                f.write_all(&body).await?;
                f.sync_all().await?;
                tokio::fs::rename(&tmp, &path).await
            };
            file.await.map_err(io)?;
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let mut out = Vec::new();
        let mut dirs = vec![self.dir.clone()];
        while let Some(dir) = dirs.pop() {
            let io = |source| DeadLetterError::Io {
                path: dir.clone(),
                source,
            };
            let mut reader = match tokio::fs::read_dir(&dir).await {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            };
            while let Some(item) = reader.next_entry().await.map_err(io)? {
                let path = item.path();
                if item.file_type().await.map_err(io)?.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    let bytes = tokio::fs::read(&path).await.map_err(io)?;
                    out.push(serde_json::from_slice(&bytes)?);
                }
            }
        }
        out.sort_by_key(|d: &DeadLetter| d.key());
        Ok(out)
    }
}

/// One object per entry: `<prefix><reason>/<shard>-<sequence>-<index>.json`.
pub struct S3DeadLetters {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3DeadLetters {
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Self {
        Self {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        }
    }
}

fn s3_error(e: impl std::error::Error + Send + Sync + 'static) -> DeadLetterError {
    DeadLetterError::S3(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}

#[async_trait::async_trait]
impl DeadLetterStore for S3DeadLetters {
    async fn put(&self, entries: &[DeadLetter]) -> Result<(), DeadLetterError> {
        for entry in entries {
            let body = serde_json::to_vec_pretty(entry)?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(format!("{}{}", self.prefix, entry.key()))
                .content_type("application/json")
                .body(body.into())
                .send()
                .await
                .map_err(s3_error)?;
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for object in page.map_err(s3_error)?.contents() {
                let Some(key) = object.key() else { continue };
                let got = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(s3_error)?;
                let bytes = got.body.collect().await.map_err(s3_error)?.into_bytes();
                out.push(serde_json::from_slice(&bytes)?);
            }
        }
        out.sort_by_key(|d: &DeadLetter| d.key());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_round_trip_and_a_replay_overwrites_its_own_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirectoryDeadLetters::new(dir.path().join("dl"));
        let entry = DeadLetter::new(
            RejectReason::NotJson,
            "expected value".into(),
            "shardId-000000000001",
            "49590338271490256608559692538361571095921575989136588898",
            2,
            "2026-11-26T04:00:00.000Z".into(),
            b"\xff{oops",
        );
        store.put(std::slice::from_ref(&entry)).await.unwrap();
        store.put(std::slice::from_ref(&entry)).await.unwrap();
        let listed = store.list().await.unwrap();
        assert_eq!(listed, [entry]);
        assert_eq!(listed[0].raw().unwrap(), b"\xff{oops");
    }
}
