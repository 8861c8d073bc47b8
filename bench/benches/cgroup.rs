//! cgroup create / attach / remove, for the layout this host has (v1, v2, or hybrid,
//! which drives v1 unless the unified hierarchy has controllers).
//!
//! Cases (group `cgroup-v1` or `cgroup-v2`):
//! * `create` — mkdir of the cgroup (every hierarchy on v1) after registering it with the
//!   cleanup registry; removal is outside the timer.
//! * `attach` — moving one live process (the probe in `hang` mode) into a cgroup; it
//!   alternates between two cgroups made beforehand.
//! * `remove` — removing an empty cgroup (rmdir of every hierarchy); creation is outside
//!   the timer.
//!
//! Timer: `iter_custom`, an `Instant` around exactly the operation named.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use isobench::cgroup::common::unique_name;
use isobench::cgroup::manager::{AnyManager, CgroupManager};
use isobench::cleanup::Cleanup;
use isobench::probe::ProbeMode;
use isobench::subject::child::NsProbe;
use isobench::subject::Instance;
use isobench::workdir::Env;

fn bench(c: &mut Criterion) {
    let cleanup = Cleanup::in_memory();
    let probe = match AnyManager::create(&cleanup, &unique_name("bench-probe")) {
        Ok(m) => m,
        Err(e) => {
            isobench_bench::skip("cgroup", &format!("cannot create a cgroup here: {e}"));
            return;
        }
    };
    let group = format!("cgroup-{}", probe.version());
    drop(probe);
    let mut g = c.benchmark_group(&group);
    g.bench_function("create", |b| {
        b.iter_custom(|iters| {
            let mut sum = Duration::ZERO;
            for _ in 0..iters {
                let name = unique_name("bench");
                let t0 = Instant::now();
                let m =
                    AnyManager::create(&cleanup, &name).unwrap_or_else(|e| panic!("create: {e}"));
                sum += t0.elapsed();
                drop(m);
            }
            cleanup.release_all();
            sum
        })
    });
    g.bench_function("remove", |b| {
        b.iter_custom(|iters| {
            let mut sum = Duration::ZERO;
            for _ in 0..iters {
                let mut m = AnyManager::create(&cleanup, &unique_name("bench"))
                    .unwrap_or_else(|e| panic!("create: {e}"));
                let t0 = Instant::now();
                m.remove().unwrap_or_else(|e| panic!("remove: {e}"));
                sum += t0.elapsed();
            }
            cleanup.release_all();
            sum
        })
    });
    let env = match Env::new(cleanup.clone(), None) {
        Ok(e) => e,
        Err(e) => {
            isobench_bench::skip(&format!("{group}/attach"), &e.to_string());
            return;
        }
    };
    let mut holder = match NsProbe::spawn(&env, 0, &ProbeMode::Hang) {
        Ok(p) => p,
        Err(e) => {
            isobench_bench::skip(&format!("{group}/attach"), &e.to_string());
            return;
        }
    };
    if let Err(e) = holder.wait_ready(Instant::now() + Duration::from_secs(10)) {
        isobench_bench::skip(&format!("{group}/attach"), &e.to_string());
        return;
    }
    let pid = holder.pid();
    let pair = [
        AnyManager::create(&cleanup, &unique_name("bench-a")),
        AnyManager::create(&cleanup, &unique_name("bench-b")),
    ];
    if let [Ok(a), Ok(b)] = &pair {
        let targets = [a, b];
        let mut flip = 0usize;
        g.bench_function("attach", |bn| {
            bn.iter_custom(|iters| {
                let mut sum = Duration::ZERO;
                for _ in 0..iters {
                    flip ^= 1;
                    let t0 = Instant::now();
                    targets[flip]
                        .attach(pid)
                        .unwrap_or_else(|e| panic!("attach: {e}"));
                    sum += t0.elapsed();
                }
                sum
            })
        });
    }
    g.finish();
    let _ = holder.teardown();
    drop(pair);
    drop(env);
    for e in cleanup.release_all() {
        eprintln!("cleanup: {e}");
    }
}

criterion_group! { name = benches; config = isobench_bench::micro(); targets = bench }
criterion_main!(benches);
