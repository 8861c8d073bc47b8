//! Where a scenario's wall time goes, per subject: preparation, measuring (warm-up,
//! measured launches and footprint passes) and teardown. Read with the monotonic clock
//! around whole steps, never inside a timed sample; the run file keeps it as
//! `time_spent` and `isobench run` ends with a line of it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use isobench_reports::model::SubjectTime;

/// What a span of wall time was spent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    Prepare,
    Measure,
    Teardown,
}

/// The time of one scenario, by subject. Interior mutability: scenarios hold the context
/// by shared reference.
#[derive(Debug, Default)]
pub struct Ledger {
    by_subject: RefCell<BTreeMap<String, [Duration; 3]>>,
}

impl Ledger {
    pub fn add(&self, subject: &str, what: Spent, d: Duration) {
        let mut m = self.by_subject.borrow_mut();
        let slot = m.entry(subject.to_string()).or_default();
        slot[what as usize] += d;
    }

    /// Run `f`, adding its wall time to `subject`'s `what`.
    pub fn time<T>(&self, subject: &str, what: Spent, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        self.add(subject, what, t.elapsed());
        r
    }

    /// Move `d` of `subject`'s time from one kind to another (a launch's own teardown,
    /// timed inside it, out of `measure`).
    pub fn reclassify(&self, subject: &str, from: Spent, to: Spent, d: Duration) {
        let mut m = self.by_subject.borrow_mut();
        let slot = m.entry(subject.to_string()).or_default();
        let moved = d.min(slot[from as usize]);
        slot[from as usize] -= moved;
        slot[to as usize] += moved;
    }

    /// The subjects' times, in name order, as the run file records them.
    pub fn subjects(&self) -> Vec<SubjectTime> {
        self.by_subject
            .borrow()
            .iter()
            .map(|(s, [p, m, t])| SubjectTime {
                subject: s.clone(),
                prepare_s: p.as_secs_f64(),
                measure_s: m.as_secs_f64(),
                teardown_s: t.as_secs_f64(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_and_moves_time_per_subject() {
        let l = Ledger::default();
        l.add("runc", Spent::Measure, Duration::from_millis(30));
        l.add("runc", Spent::Prepare, Duration::from_millis(5));
        l.reclassify(
            "runc",
            Spent::Measure,
            Spent::Teardown,
            Duration::from_millis(10),
        );
        l.add("process", Spent::Measure, Duration::from_millis(1));
        let s = l.subjects();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].subject, "runc");
        assert!((s[1].measure_s - 0.020).abs() < 1e-9);
        assert!((s[1].teardown_s - 0.010).abs() < 1e-9);
        assert!((s[1].prepare_s - 0.005).abs() < 1e-9);
        // Never more than was there.
        l.reclassify(
            "process",
            Spent::Measure,
            Spent::Teardown,
            Duration::from_secs(1),
        );
        assert_eq!(l.subjects()[0].measure_s, 0.0);
    }
}
