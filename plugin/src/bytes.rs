//! Byte searches eight bytes per step. WebAssembly (without SIMD, as Fluent Bit builds
//! WAMR) has no vector compare, and in its interpreter one step of a word loop costs about
//! what one byte of a byte loop does.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of the result where `v` has a zero byte (possibly also in
/// bytes above the first zero, so only "some byte is zero" is exact).
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGH
}

fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let chunk = bytes.get(i..i + 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    Some(u64::from_le_bytes(w))
}

/// The index of the first `a` or `b` in `bytes` at or after `from`, or `bytes.len()`.
pub fn find2(bytes: &[u8], from: usize, a: u8, b: u8) -> usize {
    let mut i = from;
    while let Some(v) = word_at(bytes, i) {
        if zero_bytes(v ^ (ONES * u64::from(a))) | zero_bytes(v ^ (ONES * u64::from(b))) != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&c) = bytes.get(i) {
        if c == a || c == b {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// The index of the first `a` in `bytes` at or after `from`, or `bytes.len()`.
pub fn find(bytes: &[u8], from: usize, a: u8) -> usize {
    find2(bytes, from, a, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_of_two_bytes_at_every_offset() {
        let slow = |b: &[u8], from: usize, x: u8, y: u8| {
            (from..b.len())
                .find(|&i| b[i] == x || b[i] == y)
                .unwrap_or(b.len())
        };
        for fill in [b'a', 0x00, 0x80, 0xff, b'=' - 1, b':' + 1] {
            for len in 0..20 {
                let plain = vec![fill; len];
                for at in 0..len {
                    for special in [b'=', b':'] {
                        let mut b = plain.clone();
                        b[at] = special;
                        for from in 0..=len {
                            assert_eq!(find2(&b, from, b'=', b':'), slow(&b, from, b'=', b':'));
                            assert_eq!(find(&b, from, b':'), slow(&b, from, b':', b':'));
                        }
                    }
                }
                assert_eq!(find2(&plain, 0, b'=', b':'), len);
            }
        }
    }
}
