//! The forest plot of a comparison (`compare --format html`): every compared measurement
//! of every later run, its change of the median against the base with the 95% CI of the
//! ratio, on one percent axis with the ±threshold noise band shaded. Regressions are
//! vermillion triangles, improvements green circles, the rest grey rings: the shape tells
//! them apart in greyscale too.

use plotters::prelude::*;

use super::draw::{self, FONT};
use super::ChartError;
use crate::compare::format::row_name;
use crate::compare::{Comparison, Verdict};

/// One line of the plot: its name, change and CI in percent, and verdict.
#[derive(Debug, Clone)]
struct Change {
    name: String,
    pct: f64,
    ci: Option<(f64, f64)>,
    verdict: Verdict,
}

fn changes(c: &Comparison) -> Vec<Change> {
    let many = c.runs.len() > 2;
    c.rows
        .iter()
        .flat_map(|row| {
            row.deltas.iter().enumerate().filter_map(move |(i, d)| {
                let pct = d.change_pct.filter(|p| p.is_finite())?;
                let mut name = row_name(row);
                if many {
                    name.push_str(&format!(" (run {})", i + 2));
                }
                Some(Change {
                    name,
                    pct,
                    ci: d
                        .ratio_ci
                        .filter(|[lo, hi]| lo.is_finite() && hi.is_finite())
                        .map(|[lo, hi]| ((lo - 1.0) * 100.0, (hi - 1.0) * 100.0)),
                    verdict: d.verdict,
                })
            })
        })
        .collect()
}

/// Right end of the axis, in percent, unless the threshold band needs more.
const MAX_PCT: f64 = 200.0;

/// The forest plot as an SVG with `<title>`/`<desc>`, or `None` when nothing was compared.
pub fn chart(c: &Comparison) -> Result<Option<String>, ChartError> {
    let rows = changes(c);
    if rows.is_empty() {
        return Ok(None);
    }
    let band = c.options.threshold * 100.0;
    let (mut lo, mut hi) = (-band, band);
    for r in &rows {
        let (a, b) = r.ci.unwrap_or((r.pct, r.pct));
        lo = lo.min(a.min(r.pct));
        hi = hi.max(b.max(r.pct));
    }
    // A noisy interval of ×50 would squeeze the noise band to a hairline: beyond
    // +MAX_PCT the axis stops and the line is clipped (its name ends in "›").
    let (lo, hi) = (lo.max(-100.0), hi.min(MAX_PCT.max(3.0 * band)));
    let pad = ((hi - lo) * 0.04).max(1.0);
    let (lo, hi) = (lo - pad, hi + pad);
    let clip = |v: f64| v.clamp(lo, hi);
    let n = rows.len();
    let label_w = rows
        .iter()
        .map(|r| r.name.chars().count() as u32 * 7 + 16)
        .max()
        .unwrap_or(60)
        .clamp(60, 420);
    let height = 80 + 22 * n as u32;
    let svg = draw::render("forest", (draw::WIDTH, height), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_w)
            .build_cartesian_2d(lo..hi, 0.0..n as f64)?;
        ch.configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(0)
            .x_labels(10)
            .x_label_formatter(&|v| format!("{v:+.0} %"))
            .x_desc(format!(
                "change of the median vs the base, 95% CI; shaded: ±{band:.0} % noise threshold"
            ))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        ch.draw_series(std::iter::once(Rectangle::new(
            [(-band, 0.0), (band, n as f64)],
            RGBColor(220, 224, 232).filled(),
        )))?;
        ch.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (0.0, n as f64)],
            BLACK.stroke_width(1),
        )))?;
        for (i, r) in rows.iter().enumerate() {
            let y = (n - i) as f64 - 0.5;
            let c = match r.verdict {
                Verdict::Regressed => RGBColor(213, 94, 0),
                Verdict::Improved => RGBColor(0, 158, 115),
                _ => RGBColor(120, 120, 120),
            };
            let clipped = r.pct > hi || r.ci.is_some_and(|(_, b)| b > hi);
            if let Some((a, b)) = r.ci {
                ch.draw_series(std::iter::once(PathElement::new(
                    vec![(clip(a), y), (clip(b), y)],
                    c.stroke_width(2),
                )))?;
            }
            match r.verdict {
                Verdict::Regressed => ch.draw_series(std::iter::once(TriangleMarker::new(
                    (clip(r.pct), y),
                    7,
                    c.filled(),
                )))?,
                Verdict::Improved => ch.draw_series(std::iter::once(Circle::new(
                    (clip(r.pct), y),
                    6,
                    c.filled(),
                )))?,
                _ => ch.draw_series(std::iter::once(Circle::new(
                    (clip(r.pct), y),
                    5,
                    c.stroke_width(2),
                )))?,
            };
            ch.draw_series(std::iter::once(
                EmptyElement::at((lo, y))
                    + Text::new(
                        if clipped {
                            format!("{} ›", r.name)
                        } else {
                            r.name.clone()
                        },
                        (-8, 0),
                        TextStyle::from((FONT, 12).into_font()).pos(
                            plotters::style::text_anchor::Pos::new(
                                plotters::style::text_anchor::HPos::Right,
                                plotters::style::text_anchor::VPos::Center,
                            ),
                        ),
                    ),
            ))?;
        }
        Ok(())
    })?;
    let regressed = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regressed)
        .count();
    let improved = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Improved)
        .count();
    Ok(Some(draw::titled(
        &svg,
        "Every change with its 95% CI against the noise threshold",
        &format!(
            "{n} changes of the median vs the base run, {regressed} regressed, {improved} \
             improved, threshold ±{band:.0} %; a name ending in › goes beyond the axis."
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, CompareOptions, Input};
    use crate::model::{Measurement, MeasurementKey, Run};

    fn run(scale: f64) -> Run {
        let m = |metric: &str, v: f64| {
            Measurement::from_samples(
                MeasurementKey::new("startup", "process", "default", metric),
                "ns",
                Default::default(),
                (0..30)
                    .map(|i| v * scale * (1.0 + f64::from(i % 7) * 0.01))
                    .collect(),
            )
        };
        Run::of_measurements(vec![m("ready", 1e6), m("total", 2e6)])
    }

    #[test]
    fn every_change_is_a_line_and_the_svg_says_what_it_shows() {
        let (base, new) = (run(1.0), run(1.5));
        let c = compare(
            &[
                Input {
                    origin: "a",
                    run: &base,
                },
                Input {
                    origin: "b",
                    run: &new,
                },
            ],
            &CompareOptions::default(),
        )
        .expect("compared");
        let svg = chart(&c).expect("drawn").expect("changes");
        assert!(svg.contains("<title>Every change"));
        assert!(
            svg.contains("2 changes") && svg.contains("2 regressed"),
            "{svg}"
        );
        assert!(svg.contains("startup process default ready"));
    }
}
