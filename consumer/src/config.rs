//! What a user can set: a TOML file (`--config`) with every key optional, overridden by
//! `CALI_<SECTION>_<KEY>` environment variables. Each field's doc comment is its
//! documentation (default, unit). Secrets never come from the file: only from the
//! environment or AWS Secrets Manager.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as `<number><unit>` with unit `ms`, `s`, `m`, `h` or `d` (`30s`, `4h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl Span {
    pub const fn secs(s: u64) -> Self {
        Span(Duration::from_secs(s))
    }
    pub const fn millis(ms: u64) -> Self {
        Span(Duration::from_millis(ms))
    }
    pub fn as_ms(self) -> i64 {
        self.0.as_millis().min(i64::MAX as u128) as i64
    }
}

impl FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(|| format!("{s:?} has no unit (ms, s, m, h, d)"))?;
        let (number, unit) = s.split_at(split);
        let n: f64 = number
            .parse()
            .map_err(|_| format!("{s:?} does not start with a number"))?;
        let unit_ms = match unit {
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3_600e3,
            "d" => 86_400e3,
            _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h, d)")),
        };
        Ok(Span(Duration::from_millis((n * unit_ms).round() as u64)))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms >= size && ms % size == 0 {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub source: SourceConfig,
    pub kinesis: KinesisSettings,
    pub decode: DecodeConfig,
    pub dedupe: DedupeConfig,
    pub incident: IncidentConfig,
    pub alert: AlertConfig,
    pub slack: SlackConfig,
    pub analysis: AnalysisSettings,
    pub llm: LlmSettings,
    pub vectors: VectorsConfig,
    pub state: StateConfig,
    pub dead_letter: DeadLetterConfig,
    pub http: HttpConfig,
    pub aws: AwsConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Ndjson,
    Stdin,
    Kinesis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// Where records come from: `ndjson` (a file, `source.input`), `stdin`, or `kinesis`.
    /// Default `ndjson`.
    pub kind: SourceKind,
    /// The NDJSON file for `kind = "ndjson"` (one event per line, as Fluent Bit's `file`
    /// output writes it). No default.
    pub input: Option<PathBuf>,
    /// Keep reading the NDJSON file as it grows instead of stopping at its end. Default `false`.
    pub follow: bool,
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            kind: SourceKind::Ndjson,
            input: None,
            follow: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Dynamodb,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KinesisSettings {
    /// The Kinesis data stream to read. Default `cali-events`.
    pub stream_name: String,
    /// This replica's name in the lease table. Default: the host name and process id.
    pub worker_id: Option<String>,
    /// Where shard leases and checkpoints live: `sqlite` (one machine) or `dynamodb`
    /// (replicas). Default `sqlite`.
    pub lease_store: StoreKind,
    /// SQLite lease file for `lease_store = "sqlite"`. Default `.cali/state/leases.db`.
    pub lease_path: PathBuf,
    /// DynamoDB lease table for `lease_store = "dynamodb"` (created if missing). Default `cali-leases`.
    pub lease_table: String,
    /// Pause between `GetRecords` calls on one shard (Kinesis allows 5 calls/s per shard).
    /// Default `1s`.
    pub poll_interval: Span,
    /// Records asked for per `GetRecords` call (1 ..= 10000). Default `10000`.
    pub max_records_per_call: u32,
    /// How long a lease lasts without renewal before another replica may take the shard
    /// (a killed replica's shards move this long after its last renewal). Default `10s`.
    pub lease_duration: Span,
    /// How often this replica looks for free, expired or unbalanced leases. Default `5s`.
    pub lease_take_interval: Span,
    /// How often the shard list is read again to find shards made by resharding. Default `60s`.
    pub shard_sync_interval: Span,
    /// Where a shard without checkpoint starts: `trim_horizon` (oldest record) or `latest`.
    /// Default `trim_horizon`.
    pub initial_position: StartAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    TrimHorizon,
    Latest,
}

impl Default for KinesisSettings {
    fn default() -> Self {
        Self {
            stream_name: "cali-events".into(),
            worker_id: None,
            lease_store: StoreKind::Sqlite,
            lease_path: PathBuf::from(".cali/state/leases.db"),
            lease_table: "cali-leases".into(),
            poll_interval: Span::secs(1),
            max_records_per_call: 10_000,
            lease_duration: Span::secs(10),
            lease_take_interval: Span::secs(5),
            shard_sync_interval: Span::secs(60),
            initial_position: StartAt::TrimHorizon,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeConfig {
    /// Largest record (after decompression) accepted; larger ones are dead-lettered as
    /// `oversized`. Bytes, default `1048576` (1 MiB, Kinesis's own record limit).
    pub max_record_bytes: usize,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        Self {
            max_record_bytes: 1 << 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupeConfig {
    /// How long an `event_id` is remembered to drop repeats (Fluent Bit retries whole
    /// chunks; Kinesis replays after a crash). Default `1h`.
    pub window: Span,
    /// At most this many ids are remembered in the state store (the oldest go first).
    /// Default `1000000`.
    pub capacity: u64,
    /// Ids remembered in memory in front of the store, so hot repeats cost no write.
    /// Default `100000`.
    pub memory_capacity: usize,
}

impl Default for DedupeConfig {
    fn default() -> Self {
        Self {
            window: Span::secs(3_600),
            capacity: 1_000_000,
            memory_capacity: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentConfig {
    /// An event of a fingerprint later than the incident's last event by more than this
    /// opens a new incident (and a new first alert). Event time. Default `1h`.
    pub window: Span,
    /// Pods and versions remembered per incident. Default `50`.
    pub max_pods: usize,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        Self {
            window: Span::secs(3_600),
            max_pods: 50,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// How long a new incident gathers its burst before the first message. Default `30s`.
    pub group_wait: Span,
    /// At most one message per incident per this interval; updates (count, new pods) are
    /// folded into the next one. Default `4h`.
    pub repeat_interval: Span,
    /// Smallest gap between two webhook messages, across all replicas (Slack allows about
    /// one per second). Default `1s`.
    pub webhook_min_interval: Span,
    /// How often the policy looks for incidents that are due. Default `1s`.
    pub evaluate_interval: Span,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            group_wait: Span::secs(30),
            repeat_interval: Span::secs(4 * 3_600),
            webhook_min_interval: Span::secs(1),
            evaluate_interval: Span::secs(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// ARN of an AWS Secrets Manager secret holding the webhook URL (the secret string is
    /// the URL, or JSON with a `webhook_url` member). The URL itself is never read from the
    /// file: set `CALI_SLACK_WEBHOOK_URL` or this. No default (terminal output only).
    pub webhook_secret_arn: Option<String>,
    /// Link to the incident's logs, with `{fingerprint}`, `{service}`, `{namespace}`,
    /// `{from}`, `{to}` filled in (URL-encoded; times RFC 3339), e.g. an OpenSearch
    /// Dashboards Discover or Grafana Explore URL. No default (no link).
    pub logs_url_template: Option<String>,
    /// Timeout of one webhook call. Default `10s`.
    pub timeout: Span,
    /// Delivery attempts before a message is given up (recorded as dead). Default `20`.
    pub max_attempts: u32,
    /// First retry delay after a 5xx or timeout; doubles per attempt, jittered. Default `1s`.
    pub backoff_base: Span,
    /// Largest retry delay. Default `5m`.
    pub backoff_max: Span,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            webhook_secret_arn: None,
            logs_url_template: None,
            timeout: Span::secs(10),
            max_attempts: 20,
            backoff_base: Span::secs(1),
            backoff_max: Span::secs(300),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSettings {
    /// How many past incidents, and how many runbook sections, are retrieved for each
    /// incident. Default `3` (so up to 3 + 3).
    pub top_k: usize,
    /// Lowest cosine similarity (0 ..= 1) for a retrieved document to count as related.
    /// Default `0.3`.
    pub min_score: f64,
    /// How long an LLM analysis is reused for the same fingerprint (or the same redacted
    /// prompt) before the endpoint is asked again. Default `1h`.
    pub cache_ttl: Span,
    /// SQLite file of the LLM cache and of each incident's latest analysis. Default:
    /// `analysis.sqlite` beside `state.path`.
    pub cache_path: Option<PathBuf>,
    /// Extra redaction patterns (file only), applied after the built-in ones: a list of
    /// `{ name = "...", regex = "..." }`; a capture group named `secret` limits the
    /// replacement to that group. Default none.
    pub redaction_patterns: Vec<cali_analysis::redact::ExtraPattern>,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        let defaults = cali_analysis::AnalysisConfig::default();
        Self {
            top_k: defaults.top_k,
            min_score: 0.3,
            cache_ttl: Span::secs(defaults.cache_ttl_secs),
            cache_path: None,
            redaction_patterns: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmSettings {
    /// OpenAI-compatible Chat Completions endpoint, up to and including `/v1`: OpenAI
    /// `https://api.openai.com/v1`, vLLM `http://vllm:8000/v1`, Ollama
    /// `http://localhost:11434/v1`. No default: every incident is explained by the offline
    /// analyst.
    pub base_url: Option<String>,
    /// Model name as the endpoint knows it. Default `gpt-4o-mini`.
    pub model: String,
    /// ARN of an AWS Secrets Manager secret holding the API key (the secret string is the
    /// key, or JSON with an `api_key` member). The key itself is never read from the file:
    /// set `CALI_LLM_API_KEY` or this. No default (no key: vLLM, Ollama).
    pub api_key_secret_arn: Option<String>,
    /// Timeout of one request. Default `30s`.
    pub timeout: Span,
    /// Retries after a failed request (timeout, transport error, 429, 5xx). Default `2`.
    pub max_retries: u32,
    /// First retry delay; doubles each retry, with jitter. Default `500ms`.
    pub backoff_base: Span,
    /// Longest delay between retries, also the cap on a 429's `Retry-After`. Default `10s`.
    pub backoff_max: Span,
    /// Consecutive failed calls that open the circuit breaker (then the offline analyst
    /// answers). Default `5`.
    pub breaker_failures: u32,
    /// How long the open breaker refuses calls before one trial call. Default `60s`.
    pub breaker_cooldown: Span,
    /// Calls allowed per hour. Default `120`.
    pub hourly_call_budget: u64,
    /// Tokens (prompt + completion) allowed per hour. Default `300000`.
    pub hourly_token_budget: u64,
    /// Largest prompt in tokens (estimated at 4 characters per token); the stack and log
    /// lines are trimmed to fit. Default `3000`.
    pub prompt_token_budget: usize,
    /// `max_tokens` of the completion. Default `700`.
    pub max_completion_tokens: u32,
    /// Ask for `response_format: json_schema` (OpenAI, vLLM, Ollama >= 0.5); when false,
    /// `json_object` is asked for and the schema is given in the prompt. Default `true`.
    pub json_schema: bool,
}

impl Default for LlmSettings {
    fn default() -> Self {
        let d = cali_analysis::LlmConfig::default();
        Self {
            base_url: None,
            model: d.model,
            api_key_secret_arn: None,
            timeout: Span::millis(d.timeout_ms),
            max_retries: d.max_retries,
            backoff_base: Span::millis(d.backoff_base_ms),
            backoff_max: Span::millis(d.backoff_max_ms),
            breaker_failures: d.breaker_failures,
            breaker_cooldown: Span::secs(d.breaker_cooldown_secs),
            hourly_call_budget: d.hourly_call_budget,
            hourly_token_budget: d.hourly_token_budget,
            prompt_token_budget: d.prompt_token_budget,
            max_completion_tokens: d.max_completion_tokens,
            json_schema: d.json_schema,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorStoreKind {
    Local,
    Milvus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedderKind {
    Minilm,
    Hashed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VectorsConfig {
    /// Where past incidents and runbook sections are kept and searched: `local` (a SQLite
    /// file, exact search, fine up to ~100k documents) or `milvus`. Default `local`.
    pub kind: VectorStoreKind,
    /// SQLite file for `kind = "local"`. Default: `vectors.sqlite` beside `state.path`
    /// (also for `cali replay`, so runbooks added once with `cali kb add` are found).
    pub path: Option<PathBuf>,
    /// Milvus address for `kind = "milvus"` (token from env `CALI_MILVUS_TOKEN`, default
    /// `root:Milvus`). Default `http://localhost:19530`.
    pub milvus_addr: String,
    /// Milvus collection, created (cosine, 384 dimensions) if missing. Default `cali`.
    pub milvus_collection: String,
    /// `minilm` (all-MiniLM-L6-v2 in-process, weights from `CALI_MODEL_DIR` or the
    /// `.venv`; hashed features when they are absent) or `hashed` (no model). Documents
    /// embedded by one cannot be found with the other. Default `minilm`.
    pub embedder: EmbedderKind,
}

impl Default for VectorsConfig {
    fn default() -> Self {
        Self {
            kind: VectorStoreKind::Local,
            path: None,
            milvus_addr: "http://localhost:19530".into(),
            milvus_collection: "cali".into(),
            embedder: EmbedderKind::Minilm,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// Where incidents, alert state, the outbox and the dedupe window live: `sqlite` (one
    /// machine) or `dynamodb` (replicas). Default `sqlite`.
    pub kind: StoreKind,
    /// SQLite file for `kind = "sqlite"`. Default `.cali/state/cali.db`.
    pub path: PathBuf,
    /// Prefix of the DynamoDB tables (`<prefix>-dedupe`, `-incidents`, `-outbox`, `-rate`),
    /// created if missing. Default `cali`.
    pub table_prefix: String,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            kind: StoreKind::Sqlite,
            path: PathBuf::from(".cali/state/cali.db"),
            table_prefix: "cali".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadLetterKind {
    Directory,
    S3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadLetterConfig {
    /// `directory` (local files) or `s3`. Default `directory`.
    pub kind: DeadLetterKind,
    /// Directory for `kind = "directory"`. Default `.cali/dead-letter`.
    pub directory: PathBuf,
    /// Bucket for `kind = "s3"`. Default `cali-dead-letter`.
    pub bucket: String,
    /// Key prefix in the bucket. Default `dead-letter/`.
    pub prefix: String,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        Self {
            kind: DeadLetterKind::Directory,
            directory: PathBuf::from(".cali/dead-letter"),
            bucket: "cali-dead-letter".into(),
            prefix: "dead-letter/".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of `/metrics`, `/healthz` and `/readyz` (`cali run` only). Default
    /// `127.0.0.1:9464`; `off` disables the server.
    pub addr: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:9464".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// AWS region. Default: the SDK's default chain (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
    /// Endpoint override for every AWS service (a local server such as moto). Default: none.
    pub endpoint_url: Option<String>,
}

/// Secrets, from the environment only.
#[derive(Clone, Default)]
pub struct Secrets {
    /// `CALI_SLACK_WEBHOOK_URL`.
    pub slack_webhook_url: Option<String>,
    /// `CALI_LLM_API_KEY`.
    pub llm_api_key: Option<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field(
                "slack_webhook_url",
                &self.slack_webhook_url.as_ref().map(|_| "<set>"),
            )
            .field("llm_api_key", &self.llm_api_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl Secrets {
    pub fn from_env() -> Self {
        Self {
            slack_webhook_url: std::env::var("CALI_SLACK_WEBHOOK_URL")
                .ok()
                .filter(|s| !s.is_empty()),
            llm_api_key: std::env::var("CALI_LLM_API_KEY")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }
}

/// Keys that hold secrets: rejected in the file with a pointer to the right place.
const SECRET_KEYS: [(&str, &str, &str); 3] = [
    (
        "slack",
        "webhook_url",
        "CALI_SLACK_WEBHOOK_URL or slack.webhook_secret_arn",
    ),
    ("analysis", "api_key", "CALI_LLM_API_KEY"),
    ("llm", "api_key", "CALI_LLM_API_KEY"),
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("`{section}.{key}` is a secret and is never read from the config file: set {instead}")]
    SecretInFile {
        section: String,
        key: String,
        instead: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the file (if any), applies `CALI_*` overrides from `env`, and checks the result.
    pub fn load(
        path: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let table: toml::Table =
                    text.parse()
                        .map_err(|e: toml::de::Error| ConfigError::Parse {
                            path: path.to_path_buf(),
                            message: e.message().to_string(),
                        })?;
                reject_secrets(&table)?;
                Config::from_table(table.clone()).map_err(|message| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message,
                })?;
                table
            }
            None => toml::Table::new(),
        };
        let known = Config::keys();
        for (var, value) in env {
            let Some(rest) = var.strip_prefix("CALI_") else {
                continue;
            };
            let lower = rest.to_ascii_lowercase();
            let Some((section, key)) = known
                .iter()
                .find(|(s, k)| lower == format!("{s}_{k}"))
                .cloned()
            else {
                continue;
            };
            let sect = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = sect {
                t.insert(key.clone(), env_value(&value));
            }
            Config::from_table(table.clone()).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message: format!("{message} (as `{section}.{key}`)"),
            })?;
        }
        let config = Config::from_table(table).map_err(ConfigError::Invalid)?;
        config.check()?;
        Ok(config)
    }

    fn from_table(table: toml::Table) -> Result<Self, String> {
        Config::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string().trim().to_string())
    }

    /// Every `(section, key)` a user can set.
    pub fn keys() -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Ok(toml::Value::Table(t)) = toml::Value::try_from(Config::default()) {
            for (section, v) in t {
                if let toml::Value::Table(fields) = v {
                    out.extend(fields.keys().map(|k| (section.clone(), k.clone())));
                }
            }
        }
        // Options without a default are absent from the serialized default.
        for (s, k) in [
            ("source", "input"),
            ("kinesis", "worker_id"),
            ("slack", "webhook_secret_arn"),
            ("slack", "logs_url_template"),
            ("analysis", "cache_path"),
            ("llm", "base_url"),
            ("llm", "api_key_secret_arn"),
            ("vectors", "path"),
            ("aws", "region"),
            ("aws", "endpoint_url"),
        ] {
            if !out.iter().any(|(a, b)| a == s && b == k) {
                out.push((s.into(), k.into()));
            }
        }
        out.sort();
        out
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError::Invalid(format!("`{key}` {why}")));
        if self.decode.max_record_bytes == 0 {
            return bad("decode.max_record_bytes", "must be above 0");
        }
        if self.kinesis.max_records_per_call == 0 || self.kinesis.max_records_per_call > 10_000 {
            return bad("kinesis.max_records_per_call", "must be 1 ..= 10000");
        }
        if self.slack.max_attempts == 0 {
            return bad("slack.max_attempts", "must be above 0");
        }
        if self.dedupe.capacity == 0 {
            return bad("dedupe.capacity", "must be above 0");
        }
        if self.alert.evaluate_interval.0.is_zero() {
            return bad("alert.evaluate_interval", "must be above 0");
        }
        if self.analysis.top_k == 0 {
            return bad("analysis.top_k", "must be above 0");
        }
        if !(0.0..=1.0).contains(&self.analysis.min_score) {
            return bad("analysis.min_score", "must be 0 ..= 1");
        }
        if let Some(url) = &self.llm.base_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return bad("llm.base_url", "must be an http(s) URL");
            }
        }
        if let Some(t) = &self.slack.logs_url_template {
            if !(t.starts_with("https://") || t.starts_with("http://")) {
                return bad("slack.logs_url_template", "must be an http(s) URL");
            }
        }
        Ok(())
    }

    /// The directory of the SQLite state, where the embedded analysis files go too.
    fn state_dir(&self) -> PathBuf {
        self.state
            .path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default()
    }

    /// The local vector store's file.
    pub fn vectors_path(&self) -> PathBuf {
        self.vectors
            .path
            .clone()
            .unwrap_or_else(|| self.state_dir().join("vectors.sqlite"))
    }

    /// The analysis cache's file.
    pub fn analysis_cache_path(&self) -> PathBuf {
        self.analysis
            .cache_path
            .clone()
            .unwrap_or_else(|| self.state_dir().join("analysis.sqlite"))
    }

    /// The analysis settings as the analysis crate takes them.
    pub fn analysis_config(&self) -> cali_analysis::AnalysisConfig {
        let a = &self.analysis;
        let ms = |s: Span| s.as_ms().max(0) as u64;
        let secs = |s: Span| s.0.as_secs();
        cali_analysis::AnalysisConfig {
            llm: self.llm.base_url.as_ref().map(|base_url| {
                let l = &self.llm;
                cali_analysis::LlmConfig {
                    base_url: base_url.clone(),
                    model: l.model.clone(),
                    timeout_ms: ms(l.timeout),
                    max_retries: l.max_retries,
                    backoff_base_ms: ms(l.backoff_base),
                    backoff_max_ms: ms(l.backoff_max),
                    breaker_failures: l.breaker_failures,
                    breaker_cooldown_secs: secs(l.breaker_cooldown),
                    hourly_call_budget: l.hourly_call_budget,
                    hourly_token_budget: l.hourly_token_budget,
                    prompt_token_budget: l.prompt_token_budget,
                    max_completion_tokens: l.max_completion_tokens,
                    json_schema: l.json_schema,
                }
            }),
            cache_ttl_secs: secs(a.cache_ttl),
            redaction_patterns: a.redaction_patterns.clone(),
            top_k: a.top_k,
            min_score: a.min_score as f32,
        }
    }

    /// The effective configuration as TOML (what `cali config` prints; holds no secrets).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// One setting as `--help` and the docs show it: key, environment variable, documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDoc {
    pub key: String,
    pub env: String,
    pub doc: String,
}

/// Every setting with its documentation, read from the doc comments of this file, so a
/// setting is documented exactly once: where it is declared.
pub fn settings() -> Vec<SettingDoc> {
    const SOURCE: &str = include_str!("config.rs");
    let mut sections: Vec<(String, String)> = Vec::new();
    let mut lines = SOURCE.lines();
    for line in lines.by_ref() {
        if line.trim() == "pub struct Config {" {
            break;
        }
    }
    for line in lines.by_ref() {
        let line = line.trim();
        if line == "}" {
            break;
        }
        if let Some((name, ty)) = line.strip_prefix("pub ").and_then(|l| l.split_once(':')) {
            sections.push((
                ty.trim().trim_end_matches(',').to_string(),
                name.to_string(),
            ));
        }
    }
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let mut doc: Vec<&str> = Vec::new();
    for line in SOURCE.lines() {
        let line = line.trim();
        if let Some(name) = line
            .strip_prefix("pub struct ")
            .and_then(|l| l.strip_suffix(" {"))
        {
            section = sections
                .iter()
                .find(|(ty, _)| ty == name)
                .map(|(_, s)| s.clone());
            doc.clear();
        } else if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if line.starts_with("#[") {
        } else if let (Some(sect), Some((name, _))) = (
            &section,
            line.strip_prefix("pub ").and_then(|l| l.split_once(':')),
        ) {
            if !doc.is_empty() {
                out.push(SettingDoc {
                    key: format!("{sect}.{name}"),
                    env: format!("CALI_{}_{}", sect.to_uppercase(), name.to_uppercase()),
                    doc: doc.join(" "),
                });
            }
            doc.clear();
        } else {
            if line == "}" {
                section = None;
            }
            doc.clear();
        }
    }
    out
}

/// The settings as text for `--help`.
pub fn settings_help() -> String {
    let mut out = String::from(
        "SETTINGS (TOML file `[section] key = value`, or environment `CALI_<SECTION>_<KEY>`):\n",
    );
    for s in settings() {
        out.push_str(&format!("  {} ({})\n      {}\n", s.key, s.env, s.doc));
    }
    out.push_str(
        "\nSECRETS (environment or AWS Secrets Manager only, never the file):\n  CALI_SLACK_WEBHOOK_URL\n      Slack incoming webhook URL; without it (and without slack.webhook_secret_arn) alerts go to the terminal only.\n  CALI_LLM_API_KEY\n      API key of the LLM endpoint (llm.base_url), or llm.api_key_secret_arn.\n",
    );
    out
}

/// The settings as a Markdown table for docs/consumer.md.
pub fn settings_markdown() -> String {
    let mut out = String::from("| key | environment | meaning |\n|---|---|---|\n");
    for s in settings() {
        out.push_str(&format!(
            "| `{}` | `{}` | {} |\n",
            s.key,
            s.env,
            s.doc.replace('|', "\\|")
        ));
    }
    out
}

fn reject_secrets(table: &toml::Table) -> Result<(), ConfigError> {
    for (section, key, instead) in SECRET_KEYS {
        if table
            .get(section)
            .and_then(|s| s.as_table())
            .is_some_and(|s| s.contains_key(key))
        {
            return Err(ConfigError::SecretInFile {
                section: section.into(),
                key: key.into(),
                instead: instead.into(),
            });
        }
    }
    Ok(())
}

/// An environment value as TOML: numbers and booleans as such, anything else a string.
fn env_value(raw: &str) -> toml::Value {
    if let Ok(b) = raw.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    toml::Value::String(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn spans_parse_and_print() {
        assert_eq!("30s".parse::<Span>().unwrap(), Span::secs(30));
        assert_eq!("1.5s".parse::<Span>().unwrap(), Span::millis(1_500));
        assert_eq!("4h".parse::<Span>().unwrap().to_string(), "4h");
        assert_eq!(Span::millis(1_500).to_string(), "1500ms");
        assert!("30".parse::<Span>().is_err());
        assert!("3 weeks".parse::<Span>().is_err());
    }

    #[test]
    fn file_then_environment() {
        let f = file("[alert]\ngroup_wait = \"5s\"\nrepeat_interval = \"1h\"\n");
        let c = Config::load(
            Some(f.path()),
            env(&[
                ("CALI_ALERT_GROUP_WAIT", "2s"),
                ("CALI_HTTP_ADDR", "127.0.0.1:0"),
                ("CALI_TEST_MOTO_URL", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.alert.group_wait, Span::secs(2));
        assert_eq!(c.alert.repeat_interval, Span::secs(3_600));
        assert_eq!(c.http.addr, "127.0.0.1:0");
        assert_eq!(c.dedupe, DedupeConfig::default());
    }

    #[test]
    fn wrong_settings_name_their_key() {
        let f = file("[alert]\ngroup_wiat = \"5s\"\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("group_wiat"), "{e}");
        let f = file("[alert]\ngroup_wait = \"soon\"\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("group_wait") || e.contains("soon"), "{e}");
        let e = Config::load(None, env(&[("CALI_SLACK_MAX_ATTEMPTS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("CALI_SLACK_MAX_ATTEMPTS") && e.contains("slack.max_attempts"),
            "{e}"
        );
    }

    #[test]
    fn secrets_are_refused_in_the_file() {
        let f = file("[slack]\nwebhook_url = \"https://hooks.slack.com/services/x\"\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("slack.webhook_url") && e.contains("CALI_SLACK_WEBHOOK_URL"),
            "{e}"
        );
    }

    #[test]
    fn every_key_is_documented_once() {
        let docs = settings();
        let mut documented: Vec<(String, String)> = docs
            .iter()
            .map(|d| {
                let (s, k) = d.key.split_once('.').unwrap();
                (s.to_string(), k.to_string())
            })
            .collect();
        documented.sort();
        assert_eq!(documented, Config::keys());
        let group_wait = docs.iter().find(|d| d.key == "alert.group_wait").unwrap();
        assert_eq!(group_wait.env, "CALI_ALERT_GROUP_WAIT");
        assert!(group_wait.doc.contains("Default `30s`"));
    }

    #[test]
    fn analysis_settings_reach_the_analysis_config() {
        let f = file(
            "[llm]\nbase_url = \"http://localhost:11434/v1\"\nmodel = \"llama3.1\"\ntimeout = \"5s\"\n\
             [analysis]\nmin_score = 0.5\n[[analysis.redaction_patterns]]\nname = \"ticket\"\nregex = \"T-[0-9]+\"\n",
        );
        let c = Config::load(Some(f.path()), env(&[("CALI_VECTORS_EMBEDDER", "hashed")])).unwrap();
        let a = c.analysis_config();
        let llm = a.llm.expect("an endpoint is configured");
        assert_eq!((llm.model.as_str(), llm.timeout_ms), ("llama3.1", 5_000));
        assert_eq!(a.min_score, 0.5);
        assert_eq!(a.redaction_patterns[0].name, "ticket");
        assert_eq!(c.vectors.embedder, EmbedderKind::Hashed);
        let defaults = Config::default().analysis_config();
        assert_eq!(defaults, cali_analysis::AnalysisConfig::default());
        assert_eq!(
            Config::default().vectors_path(),
            PathBuf::from(".cali/state/vectors.sqlite")
        );
        let f = file("[llm]\napi_key = \"sk-x\"\n");
        let e = Config::load(Some(f.path()), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("CALI_LLM_API_KEY"), "{e}");
    }

    #[test]
    fn printed_config_loads_back_unchanged() {
        let mut c = Config::default();
        c.slack.logs_url_template = Some("https://grafana.local/{fingerprint}".into());
        c.llm.base_url = Some("http://localhost:11434/v1".into());
        c.analysis
            .redaction_patterns
            .push(cali_analysis::redact::ExtraPattern {
                name: "ticket".into(),
                regex: "T-[0-9]+".into(),
            });
        let f = file(&c.to_toml());
        assert_eq!(Config::load(Some(f.path()), env(&[])).unwrap(), c);
    }
}
