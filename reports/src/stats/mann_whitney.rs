//! Mann-Whitney U (Wilcoxon rank-sum) test: does one sample tend to have larger values
//! than the other?
//!
//! Suited to latency data: it uses ranks only, so skew, long tails and outliers do not
//! break it the way they break a t-test. The p-value is the normal approximation with the
//! tie correction of the variance and a continuity correction (Hollander, Wolfe & Chicken,
//! *Nonparametric Statistical Methods*, 3rd ed., §4.1); it is accurate once both samples
//! have about 10 values. Without ties and for small samples (n1·n2 ≤ `EXACT_MAX_PAIRS`)
//! the exact null distribution of U is used instead (`mann_whitney_exact`), whose tails
//! the normal approximation overstates: ten against ten completely separated gives
//! p = 1.1e-5 exactly but 1.8e-4 approximated, too weak to survive a correction for eighty
//! measurements.

use super::normal;

/// Result of a two-sided Mann-Whitney U test of `a` against `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U statistic of `b` (the number of pairs with b > a, ties counting one half).
    pub u: f64,
    /// Standardised statistic (positive when `b` tends to be larger).
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Two-sided test of `a` against `b`; non-finite values are ignored. `None` when either
/// side has no finite value.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .filter(|x| x.is_finite())
        .map(|&x| (x, false))
        .chain(b.iter().filter(|x| x.is_finite()).map(|&x| (x, true)))
        .collect();
    let n1 = all.iter().filter(|(_, is_b)| !is_b).count() as f64;
    let n2 = all.len() as f64 - n1;
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    // Midranks for ties, and the tie term sum(t^3 - t) for the variance correction.
    let mut rank_sum_b = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        let t = (j - i) as f64;
        let midrank = (i + j + 1) as f64 / 2.0; // ranks are 1-based: (i+1 + j) / 2
        rank_sum_b += midrank * all[i..j].iter().filter(|(_, is_b)| *is_b).count() as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let u = rank_sum_b - n2 * (n2 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let nn = n1 + n2;
    let var = n1 * n2 / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0)));
    if var <= 0.0 || !var.is_finite() {
        // Every value identical: no evidence of any difference.
        return Some(MannWhitney { u, z: 0.0, p: 1.0 });
    }
    let d = u - mean;
    let corrected = (d.abs() - 0.5).max(0.0) * d.signum();
    let z = corrected / var.sqrt();
    Some(MannWhitney {
        u,
        z,
        p: normal::two_sided_p(z),
    })
}

/// Largest n1·n2 for which `mann_whitney_auto` computes the exact distribution.
pub const EXACT_MAX_PAIRS: usize = 2500;

/// Exact two-sided p-value of U for samples without ties: the number of orderings of
/// n1 + n2 distinct values giving each U, by the recursion
/// N(n1, n2, u) = N(n1 - 1, n2, u - n2) + N(n1, n2 - 1, u) (Mann & Whitney 1947).
/// `None` when a side is empty or values tie.
pub fn mann_whitney_exact(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let approx = mann_whitney(a, b)?;
    let mut all: Vec<f64> = a
        .iter()
        .chain(b)
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    all.sort_by(f64::total_cmp);
    if all.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let n1 = a.iter().filter(|x| x.is_finite()).count();
    let n2 = b.iter().filter(|x| x.is_finite()).count();
    // counts[j][u] for the current i: orderings of i values of `a` and j of `b` with U = u.
    let mut prev: Vec<Vec<f64>> = (0..=n2).map(|_| vec![1.0]).collect();
    for i in 1..=n1 {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(n2 + 1);
        cur.push(vec![1.0]);
        for j in 1..=n2 {
            let mut v = vec![0.0; i * j + 1];
            // The largest of the i + j values is from `a` (it beats all j values of
            // `b`: U of `a` grows by j) or from `b` (U unchanged). The distribution of U
            // is symmetric, so counting U of `a` gives that of U of `b` as well.
            for (u, c) in prev[j].iter().enumerate() {
                v[u + j] += c;
            }
            for (u, c) in cur[j - 1].iter().enumerate() {
                v[u] += c;
            }
            cur.push(v);
        }
        prev = cur;
    }
    let dist = &prev[n2];
    let total: f64 = dist.iter().sum();
    // U of b and U of a are mirror images (U_a = n1·n2 - U_b); the distribution is
    // symmetric, so the two-sided p is twice the smaller tail.
    let u = approx.u.round() as usize;
    let lower: f64 = dist[..=u.min(dist.len() - 1)].iter().sum::<f64>() / total;
    let upper: f64 = dist[u.min(dist.len() - 1)..].iter().sum::<f64>() / total;
    Some(MannWhitney {
        p: (2.0 * lower.min(upper)).min(1.0),
        ..approx
    })
}

/// Exact when small and free of ties, otherwise the normal approximation.
pub fn mann_whitney_auto(a: &[f64], b: &[f64]) -> Option<(MannWhitney, bool)> {
    if a.len() * b.len() <= EXACT_MAX_PAIRS {
        if let Some(r) = mann_whitney_exact(a, b) {
            return Some((r, true));
        }
    }
    mann_whitney(a, b).map(|r| (r, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_are_not_different() {
        let a: Vec<f64> = (0..50).map(f64::from).collect();
        let r = mann_whitney(&a, &a).expect("test");
        assert!(r.p > 0.9, "{r:?}");
        let c = [5.0; 20];
        assert_eq!(mann_whitney(&c, &c).expect("test").p, 1.0);
    }

    #[test]
    fn shifted_samples_are_different() {
        let a: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i % 10)).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 8.0).collect();
        let r = mann_whitney(&a, &b).expect("test");
        assert!(r.p < 1e-6 && r.z > 0.0, "{r:?}");
        let r2 = mann_whitney(&b, &a).expect("test");
        assert!(r2.z < 0.0 && (r2.p - r.p).abs() < 1e-12);
    }

    #[test]
    fn matches_reference_value() {
        // a = 1..=10, b = 6..=15: U(b) = 5.5 + 6.5 + 7.5 + 8.5 + 9.5 + 5 * 10 = 87.5; five
        // ties of two give sum(t^3 - t) = 30, var = 100/12 * (21 - 30/380) = 174.34;
        // z = (37.5 - 0.5) / 13.204 = 2.802, p = 0.00508 (scipy's asymptotic method agrees).
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        let b: Vec<f64> = (6..=15).map(f64::from).collect();
        let r = mann_whitney(&a, &b).expect("test");
        assert_eq!(r.u, 87.5);
        assert!((r.z - 2.8022).abs() < 1e-3, "{r:?}");
        assert!((r.p - 0.005075).abs() < 1e-5, "{r:?}");
    }

    #[test]
    fn exact_matches_combinatorics() {
        // Ten against ten, completely separated: 2 of C(20, 10) = 184756 orderings.
        let a: Vec<f64> = (0..10).map(f64::from).collect();
        let b: Vec<f64> = (10..20).map(f64::from).collect();
        let r = mann_whitney_exact(&a, &b).expect("exact");
        assert!((r.p - 2.0 / 184_756.0).abs() < 1e-12, "{r:?}");
        // 3 vs 3 interleaved a b a b a b: U(b) = 1 + 2 + 3 = 6 of 9; P(U >= 6) = 7/20.
        let r = mann_whitney_exact(&[1.0, 3.0, 5.0], &[2.0, 4.0, 6.0]).expect("exact");
        assert_eq!(r.u, 6.0);
        assert!((r.p - 0.7).abs() < 1e-12, "{r:?}");
        assert!(
            mann_whitney_exact(&[1.0, 2.0], &[2.0, 3.0]).is_none(),
            "ties"
        );
        let (_, exact) = mann_whitney_auto(&a, &b).expect("auto");
        assert!(exact);
    }

    #[test]
    fn empty_side_gives_none() {
        assert!(mann_whitney(&[], &[1.0]).is_none());
        assert!(mann_whitney(&[f64::NAN], &[1.0]).is_none());
    }
}
