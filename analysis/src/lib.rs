//! Incident analysis: an incident goes in, an explanation comes out. The consumer only
//! knows the `Analyzer` seam below; redaction, retrieval, the LLM client and the offline
//! analyst live behind it.

pub mod redact;
pub mod seam;

pub use seam::{Analysis, Analyzer, Frame, IncidentInput, Related, SampleEvent, TrivialAnalyzer};
