//! Percentile bootstrap confidence intervals (Efron & Tibshirani 1993, ch. 13).
//!
//! For the median of latency data, whose distributions are skewed and multi-modal, the
//! bootstrap makes no normality assumption. The PRNG is seeded from the data, so the same
//! samples always give the same interval.
//!
//! The median of each resample is selected, not sorted for (`ResampleMedian`); beyond
//! `LARGE_SAMPLE` values a resample is drawn by class counts, so the cost per resample
//! grows with sqrt(n), not n.

use super::binomial::binomial;
use super::rng::SplitMix64;
use super::summary::{median_in_place, percentile_by_rank, percentile_interval};

/// Resamples drawn; 2000 gives 95% interval end points stable to about 1% of their spread.
pub const RESAMPLES: usize = 2000;

pub(super) fn seed_of(data: &[f64]) -> u64 {
    data.iter()
        .fold(0xC0FF_EE00_u64 ^ data.len() as u64, |h, x| {
            (h ^ x.to_bits())
                .wrapping_mul(0x100_0000_01B3)
                .rotate_left(7)
        })
}

/// Percentile-bootstrap CI of `stat` over `data` at `level` (e.g. 0.95).
pub fn bootstrap_ci(data: &[f64], level: f64, stat: impl Fn(&mut [f64]) -> f64) -> [f64; 2] {
    if data.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    if data.len() == 1 {
        return [data[0], data[0]];
    }
    let mut rng = SplitMix64::new(seed_of(data));
    let mut buf = vec![0.0; data.len()];
    let mut stats = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for slot in buf.iter_mut() {
            *slot = data[rng.below(data.len())];
        }
        stats.push(stat(&mut buf));
    }
    percentile_interval(&mut stats, level)
}

/// Bootstrap CI of the median: `bootstrap_ci(data, level, median)`, without sorting
/// each resample (`ResampleMedian`); the same interval, bit for bit.
pub fn median_ci(data: &[f64], level: f64) -> [f64; 2] {
    if data.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    if data.len() == 1 {
        return [data[0], data[0]];
    }
    let mut rng = SplitMix64::new(seed_of(data));
    let mut sampler = ResampleMedian::new(data);
    let mut stats = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        stats.push(sampler.draw(&mut rng));
    }
    percentile_interval(&mut stats, level)
}

/// Bootstrap CI of median(b) / median(a), resampling both independently.
pub fn ratio_of_medians_ci(a: &[f64], b: &[f64], level: f64) -> [f64; 2] {
    if a.is_empty() || b.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    let mut rng = SplitMix64::new(seed_of(a) ^ seed_of(b).rotate_left(17));
    let (mut sa, mut sb) = (ResampleMedian::new(a), ResampleMedian::new(b));
    let mut ratios = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        // Both sides are drawn whatever `ma` is: the draws of later resamples must not move.
        let ma = sa.draw(&mut rng);
        let mb = sb.draw(&mut rng);
        if ma != 0.0 {
            ratios.push(mb / ma);
        }
    }
    if ratios.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    percentile_interval(&mut ratios, level)
}

/// Above this many values a resample is drawn by class counts (`Draws::Counts`): the same
/// bootstrap distribution from about 8·sqrt(n) random numbers instead of n, so a report
/// of a measurement with a million samples takes a fraction of a second instead of
/// minutes. Up to it, the draws are those of filling and sorting a buffer, and every
/// interval is bit for bit what it always was.
pub const LARGE_SAMPLE: usize = 50_000;

/// The median of bootstrap resamples of `data` (n draws with replacement), without
/// sorting the n drawn values. The median of a resample lies, but for a chance below
/// 1e-14, among the values of `data` ranked within `4·sqrt(n) + 16` of its median (the
/// rank of the resample median spreads like a binomial count, sd sqrt(n)/2); so draws
/// are only classed as below, inside or above that window of values, the drawn values
/// inside it are kept, and the median is selected among them (`f64::total_cmp` order,
/// in which equal values have equal bits, so it is the order statistic that sorting the
/// resample gives). Should it fall outside, the whole resample is made and sorted.
pub(super) struct ResampleMedian<'a> {
    data: &'a [f64],
    draws: Draws,
    inside: Vec<f64>,
    whole: Vec<f64>,
}

/// How the n draws of a resample are made.
enum Draws {
    /// One index per value, classed by `class` (below the window 0, in it 1, above 2):
    /// the random numbers of filling a buffer, so the same resamples as sorting it.
    Each { class: Vec<u8> },
    /// For more than `LARGE_SAMPLE` values: how many of the n draws fall below and above
    /// the window are binomial variates (`binomial::binomial`), and only the draws inside
    /// it are made one by one, uniform over its values. The counts of a multinomial
    /// draw, then which value within each class: the same distribution of resamples as
    /// drawing n indices, from other random numbers.
    Counts {
        below: Vec<f64>,
        /// Sorted.
        window: Vec<f64>,
        /// Per value of `window`: how often the current resample drew it.
        hits: Vec<u32>,
        above: Vec<f64>,
    },
}

impl<'a> ResampleMedian<'a> {
    pub(super) fn new(data: &'a [f64]) -> Self {
        Self::drawn_by_counts_above(data, LARGE_SAMPLE)
    }

    /// `new` with another threshold than `LARGE_SAMPLE` (tests compare both ways).
    fn drawn_by_counts_above(data: &'a [f64], large: usize) -> Self {
        let n = data.len();
        let half = 4 * (n as f64).sqrt() as usize + 16;
        // The window's end values by selection: the ranks n/2 ± half of `data`.
        let mut scratch = data.to_vec();
        let top = (n / 2 + half).min(n - 1);
        let (below_top, hi, _) = scratch.select_nth_unstable_by(top, f64::total_cmp);
        let hi = *hi;
        let lo = match (n / 2).checked_sub(half) {
            // bottom < n/2 <= top: the bottom-th value is among those before `top`.
            Some(bottom) => *below_top.select_nth_unstable_by(bottom, f64::total_cmp).1,
            None => below_top
                .iter()
                .copied()
                .chain([hi])
                .min_by(f64::total_cmp)
                .unwrap_or(hi),
        };
        drop(scratch);
        let class_of = |x: &f64| -> u8 {
            if x.total_cmp(&lo).is_lt() {
                0
            } else if x.total_cmp(&hi).is_gt() {
                2
            } else {
                1
            }
        };
        let draws = if n > large {
            let (mut below, mut window, mut above) = (Vec::new(), Vec::new(), Vec::new());
            for x in data {
                match class_of(x) {
                    0 => below.push(*x),
                    1 => window.push(*x),
                    _ => above.push(*x),
                }
            }
            window.sort_unstable_by(f64::total_cmp);
            Draws::Counts {
                below,
                hits: vec![0; window.len()],
                window,
                above,
            }
        } else {
            Draws::Each {
                class: data.iter().map(class_of).collect(),
            }
        };
        ResampleMedian {
            data,
            draws,
            inside: Vec::new(),
            whole: Vec::new(),
        }
    }

    /// Draw one resample from `rng` and return its median.
    pub(super) fn draw(&mut self, rng: &mut SplitMix64) -> f64 {
        let n = self.data.len();
        self.inside.clear();
        match &mut self.draws {
            Draws::Each { class } => {
                let replay = rng.clone();
                let mut below = 0usize;
                for _ in 0..n {
                    let i = rng.below(n);
                    let c = class[i];
                    if c == 1 {
                        self.inside.push(self.data[i]);
                    } else {
                        below += usize::from(c == 0);
                    }
                }
                if let Some(m) = median_from_inside(&mut self.inside, n, below) {
                    return m;
                }
                // Outside the window: the same draws again, into one buffer, sorted.
                let mut rng = replay;
                self.whole.clear();
                self.whole.extend((0..n).map(|_| self.data[rng.below(n)]));
            }
            Draws::Counts {
                below,
                window,
                hits,
                above,
            } => {
                let n_below = binomial(rng, n as u64, below.len() as f64 / n as f64) as usize;
                let rest = n - n_below;
                let p_above = above.len() as f64 / (window.len() + above.len()) as f64;
                let n_above = binomial(rng, rest as u64, p_above) as usize;
                // The window is sorted: the k-th drawn value is that of the k-th drawn
                // position, so counting hits per position is enough.
                hits.fill(0);
                for _ in 0..rest - n_above {
                    hits[rng.below(window.len())] += 1;
                }
                let pos = 0.5 * (n - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                if lo >= n_below && hi < n_below + rest - n_above {
                    let (mut seen, mut at_lo) = (n_below, None);
                    for (x, &h) in window.iter().zip(hits.iter()) {
                        seen += h as usize;
                        if at_lo.is_none() && seen > lo {
                            at_lo = Some(*x);
                        }
                        if seen > hi {
                            let at_lo = at_lo.unwrap_or(*x);
                            return percentile_by_rank(
                                n,
                                0.5,
                                |k| if k == lo { at_lo } else { *x },
                            );
                        }
                    }
                }
                // Outside the window: which values below and above it were drawn too.
                self.whole.clear();
                for (x, &h) in window.iter().zip(hits.iter()) {
                    self.whole.extend(std::iter::repeat_n(*x, h as usize));
                }
                for (count, values) in [(n_below, &*below), (n_above, &*above)] {
                    self.whole
                        .extend((0..count).map(|_| values[rng.below(values.len())]));
                }
            }
        }
        median_in_place(&mut self.whole)
    }
}

/// The median of a resample of `n` values of which `below` lie under the window and
/// `inside` holds those in it, when both ranks the median needs fall in the window.
fn median_from_inside(inside: &mut [f64], n: usize, below: usize) -> Option<f64> {
    // The ranks `percentile_sorted(_, 0.5)` takes.
    let pos = 0.5 * (n - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    if lo < below || hi >= below + inside.len() {
        return None;
    }
    let (_, at, rest) = inside.select_nth_unstable_by(lo - below, f64::total_cmp);
    let at_lo = *at;
    // After selection every value behind `at` is at or above it.
    let at_hi = if hi == lo {
        at_lo
    } else {
        rest.iter().copied().min_by(f64::total_cmp).unwrap_or(at_lo)
    };
    Some(percentile_by_rank(n, 0.5, |k| {
        if k == lo {
            at_lo
        } else {
            at_hi
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ratio_of_medians_ci` before `ResampleMedian`: fill, sort, per resample.
    fn reference_ratio(a: &[f64], b: &[f64], level: f64) -> [f64; 2] {
        let mut rng = SplitMix64::new(seed_of(a) ^ seed_of(b).rotate_left(17));
        let mut ba = vec![0.0; a.len()];
        let mut bb = vec![0.0; b.len()];
        let mut ratios = Vec::with_capacity(RESAMPLES);
        for _ in 0..RESAMPLES {
            for slot in ba.iter_mut() {
                *slot = a[rng.below(a.len())];
            }
            for slot in bb.iter_mut() {
                *slot = b[rng.below(b.len())];
            }
            let ma = median_in_place(&mut ba);
            if ma != 0.0 {
                ratios.push(median_in_place(&mut bb) / ma);
            }
        }
        if ratios.is_empty() {
            return [f64::NAN, f64::NAN];
        }
        percentile_interval(&mut ratios, level)
    }

    #[test]
    fn windowed_medians_give_the_bits_of_sorting_every_resample() {
        let mut rng = SplitMix64::new(11);
        for case in 0..40 {
            let len = [1, 2, 3, 50, 333, 4000, 20_001][case % 7];
            let distinct = [1, 3, 50, 1 << 40][case % 4];
            let mut draw = |n: usize| -> Vec<f64> {
                (0..n)
                    .map(|_| match rng.next_u64() % distinct {
                        0 => -0.0,
                        v => v as f64 * if case % 3 == 0 { -0.25 } else { 1.0 },
                    })
                    .collect()
            };
            let (a, b) = (draw(len), draw(len / 2 + 1));
            let bits = |ci: [f64; 2]| ci.map(f64::to_bits);
            assert_eq!(
                bits(median_ci(&a, 0.95)),
                bits(bootstrap_ci(&a, 0.95, median_in_place)),
                "median, case {case}"
            );
            assert_eq!(
                bits(ratio_of_medians_ci(&a, &b, 0.9)),
                bits(reference_ratio(&a, &b, 0.9)),
                "ratio, case {case}"
            );
        }
    }

    /// The interval from 2000 resamples drawn one way or the other, and the number of
    /// random numbers one resample took on average.
    fn ci_drawn(data: &[f64], by_counts: bool) -> ([f64; 2], u64) {
        let large = if by_counts { 0 } else { usize::MAX };
        let mut s = ResampleMedian::drawn_by_counts_above(data, large);
        let mut rng = SplitMix64::new(seed_of(data));
        let start = rng.clone();
        let mut stats: Vec<f64> = (0..RESAMPLES).map(|_| s.draw(&mut rng)).collect();
        let per = rng.draws_since(&start) / RESAMPLES as u64;
        (percentile_interval(&mut stats, 0.95), per)
    }

    #[test]
    fn large_samples_draw_by_counts_with_the_same_distribution() {
        let mut rng = SplitMix64::new(21);
        // A skewed continuous sample, integral ns with many ties, and a bimodal one.
        let skewed: Vec<f64> = (0..100_000)
            .map(|_| 1e6 * (0.3 * (rng.uniform() + rng.uniform() - 1.0)).exp())
            .collect();
        let tied: Vec<f64> = skewed.iter().map(|x| (x / 1e4).round()).collect();
        let bimodal: Vec<f64> = (0..60_001)
            .map(|i| if i % 3 == 0 { 30e3 } else { 12e3 } + (rng.next_u64() % 4000) as f64)
            .collect();
        for (name, data) in [("skewed", &skewed), ("tied", &tied), ("bimodal", &bimodal)] {
            let (each, per_each) = ci_drawn(data, false);
            let (counts, per_counts) = ci_drawn(data, true);
            assert_eq!(per_each, data.len() as u64, "{name}: one draw per value");
            // Two binomials (~sqrt(n) steps but one random number each) and the draws
            // inside the window: 8·sqrt(n) + 33 values, more where ties at its ends
            // widen it.
            let Draws::Counts { window, .. } = ResampleMedian::drawn_by_counts_above(data, 0).draws
            else {
                panic!("{name}: not drawn by counts");
            };
            let tight = 8 * (data.len() as f64).sqrt() as usize + 33;
            assert!(window.len() >= tight && (name == "tied" || window.len() < 2 * tight));
            let bound = window.len() as u64 * 11 / 10 + 100;
            assert!(
                per_counts < bound,
                "{name}: {per_counts} random numbers per resample"
            );
            // The same bootstrap distribution: the end points agree within Monte Carlo
            // error (about 1.5 % of the width each at 2000 resamples; 15 % allowed). With
            // ties both may land on the same values.
            let width = (each[1] - each[0]).max(f64::MIN_POSITIVE);
            for (a, b) in each.iter().zip(&counts) {
                assert!(
                    (a - b).abs() <= 0.15 * width,
                    "{name}: {each:?} vs {counts:?}"
                );
            }
        }
        // And `median_ci` takes that way above `LARGE_SAMPLE`.
        let (counts, _) = ci_drawn(&skewed, true);
        assert_eq!(median_ci(&skewed, 0.95), counts);
    }

    #[test]
    fn a_median_outside_the_window_is_found_by_sorting() {
        // Force the fallback: a window of nothing but the median itself.
        let data: Vec<f64> = (0..1000).map(f64::from).collect();
        let mut s = ResampleMedian::new(&data);
        s.draws = Draws::Each {
            class: data
                .iter()
                .map(|&x| match x {
                    x if x < 499.0 => 0,
                    x if x > 500.0 => 2,
                    _ => 1,
                })
                .collect(),
        };
        let (mut r1, mut r2) = (SplitMix64::new(3), SplitMix64::new(3));
        for _ in 0..50 {
            let mut whole: Vec<f64> = (0..1000).map(|_| data[r2.below(1000)]).collect();
            assert_eq!(s.draw(&mut r1), median_in_place(&mut whole));
        }
        assert_eq!(r1.next_u64(), r2.next_u64(), "the same draws were consumed");
    }

    #[test]
    fn median_ci_covers_and_shrinks() {
        let small: Vec<f64> = (0..20).map(|i| 100.0 + f64::from(i % 7)).collect();
        let large: Vec<f64> = (0..2000).map(|i| 100.0 + f64::from(i % 7)).collect();
        let cs = median_ci(&small, 0.95);
        let cl = median_ci(&large, 0.95);
        assert!(cs[0] <= 103.0 && cs[1] >= 103.0);
        assert!(cl[1] - cl[0] <= cs[1] - cs[0]);
        assert_eq!(median_ci(&small, 0.95), cs, "deterministic");
    }

    #[test]
    fn ratio_ci_brackets_true_ratio() {
        let a: Vec<f64> = (0..200).map(|i| 1000.0 + f64::from(i % 50)).collect();
        let b: Vec<f64> = a.iter().map(|x| x * 2.0).collect();
        let ci = ratio_of_medians_ci(&a, &b, 0.95);
        assert!(ci[0] <= 2.0 && ci[1] >= 2.0, "{ci:?}");
    }
}
