//! Startup latency per subject as empirical CDFs on a log10 time axis, so a 1 ms process
//! and a 5 s emulated VM share one axis. Data: `startup`/`ready` (host clock from just
//! before launch to the payload's ready marker), one curve per subject/case.

use plotters::prelude::*;

use super::draw::{self, Axis};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run};
use crate::report::select;

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let ms: Vec<&Measurement> = select::ok_metric(run, "startup", "ready")
        .filter(|m| select::unswept(m) && select::class_of(&m.subject) != select::Class::Harness)
        .collect();
    if ms.is_empty() {
        return Ok(Vec::new());
    }
    let mut curves: Vec<(String, Vec<f64>)> = ms
        .iter()
        .map(|m| {
            let mut v: Vec<f64> = m
                .samples
                .iter()
                .copied()
                .filter(|x| x.is_finite() && *x > 0.0)
                .collect();
            v.sort_by(f64::total_cmp);
            (select::series_name(m), v)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    curves.sort_by(|a, b| crate::stats::median(&a.1).total_cmp(&crate::stats::median(&b.1)));
    let all: Vec<f64> = curves.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let axis = Axis::new("ns", all.iter().copied(), true);
    let x_range = axis.range(all.iter().copied());
    let svg = draw::render("startup", (draw::WIDTH, 420), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(12)
            .margin_right(draw::LEGEND_W)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range.clone(), 0.0..1.0)?;
        ch.configure_mesh()
            .x_labels(10)
            .x_label_formatter(&|t| axis.label(*t))
            .y_labels(6)
            .y_label_formatter(&|p| format!("{:.0}%", p * 100.0))
            .x_desc(axis.desc("time from launch to ready marker"))
            .y_desc("share of launches ready")
            .label_style((draw::FONT, 13))
            .axis_desc_style((draw::FONT, 14))
            .draw()?;
        let mut items = Vec::new();
        for (i, (name, v)) in curves.iter().enumerate() {
            let c = draw::color(i);
            let n = v.len() as f64;
            // Empirical CDF as a step function.
            let mut pts = Vec::with_capacity(v.len() * 2);
            for (k, x) in v.iter().enumerate() {
                let t = axis.map(*x);
                pts.push((t, k as f64 / n));
                pts.push((t, (k + 1) as f64 / n));
            }
            ch.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
            items.push((format!("{name} (n={})", v.len()), c));
            let med = axis.map(crate::stats::median(v));
            ch.draw_series(std::iter::once(Circle::new((med, 0.5), 4, c.filled())))?;
        }
        draw::legend(root, &items, draw::Swatch::Line)
    })?;
    Ok(vec![Chart {
        id: "startup".into(),
        title: "Startup latency (ready) per subject".into(),
        caption:
            "Cumulative share of launches whose ready marker had arrived by a given time, \
                  measured on the host clock from just before launch. Log time axis; a dot marks \
                  each median. Curves further left start sooner; a steep curve is a consistent one."
                .into(),
        svg,
    }])
}
