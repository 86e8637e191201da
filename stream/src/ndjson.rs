//! NDJSON input: a file (optionally followed as it grows) or stdin, one record per line —
//! what Fluent Bit's `file` output (`Format plain`) and `stdout` output (`json_lines`) write.
//! The checkpoint of a file is the last handled line number, kept in a small file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};

use crate::{Batch, RecordSource, ShardLag, SourceError, SourceRecord};

/// How an NDJSON source reads.
#[derive(Debug, Clone)]
pub struct NdjsonOptions {
    /// Keep reading as the file grows (like `tail -f`) instead of finishing at its end.
    /// A rotated or truncated file is not followed. Default: `false`.
    pub follow: bool,
    /// File holding the last handled line number (a decimal number and a newline). When
    /// set, lines up to that number are skipped on start and `checkpoint` rewrites it
    /// atomically. Default: none (every start reads from line 1).
    pub checkpoint_path: Option<PathBuf>,
    /// Most lines in one batch. Default: 500.
    pub max_lines_per_batch: usize,
    /// How often a followed file is checked for new lines once its end is reached.
    /// Default: 200 ms.
    pub poll_interval: Duration,
}

impl Default for NdjsonOptions {
    fn default() -> Self {
        NdjsonOptions {
            follow: false,
            checkpoint_path: None,
            max_lines_per_batch: 500,
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// Reads NDJSON lines from a file or stdin. Blank lines are skipped but still counted, so
/// a record's sequence number is always its 1-based line number.
pub struct NdjsonSource {
    shard_id: String,
    reader: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    options: NdjsonOptions,
    /// Bytes of a line whose newline has not been read yet.
    partial: Vec<u8>,
    lines_read: u64,
    /// Lines up to this number were handled before this start.
    skip_through: u64,
    checkpointed: u64,
    checkpointed_at: Instant,
    finished: bool,
}

impl NdjsonSource {
    /// Reads `path` once to its end, from line 1.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        Self::open_with(path, NdjsonOptions::default()).await
    }

    /// Reads `path` with the given options (follow, checkpoint file, batch size).
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: NdjsonOptions,
    ) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| SourceError::io(path.display(), e))?;
        let input: Box<dyn AsyncRead + Send + Unpin> = Box::new(file);
        Self::build(format!("file:{}", path.display()), input, options).await
    }

    /// Reads this process's standard input until it closes.
    pub async fn stdin() -> Result<Self, SourceError> {
        Self::stdin_with(NdjsonOptions::default()).await
    }

    /// Reads standard input with the given options (`follow` has no effect: stdin is read
    /// until it closes).
    pub async fn stdin_with(options: NdjsonOptions) -> Result<Self, SourceError> {
        let input: Box<dyn AsyncRead + Send + Unpin> = Box::new(tokio::io::stdin());
        Self::build(
            "stdin".to_string(),
            input,
            NdjsonOptions {
                follow: false,
                ..options
            },
        )
        .await
    }

    async fn build(
        shard_id: String,
        input: Box<dyn AsyncRead + Send + Unpin>,
        options: NdjsonOptions,
    ) -> Result<Self, SourceError> {
        if options.max_lines_per_batch == 0 {
            return Err(SourceError::Config(
                "max_lines_per_batch must be at least 1".into(),
            ));
        }
        let skip_through = match &options.checkpoint_path {
            Some(path) => read_checkpoint(path).await?,
            None => 0,
        };
        Ok(NdjsonSource {
            shard_id,
            reader: BufReader::with_capacity(256 * 1024, input),
            options,
            partial: Vec::new(),
            lines_read: 0,
            skip_through,
            checkpointed: skip_through,
            checkpointed_at: Instant::now(),
            finished: false,
        })
    }

    /// The shard id this source's records carry (`file:<path>` or `stdin`).
    pub fn shard_id(&self) -> &str {
        &self.shard_id
    }

    /// Turns the completed line in `partial` into a record, unless it was handled before
    /// or is blank.
    fn take_line(&mut self) -> Option<SourceRecord> {
        self.lines_read += 1;
        let mut end = self.partial.len();
        while end > 0 && matches!(self.partial[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        let line = &self.partial[..end];
        let skip = self.lines_read <= self.skip_through || line.iter().all(u8::is_ascii_whitespace);
        // The record gets a copy of exactly its bytes; `partial` keeps its capacity for the
        // next line instead of growing again from nothing.
        let data = (!skip).then(|| Bytes::copy_from_slice(line));
        self.partial.clear();
        Some(SourceRecord {
            shard_id: self.shard_id.clone(),
            sequence_number: self.lines_read.to_string(),
            partition_key: String::new(),
            data: data?,
            arrival: None,
        })
    }

    fn batch(&self, records: Vec<SourceRecord>) -> Option<Batch> {
        Some(Batch {
            shard_id: self.shard_id.clone(),
            records,
            millis_behind_latest: None,
        })
    }
}

#[async_trait::async_trait]
impl RecordSource for NdjsonSource {
    async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError> {
        let mut records = Vec::new();
        while !self.finished {
            let read = self
                .reader
                .read_until(b'\n', &mut self.partial)
                .await
                .map_err(|e| SourceError::io(&self.shard_id, e))?;
            if read == 0 {
                if !records.is_empty() {
                    break;
                }
                if self.options.follow {
                    // A partial line stays in `partial` until its newline is written.
                    tokio::time::sleep(self.options.poll_interval).await;
                    continue;
                }
                self.finished = true;
                if !self.partial.is_empty() {
                    records.extend(self.take_line());
                }
                break;
            }
            if self.partial.last() != Some(&b'\n') {
                continue;
            }
            records.extend(self.take_line());
            // Return what is at hand rather than wait for a full batch on a slow pipe.
            let more_buffered = self.reader.buffer().contains(&b'\n');
            if records.len() >= self.options.max_lines_per_batch
                || (!records.is_empty() && !more_buffered)
            {
                break;
            }
        }
        if records.is_empty() {
            return Ok(None);
        }
        Ok(self.batch(records))
    }

    async fn checkpoint(
        &mut self,
        shard_id: &str,
        sequence_number: &str,
    ) -> Result<(), SourceError> {
        if shard_id != self.shard_id {
            return Err(SourceError::UnknownShard {
                shard_id: shard_id.to_string(),
            });
        }
        let line: u64 = sequence_number
            .parse()
            .map_err(|_| SourceError::InvalidSequenceNumber(sequence_number.to_string()))?;
        if line <= self.checkpointed {
            return Ok(());
        }
        if let Some(path) = &self.options.checkpoint_path {
            write_checkpoint(path, line).await?;
        }
        self.checkpointed = line;
        self.checkpointed_at = Instant::now();
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<(), SourceError> {
        self.finished = true;
        Ok(())
    }

    fn lag(&self) -> Vec<ShardLag> {
        vec![ShardLag {
            shard_id: self.shard_id.clone(),
            millis_behind_latest: 0,
            checkpoint_age_secs: self.checkpointed_at.elapsed().as_secs_f64(),
        }]
    }
}

async fn read_checkpoint(path: &Path) -> Result<u64, SourceError> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => text.trim().parse().map_err(|_| {
            SourceError::Config(format!(
                "checkpoint file {} does not hold a line number: {:?}",
                path.display(),
                text.trim()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(SourceError::io(path.display(), e)),
    }
}

/// Writes beside the target and renames over it, so a crash leaves the old or the new
/// checkpoint, never a torn one.
async fn write_checkpoint(path: &Path, line: u64) -> Result<(), SourceError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let io = |e| SourceError::io(path.display(), e);
    let mut file = tokio::fs::File::create(&tmp).await.map_err(io)?;
    file.write_all(format!("{line}\n").as_bytes())
        .await
        .map_err(io)?;
    file.sync_all().await.map_err(io)?;
    drop(file);
    tokio::fs::rename(&tmp, path).await.map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(source: &mut NdjsonSource) -> Vec<SourceRecord> {
        let mut all = Vec::new();
        while let Some(batch) = source.next_batch().await.unwrap() {
            assert_eq!(batch.shard_id, source.shard_id());
            all.extend(batch.records);
        }
        all
    }

    #[tokio::test]
    async fn lines_become_records_numbered_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        std::fs::write(&path, "{\"a\":1}\n\n{\"a\":2}\r\n{\"a\":3}").unwrap();
        let mut source = NdjsonSource::open(&path).await.unwrap();
        let records = read_all(&mut source).await;
        let got: Vec<(&str, &[u8])> = records
            .iter()
            .map(|r| (r.sequence_number.as_str(), &r.data[..]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("1", &b"{\"a\":1}"[..]),
                ("3", b"{\"a\":2}"),
                ("4", b"{\"a\":3}")
            ]
        );
        assert!(records
            .iter()
            .all(|r| r.shard_id == format!("file:{}", path.display())));
        assert!(source.next_batch().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn batches_hold_at_most_the_configured_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        let text: String = (0..25).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let options = NdjsonOptions {
            max_lines_per_batch: 10,
            ..Default::default()
        };
        let mut source = NdjsonSource::open_with(&path, options).await.unwrap();
        let mut sizes = Vec::new();
        while let Some(batch) = source.next_batch().await.unwrap() {
            sizes.push(batch.records.len());
        }
        assert_eq!(sizes, vec![10, 10, 5]);
    }

    #[tokio::test]
    async fn resumes_after_the_checkpointed_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        let checkpoint = dir.path().join("events.checkpoint");
        std::fs::write(&path, "l1\nl2\nl3\nl4\n").unwrap();
        let options = NdjsonOptions {
            checkpoint_path: Some(checkpoint.clone()),
            ..Default::default()
        };

        let mut first = NdjsonSource::open_with(&path, options.clone())
            .await
            .unwrap();
        let shard = first.shard_id().to_string();
        assert_eq!(read_all(&mut first).await.len(), 4);
        first.checkpoint(&shard, "2").await.unwrap();
        // A checkpoint never moves backwards.
        first.checkpoint(&shard, "1").await.unwrap();
        assert_eq!(std::fs::read_to_string(&checkpoint).unwrap(), "2\n");

        let mut second = NdjsonSource::open_with(&path, options).await.unwrap();
        let resumed: Vec<String> = read_all(&mut second)
            .await
            .into_iter()
            .map(|r| r.sequence_number)
            .collect();
        assert_eq!(resumed, vec!["3", "4"]);
    }

    #[tokio::test]
    async fn checkpoint_rejects_other_shards_and_bad_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        std::fs::write(&path, "x\n").unwrap();
        let mut source = NdjsonSource::open(&path).await.unwrap();
        let shard = source.shard_id().to_string();
        assert!(matches!(
            source.checkpoint("stdin", "1").await,
            Err(SourceError::UnknownShard { .. })
        ));
        assert!(matches!(
            source.checkpoint(&shard, "one").await,
            Err(SourceError::InvalidSequenceNumber(_))
        ));
    }

    #[tokio::test]
    async fn follows_a_growing_file_and_waits_for_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        std::fs::write(&path, "first\n").unwrap();
        let options = NdjsonOptions {
            follow: true,
            poll_interval: Duration::from_millis(10),
            ..Default::default()
        };
        let mut source = NdjsonSource::open_with(&path, options).await.unwrap();
        let batch = source.next_batch().await.unwrap().unwrap();
        assert_eq!(&batch.records[0].data[..], b"first");

        let writer = {
            let path = path.clone();
            tokio::spawn(async move {
                let mut file = tokio::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .await
                    .unwrap();
                file.write_all(b"sec").await.unwrap();
                file.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
                file.write_all(b"ond\n").await.unwrap();
                file.flush().await.unwrap();
            })
        };
        let batch = source.next_batch().await.unwrap().unwrap();
        writer.await.unwrap();
        assert_eq!(&batch.records[0].data[..], b"second");
        assert_eq!(batch.records[0].sequence_number, "2");

        source.shutdown().await.unwrap();
        assert!(source.next_batch().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_missing_file_is_an_io_error_naming_it() {
        let err = match NdjsonSource::open("/nonexistent/cali.ndjson").await {
            Err(err) => err,
            Ok(_) => panic!("opened a missing file"),
        };
        assert!(
            err.to_string().contains("/nonexistent/cali.ndjson"),
            "{err}"
        );
    }
}
