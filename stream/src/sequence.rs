//! Kinesis sequence numbers are decimal integers of up to 129 digits (moto's are small), so
//! they are compared by value without parsing into a fixed-width integer.

use std::cmp::Ordering;

use crate::SourceError;

/// Compares two sequence numbers by numeric value. Leading zeros do not matter.
pub fn compare_sequence_numbers(a: &str, b: &str) -> Result<Ordering, SourceError> {
    let a = digits(a)?;
    let b = digits(b)?;
    Ok(a.len().cmp(&b.len()).then_with(|| a.cmp(b)))
}

/// The significant digits of a sequence number (no leading zeros; "0" becomes "").
fn digits(sequence: &str) -> Result<&str, SourceError> {
    if sequence.is_empty() || !sequence.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SourceError::InvalidSequenceNumber(sequence.to_string()));
    }
    Ok(sequence.trim_start_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_by_value_not_text() {
        assert_eq!(compare_sequence_numbers("9", "10").unwrap(), Ordering::Less);
        assert_eq!(
            compare_sequence_numbers("10", "9").unwrap(),
            Ordering::Greater
        );
        assert_eq!(
            compare_sequence_numbers("007", "7").unwrap(),
            Ordering::Equal
        );
        assert_eq!(
            compare_sequence_numbers("0", "000").unwrap(),
            Ordering::Equal
        );
    }

    #[test]
    fn handles_numbers_wider_than_128_bits() {
        let big = "49590338271490256608559692538361571095921575989136588898";
        let bigger = "49590338271490256608559692540925702759324208523137515618";
        assert_eq!(
            compare_sequence_numbers(big, bigger).unwrap(),
            Ordering::Less
        );
        assert_eq!(
            compare_sequence_numbers(bigger, big).unwrap(),
            Ordering::Greater
        );
    }

    #[test]
    fn rejects_non_numbers() {
        assert!(compare_sequence_numbers("12a", "1").is_err());
        assert!(compare_sequence_numbers("", "1").is_err());
        assert!(compare_sequence_numbers("1", "-1").is_err());
    }
}
