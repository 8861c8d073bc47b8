//! Process spawn of the probe, and the probe exec'd in fresh namespaces.
//!
//! Cases (group `spawn`): `process` (posix_spawn of the static probe), `namespaces/all`
//! and `namespaces/container` (clone3 with those CLONE_NEW* flags, then execve).
//! Timer: `iter_custom` over the same `measure_once` the startup scenario uses: from just
//! before the launch call to wait4 returning (`total`); the work directory, the probe file
//! and the cleanup registry are set up once, outside the timer. Flat sampling: these are
//! sub-millisecond to millisecond cases.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use isobench::cleanup::Cleanup;
use isobench::env::Env;
use isobench::probe::ProbeMode;
use isobench::scenario::startup::measure_once;
use isobench::subject::SubjectKind;

fn bench(c: &mut Criterion) {
    let cleanup = Cleanup::in_memory();
    let env = match Env::new(cleanup.clone(), None) {
        Ok(e) => e,
        Err(e) => {
            isobench_bench::skip("spawn", &e.to_string());
            return;
        }
    };
    let mut g = c.benchmark_group("spawn");
    g.sampling_mode(SamplingMode::Flat);
    for kind in [SubjectKind::Process, SubjectKind::Namespaces] {
        let mut subject = kind.create();
        if let Err(u) = subject.available(&env) {
            isobench_bench::skip(&format!("spawn/{kind}"), &u.to_string());
            continue;
        }
        for case in subject.cases(&env) {
            let id = if case == "default" {
                kind.to_string()
            } else {
                format!("{kind}/{case}")
            };
            g.bench_function(&id, |b| {
                b.iter_custom(|iters| {
                    let mut sum = Duration::ZERO;
                    for _ in 0..iters {
                        let (s, _) = measure_once(subject.as_mut(), &env, &case, &ProbeMode::Ready)
                            .unwrap_or_else(|e| panic!("{id}: {e}"));
                        sum += Duration::from_nanos(s.get("total").unwrap_or(0.0) as u64);
                    }
                    sum
                })
            });
        }
    }
    g.finish();
    drop(env);
    for e in cleanup.release_all() {
        eprintln!("cleanup: {e}");
    }
}

criterion_group! { name = benches; config = isobench_bench::milli(); targets = bench }
criterion_main!(benches);
