//! The Slack message of an alert (Block Kit) and its terminal twin, plus the webhook call
//! whose answer the outbox turns into sent / retry / dead. Slack's limits are enforced
//! here: at most 3000 characters per section text and 50 blocks per message.

use std::time::Duration;

use serde_json::{json, Value};

use crate::alert::Due;
use crate::clock::rfc3339;
use crate::incident::Incident;
use cali_analysis::Analysis;

/// Slack's limit on a section's text.
pub const MAX_SECTION_CHARS: usize = 3000;
/// Slack's limit on blocks per message.
pub const MAX_BLOCKS: usize = 50;
const MAX_HEADER_CHARS: usize = 150;
const TOP_FRAMES: usize = 8;

/// Everything one alert message says.
pub struct AlertMessage<'a> {
    pub incident: &'a Incident,
    pub analysis: &'a Analysis,
    pub due: Due,
    /// The outbox idempotency id, shown in the message so duplicates are visible.
    pub id: &'a str,
    /// `slack.logs_url_template`, if set.
    pub logs_url_template: Option<&'a str>,
}

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack mrkdwn treats these three as control characters.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fills `{fingerprint}`, `{service}`, `{namespace}`, `{from}`, `{to}` (RFC 3339, URL-encoded).
pub fn logs_url(template: &str, incident: &Incident) -> String {
    // A minute of margin on each side, so the first and last lines are in view.
    let from = rfc3339(incident.first_seen_ms - 60_000);
    let to = rfc3339(incident.last_seen_ms + 60_000);
    template
        .replace("{fingerprint}", &url_encode(&incident.fingerprint))
        .replace(
            "{service}",
            &url_encode(incident.service.as_deref().unwrap_or("")),
        )
        .replace(
            "{namespace}",
            &url_encode(incident.namespace.as_deref().unwrap_or("")),
        )
        .replace("{from}", &url_encode(&from))
        .replace("{to}", &url_encode(&to))
}

impl AlertMessage<'_> {
    fn what(&self) -> String {
        let e = &self.incident.sample;
        match &e.exception {
            Some(x) => x.kind.clone(),
            None => e.message.clone(),
        }
    }

    fn title(&self) -> String {
        let service = self
            .incident
            .service
            .as_deref()
            .unwrap_or("unknown service");
        let prefix = match self.due {
            Due::First => "",
            Due::Update => "[update] ",
        };
        format!("{prefix}{} in {service}", self.what())
    }

    fn span(&self) -> String {
        let i = self.incident;
        format!(
            "{} times, {} → {}",
            i.count,
            rfc3339(i.first_seen_ms),
            rfc3339(i.last_seen_ms)
        )
    }

    fn frames(&self) -> Vec<String> {
        let Some(x) = &self.incident.sample.exception else {
            return Vec::new();
        };
        x.frames
            .iter()
            .take(TOP_FRAMES)
            .map(|f| {
                let module = f
                    .module
                    .as_deref()
                    .map(|m| format!("{m}."))
                    .unwrap_or_default();
                let at = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!(" ({file}:{line})"),
                    (Some(file), None) => format!(" ({file})"),
                    _ => String::new(),
                };
                format!("{module}{}{at}", f.function)
            })
            .collect()
    }

    /// The webhook body: Block Kit blocks plus a plain `text` fallback for notifications.
    pub fn to_slack(&self) -> Value {
        let i = self.incident;
        let e = &i.sample;
        let section = |text: String| json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, MAX_SECTION_CHARS)}});
        let mut blocks = vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": clip(&self.title(), MAX_HEADER_CHARS)}
        })];
        let field = |name: &str, value: String| json!({"type": "mrkdwn", "text": clip(&format!("*{name}*\n{}", escape(&value)), 2000)});
        blocks.push(json!({
            "type": "section",
            "fields": [
                field("Service", i.service.clone().unwrap_or_else(|| "-".into())),
                field("Namespace", i.namespace.clone().unwrap_or_else(|| "-".into())),
                field("Count", self.span()),
                field("Pods", format!("{} ({})", i.pods.len(), i.pods.join(", "))),
                field("Versions", if i.versions.is_empty() { "-".into() } else { i.versions.join(", ") }),
                field("Level", e.level.as_str().to_string()),
            ]
        }));
        let message = match &e.exception {
            Some(x) => format!("*{}*: {}", escape(&x.kind), escape(&x.message)),
            None => escape(&e.message),
        };
        blocks.push(section(message));
        let frames = self.frames();
        if !frames.is_empty() {
            // Leave room for the code fence inside the section limit.
            let body = clip(&escape(&frames.join("\n")), MAX_SECTION_CHARS - 8);
            blocks.push(section(format!("```{body}```")));
        }
        let a = self.analysis;
        let mut analysis = format!("*Analysis* ({}): {}", escape(&a.source), escape(&a.summary));
        if let Some(cause) = &a.likely_cause {
            analysis.push_str(&format!("\n*Likely cause:* {}", escape(cause)));
        }
        for action in &a.actions {
            analysis.push_str(&format!("\n• {}", escape(action)));
        }
        blocks.push(section(analysis));
        for line in &a.evidence {
            blocks.push(section(format!("> {}", escape(line))));
        }
        for related in &a.related {
            let mut text = format!("Related: {} ({:.2})", escape(&related.title), related.score);
            if let Some(resolution) = &related.resolution {
                text.push_str(&format!("\n*Resolved:* {}", escape(resolution)));
            }
            blocks.push(section(text));
        }
        let mut context = format!("fingerprint `{}` · alert `{}`", i.fingerprint, self.id);
        if let Some(template) = self.logs_url_template {
            context.push_str(&format!(" · <{}|logs>", logs_url(template, i)));
        }
        let context_block = json!({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(&context, MAX_SECTION_CHARS)}]});
        blocks.truncate(MAX_BLOCKS - 1);
        blocks.push(context_block);
        json!({"text": clip(&format!("{} ({})", self.title(), self.span()), MAX_SECTION_CHARS), "blocks": blocks})
    }

    /// The same alert for a terminal.
    pub fn to_terminal(&self) -> String {
        let i = self.incident;
        let mut out = format!(
            "ALERT {} [{}]\n  service:   {}\n  namespace: {}\n  count:     {}\n  pods:      {}\n  versions:  {}\n",
            self.title(),
            self.id,
            i.service.as_deref().unwrap_or("-"),
            i.namespace.as_deref().unwrap_or("-"),
            self.span(),
            i.pods.join(", "),
            i.versions.join(", "),
        );
        if let Some(x) = &i.sample.exception {
            out.push_str(&format!("  exception: {}: {}\n", x.kind, x.message));
        } else {
            out.push_str(&format!("  message:   {}\n", i.sample.message));
        }
        for frame in self.frames() {
            out.push_str(&format!("    at {frame}\n"));
        }
        let a = self.analysis;
        out.push_str(&format!("  analysis ({}): {}\n", a.source, a.summary));
        if let Some(cause) = &a.likely_cause {
            out.push_str(&format!("  cause:     {cause}\n"));
        }
        for action in &a.actions {
            out.push_str(&format!("  action:    {action}\n"));
        }
        for line in &a.evidence {
            out.push_str(&format!("  evidence:  > {line}\n"));
        }
        for related in &a.related {
            out.push_str(&format!(
                "  related:   {} [{}] ({:.2})\n",
                related.title, related.id, related.score
            ));
            if let Some(resolution) = &related.resolution {
                out.push_str(&format!("             resolved: {resolution}\n"));
            }
        }
        if let Some(template) = self.logs_url_template {
            out.push_str(&format!("  logs:      {}\n", logs_url(template, i)));
        }
        out
    }
}

/// How the webhook answered one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookAnswer {
    Accepted,
    /// 429: retry no sooner than this.
    RateLimited {
        retry_after: Option<Duration>,
    },
    /// 5xx, a timeout or a connection failure: worth retrying.
    Transient(String),
    /// Any other 4xx: retrying cannot help.
    Rejected(String),
}

/// A Slack incoming webhook.
#[derive(Clone)]
pub struct Webhook {
    client: reqwest::Client,
    url: String,
}

impl Webhook {
    pub fn new(url: String, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self { client, url })
    }

    pub async fn post(&self, body: &str, idempotency_id: &str) -> WebhookAnswer {
        let sent = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-cali-alert-id", idempotency_id)
            .body(body.to_string())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return WebhookAnswer::Transient(format!("request failed: {e}")),
        };
        let status = response.status();
        if status.is_success() {
            return WebhookAnswer::Accepted;
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = response.text().await.unwrap_or_default();
        let detail = format!("HTTP {}: {}", status.as_u16(), clip(text.trim(), 200));
        if status.as_u16() == 429 {
            WebhookAnswer::RateLimited { retry_after }
        } else if status.is_server_error() || status.as_u16() == 408 {
            WebhookAnswer::Transient(detail)
        } else {
            WebhookAnswer::Rejected(detail)
        }
    }
}

/// `Retry-After` is delta-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(delta.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::FoldRules;
    use crate::samples::{event, Spec};

    fn incident(message_padding: usize) -> Incident {
        let mut e: crate::event::Event = serde_json::from_str(&event(&Spec::default())).unwrap();
        if let Some(x) = e.exception.as_mut() {
            x.message = format!("<bad> & {}", "m".repeat(message_padding));
        }
        Incident::open(
            &e,
            1_000,
            &FoldRules {
                incident_window_ms: 1,
                max_pods: 5,
            },
        )
    }

    fn analysis(evidence: usize) -> Analysis {
        Analysis {
            summary: "summary".into(),
            likely_cause: Some("cause".into()),
            evidence: (0..evidence).map(|n| format!("line {n}")).collect(),
            actions: vec!["restart".into()],
            related: Vec::new(),
            confidence: 0.5,
            source: "trivial".into(),
        }
    }

    #[test]
    fn message_names_service_exception_frames_and_link() {
        let inc = incident(0);
        let a = analysis(0);
        let msg = AlertMessage {
            incident: &inc,
            analysis: &a,
            due: Due::First,
            id: "00000000000000aa-1000-1",
            logs_url_template: Some(
                "https://grafana.local/explore?q=fingerprint%3D{fingerprint}&from={from}",
            ),
        };
        let body = msg.to_slack().to_string();
        assert!(body.contains("java.lang.IllegalStateException in checkout"));
        assert!(body.contains("&lt;bad&gt; &amp;"), "mrkdwn is escaped");
        assert!(body.contains("com.shop.Cart.checkout (Cart.java:42)"));
        assert!(body.contains("fingerprint%3D00000000000000aa&from=2026-11-26T03%3A59%3A00.000Z"));
        assert!(body.contains("00000000000000aa-1000-1"));
        assert!(msg
            .to_terminal()
            .contains("exception: java.lang.IllegalStateException"));
    }

    #[test]
    fn slack_limits_hold_for_huge_incidents() {
        let inc = incident(10_000);
        let a = analysis(200);
        let msg = AlertMessage {
            incident: &inc,
            analysis: &a,
            due: Due::Update,
            id: "x",
            logs_url_template: None,
        };
        let body = msg.to_slack();
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), MAX_BLOCKS);
        assert_eq!(
            blocks.last().unwrap()["type"],
            "context",
            "the id survives truncation"
        );
        for block in blocks {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(text.chars().count() <= MAX_SECTION_CHARS);
            }
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
