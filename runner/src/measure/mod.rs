//! Taking time: the host-side clock, ready markers, samples and their collection.
//!
//! Every duration isobench reports is a difference of two `Instant`s (CLOCK_MONOTONIC)
//! read in the harness, for every subject alike, so figures of different subjects are
//! comparable: the start is read just before the launch call, the ready point just after
//! the marker's byte (or line) was read, the exit point just after wait4/waitpid returned.

pub mod bench_lines;
pub mod clone_timer;
pub mod collect;
pub mod footprint;
pub mod ledger;
pub mod marker;
pub mod plan;
pub mod settle;

pub use collect::{Collector, SeriesKey};
pub use marker::{wait_byte, LineWaiter, MarkerError};
pub use plan::{Order, Plan};

use std::time::{Duration, Instant};

/// One value of one metric in a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub metric: String,
    pub unit: &'static str,
    pub value: f64,
}

/// One launch's measured values: `ready`, `total` and the subject's phases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub values: Vec<Value>,
}

impl Sample {
    pub fn push_ns(&mut self, metric: &str, d: Duration) {
        self.values.push(Value {
            metric: metric.to_string(),
            unit: "ns",
            value: d.as_nanos() as f64,
        });
    }

    pub fn push(&mut self, metric: &str, unit: &'static str, value: f64) {
        self.values.push(Value {
            metric: metric.to_string(),
            unit,
            value,
        });
    }

    pub fn get(&self, metric: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|v| v.metric == metric)
            .map(|v| v.value)
    }
}

/// `b - a`, or zero when the clock says b is earlier (it cannot, but never panic).
pub fn since(a: Instant, b: Instant) -> Duration {
    b.saturating_duration_since(a)
}
