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
        for &b in bytes {
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
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
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
/// from importing WASI `random_get` just to seed `std`'s `RandomState`.
pub type FixedState = std::hash::BuildHasherDefault<Fnv64>;

/// Appends `v` as 16 lowercase hex digits.
pub fn push_hex64(out: &mut String, v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..16).rev() {
        out.push(HEX[((v >> (i * 4)) & 0xf) as usize] as char);
    }
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
    fn seeds_give_independent_hashes() {
        let mut a = Fnv64::with_seed(1);
        let mut b = Fnv64::with_seed(2);
        a.write(b"same");
        b.write(b"same");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn hex_is_sixteen_lowercase_digits() {
        let mut s = String::new();
        push_hex64(&mut s, 0x00ab_cdef_0123_4567);
        assert_eq!(s, "00abcdef01234567");
    }
}
