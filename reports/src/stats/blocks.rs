//! Time blocks: treating the samples of one run as the time series they are.
//!
//! Samples are taken over seconds to minutes on a machine whose load changes (other
//! jobs, frequency scaling, page cache), so neighbouring samples share noise. Tests and
//! intervals that treat them as independent are overconfident: with 400 samples a 10 %
//! shift caused by a busy minute looks "certain". Splitting each run into contiguous
//! blocks and working on the blocks (block medians for the rank test, whole blocks as
//! the unit of resampling for the bootstrap — Carlstein 1986, Künsch 1989) keeps the
//! slow, shared noise inside the uncertainty where it belongs.

use super::rng::SplitMix64;
use super::summary::{median_in_place, percentile_interval};

/// Contiguous blocks of `data` (in the order taken): `blocks` of them, sizes differing by
/// at most one; fewer (single values) when there are fewer values than blocks.
pub fn split(data: &[f64], blocks: usize) -> Vec<&[f64]> {
    let n = data.len();
    let b = blocks.clamp(1, n.max(1));
    (0..b)
        .map(|i| &data[i * n / b..(i + 1) * n / b])
        .filter(|s| !s.is_empty())
        .collect()
}

/// Median of each block.
pub fn block_medians(data: &[f64], blocks: usize) -> Vec<f64> {
    split(data, blocks)
        .into_iter()
        .map(|b| median_in_place(&mut b.to_vec()))
        .collect()
}

/// Bootstrap CI of median(b) / median(a) resampling whole blocks of each side with
/// replacement (non-overlapping block bootstrap). With blocks of one value this is the
/// ordinary bootstrap of `bootstrap::ratio_of_medians_ci`.
pub fn block_ratio_of_medians_ci(a: &[f64], b: &[f64], blocks: usize, level: f64) -> [f64; 2] {
    ratio_of_medians_ci_over_blocks(&split(a, blocks), &split(b, blocks), level)
}

/// As `block_ratio_of_medians_ci`, over blocks already cut (e.g. from several runs of
/// the same configuration, each cut on its own so no block straddles two runs).
pub fn ratio_of_medians_ci_over_blocks(ba: &[&[f64]], bb: &[&[f64]], level: f64) -> [f64; 2] {
    let ba: Vec<&[f64]> = ba.iter().copied().filter(|x| !x.is_empty()).collect();
    let bb: Vec<&[f64]> = bb.iter().copied().filter(|x| !x.is_empty()).collect();
    if ba.is_empty() || bb.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    let n_a: usize = ba.iter().map(|x| x.len()).sum();
    let n_b: usize = bb.iter().map(|x| x.len()).sum();
    let seed = ba.iter().chain(bb.iter()).flat_map(|x| x.iter()).fold(
        0xB10C_u64 ^ (n_a as u64) << 32 ^ n_b as u64,
        |h, x| {
            (h ^ x.to_bits())
                .wrapping_mul(0x100_0000_01B3)
                .rotate_left(5)
        },
    );
    let mut rng = SplitMix64::new(seed);
    let max_a = ba.iter().map(|x| x.len()).max().unwrap_or(0);
    let max_b = bb.iter().map(|x| x.len()).max().unwrap_or(0);
    let mut buf_a = Vec::with_capacity(max_a * ba.len());
    let mut buf_b = Vec::with_capacity(max_b * bb.len());
    let mut ratios = Vec::with_capacity(super::bootstrap::RESAMPLES);
    for _ in 0..super::bootstrap::RESAMPLES {
        buf_a.clear();
        for _ in 0..ba.len() {
            buf_a.extend_from_slice(ba[rng.below(ba.len())]);
        }
        buf_b.clear();
        for _ in 0..bb.len() {
            buf_b.extend_from_slice(bb[rng.below(bb.len())]);
        }
        let ma = median_in_place(&mut buf_a);
        if ma != 0.0 {
            ratios.push(median_in_place(&mut buf_b) / ma);
        }
    }
    if ratios.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    percentile_interval(&mut ratios, level)
}

/// Median of each of `blocks`.
pub fn medians_of(blocks: &[&[f64]]) -> Vec<f64> {
    blocks
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| median_in_place(&mut b.to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_everything_in_order() {
        let d: Vec<f64> = (0..23).map(f64::from).collect();
        let s = split(&d, 10);
        assert_eq!(s.len(), 10);
        assert_eq!(s.iter().map(|b| b.len()).sum::<usize>(), 23);
        assert_eq!(s.concat(), d);
        assert_eq!(split(&d[..3], 10).len(), 3);
        assert!(split(&[], 10).is_empty());
    }

    #[test]
    fn drifting_runs_get_wider_intervals_than_iid() {
        // The machine's load changes every 20 samples (slow, shared noise) on top of
        // fast per-sample jitter.
        let offsets = [-12.0, 8.0, -3.0, 14.0, -9.0, 5.0, -14.0, 2.0, 11.0, -6.0];
        let series = |phase: usize| -> Vec<f64> {
            (0..200)
                .map(|i| 100.0 + offsets[(i / 20 + phase) % 10] + f64::from((i * 7 % 5) as u32))
                .collect()
        };
        let (a, b) = (series(0), series(3));
        let iid = super::super::ratio_of_medians_ci(&a, &b, 0.95);
        let blk = block_ratio_of_medians_ci(&a, &b, 10, 0.95);
        assert!(
            blk[1] - blk[0] > 1.5 * (iid[1] - iid[0]),
            "{iid:?} vs {blk:?}"
        );
        assert!(blk[0] <= 1.0 && blk[1] >= 1.0, "{blk:?}");
    }
}
