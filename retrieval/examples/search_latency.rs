//! Search latency of the local store at 10k and 100k vectors (384 dimensions, like
//! MiniLM): exact search scores every vector, so this is the number that says when to
//! move to Milvus. Run: `cargo run --release -p cali-retrieval --example search_latency`.

use std::time::{Duration, Instant};

use cali_retrieval::{DocKind, Document, LocalStore, VectorStore};

const DIM: usize = 384;
const QUERIES: usize = 50;

/// xorshift64*: deterministic vectors without a random-number dependency.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 24) as f32 - 0.5
    }

    fn unit_vector(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM).map(|_| self.next_f32()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let dir = std::env::temp_dir().join(format!("cali-search-latency-{}", std::process::id()));
    for n in [10_000usize, 100_000] {
        let path = dir.join(format!("vectors-{n}.sqlite"));
        let store = LocalStore::open(&path)?;
        let started = Instant::now();
        for batch in 0..n / 1000 {
            let docs = (0..1000)
                .map(|i| Document {
                    id: format!("incident:{batch}-{i}"),
                    kind: if i % 10 == 0 { DocKind::Runbook } else { DocKind::Incident },
                    title: format!("incident {batch}-{i}"),
                    text: "java.lang.IllegalStateException: something went wrong\nat com.acme.Service.call".into(),
                    resolution: (i % 7 == 0).then(|| "restarted".to_string()),
                    vector: rng.unit_vector(),
                })
                .collect();
            store.upsert(docs).await?;
        }
        let insert = started.elapsed();
        drop(store);
        let started = Instant::now();
        let store = LocalStore::open(&path)?;
        let reopen = started.elapsed();

        let mut times = Vec::with_capacity(QUERIES);
        for _ in 0..QUERIES {
            let query = rng.unit_vector();
            let started = Instant::now();
            let hits = store.search(&query, 5, None).await?;
            times.push(started.elapsed());
            assert_eq!(hits.len(), 5);
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / QUERIES as u32;
        println!(
            "{n} vectors x {DIM} dims: search top-5 mean {:.2} ms, p50 {:.2} ms, p99 {:.2} ms \
             ({QUERIES} queries); insert {:.1} s; reopen (load into memory) {:.2} s",
            mean.as_secs_f64() * 1e3,
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            insert.as_secs_f64(),
            reopen.as_secs_f64(),
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
