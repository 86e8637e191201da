//! The fallback embedder: hashed features of the normalized text, no model needed.
//! Tokens, bigrams and character trigrams of identifiers are hashed into signed buckets,
//! so texts that share words and qualified names land close together. Deterministic.

use super::{l2_normalize, Embedder};
use crate::text::message_template;
use crate::RetrievalError;

/// Hashed bag of features (`hashed-v1`).
pub struct HashedEmbedder {
    dim: usize,
}

const TOKEN_WEIGHT: f32 = 1.0;
const BIGRAM_WEIGHT: f32 = 0.7;
const TRIGRAM_WEIGHT: f32 = 0.25;

/// Words too common in logs and runbooks to say anything about a problem.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "and", "or", "is", "was", "be", "by",
    "with", "from", "as", "it", "this", "that", "not", "no", "num", "hex", "id",
];

impl HashedEmbedder {
    /// `dim` buckets; at least 1.
    pub fn new(dim: usize) -> Self {
        HashedEmbedder { dim: dim.max(1) }
    }

    /// The features of one text with their weights (before hashing).
    fn features(&self, text: &str) -> Vec<(String, f32)> {
        let template = message_template(text);
        let mut features = Vec::new();
        let mut words = Vec::new();
        for raw in template.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_')) {
            let raw = raw.trim_matches(|c| c == '.' || c == '_');
            if raw.is_empty() {
                continue;
            }
            let is_identifier = raw.contains('.') || raw.contains('_') || has_inner_capital(raw);
            if is_identifier {
                let lower = raw.to_lowercase();
                let padded: Vec<char> = format!("^{lower}$").chars().collect();
                for gram in padded.windows(3) {
                    features.push((
                        format!("3:{}", gram.iter().collect::<String>()),
                        TRIGRAM_WEIGHT,
                    ));
                }
                features.push((format!("i:{lower}"), TOKEN_WEIGHT));
            }
            for part in raw.split(['.', '_']).flat_map(split_camel) {
                let part = part.to_lowercase();
                if part.len() > 1 && !STOPWORDS.contains(&part.as_str()) {
                    words.push(part);
                }
            }
        }
        for pair in words.windows(2) {
            features.push((format!("2:{} {}", pair[0], pair[1]), BIGRAM_WEIGHT));
        }
        features.extend(words.into_iter().map(|w| (format!("1:{w}"), TOKEN_WEIGHT)));
        features
    }

    fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dim];
        for (feature, weight) in self.features(text) {
            let h = fnv1a(feature.as_bytes());
            let bucket = (h % self.dim as u64) as usize;
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[bucket] += sign * weight;
        }
        l2_normalize(&mut v);
        v
    }
}

fn has_inner_capital(word: &str) -> bool {
    word.chars().skip(1).any(|c| c.is_uppercase()) && word.chars().any(|c| c.is_lowercase())
}

/// `NullPointerException` → `Null`, `Pointer`, `Exception`; `HTTPClient` → `HTTP`, `Client`.
fn split_camel(word: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..chars.len() {
        let (pos, c) = chars[i];
        let prev = chars[i - 1].1;
        let next_lower = chars.get(i + 1).is_some_and(|(_, n)| n.is_lowercase());
        let boundary = c.is_uppercase()
            && (prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_lower));
        if boundary {
            parts.push(&word[start..pos]);
            start = pos;
        }
    }
    parts.push(&word[start..]);
    parts
}

/// FNV-1a, 64 bit: stable across platforms and releases, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[async_trait::async_trait]
impl Embedder for HashedEmbedder {
    fn model_id(&self) -> &str {
        "hashed-v1"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RetrievalError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::cosine;

    #[test]
    fn splits_camel_case_and_acronyms() {
        assert_eq!(
            split_camel("NullPointerException"),
            ["Null", "Pointer", "Exception"]
        );
        assert_eq!(split_camel("HTTPClientError"), ["HTTP", "Client", "Error"]);
        assert_eq!(split_camel("plain"), ["plain"]);
    }

    #[tokio::test]
    async fn vectors_are_normalized_and_deterministic() {
        let e = HashedEmbedder::new(256);
        let texts = vec!["java.sql.SQLTransientConnectionException: pool exhausted".to_string()];
        let a = e.embed(&texts).await.unwrap();
        let b = HashedEmbedder::new(256).embed(&texts).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].len(), 256);
        assert!((cosine(&a[0], &a[0]) - 1.0).abs() < 1e-5);
    }

    #[tokio::test]
    async fn numbers_do_not_change_the_vector() {
        let e = HashedEmbedder::new(384);
        let v = e
            .embed(&[
                "Connection to 10.0.0.1:5432 refused after 3000 ms".to_string(),
                "Connection to 10.9.8.7:6543 refused after 120 ms".to_string(),
            ])
            .await
            .unwrap();
        assert!((cosine(&v[0], &v[1]) - 1.0).abs() < 1e-5);
    }

    #[tokio::test]
    async fn shared_identifiers_score_higher_than_unrelated_text() {
        let e = HashedEmbedder::new(384);
        let v = e
            .embed(&[
                "HikariPool-1 - Connection is not available, request timed out at com.zaxxer.hikari.pool.HikariPool.getConnection".to_string(),
                "com.zaxxer.hikari.pool.HikariPool connection pool exhausted".to_string(),
                "Disk quota exceeded writing /var/log/app.log".to_string(),
            ])
            .await
            .unwrap();
        assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2);
    }
}
