//! The sampling plan: warm-up, iterations, and the order cases run in.
//!
//! Cases are interleaved — every round runs each case once — so slow drift of a noisy
//! machine (another tenant, thermal state, page cache) spreads over all cases instead of
//! masquerading as a difference between them. With `Order::Shuffled` each round's order is
//! a fresh permutation from a seeded PRNG, so periodic interference cannot line up with
//! one case either; the seed is recorded in the run's config.

use isobench_reports::stats::SplitMix64;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Every round in the same order.
    RoundRobin,
    /// Every round a fresh seeded permutation.
    Shuffled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Rounds whose samples are discarded (page cache, lazy binding, CPU frequency).
    pub warmup: usize,
    /// Measured rounds.
    pub iterations: usize,
    pub order: Order,
    pub seed: u64,
    /// Stop measuring a scenario after this many seconds even if rounds remain (0 = none).
    pub time_budget_s: f64,
    /// `--iterations` was given: exactly that many samples per case, no repetitions a
    /// scenario would add for cheap cases (startup's minimum measuring time).
    #[serde(default)]
    pub fixed_iterations: bool,
}

impl Plan {
    /// The order of `n` cases in round `round`.
    pub fn round_order(&self, n: usize, round: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        if self.order == Order::Shuffled {
            let mut rng =
                SplitMix64::new(self.seed ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            rng.shuffle(&mut idx);
        }
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffled_rounds_are_permutations_and_reproducible() {
        let p = Plan {
            warmup: 1,
            iterations: 5,
            order: Order::Shuffled,
            seed: 7,
            time_budget_s: 0.0,
            fixed_iterations: false,
        };
        let a = p.round_order(6, 3);
        let mut s = a.clone();
        s.sort_unstable();
        assert_eq!(s, (0..6).collect::<Vec<_>>());
        assert_eq!(a, p.round_order(6, 3));
        let rr = Plan {
            order: Order::RoundRobin,
            ..p
        };
        assert_eq!(rr.round_order(3, 9), vec![0, 1, 2]);
    }
}
