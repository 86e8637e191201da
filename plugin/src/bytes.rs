//! Byte searches eight bytes per step. WebAssembly (without SIMD, as Fluent Bit builds
//! WAMR) has no vector compare, and in its interpreter one step of a word loop costs about
//! what one byte of a byte loop does.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `v` is below `n` (`n` at most 128): the high bit of `x - n & !x`
/// is set in some byte exactly then.
pub(crate) fn has_below(v: u64, n: u8) -> bool {
    v.wrapping_sub(ONES * u64::from(n)) & !v & HIGH != 0
}

/// Whether some byte of `v` is `b`.
pub(crate) fn has_byte(v: u64, b: u8) -> bool {
    has_below(v ^ (ONES * u64::from(b)), 1)
}

/// The eight bytes at `i` as one little-endian word, if there are eight.
pub(crate) fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let chunk = bytes.get(i..i + 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    Some(u64::from_le_bytes(w))
}

/// The index of the first `a` or `b` in `bytes` at or after `from`, or `bytes.len()`.
pub fn find2(bytes: &[u8], from: usize, a: u8, b: u8) -> usize {
    let mut i = from;
    while let Some(v) = word_at(bytes, i) {
        if has_byte(v, a) | has_byte(v, b) {
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

/// The index of the first ASCII digit in `bytes` at or after `from`, or `bytes.len()`.
pub fn find_digit(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(v) = word_at(bytes, i) {
        // Digits are the bytes below 10 once `'0'` is xored away.
        if has_below(v ^ (ONES * u64::from(b'0')), 10) {
            break;
        }
        i += 8;
    }
    while let Some(&c) = bytes.get(i) {
        if c.is_ascii_digit() {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// `s.find(pat)` for a non-empty `pat`: its first byte found eight bytes per step, then
/// compared. `str::find` with a `&str` pattern prepares a two-way searcher on every call,
/// which costs more than the whole search over a short line.
pub fn find_str(s: &str, pat: &str) -> Option<usize> {
    let (b, p) = (s.as_bytes(), pat.as_bytes());
    let first = *p.first()?;
    let mut i = 0;
    loop {
        i = find(b, i, first);
        if i >= b.len() {
            return None;
        }
        if b[i..].starts_with(p) {
            return Some(i);
        }
        i += 1;
    }
}

/// `s.rfind(pat)` for a non-empty `pat`, without a two-way searcher.
pub fn rfind_str(s: &str, pat: &str) -> Option<usize> {
    let (b, p) = (s.as_bytes(), pat.as_bytes());
    let first = *p.first()?;
    (0..=b.len().checked_sub(p.len())?)
        .rev()
        .find(|&i| b[i] == first && b[i..].starts_with(p))
}

/// `s.contains(pat)` for a non-empty `pat`.
pub fn contains_str(s: &str, pat: &str) -> bool {
    find_str(s, pat).is_some()
}

/// `s.split_once(pat)` for a non-empty `pat`.
pub fn split_once_str<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let i = find_str(s, pat)?;
    Some((&s[..i], &s[i + pat.len()..]))
}

/// `s.rsplit_once(pat)` for a non-empty `pat`.
pub fn rsplit_once_str<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let i = rfind_str(s, pat)?;
    Some((&s[..i], &s[i + pat.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_digit_at_every_offset() {
        for fill in [b'a', b'/', b':', 0x00, 0x80, 0xff, 0xb0, 0xb9] {
            for len in 0..20 {
                for at in 0..=len {
                    for digit in [b'0', b'5', b'9'] {
                        let mut b = vec![fill; len];
                        if at < len {
                            b[at] = digit;
                        }
                        for from in 0..=len {
                            let slow = (from..len).find(|&i| b[i].is_ascii_digit()).unwrap_or(len);
                            assert_eq!(find_digit(&b, from), slow, "{b:?} from {from}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn string_searches_agree_with_std() {
        let texts = [
            "",
            "a",
            "at com.acme.Foo.bar(Foo.java:12)",
            " in  in ",
            "aaa",
            "x: y: z",
            "é ---> ü",
        ];
        let pats = [" in ", ": ", "a", "aa", " (", "--->", "z", "é"];
        for t in texts {
            for p in pats {
                assert_eq!(find_str(t, p), t.find(p), "{t:?} {p:?}");
                assert_eq!(rfind_str(t, p), t.rfind(p), "{t:?} {p:?}");
                assert_eq!(contains_str(t, p), t.contains(p));
                assert_eq!(split_once_str(t, p), t.split_once(p));
                assert_eq!(rsplit_once_str(t, p), t.rsplit_once(p));
            }
        }
    }

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
