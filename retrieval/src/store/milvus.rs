//! Milvus as the vector store at scale, over its gRPC API (`milvus-sdk-rust`). One
//! collection holds both kinds of documents; ranking follows the same rule as the local
//! store: two searches (resolved incidents, everything else) merged by [`rank_key`].

use std::time::Duration;

use milvus::v2::prelude::{
    ClientV2, CollectionSchema, ConnectConfig, ConsistencyLevel, CreateCollectionRequest,
    CreateIndexRequest, DataType, DescribeCollectionRequest, DropCollectionRequest, FieldSchema,
    HasCollectionRequest, IndexParam, IndexType, InsertRequest, LoadCollectionRequest, MetricType,
    QueryRequest, SearchRequest, SearchVectors, UpsertRequest,
};
use serde_json::{json, Value};

use super::{is_resolved_incident, sort_hits, DocKind, Document, Hit, VectorStore};
use crate::RetrievalError;

const ID: &str = "id";
const VECTOR: &str = "vector";
const KIND: &str = "kind";
const TITLE: &str = "title";
const TEXT: &str = "text";
const RESOLUTION: &str = "resolution";
const RESOLVED: &str = "resolved";
/// Milvus VarChar limits, in bytes; longer values are cut at a character boundary.
const MAX_ID: usize = 512;
const MAX_TITLE: usize = 1024;
const MAX_TEXT: usize = 16_384;
const MAX_RESOLUTION: usize = 8192;
const FIELDS: [&str; 6] = [ID, KIND, TITLE, TEXT, RESOLUTION, RESOLVED];

pub struct MilvusStore {
    client: ClientV2,
    collection: String,
    dim: usize,
}

fn milvus_err(context: &str) -> impl Fn(milvus::v2::error::Error) -> RetrievalError + '_ {
    move |err| RetrievalError::Milvus(format!("{context}: {err}"))
}

impl MilvusStore {
    /// Connects to Milvus at `addr` (`http://host:19530`) and opens `collection`, creating
    /// it (schema, FLAT cosine index, loaded) when missing. An existing collection whose
    /// vectors have another dimension is an error. The token is read from env
    /// `CALI_MILVUS_TOKEN` (`user:password`), default `root:Milvus`.
    pub async fn connect(addr: &str, collection: &str, dim: usize) -> Result<Self, RetrievalError> {
        let token =
            std::env::var("CALI_MILVUS_TOKEN").unwrap_or_else(|_| "root:Milvus".to_string());
        let config = ConnectConfig::new()
            .uri(addr)
            .token(token)
            .connect_timeout(Duration::from_secs(10));
        let client = ClientV2::new(&config)
            .await
            .map_err(milvus_err("connecting"))?;
        let store = MilvusStore {
            client,
            collection: collection.to_string(),
            dim,
        };
        store.ensure_collection().await?;
        Ok(store)
    }

    async fn ensure_collection(&self) -> Result<(), RetrievalError> {
        let exists = self
            .client
            .has_collection(
                HasCollectionRequest::builder()
                    .collection_name(&self.collection)
                    .build()
                    .map_err(milvus_err("has_collection"))?,
            )
            .await
            .map_err(milvus_err("has_collection"))?
            .exists();
        if exists {
            let described = self
                .client
                .describe_collection(
                    DescribeCollectionRequest::builder()
                        .collection_name(&self.collection)
                        .build()
                        .map_err(milvus_err("describe"))?,
                )
                .await
                .map_err(milvus_err("describe"))?;
            let dim = described
                .description()
                .get_schema()
                .get_fields()
                .iter()
                .find(|f| f.get_name() == VECTOR)
                .map(|f| f.get_dimension() as usize)
                .ok_or_else(|| {
                    RetrievalError::Milvus(format!(
                        "collection {} has no {VECTOR} field",
                        self.collection
                    ))
                })?;
            if dim != self.dim {
                return Err(RetrievalError::DimensionMismatch {
                    expected: self.dim,
                    got: dim,
                });
            }
        } else {
            let varchar = |name: &str, max: usize| {
                FieldSchema::new()
                    .name(name)
                    .data_type(DataType::VarChar)
                    .max_length(max as u32)
            };
            let schema = CollectionSchema::new()
                .enable_dynamic_field(false)
                .add_field(varchar(ID, MAX_ID).primary_key(true))
                .add_field(
                    FieldSchema::new()
                        .name(VECTOR)
                        .data_type(DataType::FloatVector)
                        .dimension(self.dim as u32),
                )
                .add_field(varchar(KIND, 16))
                .add_field(varchar(TITLE, MAX_TITLE))
                .add_field(varchar(TEXT, MAX_TEXT))
                .add_field(varchar(RESOLUTION, MAX_RESOLUTION))
                .add_field(FieldSchema::new().name(RESOLVED).data_type(DataType::Bool));
            self.client
                .create_collection(
                    CreateCollectionRequest::builder()
                        .collection_name(&self.collection)
                        .schema(schema)
                        .consistency_level(ConsistencyLevel::Strong)
                        .build()
                        .map_err(milvus_err("create_collection"))?,
                )
                .await
                .map_err(milvus_err("create_collection"))?;
            self.client
                .create_index(
                    CreateIndexRequest::builder()
                        .collection_name(&self.collection)
                        .index_param(
                            IndexParam::new()
                                .field_name(VECTOR)
                                .index_type(IndexType::Flat)
                                .metric_type(MetricType::Cosine),
                        )
                        // Waiting polls AllocTimestamp, which Milvus Lite lacks; loading the
                        // collection next waits for the index on a real Milvus anyway.
                        .sync(false)
                        .build()
                        .map_err(milvus_err("create_index"))?,
                )
                .await
                .map_err(milvus_err("create_index"))?;
        }
        self.client
            .load_collection(
                LoadCollectionRequest::builder()
                    .collection_name(&self.collection)
                    .build()
                    .map_err(milvus_err("load"))?,
            )
            .await
            .map_err(milvus_err("load"))
    }

    /// Deletes the collection and everything in it (tests, `cali kb` rebuilds).
    pub async fn drop_collection(&self) -> Result<(), RetrievalError> {
        self.client
            .drop_collection(
                DropCollectionRequest::builder()
                    .collection_name(&self.collection)
                    .build()
                    .map_err(milvus_err("drop"))?,
            )
            .await
            .map_err(milvus_err("drop"))
    }

    fn row(&self, doc: &Document) -> Result<Value, RetrievalError> {
        if doc.vector.len() != self.dim {
            return Err(RetrievalError::DimensionMismatch {
                expected: self.dim,
                got: doc.vector.len(),
            });
        }
        if doc.id.len() > MAX_ID {
            return Err(RetrievalError::Milvus(format!(
                "id longer than {MAX_ID} bytes: {}",
                doc.id
            )));
        }
        Ok(json!({
            ID: doc.id,
            VECTOR: doc.vector,
            KIND: doc.kind.as_str(),
            TITLE: truncate(&doc.title, MAX_TITLE),
            TEXT: truncate(&doc.text, MAX_TEXT),
            RESOLUTION: truncate(doc.resolution.as_deref().unwrap_or(""), MAX_RESOLUTION),
            RESOLVED: is_resolved_incident(doc),
        }))
    }

    async fn search_filtered(
        &self,
        vector: &[f32],
        k: usize,
        filter: String,
    ) -> Result<Vec<Hit>, RetrievalError> {
        let response = self
            .client
            .search(
                SearchRequest::builder()
                    .collection_name(&self.collection)
                    .vector_field(VECTOR)
                    .vectors(SearchVectors::Float(vec![vector.to_vec()]))
                    .filter(filter)
                    .output_fields(FIELDS.iter().copied().chain([VECTOR]))
                    .limit(k as i64)
                    .consistency_level(ConsistencyLevel::Strong)
                    .build()
                    .map_err(milvus_err("search"))?,
            )
            .await
            .map_err(milvus_err("search"))?;
        let mut hits = Vec::new();
        for result in response.results() {
            for row in result.rows().map_err(milvus_err("search results"))? {
                let row = row.to_entity_row().map_err(milvus_err("search results"))?;
                let score = row.get("score").and_then(Value::as_f64).unwrap_or(0.0) as f32;
                hits.push(Hit {
                    doc: document(&row)?,
                    score,
                });
            }
        }
        Ok(hits)
    }
}

/// A document from a result row (`to_entity_row` JSON).
fn document(row: &serde_json::Map<String, Value>) -> Result<Document, RetrievalError> {
    let text = |name: &str| {
        row.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let id = text(ID);
    let kind = DocKind::parse(&text(KIND))
        .ok_or_else(|| RetrievalError::Milvus(format!("document {id} has an unknown kind")))?;
    let vector = row
        .get(VECTOR)
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(Value::as_f64)
                .map(|x| x as f32)
                .collect()
        })
        .unwrap_or_default();
    let resolution = Some(text(RESOLUTION)).filter(|r| !r.is_empty());
    Ok(Document {
        kind,
        title: text(TITLE),
        text: text(TEXT),
        resolution,
        vector,
        id,
    })
}

fn truncate(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A Milvus string literal for a filter expression.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[async_trait::async_trait]
impl VectorStore for MilvusStore {
    async fn upsert(&self, docs: Vec<Document>) -> Result<(), RetrievalError> {
        if docs.is_empty() {
            return Ok(());
        }
        let rows = docs
            .iter()
            .map(|doc| self.row(doc))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .upsert(
                UpsertRequest::builder()
                    .insert(
                        InsertRequest::builder()
                            .collection_name(&self.collection)
                            .rows(rows)
                            .build()
                            .map_err(milvus_err("upsert"))?,
                    )
                    .build()
                    .map_err(milvus_err("upsert"))?,
            )
            .await
            .map_err(milvus_err("upsert"))?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Document>, RetrievalError> {
        let response = self
            .client
            .query(
                QueryRequest::builder()
                    .collection_name(&self.collection)
                    .filter(format!("{ID} == {}", quoted(id)))
                    .output_fields(FIELDS.iter().copied().chain([VECTOR]))
                    .limit(1)
                    .consistency_level(ConsistencyLevel::Strong)
                    .build()
                    .map_err(milvus_err("query"))?,
            )
            .await
            .map_err(milvus_err("query"))?;
        let mut rows = response
            .results()
            .rows()
            .map_err(milvus_err("query results"))?;
        match rows.next() {
            Some(row) => Ok(Some(document(
                &row.to_entity_row().map_err(milvus_err("query results"))?,
            )?)),
            None => Ok(None),
        }
    }

    async fn set_resolution(&self, id: &str, note: &str) -> Result<bool, RetrievalError> {
        let Some(mut doc) = self.get(id).await? else {
            return Ok(false);
        };
        doc.resolution = Some(note.to_string());
        self.upsert(vec![doc]).await?;
        Ok(true)
    }

    async fn search(
        &self,
        vector: &[f32],
        k: usize,
        kind: Option<DocKind>,
    ) -> Result<Vec<Hit>, RetrievalError> {
        if k == 0 {
            return Ok(Vec::new());
        }
        if vector.len() != self.dim {
            return Err(RetrievalError::DimensionMismatch {
                expected: self.dim,
                got: vector.len(),
            });
        }
        let kind_filter = kind
            .map(|kind| format!("{KIND} == {} and ", quoted(kind.as_str())))
            .unwrap_or_default();
        // The top k by rank key are among the top k resolved and the top k of the rest.
        let mut hits = self
            .search_filtered(vector, k, format!("{kind_filter}{RESOLVED} == false"))
            .await?;
        if kind != Some(DocKind::Runbook) {
            hits.extend(
                self.search_filtered(vector, k, format!("{kind_filter}{RESOLVED} == true"))
                    .await?,
            );
        }
        sort_hits(&mut hits);
        hits.truncate(k);
        Ok(hits)
    }

    async fn len(&self) -> Result<usize, RetrievalError> {
        let response = self
            .client
            .query(
                QueryRequest::builder()
                    .collection_name(&self.collection)
                    .output_fields(["count(*)"])
                    .consistency_level(ConsistencyLevel::Strong)
                    .build()
                    .map_err(milvus_err("count"))?,
            )
            .await
            .map_err(milvus_err("count"))?;
        let row = response
            .results()
            .rows()
            .map_err(milvus_err("count"))?
            .next()
            .ok_or_else(|| RetrievalError::Milvus("count(*) returned no row".into()))?;
        let count = row.get_i64("count(*)").map_err(milvus_err("count"))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_literals_are_escaped() {
        assert_eq!(
            quoted(r#"runbook:a "b"\c.md#x"#),
            r#""runbook:a \"b\"\\c.md#x""#
        );
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
