//! clone() per namespace flag.
//!
//! Cases (group `clone`): `none`, `pid`, `mnt`, `uts`, `ipc`, `net`, `user`, `cgroup`,
//! `time`, `all` — one benchmark id per flag set.
//! Timer: `iter_custom`; per iteration, the harness's own `total` of one
//! `Creator::once`: from just before clone3(CLONE_VM | flags) to wait4 returning for the
//! child that wrote one byte and exited — the same primitive and clock points as
//! `isobench run --scenario clone`, so the figures can be compared; pinned to the CPU the
//! scenario pins to by default (`isobench_bench::pin_like_the_scenario`). Each sample reports
//! `iters` × the median of its iterations (`isobench_bench::median_total`).
//!
//! Like the scenario, which runs every flag set once per round in a fresh shuffled order,
//! each timed clone is one case of such a round (`isobench_bench::Rounds`, the scenario's
//! own shuffle); the other nine run untimed. Run in a block, one flag set keeps the
//! kernel's caches hot for itself and never overlaps the asynchronous teardown of other
//! namespace types (`cleanup_net`, deferred ipc/mnt frees): that figure came out 10–40 %
//! below the scenario's (ipc 0.6×). After a fixed round of the other nine, always right
//! behind `net` and `all`, it came out 15–35 % above.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use isobench::measure::clone_timer::Creator;
use isobench::scenario::clone::flag_cases;

fn bench(c: &mut Criterion) {
    if !isobench_bench::can_create_namespaces() {
        isobench_bench::skip(
            "clone",
            "cannot create namespaces here (needs root / CAP_SYS_ADMIN)",
        );
        return;
    }
    let _pinned = isobench_bench::pin_like_the_scenario("clone");
    let Ok(mut creator) = Creator::new() else {
        isobench_bench::skip("clone", "cannot create a pipe");
        return;
    };
    // Capability probe: one untimed clone of each flag set.
    let cases: Vec<(String, u64)> = flag_cases()
        .into_iter()
        .filter(|(name, flags)| {
            let ok = creator.once(*flags).is_ok();
            if !ok {
                isobench_bench::skip(&format!("clone/{name}"), "this kernel refuses the flag");
            }
            ok
        })
        .collect();
    let mut g = c.benchmark_group("clone");
    for (name, flags) in &cases {
        let (name, flags) = (name.as_str(), *flags);
        let mut rounds = isobench_bench::Rounds::new(cases.len());
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut times = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    for j in rounds.next_round() {
                        if cases[j].0 != name {
                            let _ = creator.once(cases[j].1);
                            continue;
                        }
                        match creator.once(black_box(flags)) {
                            Ok(t) => times.push(t.total),
                            Err(e) => panic!("clone3({name}) failed mid-bench: {e}"),
                        }
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
