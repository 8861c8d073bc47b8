//! `isobench compare` without the command line: `compare::compare` of two run files
//! already loaded (loading is `Run::load`, timed by the README's figures, not here).
//!
//! Cases (group `compare`):
//! * `fixture` — the real fixture runs `fixtures/results/sample-run.json` against
//!   `fixtures/runs/small-startup-clone.json` (82 measurements of up to 120 samples);
//! * `quick_synthetic` — two synthetic `run --quick` files (`isobench_bench::synth`:
//!   464 measurements, 137 000 samples each), built once when the case first runs.

use std::hint::black_box;
use std::path::Path;
use std::sync::OnceLock;

use criterion::{criterion_group, criterion_main, Criterion};
use isobench_bench::synth::{self, Options, Shape};
use isobench_reports::compare::{compare, CompareOptions, Input};
use isobench_reports::Run;

fn fixture(rel: &str) -> Run {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    Run::load(&path).unwrap_or_else(|e| panic!("fixture: {e}"))
}

fn pair<'a>(a: &'a Run, b: &'a Run) -> [Input<'a>; 2] {
    [
        Input {
            origin: "a.json",
            run: a,
        },
        Input {
            origin: "b.json",
            run: b,
        },
    ]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("compare");
    let opts = CompareOptions::default();
    let (a, b) = (
        fixture("fixtures/results/sample-run.json"),
        fixture("fixtures/runs/small-startup-clone.json"),
    );
    g.bench_function("fixture", |bn| {
        bn.iter(|| compare(black_box(&pair(&a, &b)), &opts).map(|c| c.tallies))
    });
    static QUICK: OnceLock<(Run, Run)> = OnceLock::new();
    g.bench_function("quick_synthetic", |bn| {
        let (qa, qb) = QUICK.get_or_init(|| {
            let opts = |seed, slow: &[(&str, f64)]| Options {
                shape: Shape::Quick,
                seed,
                kernel: "6.1.0-synthetic".into(),
                slow: slow.iter().map(|(s, f)| (s.to_string(), *f)).collect(),
            };
            (
                synth::run(&opts(1, &[])),
                synth::run(&opts(11, &[("startup/runc", 1.2)])),
            )
        });
        bn.iter(|| compare(black_box(&pair(qa, qb)), &opts).map(|c| c.tallies))
    });
    g.finish();
}

criterion_group! { name = benches; config = isobench_bench::milli(); targets = bench }
criterion_main!(benches);
