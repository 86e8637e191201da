//! The seam between the consumer and the analysis: the incident as the analysis sees it,
//! and the analysis as the alert shows it.

use serde::{Deserialize, Serialize};

/// One frame of the sample event's exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub function: String,
    pub module: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// The incident's representative event (fields of `cali.event/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SampleEvent {
    pub level: String,
    pub service: Option<String>,
    pub logger: Option<String>,
    pub message: String,
    pub exception_type: Option<String>,
    pub exception_message: Option<String>,
    pub language: Option<String>,
    pub frames: Vec<Frame>,
    pub stack_trace: Option<String>,
    pub log_content: String,
}

/// An incident: one fingerprint within a time window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IncidentInput {
    pub fingerprint: String,
    pub service: Option<String>,
    pub namespace: Option<String>,
    pub count: u64,
    /// RFC 3339.
    pub first_seen: String,
    /// RFC 3339.
    pub last_seen: String,
    pub pods: Vec<String>,
    pub versions: Vec<String>,
    pub sample: SampleEvent,
}

/// A past incident or runbook section the analysis drew on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    /// `incident:<fingerprint>` or `runbook:<path>#<heading>`.
    pub id: String,
    pub title: String,
    pub score: f32,
    /// The resolution note of a resolved past incident, if any.
    pub resolution: Option<String>,
}

/// The explanation attached to an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub summary: String,
    pub likely_cause: Option<String>,
    /// Lines quoted verbatim from the incident.
    pub evidence: Vec<String>,
    pub actions: Vec<String>,
    pub related: Vec<Related>,
    /// 0.0 ..= 1.0
    pub confidence: f32,
    /// Who produced it: `llm:<model>`, `offline`, `trivial`.
    pub source: String,
}

/// Explains incidents. Implementations never fail: when they cannot do better they say
/// less (an offline analysis, or a bare summary), never nothing.
#[async_trait::async_trait]
pub trait Analyzer: Send + Sync {
    async fn analyze(&self, incident: &IncidentInput) -> Analysis;
}

/// The smallest honest analysis: restates what the incident is, claims no cause.
#[derive(Debug, Default, Clone, Copy)]
pub struct TrivialAnalyzer;

#[async_trait::async_trait]
impl Analyzer for TrivialAnalyzer {
    async fn analyze(&self, incident: &IncidentInput) -> Analysis {
        let what = incident
            .sample
            .exception_type
            .clone()
            .unwrap_or_else(|| incident.sample.message.chars().take(120).collect());
        let service = incident.service.as_deref().unwrap_or("unknown service");
        Analysis {
            summary: format!("{what} in {service}, seen {} time(s)", incident.count),
            likely_cause: None,
            evidence: Vec::new(),
            actions: Vec::new(),
            related: Vec::new(),
            confidence: 0.0,
            source: "trivial".to_string(),
        }
    }
}
