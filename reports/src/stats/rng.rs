//! SplitMix64: a tiny, fast, seedable PRNG (Steele, Lea, Flood 2014), enough for bootstrap
//! resampling and for shuffling the order of cases. Seeded, so a report made twice from the
//! same file shows the same intervals.

#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), by Lemire's multiply-shift (bias < 2^-32 for our n).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in [0, 1), 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// How many numbers were drawn since `earlier`, a copy of this generator: the state
    /// advances by the odd constant with each, so the count is the difference times its
    /// inverse modulo 2^64.
    #[cfg(test)]
    pub(crate) fn draws_since(&self, earlier: &SplitMix64) -> u64 {
        const STEP: u64 = 0x9E37_79B9_7F4A_7C15;
        // Newton's iteration for the inverse of an odd number modulo 2^64.
        let mut inv = STEP;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(STEP.wrapping_mul(inv)));
        }
        self.0.wrapping_sub(earlier.0).wrapping_mul(inv)
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}
