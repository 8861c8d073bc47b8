//! The workload table (scenario `workload`, issue 14): per (workload, metric) and subject,
//! the median, the unit, which way is better, and the ratio to a plain process with its
//! bootstrap 95% CI — the one reading of a run's workload figures that the HTML chart, the
//! headline's performance rows and the terminal table all print.
//!
//! What it relies on in the run file (the workload protocol):
//! * raw measurements `scenario: "workload"`, `case`: the workload, `metric`, `unit`;
//! * label `better` = `lower` | `higher` (without it, the unit decides: [`Better::of_unit`]);
//! * labels `accel` (VMs), `storage` and `fstype` (where fileio, sqlite and syscall's
//!   openat wrote);
//! * skipped / failed measurements with a `reason`: a metric a subject did not produce; a
//!   metric name the workload does not otherwise have (one line for the whole workload)
//!   marks every metric of that workload for that subject;
//! * derived `M.vs_process` measurements (unit `ratio`, label `base`) are not read: the
//!   ratio and its CI are computed here from the two RAW measurements
//!   (`stats::ratio_of_medians_ci(process, subject, 0.95)`), so a report is right even
//!   for a run file whose writer rounded or dropped the derived ones.
//!
//! The ratio is subject / process in the metric's own unit: above 1 is more ns (worse) for
//! a `lower` metric and more GB/s (better) for a `higher` one. [`Cell::speed`] turns it
//! into "times as fast as the process" (above 1 = better, whatever the metric), which is
//! what the chart draws and the headline averages.

use serde::Serialize;

use crate::model::{Measurement, Run, Status};
use crate::report::select::{self, Catalog, Class};
use crate::stats;

/// The scenario name.
pub const SCENARIO: &str = "workload";
/// The subject every ratio is taken against.
pub const BASE: &str = "process";
/// Suffix of the derived ratio metrics the scenario writes.
pub const RATIO_SUFFIX: &str = ".vs_process";
/// Confidence level of every ratio interval.
pub const LEVEL: f64 = 0.95;

/// Labels that describe a measurement's storage or direction, not which subject column it
/// belongs to.
const CELL_LABELS: [&str; 4] = ["better", "storage", "fstype", "base"];

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

impl Better {
    /// The `better` label, else the unit.
    pub fn of(m: &Measurement) -> Option<Better> {
        match m.labels.get("better").map(String::as_str) {
            Some("lower") => Some(Better::Lower),
            Some("higher") => Some(Better::Higher),
            _ => Better::of_unit(&m.unit),
        }
    }

    /// Durations and sizes: lower; rates (`…/s`): higher; anything else: unknown.
    pub fn of_unit(unit: &str) -> Option<Better> {
        if matches!(unit, "ns" | "us" | "µs" | "ms" | "s" | "bytes") {
            Some(Better::Lower)
        } else if unit.ends_with("/s") {
            Some(Better::Higher)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// One subject column of the table: a subject and the labels that tell its runs apart
/// (the accelerator of a VM, ...).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Column {
    pub subject: String,
    /// "runc", "qemu [tcg]".
    pub name: String,
    /// `accel` label, for VMs.
    pub accel: Option<String>,
    /// Under QEMU's software emulator (`accel=tcg`): every figure includes the emulation.
    pub emulated: bool,
    #[serde(skip)]
    pub class: Class,
    /// Where its fileio / sqlite / syscall directory was: "fuse-overlayfs (fuse)".
    pub storage: Option<String>,
    #[serde(skip)]
    key: Vec<(String, String)>,
}

/// What one subject gave for one metric.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "lowercase", tag = "status")]
pub enum Outcome {
    Ok {
        /// p50 of the raw samples, in the metric's unit.
        median: f64,
        n: usize,
        /// median(subject) / median(process); `None` for the process itself or when the
        /// process has no figure for this metric.
        ratio: Option<f64>,
        /// Bootstrap 95% CI of `ratio`; `None` when it is not finite.
        ci: Option<[f64; 2]>,
    },
    Skipped {
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// Nothing recorded for this subject and metric.
    Missing,
}

/// One cell: a subject's outcome for a metric.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cell {
    pub outcome: Outcome,
    /// `storage` and `fstype` labels of the measurement.
    pub storage: Option<String>,
    pub fstype: Option<String>,
    /// The raw samples of an `ok` cell (finite ones), for comparisons between subjects.
    #[serde(skip)]
    pub samples: Vec<f64>,
}

impl Cell {
    /// The ratio and its CI, when the subject has one.
    pub fn ratio(&self) -> Option<(f64, Option<[f64; 2]>)> {
        match self.outcome {
            Outcome::Ok {
                ratio: Some(r), ci, ..
            } => Some((r, ci)),
            _ => None,
        }
    }

    /// How many times as fast as the process (above 1 = better): the ratio for a `higher`
    /// metric, its reciprocal for a `lower` one, with the CI turned the same way.
    pub fn speed(&self, better: Better) -> Option<(f64, Option<[f64; 2]>)> {
        let (r, ci) = self.ratio()?;
        Some(match better {
            Better::Higher => (r, ci),
            Better::Lower => (1.0 / r, ci.map(|[lo, hi]| [1.0 / hi, 1.0 / lo])),
        })
    }
}

/// One metric of one workload across the subjects.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub workload: String,
    pub metric: String,
    pub unit: String,
    pub better: Option<Better>,
    /// One per [`Table::columns`], in that order.
    pub cells: Vec<Cell>,
}

/// The workload figures of a run.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Table {
    /// The process first, then by class (namespaces, containers, sandboxed, VMs), each in
    /// the order the run file lists them.
    pub columns: Vec<Column>,
    /// Workloads in the order they ran, each metric in the order it was written.
    pub rows: Vec<Row>,
}

impl Table {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The column of the plain process, if it ran.
    pub fn base_column(&self) -> Option<usize> {
        self.columns.iter().position(|c| c.subject == BASE)
    }

    /// Whether any column ran under software emulation.
    pub fn any_emulated(&self) -> bool {
        self.columns.iter().any(|c| c.emulated)
    }

    /// The workloads, in order.
    pub fn workloads(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.workload.as_str()) {
                out.push(&r.workload);
            }
        }
        out
    }
}

/// Subject `a` against subject `b` over the workload metrics both measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Versus {
    /// How many times as fast `a` is as `b`: the geometric mean of the per-metric ratios
    /// of medians turned so that above 1 favours `a` (b/a for lower-is-better metrics),
    /// averaged within each workload first so every workload weighs the same.
    pub speed: f64,
    /// Bootstrap 95% CI of `speed` (both sides of every metric resampled).
    pub ci: [f64; 2],
    pub workloads: usize,
    pub metrics: usize,
    /// The metric where `a` did worst and best against `b`: ("cpu chain_ns", 0.97).
    pub worst: (String, f64),
    pub best: (String, f64),
    /// The fewest samples on either side of any metric.
    pub min_n: usize,
}

/// Said wherever [`versus`]' single number is shown: what it leaves out and why.
pub const STORAGE_LEFT_OUT: &str = "fileio, sqlite and openat left out: they measure each \
    subject's storage configuration (podman's --rm overlay is mounted volatile and skips \
    fsync; gVisor's gofer, fuse-overlayfs, a VM's virtio-blk), shown per metric in the \
    workload table";

/// Whether a metric measures the subject's storage configuration more than its isolation:
/// the file-system workloads and the path walk. [`versus`] leaves them out of its single
/// number, because one subject's durability shortcut (podman mounts a `--rm` container's
/// overlay `volatile`, so its fdatasync returns at once: 0.001× the process's latency and
/// 77× its SQLite inserts here) would otherwise decide which container is "fastest". The
/// workload table and chart show them per metric.
pub fn storage_bound(workload: &str, metric: &str) -> bool {
    matches!(workload, "fileio" | "sqlite") || metric == "openat_close_ns"
}

/// The raw samples of two subjects for one metric, in `ratio_of_medians_ci` order.
type SamplePair<'a> = (&'a [f64], &'a [f64]);

/// [`Versus`] of columns `a` and `b` of `t`; `None` when they share no metric with a
/// direction and raw samples on both sides.
pub fn versus(t: &Table, a: usize, b: usize) -> Option<Versus> {
    versus_with(t, a, b, true)
}

/// `versus(t, a, b).speed` without the bootstrap (ranking subjects, a row's side values).
pub fn speed(t: &Table, a: usize, b: usize) -> Option<f64> {
    versus_with(t, a, b, false).map(|v| v.speed)
}

fn versus_with(t: &Table, a: usize, b: usize, with_ci: bool) -> Option<Versus> {
    let mut groups: Vec<(String, Vec<SamplePair<'_>>)> = Vec::new();
    let mut worst: Option<(String, f64)> = None;
    let mut best: Option<(String, f64)> = None;
    let mut min_n = usize::MAX;
    for row in &t.rows {
        let Some(better) = row.better else { continue };
        if storage_bound(&row.workload, &row.metric) {
            continue;
        }
        let (ca, cb) = (row.cells.get(a)?, row.cells.get(b)?);
        if !matches!(ca.outcome, Outcome::Ok { .. }) || !matches!(cb.outcome, Outcome::Ok { .. }) {
            continue;
        }
        if ca.samples.is_empty() || cb.samples.is_empty() {
            continue;
        }
        // ratio_of_medians order: median(second) / median(first) is a's speed over b's.
        let pair: SamplePair<'_> = match better {
            Better::Higher => (&cb.samples, &ca.samples),
            Better::Lower => (&ca.samples, &cb.samples),
        };
        let s = stats::median(pair.1) / stats::median(pair.0);
        if !(s.is_finite() && s > 0.0) {
            continue;
        }
        let name = format!("{} {}", row.workload, row.metric);
        if worst.as_ref().is_none_or(|w| s < w.1) {
            worst = Some((name.clone(), s));
        }
        if best.as_ref().is_none_or(|w| s > w.1) {
            best = Some((name, s));
        }
        min_n = min_n.min(ca.samples.len()).min(cb.samples.len());
        match groups.iter_mut().find(|(w, _)| *w == row.workload) {
            Some((_, g)) => g.push(pair),
            None => groups.push((row.workload.clone(), vec![pair])),
        }
    }
    let metrics = groups.iter().map(|(_, g)| g.len()).sum();
    let groups: Vec<Vec<SamplePair<'_>>> = groups.into_iter().map(|(_, g)| g).collect();
    let (speed, ci) = if with_ci {
        stats::geomean_ratio_of_medians_ci(&groups, LEVEL)
    } else {
        // The same point estimate, computed the same way, without the resamples.
        let logs: Vec<f64> = groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|(x, y)| (stats::median(y) / stats::median(x)).ln())
                    .sum::<f64>()
                    / g.len() as f64
            })
            .collect();
        (
            (logs.iter().sum::<f64>() / logs.len() as f64).exp(),
            [f64::NAN, f64::NAN],
        )
    };
    if !(speed.is_finite() && speed > 0.0) {
        return None;
    }
    Some(Versus {
        speed,
        ci,
        workloads: groups.len(),
        metrics,
        worst: worst?,
        best: best?,
        min_n,
    })
}

fn is_raw(m: &Measurement) -> bool {
    m.scenario == SCENARIO && !m.metric.ends_with(RATIO_SUFFIX) && !m.labels.contains_key("base")
}

fn column_key(m: &Measurement) -> Vec<(String, String)> {
    m.labels
        .iter()
        .filter(|(k, _)| !CELL_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn column_name(m: &Measurement) -> String {
    let mut s = m.subject.clone();
    for key in ["accel", "oci_runtime"] {
        if let Some(v) = m.labels.get(key) {
            s.push_str(&format!(" [{v}]"));
        }
    }
    s
}

fn finite(v: &[f64]) -> Vec<f64> {
    v.iter().copied().filter(|x| x.is_finite()).collect()
}

/// The workload table of `run`; empty when the run has no workload scenario.
pub fn table(run: &Run) -> Table {
    table_of(&run.measurements, Catalog::of(run))
}

/// [`table`] of measurements whose subjects `cat` classifies.
pub fn table_of(measurements: &[Measurement], cat: Catalog<'_>) -> Table {
    let raw: Vec<&Measurement> = measurements.iter().filter(|m| is_raw(m)).collect();

    let mut columns: Vec<Column> = Vec::new();
    for m in &raw {
        let key = column_key(m);
        if columns
            .iter()
            .any(|c| c.subject == m.subject && c.key == key)
        {
            continue;
        }
        let accel = m.labels.get("accel").cloned();
        columns.push(Column {
            subject: m.subject.clone(),
            name: column_name(m),
            emulated: accel.as_deref() == Some("tcg"),
            accel,
            class: cat.class(&m.subject),
            storage: None,
            key,
        });
    }
    // Stable: the run file's order within a class.
    columns.sort_by_key(|c| (c.subject != BASE, c.class));
    let col_of = |m: &Measurement| {
        let key = column_key(m);
        columns
            .iter()
            .position(|c| c.subject == m.subject && c.key == key)
    };

    // Rows: (workload, metric) of every ok raw measurement, in run order.
    let mut rows: Vec<Row> = Vec::new();
    let mut sources: Vec<Vec<Option<&Measurement>>> = Vec::new();
    let empty_cells = || {
        vec![
            Cell {
                outcome: Outcome::Missing,
                storage: None,
                fstype: None,
                samples: Vec::new(),
            };
            columns.len()
        ]
    };
    for m in raw
        .iter()
        .filter(|m| m.status == Status::Ok && select::has_data(m))
    {
        let i = match rows
            .iter()
            .position(|r| r.workload == m.case && r.metric == m.metric)
        {
            Some(i) => i,
            None => {
                rows.push(Row {
                    workload: m.case.clone(),
                    metric: m.metric.clone(),
                    unit: m.unit.clone(),
                    better: Better::of(m),
                    cells: empty_cells(),
                });
                sources.push(vec![None; columns.len()]);
                rows.len() - 1
            }
        };
        if let Some(c) = col_of(m) {
            if sources[i][c].is_none() {
                sources[i][c] = Some(m);
            }
        }
    }
    // Workloads no subject ran: a row per metric of the skips, so no skip is dropped.
    for m in raw.iter().filter(|m| m.status != Status::Ok) {
        if !rows.iter().any(|r| r.workload == m.case) {
            rows.push(Row {
                workload: m.case.clone(),
                metric: m.metric.clone(),
                unit: m.unit.clone(),
                better: Better::of(m),
                cells: empty_cells(),
            });
            sources.push(vec![None; columns.len()]);
        }
    }
    // Group rows by workload, keeping first-appearance order of workloads and metrics.
    let mut order: Vec<String> = Vec::new();
    for r in &rows {
        if !order.contains(&r.workload) {
            order.push(r.workload.clone());
        }
    }
    let mut paired: Vec<(Row, Vec<Option<&Measurement>>)> = rows.into_iter().zip(sources).collect();
    paired.sort_by_key(|(r, _)| order.iter().position(|w| *w == r.workload));

    let base = columns.iter().position(|c| c.subject == BASE);
    let mut rows = Vec::with_capacity(paired.len());
    for (mut row, src) in paired {
        let base_samples: Option<Vec<f64>> = base
            .and_then(|b| src[b])
            .map(|m| finite(&m.samples))
            .filter(|s| !s.is_empty());
        for (c, m) in src.iter().enumerate() {
            let Some(m) = m else { continue };
            let Some(s) = m.summary else { continue };
            let samples = finite(&m.samples);
            let (ratio, ci) = match (&base_samples, Some(c) == base) {
                (Some(b), false) if !samples.is_empty() => {
                    let r = stats::median(&samples) / stats::median(b);
                    let ci = stats::ratio_of_medians_ci(b, &samples, LEVEL);
                    (
                        Some(r).filter(|r| r.is_finite() && *r > 0.0),
                        Some(ci).filter(|[lo, hi]| lo.is_finite() && hi.is_finite() && *lo > 0.0),
                    )
                }
                _ => (None, None),
            };
            row.cells[c] = Cell {
                outcome: Outcome::Ok {
                    median: s.p50,
                    n: s.n,
                    ratio,
                    ci: ratio.and(ci),
                },
                storage: m.labels.get("storage").cloned(),
                fstype: m.labels.get("fstype").cloned(),
                samples,
            };
        }
        rows.push(row);
    }

    // Skips and failures: the cell of their metric, or every metric of their workload
    // when the metric is not one the workload has (a whole-workload skip).
    for m in raw.iter().filter(|m| m.status != Status::Ok) {
        let Some(c) = col_of(m) else { continue };
        let reason = m
            .reason
            .clone()
            .unwrap_or_else(|| "no reason recorded".into());
        let outcome = if m.status == Status::Skipped {
            Outcome::Skipped { reason }
        } else {
            Outcome::Failed { reason }
        };
        let exact = rows
            .iter()
            .any(|r| r.workload == m.case && r.metric == m.metric);
        for r in rows
            .iter_mut()
            .filter(|r| r.workload == m.case && (!exact || r.metric == m.metric))
        {
            if r.cells[c].outcome == Outcome::Missing {
                r.cells[c] = Cell {
                    outcome: outcome.clone(),
                    storage: m.labels.get("storage").cloned(),
                    fstype: m.labels.get("fstype").cloned(),
                    samples: Vec::new(),
                };
            }
        }
    }

    // Each column's storage, from its first cell that names one.
    for (c, col) in columns.iter_mut().enumerate() {
        col.storage = rows.iter().find_map(|r| {
            let cell = &r.cells[c];
            let s = cell.storage.as_deref()?;
            Some(match cell.fstype.as_deref() {
                Some(f) => format!("{s} ({f})"),
                None => s.to_string(),
            })
        });
    }
    Table { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeasurementKey;
    use std::collections::BTreeMap;

    pub(crate) fn wl(
        subject: &str,
        workload: &str,
        metric: &str,
        unit: &str,
        better: &str,
        extra: &[(&str, &str)],
        median: f64,
    ) -> Measurement {
        let mut labels: BTreeMap<String, String> = [("better".to_string(), better.to_string())]
            .into_iter()
            .collect();
        for (k, v) in extra {
            labels.insert(k.to_string(), v.to_string());
        }
        Measurement::from_samples(
            MeasurementKey::new(SCENARIO, subject, workload, metric),
            unit,
            labels,
            // Symmetric about `median`, so the median is exact.
            (0..10)
                .map(|i| median * (1.0 + f64::from(i % 5 - 2) * 0.01))
                .collect(),
        )
    }

    fn not_ok(
        subject: &str,
        workload: &str,
        metric: &str,
        status: Status,
        why: &str,
    ) -> Measurement {
        Measurement::not_ok(
            MeasurementKey::new(SCENARIO, subject, workload, metric),
            "ns",
            status,
            why,
        )
    }

    #[test]
    fn ratio_and_ci_from_the_raw_measurements_in_the_metrics_own_direction() {
        let tcg = [("accel", "tcg")];
        let run = Run::of_measurements(vec![
            wl("qemu", "memory", "triad_gbps", "GB/s", "higher", &tcg, 1.2),
            wl(
                "process",
                "memory",
                "triad_gbps",
                "GB/s",
                "higher",
                &[],
                9.6,
            ),
            wl("runc", "memory", "triad_gbps", "GB/s", "higher", &[], 9.6),
            wl("process", "syscall", "getppid_ns", "ns", "lower", &[], 60.0),
            wl("runsc", "syscall", "getppid_ns", "ns", "lower", &[], 1500.0),
        ]);
        let t = table(&run);
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["process", "runc", "runsc", "qemu [tcg]"]);
        assert!(t.columns[3].emulated && t.any_emulated());
        let triad = &t.rows[0];
        assert_eq!(
            (triad.workload.as_str(), triad.metric.as_str()),
            ("memory", "triad_gbps")
        );
        assert_eq!(triad.better, Some(Better::Higher));
        let (r, ci) = triad.cells[3].ratio().expect("qemu ratio");
        assert!((r - 0.125).abs() < 1e-9, "{r}");
        let [lo, hi] = ci.expect("a CI");
        assert!(lo <= r && r <= hi && hi < 0.2, "{lo} {r} {hi}");
        // Right is better: the VM's triad is 8× slower.
        let (s, _) = triad.cells[3].speed(Better::Higher).expect("speed");
        assert!((s - 0.125).abs() < 1e-9);
        // The process is the base: a median, no ratio.
        assert!(matches!(
            triad.cells[0].outcome,
            Outcome::Ok { ratio: None, median, .. } if (median - 9.6).abs() < 1e-9
        ));
        // A lower-is-better metric: runsc's ratio 25 is a speed of 1/25.
        let getppid = &t.rows[1];
        assert_eq!(getppid.better, Some(Better::Lower));
        let (r, _) = getppid.cells[2].ratio().expect("runsc ratio");
        assert!((r - 25.0).abs() < 1e-9);
        let (s, ci) = getppid.cells[2].speed(Better::Lower).expect("speed");
        let [lo, hi] = ci.expect("CI");
        assert!((s - 0.04).abs() < 1e-9 && lo <= s && s <= hi);
        // Nothing recorded for runc's getppid.
        assert_eq!(getppid.cells[1].outcome, Outcome::Missing);
    }

    #[test]
    fn skips_and_failures_are_carried_per_metric_or_per_workload() {
        let run = Run::of_measurements(vec![
            wl(
                "process",
                "fileio",
                "seqwrite_mbps",
                "MB/s",
                "higher",
                &[("storage", "host-fs"), ("fstype", "ext4")],
                900.0,
            ),
            wl(
                "process",
                "fileio",
                "fdatasync_p50_us",
                "us",
                "lower",
                &[],
                45.0,
            ),
            wl(
                "docker",
                "fileio",
                "seqwrite_mbps",
                "MB/s",
                "higher",
                &[("storage", "fuse-overlayfs"), ("fstype", "fuse")],
                400.0,
            ),
            not_ok(
                "docker",
                "fileio",
                "fdatasync_p50_us",
                Status::Failed,
                "fdatasync: EIO",
            ),
            // One line for the whole workload.
            not_ok(
                "namespaces",
                "fileio",
                "",
                Status::Skipped,
                "read-only root",
            ),
            // A workload nobody ran.
            not_ok(
                "process",
                "sqlite",
                "insert_tps",
                Status::Skipped,
                "no sqlite here",
            ),
        ]);
        let t = table(&run);
        let col = |name: &str| t.columns.iter().position(|c| c.name == name).expect(name);
        let (docker, ns, process) = (col("docker"), col("namespaces"), col("process"));
        let fd = t
            .rows
            .iter()
            .find(|r| r.metric == "fdatasync_p50_us")
            .expect("row");
        assert_eq!(
            fd.cells[docker].outcome,
            Outcome::Failed {
                reason: "fdatasync: EIO".into()
            }
        );
        assert!(matches!(
            &t.rows[0].cells[docker].outcome,
            Outcome::Ok { ratio: Some(_), .. }
        ));
        for r in t.rows.iter().filter(|r| r.workload == "fileio") {
            assert_eq!(
                r.cells[ns].outcome,
                Outcome::Skipped {
                    reason: "read-only root".into()
                },
                "{}",
                r.metric
            );
        }
        let sq = t
            .rows
            .iter()
            .find(|r| r.workload == "sqlite")
            .expect("sqlite row");
        assert_eq!(sq.metric, "insert_tps");
        assert!(matches!(sq.cells[process].outcome, Outcome::Skipped { .. }));
        assert_eq!(
            t.columns[docker].storage.as_deref(),
            Some("fuse-overlayfs (fuse)")
        );
        assert_eq!(t.workloads(), ["fileio", "sqlite"]);
    }

    #[test]
    fn no_workload_scenario_no_table() {
        let t = table(&Run::of_measurements(vec![]));
        assert!(t.is_empty() && t.columns.is_empty());
    }

    #[test]
    fn the_better_label_wins_over_the_unit() {
        let m = wl("process", "x", "y", "ns", "higher", &[], 1.0);
        assert_eq!(Better::of(&m), Some(Better::Higher));
        assert_eq!(Better::of_unit("us"), Some(Better::Lower));
        assert_eq!(Better::of_unit("GB/s"), Some(Better::Higher));
        assert_eq!(Better::of_unit("ratio"), None);
    }

    /// The contract with the scenario: the median of each derived `M.vs_process` is the
    /// ratio this table computes from the raw measurements, and every derived one has
    /// the raw one's labels plus `base: process`. Run on the fixture; point it at a real
    /// run file to check the scenario's output.
    #[test]
    fn derived_ratios_of_the_fixture_agree_with_the_table() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/results/handcrafted-workload-run.json");
        let run = Run::load(&p).expect("fixture");
        let t = table(&run);
        let mut checked = 0;
        for d in run
            .measurements
            .iter()
            .filter(|m| m.scenario == SCENARIO && m.metric.ends_with(RATIO_SUFFIX))
        {
            assert_eq!(d.unit, "ratio");
            assert_eq!(d.labels.get("base").map(String::as_str), Some(BASE));
            let metric = d.metric.trim_end_matches(RATIO_SUFFIX);
            let row = t
                .rows
                .iter()
                .find(|r| r.workload == d.case && r.metric == metric)
                .expect("a row for every derived ratio");
            let c = t
                .columns
                .iter()
                .position(|c| c.subject == d.subject)
                .expect("a column");
            let (r, ci) = row.cells[c].ratio().expect("a ratio");
            let p50 = d.summary.expect("summary").p50;
            assert!(
                (r - p50).abs() <= 1e-9 * r,
                "{}: {r} vs {p50}",
                d.identity()
            );
            assert!(ci.is_some(), "{}", d.identity());
            checked += 1;
        }
        assert!(checked >= 60, "{checked}");
    }
}
