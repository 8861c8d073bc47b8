//! Binomial variates, for the bootstrap of large samples (`bootstrap::ResampleMedian`),
//! which draws how many of a resample's n values fall below, inside and above a window
//! instead of drawing all n.
//!
//! Inversion from the mode outwards (Kemp 1986, "A modal method for generating binomial
//! variables"): one uniform, then the outcomes in the order mode, mode − 1, mode + 1,
//! mode − 2, … until their probabilities exceed it, about sqrt(n·p·(1−p)) steps. The
//! probability at the mode is computed as R's `dbinom` does (Loader 2000, "Fast and
//! accurate computation of binomial probabilities": Stirling-series remainders and a
//! deviance term, accurate to about 1e-15 relative where ln C(n, k) would lose 9 digits
//! at n = 1e6), the others by the ratio of neighbouring probabilities.

use super::rng::SplitMix64;

/// ln(k!) − ln(sqrt(2πk)·(k/e)^k), the remainder of Stirling's formula.
fn stirlerr(k: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if k <= 15.0 {
        // Small k: from ln(k!) directly (the terms are few and the values small).
        let ln_fact: f64 = (2..=k as u64).map(|i| (i as f64).ln()).sum();
        return ln_fact - (k + 0.5) * k.ln() + k - 0.5 * std::f64::consts::TAU.ln();
    }
    let kk = k * k;
    if k > 500.0 {
        (S0 - S1 / kk) / k
    } else if k > 80.0 {
        (S0 - (S1 - S2 / kk) / kk) / k
    } else if k > 35.0 {
        (S0 - (S1 - (S2 - S3 / kk) / kk) / kk) / k
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / kk) / kk) / kk) / kk) / k
    }
}

/// x·ln(x/m) + m − x, without the cancellation of its terms when x is near m.
fn bd0(x: f64, m: f64) -> f64 {
    if (x - m).abs() < 0.1 * (x + m) {
        let v = (x - m) / (x + m);
        let mut s = (x - m) * v;
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        for j in 1..1000 {
            ej *= v2;
            let next = s + ej / f64::from(2 * j + 1);
            if next == s {
                break;
            }
            s = next;
        }
        s
    } else {
        x * (x / m).ln() + m - x
    }
}

/// P(X = k) for X ~ Binomial(n, p), q = 1 − p.
fn pmf(k: u64, n: u64, p: f64, q: f64) -> f64 {
    let (k, nf) = (k as f64, n as f64);
    if k == 0.0 {
        return (nf * (-p).ln_1p()).exp();
    }
    if k == nf {
        return (nf * (-q).ln_1p()).exp();
    }
    let log = stirlerr(nf) - stirlerr(k) - stirlerr(nf - k) - bd0(k, nf * p) - bd0(nf - k, nf * q);
    log.exp() * (nf / (std::f64::consts::TAU * k * (nf - k))).sqrt()
}

/// One variate of Binomial(n, p) from `rng` (see the module doc).
pub fn binomial(rng: &mut SplitMix64, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    let q = 1.0 - p;
    let mode = (((n + 1) as f64 * p).floor() as u64).min(n);
    let at_mode = pmf(mode, n, p, q);
    let mut u = rng.uniform() - at_mode;
    if u < 0.0 {
        return mode;
    }
    let odds = p / q;
    let (mut down, mut p_down) = (mode, at_mode);
    let (mut up, mut p_up) = (mode, at_mode);
    loop {
        let mut moved = false;
        if down > 0 {
            // P(k − 1) = P(k) · k·q / ((n − k + 1)·p)
            p_down *= down as f64 / ((n - down + 1) as f64 * odds);
            down -= 1;
            moved = true;
            u -= p_down;
            if u < 0.0 {
                return down;
            }
        }
        if up < n {
            // P(k + 1) = P(k) · (n − k)·p / ((k + 1)·q)
            p_up *= (n - up) as f64 * odds / (up + 1) as f64;
            up += 1;
            moved = true;
            u -= p_up;
            if u < 0.0 {
                return up;
            }
        }
        if !moved {
            // Rounding left a sliver of probability unassigned: give it to the mode.
            return mode;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_match_reference_values_and_sum_to_one() {
        // R: dbinom(3, 10, 0.3) = 0.2668279320; dbinom(500000, 1e6, 0.5) = 7.978841e-04;
        // dbinom(0, 50, 0.01) = 0.6050060671.
        assert!((pmf(3, 10, 0.3, 0.7) / 0.266_827_932_0 - 1.0).abs() < 1e-9);
        assert!((pmf(500_000, 1_000_000, 0.5, 0.5) / 7.978_841_e-4 - 1.0).abs() < 1e-6);
        assert!((pmf(0, 50, 0.01, 0.99) / 0.605_006_067_1 - 1.0).abs() < 1e-9);
        for (n, p) in [
            (20u64, 0.3),
            (1_000, 0.02),
            (1_000_000, 0.5),
            (999_983, 0.123),
        ] {
            let total: f64 = (0..=n).map(|k| pmf(k, n, p, 1.0 - p)).sum();
            assert!((total - 1.0).abs() < 1e-9, "n {n} p {p}: {total}");
        }
    }

    #[test]
    fn variates_have_the_binomial_distribution() {
        let mut rng = SplitMix64::new(5);
        // Frequencies of 200 000 draws of Binomial(12, 0.35) against the probabilities.
        let (n, p, draws) = (12u64, 0.35, 200_000);
        let mut freq = [0usize; 13];
        for _ in 0..draws {
            freq[binomial(&mut rng, n, p) as usize] += 1;
        }
        for (k, &f) in freq.iter().enumerate() {
            let want = pmf(k as u64, n, p, 1.0 - p) * draws as f64;
            let sd = want.sqrt().max(1.0);
            assert!((f as f64 - want).abs() < 5.0 * sd, "k {k}: {f} vs {want}");
        }
        // Mean and variance at a bootstrap's size.
        let (n, p) = (1_000_000u64, 0.27);
        let xs: Vec<f64> = (0..4000).map(|_| binomial(&mut rng, n, p) as f64).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        let (m, v) = (n as f64 * p, n as f64 * p * (1.0 - p));
        assert!(
            (mean - m).abs() < 5.0 * (v / 4000.0).sqrt(),
            "{mean} vs {m}"
        );
        assert!((var / v - 1.0).abs() < 0.1, "{var} vs {v}");
        assert_eq!(binomial(&mut rng, 10, 0.0), 0);
        assert_eq!(binomial(&mut rng, 10, 1.0), 10);
        assert_eq!(binomial(&mut rng, 0, 0.5), 0);
    }
}
