//! Stacked horizontal bars on a log10 axis, for phases whose sizes differ by orders of
//! magnitude (a sandbox's sub-millisecond create beside runc's 46 ms). A linear stack
//! hides the small bars; a log axis cannot add lengths, so each segment is drawn from the
//! running total before its phase to the running total after it: a segment's length is
//! how many times longer the launch got in that phase, and the bar ends at the sum.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{self, Axis, FONT};
use super::ChartError;
use crate::units::format_value;

/// Bars of `categories`, each the stack of `series` (name, value per category; NaN for
/// none) in order, in `unit`.
#[derive(Debug, Clone, Default)]
pub struct LogStacks {
    pub categories: Vec<String>,
    pub series: Vec<(String, Vec<f64>)>,
    pub unit: String,
    pub value_desc: String,
}

/// Running totals of category `i`: (series index, start, end) of each drawn segment.
fn segments(s: &LogStacks, i: usize) -> Vec<(usize, f64, f64)> {
    let mut total = 0.0;
    let mut out = Vec::new();
    for (si, (_, vals)) in s.series.iter().enumerate() {
        let Some(v) = vals.get(i).copied().filter(|v| v.is_finite() && *v > 0.0) else {
            continue;
        };
        out.push((si, total, total + v));
        total += v;
    }
    out
}

/// Draw `s` as an SVG string.
pub fn draw(chart: &'static str, s: &LogStacks) -> Result<String, ChartError> {
    let n = s.categories.len();
    let segs: Vec<Vec<(usize, f64, f64)>> = (0..n).map(|i| segments(s, i)).collect();
    let values: Vec<f64> = segs
        .iter()
        .flatten()
        // The durations too, so the axis reaches down to the shortest phase.
        .flat_map(|(_, a, b)| [*b, *b - *a])
        .filter(|v| *v > 0.0)
        .collect();
    let axis = Axis::new(&s.unit, values.iter().copied(), true);
    let mut x = axis.range(values.iter().copied());
    x.end += (x.end - x.start) * 0.12;
    let label_w = s
        .categories
        .iter()
        .map(|c| c.chars().count() as u32 * 7 + 16)
        .max()
        .unwrap_or(60)
        .clamp(60, 320);
    let height = (90 + 30 * n as u32).max(60 + 20 * s.series.len() as u32);
    draw::render(chart, (draw::WIDTH, height), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(12)
            .margin_right(draw::LEGEND_W)
            .x_label_area_size(40)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x.clone(), (0..draw::seg_hi(n)).into_segmented())?;
        ch.configure_mesh()
            .disable_y_mesh()
            .y_labels(n + 1)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(r) if *r >= 0 && (*r as usize) < n => {
                    s.categories[n - 1 - *r as usize].clone()
                }
                _ => String::new(),
            })
            .x_labels(8)
            .x_label_formatter(&|t| axis.label(*t))
            .x_desc(axis.desc(&s.value_desc))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let row = |i: usize| (n - 1 - i) as i32;
        for (i, cat) in segs.iter().enumerate() {
            let mut rects = Vec::new();
            for (si, a, b) in cat {
                let x0 = if *a > 0.0 { axis.map(*a) } else { x.start };
                let mut r = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(row(i))),
                        (axis.map(*b), SegmentValue::Exact(row(i) + 1)),
                    ],
                    draw::color(*si).filled(),
                );
                r.set_margin(5, 5, 0, 0);
                rects.push(r);
            }
            ch.draw_series(rects)?;
            if let Some((_, _, end)) = cat.last() {
                ch.draw_series(std::iter::once(
                    EmptyElement::at((axis.map(*end), SegmentValue::CenterOf(row(i))))
                        + Text::new(
                            format_value(*end, &s.unit),
                            (6, 0),
                            TextStyle::from((FONT, 12).into_font())
                                .pos(Pos::new(HPos::Left, VPos::Center)),
                        ),
                ))?;
            }
        }
        let items: Vec<(String, RGBColor)> = s
            .series
            .iter()
            .enumerate()
            .filter(|(i, _)| segs.iter().flatten().any(|(si, _, _)| si == i))
            .map(|(i, (name, _))| (name.clone(), draw::color(i)))
            .collect();
        draw::legend(root, &items, draw::Swatch::Box)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_run_from_total_to_total_and_skip_missing_phases() {
        let s = LogStacks {
            categories: vec!["sandbox".into(), "runc".into()],
            series: vec![
                ("create".into(), vec![3e5, 3e7]),
                ("start".into(), vec![f64::NAN, 4e6]),
                ("teardown".into(), vec![2e5, 1.2e7]),
            ],
            unit: "ns".into(),
            value_desc: "phases".into(),
        };
        assert_eq!(segments(&s, 0), [(0, 0.0, 3e5), (2, 3e5, 5e5)]);
        assert_eq!(segments(&s, 1).last(), Some(&(2, 3.4e7, 4.6e7)));
        let svg = draw("phases", &s).expect("drawn");
        assert!(
            svg.contains("500 µs") || svg.contains("500.0 µs"),
            "total printed"
        );
    }
}
