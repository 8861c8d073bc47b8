//! The clone concurrency sweep (label `concurrency`): sustained creations per second of
//! all threads together (`throughput`, ops/s) and the per-operation `total` latency, each
//! against the number of creator threads, one line per namespace case.

use super::draw;
use super::sweep::{case_name, lines_over_label};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run};
use crate::report::select;

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let mut out = Vec::new();
    let pick = |metric: &str| -> Vec<&Measurement> {
        run.measurements
            .iter()
            .filter(|m| {
                m.scenario == "clone"
                    && m.metric == metric
                    && m.labels.contains_key("concurrency")
                    && m.status == crate::model::Status::Ok
                    && select::has_data(m)
            })
            .collect()
    };
    let tp = pick("throughput");
    if let Some(mut l) = lines_over_label(&tp, "concurrency", case_name) {
        l.x_desc = "creator threads".into();
        l.y_desc = "namespace creations per second (p50 of batches)".into();
        out.push(Chart {
            id: "concurrency-throughput".into(),
            title: "clone() throughput against concurrency".into(),
            caption: "Children created (and reaped) per second by all creator threads together, \
                      median over batches with its 95% CI. Flat lines mean a global lock."
                .into(),
            svg: draw::lines("concurrency", &l)?,
        });
    }
    let total = pick("total");
    if let Some(mut l) = lines_over_label(&total, "concurrency", case_name) {
        l.x_desc = "creator threads".into();
        l.y_desc = "per-operation clone3 total, p50".into();
        l.log = true;
        out.push(Chart {
            id: "concurrency-latency".into(),
            title: "clone() latency against concurrency".into(),
            caption: "Per-operation time from clone3 to reaping the child while N threads create \
                      in parallel; medians with 95% CI, log axis."
                .into(),
            svg: draw::lines("concurrency", &l)?,
        });
    }
    Ok(out)
}
