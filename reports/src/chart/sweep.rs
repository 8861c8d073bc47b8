//! Shared shaping of sweep measurements (one label varied, e.g. `concurrency` or `mounts`)
//! into lines over the label's values, sorted numerically.

use std::collections::BTreeMap;

use super::draw::{Lines, Point};
use crate::model::Measurement;
use crate::report::select;

/// Lines of p50 (with the p50 CI) of `ms` over the values of label `key`; one series per
/// `series_of(m)`. `None` when fewer than one point.
pub fn lines_over_label(
    ms: &[&Measurement],
    key: &str,
    series_of: impl Fn(&Measurement) -> String,
) -> Option<Lines> {
    let mut xs: Vec<String> = ms
        .iter()
        .filter_map(|m| m.labels.get(key).cloned())
        .collect();
    xs.sort_by(|a, b| num(a).total_cmp(&num(b)).then(a.cmp(b)));
    xs.dedup();
    if xs.is_empty() {
        return None;
    }
    let mut series: BTreeMap<String, Vec<Option<Point>>> = BTreeMap::new();
    for m in ms {
        let (Some(x), Some(s)) = (m.labels.get(key), m.summary) else {
            continue;
        };
        let Some(i) = xs.iter().position(|v| v == x) else {
            continue;
        };
        let pts = series
            .entry(series_of(m))
            .or_insert_with(|| vec![None; xs.len()]);
        pts[i] = Some(Point {
            y: s.p50,
            interval: Some((s.p50_ci[0], s.p50_ci[1])),
        });
    }
    Some(Lines {
        categories: xs,
        series: series.into_iter().collect(),
        unit: ms.first().map(|m| m.unit.clone()).unwrap_or_default(),
        ..Lines::default()
    })
}

/// Numeric value of a label ("8" → 8.0); non-numbers sort last.
pub fn num(s: &str) -> f64 {
    s.trim_end_matches('%').parse().unwrap_or(f64::MAX)
}

/// Series name of a clone-sweep measurement: the case for the namespaces subject.
pub fn case_name(m: &Measurement) -> String {
    if m.subject == "namespaces" {
        m.case.clone()
    } else {
        select::series_name(m)
    }
}
