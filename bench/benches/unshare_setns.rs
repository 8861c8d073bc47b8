//! unshare() and setns() per namespace type.
//!
//! Cases: group `unshare`, ids `pid`, `mnt`, `uts`, `ipc`, `net`, `user`, `cgroup`, `time`;
//! group `setns`, the same ids.
//! Timer: `iter_custom`; each iteration forks a single-threaded child (not timed) that
//! reads CLOCK_MONOTONIC around the one syscall and reports the difference — the same
//! method as `isobench run --scenario clone` (metrics `unshare` / `setns`). The namespace
//! joined by setns is created once, before timing, and held open by an fd. Each sample
//! reports `iters` × the median of its iterations (`isobench_bench::median_total`).

use std::os::fd::AsFd;

use criterion::{criterion_group, criterion_main, Criterion};
use isobench::ns;
use isobench::scenario::clone::{hold_namespace, time_in_child};

fn bench(c: &mut Criterion) {
    if !isobench_bench::can_create_namespaces() {
        isobench_bench::skip(
            "unshare/setns",
            "cannot create namespaces here (needs root / CAP_SYS_ADMIN)",
        );
        return;
    }
    let mut g = c.benchmark_group("unshare");
    for t in ns::ALL.iter() {
        let flag = t.flag as i32;
        if let Err(e) = time_in_child(|| {
            isobench::sys::fs::unshare(flag).map_err(|e| e.raw_os_error().unwrap_or(0))
        }) {
            isobench_bench::skip(&format!("unshare/{}", t.name), &e);
            continue;
        }
        g.bench_function(t.name, |b| {
            b.iter_custom(|iters| {
                let mut times = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    times.push(
                        time_in_child(|| {
                            isobench::sys::fs::unshare(flag)
                                .map_err(|e| e.raw_os_error().unwrap_or(0))
                        })
                        .unwrap_or_else(|e| panic!("unshare({}) failed mid-bench: {e}", t.name)),
                    );
                }
                isobench_bench::median_total(times)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("setns");
    for t in ns::ALL.iter() {
        let flag = t.flag as i32;
        let fd = match hold_namespace(t) {
            Ok(fd) => fd,
            Err(e) => {
                isobench_bench::skip(&format!("setns/{}", t.name), &e);
                continue;
            }
        };
        let target = fd.as_fd();
        let op =
            || isobench::sys::fs::setns(target, flag).map_err(|e| e.raw_os_error().unwrap_or(0));
        if let Err(e) = time_in_child(op) {
            isobench_bench::skip(&format!("setns/{}", t.name), &e);
            continue;
        }
        g.bench_function(t.name, |b| {
            b.iter_custom(|iters| {
                let mut times = Vec::with_capacity(iters as usize);
                for _ in 0..iters {
                    times.push(
                        time_in_child(op)
                            .unwrap_or_else(|e| panic!("setns({}) failed mid-bench: {e}", t.name)),
                    );
                }
                isobench_bench::median_total(times)
            })
        });
    }
    g.finish();
}

criterion_group! { name = benches; config = isobench_bench::micro(); targets = bench }
criterion_main!(benches);
