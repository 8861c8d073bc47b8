//! Order statistics and moments of one sample.

use crate::model::Summary;

/// Percentile `q` in [0, 1] of sorted data, linear interpolation between closest ranks
/// (type 7 of Hyndman & Fan, what numpy and R use by default).
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    percentile_by_rank(sorted.len(), q, |k| sorted[k])
}

/// `percentile_sorted` of `n` values of which `kth(k)` gives the k-th smallest (0-based),
/// for callers that find order statistics without sorting (the bootstraps). The same
/// arithmetic on the same order statistics, so the same bits.
pub(crate) fn percentile_by_rank(n: usize, q: f64, mut kth: impl FnMut(usize) -> f64) -> f64 {
    match n {
        0 => f64::NAN,
        1 => kth(0),
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            let (at_lo, at_hi) = (kth(lo), kth(hi));
            at_lo + (at_hi - at_lo) * (pos - lo as f64)
        }
    }
}

/// Median of `v`, sorting it in place (for bootstrap loops that reuse one buffer).
pub(crate) fn median_in_place(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    percentile_sorted(v, 0.5)
}

/// The central `level` interval of the values of a bootstrap distribution (sorts them):
/// the percentile bootstrap's end points.
pub(crate) fn percentile_interval(values: &mut [f64], level: f64) -> [f64; 2] {
    values.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    [
        percentile_sorted(values, alpha),
        percentile_sorted(values, 1.0 - alpha),
    ]
}

/// Median of the finite values of `data`: `percentile_sorted(sorted, 0.5)` of them, with
/// the two order statistics it needs selected rather than all values sorted.
pub fn median(data: &[f64]) -> f64 {
    let mut v: Vec<f64> = data.iter().copied().filter(|x| x.is_finite()).collect();
    median_by_selection(&mut v)
}

/// `median_in_place` without sorting: the same order statistics (in `f64::total_cmp`
/// order, where equal values have equal bits), found in linear time; `v` is reordered.
pub(crate) fn median_by_selection(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let lo = (0.5 * (n - 1) as f64).floor() as usize;
    let (_, at, rest) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let at_lo = *at;
    // After selection every value behind `at` is at or above it.
    let at_hi = rest.iter().copied().min_by(f64::total_cmp).unwrap_or(at_lo);
    percentile_by_rank(n, 0.5, |k| if k == lo { at_lo } else { at_hi })
}

pub fn mean(data: &[f64]) -> f64 {
    if data.is_empty() {
        return f64::NAN;
    }
    data.iter().sum::<f64>() / data.len() as f64
}

/// Sample standard deviation (n - 1).
pub fn stddev(data: &[f64]) -> f64 {
    if data.len() < 2 {
        return 0.0;
    }
    let m = mean(data);
    (data.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (data.len() - 1) as f64).sqrt()
}

/// Summary of finite samples; `None` when there are none.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let ci = super::median_ci(&v, 0.95);
    Some(Summary {
        n: v.len(),
        min: v[0],
        p50: percentile_sorted(&v, 0.5),
        p90: percentile_sorted(&v, 0.9),
        p99: percentile_sorted(&v, 0.99),
        p999: percentile_sorted(&v, 0.999),
        max: v[v.len() - 1],
        mean: mean(&v),
        stddev: stddev(&v),
        p50_ci: ci,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&v, 0.5), 2.5);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
        assert_eq!(percentile_sorted(&v, 1.0), 4.0);
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
    }

    #[test]
    fn selected_medians_are_sorted_medians() {
        let mut rng = crate::stats::SplitMix64::new(3);
        for n in [1usize, 2, 3, 4, 10, 11, 1000, 1001] {
            for distinct in [1u64, 3, 1 << 50] {
                let v: Vec<f64> = (0..n)
                    .map(|_| match rng.next_u64() % distinct {
                        0 => -0.0,
                        x => x as f64 - 1.5,
                    })
                    .collect();
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let want = percentile_sorted(&sorted, 0.5).to_bits();
                assert_eq!(median(&v).to_bits(), want, "n {n}");
                assert_eq!(median_by_selection(&mut v.clone()).to_bits(), want);
            }
        }
        assert!(median(&[]).is_nan());
        assert_eq!(median(&[f64::NAN, 2.0]), 2.0);
    }

    #[test]
    fn summary_of_known_data() {
        let data: Vec<f64> = (1..=101).map(f64::from).collect();
        let s = summarize(&data).expect("summary");
        assert_eq!(s.n, 101);
        assert_eq!(s.p50, 51.0);
        assert_eq!(s.p90, 91.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 101.0);
        assert!((s.stddev - 29.3002).abs() < 1e-3);
        assert!(s.p50_ci[0] <= 51.0 && s.p50_ci[1] >= 51.0);
        assert!(s.p50_ci[1] - s.p50_ci[0] < 30.0);
        assert!(summarize(&[]).is_none());
        assert!(summarize(&[f64::NAN]).is_none());
    }
}
