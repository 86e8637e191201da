//! Stable, dependency-free hashing for fingerprints and event ids. The values are part of
//! the event contract (the same input must hash the same on every node and every version),
//! so the algorithm is fixed here rather than borrowed from `std`'s randomized hashers.

/// FNV-1a, 64 bit, with a caller-chosen offset basis so two independent hashes can be
/// taken of the same bytes (for 128-bit event ids).
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for Fnv64 {
    fn default() -> Self {
        Self(FNV_OFFSET)
    }
}

impl Fnv64 {
    pub fn with_seed(seed: u64) -> Self {
        Self(FNV_OFFSET ^ seed.wrapping_mul(FNV_PRIME))
    }

    pub fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        // Eight bytes per loop step: the multiplications stay one per byte, but the loop's
        // own compare and branch are paid once per eight.
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            for &b in chunk {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
        }
        for &b in chunks.remainder() {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        self.0 = h;
    }

    /// Writes a field followed by a separator byte that cannot occur in UTF-8 text, so
    /// ("ab","c") and ("a","bc") hash differently.
    pub fn write_field(&mut self, s: &str) {
        self.write(s.as_bytes());
        self.write(&[0xff]);
    }

    /// The hash, with a final avalanche so that short inputs still spread over all bits.
    pub fn finish(&self) -> u64 {
        avalanche(self.0)
    }
}

impl std::hash::Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        Fnv64::finish(self)
    }

    fn write(&mut self, bytes: &[u8]) {
        Fnv64::write(self, bytes);
    }
}

/// A fixed-key `BuildHasher` for the filter's maps: deterministic, and it keeps the module
/// from importing WASI `random_get` just to seed `std`'s `RandomState`. Word-at-a-time,
/// because every record hashes its tag to find its stream.
pub type FixedState = std::hash::BuildHasherDefault<WordHash>;

/// A 128-bit hash that reads 8 bytes per step: event ids hash the whole event text, and in
/// Fluent Bit's interpreter each step costs about as much as one byte of a byte-at-a-time
/// hash. Two lanes with different multipliers and rotations, each finished with an
/// avalanche and cross-mixed, give the two 64-bit halves.
#[derive(Clone, Copy, Debug)]
pub struct WordHash {
    a: u64,
    b: u64,
}

const LANE_A: u64 = 0x9e37_79b9_7f4a_7c15;
const LANE_B: u64 = 0xc2b2_ae3d_27d4_eb4f;

impl Default for WordHash {
    fn default() -> Self {
        Self::with_seed(0)
    }
}

impl WordHash {
    pub fn with_seed(seed: u64) -> Self {
        Self {
            a: FNV_OFFSET ^ seed.wrapping_mul(LANE_A),
            b: FNV_PRIME ^ seed.wrapping_mul(LANE_B),
        }
    }

    fn word(&mut self, w: u64) {
        self.a = (self.a ^ w).wrapping_mul(LANE_A).rotate_left(29);
        self.b = (self.b ^ w.rotate_left(32))
            .wrapping_mul(LANE_B)
            .rotate_left(23);
    }

    /// Hashes `bytes` and their length, so consecutive writes cannot shift bytes from one
    /// into the other and still hash the same.
    pub fn write_field(&mut self, bytes: &[u8]) {
        // Two words per step (the same words in the same order as one per step): in the
        // interpreter the loop's own test and jump cost about a third of a word's mixing.
        let mut pairs = bytes.chunks_exact(16);
        for c in &mut pairs {
            let (mut w, mut v) = ([0u8; 8], [0u8; 8]);
            w.copy_from_slice(&c[..8]);
            v.copy_from_slice(&c[8..]);
            self.word(u64::from_le_bytes(w));
            self.word(u64::from_le_bytes(v));
        }
        let mut rest = pairs.remainder();
        if rest.len() >= 8 {
            let mut w = [0u8; 8];
            w.copy_from_slice(&rest[..8]);
            self.word(u64::from_le_bytes(w));
            rest = &rest[8..];
        }
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(w));
        self.word(bytes.len() as u64);
    }

    pub fn write_u64(&mut self, v: u64) {
        self.word(v);
    }

    /// The two 64-bit halves.
    pub fn finish128(&self) -> (u64, u64) {
        let a = avalanche(self.a ^ self.b.rotate_left(17));
        let b = avalanche(self.b ^ a);
        (a, b)
    }
}

impl std::hash::Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.finish128().0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.write_field(bytes);
    }
}

/// splitmix64: a tiny repeatable generator for generated inputs and random test runs (and
/// the host's WASI `random_get`, which must repeat exactly). Not for anything that must be
/// unpredictable.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(LANE_A);
        avalanche(self.0)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

fn avalanche(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Two lowercase hex digits for each byte value, in the order they are written.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let digits = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [digits[i >> 4], digits[i & 15]];
        i += 1;
    }
    t
};

/// An odd constant with well-spread bits (the golden ratio's): one multiply mixes a word's
/// bits into the high half of the product. The memos pick their slots with it.
pub(crate) const SLOT_MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// Writes `v` as 16 lowercase hex digits into `buf`: a table lookup per byte.
fn hex_into(buf: &mut [u8; 16], v: u64) {
    for (i, pair) in buf.chunks_exact_mut(2).enumerate() {
        pair.copy_from_slice(&HEX_PAIRS[usize::from((v >> (56 - 8 * i)) as u8)]);
    }
}

/// Appends `v` as 16 lowercase hex digits.
#[inline(always)]
pub fn push_hex64(out: &mut String, v: u64) {
    // One append rather than sixteen `String::push`es (each a capacity check and a UTF-8
    // encode).
    let mut buf = [0u8; 16];
    hex_into(&mut buf, v);
    // SAFETY: `hex_into` writes `HEX_PAIRS`' bytes only, all ASCII.
    out.push_str(unsafe { crate::bytes::ascii_unchecked(&buf) });
}

/// Appends `head`, each of `words` as 16 lowercase hex digits, then `tail`, in one append
/// (an event id or a fingerprint with the text around it): in the interpreter each append
/// is a call and a capacity check. `N` is the whole length.
#[inline(always)]
pub fn push_hex_between<const N: usize>(out: &mut String, head: &str, words: &[u64], tail: &str) {
    assert_eq!(head.len() + 16 * words.len() + tail.len(), N);
    let mut buf = [0u8; N];
    let (h, rest) = buf.split_at_mut(head.len());
    h.copy_from_slice(head.as_bytes());
    let (hex, t) = rest.split_at_mut(16 * words.len());
    for (digits, &w) in hex.chunks_exact_mut(16).zip(words) {
        hex_into(digits.try_into().expect("16 bytes"), w);
    }
    t.copy_from_slice(tail.as_bytes());
    // SAFETY: `head` and `tail` are UTF-8 and the digits ASCII: joined, they are UTF-8.
    out.push_str(unsafe { std::str::from_utf8_unchecked(&buf) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_change_the_hash() {
        let mut a = Fnv64::default();
        a.write_field("ab");
        a.write_field("c");
        let mut b = Fnv64::default();
        b.write_field("a");
        b.write_field("bc");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn fnv_is_fnv1a_at_every_length() {
        // Published FNV-1a 64 test vectors.
        let mut a = Fnv64::default();
        a.write(b"a");
        assert_eq!(a.0, 0xaf63_dc4c_8601_ec8c);
        let mut foobar = Fnv64::default();
        foobar.write(b"foobar");
        assert_eq!(foobar.0, 0x8594_4171_f739_67e8);
        // Every length, so each split between whole words and the rest is covered.
        let text = b"GET /api/v1/orders/12345 HTTP/1.1 200 in 35 ms";
        for len in 0..=text.len() {
            let mut h = Fnv64::default();
            h.write(&text[..len]);
            let mut one_by_one = Fnv64::default();
            for b in &text[..len] {
                one_by_one.write(std::slice::from_ref(b));
            }
            assert_eq!(h.0, one_by_one.0, "length {len}");
        }
    }

    #[test]
    fn seeds_give_independent_hashes() {
        let mut a = Fnv64::with_seed(1);
        let mut b = Fnv64::with_seed(2);
        a.write(b"same");
        b.write(b"same");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn word_hash_depends_on_every_byte_and_on_field_boundaries() {
        let text = b"2026-11-20 10:00:01 ERROR charge failed\n\tat a.B.c(B.java:1)";
        let mut base = WordHash::with_seed(7);
        base.write_field(text);
        let base = base.finish128();
        for i in 0..text.len() {
            let mut changed = text.to_vec();
            changed[i] ^= 1;
            let mut h = WordHash::with_seed(7);
            h.write_field(&changed);
            assert_ne!(h.finish128(), base, "byte {i} ignored");
        }
        let mut a = WordHash::default();
        a.write_field(b"ab");
        a.write_field(b"c");
        let mut b = WordHash::default();
        b.write_field(b"a");
        b.write_field(b"bc");
        assert_ne!(a.finish128(), b.finish128());
        let mut z = WordHash::default();
        z.write_field(b"a\0");
        let mut y = WordHash::default();
        y.write_field(b"a");
        assert_ne!(z.finish128(), y.finish128());
    }

    /// Event ids must not change with how the words are stepped through: the field's
    /// eight-byte words in order, the last padded with zeros (an empty one when the length
    /// is a multiple of eight), then the length.
    #[test]
    fn a_field_is_its_words_in_order_then_its_length() {
        let text: Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for n in 0..=text.len() {
            let bytes = &text[..n];
            let mut want = WordHash::with_seed(9);
            let mut at = 0;
            loop {
                let mut w = [0u8; 8];
                let take = (n - at).min(8);
                w[..take].copy_from_slice(&bytes[at..at + take]);
                want.word(u64::from_le_bytes(w));
                at += take;
                if take < 8 {
                    break;
                }
            }
            want.word(n as u64);
            let mut got = WordHash::with_seed(9);
            got.write_field(bytes);
            assert_eq!(got.finish128(), want.finish128(), "{n} bytes");
        }
    }

    #[test]
    fn word_hash_is_deterministic() {
        let mut a = WordHash::with_seed(3);
        let mut b = WordHash::with_seed(3);
        a.write_field(b"same text, longer than one word");
        b.write_field(b"same text, longer than one word");
        assert_eq!(a.finish128(), b.finish128());
    }

    #[test]
    fn hex_is_sixteen_lowercase_digits() {
        let mut s = String::new();
        push_hex64(&mut s, 0x00ab_cdef_0123_4567);
        assert_eq!(s, "00abcdef01234567");
        for v in [
            0,
            u64::MAX,
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
            0x9a9a_0a0a_f0f0_0001,
        ] {
            let mut s = String::from("id=");
            push_hex64(&mut s, v);
            assert_eq!(s, format!("id={v:016x}"));
            let mut s = String::from("id=");
            push_hex_between::<{ 4 + 32 + 3 }>(&mut s, "é:\"", &[v, !v], "\"ü");
            assert_eq!(s, format!("id=é:\"{v:016x}{:016x}\"ü", !v));
        }
    }
}
