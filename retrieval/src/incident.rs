//! The text that stands for an incident when it is embedded: what identifies the problem
//! (exception type, message template, top frames, service) and nothing that varies between
//! occurrences. Analysis and the retrieval evaluation both use it, so stored incidents and
//! queries are embedded alike.

use crate::text::message_template;

/// How many frames (from the top) go into the text: the throwing code and its callers
/// say most; deeper frames are framework plumbing shared by unrelated errors.
pub const TOP_FRAMES: usize = 5;

/// `<exception type>: <message template>`, then up to [`TOP_FRAMES`] frames as
/// `at <frame>`, then `service: <service>`. Numbers, hex and UUIDs in the message are
/// masked (see the crate's message template); frames are given as the caller renders them
/// (e.g. `com.acme.PaymentService.charge` or `app/payments.py in charge`).
pub fn incident_text<S: AsRef<str>>(
    exception_type: Option<&str>,
    message: &str,
    frames: &[S],
    service: Option<&str>,
) -> String {
    let template = message_template(message.trim());
    let mut text = match exception_type.map(str::trim).filter(|t| !t.is_empty()) {
        Some(kind) if template.is_empty() => kind.to_string(),
        Some(kind) => format!("{kind}: {template}"),
        None => template,
    };
    for frame in frames.iter().take(TOP_FRAMES) {
        text.push_str("\nat ");
        text.push_str(frame.as_ref().trim());
    }
    if let Some(service) = service.map(str::trim).filter(|s| !s.is_empty()) {
        text.push_str("\nservice: ");
        text.push_str(service);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_type_template_top_frames_and_service() {
        let frames: Vec<String> = (1..=7).map(|i| format!("f{i}")).collect();
        let text = incident_text(
            Some("TimeoutError"),
            "took 3000 ms",
            &frames,
            Some("checkout"),
        );
        assert_eq!(
            text,
            "TimeoutError: took <num> ms\nat f1\nat f2\nat f3\nat f4\nat f5\nservice: checkout"
        );
    }

    #[test]
    fn works_without_type_frames_or_service() {
        assert_eq!(
            incident_text::<&str>(None, "disk full on /dev/sda1", &[], None),
            "disk full on /dev/sda1"
        );
        assert_eq!(
            incident_text::<&str>(Some("OOM"), "", &[], Some(" ")),
            "OOM"
        );
    }
}
