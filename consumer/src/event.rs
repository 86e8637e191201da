//! The `cali.event/v1` event as the consumer reads it: strict on the fields the schema
//! declares, tolerant of the extra members earlier Fluent Bit filters pass through (only the
//! `kubernetes` object of those is kept, the rest is ignored).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The only schema version this consumer understands.
pub const SCHEMA_V1: &str = "cali.event/v1";

/// Normalized severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
    Unknown,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
            Level::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Java,
    Python,
    Go,
    Ruby,
    Node,
    Dotnet,
    Php,
    Rust,
    Dart,
    Unknown,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Java => "java",
            Language::Python => "python",
            Language::Go => "go",
            Language::Ruby => "ruby",
            Language::Node => "node",
            Language::Dotnet => "dotnet",
            Language::Php => "php",
            Language::Rust => "rust",
            Language::Dart => "dart",
            Language::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Frame {
    pub function: String,
    #[serde(default)]
    pub module: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    pub language: Language,
    pub frames: Vec<Frame>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    RecordLostInHost,
    InvalidJson,
    InvalidUtf8,
    LineTooLong,
    NotAnObject,
    /// The event would exceed the Kinesis/Firehose record limit; the filter shortened it.
    EventTooLarge,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub kind: FaultKind,
    pub detail: String,
}

/// The pod an event came from, as Fluent Bit's kubernetes filter describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kubernetes {
    #[serde(default)]
    pub pod_name: Option<String>,
    #[serde(default)]
    pub namespace_name: Option<String>,
    #[serde(default)]
    pub container_name: Option<String>,
    #[serde(default)]
    pub container_image: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, serde_json::Value>,
}

impl Kubernetes {
    /// The deployed version: the `app.kubernetes.io/version` or `version` label, else the
    /// container image's tag.
    pub fn version(&self) -> Option<&str> {
        for key in ["app.kubernetes.io/version", "version"] {
            if let Some(serde_json::Value::String(v)) = self.labels.get(key) {
                if !v.is_empty() {
                    return Some(v);
                }
            }
        }
        let image = self.container_image.as_deref()?;
        let image = image.split('@').next().unwrap_or(image);
        // The tag follows the last ':' after the last '/', so registry ports are not tags.
        let name = image.rsplit('/').next().unwrap_or(image);
        name.rsplit_once(':').map(|(_, tag)| tag)
    }
}

/// One `cali.event/v1` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub schema: String,
    pub event_id: String,
    pub timestamp: String,
    pub level: Level,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub logger: Option<String>,
    #[serde(default)]
    pub thread: Option<String>,
    pub message: String,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub span_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub exception: Option<Exception>,
    #[serde(default)]
    pub stack_trace: Option<String>,
    pub log_content: String,
    pub line_count: u32,
    pub truncated: bool,
    pub fingerprint: String,
    pub stream: String,
    pub tag: String,
    pub alertable: bool,
    #[serde(default)]
    pub fault: Option<Fault>,
    #[serde(default)]
    pub kubernetes: Option<Kubernetes>,
}

impl Event {
    pub fn namespace(&self) -> Option<&str> {
        self.kubernetes.as_ref()?.namespace_name.as_deref()
    }

    pub fn pod(&self) -> Option<&str> {
        self.kubernetes.as_ref()?.pod_name.as_deref()
    }

    pub fn version(&self) -> Option<&str> {
        self.kubernetes.as_ref()?.version()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k8s(image: &str, labels: &[(&str, &str)]) -> Kubernetes {
        Kubernetes {
            container_image: Some(image.to_string()),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect(),
            ..Kubernetes::default()
        }
    }

    #[test]
    fn version_prefers_labels_then_image_tag() {
        assert_eq!(
            k8s(
                "reg:5000/shop/cart:1.2.3",
                &[("app.kubernetes.io/version", "2.0")]
            )
            .version(),
            Some("2.0")
        );
        assert_eq!(
            k8s("reg:5000/shop/cart:1.2.3", &[("version", "v7")]).version(),
            Some("v7")
        );
        assert_eq!(
            k8s("reg:5000/shop/cart:1.2.3", &[]).version(),
            Some("1.2.3")
        );
        assert_eq!(k8s("reg:5000/shop/cart", &[]).version(), None);
    }

    /// Every variant, by a match without a wildcard: a new variant does not compile here
    /// until it is listed.
    fn all_levels() -> Vec<Level> {
        use Level::*;
        let all = vec![Trace, Debug, Info, Warn, Error, Fatal, Unknown];
        for l in &all {
            match l {
                Trace | Debug | Info | Warn | Error | Fatal | Unknown => {}
            }
        }
        all
    }

    fn all_languages() -> Vec<Language> {
        use Language::*;
        let all = vec![
            Java, Python, Go, Ruby, Node, Dotnet, Php, Rust, Dart, Unknown,
        ];
        for l in &all {
            match l {
                Java | Python | Go | Ruby | Node | Dotnet | Php | Rust | Dart | Unknown => {}
            }
        }
        all
    }

    #[test]
    fn levels_and_languages_are_exactly_the_schemas() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schema/cali.event.v1.json")).unwrap();
        let levels: Vec<serde_json::Value> = all_levels()
            .into_iter()
            .map(|l| {
                let v = serde_json::to_value(l).unwrap();
                assert_eq!(v, l.as_str(), "serde and as_str agree");
                assert_eq!(serde_json::from_value::<Level>(v.clone()).unwrap(), l);
                v
            })
            .collect();
        assert_eq!(
            serde_json::Value::from(levels),
            schema["properties"]["level"]["enum"]
        );
        let languages: Vec<serde_json::Value> = all_languages()
            .into_iter()
            .map(|l| {
                let v = serde_json::to_value(l).unwrap();
                assert_eq!(v, l.as_str(), "serde and as_str agree");
                assert_eq!(serde_json::from_value::<Language>(v.clone()).unwrap(), l);
                v
            })
            .collect();
        assert_eq!(
            serde_json::Value::from(languages),
            schema["properties"]["exception"]["properties"]["language"]["enum"]
        );
    }

    #[test]
    fn every_fault_kind_of_the_schema_decodes() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schema/cali.event.v1.json")).unwrap();
        let kinds = schema["properties"]["fault"]["properties"]["kind"]["enum"]
            .as_array()
            .expect("the schema lists the fault kinds");
        assert!(kinds.iter().any(|k| k == "event_too_large"));
        for kind in kinds {
            let fault: Fault =
                serde_json::from_value(serde_json::json!({"kind": kind, "detail": "x"}))
                    .unwrap_or_else(|e| panic!("fault kind {kind}: {e}"));
            assert_eq!(serde_json::to_value(fault.kind).unwrap(), *kind);
        }
    }
}
