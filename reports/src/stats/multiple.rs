//! Multiple-comparison corrections. A comparison of two runs tests dozens of measurements
//! at once; at alpha = 0.01 a hundred unchanged measurements would give one false
//! "regression" per comparison without a correction.
//!
//! - Holm (1979) step-down Bonferroni: controls the family-wise error rate (the chance of
//!   *any* false alarm) under any dependence. The default: a CI gate must not cry wolf.
//! - Benjamini & Hochberg (1995): controls the false discovery rate (the expected share of
//!   false alarms among the flagged), more powerful with many true changes.
//!
//! Both return adjusted p-values in the input order, to be compared with alpha directly.

/// Holm-adjusted p-values. NaN inputs stay NaN and do not count as tests.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    idx.sort_by(|&x, &y| p[x].total_cmp(&p[y]));
    let m = idx.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 0.0_f64;
    for (rank, &i) in idx.iter().enumerate() {
        let adj = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Benjamini-Hochberg-adjusted p-values (q-values). NaN inputs stay NaN.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    idx.sort_by(|&x, &y| p[x].total_cmp(&p[y]));
    let m = idx.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 1.0_f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        let adj = (p[i] * m as f64 / (rank + 1) as f64).min(1.0);
        running = running.min(adj);
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_reference() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") -> 0.03 0.06 0.06 0.02
        let a = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (x, w) in a.iter().zip(want) {
            assert!((x - w).abs() < 1e-12, "{a:?}");
        }
    }

    #[test]
    fn bh_reference() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "BH") -> 0.02 0.04 0.04 0.02
        let a = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (x, w) in a.iter().zip(want) {
            assert!((x - w).abs() < 1e-12, "{a:?}");
        }
        assert!(benjamini_hochberg(&[f64::NAN, 0.5])[0].is_nan());
    }
}
