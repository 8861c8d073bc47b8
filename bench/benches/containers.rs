//! Container startup: isobench's own `sandbox`, and OCI runtimes when installed.
//!
//! Cases (group `containers`): `sandbox` (clone3 with pid/mnt/uts/ipc/net namespaces,
//! rootfs bind + /proc + pivot_root, hostname, cgroup join, exec of the probe), and every
//! other container subject this build knows whose `available()` passes here, with its cases.
//! Timer: `iter_custom` over the startup scenario's `measure_once`: from just before the
//! launch to the payload's exit observed (`total`), **plus** its `teardown` (container
//! delete, cgroup removal) — for runc/crun that is create + start + delete. One-time
//! preparation (rootfs, bundles, images) is outside the timer. Flat sampling: these are
//! millisecond cases.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use isobench::cleanup::Cleanup;
use isobench::env::Env;
use isobench::probe::ProbeMode;
use isobench::scenario::startup::measure_once;
use isobench::subject::SubjectKind;

/// Subjects benched here (engines and VMs are too slow for criterion's sampling).
const SUBJECTS: &[&str] = &["sandbox", "runc", "crun"];

fn bench(c: &mut Criterion) {
    let cleanup = Cleanup::in_memory();
    let env = match Env::new(cleanup.clone(), None) {
        Ok(e) => e,
        Err(e) => {
            isobench_bench::skip("containers", &e.to_string());
            return;
        }
    };
    let mut g = c.benchmark_group("containers");
    g.sampling_mode(SamplingMode::Flat);
    for kind in SubjectKind::all()
        .iter()
        .filter(|k| SUBJECTS.contains(&k.name()))
    {
        let mut subject = kind.create();
        if let Err(u) = subject.available(&env) {
            isobench_bench::skip(&format!("containers/{kind}"), &u.to_string());
            continue;
        }
        if let Err(e) = subject.prepare(&env) {
            isobench_bench::skip(
                &format!("containers/{kind}"),
                &format!("prepare failed: {e}"),
            );
            continue;
        }
        for case in subject.cases(&env) {
            let id = if case == "default" {
                kind.to_string()
            } else {
                format!("{kind}/{case}")
            };
            if let Err(e) = measure_once(subject.as_mut(), &env, &case, &ProbeMode::Ready) {
                isobench_bench::skip(&id, &e.to_string());
                continue;
            }
            g.bench_function(&id, |b| {
                b.iter_custom(|iters| {
                    let mut sum = Duration::ZERO;
                    for _ in 0..iters {
                        let (s, _) = measure_once(subject.as_mut(), &env, &case, &ProbeMode::Ready)
                            .unwrap_or_else(|e| panic!("{id}: {e}"));
                        let ns = s.get("total").unwrap_or(0.0) + s.get("teardown").unwrap_or(0.0);
                        sum += Duration::from_nanos(ns as u64);
                    }
                    sum
                })
            });
        }
        if let Err(e) = subject.finish(&env) {
            eprintln!("containers/{kind}: cleanup: {e}");
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
