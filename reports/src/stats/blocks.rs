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
use super::summary::{median_in_place, percentile_by_rank, percentile_interval};

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
    let (sa, sb) = (SortedBlocks::new(&ba), SortedBlocks::new(&bb));
    let mut counts_a = vec![0u32; ba.len()];
    let mut counts_b = vec![0u32; bb.len()];
    let mut ratios = Vec::with_capacity(super::bootstrap::RESAMPLES);
    for _ in 0..super::bootstrap::RESAMPLES {
        // The same draws in the same order as concatenating the drawn blocks would use.
        counts_a.fill(0);
        for _ in 0..ba.len() {
            counts_a[rng.below(ba.len())] += 1;
        }
        counts_b.fill(0);
        for _ in 0..bb.len() {
            counts_b[rng.below(bb.len())] += 1;
        }
        let ma = sa.median(&counts_a);
        if ma != 0.0 {
            ratios.push(sb.median(&counts_b) / ma);
        }
    }
    if ratios.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    percentile_interval(&mut ratios, level)
}

/// The blocks of one side, sorted together once, so that the median of a resample —
/// whole blocks drawn with replacement, block j `counts[j]` times — is found by counting
/// instead of concatenating and sorting thousands of values 2000 times. It is the same
/// order statistic of the same multiset (`f64::total_cmp` order, in which equal values
/// have equal bits), so the interval is bit for bit that of sorting each resample.
///
/// Counting: walking the sorted values and adding the count of each value's block, the
/// k-th smallest of the resample is the value at which the running total first exceeds
/// k. Checkpoints every `stride` values hold how many values of each block lie before
/// them, so the walk starts at the last checkpoint whose total (a dot product with the
/// counts) is still at most k, found by binary search, and ends within `stride` values.
struct SortedBlocks {
    /// Every value of every block, sorted.
    all: Vec<f64>,
    /// The block each value of `all` came from.
    owner: Vec<u32>,
    /// Length of each block.
    lens: Vec<usize>,
    stride: usize,
    /// `before[c * blocks + j]`: values of block j among `all[..c * stride]`.
    before: Vec<u32>,
}

impl SortedBlocks {
    fn new(blocks: &[&[f64]]) -> SortedBlocks {
        let mut tagged: Vec<(f64, u32)> = blocks
            .iter()
            .zip(0u32..)
            .flat_map(|(b, j)| b.iter().map(move |&x| (x, j)))
            .collect();
        tagged.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
        let nb = blocks.len();
        // As many checkpoint entries as values: a walk of about `nb` values after a
        // search whose every step costs `nb` multiply-adds.
        let stride = nb.max(16);
        let mut before = Vec::with_capacity((tagged.len() / stride + 1) * nb);
        let mut running = vec![0u32; nb];
        for (i, t) in tagged.iter().enumerate() {
            if i % stride == 0 {
                before.extend_from_slice(&running);
            }
            running[t.1 as usize] += 1;
        }
        SortedBlocks {
            all: tagged.iter().map(|t| t.0).collect(),
            owner: tagged.iter().map(|t| t.1).collect(),
            lens: blocks.iter().map(|b| b.len()).collect(),
            stride,
            before,
        }
    }

    /// The median of the resample holding block j `counts[j]` times, as
    /// `median_in_place` of their concatenation computes it.
    fn median(&self, counts: &[u32]) -> f64 {
        let n: usize = self
            .lens
            .iter()
            .zip(counts)
            .map(|(len, &c)| len * c as usize)
            .sum();
        let pos = 0.5 * n.saturating_sub(1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        let (at_lo, at_hi) = self.kth_pair(counts, lo, hi);
        percentile_by_rank(n, 0.5, |k| if k == lo { at_lo } else { at_hi })
    }

    /// The lo-th and hi-th smallest (0-based, lo <= hi) values of the resample.
    fn kth_pair(&self, counts: &[u32], lo: usize, hi: usize) -> (f64, f64) {
        let nb = self.lens.len();
        let total_before = |c: usize| -> usize {
            self.before[c * nb..(c + 1) * nb]
                .iter()
                .zip(counts)
                .map(|(&b, &n)| b as usize * n as usize)
                .sum()
        };
        // The last checkpoint with at most `lo` resampled values before it (checkpoint 0
        // has none).
        let (mut first, mut last) = (0, self.before.len() / nb - 1);
        while first < last {
            let mid = first + (last - first).div_ceil(2);
            if total_before(mid) <= lo {
                first = mid;
            } else {
                last = mid - 1;
            }
        }
        let mut seen = total_before(first);
        let mut at_lo = None;
        for (x, &j) in self.all[first * self.stride..]
            .iter()
            .zip(&self.owner[first * self.stride..])
        {
            seen += counts[j as usize] as usize;
            if at_lo.is_none() && seen > lo {
                at_lo = Some(*x);
            }
            if seen > hi {
                return (at_lo.unwrap_or(*x), *x);
            }
        }
        (f64::NAN, f64::NAN)
    }
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

    /// The implementation before `SortedBlocks`: concatenate the drawn blocks, sort.
    fn reference(ba: &[&[f64]], bb: &[&[f64]], level: f64) -> [f64; 2] {
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
        let (mut buf_a, mut buf_b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..super::super::bootstrap::RESAMPLES {
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

    #[test]
    fn counting_gives_the_bits_of_sorting_every_resample() {
        let mut rng = SplitMix64::new(7);
        for case in 0..60 {
            // Sizes from one value to thousands, few distinct values (ties), signed
            // zeros, zero medians, uneven blocks, one block to one value per block.
            let len = [1, 2, 5, 19, 60, 200, 3001][case % 7];
            let distinct = [2, 7, 1000, u64::MAX][case % 4];
            let mut draw = |n: usize| -> Vec<f64> {
                (0..n)
                    .map(|_| match rng.next_u64() % distinct.min(1 << 40) {
                        0 => -0.0,
                        1 if case % 5 == 0 => 0.0,
                        v => (v % 977) as f64 * if case % 3 == 0 { -1.5 } else { 1.0 },
                    })
                    .collect()
            };
            let (a, b) = (draw(len), draw(len + case % 4));
            let blocks = [1, 3, 10, 10_000][case % 4];
            let (sa, sb) = (split(&a, blocks), split(&b, blocks + case % 2));
            let (want, got) = (
                reference(&sa, &sb, 0.95),
                ratio_of_medians_ci_over_blocks(&sa, &sb, 0.95),
            );
            assert_eq!(
                want.map(f64::to_bits),
                got.map(f64::to_bits),
                "case {case}: {want:?} vs {got:?}"
            );
        }
    }

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
