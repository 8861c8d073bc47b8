//! Charts of one run, one file per chart, each drawn only where its data exist. Every
//! chart is an inline SVG string (plotters' SVG backend; text as `<text>` elements, fonts
//! left to the browser), ready to be embedded in the self-contained HTML report.
//!
//! * `startup`     — startup latency per subject as CDFs on a log axis;
//! * `phases`      — startup phases other than ready/total, stacked;
//! * `clone_cost`  — per-namespace clone cost (over_plain) with CI whiskers;
//! * `concurrency` — the clone concurrency sweep (throughput, per-op total);
//! * `mounts`      — clone(CLONE_NEWNS) against the size of the mount table;
//! * `throttle`    — CPU share and p99 latency against the CPU quota;
//! * `footprint`   — memory footprint (`*_rss`, `*_pss`);
//! * `density`     — memory per instance against N by method, and `launch_k` against k.
//!
//! `workload` (per workload, each subject's ratio to a plain process, right = better) is
//! not in [`all`] either: the report draws it in its workload section, beside the method.
//! `ladder` (every subject's startup on one axis, ordered by isolation) is not in [`all`]:
//! the report draws it on its first screen, beside the verdict. `forest` draws a
//! comparison, not a run (the compare page).

pub mod draw;
pub mod forest;
pub mod ladder;

mod clone_cost;
mod concurrency;
mod density;
mod footprint;
mod mounts;
mod phases;
mod stacked_log;
mod startup;
mod sweep;
mod throttle;
pub mod workload;

use serde::Serialize;

pub use startup::MAX_CDF_STEPS;

use crate::model::Run;

/// One drawn chart.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chart {
    /// Stable anchor, e.g. "startup".
    pub id: String,
    pub title: String,
    /// What is drawn and how to read it.
    pub caption: String,
    /// `<svg ...>...</svg>`; text in it is escaped by the backend.
    pub svg: String,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("chart {chart}: drawing failed: {message}")]
    Draw {
        chart: &'static str,
        message: String,
    },
}

type Builder = fn(&Run) -> Result<Vec<Chart>, ChartError>;

/// Every chart whose data exist in `run`, in reading order; charts that failed to draw
/// are reported in the second list instead of failing the whole report.
pub fn all(run: &Run) -> (Vec<Chart>, Vec<ChartError>) {
    let builders: [Builder; 8] = [
        startup::chart,
        phases::chart,
        footprint::chart,
        clone_cost::chart,
        concurrency::chart,
        mounts::chart,
        throttle::chart,
        density::chart,
    ];
    let mut charts = Vec::new();
    let mut errors = Vec::new();
    for b in builders {
        match b(run) {
            Ok(c) => charts.extend(c.into_iter().map(|mut c| {
                c.svg = draw::titled(&c.svg, &c.title, &c.caption);
                c
            })),
            Err(e) => errors.push(e),
        }
    }
    (charts, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Measurement, MeasurementKey};
    use std::collections::BTreeMap;

    fn run(ms: Vec<Measurement>) -> Run {
        Run::of_measurements(ms)
    }

    #[test]
    fn empty_run_draws_nothing_and_data_draws_svg() {
        let (c, e) = all(&run(vec![]));
        assert!(c.is_empty() && e.is_empty());
        let m = Measurement::from_samples(
            MeasurementKey::new("startup", "<script>x</script>", "default", "ready"),
            "ns",
            BTreeMap::new(),
            vec![1e6, 2e6, 3e6],
        );
        let (c, e) = all(&run(vec![m]));
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(c.len(), 1);
        assert!(c[0].svg.starts_with("<svg"));
        assert!(
            c[0].svg.contains("<title>Startup latency"),
            "{}",
            &c[0].svg[..200]
        );
        assert!(c[0].svg.contains("<desc>"));
        assert!(!c[0].svg.contains("<script>"), "label must be escaped");
        assert!(c[0].svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn clone_cost_caption_names_the_placement_the_scenario_remarked() {
        let mut ms: Vec<Measurement> = ["none", "net"]
            .iter()
            .map(|case| {
                Measurement::from_samples(
                    MeasurementKey::new("clone", "namespaces", case, "total"),
                    "ns",
                    BTreeMap::new(),
                    vec![1e4, 2e4, 3e4],
                )
            })
            .collect();
        let caption = |ms: &[Measurement]| {
            clone_cost::chart(&run(ms.to_vec())).expect("chart")[0]
                .caption
                .clone()
        };
        assert!(!caption(&ms).contains("Placement"));
        for m in &mut ms {
            m.reason = Some("pinned to CPU 1 (creator and children; isobench run --pin)".into());
        }
        assert!(caption(&ms)
            .ends_with(" Placement: pinned to CPU 1 (creator and children; isobench run --pin)."));
    }
}
