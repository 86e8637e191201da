//! A source fed by the same process through a channel (the demo, tests): every payload
//! pushed becomes one record of the single shard `in-process`, numbered from 1.

use std::time::Instant;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{Batch, RecordSource, ShardLag, SourceError, SourceRecord};

/// The shard id of every in-process record.
pub const IN_PROCESS_SHARD: &str = "in-process";

/// Most records handed out in one batch.
const MAX_BATCH: usize = 500;

/// Channel-backed source; finished when every sender is dropped and the channel drained.
pub struct InProcessSource {
    receiver: mpsc::Receiver<Vec<u8>>,
    next_sequence: u64,
    checkpointed: u64,
    checkpointed_at: Instant,
    shut_down: bool,
}

impl InProcessSource {
    /// A source and the sender that feeds it; `capacity` payloads may wait unread before
    /// `send` waits (backpressure).
    pub fn channel(capacity: usize) -> (mpsc::Sender<Vec<u8>>, Self) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let source = InProcessSource {
            receiver,
            next_sequence: 1,
            checkpointed: 0,
            checkpointed_at: Instant::now(),
            shut_down: false,
        };
        (sender, source)
    }

    /// The highest sequence number checkpointed so far (0 when none).
    pub fn checkpointed(&self) -> u64 {
        self.checkpointed
    }

    fn record(&mut self, payload: Vec<u8>) -> SourceRecord {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        SourceRecord {
            shard_id: IN_PROCESS_SHARD.to_string(),
            sequence_number: sequence.to_string(),
            partition_key: String::new(),
            data: Bytes::from(payload),
            arrival: None,
        }
    }
}

#[async_trait::async_trait]
impl RecordSource for InProcessSource {
    async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError> {
        if self.shut_down {
            return Ok(None);
        }
        let Some(first) = self.receiver.recv().await else {
            return Ok(None);
        };
        let mut records = vec![self.record(first)];
        while records.len() < MAX_BATCH {
            match self.receiver.try_recv() {
                Ok(payload) => records.push(self.record(payload)),
                Err(_) => break,
            }
        }
        Ok(Some(Batch {
            shard_id: IN_PROCESS_SHARD.to_string(),
            records,
            millis_behind_latest: None,
        }))
    }

    async fn checkpoint(
        &mut self,
        shard_id: &str,
        sequence_number: &str,
    ) -> Result<(), SourceError> {
        if shard_id != IN_PROCESS_SHARD {
            return Err(SourceError::UnknownShard {
                shard_id: shard_id.to_string(),
            });
        }
        let sequence: u64 = sequence_number
            .parse()
            .map_err(|_| SourceError::InvalidSequenceNumber(sequence_number.to_string()))?;
        if sequence > self.checkpointed {
            self.checkpointed = sequence;
            self.checkpointed_at = Instant::now();
        }
        Ok(())
    }

    async fn shutdown(&mut self) -> Result<(), SourceError> {
        self.shut_down = true;
        self.receiver.close();
        Ok(())
    }

    fn lag(&self) -> Vec<ShardLag> {
        vec![ShardLag {
            shard_id: IN_PROCESS_SHARD.to_string(),
            millis_behind_latest: 0,
            checkpoint_age_secs: self.checkpointed_at.elapsed().as_secs_f64(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pushed_payloads_arrive_in_order_and_end_when_senders_drop() {
        let (sender, mut source) = InProcessSource::channel(8);
        for i in 0..5u8 {
            sender.send(vec![i]).await.unwrap();
        }
        drop(sender);
        let mut seen = Vec::new();
        while let Some(batch) = source.next_batch().await.unwrap() {
            for r in batch.records {
                seen.push((r.sequence_number, r.data[0]));
            }
        }
        let expected: Vec<(String, u8)> = (0..5u8).map(|i| ((i + 1).to_string(), i)).collect();
        assert_eq!(seen, expected);
    }

    #[tokio::test]
    async fn checkpoint_only_moves_forward() {
        let (_sender, mut source) = InProcessSource::channel(1);
        source.checkpoint(IN_PROCESS_SHARD, "3").await.unwrap();
        source.checkpoint(IN_PROCESS_SHARD, "2").await.unwrap();
        assert_eq!(source.checkpointed(), 3);
        assert!(source.checkpoint("shardId-0", "4").await.is_err());
    }

    #[tokio::test]
    async fn shutdown_ends_reading() {
        let (sender, mut source) = InProcessSource::channel(4);
        sender.send(b"x".to_vec()).await.unwrap();
        source.shutdown().await.unwrap();
        assert!(source.next_batch().await.unwrap().is_none());
    }
}
