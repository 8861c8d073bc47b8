//! The workload charts (scenario `workload`), one per workload: for each of its metrics,
//! every subject's figure against the plain process's with the bootstrap 95% CI of the
//! ratio of medians as a horizontal interval, on one log axis with 1 (as fast as the
//! process) marked.
//!
//! Normalised so that right is always better: a metric where higher is better (GB/s,
//! MB/s, ops/s, tx/s, q/s) is drawn as the ratio subject / process, one where lower is
//! better (ns, µs) as its reciprocal, process / subject; either way the value reads "times
//! as fast as the process" and the label beside it says "× faster" or "× slower". A VM
//! under QEMU's software emulator (`accel=tcg`) is a hollow marker and says "emulated".
//! Skipped and failed subjects are listed in their row with the word, at 1.
//! The figures come from `workload::table`, the same as the terminal table and the
//! headline.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{self, FONT};
use super::{Chart, ChartError};
use crate::model::Run;
use crate::units::format_factor;
use crate::workload::{self, Better, Outcome, Table};

/// One line of a chart.
enum Line {
    /// A metric: "triad_gbps (GB/s, higher is better)".
    Heading(String),
    Entry {
        name: String,
        color: usize,
        emulated: bool,
        /// Times as fast as the process, its CI, or the word for a skip or failure.
        value: Result<(f64, Option<[f64; 2]>), &'static str>,
    },
}

/// "8.3× slower", "1.02× faster", "as fast".
pub fn speed_words(s: f64) -> String {
    if (s - 1.0).abs() < 0.005 {
        "as fast".into()
    } else if s > 1.0 {
        format!("{} faster", format_factor(s))
    } else {
        format!("{} slower", format_factor(1.0 / s))
    }
}

fn lines_of(t: &Table, workload: &str) -> Vec<Line> {
    let base = t.base_column();
    let mut out = Vec::new();
    for row in t.rows.iter().filter(|r| r.workload == workload) {
        let Some(better) = row.better else { continue };
        let dir = match better {
            Better::Higher => "higher is better",
            Better::Lower => "lower is better, drawn inverted",
        };
        out.push(Line::Heading(format!(
            "{} ({}, {dir})",
            row.metric, row.unit
        )));
        for (c, col) in t.columns.iter().enumerate() {
            if Some(c) == base {
                continue;
            }
            let cell = &row.cells[c];
            let value = match &cell.outcome {
                Outcome::Skipped { .. } => Err("skipped"),
                Outcome::Failed { .. } => Err("failed"),
                Outcome::Missing => continue,
                Outcome::Ok { .. } => match cell.speed(better) {
                    Some(v) => Ok(v),
                    None => Err("no process baseline"),
                },
            };
            out.push(Line::Entry {
                name: if col.emulated {
                    format!("{} emulated", col.name)
                } else {
                    col.name.clone()
                },
                color: c,
                emulated: col.emulated,
                value,
            });
        }
    }
    out
}

/// A tick value without trailing zeros: 0.01, 0.5, 2, 100.
fn tick_label(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Row height, in SVG pixels.
const ROW_H: u32 = 22;

fn draw_one(lines: &[Line]) -> Result<String, ChartError> {
    let mut lo: f64 = 1.0;
    let mut hi: f64 = 1.0;
    for l in lines {
        if let Line::Entry {
            value: Ok((s, ci)), ..
        } = l
        {
            for v in [Some(*s), ci.map(|c| c[0]), ci.map(|c| c[1])]
                .into_iter()
                .flatten()
                .filter(|v| v.is_finite() && *v > 0.0)
            {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    // log10 coordinates; at least ×0.5–×2 so a row of ones is not a hairline, and room on
    // the right for "8.3× slower emulated".
    let (mut x0, mut x1) = (lo.log10().max(-4.0), hi.log10().min(4.0));
    x0 = x0.min(-0.3);
    x1 = x1.max(0.3);
    let span = x1 - x0;
    let (x0, x1) = (x0 - span * 0.05, x1 + span * 0.30);
    let n = lines.len();
    let label_w = lines
        .iter()
        .map(|l| match l {
            Line::Entry { name, .. } => name.chars().count() as u32 * 7 + 20,
            Line::Heading(_) => 60,
        })
        .max()
        .unwrap_or(60)
        .clamp(80, 300);
    let height = 90 + ROW_H * n as u32;
    draw::render("workload", (draw::WIDTH, height), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(12)
            .margin_top(28)
            .x_label_area_size(44)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x0..x1, 0.0..n as f64)?;
        // Ticks at 1, 2 and 5 times each power of ten, not plotters' evenly spaced log
        // coordinates (×0.316 says nothing to a reader).
        ch.configure_mesh()
            .disable_mesh()
            .y_labels(0)
            .x_labels(0)
            .x_desc(
                "times as fast as a plain process (log scale): right of ×1 is better; \
                 whisker: 95% CI of the ratio of medians",
            )
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let ticks: Vec<f64> = (x0.floor() as i32..=x1.ceil() as i32)
            .flat_map(|d| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(d)))
            .filter(|v| (x0..=x1).contains(&v.log10()))
            .collect();
        for t in &ticks {
            let x = t.log10();
            ch.draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, n as f64)],
                RGBColor(225, 229, 236).stroke_width(1),
            )))?;
            let (px, py) = ch.backend_coord(&(x, 0.0));
            root.draw(&Text::new(
                format!("×{}", tick_label(*t)),
                (px, py + 12),
                TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
        let mid = |i: usize| (n - i) as f64 - 0.5;
        for (i, l) in lines.iter().enumerate() {
            if let Line::Heading(_) = l {
                ch.draw_series(std::iter::once(Rectangle::new(
                    [(x0, mid(i) - 0.5), (x1, mid(i) + 0.5)],
                    RGBColor(238, 241, 246).filled(),
                )))?;
            }
        }
        ch.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (0.0, n as f64)],
            BLACK.stroke_width(1),
        )))?;
        // Which side is which, above the plot.
        let (left, right) = (
            ch.backend_coord(&(x0, n as f64)),
            ch.backend_coord(&(x1, n as f64)),
        );
        let one = ch.backend_coord(&(0.0, n as f64));
        root.draw(&Text::new(
            "← slower than the process",
            (one.0 - 6, left.1 - 12),
            TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        root.draw(&Text::new(
            "faster than the process →",
            (one.0 + 6, right.1 - 12),
            TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        for (i, l) in lines.iter().enumerate() {
            let y = mid(i);
            match l {
                Line::Heading(text) => {
                    ch.draw_series(std::iter::once(
                        EmptyElement::at((x0, y))
                            + Text::new(
                                text.clone(),
                                (6, 0),
                                TextStyle::from((FONT, 13).into_font().style(FontStyle::Bold))
                                    .pos(Pos::new(HPos::Left, VPos::Center)),
                            ),
                    ))?;
                }
                Line::Entry {
                    name,
                    color,
                    emulated,
                    value,
                } => {
                    let c = draw::color(*color);
                    ch.draw_series(std::iter::once(
                        EmptyElement::at((x0, y))
                            + Text::new(
                                name.clone(),
                                (-8, 0),
                                TextStyle::from((FONT, 13).into_font())
                                    .pos(Pos::new(HPos::Right, VPos::Center)),
                            ),
                    ))?;
                    let (at, words) = match value {
                        Ok((s, ci)) => {
                            let x = s.log10().clamp(x0, x1);
                            let mut end = x;
                            if let Some([a, b]) = ci {
                                let (a, b) = (a.log10().clamp(x0, x1), b.log10().clamp(x0, x1));
                                end = end.max(b);
                                ch.draw_series(std::iter::once(PathElement::new(
                                    vec![(a, y), (b, y)],
                                    c.stroke_width(2),
                                )))?;
                                for xv in [a, b] {
                                    ch.draw_series(std::iter::once(
                                        EmptyElement::at((xv, y))
                                            + PathElement::new(
                                                vec![(0, -5), (0, 5)],
                                                c.stroke_width(2),
                                            ),
                                    ))?;
                                }
                            }
                            if *emulated {
                                ch.draw_series(std::iter::once(Circle::new(
                                    (x, y),
                                    5,
                                    c.stroke_width(2),
                                )))?;
                            } else {
                                ch.draw_series(std::iter::once(Circle::new(
                                    (x, y),
                                    5,
                                    c.filled(),
                                )))?;
                            }
                            let mut w = speed_words(*s);
                            if ci.is_none() {
                                w.push_str(", no CI");
                            }
                            (end, w)
                        }
                        Err(word) => (0.0, (*word).to_string()),
                    };
                    ch.draw_series(std::iter::once(
                        EmptyElement::at((at, y))
                            + Text::new(
                                words,
                                (8, 0),
                                TextStyle::from((FONT, 12).into_font())
                                    .color(&RGBColor(60, 66, 80))
                                    .pos(Pos::new(HPos::Left, VPos::Center)),
                            ),
                    ))?;
                }
            }
        }
        Ok(())
    })
}

/// What each workload measures, for the captions (the protocol's table in a sentence).
pub fn what(workload: &str) -> &'static str {
    match workload {
        "syscall" => {
            "raw getppid(2) (not the vDSO) per call, and openat+close of a file \
                      four directories deep in the subject's own root filesystem"
        }
        "memory" => {
            "STREAM triad bandwidth over arrays far beyond the last-level cache, a \
                     pointer chase over random cache lines (TLB misses count) and first-touch \
                     page faults of anonymous memory"
        }
        "cpu" => {
            "a latency-bound multiply-xorshift chain (which hides TCG's translation \
                  overhead) and a throughput-bound hash over an L1-resident buffer"
        }
        "fileio" => {
            "sequential write + fsync, 4 KiB write + fdatasync latency (p50, p99) and \
                     create+unlink of small files, in the subject's own filesystem"
        }
        "net" => {
            "TCP on 127.0.0.1 inside the subject's own network stack: 1-byte \
                  request/response (p50, p99) and a stream"
        }
        "sqlite" => {
            "bundled SQLite with synchronous=FULL in the subject's filesystem: \
                     transactions of 10 inserts, and indexed point queries"
        }
        _ => "a workload this report has no description of",
    }
}

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let t = workload::table(run);
    let mut out = Vec::new();
    for w in t.workloads() {
        let lines = lines_of(&t, w);
        if !lines.iter().any(|l| matches!(l, Line::Entry { .. })) {
            continue;
        }
        let emulated = t.columns.iter().any(|c| c.emulated);
        out.push(Chart {
            id: format!("workload-{}", chart_id(w)),
            title: format!("Workload {w}: each subject against a plain process"),
            caption: format!(
                "{}. Ratio of medians to the process with its bootstrap 95% CI (log axis), \
                 drawn so that right is better: lower-is-better metrics (ns, µs) are \
                 inverted.{}",
                capitalized(what(w)),
                if emulated {
                    " Hollow markers: a VM under QEMU's software emulator (TCG), whose figures \
                     include the emulation."
                } else {
                    ""
                }
            ),
            svg: draw_one(&lines)?,
        });
    }
    Ok(out)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A workload name as an HTML id: ASCII alphanumerics, the rest '-'.
fn chart_id(w: &str) -> String {
    w.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Measurement, MeasurementKey, Status};
    use std::collections::BTreeMap;

    fn wl(
        subject: &str,
        metric: &str,
        unit: &str,
        better: &str,
        accel: bool,
        v: f64,
    ) -> Measurement {
        let mut labels: BTreeMap<String, String> = [("better".into(), better.into())].into();
        if accel {
            labels.insert("accel".into(), "tcg".into());
        }
        Measurement::from_samples(
            MeasurementKey::new("workload", subject, "memory", metric),
            unit,
            labels,
            (0..10)
                .map(|i| v * (1.0 + f64::from(i % 5) * 0.01))
                .collect(),
        )
    }

    #[test]
    fn one_chart_per_workload_right_is_better_and_the_vm_says_emulated() {
        let run = Run::of_measurements(vec![
            wl("process", "triad_gbps", "GB/s", "higher", false, 9.6),
            wl("runc", "triad_gbps", "GB/s", "higher", false, 9.5),
            wl("qemu", "triad_gbps", "GB/s", "higher", true, 1.2),
            wl("process", "chase_ns", "ns", "lower", false, 96.0),
            wl("qemu", "chase_ns", "ns", "lower", true, 610.0),
            Measurement::not_ok(
                MeasurementKey::new("workload", "runc", "memory", "chase_ns"),
                "ns",
                Status::Skipped,
                "<b>why</b>",
            ),
        ]);
        let charts = chart(&run).expect("drawn");
        assert_eq!(charts.len(), 1);
        let c = &charts[0];
        assert_eq!(c.id, "workload-memory");
        assert!(c.svg.starts_with("<svg"), "{}", &c.svg[..80]);
        for needle in [
            "triad_gbps (GB/s, higher is better)",
            "chase_ns (ns, lower is better, drawn inverted)",
            "qemu [tcg] emulated",
            "8.0× slower",
            "6.4× slower",
            "skipped",
            "faster than the process →",
            "\n×1\n",
            "\n×0.5\n",
        ] {
            assert!(c.svg.contains(needle), "{needle} missing");
        }
        assert!(!c.svg.contains("<b>"), "a reason is never drawn raw");
        assert!(c.caption.contains("TCG"));
    }

    #[test]
    fn no_workload_no_chart() {
        assert!(chart(&Run::of_measurements(vec![])).expect("ok").is_empty());
        assert_eq!(speed_words(1.001), "as fast");
        assert_eq!(speed_words(2.5), "2.5× faster");
        assert_eq!(speed_words(0.125), "8.0× slower");
    }
}
