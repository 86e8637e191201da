//! Builds the running consumer from its configuration: the stores (embedded or AWS), the
//! record source, the analysis and the Slack sender. The one place where the parts are
//! chosen; everything else receives them.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use cali_analysis::{AnalysisPipeline, Analyzer, PipelineOptions, TrivialAnalyzer};
use cali_retrieval::{Embedder, HashedEmbedder, LocalStore, MilvusStore, VectorStore};
use cali_stream::{KinesisConfig, LeaseStoreConfig, NdjsonOptions, NdjsonSource, RecordSource};

use crate::alert::AlertPolicy;
use crate::clock::Clock;
use crate::config::{
    Config, DeadLetterKind, EmbedderKind, Secrets, SourceKind, StartAt, StoreKind, VectorStoreKind,
};
use crate::dead_letter::{DeadLetterStore, DirectoryDeadLetters, S3DeadLetters};
use crate::incident::FoldRules;
use crate::metrics::Metrics;
use crate::outbox::{DeliveryRules, OutboxSender};
use crate::pipeline::{AlertPrinter, Pipeline, Settings};
use crate::slack::Webhook;
use crate::state::{DedupeRules, DynamoStore, SqliteStore, StateStore};

/// The analysis every alert carries: the analysis pipeline (LLM when `llm.base_url` is
/// set, else the offline analyst, both with retrieval), or, when it cannot be built, the
/// trivial analyzer: a broken vector store or secret must not stop alerting.
pub async fn analyzer(
    config: &Config,
    secrets: &Secrets,
    sdk: Option<&aws_config::SdkConfig>,
    metrics: &Metrics,
) -> Arc<dyn Analyzer> {
    match analysis_pipeline(config, secrets, sdk, metrics.analysis.clone()).await {
        Ok(pipeline) => {
            tracing::info!(analysis = ?pipeline, "analysis ready");
            Arc::new(pipeline)
        }
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "analysis unavailable; alerts carry a bare summary"
            );
            Arc::new(TrivialAnalyzer)
        }
    }
}

/// The embedder `vectors.embedder` names.
pub fn embedder(config: &Config) -> Arc<dyn Embedder> {
    match config.vectors.embedder {
        EmbedderKind::Minilm => cali_retrieval::default_embedder(None),
        EmbedderKind::Hashed => Arc::new(HashedEmbedder::new(
            cali_retrieval::embed::DEFAULT_HASHED_DIM,
        )),
    }
}

/// The vector store `vectors.kind` names, sized for `embedder`.
pub async fn vector_store(
    config: &Config,
    embedder: &dyn Embedder,
) -> anyhow::Result<Arc<dyn VectorStore>> {
    Ok(match config.vectors.kind {
        VectorStoreKind::Local => {
            let path = config.vectors_path();
            Arc::new(
                LocalStore::open(&path)
                    .with_context(|| format!("opening the vector store {}", path.display()))?,
            )
        }
        VectorStoreKind::Milvus => {
            let v = &config.vectors;
            Arc::new(
                MilvusStore::connect(&v.milvus_addr, &v.milvus_collection, embedder.dim())
                    .await
                    .with_context(|| {
                        format!(
                            "connecting to Milvus at {} (collection {})",
                            v.milvus_addr, v.milvus_collection
                        )
                    })?,
            )
        }
    })
}

/// The analysis pipeline over the configured embedder and vector store.
pub async fn analysis_pipeline(
    config: &Config,
    secrets: &Secrets,
    sdk: Option<&aws_config::SdkConfig>,
    metrics: Arc<cali_analysis::AnalysisMetrics>,
) -> anyhow::Result<AnalysisPipeline> {
    let embedder = embedder(config);
    let store = vector_store(config, &*embedder).await?;
    let api_key = match config.llm.base_url {
        Some(_) => llm_api_key(config, secrets, sdk).await?,
        None => None,
    };
    let cache_path = config.analysis_cache_path();
    if let Some(dir) = cache_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    AnalysisPipeline::new(
        config.analysis_config(),
        embedder,
        store,
        PipelineOptions {
            api_key,
            cache_path: Some(cache_path),
            metrics,
            ..PipelineOptions::default()
        },
    )
    .context("building the analysis pipeline")
}

/// The LLM API key: `CALI_LLM_API_KEY`, else the Secrets Manager secret (the key, or JSON
/// with an `api_key` member), else none (vLLM, Ollama).
async fn llm_api_key(
    config: &Config,
    secrets: &Secrets,
    sdk: Option<&aws_config::SdkConfig>,
) -> anyhow::Result<Option<String>> {
    if let Some(key) = &secrets.llm_api_key {
        return Ok(Some(key.clone()));
    }
    let (Some(arn), Some(sdk)) = (&config.llm.api_key_secret_arn, sdk) else {
        return Ok(None);
    };
    secret_member(sdk, arn, "api_key").await.map(Some)
}

/// A secret's string: the value itself, or the named member when the string is JSON.
async fn secret_member(
    sdk: &aws_config::SdkConfig,
    arn: &str,
    member: &str,
) -> anyhow::Result<String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let secret = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
        .with_context(|| format!("reading secret {arn}"))?;
    let text = secret
        .secret_string()
        .with_context(|| format!("secret {arn} holds no string"))?
        .trim()
        .to_string();
    if text.starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("secret {arn} is not JSON"))?;
        let found = value[member]
            .as_str()
            .with_context(|| format!("secret {arn} has no string member `{member}`"))?;
        return Ok(found.to_string());
    }
    Ok(text)
}

/// Shared AWS settings (credentials from the default chain: environment, profile, IRSA).
pub async fn aws(config: &Config) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &config.aws.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.aws.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

fn uses_aws(config: &Config) -> bool {
    config.state.kind == StoreKind::Dynamodb
        || config.dead_letter.kind == DeadLetterKind::S3
        || config.slack.webhook_secret_arn.is_some()
        || (config.llm.base_url.is_some() && config.llm.api_key_secret_arn.is_some())
        || config.source.kind == SourceKind::Kinesis
}

pub fn settings(config: &Config, queue_slack: bool) -> Settings {
    Settings {
        max_record_bytes: config.decode.max_record_bytes,
        dedupe: DedupeRules {
            window_ms: config.dedupe.window.as_ms(),
            capacity: config.dedupe.capacity,
        },
        memory_ids: config.dedupe.memory_capacity,
        fold: FoldRules {
            incident_window_ms: config.incident.window.as_ms(),
            max_pods: config.incident.max_pods,
        },
        policy: AlertPolicy {
            group_wait_ms: config.alert.group_wait.as_ms(),
            repeat_interval_ms: config.alert.repeat_interval.as_ms(),
        },
        evaluate_interval: config.alert.evaluate_interval.0,
        queue_slack,
        logs_url_template: config.slack.logs_url_template.clone(),
    }
}

pub fn delivery_rules(config: &Config) -> DeliveryRules {
    DeliveryRules {
        min_interval_ms: config.alert.webhook_min_interval.as_ms(),
        lease_ms: (config.slack.timeout.as_ms() * 3).max(5_000),
        backoff_base_ms: config.slack.backoff_base.as_ms(),
        backoff_max_ms: config.slack.backoff_max.as_ms(),
        max_attempts: config.slack.max_attempts,
        poll_ms: 100,
    }
}

/// The webhook URL: `CALI_SLACK_WEBHOOK_URL`, else the Secrets Manager secret.
async fn webhook_url(
    config: &Config,
    secrets: &Secrets,
    sdk: Option<&aws_config::SdkConfig>,
) -> anyhow::Result<Option<String>> {
    if let Some(url) = &secrets.slack_webhook_url {
        return Ok(Some(url.clone()));
    }
    let (Some(arn), Some(sdk)) = (&config.slack.webhook_secret_arn, sdk) else {
        return Ok(None);
    };
    secret_member(sdk, arn, "webhook_url")
        .await
        .context("reading slack.webhook_secret_arn")
        .map(Some)
}

/// Everything `run` and `replay` need.
pub struct Parts {
    pub pipeline: Arc<Pipeline>,
    pub sender: Option<OutboxSender>,
    pub sdk: Option<aws_config::SdkConfig>,
}

/// Builds stores, analysis and sender. `private_state` uses a throwaway in-memory store
/// (`cali replay` without `--persist`).
pub async fn build(
    config: &Config,
    secrets: &Secrets,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    printer: AlertPrinter,
    private_state: bool,
) -> anyhow::Result<Parts> {
    let sdk = if uses_aws(config) {
        Some(aws(config).await)
    } else {
        None
    };
    let store: Arc<dyn StateStore> = match (private_state, config.state.kind) {
        (true, _) => Arc::new(SqliteStore::in_memory()?),
        (false, StoreKind::Sqlite) => Arc::new(
            SqliteStore::open(&config.state.path)
                .with_context(|| format!("opening state.path {}", config.state.path.display()))?,
        ),
        (false, StoreKind::Dynamodb) => {
            let sdk = sdk.as_ref().context("DynamoDB needs AWS settings")?;
            let store = DynamoStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                &config.state.table_prefix,
            );
            store
                .create_tables_if_missing()
                .await
                .context("creating the state tables (state.table_prefix)")?;
            Arc::new(store)
        }
    };
    let dead_letters: Arc<dyn DeadLetterStore> = match config.dead_letter.kind {
        DeadLetterKind::Directory => {
            Arc::new(DirectoryDeadLetters::new(&config.dead_letter.directory))
        }
        DeadLetterKind::S3 => {
            let sdk = sdk.as_ref().context("S3 needs AWS settings")?;
            let client = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(config.aws.endpoint_url.is_some())
                    .build(),
            );
            Arc::new(S3DeadLetters::new(
                client,
                &config.dead_letter.bucket,
                &config.dead_letter.prefix,
            ))
        }
    };
    let url = webhook_url(config, secrets, sdk.as_ref()).await?;
    let sender = match &url {
        Some(url) => Some(OutboxSender::new(
            store.clone(),
            Webhook::new(url.clone(), config.slack.timeout.0)
                .context("building the Slack client")?,
            clock.clone(),
            delivery_rules(config),
            metrics.clone(),
        )),
        None => None,
    };
    let analyzer = analyzer(config, secrets, sdk.as_ref(), &metrics).await;
    let pipeline = Arc::new(Pipeline::new(
        store,
        dead_letters,
        analyzer,
        clock,
        metrics,
        settings(config, url.is_some()),
        printer,
    ));
    Ok(Parts {
        pipeline,
        sender,
        sdk,
    })
}

/// The record source the configuration names.
pub async fn open_source(
    config: &Config,
    sdk: Option<&aws_config::SdkConfig>,
) -> anyhow::Result<Box<dyn RecordSource>> {
    Ok(match config.source.kind {
        SourceKind::Ndjson => {
            let Some(path) = &config.source.input else {
                bail!("`source.input` is required for source.kind = \"ndjson\" (or pass --input FILE)");
            };
            let options = NdjsonOptions {
                follow: config.source.follow,
                ..NdjsonOptions::default()
            };
            Box::new(
                NdjsonSource::open_with(path, options)
                    .await
                    .with_context(|| format!("opening source.input {}", path.display()))?,
            )
        }
        SourceKind::Stdin => Box::new(NdjsonSource::stdin().await?),
        SourceKind::Kinesis => {
            let k = &config.kinesis;
            let worker = k.worker_id.clone().unwrap_or_else(default_worker_id);
            let lease_store = match k.lease_store {
                StoreKind::Sqlite => LeaseStoreConfig::Sqlite {
                    path: k.lease_path.clone(),
                },
                StoreKind::Dynamodb => LeaseStoreConfig::DynamoDb {
                    table: k.lease_table.clone(),
                    endpoint_url: config.aws.endpoint_url.clone(),
                    create_if_missing: true,
                },
            };
            let kc = KinesisConfig {
                endpoint_url: config.aws.endpoint_url.clone(),
                region: config.aws.region.clone(),
                poll_interval: k.poll_interval.0,
                max_records_per_call: k.max_records_per_call as i32,
                lease_duration: k.lease_duration.0,
                lease_take_interval: k.lease_take_interval.0,
                shard_sync_interval: k.shard_sync_interval.0,
                initial_position: match k.initial_position {
                    StartAt::TrimHorizon => cali_stream::InitialPosition::TrimHorizon,
                    StartAt::Latest => cali_stream::InitialPosition::Latest,
                },
                ..KinesisConfig::new(&k.stream_name, &worker, lease_store)
            };
            let source = match sdk {
                Some(sdk) => cali_stream::KinesisSource::with_sdk_config(kc, sdk).await,
                None => cali_stream::KinesisSource::new(kc).await,
            };
            Box::new(source.context("starting the Kinesis source")?)
        }
    })
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "cali".into());
    format!("{host}-{}", std::process::id())
}

/// How long `replay` waits for the outbox to drain at the end.
pub const REPLAY_DRAIN: Duration = Duration::from_secs(120);
