//! `throughput` across throttling pauses: the probe's side of `refills.rs`.
//!
//! Units per second over the probe's whole window have the same edge effect as the CPU
//! share (a first partial period with a full pool). A unit that holds a throttling pause
//! ends one remainder of work after a refill, so between the ends of two such units the
//! probe did a whole number of periods' work (plus the difference of two remainders of
//! under one unit, zero on average); the rate is the fit of units done against time at
//! the end of every such unit (`slope.rs`). The units are
//! found in the probe's own latencies (its clock, so a VM's guest clock too): a unit
//! longer than the fastest unit plus half the pause a quota leaves (`P − Q`).
//!
//! The probe reports every unit's latency and the whole window; the few nanoseconds of
//! its loop between two units (two clock reads) are spread evenly over the units.

use std::time::Duration;

use super::slope::Slope;

/// Units per second across the units that held a pause (the slope of units done
/// against time at the end of each, `slope.rs`) and the time from the first such unit
/// to the last, if there are two at least `min_time` apart.
pub(super) fn between_pauses(
    lat_ns: &[f64],
    window: Duration,
    pause_over: Duration,
    min_time: Duration,
) -> Option<(f64, Duration)> {
    let fastest = lat_ns.iter().copied().fold(f64::INFINITY, f64::min);
    if !fastest.is_finite() {
        return None;
    }
    let limit = fastest + pause_over.as_nanos() as f64;
    let sum: f64 = lat_ns.iter().sum();
    let gap = ((window.as_nanos() as f64 - sum) / lat_ns.len() as f64).max(0.0);
    let mut fit = Slope::default();
    let (mut end_ns, mut first, mut last) = (0.0, None, 0.0);
    for (i, &l) in lat_ns.iter().enumerate() {
        end_ns += l + gap;
        if l > limit {
            let t0 = *first.get_or_insert(end_ns);
            fit.push((end_ns - t0) / 1e9, i as f64);
            last = end_ns;
        }
    }
    let time = Duration::from_nanos((last - first?) as u64);
    if time < min_time || time.is_zero() {
        return None;
    }
    Some((fit.slope()?, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Latencies of a probe whose 1 ms units run `q` ms per 100 ms period from phase
    /// `phase` (ms into the period, the pool full at the start).
    fn lats(q: u64, phase: u64, run_ms: u64) -> Vec<f64> {
        let mut v = Vec::new();
        let (mut t, mut used) = (0u64, 0u64);
        let mut period_end = 100 - phase;
        while t < run_ms {
            let start = t;
            if used == q {
                // Throttled until the refill, then the unit's work.
                t = period_end;
                used = 0;
                period_end += 100;
            }
            t += 1;
            used += 1;
            if t >= period_end {
                used = t - period_end;
                period_end += 100;
            }
            v.push(((t - start) * 1_000_000) as f64);
        }
        v
    }

    #[test]
    fn throughput_between_pauses_is_the_quota_whatever_the_phase() {
        for q in [10u64, 25, 50] {
            for phase in [0, 30, 60, 95] {
                let l = lats(q, phase, 1000);
                let window = Duration::from_nanos(l.iter().sum::<f64>() as u64);
                let (rate, _time) = between_pauses(
                    &l,
                    window,
                    Duration::from_millis((100 - q) / 2),
                    Duration::from_millis(500),
                )
                .expect("pauses");
                let want = q as f64 * 10.0; // units of 1 ms per second
                assert!(
                    (rate / want - 1.0).abs() < 0.002,
                    "q {q} phase {phase}: {rate}"
                );
            }
        }
    }

    #[test]
    fn no_pauses_or_too_short_a_span_is_none() {
        let flat = vec![1e6; 500];
        let w = Duration::from_millis(500);
        assert_eq!(
            between_pauses(&flat, w, Duration::from_millis(25), Duration::ZERO),
            None
        );
        assert_eq!(
            between_pauses(&[], w, Duration::from_millis(25), Duration::ZERO),
            None
        );
        let one = lats(25, 0, 120);
        let w = Duration::from_millis(120);
        assert_eq!(
            between_pauses(&one, w, Duration::from_millis(37), Duration::ZERO),
            None,
            "one pause is no span"
        );
        let l = lats(25, 0, 1000);
        let w = Duration::from_millis(1000);
        assert!(
            between_pauses(&l, w, Duration::from_millis(37), Duration::from_millis(500)).is_some()
        );
        assert_eq!(
            between_pauses(&l, w, Duration::from_millis(37), Duration::from_millis(990)),
            None
        );
    }
}
