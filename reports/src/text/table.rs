//! The full table: one row per measurement (p50, its CI, p90, p99, max), then every skip
//! or failure. Printed by `isobench run --full-table` and `isobench report RUN.json
//! --table`; the end of a plain run prints the shorter `summary` instead.

use crate::model::{Measurement, Status};
use crate::terminal::printable;

/// The metrics the full table shows: the figures a reader compares, without the
/// bookkeeping ones (`teardown`, `bundle`, `nr_periods`, `*_rss`, ...) that the run file
/// and the HTML report keep.
pub const FULL_TABLE_METRICS: &[&str] = &[
    "ready",
    "total",
    "create",
    "start",
    "delete",
    "payload_pss",
    "runtime_pss",
    "cgroup_memory",
    "over_plain",
    "unshare",
    "setns",
    "throughput",
    "cpu_share",
    "share_over_quota",
    "usage_over_rusage",
    "throughput_rel",
    "latency",
    "nr_throttled",
    "throttled_time",
    "oom_kill",
    "allocated_mib",
    "memory_peak",
    "kernel_at",
    "kernel_boot",
    "poweroff",
];

/// Human form of a value in `unit`: ns → ns/µs/ms/s, bytes → KiB/MiB/GiB.
pub fn human(value: f64, unit: &str) -> String {
    if !value.is_finite() || value.abs() >= crate::units::PLAIN_MAX {
        return crate::units::format_value(value, unit);
    }
    match unit {
        "ns" => {
            let v = value.abs();
            if v >= 1e9 {
                format!("{:.2} s", value / 1e9)
            } else if v >= 1e6 {
                format!("{:.2} ms", value / 1e6)
            } else if v >= 1e3 {
                format!("{:.1} µs", value / 1e3)
            } else if v < 10.0 && value.fract() != 0.0 {
                // A few ns per iteration (the workload's cpu chain): keep two digits.
                format!("{value:.2} ns")
            } else {
                format!("{value:.0} ns")
            }
        }
        "bytes" => {
            let v = value.abs();
            if v >= 1024.0 * 1024.0 * 1024.0 {
                format!("{:.2} GiB", value / (1024.0 * 1024.0 * 1024.0))
            } else if v >= 1024.0 * 1024.0 {
                format!("{:.1} MiB", value / (1024.0 * 1024.0))
            } else if v >= 1024.0 {
                format!("{:.0} KiB", value / 1024.0)
            } else {
                format!("{value:.0} B")
            }
        }
        "ratio" => format!("{value:.3}"),
        "ops/s" => format!("{value:.0}/s"),
        // Microseconds (the workload scenario's latencies): scaled as durations are.
        "us" | "µs" => human(value * 1e3, "ns"),
        u if u.ends_with("/s") => format!("{} {u}", crate::units::sig3(value)),
        "count" if value.fract() == 0.0 => format!("{value:.0}"),
        "count" => format!("{value:.1}"),
        _ => format!("{value:.3} {unit}"),
    }
}

fn labels(m: &Measurement) -> String {
    m.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Render measurements as an aligned text table. `metrics` limits the rows to those
/// metrics (empty = all) and the raw measurements that carry a `better` label.
pub fn render(ms: &[Measurement], metrics: &[&str]) -> String {
    let header = [
        "scenario",
        "subject",
        "case",
        "metric",
        "labels",
        "n",
        "p50",
        "95% CI of p50",
        "p90",
        "p99",
        "max",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for m in ms {
        if m.status != Status::Ok {
            notes.push(format!(
                "{} {} {}/{} {}: {}",
                if m.status == Status::Skipped {
                    "SKIPPED"
                } else {
                    "FAILED "
                },
                printable(&m.scenario),
                printable(&m.subject),
                printable(&m.case),
                printable(&m.metric),
                printable(m.reason.as_deref().unwrap_or(""))
            ));
            continue;
        }
        // A metric that says which way is better (the workload scenario's) is one a
        // reader compares; its derived ratios (label `base`) are in the summary's table.
        let compared = m.labels.contains_key("better") && !m.labels.contains_key("base");
        if !metrics.is_empty() && !metrics.contains(&m.metric.as_str()) && !compared {
            continue;
        }
        let Some(s) = &m.summary else { continue };
        let u = m.unit.as_str();
        rows.push(vec![
            printable(&m.scenario).into_owned(),
            printable(&m.subject).into_owned(),
            printable(&m.case).into_owned(),
            printable(&m.metric).into_owned(),
            printable(&labels(m)).into_owned(),
            s.n.to_string(),
            human(s.p50, u),
            format!("{} – {}", human(s.p50_ci[0], u), human(s.p50_ci[1], u)),
            human(s.p90, u),
            human(s.p99, u),
            human(s.max, u),
        ]);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i >= 5 {
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            } else {
                out.push_str(c);
                out.push_str(&" ".repeat(pad));
            }
            out.push_str(if i + 1 < cells.len() { "  " } else { "\n" });
        }
    };
    line(
        &header.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &mut out,
    );
    line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
        &mut out,
    );
    for r in &rows {
        line(r, &mut out);
    }
    for n in notes {
        out.push_str(&n);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human(1500.0, "ns"), "1.5 µs");
        assert_eq!(human(2_500_000.0, "ns"), "2.50 ms");
        assert_eq!(human(4.5e9, "ns"), "4.50 s");
        assert_eq!(human(3.0 * 1024.0 * 1024.0, "bytes"), "3.0 MiB");
        assert_eq!(human(48.1, "us"), "48.1 µs");
        assert_eq!(human(2.1, "ns"), "2.10 ns");
        assert_eq!(human(9.58, "GB/s"), "9.58 GB/s");
        assert_eq!(human(422519.0, "q/s"), "422519 q/s");
    }
}
