//! Pure statistics: summaries, percentiles, bootstrap confidence intervals, a seeded PRNG.
//! No IO; tested on its own.

mod bootstrap;
mod rng;
mod summary;

pub use bootstrap::{bootstrap_ci, median_ci, ratio_of_medians_ci};
pub use rng::SplitMix64;
pub use summary::{mean, median, percentile_sorted, stddev, summarize};
