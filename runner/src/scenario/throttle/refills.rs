//! `cpu_share` between two CFS refills: the share of a throttled point without the edge
//! effect of a finite window.
//!
//! CFS bandwidth control hands a cgroup `Q` of CPU per period `P`; a timer refills the
//! pool at the end of every period (Documentation/scheduler/sched-bwc.rst). Dividing the
//! CPU a run used by its window counts the partial periods at both edges: the pool is
//! full when the payload starts, so the first partial period can grant a whole quota,
//! and the period timer's phase is set before the payload starts (measured: +3 % at
//! 10 % of a CPU with a 2 s window, +6 % with 1 s). Between two refills the cgroup gets
//! a whole number of quotas, so the share over that span has no edge bias.
//!
//! The harness polls the cgroup's counters while the payload runs (every
//! [`POLL_EVERY`], from a thread of its own; the harness is not in the cgroup):
//! * a refill of a throttled period is when `nr_throttled` goes up: the kernel counts the
//!   throttled period in the timer that refills the pool (`do_sched_cfs_period_timer`),
//!   and unthrottles the cgroup there, adding the pause to `throttled_time`; its time is
//!   taken as the midpoint of the two polls around it (error ≤ half of [`POLL_EVERY`]
//!   plus a read);
//! * the usage at the refill is the usage the earlier of the two polls read, which is
//!   exact only if the cgroup was already throttled then (its tasks dequeued, their
//!   time charged; a running task's usage is charged only at ticks). It was if the pause
//!   that refill ended (the growth of `throttled_time`) is longer than the time from that
//!   earlier poll to the later one; a refill for which that is not sure is not used.
//!
//! `cpu_share` = the slope of usage against time over those refills (a least-squares
//! fit, `slope.rs`; at least two refills half the window apart). The rest of the error
//! is the kernel's own: it notices an exhausted quota at the next tick (4 ms at
//! HZ=250) and takes the overrun out of the next period, so each refill's usage is off
//! by an overrun in [0, tick), zero-mean across the span (measured on the reference
//! host: ±2 % of the share per 1 s run at 10 % of a CPU, ±0.3 % at 50 %). A point that is never throttled (unlimited, and quotas a
//! single-threaded probe cannot use up) has no refills to align to, and no edge effect:
//! its share is usage over the probe's whole window.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::slope::Slope;
use crate::cgroup::{CpuReader, CpuStats};

/// How often the poller reads the counters: short against the pause of a throttled
/// period (P − Q: 50 ms at 50 % of the default 100 ms period), cheap for the harness's
/// core (two small cgroupfs reads per poll on v1, one on v2).
pub(super) const POLL_EVERY: Duration = Duration::from_millis(1);

/// One read of the counters, with the instants around it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Poll {
    /// Before the read (the throttling counters are read first, `cgroup::cpu_reader`).
    pub(super) at: Instant,
    /// After the read.
    pub(super) done: Instant,
    pub(super) stats: CpuStats,
}

/// A refill with a usage known to be exact.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Refill {
    at: Instant,
    usage: Duration,
}

/// What the refills of one run give: the share of a CPU the cgroup used across them
/// and the time from the first usable refill to the last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Span {
    pub(super) share: f64,
    pub(super) time: Duration,
}

/// Follows the polls of one run (online: a run of any length keeps a few values).
#[derive(Debug, Default)]
pub(super) struct Refills {
    prev: Option<Poll>,
    first: Option<Refill>,
    last: Option<Refill>,
    /// Usage (s) against time (s), both from the first usable refill.
    fit: Slope,
    /// Refills seen, and of them those whose usage was sure (for `--verbose`).
    pub(super) seen: u64,
    pub(super) usable: u64,
}

impl Refills {
    pub(super) fn push(&mut self, p: Poll) {
        if let Some(prev) = self.prev {
            if p.stats.nr_throttled > prev.stats.nr_throttled {
                self.seen += 1;
                let pause = p.stats.throttled.saturating_sub(prev.stats.throttled);
                if pause > p.done.saturating_duration_since(prev.at) {
                    let half = p.at.saturating_duration_since(prev.at) / 2;
                    let r = Refill {
                        at: prev.at + half,
                        usage: prev.stats.usage,
                    };
                    self.usable += 1;
                    let first = *self.first.get_or_insert(r);
                    self.fit.push(
                        r.at.saturating_duration_since(first.at).as_secs_f64(),
                        r.usage.saturating_sub(first.usage).as_secs_f64(),
                    );
                    self.last = Some(r);
                }
            }
        }
        self.prev = Some(p);
    }

    /// The share across the usable refills (the slope of usage against time, `slope.rs`)
    /// if they span at least `min_time` and fall in at least half of the periods of
    /// length `period` in that span: a cgroup throttled now and then (a multi-threaded
    /// QEMU at 100 %) has no edge effect to remove and keeps the whole window, as an
    /// unthrottled one does; a short span carries more of the tick error.
    pub(super) fn span(&self, min_time: Duration, period: Duration) -> Option<Span> {
        let (a, b) = (self.first?, self.last?);
        let time = b.at.saturating_duration_since(a.at);
        if time < min_time || time.is_zero() || period.is_zero() {
            return None;
        }
        let periods = time.as_secs_f64() / period.as_secs_f64();
        if ((self.usable - 1) as f64) < periods / 2.0 {
            return None;
        }
        Some(Span {
            share: self.fit.slope()?,
            time,
        })
    }
}

/// Poll `reader` every [`POLL_EVERY`] until `stop` is set. A read that fails (the cgroup
/// went away with its payload) ends the polling: what was seen until then stands.
pub(super) fn watch(reader: &CpuReader, stop: &AtomicBool) -> Refills {
    let mut refills = Refills::default();
    while !stop.load(Ordering::Acquire) {
        let at = Instant::now();
        let Ok(stats) = reader.read() else {
            break;
        };
        refills.push(Poll {
            at,
            done: Instant::now(),
            stats,
        });
        std::thread::sleep(POLL_EVERY);
    }
    refills
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const P: Duration = Duration::from_millis(100);

    /// A simulated cgroup at quota `q_ms` per 100 ms period, polled every ms from t=0:
    /// it starts at phase `phase_ms` in its period with a full pool (the first partial
    /// period grants a whole quota, as the kernel does), and is throttled for the rest
    /// of every period.
    fn polls(q_ms: u64, phase_ms: u64, run_ms: u64) -> Vec<Poll> {
        let t0 = Instant::now();
        let (mut usage, mut nr, mut throttled) = (0u64, 0u64, 0u64);
        let mut used_in_period = 0u64;
        let mut pause_start: Option<u64> = None;
        let mut v = Vec::new();
        for t in 0..run_ms {
            let in_period = (phase_ms + t) % 100;
            if in_period == 0 && t > 0 {
                // The refill: count the throttled period, end its pause.
                if let Some(s) = pause_start.take() {
                    nr += 1;
                    throttled += t - s;
                }
                used_in_period = 0;
            }
            let at = t0 + MS * t as u32;
            v.push(Poll {
                at,
                done: at + Duration::from_micros(20),
                stats: CpuStats {
                    usage: MS * usage as u32,
                    nr_periods: 0,
                    nr_throttled: nr,
                    throttled: MS * throttled as u32,
                },
            });
            if used_in_period < q_ms {
                usage += 1;
                used_in_period += 1;
            } else if pause_start.is_none() {
                pause_start = Some(t);
            }
        }
        v
    }

    #[test]
    fn the_span_between_refills_has_no_edge_bias_whatever_the_phase() {
        for q in [10, 25, 50] {
            for phase in [0, 7, 50, 93] {
                let mut r = Refills::default();
                let p = polls(q, phase, 1000);
                // The whole-window share of the same run is biased by the full first pool.
                let whole = p.last().expect("polls").stats.usage.as_secs_f64() / 1.0;
                for x in p {
                    r.push(x);
                }
                let s = r.span(Duration::from_millis(500), P).expect("a span");
                let want = q as f64 / 100.0;
                assert!((s.share - want).abs() < 0.002, "q {q} phase {phase}: {s:?}");
                assert!(r.seen >= 8 && r.usable == r.seen, "{r:?}");
                if phase == 50 && q < 50 {
                    // A 50 ms first period granted a whole quota: +10 % at 10 %.
                    assert!(whole > want * 1.04, "q {q} phase {phase}: whole {whole}");
                }
            }
        }
    }

    #[test]
    fn a_refill_whose_pause_was_shorter_than_the_polls_around_it_is_not_used() {
        let t0 = Instant::now();
        let poll = |ms: u32, usage_ms: u32, nr: u64, thr_ms: u32| Poll {
            at: t0 + MS * ms,
            done: t0 + MS * ms + Duration::from_micros(20),
            stats: CpuStats {
                usage: MS * usage_ms,
                nr_periods: 0,
                nr_throttled: nr,
                throttled: MS * thr_ms,
            },
        };
        let mut r = Refills::default();
        // Usage read at 10 ms, refill seen at 15 ms after a 2 ms pause: the usage read at
        // 10 ms may predate the throttle, so it is not used.
        r.push(poll(10, 5, 0, 0));
        r.push(poll(15, 9, 1, 2));
        assert_eq!((r.seen, r.usable), (1, 0));
        assert_eq!(r.span(Duration::ZERO, P), None);
        // A long pause makes the next one sure; one refill is no span yet.
        r.push(poll(115, 20, 1, 2));
        r.push(poll(116, 20, 2, 80));
        assert_eq!((r.seen, r.usable), (2, 1));
        assert_eq!(r.span(Duration::ZERO, P), None);
        r.push(poll(215, 30, 2, 80));
        r.push(poll(216, 30, 3, 160));
        let s = r.span(Duration::ZERO, P).expect("two usable refills");
        assert!((s.share - 0.1).abs() < 1e-9, "{s:?}");
        assert_eq!(s.time, MS * 100);
        // Too short against what the caller asks: none.
        assert_eq!(r.span(Duration::from_millis(101), P), None);
        // Refills in fewer than half of the periods they span (a cgroup throttled now
        // and then): none, the whole window is the share.
        r.push(poll(815, 40, 3, 160));
        r.push(poll(816, 40, 4, 240));
        assert_eq!(r.usable, 3);
        assert_eq!(r.span(Duration::ZERO, P), None);
    }
}
