//! Per-namespace clone cost: for each case of the `clone` scenario, the p50 of
//! `over_plain` (clone3 with that namespace flag minus a plain clone3 of the same round)
//! with its bootstrap 95% CI (`summary.p50_ci`) as a whisker. Falls back to `total` when a
//! run has no `over_plain`. Sweep points (labels `concurrency`, `mounts`) are not here.

use super::draw::{self, Bars};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run};
use crate::report::select;

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let mut metric = "over_plain";
    let mut ms: Vec<&Measurement> = select::ok_metric(run, "clone", metric)
        .filter(|m| select::unswept(m))
        .collect();
    if ms.is_empty() {
        metric = "total";
        ms = select::ok_metric(run, "clone", metric)
            .filter(|m| {
                select::unswept(m) && select::class_of(&m.subject) != select::Class::Harness
            })
            .collect();
    }
    if ms.is_empty() {
        return Ok(Vec::new());
    }
    ms.sort_by(|a, b| {
        let (pa, pb) = (
            a.summary.map_or(0.0, |s| s.p50),
            b.summary.map_or(0.0, |s| s.p50),
        );
        pb.total_cmp(&pa)
    });
    let categories: Vec<String> = ms
        .iter()
        .map(|m| {
            if m.subject == "namespaces" {
                m.case.clone()
            } else {
                select::series_name(m)
            }
        })
        .collect();
    let values: Vec<f64> = ms
        .iter()
        .map(|m| m.summary.map_or(f64::NAN, |s| s.p50))
        .collect();
    let whiskers = ms
        .iter()
        .map(|m| m.summary.map(|s| (s.p50_ci[0], s.p50_ci[1])))
        .collect();
    let svg = draw::hbars(
        "clone_cost",
        &Bars {
            categories,
            stacks: vec![(metric.to_string(), values)],
            whiskers,
            category_colors: (0..ms.len()).map(|_| 0).collect(),
            unit: "ns".into(),
            value_desc: if metric == "over_plain" {
                "clone3 cost over a plain clone3, p50 with 95% CI".into()
            } else {
                "clone3 total, p50 with 95% CI".into()
            },
            annotate: true,
            ..Bars::default()
        },
    )?;
    // Where the creator ran (`isobench run --pin`), as the scenario remarked.
    let placement = ms
        .iter()
        .find_map(|m| m.reason.as_deref())
        .map(|r| format!(" Placement: {r}."))
        .unwrap_or_default();
    let caption = if metric == "over_plain" {
        "What each namespace flag adds to clone3(): per round, the time until the child was \
         reaped minus that of a plain clone3 in the same round. Bars are medians, whiskers \
         the bootstrap 95% CI of the median. Network namespace teardown runs asynchronously \
         in the kernel and is not included."
    } else {
        "clone3() with each namespace flag, time until the child was reaped; medians with \
         bootstrap 95% CI whiskers."
    };
    Ok(vec![Chart {
        id: "clone-cost".into(),
        title: "Per-namespace clone() cost".into(),
        caption: format!("{caption}{placement}"),
        svg,
    }])
}
