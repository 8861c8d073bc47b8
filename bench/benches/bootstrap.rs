//! The bootstrap confidence intervals of `isobench_reports::stats`, on seeded synthetic
//! series (`isobench_bench::synth::series`: integral ns with ties, a drift and a tail).
//!
//! Cases (group `bootstrap`), each one whole interval (2000 resamples):
//! * `block_ci/10x3000` — `compare`'s default: 10 time blocks per run, 30 000 samples a
//!   side (a measurement of `run --scenario clone --iterations 30000`);
//! * `block_ci/50x120` — 5 pooled runs a side, 10 blocks each, 6 000 samples (a throttle
//!   latency of `run --quick`, `compare a1,..,a5 b1,..,b5`);
//! * `block_ci/singletons_200` — `--blocks` at least the sample count: one sample per
//!   block, the ordinary bootstrap;
//! * `median_ci/200`, `median_ci/30000` — the CI of the median every run file summary
//!   carries;
//! * `ratio_ci/30000` — the headline's CI of a ratio of medians.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use isobench_bench::synth::series;
use isobench_reports::stats::{self, blocks};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("bootstrap");
    let (a, b) = (series(1, 30_000, 40_000.0), series(2, 30_000, 41_000.0));
    g.bench_function("block_ci/10x3000", |bn| {
        bn.iter(|| blocks::block_ratio_of_medians_ci(black_box(&a), black_box(&b), 10, 0.95))
    });
    let (pa, pb): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (0..5)
        .map(|k| (series(10 + k, 1_200, 1e6), series(20 + k, 1_200, 1.02e6)))
        .unzip();
    let cut = |runs: &[Vec<f64>]| -> Vec<Vec<f64>> {
        runs.iter()
            .flat_map(|r| blocks::split(r, 10).into_iter().map(<[f64]>::to_vec))
            .collect()
    };
    let (ba, bb) = (cut(&pa), cut(&pb));
    let (ra, rb): (Vec<&[f64]>, Vec<&[f64]>) = (
        ba.iter().map(Vec::as_slice).collect(),
        bb.iter().map(Vec::as_slice).collect(),
    );
    g.bench_function("block_ci/50x120", |bn| {
        bn.iter(|| blocks::ratio_of_medians_ci_over_blocks(black_box(&ra), black_box(&rb), 0.95))
    });
    let (sa, sb) = (&a[..200], &b[..200]);
    g.bench_function("block_ci/singletons_200", |bn| {
        bn.iter(|| blocks::block_ratio_of_medians_ci(black_box(sa), black_box(sb), 200, 0.95))
    });
    g.bench_function("median_ci/200", |bn| {
        bn.iter(|| stats::median_ci(black_box(sa), 0.95))
    });
    g.bench_function("median_ci/30000", |bn| {
        bn.iter(|| stats::median_ci(black_box(&a), 0.95))
    });
    g.bench_function("ratio_ci/30000", |bn| {
        bn.iter(|| stats::ratio_of_medians_ci(black_box(&a), black_box(&b), 0.95))
    });
    g.finish();
}

criterion_group! { name = benches; config = isobench_bench::milli(); targets = bench }
criterion_main!(benches);
