//! all-MiniLM-L6-v2 in-process: BERT with candle on the CPU, WordPiece with tokenizers,
//! mean pooling over the attention mask, then L2 normalization — the sentence-transformers
//! recipe. Weights come only from a local directory (`model.safetensors`, `tokenizer.json`,
//! optionally `config.json`); nothing is downloaded.

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{l2_normalize, Embedder};
use crate::RetrievalError;

/// The model card's limit: longer inputs are truncated to 256 word pieces.
pub const MAX_WORD_PIECES: usize = 256;
/// Texts per forward pass: bounds memory, and padding waste within a batch.
const BATCH: usize = 32;

/// all-MiniLM-L6-v2's `config.json`, used when the directory has none.
const MINILM_CONFIG: &str = r#"{
  "vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
  "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
  "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
  "model_type": "bert"
}"#;

pub struct MiniLmEmbedder {
    inner: Arc<Model>,
}

struct Model {
    bert: BertModel,
    tokenizer: Tokenizer,
    dim: usize,
    device: Device,
}

fn model_err(context: &str) -> impl Fn(candle_core::Error) -> RetrievalError + '_ {
    move |err| RetrievalError::Model(format!("{context}: {err}"))
}

impl MiniLmEmbedder {
    /// Loads the weights and tokenizer from `model_dir`.
    pub fn load(model_dir: &Path) -> Result<Self, RetrievalError> {
        let read = |name: &str| {
            let path = model_dir.join(name);
            std::fs::read(&path).map_err(|source| RetrievalError::Io { path, source })
        };
        let config_text = match read("config.json") {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => MINILM_CONFIG.to_string(),
        };
        let config: Config = serde_json::from_str(&config_text)
            .map_err(|err| RetrievalError::Model(format!("config.json: {err}")))?;

        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|err| RetrievalError::Model(format!("tokenizer.json: {err}")))?;
        // The shipped tokenizer.json pads and truncates everything to 128; padding tokens
        // would then be averaged into the sentence vector. Pad per batch (with a mask) and
        // truncate where the model was trained to.
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(0);
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id,
            pad_token: "[PAD]".to_string(),
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_WORD_PIECES,
                ..TruncationParams::default()
            }))
            .map_err(|err| RetrievalError::Model(format!("tokenizer truncation: {err}")))?;

        let device = Device::Cpu;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(model_err("model.safetensors"))?;
        let bert = BertModel::load(vb, &config).map_err(model_err("model.safetensors"))?;
        Ok(MiniLmEmbedder {
            inner: Arc::new(Model {
                bert,
                tokenizer,
                dim: config.hidden_size,
                device,
            }),
        })
    }
}

impl Model {
    fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RetrievalError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|err| RetrievalError::Model(format!("tokenizing: {err}")))?;
        let err = model_err("forward pass");
        let ids = encodings
            .iter()
            .map(|e| Tensor::new(e.get_ids(), &self.device))
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        let masks = encodings
            .iter()
            .map(|e| Tensor::new(e.get_attention_mask(), &self.device))
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        let input_ids = Tensor::stack(&ids, 0).map_err(&err)?;
        let attention_mask = Tensor::stack(&masks, 0).map_err(&err)?;
        let token_type_ids = input_ids.zeros_like().map_err(&err)?;
        let hidden = self
            .bert
            .forward(&input_ids, &token_type_ids, Some(&attention_mask))
            .map_err(&err)?;
        // Mean over the real tokens only: [batch, tokens, hidden] · mask → [batch, hidden].
        let mask = attention_mask
            .to_dtype(DType::F32)
            .and_then(|m| m.unsqueeze(2))
            .map_err(&err)?;
        let summed = hidden
            .broadcast_mul(&mask)
            .and_then(|h| h.sum(1))
            .map_err(&err)?;
        let counts = mask
            .sum(1)
            .and_then(|c| c.clamp(1e-9f32, f32::MAX))
            .map_err(&err)?;
        let mean = summed.broadcast_div(&counts).map_err(&err)?;
        let mut vectors: Vec<Vec<f32>> = mean.to_vec2().map_err(&err)?;
        vectors.iter_mut().for_each(|v| l2_normalize(v));
        Ok(vectors)
    }
}

#[async_trait::async_trait]
impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        "all-MiniLM-L6-v2"
    }

    fn dim(&self) -> usize {
        self.inner.dim
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RetrievalError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let model = Arc::clone(&self.inner);
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(texts.len());
            for batch in texts.chunks(BATCH) {
                out.extend(model.embed_batch(batch)?);
            }
            Ok(out)
        })
        .await?
    }
}
