//! Memory footprint bars: every metric ending `_rss` or `_pss` (unit bytes), p50 per
//! subject/case, log axis so a 1 MiB process and a 200 MiB VM are both readable. PSS
//! splits shared pages between sharers; RSS counts them whole.

use super::draw::{self, Bars};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run, Status};
use crate::report::select;

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let ms: Vec<&Measurement> = run
        .measurements
        .iter()
        .filter(|m| {
            select::is_footprint(m)
                && m.status == Status::Ok
                && select::has_data(m)
                && select::class_of(&m.subject) != select::Class::Harness
        })
        .collect();
    if ms.is_empty() {
        return Ok(Vec::new());
    }
    let mut metrics: Vec<String> = ms.iter().map(|m| m.metric.clone()).collect();
    metrics.sort();
    metrics.dedup();
    let categories: Vec<String> = ms
        .iter()
        .map(|m| format!("{} · {}", select::series_name(m), m.metric))
        .collect();
    let values = ms
        .iter()
        .map(|m| m.summary.map_or(f64::NAN, |s| s.p50))
        .collect();
    let colors = ms
        .iter()
        .map(|m| metrics.iter().position(|x| *x == m.metric).unwrap_or(0))
        .collect();
    let svg = draw::hbars(
        "footprint",
        &Bars {
            categories,
            stacks: vec![("footprint".into(), values)],
            category_colors: colors,
            color_names: metrics.clone(),
            unit: "bytes".into(),
            log: true,
            value_desc: "memory, p50".into(),
            annotate: true,
            ..Bars::default()
        },
    )?;
    Ok(vec![Chart {
        id: "footprint".into(),
        title: "Memory footprint".into(),
        caption: "Resident (RSS) and proportional (PSS) memory while the payload was alive, \
                  medians, log axis; the colour is the metric."
            .into(),
        svg,
    }])
}
