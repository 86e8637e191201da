//! The LLM's answer: its JSON schema, parsing, and the checks that keep it honest — every
//! evidence quote must be text of the (redacted) incident and every related id one that
//! was retrieved; a cause needs evidence.

use serde::Deserialize;

use crate::retrieved::Retrieved;
use crate::seam::{Analysis, IncidentInput};

/// Shortest evidence quote accepted: shorter ones match anything.
const MIN_QUOTE_CHARS: usize = 6;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlmAnswer {
    pub summary: String,
    pub likely_cause: Option<String>,
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub related: Vec<String>,
    pub confidence: f32,
}

/// The `json_schema` of `response_format` (strict: every property required).
pub fn answer_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["summary", "likely_cause", "evidence", "actions", "related", "confidence"],
        "properties": {
            "summary": { "type": "string", "description": "One or two sentences: what is failing and where." },
            "likely_cause": { "type": ["string", "null"], "description": "The most likely cause, or null when the incident does not show it." },
            "evidence": { "type": "array", "items": { "type": "string" }, "description": "Lines quoted verbatim from the incident that support the cause." },
            "actions": { "type": "array", "items": { "type": "string" }, "description": "Next steps for the on-call engineer." },
            "related": { "type": "array", "items": { "type": "string" }, "description": "Ids from the retrieved context that apply." },
            "confidence": { "type": "number", "minimum": 0, "maximum": 1 }
        }
    })
}

/// Why an answer was not used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("evidence not found in the incident: {0:?}")]
    InventedEvidence(String),
    #[error("related id was not retrieved: {0}")]
    UnknownRelated(String),
    #[error("a likely cause without evidence")]
    CauseWithoutEvidence,
    #[error("confidence {0} outside 0..=1")]
    BadConfidence(f32),
    #[error("empty summary")]
    EmptySummary,
}

/// Parses the message content; tolerates a Markdown code fence around the JSON.
pub fn parse_answer(content: &str) -> Result<LlmAnswer, serde_json::Error> {
    let trimmed = content.trim();
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.trim_end().strip_suffix("```"))
        .unwrap_or(trimmed);
    serde_json::from_str(body.trim())
}

/// All text of a redacted incident an evidence quote may come from.
pub fn evidence_corpus(incident: &IncidentInput) -> String {
    let s = &incident.sample;
    let mut parts: Vec<&str> = vec![&s.message, &s.log_content];
    parts.extend(s.stack_trace.as_deref());
    parts.extend(s.exception_type.as_deref());
    parts.extend(s.exception_message.as_deref());
    let frames: Vec<String> = s.frames.iter().map(super::prompt::render_frame).collect();
    let mut corpus = parts.join("\n");
    for f in frames {
        corpus.push('\n');
        corpus.push_str(&f);
    }
    corpus
}

fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks an answer against the incident and the retrieved documents and turns it into
/// the analysis shown in the alert.
pub fn validate(
    answer: LlmAnswer,
    incident: &IncidentInput,
    retrieved: &[Retrieved],
    model: &str,
) -> Result<Analysis, Rejection> {
    if answer.summary.trim().is_empty() {
        return Err(Rejection::EmptySummary);
    }
    if !answer.confidence.is_finite() || !(0.0..=1.0).contains(&answer.confidence) {
        return Err(Rejection::BadConfidence(answer.confidence));
    }
    let corpus = normalize(&evidence_corpus(incident));
    let mut evidence = Vec::with_capacity(answer.evidence.len());
    for quote in &answer.evidence {
        let q = normalize(
            quote
                .trim()
                .trim_matches(|c| c == '"' || c == '`' || c == '\''),
        );
        if q.is_empty() {
            continue;
        }
        if q.chars().count() < MIN_QUOTE_CHARS || !corpus.contains(&q) {
            return Err(Rejection::InventedEvidence(quote.clone()));
        }
        evidence.push(q);
    }
    let likely_cause = answer.likely_cause.filter(|c| !c.trim().is_empty());
    if likely_cause.is_some() && evidence.is_empty() {
        return Err(Rejection::CauseWithoutEvidence);
    }
    let mut related = Vec::with_capacity(answer.related.len());
    for id in &answer.related {
        let Some(doc) = retrieved.iter().find(|d| &d.id == id) else {
            return Err(Rejection::UnknownRelated(id.clone()));
        };
        if !related
            .iter()
            .any(|r: &crate::seam::Related| r.id == doc.id)
        {
            related.push(doc.to_related());
        }
    }
    Ok(Analysis {
        summary: answer.summary.trim().to_string(),
        likely_cause,
        evidence,
        actions: answer
            .actions
            .into_iter()
            .filter(|a| !a.trim().is_empty())
            .collect(),
        related,
        confidence: answer.confidence,
        source: format!("llm:{model}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seam::SampleEvent;

    fn incident() -> IncidentInput {
        IncidentInput {
            fingerprint: "00ff00ff00ff00ff".into(),
            sample: SampleEvent {
                level: "ERROR".into(),
                message: "HikariPool-1 - Connection is not available, request timed out after 30000ms.".into(),
                log_content: "ERROR HikariPool-1 - Connection is not available, request timed out after 30000ms.\n\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:213)".into(),
                ..SampleEvent::default()
            },
            ..IncidentInput::default()
        }
    }

    fn answer(evidence: &[&str], related: &[&str]) -> LlmAnswer {
        LlmAnswer {
            summary: "Pool exhausted".into(),
            likely_cause: Some("Too few connections".into()),
            evidence: evidence.iter().map(|s| s.to_string()).collect(),
            actions: vec!["Raise maximumPoolSize".into()],
            related: related.iter().map(|s| s.to_string()).collect(),
            confidence: 0.7,
        }
    }

    fn runbook() -> Retrieved {
        Retrieved {
            id: "runbook:db.md#pool".into(),
            title: "DB pool".into(),
            text: String::new(),
            resolution: None,
            score: 0.8,
        }
    }

    #[test]
    fn quoted_lines_and_retrieved_ids_pass() {
        let a = answer(
            &["Connection is not available,   request timed out after 30000ms."],
            &["runbook:db.md#pool"],
        );
        let analysis = validate(a, &incident(), &[runbook()], "m").expect("valid");
        assert_eq!(analysis.related[0].title, "DB pool");
        assert_eq!(analysis.source, "llm:m");
    }

    #[test]
    fn invented_evidence_is_rejected() {
        let a = answer(&["database CPU at 100%"], &[]);
        assert!(matches!(
            validate(a, &incident(), &[], "m"),
            Err(Rejection::InventedEvidence(_))
        ));
    }

    #[test]
    fn unretrieved_related_id_is_rejected() {
        let a = answer(
            &["HikariPool-1 - Connection is not available"],
            &["incident:deadbeefdeadbeef"],
        );
        assert!(matches!(
            validate(a, &incident(), &[runbook()], "m"),
            Err(Rejection::UnknownRelated(_))
        ));
    }

    #[test]
    fn a_cause_needs_evidence() {
        let a = answer(&[], &[]);
        assert_eq!(
            validate(a, &incident(), &[], "m"),
            Err(Rejection::CauseWithoutEvidence)
        );
    }

    #[test]
    fn fenced_json_parses() {
        let content = "```json\n{\"summary\":\"s\",\"likely_cause\":null,\"evidence\":[],\"actions\":[],\"related\":[],\"confidence\":0.1}\n```";
        assert_eq!(parse_answer(content).expect("parses").summary, "s");
    }
}
