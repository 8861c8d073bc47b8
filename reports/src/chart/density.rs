//! The `density` scenario's two charts:
//! * `density` — memory per instance against the number of instances alive (N), one
//!   colour per subject and one line style per method (MemAvailable solid, PSS dashed,
//!   cgroup dotted, slab short dashes), medians on a log axis; a median at or below zero
//!   (MemAvailable's noise larger than what the instances took) cannot be drawn on it and
//!   is left out, which the caption says.
//! * `density-launch` — `launch_k`: the ready latency of the k-th launch with k already
//!   running, against k, at each subject's largest level (median over trials per k).

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::draw::{self, Axis, FONT, LEGEND_W, WIDTH};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run};
use crate::report::density::{self, METHODS};
use crate::report::select;

/// How a method's line is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Solid,
    Dashed,
    Dotted,
    Short,
}

const STYLES: [Style; 4] = [Style::Solid, Style::Dashed, Style::Dotted, Style::Short];

/// (subject series, method index) → points (N, p50).
type Lines = BTreeMap<(String, usize), Vec<(f64, f64)>>;

fn memory_lines(run: &Run) -> (Lines, Vec<String>, usize) {
    let mut lines: Lines = BTreeMap::new();
    let mut subjects: Vec<String> = Vec::new();
    let mut not_drawn = 0;
    for (mi, (metric, _)) in METHODS.iter().enumerate() {
        for m in density::of_metric(&run.measurements, metric) {
            let (Some(n), Some(s)) = (density::level(m), m.summary) else {
                continue;
            };
            let name = select::series_name(m);
            if !subjects.contains(&name) {
                subjects.push(name.clone());
            }
            if s.p50 <= 0.0 {
                not_drawn += 1;
                continue;
            }
            lines.entry((name, mi)).or_default().push((n as f64, s.p50));
        }
    }
    for pts in lines.values_mut() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    (lines, subjects, not_drawn)
}

fn draw_line(
    ch: &mut ChartContext<
        '_,
        SVGBackend<'_>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    pts: Vec<(f64, f64)>,
    style: Style,
    c: RGBColor,
) -> draw::DrawResult {
    let s = c.stroke_width(2);
    match style {
        Style::Solid => {
            ch.draw_series(LineSeries::new(pts.clone(), s))?;
        }
        Style::Dashed => {
            ch.draw_series(DashedLineSeries::new(pts.clone(), 10, 6, s))?;
        }
        Style::Short => {
            ch.draw_series(DashedLineSeries::new(pts.clone(), 3, 4, s))?;
        }
        Style::Dotted => {
            ch.draw_series(DottedLineSeries::new(pts.clone(), 0, 6, move |p| {
                Circle::new(p, 2, c.filled())
            }))?;
        }
    }
    ch.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))?;
    Ok(())
}

/// Legend: subjects by colour, then the methods by line style, in the right margin.
fn legend(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    subjects: &[String],
    methods: &[(&str, Style)],
) -> draw::DrawResult {
    let items: Vec<(String, RGBColor)> = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), draw::color(i)))
        .collect();
    draw::legend(root, &items, draw::Swatch::Line)?;
    let x = WIDTH as i32 - LEGEND_W as i32 + 8;
    for (i, (name, style)) in methods.iter().enumerate() {
        let y = 24 + 20 * (subjects.len() + 1 + i) as i32;
        let grey = RGBColor(60, 60, 60);
        match style {
            Style::Solid => root.draw(&PathElement::new(
                vec![(x, y), (x + 18, y)],
                grey.stroke_width(2),
            ))?,
            Style::Dashed | Style::Short => {
                let (a, b) = if *style == Style::Dashed {
                    (6, 4)
                } else {
                    (3, 3)
                };
                let mut px = x;
                while px < x + 18 {
                    root.draw(&PathElement::new(
                        vec![(px, y), ((px + a).min(x + 18), y)],
                        grey.stroke_width(2),
                    ))?;
                    px += a + b;
                }
            }
            Style::Dotted => {
                for px in [x, x + 9, x + 18] {
                    root.draw(&Circle::new((px, y), 2, grey.filled()))?;
                }
            }
        }
        root.draw(&Text::new(
            name.to_string(),
            (x + 24, y),
            TextStyle::from((FONT, 13).into_font()).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))?;
    }
    Ok(())
}

fn memory_chart(run: &Run) -> Result<Option<Chart>, ChartError> {
    let (lines, subjects, not_drawn) = memory_lines(run);
    if lines.is_empty() {
        return Ok(None);
    }
    let xs: Vec<f64> = lines.values().flatten().map(|p| p.0).collect();
    let ys: Vec<f64> = lines.values().flatten().map(|p| p.1).collect();
    let axis = Axis::new("bytes", ys.iter().copied(), true);
    let y_range = axis.range(ys.iter().copied());
    let x_hi = xs.iter().copied().fold(1.0_f64, f64::max).log2();
    let methods: Vec<(&str, Style)> = METHODS
        .iter()
        .zip(STYLES)
        .map(|((_, n), s)| (*n, s))
        .collect();
    let svg = draw::render("density", (WIDTH, 400), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(12)
            .margin_right(LEGEND_W)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.3..x_hi + 0.3, y_range.clone())?;
        ch.configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|v| {
                let n = 2f64.powf(*v);
                if (n - n.round()).abs() < 0.05 && n >= 1.0 {
                    format!("{}", n.round())
                } else {
                    String::new()
                }
            })
            .y_labels(8)
            .y_label_formatter(&|t| axis.label(*t))
            .x_desc("instances alive (N, log₂ scale)")
            .y_desc(axis.desc("memory per instance, p50"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        for ((subject, mi), pts) in &lines {
            let si = subjects.iter().position(|s| s == subject).unwrap_or(0);
            let pts = pts.iter().map(|(n, y)| (n.log2(), axis.map(*y))).collect();
            draw_line(&mut ch, pts, STYLES[*mi], draw::color(si))?;
        }
        legend(root, &subjects, &methods)
    })?;
    let mut caption = "Memory per instance with N instances alive, by method: MemAvailable \
        (before − after) / N solid, PSS of the instances' processes / N dashed, memory \
        cgroup usage / N dotted, Slab growth / N short dashes; medians over trials, log axis."
        .to_string();
    if not_drawn > 0 {
        caption.push_str(&format!(
            " {not_drawn} median(s) at or below zero (MemAvailable's noise larger than what \
             the instances took) cannot be drawn on a log axis: see the table."
        ));
    }
    Ok(Some(Chart {
        id: "density".into(),
        title: "Memory per instance against the number of instances".into(),
        caption,
        svg,
    }))
}

fn launch_chart(run: &Run) -> Result<Option<Chart>, ChartError> {
    // Each subject's largest level.
    let mut largest: BTreeMap<String, &Measurement> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for m in density::of_metric(&run.measurements, "launch_k") {
        let name = select::series_name(m);
        if !order.contains(&name) {
            order.push(name.clone());
        }
        let bigger = largest
            .get(&name)
            .is_none_or(|o| density::level(o) < density::level(m));
        if bigger {
            largest.insert(name, m);
        }
    }
    let series: Vec<(String, u64, Vec<f64>)> = order
        .iter()
        .filter_map(|name| {
            let m = largest.get(name)?;
            let by_k = density::launch_by_k(m);
            (by_k.len() > 1).then(|| (name.clone(), density::level(m).unwrap_or(0), by_k))
        })
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let ys: Vec<f64> = series.iter().flat_map(|s| s.2.iter().copied()).collect();
    let axis = Axis::new("ns", ys.iter().copied(), true);
    let y_range = axis.range(ys.iter().copied());
    let k_hi = series.iter().map(|s| s.2.len()).max().unwrap_or(1) as f64 - 1.0;
    let svg = draw::render("density-launch", (WIDTH, 380), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(12)
            .margin_right(LEGEND_W)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..k_hi + 0.5, y_range.clone())?;
        ch.configure_mesh()
            .x_labels(10)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_labels(8)
            .y_label_formatter(&|t| axis.label(*t))
            .x_desc("k: instances already running")
            .y_desc(axis.desc("ready latency of launch k, p50"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let mut items = Vec::new();
        for (i, (name, n, by_k)) in series.iter().enumerate() {
            let c = draw::color(i);
            let pts: Vec<(f64, f64)> = by_k
                .iter()
                .enumerate()
                .map(|(k, y)| (k as f64, axis.map(*y)))
                .collect();
            ch.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?;
            ch.draw_series(pts.into_iter().map(|p| Circle::new(p, 2, c.filled())))?;
            items.push((format!("{name} (N={n})"), c));
        }
        draw::legend(root, &items, draw::Swatch::Line)
    })?;
    Ok(Some(Chart {
        id: "density-launch".into(),
        title: "Launch latency against the instances already running".into(),
        caption: "Ready latency of the k-th launch with k instances of the same subject alive, \
                  at each subject's largest level; median over trials for each k, log axis. \
                  A rising line means launching gets slower as the host fills."
            .into(),
        svg,
    }))
}

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    Ok([memory_chart(run)?, launch_chart(run)?]
        .into_iter()
        .flatten()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeasurementKey;

    fn m(subject: &str, metric: &str, n: u64, unit: &str, samples: Vec<f64>) -> Measurement {
        let labels = BTreeMap::from([("instances".to_string(), n.to_string())]);
        Measurement::from_samples(
            MeasurementKey::new("density", subject, "default", metric),
            unit,
            labels,
            samples,
        )
    }

    #[test]
    fn draws_both_charts_and_says_what_it_left_out() {
        let run = Run::of_measurements(vec![
            m("runc", "mem_available", 1, "bytes", vec![2e6, 3e6]),
            m("runc", "mem_available", 8, "bytes", vec![-1e6, -2e6]),
            m("runc", "mem_pss_sum", 1, "bytes", vec![1e6, 1e6]),
            m("runc", "mem_pss_sum", 8, "bytes", vec![4e5, 5e5]),
            m("qemu", "mem_pss_sum", 8, "bytes", vec![2e8, 2e8]),
            m("runc", "launch_k", 4, "ns", vec![1e7, 2e7, 3e7, 4e7]),
        ]);
        let charts = chart(&run).expect("draw");
        let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["density", "density-launch"]);
        assert!(charts[0].caption.contains("1 median(s) at or below zero"));
        assert!(charts[0].svg.contains("MemAvailable") && charts[0].svg.contains("qemu"));
        assert!(charts[1].svg.contains("runc (N=4)"));
        assert!(chart(&Run::of_measurements(vec![]))
            .expect("empty")
            .is_empty());
    }
}
