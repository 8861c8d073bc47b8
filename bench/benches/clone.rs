//! clone() per namespace flag.
//!
//! Cases (group `clone`): `none`, `pid`, `mnt`, `uts`, `ipc`, `net`, `user`, `cgroup`,
//! `time`, `all` — one benchmark id per flag set.
//! Timer: `iter_custom`; per iteration, the harness's own `total` of one
//! `Creator::once`: from just before clone3(CLONE_VM | flags) to wait4 returning for the
//! child that wrote one byte and exited — the same primitive and clock points as
//! `isobench run --scenario clone`, so the figures can be compared. Each sample reports
//! `iters` × the median of its iterations (`isobench_bench::median_total`). Unlike the
//! scenario, criterion runs each flag in a block: back-to-back network namespaces queue
//! up asynchronous `cleanup_net` work, which the interleaved scenario spreads out.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use isobench::scenario::clone::{flag_cases, Creator};

fn bench(c: &mut Criterion) {
    if !isobench_bench::can_create_namespaces() {
        isobench_bench::skip(
            "clone",
            "cannot create namespaces here (needs root / CAP_SYS_ADMIN)",
        );
        return;
    }
    let mut g = c.benchmark_group("clone");
    for (name, flags) in flag_cases() {
        let Ok(mut creator) = Creator::new() else {
            isobench_bench::skip("clone", "cannot create a pipe");
            return;
        };
        if creator.once(flags).is_err() {
            isobench_bench::skip(&format!("clone/{name}"), "this kernel refuses the flag");
            continue;
        }
        g.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                let mut times = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    match creator.once(black_box(flags)) {
                        Ok(t) => times.push(t.total),
                        Err(e) => panic!("clone3({name}) failed mid-bench: {e}"),
                    }
                }
                isobench_bench::median_total(times)
            })
        });
    }
    g.finish();
}

criterion_group! { name = benches; config = isobench_bench::micro(); targets = bench }
criterion_main!(benches);
