//! The workload section: workload × subject, each subject's ratio to a plain process with
//! its 95% CI (or "skipped" / "failed"; the reasons are in the problems section), the
//! process's own median as the baseline column, which way is better per metric, the
//! storage each subject wrote to, and — when a VM ran under TCG — that its figures include
//! the emulation. The figures are `workload::table`'s, the same as the HTML chart's.

use super::{grid, strings, NONE};
use crate::model::Measurement;
use crate::report::select::Catalog;
use crate::terminal::{printable, truncated};
use crate::text::table::human;
use crate::units::sig3;
use crate::workload::{self, Outcome};

/// Subjects side by side in one block of the table (besides the process).
const PER_BLOCK: usize = 5;

/// Width at which the storage line wraps.
const WRAP: usize = 110;

/// Longest subject or storage name a cell shows.
const MAX_NAME: usize = 24;

/// A ratio in few characters: 2 decimals from 0.1 to 10, 3 below, 3 digits above.
fn compact(r: f64) -> String {
    if !r.is_finite() {
        NONE.into()
    } else if r >= 100.0 {
        sig3(r)
    } else if r >= 10.0 {
        format!("{r:.1}")
    } else if r >= 0.1 {
        format!("{r:.2}")
    } else {
        format!("{r:.3}")
    }
}

/// "×1.02 (0.99–1.05)".
fn ratio_cell(ratio: f64, ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("×{} ({}–{})", compact(ratio), compact(lo), compact(hi)),
        None => format!("×{} (no CI)", compact(ratio)),
    }
}

pub(super) fn section(ms: &[Measurement], cat: Catalog<'_>) -> String {
    let t = workload::table_of(ms, cat);
    if t.is_empty() {
        return String::new();
    }
    let base = t.base_column();
    let mut header = strings(&["workload", "metric", "better"]);
    header.extend(
        t.columns
            .iter()
            .map(|c| truncated(&printable(&c.name), MAX_NAME).into_owned()),
    );
    let mut rows = Vec::new();
    let mut last = String::new();
    for r in &t.rows {
        let mut row = vec![
            if r.workload == last {
                String::new()
            } else {
                r.workload.clone()
            },
            r.metric.clone(),
            r.better.map_or(NONE, |b| b.as_str()).to_string(),
        ];
        last = r.workload.clone();
        for (c, cell) in r.cells.iter().enumerate() {
            row.push(match &cell.outcome {
                Outcome::Ok { median, .. } if Some(c) == base => human(*median, &r.unit),
                Outcome::Ok {
                    ratio: Some(ratio),
                    ci,
                    ..
                } => ratio_cell(*ratio, *ci),
                Outcome::Ok { median, .. } => format!("{} (no base)", human(*median, &r.unit)),
                Outcome::Skipped { .. } => "skipped".into(),
                Outcome::Failed { .. } => "failed".into(),
                Outcome::Missing => NONE.into(),
            });
        }
        rows.push(row);
    }
    let mut out = String::from(
        "workload: the same work in each subject; ratio = median(subject) / median(process)\n  \
         in the metric's unit with its 95% CI; the process column is its median\n",
    );
    // At most PER_BLOCK subjects side by side (about 130 columns); more subjects get
    // further blocks, each repeating the names and the process's column.
    let fixed: Vec<usize> = (0..3).chain(base.map(|b| 3 + b)).collect();
    let others: Vec<usize> = (3..header.len()).filter(|i| !fixed.contains(i)).collect();
    let blocks: Vec<&[usize]> = if others.is_empty() {
        vec![&[]]
    } else {
        others.chunks(PER_BLOCK).collect()
    };
    let pick = |r: &[String], block: &[usize]| -> Vec<String> {
        fixed
            .iter()
            .chain(block)
            .map(|&i| r.get(i).cloned().unwrap_or_default())
            .collect()
    };
    let tables: Vec<String> = blocks
        .iter()
        .map(|block| {
            let rows: Vec<Vec<String>> = rows.iter().map(|r| pick(r, block)).collect();
            grid(&pick(&header, block), &rows, 3)
        })
        .collect();
    out.push_str(&tables.join("\n"));
    out.push_str(
        "  better lower (ns, µs): a ratio below 1 beats the process; better higher (GB/s, \
         MB/s, ops/s,\n  tx/s, q/s): above 1 does. Times are taken inside the probe.\n",
    );
    let emulated: Vec<String> = t
        .columns
        .iter()
        .filter(|c| c.emulated)
        .map(|c| printable(&c.name).into_owned())
        .collect();
    if !emulated.is_empty() {
        out.push_str(&format!(
            "  {}: under QEMU's software CPU emulator (TCG; KVM not usable here), so these \
             figures\n  include the emulation, not only the VM's isolation.\n",
            emulated.join(", ")
        ));
    }
    let storage: Vec<String> = t
        .columns
        .iter()
        .filter_map(|c| {
            let s = c.storage.as_deref()?;
            Some(format!(
                "{} {}",
                truncated(&printable(&c.name), MAX_NAME),
                truncated(&printable(s), MAX_NAME)
            ))
        })
        .collect();
    if !storage.is_empty() {
        // One line per few subjects, so a run of every subject stays readable.
        let mut line = String::from("  storage of fileio, sqlite and openat:");
        for (i, item) in storage.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            if line.chars().count() + sep.len() + item.chars().count() > WRAP {
                out.push_str(line.trim_end_matches(' '));
                out.push_str(",\n");
                line = format!("    {item}");
            } else {
                line.push_str(sep);
                line.push_str(item);
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::model::{MeasurementKey, Status};
    use crate::text::summary::tests::{load, m, row};
    use crate::text::summary::{render, render_run};

    #[test]
    fn ratios_with_ci_skips_direction_and_the_tcg_line() {
        fn b(v: &'static str) -> [(&'static str, &'static str); 1] {
            [("better", v)]
        }
        let tcg_lower = [("better", "lower"), ("accel", "tcg")];
        let mut failed = crate::model::Measurement::not_ok(
            MeasurementKey::new("workload", "runc", "syscall", "getppid_ns"),
            "ns",
            Status::Failed,
            "probe line truncated: wl.syscall.getppid_ns=\x1b[2J",
        );
        failed.labels.insert("better".into(), "lower".into());
        let text = render(&[
            m(
                "workload",
                "process",
                "syscall",
                "getppid_ns",
                "ns",
                &b("lower"),
                60.0,
            ),
            m(
                "workload",
                "qemu",
                "syscall",
                "getppid_ns",
                "ns",
                &tcg_lower,
                480.0,
            ),
            failed,
            m(
                "workload",
                "process",
                "memory",
                "triad_gbps",
                "GB/s",
                &b("higher"),
                9.6,
            ),
            m(
                "workload",
                "runc",
                "memory",
                "triad_gbps",
                "GB/s",
                &b("higher"),
                9.6,
            ),
        ]);
        let line = row(&text, "syscall");
        assert!(line.contains("lower") && line.contains("60 ns"), "{text}");
        // Constant samples: the ratio and both ends of its CI are 8.
        assert!(line.contains("×8.00 (8.00–8.00)"), "{text}");
        assert!(line.contains("60 ns"), "{text}");
        assert!(line.contains("failed"), "{text}");
        assert!(row(&text, "memory").contains("×1.00 (1.00–1.00)"), "{text}");
        assert!(text.contains("better lower (ns, µs): a ratio below 1 beats the process"));
        assert!(
            text.contains("qemu [tcg]: under QEMU's software CPU emulator (TCG"),
            "{text}"
        );
        // The reason is listed once with the problems, made printable.
        assert!(
            text.contains("FAILED  workload runc/syscall getppid_ns: probe line truncated"),
            "{text}"
        );
        assert!(
            !crate::terminal::has_unprintable(&text.replace('\n', "")),
            "{text:?}"
        );
    }

    #[test]
    fn many_subjects_are_split_into_blocks_that_repeat_the_process() {
        let b = [("better", "higher")];
        let subjects = [
            "process", "sandbox", "bwrap", "crun", "runc", "podman", "docker", "runsc",
        ];
        let ms: Vec<_> = subjects
            .iter()
            .map(|s| m("workload", s, "memory", "triad_gbps", "GB/s", &b, 9.6))
            .collect();
        let text = render(&ms);
        let headers: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("workload  metric"))
            .collect();
        assert_eq!(headers.len(), 2, "{text}");
        assert!(headers.iter().all(|h| h.contains("process")), "{text}");
        assert!(
            headers[0].contains("podman")
                && headers[1].contains("docker")
                && headers[1].contains("runsc")
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.trim_start().starts_with("memory"))
                .count(),
            2
        );
        assert!(text.lines().all(|l| l.chars().count() <= 140), "{text}");
        let storage: Vec<_> = subjects
            .iter()
            .map(|s| {
                m(
                    "workload",
                    s,
                    "fileio",
                    "seqwrite_mbps",
                    "MB/s",
                    &[
                        ("better", "higher"),
                        ("storage", "fuse-overlayfs"),
                        ("fstype", "fuse"),
                    ],
                    900.0,
                )
            })
            .collect();
        let text = render(&storage);
        assert!(
            text.contains("storage of fileio, sqlite and openat: process fuse-overlayfs (fuse),"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 140), "{text}");
    }

    #[test]
    fn the_workload_fixture_has_a_row_per_metric_and_every_column() {
        let text = render_run(&load("handcrafted-workload-run.json"));
        let head = text
            .lines()
            .find(|l| l.trim_start().starts_with("workload  metric"))
            .expect("header");
        for name in [
            "process",
            "namespaces",
            "runc",
            "docker",
            "runsc",
            "qemu [tcg]",
        ] {
            assert!(head.contains(name), "{head}");
        }
        let fileio = row(&text, "fileio");
        assert!(
            fileio.contains("skipped"),
            "namespaces' read-only root: {fileio}"
        );
        assert!(row(&text, "sqlite").contains("failed"), "{text}");
        assert!(text.contains("storage of fileio, sqlite and openat: process host-fs (overlay)"));
        assert!(text.contains("docker fuse-overlayfs (fuse)"));
        // The verdict's performance row is the workloads', not the throttle unit.
        let perf = text.lines().nth(3).expect("verdict row");
        assert!(
            perf.trim_start().starts_with("performance") && perf.contains("qemu [tcg]"),
            "{text}"
        );
        assert!(!text.contains("latency-bound"), "{text}");
    }
}
