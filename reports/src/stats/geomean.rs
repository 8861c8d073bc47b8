//! A geometric mean of ratios of medians and its percentile-bootstrap CI: the one number
//! that summarises "how much faster is A than B over these workloads" (SPEC's way of
//! averaging ratios: the mean of their logarithms, so ×2 and ×0.5 cancel).
//!
//! The input is grouped (a workload and its metrics): the mean of the log ratios is taken
//! within each group, then over the groups, so each group weighs the same whatever its
//! number of metrics. Every (a, b) pair is resampled on both sides independently, as
//! `ratio_of_medians_ci` does for one pair; the PRNG is seeded from the data.

use super::bootstrap::{seed_of, ResampleMedian, RESAMPLES};
use super::rng::SplitMix64;
use super::summary::{median, percentile_interval};

/// exp(mean over groups of mean over pairs of ln(median(b) / median(a))).
fn geomean(groups: &[Vec<f64>]) -> f64 {
    let means: Vec<f64> = groups
        .iter()
        .filter(|g| !g.is_empty())
        .map(|g| g.iter().sum::<f64>() / g.len() as f64)
        .collect();
    if means.is_empty() {
        return f64::NAN;
    }
    (means.iter().sum::<f64>() / means.len() as f64).exp()
}

/// The geometric mean of median(b) / median(a) over `groups` of (a, b) sample pairs (see
/// the module doc) and its bootstrap CI at `level`; NaN when a pair is empty or a median
/// is not positive.
pub fn geomean_ratio_of_medians_ci(
    groups: &[Vec<(&[f64], &[f64])>],
    level: f64,
) -> (f64, [f64; 2]) {
    let nan = (f64::NAN, [f64::NAN, f64::NAN]);
    let pairs = || groups.iter().flatten();
    if pairs().next().is_none() || pairs().any(|(a, b)| a.is_empty() || b.is_empty()) {
        return nan;
    }
    let logs = |f: &mut dyn FnMut(&[f64], &[f64]) -> f64| -> Vec<Vec<f64>> {
        groups
            .iter()
            .map(|g| g.iter().map(|(a, b)| f(a, b)).collect())
            .collect()
    };
    let point = geomean(&logs(&mut |a, b| (median(b) / median(a)).ln()));
    if !(point.is_finite() && point > 0.0) {
        return nan;
    }
    let seed = pairs().fold(0x6E0_u64, |h, (a, b)| {
        (h ^ seed_of(a) ^ seed_of(b).rotate_left(17)).rotate_left(5)
    });
    let mut rng = SplitMix64::new(seed);
    let mut samplers: Vec<Vec<(ResampleMedian<'_>, ResampleMedian<'_>)>> = groups
        .iter()
        .map(|g| {
            g.iter()
                .map(|(a, b)| (ResampleMedian::new(a), ResampleMedian::new(b)))
                .collect()
        })
        .collect();
    let mut means = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        let draws: Vec<Vec<f64>> = samplers
            .iter_mut()
            .map(|g| {
                g.iter_mut()
                    .map(|(sa, sb)| {
                        let (ma, mb) = (sa.draw(&mut rng), sb.draw(&mut rng));
                        (mb / ma).ln()
                    })
                    .collect()
            })
            .collect();
        let m = geomean(&draws);
        if m.is_finite() && m > 0.0 {
            means.push(m);
        }
    }
    if means.is_empty() {
        return (point, [f64::NAN, f64::NAN]);
    }
    (point, percentile_interval(&mut means, level))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(v: f64) -> Vec<f64> {
        (0..20)
            .map(|i| v * (1.0 + f64::from(i % 7) * 0.01))
            .collect()
    }

    #[test]
    fn groups_weigh_the_same_and_the_interval_holds_the_point() {
        let (one, two, four) = (around(1.0), around(2.0), around(4.0));
        // Group 1: one metric ×4; group 2: two metrics ×1 → exp((ln 4 + 0) / 2) = 2.
        let groups = vec![
            vec![(&one[..], &four[..])],
            vec![(&one[..], &one[..]), (&two[..], &two[..])],
        ];
        let (g, [lo, hi]) = geomean_ratio_of_medians_ci(&groups, 0.95);
        assert!((g - 2.0).abs() < 1e-9, "{g}");
        assert!(lo <= g && g <= hi && lo > 1.8 && hi < 2.2, "{lo} {g} {hi}");
        // Deterministic.
        assert_eq!(geomean_ratio_of_medians_ci(&groups, 0.95), (g, [lo, hi]));
        // ×2 and ×0.5 cancel.
        let (g, _) =
            geomean_ratio_of_medians_ci(&[vec![(&one[..], &two[..]), (&two[..], &one[..])]], 0.95);
        assert!((g - 1.0).abs() < 1e-9);
        assert!(geomean_ratio_of_medians_ci(&[], 0.95).0.is_nan());
        assert!(
            geomean_ratio_of_medians_ci(&[vec![(&one[..], &[][..])]], 0.95)
                .0
                .is_nan()
        );
    }
}
