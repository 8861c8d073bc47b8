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
                s.spawn(
                    move || -> std::io::Result<(Vec<Duration>, Instant, Instant)> {
                        b.wait();
                        let start = Instant::now();
                        let mut lat = Vec::with_capacity(ops);
                        for _ in 0..ops {
                            if sys::signals::interrupted().is_some() {
                                break;
                            }
                            lat.push(c.once(flags)?.total);
                        }
                        Ok((lat, start, Instant::now()))
                    },
                )
            })
            .collect();
        barrier.wait();
        // The batch runs from the first thread's start to the last one's end, each read
        // by the thread itself: a start read here, after the barrier, could come after a
        // descheduled main thread's creators had all finished (a wall time of 0, and an
        // infinite throughput in the run file).
        let mut all = Vec::new();
        let mut span: Option<(Instant, Instant)> = None;
        for h in handles {
            let (lat, start, end) = h
                .join()
                .map_err(|_| std::io::Error::other("creator thread panicked"))??;
            all.extend(lat);
            span = Some(span.map_or((start, end), |(a, b)| (a.min(start), b.max(end))));
        }
        let wall = span.map_or(Duration::ZERO, |(a, b)| b.saturating_duration_since(a));
        if wall.is_zero() {
            return Err(std::io::Error::other("the batch took no measurable time"));
        }
        Ok((all, wall))
    })
}
