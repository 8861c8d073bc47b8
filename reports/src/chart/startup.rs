//! Startup latency per subject as empirical CDFs on a log10 time axis, so a 1 ms process
//! and a 5 s emulated VM share one axis. Data: `startup`/`ready` (host clock from just
//! before launch to the payload's ready marker), one curve per subject/case.

use plotters::prelude::*;

use super::draw::{self, Axis};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run};
use crate::report::select;

/// Most steps drawn per curve. The chart is 420 px high, so a step of 1/1000 of the
/// launches is under half a pixel: more would only make the SVG bigger (a million
/// samples drew 2 million points, a 15 MB report).
pub const MAX_CDF_STEPS: usize = 1000;

fn median_sorted(v: &[f64]) -> f64 {
    crate::stats::percentile_sorted(v, 0.5)
}

/// The empirical CDF of `sorted` as the corners of its step function: at value x_k the
/// share of launches rises from k/n to (k+1)/n. With more than `max_steps` values only
/// `max_steps` of the steps are drawn, at evenly spaced ranks, the first and the last
/// among them, joined by straight lines: the drawn curve is everywhere within
/// 1/`max_steps` of the share of the true one.
pub fn cdf_steps(sorted: &[f64], max_steps: usize) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let steps = n.min(max_steps.max(2));
    let mut pts = Vec::with_capacity(2 * steps);
    let mut last = None;
    for i in 0..steps {
        // Evenly spaced ranks from 0 to n - 1 (all of them when n <= max_steps).
        let k = if steps == 1 {
            0
        } else {
            i * (n - 1) / (steps - 1)
        };
        if last == Some(k) {
            continue;
        }
        last = Some(k);
        pts.push((sorted[k], k as f64 / n as f64));
        pts.push((sorted[k], (k + 1) as f64 / n as f64));
    }
    pts
}

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
    // Each curve is sorted: its median and its extremes are read off, not recomputed.
    curves.sort_by(|a, b| median_sorted(&a.1).total_cmp(&median_sorted(&b.1)));
    let ends = || curves.iter().flat_map(|(_, v)| [v[0], v[v.len() - 1]]);
    let axis = Axis::new("ns", ends(), true);
    let x_range = axis.range(ends());
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
            let pts = cdf_steps(v, MAX_CDF_STEPS)
                .into_iter()
                .map(|(x, share)| (axis.map(x), share));
            ch.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
            items.push((format!("{name} (n={})", v.len()), c));
            let med = axis.map(median_sorted(v));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_steps_are_every_step_when_few_and_bounded_when_many() {
        let few: Vec<f64> = (1..=5).map(f64::from).collect();
        assert_eq!(
            cdf_steps(&few, 1000),
            [1.0, 2.0, 3.0, 4.0, 5.0]
                .iter()
                .enumerate()
                .flat_map(|(k, &x)| [(x, k as f64 / 5.0), (x, (k + 1) as f64 / 5.0)])
                .collect::<Vec<_>>()
        );
        let many: Vec<f64> = (0..123_457).map(f64::from).collect();
        let pts = cdf_steps(&many, 1000);
        assert!(pts.len() <= 2000, "{}", pts.len());
        assert_eq!(pts[0], (0.0, 0.0));
        assert_eq!(pts[pts.len() - 1], (123_456.0, 1.0));
        // Every drawn corner lies on the true CDF; between corners the share moves by
        // at most 1/1000 of the launches plus one step.
        for w in pts.windows(2) {
            assert!(w[1].0 >= w[0].0 && w[1].1 >= w[0].1);
            assert!(w[1].1 - w[0].1 <= 1.0 / 1000.0 + 1.0 / 123_457.0 + 1e-12);
        }
        for &(x, share) in &pts {
            let true_share = (x + 1.0) / 123_457.0;
            assert!(share == true_share || share == x / 123_457.0, "{x} {share}");
        }
    }
}
