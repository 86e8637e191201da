//! Shared by the plugin's corpus tests.

use std::path::{Path, PathBuf};

/// `CALI_CORPUS_DIR`, else `../shared/corpus` beside the workspace. A relative
/// `CALI_CORPUS_DIR` is read from the workspace's root, where the README's commands run
/// (cargo runs a test in its package's directory).
pub fn corpus_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match std::env::var_os("CALI_CORPUS_DIR") {
        Some(d) => root.join(d),
        None => root.join("../shared/corpus"),
    }
}
