//! Byte searches eight bytes per step. WebAssembly (without SIMD, as Fluent Bit builds
//! WAMR) has no vector compare, and in its interpreter one step of a word loop costs about
//! what one byte of a byte loop does.

pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `v` below `n` (`n` at most 128). Exact for the lowest
/// marked byte, the only one ever read: a borrow can mark bytes above a true one only.
pub(crate) fn below_bytes(v: u64, n: u8) -> u64 {
    v.wrapping_sub(ONES * u64::from(n)) & !v & HIGH
}

/// The high bit of each zero byte of `x` (exact for the lowest one, as above).
pub(crate) fn zero_bytes(x: u64) -> u64 {
    below_bytes(x, 1)
}

/// The high bit of each byte of `v` equal to `b` (exact for the lowest one).
pub(crate) fn eq_bytes(v: u64, b: u8) -> u64 {
    zero_bytes(v ^ (ONES * u64::from(b)))
}

/// The high bit of each ASCII digit of `v` (exact for the lowest one): digits are the
/// bytes below 10 once `'0'` is xored away.
pub(crate) fn digit_bytes(v: u64) -> u64 {
    below_bytes(v ^ (ONES * u64::from(b'0')), 10)
}

/// Eight bytes of text as their shape: each digit 1-9 becomes `1` (exact per byte; a byte
/// with its high bit set, part of a UTF-8 character, is never a digit). Texts of one shape
/// differ only in which nonzero digits they have (`fingerprint::MessageMemo`,
/// `header::TailMemo`).
#[inline(always)]
pub(crate) fn digit_shape(v: u64) -> u64 {
    const LOW: u64 = ONES * 0x7f;
    let t = v & LOW;
    // The high bit of each byte at or above '1', and at or above ':' (no carry: t <= 0x7f),
    // of a byte below 0x80: the digits 1-9.
    let from_one = t.wrapping_add(ONES * (0x80 - 0x31));
    let past_nine = t.wrapping_add(ONES * (0x80 - 0x3a));
    let nonzero_digit = from_one & !past_nine & !v & HIGH;
    let mask = (nonzero_digit >> 7) * 0xff;
    (v & !mask) | (mask & (ONES * u64::from(b'1')))
}

/// The bytes of a text whose shape picks a memo's slot (`shape_head`).
pub(crate) const HEAD_BYTES: usize = 32;

/// The shape (`digit_shape`) of `b`'s first `HEAD_BYTES` bytes a word at a time, each word
/// padded with zeros past them or past `b`'s end (the words past the end stay zero); and
/// `h` carried through a multiply-xor chain over those words. The memos pick a slot by the
/// chain's top bits, where every input bit reaches, and compare the words with a
/// remembered text's.
#[inline(always)]
pub(crate) fn shape_head(b: &[u8], mut h: u64) -> ([u64; HEAD_BYTES / 8], u64) {
    let n = b.len().min(HEAD_BYTES);
    let mut words = [0u64; HEAD_BYTES / 8];
    let mut i = 0;
    while i < n {
        let s = digit_shape(word_padded(b, i, n));
        words[i / 8] = s;
        h = (h ^ s).wrapping_mul(crate::hash::SLOT_MIX);
        i += 8;
    }
    (words, h)
}

/// `bytes` as text without the UTF-8 check, for text the filter lays out itself from ASCII
/// (digits, hex digits, a timestamp's punctuation): each event writes three such buffers,
/// and checking them cost about a hundred operations per event in the interpreter.
///
/// # Safety
/// Every byte of `bytes` is below 0x80.
#[inline(always)]
pub(crate) unsafe fn ascii_unchecked(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii(), "{bytes:?}");
    // SAFETY: ASCII is valid UTF-8, and the caller promises ASCII.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// `std::str::from_utf8`, eight bytes per step over text that is all ASCII (records and
/// tags nearly always are; the standard check takes four per step on a 32-bit target).
pub fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    let mut words = bytes.chunks_exact(8);
    let mut high = 0u64;
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        high |= u64::from_le_bytes(a);
    }
    for &b in words.remainder() {
        high |= u64::from(b);
    }
    if high & HIGH == 0 {
        // SAFETY: every byte is below 0x80, and ASCII is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// The eight bytes at `i` as one little-endian word, if there are eight.
pub(crate) fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let chunk = bytes.get(i..i + 8)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    Some(u64::from_le_bytes(w))
}

/// The eight bytes of `b` at `i` as one little-endian word, those at or past `end` as
/// zeros (`i < end <= b.len()`).
#[inline(always)]
pub(crate) fn word_padded(b: &[u8], i: usize, end: usize) -> u64 {
    if i + 8 <= end {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(w)
    } else {
        let mut w = [0u8; 8];
        w[..end - i].copy_from_slice(&b[i..end]);
        u64::from_le_bytes(w)
    }
}

/// The place in its word (0 to 7) of the lowest byte that `marks` marks, a word of marks
/// on the bytes' high bits only (as `below_bytes` and the tests built on it give), not 0.
/// Not `trailing_zeros() / 8`: WAMR's interpreter computes `i64.ctz` bit by bit, four
/// machine instructions per trailing zero (about 250 for a mark on the last byte). The lowest
/// mark alone, `1 << (8k + 7)`, shifted down to `1 << 8k`, times `0x0001020304050607`
/// moves that constant's byte `7 - k`, which is `k`, to the top.
#[inline(always)]
pub(crate) fn first_marked(marks: u64) -> usize {
    let lowest = marks & marks.wrapping_neg();
    ((lowest >> 7).wrapping_mul(0x0001_0203_0405_0607) >> 56) as usize
}

/// The index of the first byte at or after `from` that `hits` marks (by its high bit,
/// eight bytes per step), or `bytes.len()`. The marked byte's place in its word is its
/// lowest mark's (`first_marked`), not a byte loop over the word. The last few bytes are
/// read padded with zeros; a mark on the padding means no byte matched.
pub(crate) fn first_hit(bytes: &[u8], from: usize, hits: impl Fn(u64) -> u64) -> usize {
    let len = bytes.len();
    // Whole words first (one index and one test per step), then the rest of fewer than
    // eight bytes.
    let mut i = from;
    if len >= 8 {
        let last = len - 8;
        while i <= last {
            // SAFETY: `i <= len - 8`: the eight bytes at `i` lie within `bytes`. (The checked
            // read cost a bounds test per word in the interpreter.)
            let h = hits(u64::from_le(unsafe {
                bytes.as_ptr().add(i).cast::<u64>().read_unaligned()
            }));
            if h != 0 {
                return i + first_marked(h);
            }
            i += 8;
        }
    }
    if i >= len {
        return len;
    }
    let v = match len.checked_sub(8) {
        // The last eight bytes, shifted so that the rest starts the word: the same
        // zero-padded word, without a copy.
        Some(last) => word_at(bytes, last).unwrap_or(0) >> ((i - last) * 8),
        None => {
            let mut w = [0u8; 8];
            let rest = &bytes[i..];
            w[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(w)
        }
    };
    // Padding is zeros, all marked or none: a mark there puts the lowest at `len`.
    let h = hits(v);
    if h != 0 {
        i + first_marked(h)
    } else {
        len
    }
}

/// The index of the first ASCII byte in `bytes` at or after `from`, or `bytes.len()`.
pub(crate) fn first_ascii(bytes: &[u8], from: usize) -> usize {
    // (The zero padding of the last word is ASCII: `first_hit` then says `bytes.len()`.)
    first_hit(bytes, from, |v| !v & HIGH)
}

/// The index of the first `a` or `b` in `bytes` at or after `from`, or `bytes.len()`.
pub fn find2(bytes: &[u8], from: usize, a: u8, b: u8) -> usize {
    first_hit(bytes, from, |v| eq_bytes(v, a) | eq_bytes(v, b))
}

/// The index of the first `a` in `bytes` at or after `from`, or `bytes.len()`.
pub fn find(bytes: &[u8], from: usize, a: u8) -> usize {
    first_hit(bytes, from, |v| eq_bytes(v, a))
}

/// The index of the first ASCII digit in `bytes` at or after `from`, or `bytes.len()`.
pub fn find_digit(bytes: &[u8], from: usize) -> usize {
    first_hit(bytes, from, digit_bytes)
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

    /// The first marked byte of every word of marks that the searches make: each byte
    /// marked or not, the lowest mark's place found as `trailing_zeros() / 8` finds it.
    #[test]
    fn the_first_marked_byte_is_the_lowest_mark_s() {
        for m in 1u32..256 {
            let mut marks = 0u64;
            for k in 0..8 {
                if m & (1 << k) != 0 {
                    marks |= 0x80 << (8 * k);
                }
            }
            assert_eq!(
                first_marked(marks),
                marks.trailing_zeros() as usize / 8,
                "{marks:x}"
            );
        }
    }

    #[test]
    fn digit_shape_reads_digits_one_to_nine_as_one_and_nothing_else() {
        // Every byte value at every place of a word, with other bytes around it that sit
        // near the digits (a borrow or carry from a neighbour would show).
        for around in [0u8, b'/', b'0', b'9', b':', 0x7f, 0x80, 0xb9, 0xff] {
            for place in 0..8 {
                for c in 0..=255u8 {
                    let mut bytes = [around; 8];
                    bytes[place] = c;
                    let mut expected = bytes;
                    for e in &mut expected {
                        if matches!(*e, b'1'..=b'9') {
                            *e = b'1';
                        }
                    }
                    assert_eq!(
                        digit_shape(u64::from_le_bytes(bytes)).to_le_bytes(),
                        expected,
                        "{c:#x} at {place} among {around:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_hit_on_the_padding_of_the_last_word_is_the_end() {
        // The last word's padding (zeros) is marked by these searches: the answer is the
        // length, never past it.
        for len in 0..20 {
            let text = vec![b'x'; len];
            let high = vec![0x80u8; len];
            for from in 0..=len + 1 {
                assert_eq!(find(&text, from, 0), len, "find 0 in {len} from {from}");
                assert_eq!(first_ascii(&high, from), len, "ascii in {len} from {from}");
            }
        }
    }

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
    fn utf8_agrees_with_std_at_every_length_and_place() {
        // ASCII, a valid multi-byte char, a lone continuation byte, a cut sequence and a
        // byte that never appears in UTF-8, at every place of texts up to 24 bytes.
        let inserts: [&[u8]; 5] = [b"a", "é".as_bytes(), &[0x80], &[0xe2, 0x82], &[0xff]];
        for len in 0..24 {
            for at in 0..=len {
                for ins in inserts {
                    let mut b = vec![b'x'; len];
                    b.splice(at..at, ins.iter().copied());
                    assert_eq!(utf8(&b), std::str::from_utf8(&b), "{b:?}");
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
