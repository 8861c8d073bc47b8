//! Permutation test on the difference of medians, as Firecracker's A/B tooling does
//! (`tools/ab_test.py`: pool both samples, reshuffle, recompute the statistic).
//!
//! Exact in the limit of many permutations and free of distributional assumptions, which
//! makes it the right test for small samples (fewer than ~10 values a side) where the
//! normal approximation of Mann-Whitney is poor. The shuffles are seeded from the data, so
//! the same inputs always give the same p-value.

use super::rng::SplitMix64;
use super::summary::median_in_place;

/// Default number of random permutations.
pub const PERMUTATIONS: usize = 10_000;

/// Two-sided p-value of |median(b) - median(a)| under random relabelling of the pooled
/// values, with the +1 correction of Phipson & Smyth (2010) so it is never 0. `None` when
/// either side has no finite value.
pub fn median_difference_p(a: &[f64], b: &[f64], permutations: usize) -> Option<f64> {
    let a: Vec<f64> = a.iter().copied().filter(|x| x.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let observed = (median_in_place(&mut b.clone()) - median_in_place(&mut a.clone())).abs();
    let mut pool: Vec<f64> = a.iter().chain(b.iter()).copied().collect();
    let seed = pool.iter().fold(0x005E_ED0F_u64, |h, x| {
        (h ^ x.to_bits()).wrapping_mul(0x100_0000_01B3)
    });
    let mut rng = SplitMix64::new(seed);
    let mut buf_a = vec![0.0; a.len()];
    let mut buf_b = vec![0.0; b.len()];
    // A relative tolerance so floating-point noise in equal differences counts as "as
    // extreme".
    let tol = observed.abs() * 1e-12;
    let mut extreme = 0usize;
    for _ in 0..permutations {
        rng.shuffle(&mut pool);
        buf_a.copy_from_slice(&pool[..a.len()]);
        buf_b.copy_from_slice(&pool[a.len()..]);
        let d = (median_in_place(&mut buf_b) - median_in_place(&mut buf_a)).abs();
        if d + tol >= observed {
            extreme += 1;
        }
    }
    Some((extreme + 1) as f64 / (permutations + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_samples_have_small_p() {
        let a = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0];
        let b = [30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0];
        let p = median_difference_p(&a, &b, PERMUTATIONS).expect("p");
        assert!(p < 0.01, "{p}");
    }

    #[test]
    fn same_distribution_has_large_p() {
        let a = [10.0, 14.0, 12.0, 11.0, 15.0, 13.0];
        let b = [12.5, 11.5, 14.5, 10.5, 13.5, 12.0];
        let p = median_difference_p(&a, &b, PERMUTATIONS).expect("p");
        assert!(p > 0.3, "{p}");
        assert_eq!(median_difference_p(&a, &b, PERMUTATIONS), Some(p));
    }
}
