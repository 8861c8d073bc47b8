//! The report's workload section: the method in a few sentences (what each workload
//! measures, where the timer points are, the storage of each subject), the workload table
//! as HTML (each subject's ratio to a plain process with its 95% CI, or "skipped" /
//! "failed" with the reason as a tooltip) and the workload charts. Figures from
//! `workload::table`, the same as the terminal table and the headline.

use serde::Serialize;

use crate::chart::{self, Chart, ChartError};
use crate::model::Run;
use crate::units::{format_value, sig3};
use crate::workload::{self, Outcome};

/// The section's context for the template.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadSection {
    pub method: Vec<String>,
    /// What each workload measures: ("fileio", "sequential write + fsync, ...").
    pub workloads: Vec<(String, String)>,
    pub columns: Vec<String>,
    pub rows: Vec<HtmlRow>,
    pub caveats: Vec<String>,
    pub charts: Vec<Chart>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HtmlRow {
    /// Empty on the second and later metric of a workload.
    pub workload: String,
    pub metric: String,
    pub unit: String,
    pub better: String,
    pub cells: Vec<HtmlCell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HtmlCell {
    /// "×1.02", the process's median, "skipped", "failed", "—".
    pub text: String,
    /// "0.99–1.05", or what the process column is.
    pub sub: String,
    /// CSS class: "base", "same", "better", "worse", "skipped", "failed", "missing".
    pub class: String,
    /// The reason of a skip or failure (a tooltip).
    pub title: String,
}

/// How far beyond 1 a whole interval must lie for its cell to be coloured.
const NOTABLE: f64 = 0.05;

fn cell(c: &workload::Cell, unit: &str, better: Option<workload::Better>, base: bool) -> HtmlCell {
    let mk = |text: String, sub: String, class: &str, title: String| HtmlCell {
        text,
        sub,
        class: class.into(),
        title,
    };
    match &c.outcome {
        Outcome::Ok { median, n, .. } if base => mk(
            format_value(*median, unit),
            format!("median, n={n}"),
            "base",
            String::new(),
        ),
        Outcome::Ok { median, .. } => match c.ratio() {
            Some((r, ci)) => {
                // Coloured only when the whole interval is more than NOTABLE better or
                // worse than the process: a 2 % difference is real but not news.
                let class = match (better, ci) {
                    (Some(b), Some([lo, hi])) => {
                        let (lo, hi) = match b {
                            workload::Better::Higher => (lo, hi),
                            workload::Better::Lower => (1.0 / hi, 1.0 / lo),
                        };
                        if lo > 1.0 + NOTABLE {
                            "better"
                        } else if hi < 1.0 - NOTABLE {
                            "worse"
                        } else {
                            "same"
                        }
                    }
                    _ => "same",
                };
                mk(
                    format!("×{}", sig3(r)),
                    ci.map_or("no interval".into(), |[lo, hi]| {
                        format!("{}–{}", sig3(lo), sig3(hi))
                    }),
                    class,
                    format_value(*median, unit),
                )
            }
            None => mk(
                format_value(*median, unit),
                "no process baseline".into(),
                "same",
                String::new(),
            ),
        },
        Outcome::Skipped { reason } => {
            mk("skipped".into(), String::new(), "skipped", reason.clone())
        }
        Outcome::Failed { reason } => mk("failed".into(), String::new(), "failed", reason.clone()),
        Outcome::Missing => mk("—".into(), String::new(), "missing", String::new()),
    }
}

/// The workload section of `run`, `None` when it has no workload scenario.
pub fn section(run: &Run) -> Result<Option<WorkloadSection>, ChartError> {
    let t = workload::table(run);
    if t.is_empty() {
        return Ok(None);
    }
    let base = t.base_column();
    let mut rows = Vec::new();
    let mut last = String::new();
    for r in &t.rows {
        rows.push(HtmlRow {
            workload: if r.workload == last {
                String::new()
            } else {
                r.workload.clone()
            },
            metric: r.metric.clone(),
            unit: r.unit.clone(),
            better: r.better.map_or("—", |b| b.as_str()).into(),
            cells: r
                .cells
                .iter()
                .enumerate()
                .map(|(c, x)| cell(x, &r.unit, r.better, Some(c) == base))
                .collect(),
        });
        last = r.workload.clone();
    }
    let storage: Vec<String> = t
        .columns
        .iter()
        .filter_map(|c| Some(format!("{} {}", c.name, c.storage.as_deref()?)))
        .collect();
    let mut method = vec![
        "Every subject runs the same static probe binary, which times each workload's own loop \
         (CLOCK_MONOTONIC inside the probe, around the work only): launch, boot and teardown \
         are not in these figures. One repetition per launch of the probe."
            .to_string(),
        "Ratio = median(subject) ÷ median(plain process) in the metric's own unit, with the \
         bootstrap 95% CI of the ratio of medians (both sides resampled). Column “better” \
         says which way wins: for a lower-is-better metric (ns, µs) a ratio below 1 beats the \
         process, for a higher-is-better one (GB/s, MB/s, ops/s, tx/s, q/s) a ratio above 1 \
         does. Green (red): the whole interval is more than 5 % better (worse) than the process. The charts \
         below turn every metric so that right is better."
            .to_string(),
        "net is TCP on 127.0.0.1 inside each subject's own network stack; paths across the \
         isolation boundary (veth, bridge, virtio-net) are not measured."
            .to_string(),
    ];
    if !storage.is_empty() {
        method.push(format!(
            "Storage of fileio, sqlite and syscall's openat (label storage, and the file \
             system statfs reported): {}.",
            storage.join("; ")
        ));
    }
    let mut caveats = Vec::new();
    let emulated: Vec<&str> = t
        .columns
        .iter()
        .filter(|c| c.emulated)
        .map(|c| c.name.as_str())
        .collect();
    if !emulated.is_empty() {
        caveats.push(format!(
            "{} ran under QEMU's software CPU emulator (TCG, accel=tcg), because KVM was not \
             usable on this host: its figures include the emulation, not only the cost of a \
             VM's isolation.",
            emulated.join(", ")
        ));
    }
    let charts = chart::workload::chart(run)?
        .into_iter()
        .map(|mut c| {
            c.svg = chart::draw::titled(&c.svg, &c.title, &c.caption);
            c
        })
        .collect();
    Ok(Some(WorkloadSection {
        method,
        workloads: t
            .workloads()
            .into_iter()
            .map(|w| (w.to_string(), chart::workload::what(w).to_string()))
            .collect(),
        columns: t.columns.iter().map(|c| c.name.clone()).collect(),
        rows,
        caveats,
        charts,
    }))
}
