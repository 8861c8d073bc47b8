//! The history as aligned text for a terminal or a CI log: the recorded runs (`history
//! list`), a metric's medians over the runs with a text sparkline (`history trend`) and
//! the verdicts of a nightly check (`history check`). The Markdown of the check is in
//! `markdown.rs`; both format values with `compare::human`, as `isobench compare` does.

use std::path::Path;

use super::{CheckReport, CheckRow, RunRow, SeriesPoint};
use crate::compare::human;
use crate::terminal::{printable, truncated};

/// Widest measurement name a history check prints; longer ones end in "…".
pub(super) const MAX_NAME_CHARS: usize = 100;

/// `history list`: one line per recorded run, newest first as given; `db` names the
/// database when there is none.
pub fn list(runs: &[RunRow], db: &Path) -> String {
    let mut out = format!(
        "{:>5}  {:<30}  {:<24}  {:<12}  {:>5}  {:>4}  tool\n",
        "id", "started", "kernel", "host", "cpus", "meas"
    );
    for r in runs {
        out.push_str(&format!(
            "{:>5}  {:<30}  {:<24}  {:<12}  {:>5}  {:>4}  {}{}{}\n",
            r.id,
            printable(&r.started_at),
            printable(&r.kernel),
            printable(&r.hostname),
            r.cpus,
            r.measurements,
            printable(&r.tool_version),
            r.tool_git
                .as_deref()
                .map(|g| format!(" ({})", printable(g)))
                .unwrap_or_default(),
            if r.interrupted { " INTERRUPTED" } else { "" }
        ));
    }
    if runs.is_empty() {
        out.push_str(&format!("(no runs recorded in {})\n", db.display()));
    }
    out
}

/// `history trend`: `metric`, then one line per run with its median, the CI of the median,
/// the sample count and a bar showing where the median lies between the lowest and the
/// highest of the series.
pub fn trend(metric: &str, points: &[SeriesPoint]) -> String {
    let mut out = format!("{}\n", printable(metric));
    let lo = points.iter().map(|p| p.p50).fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| p.p50)
        .fold(f64::NEG_INFINITY, f64::max);
    for p in points {
        // A text sparkline: where this median lies between the lowest and highest.
        let bar = if hi > lo {
            ((p.p50 - lo) / (hi - lo) * 30.0).round() as usize
        } else {
            0
        };
        out.push_str(&format!(
            "{:>5}  {:<30}  {:<20}  {:>10}  [{} – {}]  n={:<5} {}\n",
            p.run_id,
            printable(&p.started_at),
            printable(&p.kernel),
            human(p.p50, &p.unit),
            human(p.p50_ci[0], &p.unit),
            human(p.p50_ci[1], &p.unit),
            p.n,
            "#".repeat(bar + 1)
        ));
    }
    out
}

/// `history check`: what `run` was checked against, then one line per measurement.
pub fn check(rep: &CheckReport, run: &Path) -> String {
    let mut out = format!(
        "{} against the last {} runs (median of their medians; band = Tukey fences of their IQR; threshold ±{:.1} %)\n",
        printable(&run.display().to_string()),
        rep.options.last,
        rep.options.threshold * 100.0
    );
    // Bounded: a format width past u16::MAX panics, and a 70,000-character name helps no one.
    let w = rep
        .rows
        .iter()
        .map(|r| printable(&r.identity).chars().count())
        .max()
        .unwrap_or(10)
        .clamp(11, MAX_NAME_CHARS);
    out.push_str(&format!(
        "{:<w$}  {:>10}  {:>10}  {:>23}  {:>8}  verdict\n",
        "measurement", "tonight", "baseline", "band", "change"
    ));
    for r in &rep.rows {
        out.push_str(&format!(
            "{:<w$}  {:>10}  {:>10}  {:>23}  {:>8}  {}{}\n",
            truncated(&printable(&r.identity), w),
            r.p50.map_or("-".into(), |v| human(v, &r.unit)),
            r.baseline_median.map_or("-".into(), |v| human(v, &r.unit)),
            band_text(r),
            r.change_pct.map_or("-".into(), crate::units::percent),
            r.verdict.as_str(),
            r.note
                .as_deref()
                .map(|n| format!(" ({})", printable(n)))
                .unwrap_or_default()
        ));
    }
    out
}

/// The baseline band of a check row, "low – high" ("-" without enough history).
pub(super) fn band_text(row: &CheckRow) -> String {
    match row.band {
        Some([lo, hi]) => format!("{} – {}", human(lo, &row.unit), human(hi, &row.unit)),
        None => "-".into(),
    }
}
