//! The startup section: launch → payload ready per subject and case, with its CI, p99,
//! the ratio to the plain process, `total` and the footprint.

use super::{
    ci_of, drop_empty, factor, grid, ok, overhead, p50_of, row_names, sibling, strings, NONE,
};
use crate::model::Measurement;
use crate::report::select::{self, Class};
use crate::text::table::human;

/// Startup: one row per subject and case, `ready` p50 with its CI and p99, the ratio to
/// the plain process's `ready` p50, `total` p50, and the footprint where it was measured.
pub(super) fn section(of: &[&Measurement]) -> String {
    let rows: Vec<&Measurement> = of
        .iter()
        .copied()
        .filter(|m| {
            m.metric == "ready"
                && ok(m).is_some()
                && select::unswept(m)
                && select::class_of(&m.subject) != Class::Harness
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let base = rows
        .iter()
        .find(|m| select::class_of(&m.subject) == Class::Process)
        .and_then(|m| ok(m))
        .map(|s| s.p50);
    let names = row_names(&rows);
    let mut table = Vec::new();
    for (m, name) in rows.iter().zip(names) {
        let Some(s) = ok(m) else { continue };
        let u = m.unit.as_str();
        table.push(vec![
            name,
            human(s.p50, u),
            ci_of(&s, u),
            human(s.p99, u),
            base.map_or_else(|| NONE.to_string(), |b| factor(s.p50, b)),
            p50_of(sibling(of, m, "total")),
            p50_of(sibling(of, m, "payload_pss")),
            runtime_footprint(of, m),
        ]);
    }
    let header = strings(&[
        "subject",
        "ready p50",
        "95% CI of p50",
        "p99",
        "vs process",
        "total p50",
        "payload PSS",
        "runtime PSS",
    ]);
    let (header, table) = drop_empty(header, table, 5);
    let baseline = if base.is_some() {
        "vs process = ready p50 ÷ the process's"
    } else {
        "no process baseline in this run"
    };
    format!(
        "startup: launch → payload ready{}; {baseline}\n{}",
        overhead(of),
        grid(&header, &table, 1)
    )
}

/// What the runtime or VMM of a startup row keeps resident: `runtime_pss` (containers), or
/// the PSS — failing that the RSS — of whatever else than the payload and the engine
/// client was measured (`qemu_pss` of a VM).
fn runtime_footprint(of: &[&Measurement], row: &Measurement) -> String {
    let candidates: Vec<&Measurement> = of
        .iter()
        .copied()
        .filter(|m| {
            m.subject == row.subject
                && m.case == row.case
                && select::is_footprint(m)
                && ok(m).is_some()
                && !m.metric.starts_with("payload_")
                && !m.metric.starts_with("client_")
        })
        .collect();
    let pick = candidates
        .iter()
        .find(|m| m.metric == "runtime_pss")
        .or_else(|| candidates.iter().find(|m| m.metric.ends_with("_pss")))
        .map(|m| (*m, ""))
        .or_else(|| candidates.first().map(|m| (*m, " (RSS)")));
    match pick {
        Some((m, suffix)) => format!("{}{suffix}", p50_of(Some(m))),
        None => NONE.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::text::summary::render;
    use crate::text::summary::tests::{m, row};
    use crate::text::summary::NONE;

    #[test]
    fn startup_rows_carry_the_ratio_to_the_process() {
        let ms = vec![
            m("startup", "harness", "empty", "ready", "ns", &[], 4_000.0),
            m(
                "startup",
                "process",
                "default",
                "ready",
                "ns",
                &[],
                2_000_000.0,
            ),
            m(
                "startup",
                "process",
                "default",
                "total",
                "ns",
                &[],
                2_500_000.0,
            ),
            m(
                "startup",
                "process",
                "default",
                "payload_pss",
                "bytes",
                &[],
                1_258_291.0,
            ),
            m(
                "startup",
                "runc",
                "run",
                "ready",
                "ns",
                &[("cgroup_manager", "cgroupfs")],
                24_600_000.0,
            ),
            m(
                "startup",
                "runc",
                "run",
                "runtime_pss",
                "bytes",
                &[("cgroup_manager", "cgroupfs")],
                9_437_184.0,
            ),
            m(
                "startup",
                "docker",
                "default",
                "ready",
                "ns",
                &[("oci_runtime", "runc")],
                500_000_000.0,
            ),
            m(
                "startup",
                "qemu",
                "microvm",
                "ready",
                "ns",
                &[("accel", "tcg"), ("machine", "microvm")],
                3.0e9,
            ),
            m(
                "startup",
                "qemu",
                "microvm",
                "qemu_rss",
                "bytes",
                &[("accel", "tcg"), ("machine", "microvm")],
                104_857_600.0,
            ),
        ];
        let text = render(&ms);
        assert!(text.contains("timer overhead 4.0 µs"), "{text}");
        let process = row(&text, "process");
        assert!(
            process.contains("2.00 ms") && process.contains("×1.00"),
            "{process}"
        );
        assert!(process.contains("2.50 ms"), "total p50: {process}");
        assert!(process.contains("1.2 MiB"), "payload PSS: {process}");
        let runc = row(&text, "runc/run");
        assert!(
            runc.contains("24.60 ms") && runc.contains("×12.3"),
            "{runc}"
        );
        assert!(runc.contains("9.0 MiB"), "runtime PSS: {runc}");
        assert!(row(&text, "docker [runc]").contains("×250"), "{text}");
        let qemu = row(&text, "qemu/microvm [tcg]");
        assert!(
            qemu.contains("×1500") && qemu.contains("100.0 MiB (RSS)"),
            "{qemu}"
        );
        // The harness is the timer's overhead, not a subject.
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with("harness")),
            "{text}"
        );
    }

    #[test]
    fn without_a_process_baseline_the_ratio_is_a_dash() {
        let ms = vec![
            m("startup", "runc", "run", "ready", "ns", &[], 24_600_000.0),
            // A zero baseline is no baseline either.
            m("startup", "crun", "run", "ready", "ns", &[], 0.0),
        ];
        let text = render(&ms);
        assert!(text.contains("no process baseline"), "{text}");
        assert!(row(&text, "runc/run").contains(NONE), "{text}");
        assert!(!text.contains('×'), "{text}");
        let ms = vec![
            m("startup", "process", "default", "ready", "ns", &[], 0.0),
            m("startup", "runc", "run", "ready", "ns", &[], 24_600_000.0),
        ];
        let text = render(&ms);
        assert!(row(&text, "runc/run").ends_with(NONE) || row(&text, "runc/run").contains(NONE));
        assert!(!text.contains("inf") && !text.contains("NaN"), "{text}");
    }
}
