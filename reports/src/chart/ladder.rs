//! The ladder: every subject's startup `ready` p50 with its 95% CI of the median, one row
//! each on one log time axis, ordered by how much isolation the subject adds — plain
//! process, fresh namespaces, isobench's sandbox and bubblewrap, the OCI runtimes (crun,
//! runc), the engines (podman, docker), sandboxed containers, VMs — and coloured by
//! class. It is the first figure of the report: the whole answer in one picture.
//!
//! A VM row run under QEMU's software emulator (`accel=tcg`) is drawn pale and hatched and
//! says "emulated (tcg)" beside its value (the legend: "VM, accel=tcg"): its startup is not that of a KVM VM.
//! The five class colours have distinct grey levels (51 to 213 of 255) and every bar has
//! a dark outline, so the figure survives a greyscale print.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{self, Axis, FONT};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run};
use crate::report::select::{self, Catalog, Class};
use crate::units::format_value;

/// A subject's class as the ladder colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Process,
    Namespaces,
    Container,
    SandboxedContainer,
    Vm,
    Other,
}

impl Kind {
    fn of(cat: Catalog<'_>, subject: &str) -> Kind {
        match cat.class(subject) {
            Class::Process => Kind::Process,
            Class::Namespaces => Kind::Namespaces,
            Class::Container => Kind::Container,
            Class::Sandboxed => Kind::SandboxedContainer,
            Class::Vm => Kind::Vm,
            Class::Harness | Class::Other => Kind::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Process => "plain process",
            Kind::Namespaces => "namespaces",
            Kind::Container => "container",
            Kind::SandboxedContainer => "sandboxed container",
            Kind::Vm => "virtual machine",
            Kind::Other => "other",
        }
    }

    /// Okabe–Ito colours chosen for distinct luminance (grey 213, 162, 119, 87, 51).
    fn color(self) -> RGBColor {
        match self {
            Kind::Process => RGBColor(240, 228, 66),
            Kind::Namespaces => RGBColor(230, 159, 0),
            Kind::Container => RGBColor(213, 94, 0),
            Kind::SandboxedContainer => RGBColor(0, 114, 178),
            Kind::Vm => RGBColor(51, 34, 136),
            Kind::Other => RGBColor(136, 136, 136),
        }
    }
}

/// `c` at 30% over white: the fill of an emulated VM.
fn pale(c: RGBColor) -> RGBColor {
    let mix = |v: u8| (255.0 - (255.0 - f64::from(v)) * 0.3).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// Diagonal strokes, 7 px apart, filling the pixel rectangle with corners `a` and `b`:
/// the texture of an emulated VM, which tells it apart in greyscale too.
fn hatch(a: (i32, i32), b: (i32, i32)) -> Vec<Vec<(i32, i32)>> {
    let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
    let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
    let h = y1 - y0;
    // A stroke starts at (s, y1) and rises to (s + h, y0); clip it to [x0, x1].
    (x0 - h..x1)
        .step_by(7)
        .filter_map(|s| {
            let (from, to) = (s.max(x0), (s + h).min(x1));
            (from < to).then(|| vec![(from, y1 - (from - s)), (to, y1 - (to - s))])
        })
        .collect()
}

/// The rung of a subject: the order of the ladder, least isolation first.
fn rung(cat: Catalog<'_>, subject: &str) -> u8 {
    match Kind::of(cat, subject) {
        Kind::Process => 0,
        Kind::Namespaces => 1,
        Kind::Container => match subject {
            "sandbox" | "bwrap" => 2,
            "podman" | "docker" | "lxc" => 4,
            // crun, runc, youki and any runtime the table does not know.
            _ => 3,
        },
        Kind::SandboxedContainer => 5,
        Kind::Vm => 6,
        Kind::Other => 7,
    }
}

/// One row of the ladder.
#[derive(Debug, Clone)]
struct Rung {
    name: String,
    kind: Kind,
    p50: f64,
    ci: (f64, f64),
    emulated: bool,
}

fn rungs(run: &Run) -> Vec<Rung> {
    let cat = Catalog::of(run);
    let mut ms: Vec<&Measurement> = select::ok_metric(run, "startup", "ready")
        .filter(|m| select::unswept(m) && cat.class(&m.subject) != Class::Harness)
        .collect();
    let p50 = |m: &Measurement| m.summary.map_or(f64::NAN, |s| s.p50);
    ms.sort_by(|a, b| {
        rung(cat, &a.subject)
            .cmp(&rung(cat, &b.subject))
            .then(p50(a).total_cmp(&p50(b)))
    });
    ms.iter()
        .filter_map(|m| {
            let s = m.summary?;
            (s.p50.is_finite() && s.p50 > 0.0).then(|| Rung {
                name: select::series_name(m),
                kind: Kind::of(cat, &m.subject),
                p50: s.p50,
                ci: (s.p50_ci[0], s.p50_ci[1]),
                emulated: select::is_emulated(m),
            })
        })
        .collect()
}

/// Row height of the ladder, in SVG pixels.
const ROW_H: u32 = 34;
/// Narrower than the other charts: it shares the first screen with the verdict table.
const WIDTH: u32 = 720;
/// The legend's column at the right.
const LEGEND_W: u32 = 170;

pub fn chart(run: &Run) -> Result<Option<Chart>, ChartError> {
    let rows = rungs(run);
    if rows.is_empty() {
        return Ok(None);
    }
    let values: Vec<f64> = rows
        .iter()
        .flat_map(|r| [r.p50, r.ci.0, r.ci.1])
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let axis = Axis::new("ns", values.iter().copied(), true);
    let mut x = axis.range(values.iter().copied());
    // Room on the right for "2.60 s · emulated, accel=tcg".
    x.end += (x.end - x.start) * 0.28;
    let n = rows.len();
    let mut kinds: Vec<Kind> = rows.iter().map(|r| r.kind).collect();
    kinds.sort();
    kinds.dedup();
    // (name, fill, hatched)
    let mut legend: Vec<(String, RGBColor, bool)> = kinds
        .iter()
        .map(|k| (k.name().to_string(), k.color(), false))
        .collect();
    if rows.iter().any(|r| r.emulated) {
        legend.push(("VM, accel=tcg".into(), pale(Kind::Vm.color()), true));
    }
    let height = (70 + ROW_H * n as u32).max(60 + 22 * legend.len() as u32);
    let longest = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4);
    let label_w = (longest as u32 * 9 + 16).clamp(70, 260);
    let svg = draw::render("ladder", (WIDTH, height), |root| {
        let mut ch = ChartBuilder::on(root)
            .margin(10)
            .margin_right(LEGEND_W)
            .x_label_area_size(40)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x.clone(), 0.0..n as f64)?;
        ch.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .x_label_formatter(&|t| axis.label(*t))
            .x_desc(axis.desc("startup: launch to ready marker, p50 with 95% CI"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 15))
            .draw()?;
        // Row i (top first) spans [n-1-i, n-i].
        let top = |i: usize| (n - i) as f64;
        let mid = |i: usize| (n - i) as f64 - 0.5;
        for (i, r) in rows.iter().enumerate() {
            let fill = if r.emulated {
                pale(r.kind.color())
            } else {
                r.kind.color()
            };
            let (y0, y1) = (top(i) - 0.82, top(i) - 0.18);
            let corners = [(x.start, y0), (axis.map(r.p50), y1)];
            ch.draw_series(std::iter::once(Rectangle::new(corners, fill.filled())))?;
            if r.emulated {
                let (a, b) = (ch.backend_coord(&corners[0]), ch.backend_coord(&corners[1]));
                for stroke in hatch(a, b) {
                    root.draw(&PathElement::new(stroke, r.kind.color().stroke_width(2)))?;
                }
            }
            ch.draw_series(std::iter::once(Rectangle::new(
                corners,
                RGBColor(29, 35, 48).stroke_width(1),
            )))?;
            let (lo, hi) = (axis.map(r.ci.0), axis.map(r.ci.1));
            let y = mid(i);
            if lo.is_finite() && hi.is_finite() {
                ch.draw_series(std::iter::once(PathElement::new(
                    vec![(lo, y), (hi, y)],
                    BLACK.stroke_width(2),
                )))?;
                for xv in [lo, hi] {
                    ch.draw_series(std::iter::once(
                        EmptyElement::at((xv, y))
                            + PathElement::new(vec![(0, -7), (0, 7)], BLACK.stroke_width(2)),
                    ))?;
                }
            }
            let mut text = format_value(r.p50, "ns");
            if r.emulated {
                text.push_str(" emulated (tcg)");
            }
            let end = axis
                .map(r.p50)
                .max(if hi.is_finite() { hi } else { f64::MIN });
            ch.draw_series(std::iter::once(
                EmptyElement::at((end, y))
                    + Text::new(
                        text,
                        (6, 0),
                        TextStyle::from((FONT, 15).into_font())
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))?;
            ch.draw_series(std::iter::once(
                EmptyElement::at((x.start, y))
                    + Text::new(
                        r.name.clone(),
                        (-8, 0),
                        TextStyle::from((FONT, 15).into_font())
                            .pos(Pos::new(HPos::Right, VPos::Center)),
                    ),
            ))?;
        }
        let lx = (WIDTH - LEGEND_W) as i32 + 12;
        for (i, (name, c, hatched)) in legend.iter().enumerate() {
            let ly = 20 + 22 * i as i32;
            root.draw(&Rectangle::new(
                [(lx, ly - 6), (lx + 14, ly + 6)],
                c.filled(),
            ))?;
            if *hatched {
                for stroke in hatch((lx, ly - 6), (lx + 14, ly + 6)) {
                    root.draw(&PathElement::new(stroke, Kind::Vm.color().stroke_width(2)))?;
                }
            }
            root.draw(&Rectangle::new(
                [(lx, ly - 6), (lx + 14, ly + 6)],
                RGBColor(29, 35, 48).stroke_width(1),
            ))?;
            root.draw(&Text::new(
                name.clone(),
                (lx + 20, ly),
                TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        Ok(())
    })?;
    let names: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.name, format_value(r.p50, "ns")))
        .collect();
    let title = "The isolation ladder: startup of every subject";
    let desc = format!(
        "Startup ready p50 per subject, least isolation first, log time axis: {}.",
        names.join(", ")
    );
    Ok(Some(Chart {
        id: "ladder".into(),
        title: title.into(),
        caption: "Median time from launch to the payload's ready marker (host clock), least \
                  isolation at the top; the whisker is the 95% CI of the median; log axis."
            .into(),
        svg: draw::titled(&svg, title, &desc),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeasurementKey;
    use std::collections::BTreeMap;

    fn ready(subject: &str, case: &str, p50: f64, accel: Option<&str>) -> Measurement {
        let labels: BTreeMap<String, String> = accel
            .map(|a| [("accel".to_string(), a.to_string())].into())
            .unwrap_or_default();
        Measurement::from_samples(
            MeasurementKey::new("startup", subject, case, "ready"),
            "ns",
            labels,
            (0..20)
                .map(|i| p50 * (1.0 + f64::from(i % 3) * 0.01))
                .collect(),
        )
    }

    #[test]
    fn rows_go_up_the_isolation_ladder_whatever_their_speed() {
        let run = Run::of_measurements(vec![
            ready("qemu", "microvm", 2.6e9, Some("tcg")),
            ready("docker", "default", 4e8, None),
            ready("runc", "default", 6.6e7, None),
            ready("sandbox", "default", 9e5, None),
            ready("crun", "default", 2e7, None),
            ready("harness", "empty", 2e3, None),
            ready("namespaces", "default", 1.5e6, None),
            ready("process", "default", 1e6, None),
        ]);
        let names: Vec<String> = rungs(&run).into_iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "process",
                "namespaces",
                "sandbox",
                "crun",
                "runc",
                "docker",
                "qemu/microvm [tcg]"
            ]
        );
        let c = chart(&run).expect("drawn").expect("a ladder");
        assert!(c.svg.contains("emulated (tcg)"));
        assert!(c.svg.contains("virtual machine") && c.svg.contains("plain process"));
        assert!(!c.svg.contains("harness"));
    }

    #[test]
    fn no_startup_no_ladder() {
        assert!(chart(&Run::of_measurements(vec![]))
            .expect("nothing to draw")
            .is_none());
    }
}
