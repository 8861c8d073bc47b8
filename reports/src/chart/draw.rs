//! Drawing primitives shared by the charts: an SVG string backend, the palette, value
//! axes (linear in a readable unit, or log10), horizontal bars over categories and lines
//! over categories. Charts are drawn with plotters' SVG backend, which writes `<text>`
//! elements and leaves the font to the browser: no font file is read at build or run time.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ChartError;
use crate::units::{format_value, scale_for, sig3, Scale};

/// Width of every chart, in SVG pixels (the page scales it down on narrow screens).
pub const WIDTH: u32 = 960;
/// The font family handed to the browser.
pub const FONT: &str = "sans-serif";

/// What a drawing closure returns; plotters' errors are boxed and turned into `ChartError`.
pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Okabe–Ito palette (distinguishable with the common colour-vision deficiencies), then
/// eight of Paul Tol's "muted" colours, so that up to 16 series (the startup phases of
/// every container subject together) never share a colour.
pub fn color(i: usize) -> RGBColor {
    const P: [RGBColor; 16] = [
        RGBColor(0, 114, 178),
        RGBColor(230, 159, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(213, 94, 0),
        RGBColor(240, 228, 66),
        RGBColor(0, 0, 0),
        RGBColor(51, 34, 136),
        RGBColor(68, 170, 153),
        RGBColor(153, 153, 51),
        RGBColor(204, 102, 119),
        RGBColor(136, 34, 85),
        RGBColor(170, 68, 153),
        RGBColor(136, 136, 136),
        RGBColor(221, 204, 119),
    ];
    P[i % P.len()]
}

/// Draw into an SVG string of `size` with `f`.
pub fn render(
    chart: &'static str,
    size: (u32, u32),
    f: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Result<String, ChartError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            .and_then(|()| f(&root))
            .and_then(|()| root.present().map_err(|e| Box::new(e) as _));
        drawn.map_err(|e| ChartError::Draw {
            chart,
            message: e.to_string(),
        })?;
    }
    Ok(buf)
}

/// `svg` with a `<title>` and a `<desc>` as the first children of its root element (and
/// `role="img"`), so a screen reader, a tooltip and a text search can say what it shows.
/// The text is escaped here; plotters' own output is already escaped.
pub fn titled(svg: &str, title: &str, desc: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    match svg
        .strip_prefix("<svg")
        .and_then(|rest| rest.split_once('>'))
    {
        Some((attrs, body)) if !svg.contains("<title>") => format!(
            "<svg role=\"img\"{attrs}><title>{}</title><desc>{}</desc>{body}",
            esc(title),
            esc(desc)
        ),
        _ => svg.to_string(),
    }
}

/// A value axis: linear in a human unit (µs, MiB) or log10 of the raw value.
#[derive(Debug, Clone)]
pub struct Axis {
    pub unit: String,
    pub log: bool,
    pub scale: Scale,
}

impl Axis {
    /// An axis for `values` in `unit`.
    pub fn new(unit: &str, values: impl IntoIterator<Item = f64>, log: bool) -> Axis {
        let max = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold(0.0_f64, |a, v| a.max(v.abs()));
        Axis {
            unit: unit.to_string(),
            log,
            scale: scale_for(unit, max),
        }
    }

    /// Plot coordinate of a value.
    pub fn map(&self, v: f64) -> f64 {
        if self.log {
            v.max(1e-9).log10()
        } else {
            v / self.scale.div
        }
    }

    /// Tick label of a plot coordinate.
    pub fn label(&self, t: f64) -> String {
        if self.log {
            format_value(10f64.powf(t), &self.unit)
        } else {
            sig3(t)
        }
    }

    /// Axis description: "startup latency (ms)" or "... (log scale)".
    pub fn desc(&self, what: &str) -> String {
        if self.log {
            format!("{what} (log scale)")
        } else if self.scale.suffix.is_empty() {
            what.to_string()
        } else {
            format!("{what} ({})", self.scale.suffix)
        }
    }

    /// Plot range covering `values` with a margin; linear axes include 0.
    pub fn range(&self, values: impl IntoIterator<Item = f64>) -> Range<f64> {
        let mapped: Vec<f64> = values
            .into_iter()
            .filter(|v| v.is_finite())
            .map(|v| self.map(v))
            .collect();
        let lo = mapped.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = mapped.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() || !hi.is_finite() {
            return 0.0..1.0;
        }
        if self.log {
            let pad = ((hi - lo) * 0.05).max(0.1);
            (lo - pad)..(hi + pad)
        } else {
            let (lo, hi) = (lo.min(0.0), hi.max(0.0));
            let pad = ((hi - lo) * 0.08).max(1e-9);
            (if lo < 0.0 { lo - pad } else { 0.0 })..(hi + pad)
        }
    }
}

/// Horizontal bars, one row per category, optionally stacked and with CI whiskers.
#[derive(Debug, Clone, Default)]
pub struct Bars {
    pub categories: Vec<String>,
    /// Stacked segments: (series name, value per category; NaN for none).
    pub stacks: Vec<(String, Vec<f64>)>,
    /// Per category, the interval drawn as a whisker (empty for none).
    pub whiskers: Vec<Option<(f64, f64)>>,
    /// Colour index of each category when there is a single stack (empty: all the same).
    pub category_colors: Vec<usize>,
    pub unit: String,
    pub log: bool,
    pub value_desc: String,
    /// Print each bar's total (or value) at its end.
    pub annotate: bool,
    /// Legend of `category_colors`: the name of each colour index.
    pub color_names: Vec<String>,
}

/// Upper end of the discrete range for `n` categories: plotters' integer ranges are
/// inclusive, so `0..n-1` gives exactly n segments (two for a single category, whose
/// second stays empty, since a range of one value has no width).
pub fn seg_hi(n: usize) -> i32 {
    if n > 1 {
        n as i32 - 1
    } else {
        1
    }
}

/// Room at the right of line charts for the legend, outside the plotted data.
pub const LEGEND_W: u32 = 210;

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Swatch {
    Line,
    Box,
}

/// Draw a legend in the right margin reserved by `LEGEND_W`, in the root area's pixels
/// (plotters' own series labels are clipped to the plotting area).
pub fn legend(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    items: &[(String, RGBColor)],
    swatch: Swatch,
) -> DrawResult {
    let x = WIDTH as i32 - LEGEND_W as i32 + 8;
    for (i, (name, c)) in items.iter().enumerate() {
        let y = 24 + 20 * i as i32;
        match swatch {
            Swatch::Line => root.draw(&PathElement::new(
                vec![(x, y), (x + 18, y)],
                c.stroke_width(3),
            ))?,
            Swatch::Box => root.draw(&Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()))?,
        }
        let short: String = if name.chars().count() > 26 {
            name.chars().take(25).chain(std::iter::once('…')).collect()
        } else {
            name.clone()
        };
        root.draw(&Text::new(
            short,
            (x + 24, y),
            TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

fn label_area(categories: &[String]) -> u32 {
    let longest = categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4);
    (longest as u32 * 7 + 16).clamp(60, 320)
}

/// Draw `b` as an SVG string.
pub fn hbars(chart: &'static str, b: &Bars) -> Result<String, ChartError> {
    let n = b.categories.len();
    let legend_rows = if b.stacks.len() > 1 {
        b.stacks.len()
    } else {
        0
    };
    let height = 90 + 30 * n as u32 + 18 * legend_rows as u32;
    let all_values: Vec<f64> = {
        let mut v = Vec::new();
        for i in 0..n {
            let stacked: f64 = b
                .stacks
                .iter()
                .filter_map(|(_, vals)| vals.get(i).copied())
                .filter(|x| x.is_finite())
                .sum();
            v.push(stacked);
            for (_, vals) in &b.stacks {
                if let Some(x) = vals.get(i) {
                    v.push(*x);
                }
            }
            if let Some(Some((lo, hi))) = b.whiskers.get(i) {
                v.push(*lo);
                v.push(*hi);
            }
        }
        v
    };
    let totals: Vec<f64> = (0..n)
        .map(|i| {
            let vals: Vec<f64> = b
                .stacks
                .iter()
                .filter_map(|(_, v)| v.get(i).copied())
                .filter(|x| x.is_finite())
                .collect();
            if vals.is_empty() {
                f64::NAN
            } else if b.log {
                vals.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            } else {
                vals.iter().sum()
            }
        })
        .collect();
    let axis = Axis::new(&b.unit, all_values.iter().copied(), b.log);
    let mut x_range = axis.range(all_values.iter().copied());
    if b.annotate {
        // Room for the value printed after the longest bar.
        x_range.end += (x_range.end - x_range.start) * 0.12;
    }
    let base = if b.log { x_range.start } else { 0.0 };
    let label_w = label_area(&b.categories);
    render(chart, (WIDTH, height), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(12)
            .margin_right(if b.stacks.len() > 1 || !b.color_names.is_empty() {
                LEGEND_W
            } else {
                24
            })
            .x_label_area_size(40)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x_range.clone(), (0..seg_hi(n)).into_segmented())?;
        // Row 0 at the top: category i is drawn at n-1-i.
        let row = |i: usize| (n - 1 - i) as i32;
        ch.configure_mesh()
            .disable_y_mesh()
            .y_labels(n + 1)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(r) if *r >= 0 && (*r as usize) < n => {
                    b.categories[n - 1 - *r as usize].clone()
                }
                _ => String::new(),
            })
            .x_labels(8)
            .x_label_formatter(&|t| axis.label(*t))
            .x_desc(axis.desc(&b.value_desc))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let mut ends = vec![base; n];
        let mut end_log = vec![base; n];
        let mut items = Vec::new();
        for (si, (name, vals)) in b.stacks.iter().enumerate() {
            let mut rects = Vec::new();
            for (i, v) in vals.iter().enumerate().take(n) {
                if !v.is_finite() {
                    continue;
                }
                let x0 = ends[i];
                let x1 = if b.log {
                    // Log bars cannot stack; they start at the axis and end at the value.
                    axis.map(*v)
                } else {
                    x0 + axis.map(*v)
                };
                if b.log {
                    end_log[i] = end_log[i].max(x1);
                } else {
                    ends[i] = x1;
                }
                let c = if b.stacks.len() == 1 && !b.category_colors.is_empty() {
                    color(b.category_colors.get(i).copied().unwrap_or(0))
                } else {
                    color(si)
                };
                let mut r = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(row(i))),
                        (x1, SegmentValue::Exact(row(i) + 1)),
                    ],
                    c.filled(),
                );
                r.set_margin(5, 5, 0, 0);
                rects.push(r);
            }
            ch.draw_series(rects)?;
            if b.stacks.len() > 1 {
                items.push((name.clone(), color(si)));
            }
        }
        if b.annotate {
            ch.draw_series(ends.iter().enumerate().filter_map(|(i, end)| {
                let total = totals.get(i).copied().filter(|t| t.is_finite())?;
                let bar_end = if b.log { *end_log.get(i)? } else { *end };
                let x = match b.whiskers.get(i) {
                    Some(Some((_, hi))) => bar_end.max(axis.map(*hi)),
                    _ => bar_end,
                };
                // 6 px clear of the bar's end or the whisker's cap, whichever is further.
                Some(
                    EmptyElement::at((x, SegmentValue::CenterOf(row(i))))
                        + Text::new(
                            format_value(total, &b.unit),
                            (6, 0),
                            TextStyle::from((FONT, 12).into_font())
                                .pos(Pos::new(HPos::Left, VPos::Center)),
                        ),
                )
            }))?;
        }
        for (i, w) in b.whiskers.iter().enumerate().take(n) {
            if let Some((lo, hi)) = w {
                let (lo, hi) = (axis.map(*lo), axis.map(*hi));
                let y = SegmentValue::CenterOf(row(i));
                ch.draw_series(std::iter::once(PathElement::new(
                    vec![(lo, y.clone()), (hi, y.clone())],
                    BLACK.stroke_width(2),
                )))?;
                for x in [lo, hi] {
                    ch.draw_series(std::iter::once(
                        EmptyElement::at((x, y.clone()))
                            + PathElement::new(vec![(0, -6), (0, 6)], BLACK.stroke_width(2)),
                    ))?;
                }
            }
        }
        for (i, name) in b.color_names.iter().enumerate() {
            items.push((name.clone(), color(i)));
        }
        legend(root, &items, Swatch::Box)
    })
}

/// One point of a line: the value and, optionally, its interval.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub y: f64,
    pub interval: Option<(f64, f64)>,
}

/// Lines over ordered categories (a sweep), one per series, with optional whiskers.
#[derive(Debug, Clone, Default)]
pub struct Lines {
    pub categories: Vec<String>,
    /// (series name, point per category).
    pub series: Vec<(String, Vec<Option<Point>>)>,
    pub unit: String,
    pub log: bool,
    pub x_desc: String,
    pub y_desc: String,
}

/// Draw `l` as an SVG string.
pub fn lines(chart: &'static str, l: &Lines) -> Result<String, ChartError> {
    let n = l.categories.len();
    let values: Vec<f64> = l
        .series
        .iter()
        .flat_map(|(_, pts)| pts.iter().flatten())
        .flat_map(|p| {
            let mut v = vec![p.y];
            if let Some((lo, hi)) = p.interval {
                v.push(lo);
                v.push(hi);
            }
            v
        })
        .collect();
    let axis = Axis::new(&l.unit, values.iter().copied(), l.log);
    let y_range = axis.range(values.iter().copied());
    render(chart, (WIDTH, 380), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(12)
            .margin_right(LEGEND_W)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d((0..seg_hi(n)).into_segmented(), y_range.clone())?;
        ch.configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i >= 0 && (*i as usize) < n => {
                    l.categories[*i as usize].clone()
                }
                _ => String::new(),
            })
            .y_labels(8)
            .y_label_formatter(&|t| axis.label(*t))
            .x_desc(l.x_desc.as_str())
            .y_desc(axis.desc(&l.y_desc))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let mut items = Vec::new();
        for (si, (name, pts)) in l.series.iter().enumerate() {
            let c = color(si);
            let xy: Vec<(SegmentValue<i32>, f64)> = pts
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.map(|p| (SegmentValue::CenterOf(i as i32), axis.map(p.y))))
                .collect();
            // A line joins neighbouring categories only: across a category the series
            // has no point for (a quota a subject did not run) it would draw a value
            // nobody measured.
            let mut segments: Vec<Vec<(SegmentValue<i32>, f64)>> = Vec::new();
            for (i, p) in pts.iter().enumerate() {
                let Some(p) = p else { continue };
                let xy = (SegmentValue::CenterOf(i as i32), axis.map(p.y));
                match segments.last_mut() {
                    Some(seg) if pts.get(i.wrapping_sub(1)).is_some_and(Option::is_some) => {
                        seg.push(xy)
                    }
                    _ => segments.push(vec![xy]),
                }
            }
            for seg in segments {
                ch.draw_series(LineSeries::new(seg, c.stroke_width(2)))?;
            }
            items.push((name.clone(), c));
            ch.draw_series(
                xy.iter()
                    .map(|(x, y)| Circle::new((x.clone(), *y), 4, c.filled())),
            )?;
            for (i, p) in pts.iter().enumerate() {
                if let Some(Point {
                    interval: Some((lo, hi)),
                    ..
                }) = p
                {
                    let x = SegmentValue::CenterOf(i as i32);
                    ch.draw_series(std::iter::once(PathElement::new(
                        vec![(x.clone(), axis.map(*lo)), (x.clone(), axis.map(*hi))],
                        c.stroke_width(2),
                    )))?;
                    for y in [axis.map(*lo), axis.map(*hi)] {
                        ch.draw_series(std::iter::once(
                            EmptyElement::at((x.clone(), y))
                                + PathElement::new(vec![(-5, 0), (5, 0)], c.stroke_width(2)),
                        ))?;
                    }
                }
            }
        }
        legend(root, &items, Swatch::Line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(y: f64) -> Option<Point> {
        Some(Point { y, interval: None })
    }

    /// The number of points of every `<polyline>` in an SVG, sorted.
    fn polylines(svg: &str) -> Vec<usize> {
        let mut v: Vec<usize> = svg
            .split("<polyline")
            .skip(1)
            .filter_map(|p| {
                let pts = p.split("points=\"").nth(1)?.split('"').next()?;
                Some(pts.split_whitespace().count())
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// What `svg` has beyond `base` (the axes' polylines).
    fn added(svg: &str, base: &[usize]) -> Vec<usize> {
        let mut v = polylines(svg);
        for b in base {
            if let Some(i) = v.iter().position(|x| x == b) {
                v.remove(i);
            }
        }
        v
    }

    #[test]
    fn a_line_does_not_cross_a_category_its_series_has_no_point_for() {
        let cats: Vec<String> = ["10%", "25%", "50%", "100%"].map(String::from).to_vec();
        let with = |series| Lines {
            categories: cats.clone(),
            series,
            unit: "ratio".into(),
            ..Lines::default()
        };
        // Every point: one line.
        let full = lines(
            "t",
            &with(vec![(
                "a".into(),
                vec![pt(0.1), pt(0.25), pt(0.5), pt(1.0)],
            )]),
        )
        .expect("svg");
        // 25 % and 100 % only: two dots, no line between them across 50 %.
        let gap = lines(
            "t",
            &with(vec![("a".into(), vec![None, pt(0.25), None, pt(1.0)])]),
        )
        .expect("svg");
        // 10–25 %, then 100 %: one line of two points and a lone dot.
        let split = lines(
            "t",
            &with(vec![("a".into(), vec![pt(0.1), pt(0.25), None, pt(1.0)])]),
        )
        .expect("svg");
        let base = polylines(&lines("t", &with(vec![("a".into(), vec![None; 4])])).expect("svg"));
        assert_eq!(added(&full, &base), vec![4], "{full}");
        assert_eq!(added(&gap, &base), vec![1, 1], "{gap}");
        assert_eq!(added(&split, &base), vec![1, 2], "{split}");
    }
}
