//! Startup phases as stacked bars: the p50 of every `startup` metric in ns other than
//! `ready` and `total` (create/start/delete, qemu-start/firmware/kernel/init, teardown),
//! one bar per subject/case. Each segment is its phase's own median, so the stack is a
//! picture of where time goes, not an exact sum of one launch.

use std::collections::BTreeMap;

use super::draw::{self, Bars};
use super::{Chart, ChartError};
use crate::model::{Run, Status};
use crate::report::select;

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let mut cats: Vec<String> = Vec::new();
    let mut phases: Vec<String> = Vec::new();
    let mut p50: BTreeMap<(String, String), f64> = BTreeMap::new();
    for m in &run.measurements {
        if m.scenario != "startup"
            || m.unit != "ns"
            || matches!(m.metric.as_str(), "ready" | "total")
            || m.status != Status::Ok
            || !select::unswept(m)
            || select::class_of(&m.subject) == select::Class::Harness
        {
            continue;
        }
        let Some(s) = m.summary else { continue };
        let cat = select::series_name(m);
        if !cats.contains(&cat) {
            cats.push(cat.clone());
        }
        if !phases.contains(&m.metric) {
            phases.push(m.metric.clone());
        }
        p50.insert((cat, m.metric.clone()), s.p50);
    }
    if cats.is_empty() {
        return Ok(Vec::new());
    }
    let stacks = phases
        .iter()
        .map(|ph| {
            let vals = cats
                .iter()
                .map(|c| {
                    p50.get(&(c.clone(), ph.clone()))
                        .copied()
                        .unwrap_or(f64::NAN)
                })
                .collect();
            (ph.clone(), vals)
        })
        .collect();
    let svg = draw::hbars(
        "phases",
        &Bars {
            categories: cats,
            stacks,
            unit: "ns".into(),
            value_desc: "median duration of each phase, stacked".into(),
            annotate: true,
            ..Bars::default()
        },
    )?;
    Ok(vec![Chart {
        id: "phases".into(),
        title: "Startup phases".into(),
        caption: "Median of each recorded phase (everything but ready and total), stacked per \
                  subject. Teardown is timed after the payload exited and is not part of ready."
            .into(),
        svg,
    }])
}
