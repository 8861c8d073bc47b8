//! The headline summary printed at the end of `isobench run`: the verdict (containers vs
//! VMs on startup, memory and performance, as on the HTML report's first screen), then
//! one short section per scenario that ran — startup (ready p50, CI, p99, ratio to a
//! plain process, footprint), clone (per flag, the concurrency and mount-table sweeps on
//! one line each), throttle (per subject and quota) — and every skip or failure, one line
//! per distinct reason.
//!
//! The full per-measurement table (`table.rs`) is what a person digs into; this is what they
//! read. It is a pure function of the run so it is tested without running anything.
//! Values are formatted with `table::human`, the same as the full table.
//!
//! Here: `render` and the helpers the sections share (the aligned `grid`, `factor`,
//! `ci_of`, `row_names`, ...) and the plain layout of a scenario without its own; one file
//! per section (`verdict`, `startup`, `clone`, `throttle` with the OOM case, `problems`).

mod clone;
mod density;
mod problems;
mod startup;
#[cfg(test)]
mod tests;
mod throttle;
mod verdict;
mod workload;

use crate::model::{Measurement, Run, Status, Summary};
use crate::report::select::{self, Class};
use crate::terminal::printable;
use crate::text::table::human;

/// Shown where a value does not exist (no process baseline, no footprint of that kind).
const NONE: &str = "—";

/// The summary of `run`: its verdict, then [`render`] of its measurements.
pub fn render_run(run: &Run) -> String {
    let rest = render_in(&run.measurements, select::Catalog::of(run));
    if rest.is_empty() {
        return rest;
    }
    format!(
        "{}
{rest}",
        verdict::section(run)
    )
}

/// The summary of `ms`, one section per scenario in the order they first appear, then the
/// skipped and failed measurements. Empty when there is nothing to say.
pub fn render(ms: &[Measurement]) -> String {
    static NO_SUBJECTS: std::collections::BTreeMap<String, crate::model::SubjectInfo> =
        std::collections::BTreeMap::new();
    render_in(ms, select::Catalog::of_subjects(&NO_SUBJECTS))
}

/// [`render`], classing subjects by `cat` (the run's own descriptions of them).
fn render_in(ms: &[Measurement], cat: select::Catalog<'_>) -> String {
    let mut scenarios: Vec<&str> = Vec::new();
    for m in ms {
        if !scenarios.contains(&m.scenario.as_str()) {
            scenarios.push(&m.scenario);
        }
    }
    let mut sections: Vec<String> = Vec::new();
    for scn in scenarios {
        let of: Vec<&Measurement> = ms.iter().filter(|m| m.scenario == scn).collect();
        let text = match scn {
            "startup" => startup::section(&of),
            "clone" => clone::section(&of),
            "throttle" => throttle::section(&of),
            crate::workload::SCENARIO => workload::section(ms, cat),
            "density" => density::section(&of),
            _ => generic(scn, &of),
        };
        if !text.is_empty() {
            sections.push(text);
        }
    }
    let problems = problems::section(ms);
    if !problems.is_empty() {
        sections.push(problems);
    }
    sections.join("\n")
}

/// The summary of `m` when it is `ok` and has numbers.
fn ok(m: &Measurement) -> Option<Summary> {
    if m.status == Status::Ok && select::has_data(m) {
        m.summary
    } else {
        None
    }
}

/// The measurement of `metric` that belongs to the row of `row` (same subject and case):
/// the one with the same labels if there is one, else any unswept one.
fn sibling<'a>(of: &[&'a Measurement], row: &Measurement, metric: &str) -> Option<&'a Measurement> {
    let same = |m: &&&Measurement| {
        m.subject == row.subject && m.case == row.case && m.metric == metric && ok(m).is_some()
    };
    of.iter()
        .filter(same)
        .find(|m| m.labels == row.labels)
        .or_else(|| of.iter().filter(same).find(|m| select::unswept(m)))
        .copied()
}

fn p50_of(m: Option<&Measurement>) -> String {
    m.and_then(|m| ok(m).map(|s| human(s.p50, &m.unit)))
        .unwrap_or_else(|| NONE.to_string())
}

fn ci_of(s: &Summary, unit: &str) -> String {
    format!(
        "{} – {}",
        human(s.p50_ci[0], unit),
        human(s.p50_ci[1], unit)
    )
}

/// "×12.3": how many times `base` a value is; "—" when either is not a usable number.
fn factor(value: f64, base: f64) -> String {
    let r = value / base;
    if !(r.is_finite() && r > 0.0) {
        NONE.to_string()
    } else if r < 10.0 {
        format!("×{r:.2}")
    } else if r < 100.0 {
        format!("×{r:.1}")
    } else if r < crate::units::PLAIN_MAX {
        format!("×{r:.0}")
    } else {
        format!("×{r:.2e}")
    }
}

/// Labels worth a reader's eye next to a subject, kept short: the accelerator of a VM and
/// the OCI runtime behind an engine. The rest (cgroup manager, CPU weight, ...) is in the
/// full table.
fn tags(m: &Measurement) -> String {
    let mut s = String::new();
    for key in ["accel", "oci_runtime"] {
        if let Some(v) = m.labels.get(key) {
            s.push_str(&format!(" [{v}]"));
        }
    }
    s
}

/// Row names of one table: `select::series_name` plus the OCI runtime; where two rows
/// would still read the same, their remaining labels are added.
fn row_names(rows: &[&Measurement]) -> Vec<String> {
    let base: Vec<String> = rows
        .iter()
        .map(|m| {
            let mut s = select::series_name(m);
            if let Some(r) = m.labels.get("oci_runtime") {
                s.push_str(&format!(" [{r}]"));
            }
            s
        })
        .collect();
    base.iter()
        .zip(rows)
        .map(|(name, m)| {
            if base.iter().filter(|b| *b == name).count() > 1 {
                let rest: Vec<String> = m
                    .labels
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "accel" | "oci_runtime"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                format!("{name} {}", rest.join(","))
            } else {
                name.clone()
            }
        })
        .collect()
}

/// An aligned text table, indented by two spaces: the first `left` columns are
/// left-aligned (names), the others right-aligned (numbers).
fn grid(header: &[String], rows: &[Vec<String>], left: usize) -> String {
    // Text from the run file made visible (`terminal::printable`) before it is measured.
    let esc =
        |r: &[String]| -> Vec<String> { r.iter().map(|c| printable(c).into_owned()).collect() };
    let header = esc(header);
    let rows: Vec<Vec<String>> = rows.iter().map(|r| esc(r)).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    for r in std::iter::once(header.as_slice()).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::from("  ");
        for (i, (c, w)) in r.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i > 0 {
                line.push_str("  ");
            }
            if i < left {
                line.push_str(c);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `header` and `rows` without the columns (after the first `always`) in which no row has
/// a value: a run without footprints, or from before a metric existed, gets no empty column.
fn drop_empty(
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    always: usize,
) -> (Vec<String>, Vec<Vec<String>>) {
    let keep: Vec<bool> = (0..header.len())
        .map(|i| i < always || rows.iter().any(|r| r.get(i).is_some_and(|c| c != NONE)))
        .collect();
    let pick = |r: Vec<String>| -> Vec<String> {
        r.into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c)
            .collect()
    };
    (pick(header), rows.into_iter().map(pick).collect())
}

fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// The harness's own timer overhead in `of`, for a section's title line.
fn overhead(of: &[&Measurement]) -> String {
    of.iter()
        .find(|m| select::class_of(&m.subject) == Class::Harness && m.metric == "ready")
        .and_then(|m| ok(m).map(|s| format!("; timer overhead {}", human(s.p50, &m.unit))))
        .unwrap_or_default()
}

/// A scenario this view has no special layout for: every `ok` measurement, one row each.
fn generic(scenario: &str, of: &[&Measurement]) -> String {
    let rows: Vec<Vec<String>> = of
        .iter()
        .filter_map(|m| {
            let s = ok(m)?;
            let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Some(vec![
                select::series_name(m),
                m.metric.clone(),
                labels.join(","),
                human(s.p50, &m.unit),
                ci_of(&s, &m.unit),
                human(s.p99, &m.unit),
            ])
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let header = strings(&["subject", "metric", "labels", "p50", "95% CI of p50", "p99"]);
    format!("{}:\n{}", printable(scenario), grid(&header, &rows, 3))
}
