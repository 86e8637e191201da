//! Redaction: secrets and personal data are replaced by placeholders before any incident
//! text is embedded, stored or sent. Placeholders are consistent within one incident
//! (`<EMAIL_1>` is the same address everywhere in it), and stack frames, exception types
//! and version numbers are left exactly as they were.
//!
//! IPv4 versus versions: a dotted quad (four decimal octets 0-255, no leading zeros) is an
//! address unless it is part of a longer dotted run (`1.2.3.4.5`, `1.2.3.4.jar`), is glued
//! to a name by a letter, digit, `-`, `_` or `.` (`guava-31.1.0.1`, `v1.2.3.4`), is
//! followed by `-` and a letter (`1.2.3.4-SNAPSHOT`), or is the version of a jar in
//! Logback packaging data (`[app.jar:1.2.3.4]`).

use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::ops::Range;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::seam::{Frame, IncidentInput};

/// A pattern added by configuration; matches are replaced by `<NAME_n>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraPattern {
    /// Placeholder name, upper-cased into `<NAME_n>` (letters, digits and `_`).
    pub name: String,
    /// Regular expression (Rust `regex` syntax). When it has a capture group named
    /// `secret`, only that group is replaced; otherwise the whole match is.
    pub regex: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("redaction pattern `{name}` does not compile: {source}")]
    BadPattern {
        name: String,
        #[source]
        source: regex::Error,
    },
    #[error("redaction pattern name `{0}` must be letters, digits and `_`")]
    BadName(String),
}

/// What a replaced span was; the placeholder's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SecretKind {
    PrivateKey,
    Jwt,
    AwsAccessKey,
    AwsSecretKey,
    ApiKey,
    Token,
    Password,
    Secret,
    Email,
    Ip,
    Card,
    Custom(String),
}

impl SecretKind {
    fn label(&self) -> &str {
        match self {
            SecretKind::PrivateKey => "PRIVATE_KEY",
            SecretKind::Jwt => "JWT",
            SecretKind::AwsAccessKey => "AWS_ACCESS_KEY",
            SecretKind::AwsSecretKey => "AWS_SECRET_KEY",
            SecretKind::ApiKey => "API_KEY",
            SecretKind::Token => "TOKEN",
            SecretKind::Password => "PASSWORD",
            SecretKind::Secret => "SECRET",
            SecretKind::Email => "EMAIL",
            SecretKind::Ip => "IP",
            SecretKind::Card => "CARD",
            SecretKind::Custom(name) => name,
        }
    }
}

/// How a rule finds the secret inside its match, and whether the match is really one.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// Every match is a secret.
    Always,
    /// The value of a `key=value` pair, unless it is a word that says there is no secret.
    KeyValue,
    /// A bare 40-character AWS secret key: mixed case and digits, not a word path.
    AwsSecretShape,
    /// A dotted quad that is not a version (see the module comment).
    Ipv4,
    /// Parses as an IPv6 address and does not look like a time or a path.
    Ipv6,
    /// Issuer prefix and Luhn checksum of a payment card number.
    Card,
}

#[derive(Debug)]
struct Rule {
    kind: SecretKind,
    regex: Regex,
    /// Capture group holding the secret (0 = the whole match, `FIRST_GROUP` = the first
    /// group that took part, for `key = "value" | 'value' | value` alternatives).
    group: usize,
    check: Check,
}

/// A compiled set of redaction rules. Cheap to share; `scope()` starts one incident.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
}

const FIRST_GROUP: usize = usize::MAX;

/// Shortest secret whose bare repeats are replaced too.
const MIN_REPEAT_LEN: usize = 6;

/// Built-in rules, most specific first: when two matches overlap, the earlier rule wins.
const BUILTIN: &[(&str, &str, usize, &str)] = &[
    // (kind, regex, group, check)
    (
        "PRIVATE_KEY",
        r"(?s)-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\z)",
        0,
        "always",
    ),
    (
        "JWT",
        r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
        0,
        "always",
    ),
    (
        "AWS_ACCESS_KEY",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b",
        0,
        "always",
    ),
    (
        "AWS_SECRET_KEY",
        r#"(?i)aws_?secret(?:_?access)?_?key["']?\s*[=:]\s*["']?([A-Za-z0-9/+=]{40})"#,
        1,
        "always",
    ),
    (
        "API_KEY",
        r"\bsk-(?:proj-|live-|test-|ant-)?[A-Za-z0-9_-]{16,}",
        0,
        "always",
    ),
    (
        "API_KEY",
        r"\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}",
        0,
        "always",
    ),
    ("API_KEY", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0, "always"),
    ("API_KEY", r"\bgh[pousr]_[A-Za-z0-9]{30,}", 0, "always"),
    ("API_KEY", r"\bgithub_pat_[A-Za-z0-9_]{22,}", 0, "always"),
    ("API_KEY", r"\bglpat-[A-Za-z0-9_-]{20,}", 0, "always"),
    ("API_KEY", r"\bAIza[0-9A-Za-z_-]{35}", 0, "always"),
    (
        "TOKEN",
        r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{8,}=*)",
        1,
        "always",
    ),
    (
        "TOKEN",
        r"(?i)\bauthorization\s*[:=]\s*basic\s+([A-Za-z0-9+/]{6,}=*)",
        1,
        "always",
    ),
    // Passwords in URLs: only the password between `user:` and `@host`.
    (
        "PASSWORD",
        r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^\s/@]+(?:@[^\s/@]+)*)@[^\s/@]",
        1,
        "always",
    ),
    // Connection strings and key=value: `Password=...;`, `pwd=...`, `"password": "..."`.
    (
        "PASSWORD",
        r#"(?i)(?:\b|_)(?:password|passwd|passphrase|pwd|pass)["']?\s*[=:]\s*(?:"([^"\r\n]+)"|'([^'\r\n]+)'|([^\s;,&"'}<>\]\)]+))"#,
        FIRST_GROUP,
        "key_value",
    ),
    (
        "SECRET",
        r#"(?i)(?:\b|_)(?:api[_-]?key|apikey|x-api-key|access[_-]?key(?:[_-]?id)?|access[_-]?token|auth[_-]?token|refresh[_-]?token|id[_-]?token|session[_-]?token|client[_-]?secret|secret[_-]?key|private[_-]?key|signing[_-]?key|token|secret)["']?\s*[=:]\s*(?:"([^"\r\n]+)"|'([^'\r\n]+)'|([^\s;,&"'}<>\]\)]+))"#,
        FIRST_GROUP,
        "key_value",
    ),
    ("AWS_SECRET_KEY", r"[A-Za-z0-9/+]{40}", 0, "aws_secret"),
    (
        "EMAIL",
        r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
        0,
        "always",
    ),
    // EC2-style host names carry the address with dashes.
    (
        "IP",
        r"\bip-(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:-(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b",
        0,
        "always",
    ),
    (
        "IP",
        r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}",
        0,
        "ipv4",
    ),
    (
        "IP",
        r"(?i)(?:[0-9a-f]{0,4}:){2,7}(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|[0-9a-f]{0,4})(?:%[0-9a-z]+)?",
        0,
        "ipv6",
    ),
    ("CARD", r"\b\d(?:[ -]?\d){12,18}\b", 0, "card"),
];

fn builtin_kind(label: &str) -> SecretKind {
    match label {
        "PRIVATE_KEY" => SecretKind::PrivateKey,
        "JWT" => SecretKind::Jwt,
        "AWS_ACCESS_KEY" => SecretKind::AwsAccessKey,
        "AWS_SECRET_KEY" => SecretKind::AwsSecretKey,
        "API_KEY" => SecretKind::ApiKey,
        "TOKEN" => SecretKind::Token,
        "PASSWORD" => SecretKind::Password,
        "SECRET" => SecretKind::Secret,
        "EMAIL" => SecretKind::Email,
        "IP" => SecretKind::Ip,
        "CARD" => SecretKind::Card,
        other => SecretKind::Custom(other.to_string()),
    }
}

fn builtin_check(name: &str) -> Check {
    match name {
        "aws_secret" => Check::AwsSecretShape,
        "ipv4" => Check::Ipv4,
        "ipv6" => Check::Ipv6,
        "card" => Check::Card,
        "key_value" => Check::KeyValue,
        _ => Check::Always,
    }
}

/// A secret found in a text: byte range and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    pub kind: SecretKind,
}

impl Redactor {
    /// The built-in rules plus `extra` (applied after the built-ins).
    pub fn new(extra: &[ExtraPattern]) -> Result<Self, RedactError> {
        let mut rules = Vec::with_capacity(BUILTIN.len() + extra.len());
        for (label, pattern, group, check) in BUILTIN {
            let regex = Regex::new(pattern).map_err(|source| RedactError::BadPattern {
                name: (*label).to_string(),
                source,
            })?;
            rules.push(Rule {
                kind: builtin_kind(label),
                regex,
                group: *group,
                check: builtin_check(check),
            });
        }
        for pattern in extra {
            let name = pattern.name.to_ascii_uppercase();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(RedactError::BadName(pattern.name.clone()));
            }
            let regex = Regex::new(&pattern.regex).map_err(|source| RedactError::BadPattern {
                name: pattern.name.clone(),
                source,
            })?;
            let group = regex
                .capture_names()
                .position(|n| n == Some("secret"))
                .unwrap_or(0);
            rules.push(Rule {
                kind: SecretKind::Custom(name),
                regex,
                group,
                check: Check::Always,
            });
        }
        Ok(Redactor { rules })
    }

    /// Starts one incident: placeholders are numbered within the returned scope.
    pub fn scope(&self) -> RedactionScope<'_> {
        RedactionScope {
            redactor: self,
            placeholders: HashMap::new(),
            next: HashMap::new(),
        }
    }

    /// Every secret in `text`, non-overlapping, in order.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut found: Vec<(Finding, usize)> = Vec::new();
        for (priority, rule) in self.rules.iter().enumerate() {
            for caps in rule.regex.captures_iter(text) {
                let span = if rule.group == FIRST_GROUP {
                    (1..caps.len()).find_map(|i| caps.get(i))
                } else {
                    caps.get(rule.group)
                };
                let Some(m) = span else { continue };
                if m.start() == m.end() || !passes(rule.check, text, m.start(), m.end()) {
                    continue;
                }
                found.push((
                    Finding {
                        start: m.start(),
                        end: m.end(),
                        kind: rule.kind.clone(),
                    },
                    priority,
                ));
            }
        }
        // Higher-priority rules claim their spans first; later overlapping spans are dropped.
        found.sort_by_key(|(f, priority)| (*priority, f.start));
        let mut kept: Vec<Finding> = Vec::new();
        for (finding, _) in found {
            if kept
                .iter()
                .all(|k| finding.end <= k.start || finding.start >= k.end)
            {
                kept.push(finding);
            }
        }
        kept.sort_by_key(|f| f.start);
        kept
    }
}

/// Placeholders of one incident: the same secret gets the same placeholder everywhere in it.
#[derive(Debug)]
pub struct RedactionScope<'r> {
    redactor: &'r Redactor,
    placeholders: HashMap<(SecretKind, String), String>,
    next: HashMap<SecretKind, usize>,
}

impl RedactionScope<'_> {
    /// Registers the secrets of `text` without redacting it, so that a secret found in one
    /// field is also replaced where it appears bare (without its `password=` context) in a
    /// field redacted earlier.
    pub fn learn(&mut self, text: &str) {
        for finding in self.redactor.find(text) {
            self.placeholder(&finding.kind, &text[finding.start..finding.end]);
        }
    }

    /// `text` with every secret replaced by its placeholder, including bare repeats of
    /// secrets already seen in this scope.
    pub fn redact(&mut self, text: &str) -> String {
        self.redact_with_ranges(text).0
    }

    /// Like `redact`, also returning the byte ranges of `text` that were replaced.
    pub fn redact_with_ranges(&mut self, text: &str) -> (String, Vec<Range<usize>>) {
        let mut spans: Vec<(usize, usize, String)> = Vec::new();
        for finding in self.redactor.find(text) {
            let value = &text[finding.start..finding.end];
            let placeholder = self.placeholder(&finding.kind, value);
            spans.push((finding.start, finding.end, placeholder));
        }
        // Bare repeats; short values are skipped because they occur by chance.
        for ((_, value), placeholder) in &self.placeholders {
            if value.len() < MIN_REPEAT_LEN {
                continue;
            }
            for (start, _) in text.match_indices(value.as_str()) {
                let end = start + value.len();
                if spans.iter().all(|&(s, e, _)| end <= s || start >= e) {
                    spans.push((start, end, placeholder.clone()));
                }
            }
        }
        spans.sort_by_key(|&(start, _, _)| start);
        let mut out = String::with_capacity(text.len());
        let mut ranges = Vec::with_capacity(spans.len());
        let mut at = 0;
        for (start, end, placeholder) in spans {
            out.push_str(&text[at..start]);
            out.push_str(&placeholder);
            ranges.push(start..end);
            at = end;
        }
        out.push_str(&text[at..]);
        (out, ranges)
    }

    pub fn redact_opt(&mut self, text: &Option<String>) -> Option<String> {
        text.as_ref().map(|t| self.redact(t))
    }

    /// Number of distinct secrets replaced so far.
    pub fn distinct_secrets(&self) -> usize {
        self.placeholders.len()
    }

    fn placeholder(&mut self, kind: &SecretKind, value: &str) -> String {
        let key = (kind.clone(), value.to_string());
        if let Some(p) = self.placeholders.get(&key) {
            return p.clone();
        }
        let n = self.next.entry(kind.clone()).or_insert(0);
        *n += 1;
        let placeholder = format!("<{}_{}>", kind.label(), n);
        self.placeholders.insert(key, placeholder.clone());
        placeholder
    }
}

impl Redactor {
    /// The incident with every free-text field redacted under one scope. Fingerprint,
    /// counts, times, levels and languages are not free text and are kept.
    pub fn redact_incident(&self, incident: &IncidentInput) -> IncidentInput {
        self.redact_incident_counted(incident).0
    }

    /// `redact_incident`, also returning how many distinct secrets were replaced.
    pub fn redact_incident_counted(&self, incident: &IncidentInput) -> (IncidentInput, usize) {
        let mut scope = self.scope();
        let s = &incident.sample;
        for text in [&s.message, &s.log_content]
            .into_iter()
            .chain(s.stack_trace.as_ref())
            .chain(s.exception_message.as_ref())
        {
            scope.learn(text);
        }
        let sample = crate::seam::SampleEvent {
            level: s.level.clone(),
            service: scope.redact_opt(&s.service),
            logger: scope.redact_opt(&s.logger),
            message: scope.redact(&s.message),
            exception_type: scope.redact_opt(&s.exception_type),
            exception_message: scope.redact_opt(&s.exception_message),
            language: s.language.clone(),
            frames: s
                .frames
                .iter()
                .map(|f| Frame {
                    function: scope.redact(&f.function),
                    module: scope.redact_opt(&f.module),
                    file: scope.redact_opt(&f.file),
                    line: f.line,
                })
                .collect(),
            stack_trace: scope.redact_opt(&s.stack_trace),
            log_content: scope.redact(&s.log_content),
        };
        let redacted = IncidentInput {
            fingerprint: incident.fingerprint.clone(),
            service: scope.redact_opt(&incident.service),
            namespace: scope.redact_opt(&incident.namespace),
            count: incident.count,
            first_seen: incident.first_seen.clone(),
            last_seen: incident.last_seen.clone(),
            pods: incident.pods.iter().map(|p| scope.redact(p)).collect(),
            versions: incident.versions.iter().map(|v| scope.redact(v)).collect(),
            sample,
        };
        (redacted, scope.distinct_secrets())
    }
}

fn passes(check: Check, text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let before = |back: usize| -> Option<u8> { start.checked_sub(back).map(|i| bytes[i]) };
    let after = |ahead: usize| -> Option<u8> { bytes.get(end + ahead - 1).copied() };
    match check {
        Check::Always => true,
        Check::KeyValue => {
            let value = text[start..end].trim().to_ascii_lowercase();
            !NOT_A_SECRET.contains(&value.as_str()) && !value.starts_with('*')
        }
        Check::AwsSecretShape => {
            let glued = |c: Option<u8>| {
                c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+' || c == b'=')
            };
            if glued(before(1)) || glued(after(1)) {
                return false;
            }
            let s = &bytes[start..end];
            let upper = s.iter().filter(|c| c.is_ascii_uppercase()).count();
            let lower = s.iter().filter(|c| c.is_ascii_lowercase()).count();
            let digit = s.iter().filter(|c| c.is_ascii_digit()).count();
            // A path of words (`org/acme/FooService/...`) has long lowercase runs; a key
            // drawn at random has few.
            let longest_lower_run = s
                .split(|c| !c.is_ascii_lowercase())
                .map(<[u8]>::len)
                .max()
                .unwrap_or(0);
            upper >= 3 && lower >= 3 && digit >= 2 && longest_lower_run < 10
        }
        Check::Ipv4 => {
            let glued_before = before(1)
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.');
            let dotted_after =
                after(1) == Some(b'.') && after(2).is_some_and(|c| c.is_ascii_alphanumeric());
            let glued_after = after(1).is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
            let suffix =
                after(1) == Some(b'-') && after(2).is_some_and(|c| c.is_ascii_alphabetic());
            let jar_version = before(1) == Some(b':') && {
                let head = &text[..start - 1];
                head.ends_with(".jar") || head.ends_with(".war") || head.ends_with(".ear")
            };
            !(glued_before || dotted_after || glued_after || suffix || jar_version)
        }
        Check::Ipv6 => {
            let candidate = &text[start..end];
            let glued = |c: Option<u8>| {
                c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b':' || c == b'_')
            };
            if glued(before(1)) || glued(after(1)) {
                return false;
            }
            let addr_part = candidate.split('%').next().unwrap_or(candidate);
            if addr_part.parse::<Ipv6Addr>().is_err() || addr_part == "::" {
                return false;
            }
            // Compressed forms must carry a digit somewhere, so `dead::beef`-like Rust or
            // C++ paths stay; a full form has eight groups and is unambiguous.
            let colons = addr_part.matches(':').count();
            colons == 7 || addr_part.bytes().any(|c| c.is_ascii_digit())
        }
        Check::Card => {
            if before(1).is_some_and(|c| c == b'.' || c == b'-' || c == b'_') {
                return false;
            }
            let digits: Vec<u8> = text[start..end]
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(|c| c - b'0')
                .collect();
            card_prefix_ok(&digits) && luhn(&digits)
        }
    }
}

/// Values of `password=`/`token=` that carry no secret and that the analyst needs to see
/// (`token: expired`).
const NOT_A_SECRET: &[&str] = &[
    "null",
    "none",
    "nil",
    "empty",
    "undefined",
    "true",
    "false",
    "expired",
    "invalid",
    "missing",
    "required",
    "redacted",
    "[redacted]",
    "unset",
    "not",
    "is",
    "was",
    "has",
    "for",
    "the",
    "a",
    "an",
    "must",
    "cannot",
    "should",
    "provided",
];

/// Issuer prefixes and lengths of the major card networks, so that long numeric ids
/// (epoch milliseconds, order numbers) that happen to pass Luhn are left alone.
fn card_prefix_ok(d: &[u8]) -> bool {
    let len = d.len();
    let prefix = |n: usize| {
        d.iter()
            .take(n)
            .fold(0u32, |acc, &x| acc * 10 + u32::from(x))
    };
    match d.first() {
        Some(4) => matches!(len, 13 | 16 | 19),
        Some(5) => (51..=55).contains(&prefix(2)) && len == 16,
        Some(2) => (2221..=2720).contains(&prefix(4)) && len == 16,
        Some(3) => {
            let p2 = prefix(2);
            (matches!(p2, 34 | 37) && len == 15)
                || (p2 == 35 && (16..=19).contains(&len))
                || ((p2 == 36 || p2 == 38 || (300..=305).contains(&prefix(3))) && len == 14)
        }
        Some(6) => {
            (prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)))
                && (16..=19).contains(&len)
        }
        _ => false,
    }
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        let r = Redactor::new(&[]).expect("built-in rules compile");
        let mut scope = r.scope();
        scope.redact(text)
    }

    #[test]
    fn same_email_same_placeholder_within_an_incident() {
        let out = redact("mail a@x.io failed; retry a@x.io then b@y.org");
        assert_eq!(out, "mail <EMAIL_1> failed; retry <EMAIL_1> then <EMAIL_2>");
    }

    #[test]
    fn url_password_keeps_user_and_host() {
        let out = redact("connect postgres://app:s3cr3t@db.internal:5432/orders");
        assert_eq!(
            out,
            "connect postgres://app:<PASSWORD_1>@db.internal:5432/orders"
        );
    }

    #[test]
    fn connection_string_password_value_only() {
        let out = redact("Server=db;User Id=sa;Password=Hunter2!x;Database=main");
        assert_eq!(
            out,
            "Server=db;User Id=sa;Password=<PASSWORD_1>;Database=main"
        );
    }

    #[test]
    fn ipv4_versus_versions() {
        assert_eq!(redact("peer 10.0.0.12 reset"), "peer <IP_1> reset");
        assert_eq!(
            redact("Connection refused: /10.1.2.3:5432"),
            "Connection refused: /<IP_1>:5432"
        );
        for kept in [
            "at Foo.bar(Foo.java:12) ~[guava-31.1.0.1.jar:na]",
            "loaded lib-1.2.3.4.jar",
            "client v1.2.3.4",
            "at x(Unknown Source) ~[app.jar:1.2.3.4]",
            "release 1.2.3.4-SNAPSHOT",
            "oid 1.3.6.1.4.1",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn ipv6_but_not_times_or_paths() {
        assert_eq!(redact("from [2001:db8::1]:443"), "from [<IP_1>]:443");
        assert_eq!(redact("fe80::1ff:fe23:4567:890a%eth0 down"), "<IP_1> down");
        for kept in [
            "at 12:30:45.123",
            "tokio::runtime::task",
            "std::vector<int>",
            "ab:cd:ef:01:23:45",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn cards_need_luhn_and_an_issuer_prefix() {
        assert_eq!(
            redact("card 4111 1111 1111 1111 declined"),
            "card <CARD_1> declined"
        );
        assert_eq!(
            redact("card 4111 1111 1111 1112 declined"),
            "card 4111 1111 1111 1112 declined"
        );
        // Epoch milliseconds are not cards even when Luhn happens to pass.
        assert_eq!(redact("ts=1700000000007"), "ts=1700000000007");
    }

    #[test]
    fn multi_line_private_key() {
        let text = "cfg:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\nnext";
        assert_eq!(redact(text), "cfg:\n<PRIVATE_KEY_1>\nnext");
    }

    #[test]
    fn frames_and_exception_types_are_untouched() {
        for kept in [
            "java.lang.IllegalStateException: pool closed",
            "\tat com.acme.orders.TokenService.validate(TokenService.java:42)",
            "  File \"/usr/lib/python3.11/site-packages/requests/adapters.py\", line 519, in send",
            "main.(*Handler).ServeHTTP(0xc000123456, {0x7f1e2a, 0xc0001a2b3c})",
            "\t/app/handler.go:88 +0x1d",
            "at Object.<anonymous> (/srv/app/node_modules/pg/lib/client.js:132:17)",
            "org.springframework.dao.DataAccessResourceFailureException",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn extra_pattern_with_secret_group() {
        let r = Redactor::new(&[ExtraPattern {
            name: "tenant".into(),
            regex: r"tenant-(?P<secret>[0-9]{6})".into(),
        }])
        .expect("compiles");
        assert_eq!(
            r.scope().redact("for tenant-123456"),
            "for tenant-<TENANT_1>"
        );
    }

    #[test]
    fn bad_extra_pattern_is_named() {
        let err = Redactor::new(&[ExtraPattern {
            name: "broken".into(),
            regex: "(".into(),
        }])
        .expect_err("must not compile");
        assert!(err.to_string().contains("broken"));
    }
}
