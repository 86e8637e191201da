//! Incident analysis: an incident goes in, an explanation comes out. The consumer only
//! knows the `Analyzer` seam below; redaction, retrieval, the LLM client and the offline
//! analyst live behind it.

pub mod analyst;
pub mod cache;
pub mod clock;
pub mod config;
pub mod llm;
pub mod metrics;
pub mod pipeline;
pub mod redact;
pub mod retrieved;
pub mod seam;

pub use config::{AnalysisConfig, LlmConfig};
pub use metrics::AnalysisMetrics;
pub use pipeline::{AnalysisError, AnalysisPipeline, PipelineOptions};
pub use seam::{Analysis, Analyzer, Frame, IncidentInput, Related, SampleEvent, TrivialAnalyzer};
