//! Section 2 of the `clone` scenario: N threads creating at once (label `concurrency`),
//! per-op `total` and the batch's `throughput`. Never pinned: the threads are meant to
//! spread over the CPUs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use isobench_reports::model::Status;

use super::SUBJECT;
use crate::measure::clone_timer::Creator;
use crate::measure::Collector;
use crate::scenario::Ctx;
use crate::sys;

/// The concurrency sweep over `cases` × `ctx.options.clone.concurrency`, `rounds` times.
pub(super) fn sweep(
    ctx: &Ctx<'_>,
    conc_cases: &[(&str, u64)],
    conc_rounds: usize,
    ops_per_thread: usize,
    col: &mut Collector,
) -> Option<&'static str> {
    let plan = &ctx.plan;
    for round in 0..conc_rounds {
        let mut points: Vec<(&str, u64, usize)> = Vec::new();
        for (name, flags) in conc_cases {
            for &c in &ctx.options.clone.concurrency {
                points.push((name, *flags, c));
            }
        }
        for i in plan.round_order(points.len(), round) {
            if let Some(sig) = sys::signals::interrupted() {
                return Some(sys::signals::name(sig));
            }
            let (name, flags, conc) = points[i];
            let mut labels = BTreeMap::new();
            labels.insert("concurrency".to_string(), conc.to_string());
            match concurrent_batch(flags, conc, ops_per_thread) {
                Ok((lat, wall)) => {
                    for l in &lat {
                        col.add_value(SUBJECT, name, "total", &labels, "ns", l.as_nanos() as f64);
                    }
                    let ops = lat.len() as f64 / wall.as_secs_f64();
                    col.add_value(SUBJECT, name, "throughput", &labels, "ops/s", ops);
                }
                Err(e) => col.problem(
                    SUBJECT,
                    name,
                    "throughput",
                    Status::Failed,
                    &format!("concurrent clone3 failed: {e}"),
                ),
            }
            ctx.progress.inc(1);
        }
    }

    None
}

/// `conc` threads each create `ops` children with `flags`; returns every op's latency and
/// the batch's wall time (from the common start to the last thread's end).
fn concurrent_batch(
    flags: u64,
    conc: usize,
    ops: usize,
) -> std::io::Result<(Vec<Duration>, Duration)> {
    let barrier = std::sync::Barrier::new(conc + 1);
    let mut creators: Vec<Creator> = (0..conc)
        .map(|_| Creator::new())
        .collect::<std::io::Result<_>>()?;
    std::thread::scope(|s| {
        let handles: Vec<_> = creators
            .iter_mut()
            .map(|c| {
                let b = &barrier;
                s.spawn(move || -> std::io::Result<(Vec<Duration>, Instant)> {
                    b.wait();
                    let mut lat = Vec::with_capacity(ops);
                    for _ in 0..ops {
                        if sys::signals::interrupted().is_some() {
                            break;
                        }
                        lat.push(c.once(flags)?.total);
                    }
                    Ok((lat, Instant::now()))
                })
            })
            .collect();
        barrier.wait();
        let t0 = Instant::now();
        let mut all = Vec::new();
        let mut end = t0;
        for h in handles {
            let (lat, t) = h
                .join()
                .map_err(|_| std::io::Error::other("creator thread panicked"))??;
            all.extend(lat);
            end = end.max(t);
        }
        Ok((all, end - t0))
    })
}
