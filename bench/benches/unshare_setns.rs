//! unshare() and setns() per namespace type.
//!
//! Cases: group `unshare`, ids `pid`, `mnt`, `uts`, `ipc`, `net`, `user`, `cgroup`, `time`;
//! group `setns`, the same ids.
//! Timer: `iter_custom`; each iteration forks a single-threaded child (not timed) that
//! reads CLOCK_MONOTONIC around the one syscall and reports the difference — the same
//! method as `isobench run --scenario clone` (metrics `unshare` / `setns`), pinned to the
//! same CPU (`isobench_bench::pin_like_the_scenario`). The namespace
//! joined by setns is created once, before timing, and held open by an fd. Each sample
//! reports `iters` × the median of its iterations (`isobench_bench::median_total`).
//!
//! Like the scenario, which runs all sixteen operations once per round in a fresh
//! shuffled order, each timed operation is one case of such a round
//! (`isobench_bench::Rounds`, the scenario's own shuffle); the other fifteen run untimed.
//! Repeating one syscall back to back keeps the kernel's caches hot for it, and such a
//! figure is a third lower for the microsecond-scale types than what the scenario (and a
//! container runtime, which calls each once) sees. Flat sampling: an iteration is a whole
//! round of sixteen forked children.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use isobench::sys::ns::{self, NsType};
use isobench::sys::timed_child::{hold_namespace, time_in_child, TimedChildError};

/// One of the sixteen operations.
#[derive(Clone, Copy)]
struct Op<'a> {
    group: &'static str,
    ns: NsType,
    target: Option<BorrowedFd<'a>>,
}

impl Op<'_> {
    fn id(&self) -> String {
        format!("{}/{}", self.group, self.ns.name)
    }

    fn time(&self) -> Result<Duration, TimedChildError> {
        let flag = self.ns.flag as i32;
        match self.target {
            None => time_in_child(|| {
                isobench::sys::fs::unshare(flag).map_err(|e| e.raw_os_error().unwrap_or(0))
            }),
            Some(fd) => time_in_child(|| {
                isobench::sys::fs::setns(fd, flag).map_err(|e| e.raw_os_error().unwrap_or(0))
            }),
        }
    }
}

fn bench(c: &mut Criterion) {
    if !isobench_bench::can_create_namespaces() {
        isobench_bench::skip(
            "unshare/setns",
            "cannot create namespaces here (needs root / CAP_SYS_ADMIN)",
        );
        return;
    }
    let _pinned = isobench_bench::pin_like_the_scenario("unshare/setns");
    let holders: Vec<(NsType, Result<OwnedFd, TimedChildError>)> =
        ns::ALL.iter().map(|t| (*t, hold_namespace(t))).collect();
    let mut ops: Vec<Op<'_>> = Vec::new();
    for t in ns::ALL.iter() {
        ops.push(Op {
            group: "unshare",
            ns: *t,
            target: None,
        });
    }
    for (t, h) in &holders {
        match h {
            Ok(fd) => ops.push(Op {
                group: "setns",
                ns: *t,
                target: Some(fd.as_fd()),
            }),
            Err(e) => isobench_bench::skip(&format!("setns/{}", t.name), &e.to_string()),
        }
    }
    // Capability probe: one untimed run of each.
    ops.retain(|op| match op.time() {
        Ok(_) => true,
        Err(e) => {
            isobench_bench::skip(&op.id(), &e.to_string());
            false
        }
    });
    for group in ["unshare", "setns"] {
        let mut g = c.benchmark_group(group);
        // An iteration is a whole round of sixteen forked children (~5–10 ms): too long for
        // linear sampling's 465 iterations in the 2 s target, so every sample gets the
        // same iteration count.
        g.sampling_mode(criterion::SamplingMode::Flat);
        for (i, op) in ops.iter().enumerate().filter(|(_, o)| o.group == group) {
            let mut rounds = isobench_bench::Rounds::new(ops.len());
            g.bench_function(op.ns.name, |b| {
                b.iter_custom(|iters| {
                    let mut times = Vec::with_capacity(iters as usize);
                    for _ in 0..iters {
                        for j in rounds.next_round() {
                            if j != i {
                                let _ = ops[j].time();
                                continue;
                            }
                            times.push(
                                op.time().unwrap_or_else(|e| {
                                    panic!("{} failed mid-bench: {e}", op.id())
                                }),
                            );
                        }
                    }
                    isobench_bench::median_total(times)
                })
            });
        }
        g.finish();
    }
}

criterion_group! { name = benches; config = isobench_bench::micro(); targets = bench }
criterion_main!(benches);
