//! Pure statistics: summaries, percentiles, bootstrap confidence intervals, rank and
//! permutation tests, multiple-comparison corrections, a seeded PRNG. No IO; tested on
//! its own.

mod binomial;
pub mod blocks;
mod bootstrap;
mod geomean;
pub mod mann_whitney;
pub mod multiple;
pub mod normal;
pub mod permutation;
mod rng;
mod summary;

pub use bootstrap::{bootstrap_ci, median_ci, ratio_of_medians_ci};
pub use geomean::geomean_ratio_of_medians_ci;
pub use mann_whitney::{mann_whitney, mann_whitney_auto, mann_whitney_exact, MannWhitney};
pub use multiple::{benjamini_hochberg, holm};
pub use permutation::median_difference_p;
pub use rng::SplitMix64;
pub use summary::{mean, median, percentile_sorted, stddev, summarize};
