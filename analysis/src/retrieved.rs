//! A past incident or runbook section found for an incident, with the text the prompt and
//! the offline analyst draw on.

use crate::seam::Related;

#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    /// `incident:<fingerprint>` or `runbook:<path>#<heading>`.
    pub id: String,
    pub title: String,
    /// The stored (redacted) text of the document.
    pub text: String,
    pub resolution: Option<String>,
    /// Cosine similarity to the incident.
    pub score: f32,
}

impl Retrieved {
    pub fn is_runbook(&self) -> bool {
        self.id.starts_with("runbook:")
    }

    pub fn is_resolved_incident(&self) -> bool {
        self.id.starts_with("incident:")
            && self
                .resolution
                .as_deref()
                .is_some_and(|r| !r.trim().is_empty())
    }

    pub fn to_related(&self) -> Related {
        Related {
            id: self.id.clone(),
            title: self.title.clone(),
            score: self.score,
            resolution: self.resolution.clone(),
        }
    }
}
