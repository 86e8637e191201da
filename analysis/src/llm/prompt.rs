//! The prompt: a redacted incident and its retrieved context, trimmed to a token budget
//! (estimated at 4 characters per token) by keeping the top of the stack and the first
//! log lines. Only what identifies the problem goes in, not counts or times, so incidents
//! of one fingerprint give the same prompt and hit the cache.

use sha2::{Digest, Sha256};

use crate::retrieved::Retrieved;
use crate::seam::IncidentInput;

/// Bumped whenever the prompt or the answer schema changes, so cached answers to the old
/// prompt are not reused.
pub const PROMPT_VERSION: &str = "cali-analysis-prompt/1";

/// Characters per token used for every estimate.
pub const CHARS_PER_TOKEN: usize = 4;

const SYSTEM: &str = "You explain production incidents to on-call engineers. \
Use only the incident and the retrieved context given. \
`evidence` must quote lines of the incident verbatim (copy the exact text; no paraphrase, no added words). \
`related` may list only ids shown in the retrieved context, and only those that apply. \
When the incident does not show the cause, set `likely_cause` to null and `confidence` below 0.3. \
Values like <EMAIL_1> or <IP_2> are redacted; keep them as they are. \
`actions` are short imperative steps. Answer with one JSON object only.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
}

impl Prompt {
    pub fn estimated_tokens(&self) -> usize {
        estimate_tokens(&self.system) + estimate_tokens(&self.user)
    }

    /// Hash of the redacted prompt, the model and the prompt version: the cache key.
    pub fn cache_key(&self, model: &str) -> String {
        let mut h = Sha256::new();
        for part in [PROMPT_VERSION, model, &self.system, &self.user] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(CHARS_PER_TOKEN)
}

/// How much of the incident and context goes in; tried from generous to minimal.
#[derive(Debug, Clone, Copy)]
struct Shape {
    stack_lines: usize,
    log_lines: usize,
    context_docs: usize,
    context_chars: usize,
}

const SHAPES: &[Shape] = &[
    Shape {
        stack_lines: 40,
        log_lines: 30,
        context_docs: 6,
        context_chars: 900,
    },
    Shape {
        stack_lines: 20,
        log_lines: 15,
        context_docs: 6,
        context_chars: 500,
    },
    Shape {
        stack_lines: 12,
        log_lines: 8,
        context_docs: 4,
        context_chars: 300,
    },
    Shape {
        stack_lines: 6,
        log_lines: 4,
        context_docs: 3,
        context_chars: 160,
    },
    Shape {
        stack_lines: 3,
        log_lines: 2,
        context_docs: 2,
        context_chars: 80,
    },
    Shape {
        stack_lines: 1,
        log_lines: 0,
        context_docs: 0,
        context_chars: 0,
    },
];

/// Builds the prompt for a redacted incident within `token_budget` tokens. `schema_hint`
/// is appended to the system text for endpoints without `json_schema` support.
pub fn build_prompt(
    incident: &IncidentInput,
    context: &[Retrieved],
    token_budget: usize,
    schema_hint: Option<&str>,
) -> Prompt {
    let mut system = SYSTEM.to_string();
    if let Some(hint) = schema_hint {
        system.push_str("\nJSON schema of the answer: ");
        system.push_str(hint);
    }
    let system_tokens = estimate_tokens(&system);
    let mut user = String::new();
    for shape in SHAPES {
        user = render_user(incident, context, *shape);
        if system_tokens + estimate_tokens(&user) <= token_budget {
            return Prompt { system, user };
        }
    }
    // Even the smallest shape is too big (a huge message): cut it to the budget.
    let room = token_budget.saturating_sub(system_tokens) * CHARS_PER_TOKEN;
    user = user.chars().take(room).collect();
    Prompt { system, user }
}

fn render_user(incident: &IncidentInput, context: &[Retrieved], shape: Shape) -> String {
    let s = &incident.sample;
    let mut out = String::from("## Incident\n");
    if let Some(service) = incident.service.as_deref().or(s.service.as_deref()) {
        out.push_str(&format!("service: {service}\n"));
    }
    if let Some(ns) = &incident.namespace {
        out.push_str(&format!("namespace: {ns}\n"));
    }
    out.push_str(&format!("level: {}\n", s.level));
    if let Some(language) = &s.language {
        out.push_str(&format!("language: {language}\n"));
    }
    if let Some(kind) = &s.exception_type {
        let msg = s.exception_message.as_deref().unwrap_or("");
        out.push_str(&format!("exception: {kind}: {msg}\n"));
    }
    out.push_str(&format!("message: {}\n", s.message));

    let stack: Vec<String> = match &s.stack_trace {
        Some(trace) => trace.lines().map(str::to_string).collect(),
        None => s.frames.iter().map(render_frame).collect(),
    };
    if !stack.is_empty() {
        out.push_str(&format!(
            "### Stack (top {} of {} lines)\n",
            shape.stack_lines.min(stack.len()),
            stack.len()
        ));
        for line in stack.iter().take(shape.stack_lines) {
            out.push_str(line);
            out.push('\n');
        }
    }
    let in_stack: std::collections::HashSet<&str> = stack.iter().map(String::as_str).collect();
    let log: Vec<&str> = s
        .log_content
        .lines()
        .filter(|l| !l.trim().is_empty() && !in_stack.contains(l))
        .collect();
    if shape.log_lines > 0 && !log.is_empty() {
        out.push_str("### Log lines\n");
        for line in log.iter().take(shape.log_lines) {
            out.push_str(line);
            out.push('\n');
        }
    }
    if shape.context_docs > 0 && !context.is_empty() {
        out.push_str("## Retrieved context (ids usable in `related`)\n");
        for doc in context.iter().take(shape.context_docs) {
            out.push_str(&format!(
                "[{}] (similarity {:.2}) {}\n",
                doc.id, doc.score, doc.title
            ));
            if let Some(resolution) = &doc.resolution {
                out.push_str(&format!(
                    "resolution: {}\n",
                    clip(resolution, shape.context_chars)
                ));
            }
            let text = clip(&doc.text, shape.context_chars);
            if !text.is_empty() {
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
    out
}

pub(crate) fn render_frame(f: &crate::seam::Frame) -> String {
    let mut s = match &f.module {
        Some(m) if !m.is_empty() => format!("{m}.{}", f.function),
        _ => f.function.clone(),
    };
    if let Some(file) = &f.file {
        s.push_str(&format!(" ({file}"));
        if let Some(line) = f.line {
            s.push_str(&format!(":{line}"));
        }
        s.push(')');
    }
    s
}

fn clip(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.trim().to_string();
    }
    let mut out: String = text.chars().take(max_chars).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seam::SampleEvent;

    fn incident(frames: usize) -> IncidentInput {
        let trace: Vec<String> =
            std::iter::once("java.lang.IllegalStateException: pool exhausted".to_string())
                .chain(
                    (0..frames).map(|i| format!("\tat com.acme.Layer{i}.call(Layer{i}.java:{i})")),
                )
                .collect();
        IncidentInput {
            fingerprint: "0123456789abcdef".into(),
            service: Some("orders".into()),
            count: 7,
            sample: SampleEvent {
                level: "ERROR".into(),
                message: "request failed".into(),
                exception_type: Some("java.lang.IllegalStateException".into()),
                exception_message: Some("pool exhausted".into()),
                stack_trace: Some(trace.join("\n")),
                log_content: format!("ERROR request failed\n{}", trace.join("\n")),
                ..SampleEvent::default()
            },
            ..IncidentInput::default()
        }
    }

    #[test]
    fn a_deep_stack_is_trimmed_to_the_budget_keeping_the_top() {
        let p = build_prompt(&incident(400), &[], 1000, None);
        assert!(
            p.estimated_tokens() <= 1000,
            "{} tokens",
            p.estimated_tokens()
        );
        assert!(p.user.contains("Layer0.call"));
        assert!(!p.user.contains("Layer399.call"));
    }

    #[test]
    fn a_small_incident_goes_in_whole() {
        let p = build_prompt(&incident(5), &[], 3000, None);
        assert!(p.user.contains("Layer4.call"));
        assert!(p.user.contains("ERROR request failed"));
    }

    #[test]
    fn counts_do_not_change_the_cache_key() {
        let a = incident(5);
        let mut b = a.clone();
        b.count = 9000;
        b.last_seen = "2030-01-01T00:00:00Z".into();
        let key = |i: &IncidentInput| build_prompt(i, &[], 3000, None).cache_key("m");
        assert_eq!(key(&a), key(&b));
        assert_ne!(
            build_prompt(&a, &[], 3000, None).cache_key("m"),
            build_prompt(&a, &[], 3000, None).cache_key("n")
        );
    }
}
