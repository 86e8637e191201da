//! Text normalization shared by the hashed embedder and the incident text: variable parts
//! of a message (numbers, hex, UUIDs) become placeholders so that two occurrences of the
//! same problem read the same.

use std::sync::LazyLock;

use regex::Regex;

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
        .expect("valid regex")
});
static HEX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:0[xX][0-9a-fA-F]+|[0-9a-fA-F]{8,})\b").expect("valid regex")
});
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d+(?:[.:,]\d+)*\b").expect("valid regex"));

/// The message with its variable parts masked: UUIDs become `<id>`, hex literals and long
/// hex strings (with at least one digit, so words like `deadbeef`-free prose survive)
/// become `<hex>`, numbers (also dotted, like IPs and versions) become `<num>`.
pub fn message_template(message: &str) -> String {
    let masked = UUID.replace_all(message, "<id>");
    let masked = HEX.replace_all(&masked, |caps: &regex::Captures<'_>| {
        let word = &caps[0];
        if word.starts_with("0x")
            || word.starts_with("0X")
            || word.bytes().any(|b| b.is_ascii_digit())
        {
            "<hex>".to_string()
        } else {
            word.to_string()
        }
    });
    NUMBER.replace_all(&masked, "<num>").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_numbers_hex_and_uuids_but_keeps_identifiers() {
        let got = message_template(
            "Timeout after 30000 ms calling 10.0.3.7:5432 for order 9f8e7d6c5b4a3f2e \
             request 123e4567-e89b-12d3-a456-426614174000 at 0x7ffe log4j decade",
        );
        assert_eq!(
            got,
            "Timeout after <num> ms calling <num> for order <hex> request <id> at <hex> log4j decade"
        );
    }
}
