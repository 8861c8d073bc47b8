//! The headline's performance rows from the `workload` scenario (issue 14): how fast the
//! same work runs in one subject against another, over every workload both ran.
//!
//! One number per pair, chosen to be honest rather than flattering: the geometric mean
//! of the per-metric ratios of medians (each turned so that above 1 favours the lighter
//! subject), averaged within each workload first so that a workload with four metrics
//! weighs no more than one with two, with a bootstrap 95% CI
//! (`stats::geomean_ratio_of_medians_ci`, both sides of every metric resampled). The
//! sentence names the metrics where the pair differed least and most, because a mean
//! over CPU-bound work near 1 and I/O paths far from it hides exactly what a platform
//! engineer looks for; the per-metric figures are in the workload table and chart.
//!
//! Only when the run has no workload scenario does the headline fall back to the
//! throttle scenario's unit of work (see `headline.rs`), and it says that unit is a
//! latency-bound chain that software emulation (TCG) hides.

use super::headline::{HeadlineRow, VerdictRow};
use super::select::Class;
use crate::units::format_factor;
use crate::workload::{self, Table};

/// Said in the fallback rows: why the throttle unit is not a measure of performance.
pub const LATENCY_BOUND: &str = "latency-bound unit: the throttle scenario's serial \
    multiply chain, whose dependencies hide most of a VM's CPU-emulation (TCG) overhead; \
    not a measure of performance: run `isobench run --scenario workload` for that";

/// Said under the fallback verdict row (the terminal prints it too).
pub const LATENCY_BOUND_NOTE: &str = "a latency-bound unit (the throttle scenario's), which \
    hides CPU-emulation overhead: run --scenario workload to measure performance";

fn trim_x(s: &str) -> &str {
    s.trim_end_matches('×')
}

fn ci_text(ci: [f64; 2]) -> String {
    if ci[0].is_finite() && ci[1].is_finite() {
        format!("{}–{}", trim_x(&format_factor(ci[0])), format_factor(ci[1]))
    } else {
        "–".into()
    }
}

/// "qemu [tcg] ×0.21 of a process": a column's speed against the plain process.
fn speed_vs_process(t: &Table, c: usize) -> Option<f64> {
    let base = t.base_column()?;
    if base == c {
        return None;
    }
    workload::speed(t, c, base)
}

fn value_text(t: &Table, c: usize) -> String {
    if Some(c) == t.base_column() {
        "baseline".into()
    } else {
        speed_vs_process(t, c)
            .map(|v| format!("{} a process", format_factor(v)))
            .unwrap_or_else(|| "—".into())
    }
}

fn phrase(t: &Table, c: usize) -> String {
    let col = &t.columns[c];
    let base = match col.subject.as_str() {
        "process" => "a plain process".to_string(),
        "namespaces" => "a process in fresh namespaces".to_string(),
        "runsc" => "a gVisor (runsc) sandbox".to_string(),
        "docker" => "a Docker container".to_string(),
        "podman" => "a Podman container".to_string(),
        "bwrap" => "a bubblewrap sandbox".to_string(),
        s if col.class == Class::Vm && s.starts_with("qemu") => "a QEMU VM".to_string(),
        s if col.class == Class::Vm => format!("a {s} VM"),
        s if col.class == Class::Container => format!("a {s} container"),
        s => s.to_string(),
    };
    match col.accel.as_deref() {
        Some("tcg") => format!("{base} under software emulation (TCG)"),
        Some("kvm") => format!("{base} with KVM"),
        Some(a) => format!("{base} (accel {a})"),
        None => base,
    }
}

/// The headline row of column `l` (lighter) against `h`, if they share a metric.
fn row(t: &Table, l: usize, h: usize) -> Option<HeadlineRow> {
    let v = workload::versus(t, l, h)?;
    let (lc, hc) = (&t.columns[l], &t.columns[h]);
    let ratio_text = format_factor(v.speed);
    let ci_text = ci_text(v.ci);
    let how = if v.speed >= 1.0 {
        format!("{} faster than", format_factor(v.speed))
    } else {
        format!("{} slower than", format_factor(1.0 / v.speed))
    };
    let lp = phrase(t, l);
    let mut first = lp.chars();
    let lp = match first.next() {
        Some(c) => c.to_uppercase().collect::<String>() + first.as_str(),
        None => lp,
    };
    let sentence = format!(
        "Over the {} workloads ({} metrics) both ran, {} did the same work {} {} \
         (geometric mean of the ratios of medians, each workload weighted equally), 95% CI \
         {}; per metric from {} ({}) to {} ({}).",
        v.workloads,
        v.metrics,
        lp,
        how,
        phrase(t, h),
        ci_text,
        format_factor(v.worst.1),
        v.worst.0,
        format_factor(v.best.1),
        v.best.0,
    );
    let mut caveats = Vec::new();
    for c in [lc, hc] {
        if c.emulated {
            caveats.push(format!(
                "emulated: {} ran under QEMU TCG, not KVM; its figures include the emulation",
                c.name
            ));
        }
    }
    if v.min_n < 10 {
        caveats.push(format!(
            "few samples: n={} for some metric, the interval is rough",
            v.min_n
        ));
    }
    Some(HeadlineRow {
        aspect: "performance".into(),
        metric: format!(
            "geomean over {} workloads, {} metrics ({})",
            v.workloads,
            v.metrics,
            workload::STORAGE_LEFT_OUT
        ),
        lighter: lc.name.clone(),
        heavier: hc.name.clone(),
        lighter_value: value_text(t, l),
        heavier_value: value_text(t, h),
        ratio: v.speed,
        ci: v.ci,
        ratio_text,
        ci_text,
        sentence,
        caveats,
        emulated: lc.emulated || hc.emulated,
    })
}

fn of_class(t: &Table, class: Class) -> Vec<usize> {
    (0..t.columns.len())
        .filter(|&c| t.columns[c].class == class)
        .collect()
}

/// The performance rows of the headline, in the order of the other aspects' pairs:
/// (container, VM), (container, sandboxed), (sandboxed, VM), (process, container),
/// (process, namespaces), (process, VM).
pub fn rows(t: &Table) -> Vec<HeadlineRow> {
    let (procs, nss, ctrs, sandboxed, vms) = (
        of_class(t, Class::Process),
        of_class(t, Class::Namespaces),
        of_class(t, Class::Container),
        of_class(t, Class::Sandboxed),
        of_class(t, Class::Vm),
    );
    let mut out = Vec::new();
    for (lighter, heavier) in [
        (&ctrs, &vms),
        (&ctrs, &sandboxed),
        (&sandboxed, &vms),
        (&procs, &ctrs),
        (&procs, &nss),
        (&procs, &vms),
    ] {
        for &l in lighter {
            for &h in heavier {
                out.extend(row(t, l, h));
            }
        }
    }
    out
}

/// The verdict's performance row: the fastest container against the fastest VM, each
/// picked by its geometric-mean speed against the plain process.
pub fn verdict_row(t: &Table, mut out: VerdictRow) -> VerdictRow {
    let best = |class: Class| -> (Vec<usize>, Option<usize>) {
        let cols = of_class(t, class);
        let pick = cols
            .iter()
            .copied()
            .filter_map(|c| speed_vs_process(t, c).map(|v| (c, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(c, _)| c);
        (cols, pick)
    };
    let ((ctrs, c), (vms, v)) = (best(Class::Container), best(Class::Vm));
    out.metric = "workloads, geomean".into();
    out.best_of = "fastest container vs fastest VM, each by its speed against a plain \
        process (geomean of ratios of medians; fileio, sqlite and openat left out)"
        .into();
    let names = |v: &[usize]| {
        v.iter()
            .map(|&c| t.columns[c].name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (Some(c), Some(v)) = (c, v) else {
        out.missing = match (ctrs.is_empty(), vms.is_empty()) {
            (true, true) => "not measured: no container and no VM ran the workloads".into(),
            (true, false) => "not measured: no container ran the workloads".into(),
            (false, true) => "not measured: no VM ran the workloads".into(),
            _ => "not measured: no process baseline to rank the subjects by".into(),
        };
        return out;
    };
    let Some(r) = row(t, c, v) else {
        out.missing = "not measured: the fastest container and VM share no workload metric".into();
        return out;
    };
    out.measured = true;
    out.missing.clear();
    out.ratio_text = format!("×{}", trim_x(&r.ratio_text));
    out.ci_text = if r.ci_text == "–" {
        "no interval".into()
    } else {
        format!("×{}", trim_x(&r.ci_text))
    };
    out.pair = format!(
        "{} {} vs {} {}",
        r.lighter, r.lighter_value, r.heavier, r.heavier_value
    );
    out.from = format!("containers {}; VMs {}", names(&ctrs), names(&vms));
    out.emulated = r.emulated;
    out
}

#[cfg(test)]
mod tests {
    use crate::model::{Measurement, MeasurementKey, Run};
    use crate::report::headline::headline;
    use std::collections::BTreeMap;

    fn wl(
        subject: &str,
        workload: &str,
        metric: &str,
        unit: &str,
        better: &str,
        v: f64,
    ) -> Measurement {
        let mut labels: BTreeMap<String, String> = [("better".into(), better.into())].into();
        if subject == "qemu" {
            labels.insert("accel".into(), "tcg".into());
        }
        Measurement::from_samples(
            MeasurementKey::new("workload", subject, workload, metric),
            unit,
            labels,
            (0..12)
                .map(|i| v * (1.0 + f64::from(i % 4) * 0.01))
                .collect(),
        )
    }

    fn throttle(subject: &str, v: f64) -> Measurement {
        let labels: BTreeMap<String, String> = if subject == "qemu" {
            [("accel".into(), "tcg".into())].into()
        } else {
            BTreeMap::new()
        };
        Measurement::from_samples(
            MeasurementKey::new("throttle", subject, "unthrottled", "throughput"),
            "ops/s",
            labels,
            (0..12)
                .map(|i| v * (1.0 + f64::from(i % 4) * 0.01))
                .collect(),
        )
    }

    #[test]
    fn workload_rows_replace_the_throttle_unit_and_weigh_each_workload_the_same() {
        let run = Run::of_measurements(vec![
            // memory: runc as fast as the process, qemu 2× slower (GB/s, higher).
            wl("process", "memory", "triad_gbps", "GB/s", "higher", 10.0),
            wl("runc", "memory", "triad_gbps", "GB/s", "higher", 10.0),
            wl("qemu", "memory", "triad_gbps", "GB/s", "higher", 5.0),
            // syscall: two metrics, qemu 4× slower on both (ns, lower).
            wl("process", "syscall", "getppid_ns", "ns", "lower", 60.0),
            wl("runc", "syscall", "getppid_ns", "ns", "lower", 60.0),
            wl("qemu", "syscall", "getppid_ns", "ns", "lower", 240.0),
            wl(
                "process",
                "syscall",
                "openat_close_ns",
                "ns",
                "lower",
                1500.0,
            ),
            wl("runc", "syscall", "openat_close_ns", "ns", "lower", 1500.0),
            wl("qemu", "syscall", "openat_close_ns", "ns", "lower", 6000.0),
            // The throttle unit that TCG hides: must not be the performance row now.
            throttle("process", 5000.0),
            throttle("runc", 4950.0),
            throttle("qemu", 4850.0),
        ]);
        let h = headline(&run);
        assert!(
            !h.rows.iter().any(|r| r.aspect == "throughput"),
            "{:?}",
            h.rows
        );
        let r = h
            .rows
            .iter()
            .find(|r| r.aspect == "performance" && r.lighter == "runc" && r.heavier == "qemu [tcg]")
            .expect("runc vs qemu");
        // exp((ln 2 + ln 4) / 2) = 2.83: each workload weighs the same, not each metric
        // (which would give 3.17).
        assert!((r.ratio - 8f64.sqrt()).abs() < 1e-6, "{}", r.ratio);
        assert!(r.ci[0] <= r.ratio && r.ratio <= r.ci[1]);
        assert!(
            r.sentence
                .contains("2.8× faster than a QEMU VM under software emulation (TCG)"),
            "{}",
            r.sentence
        );
        assert!(
            r.sentence
                .contains("per metric from 2.0× (memory triad_gbps) to 4.0× (syscall getppid_ns)"),
            "{}",
            r.sentence
        );
        assert!(r.emulated && r.caveats.iter().any(|c| c.contains("TCG")));
        assert!(!r.caveats.iter().any(|c| c.contains("latency-bound")));
        let v = &h.verdict.rows[2];
        assert_eq!(v.aspect, "performance");
        assert!(v.measured, "{v:?}");
        assert_eq!(v.ratio_text, "×2.8");
        assert!(
            v.pair
                .starts_with("runc 1.00× a process vs qemu [tcg] 0.35× a process"),
            "{}",
            v.pair
        );
        assert!(v.note.is_empty());
        assert!(h.verdict.emulation_caveat.is_some());
    }

    #[test]
    fn storage_bound_metrics_do_not_decide_the_fastest_container() {
        // podman's volatile overlay: fdatasync returns at once, SQLite inserts 80x. Left in,
        // it would make podman the "fastest container" on storage it does not keep.
        let run = Run::of_measurements(vec![
            wl("process", "memory", "triad_gbps", "GB/s", "higher", 10.0),
            wl("runc", "memory", "triad_gbps", "GB/s", "higher", 10.0),
            wl("podman", "memory", "triad_gbps", "GB/s", "higher", 9.0),
            wl("qemu", "memory", "triad_gbps", "GB/s", "higher", 5.0),
            wl(
                "process",
                "fileio",
                "fdatasync_p50_us",
                "us",
                "lower",
                4000.0,
            ),
            wl("runc", "fileio", "fdatasync_p50_us", "us", "lower", 4000.0),
            wl("podman", "fileio", "fdatasync_p50_us", "us", "lower", 4.0),
            wl("qemu", "fileio", "fdatasync_p50_us", "us", "lower", 1300.0),
            wl("process", "sqlite", "insert_tps", "tx/s", "higher", 50.0),
            wl("runc", "sqlite", "insert_tps", "tx/s", "higher", 50.0),
            wl("podman", "sqlite", "insert_tps", "tx/s", "higher", 4000.0),
            wl("qemu", "sqlite", "insert_tps", "tx/s", "higher", 45.0),
            wl(
                "process",
                "syscall",
                "openat_close_ns",
                "ns",
                "lower",
                4000.0,
            ),
            wl("runc", "syscall", "openat_close_ns", "ns", "lower", 4000.0),
            wl(
                "podman",
                "syscall",
                "openat_close_ns",
                "ns",
                "lower",
                7000.0,
            ),
            wl("qemu", "syscall", "openat_close_ns", "ns", "lower", 40000.0),
        ]);
        let h = headline(&run);
        let v = &h.verdict.rows[2];
        assert_eq!(v.aspect, "performance");
        assert!(v.pair.starts_with("runc 1.00× a process"), "{}", v.pair);
        let r = h
            .rows
            .iter()
            .find(|r| r.aspect == "performance" && r.lighter == "runc" && r.heavier == "qemu [tcg]")
            .expect("runc vs qemu");
        // Only the triad counts: 10 / 5.
        assert!((r.ratio - 2.0).abs() < 1e-9, "{}", r.ratio);
        assert!(
            r.metric.contains("fileio, sqlite and openat left out"),
            "{}",
            r.metric
        );
    }

    #[test]
    fn without_workloads_the_throttle_unit_says_it_is_latency_bound() {
        let run = Run::of_measurements(vec![
            throttle("process", 5000.0),
            throttle("runc", 4950.0),
            throttle("qemu", 4850.0),
        ]);
        let h = headline(&run);
        let r = h
            .rows
            .iter()
            .find(|r| r.aspect == "throughput")
            .expect("a throughput row");
        assert!(
            r.caveats.iter().any(|c| c.contains("latency-bound")),
            "{:?}",
            r.caveats
        );
        let v = &h.verdict.rows[2];
        assert!(
            v.measured
                && v.note.contains("latency-bound")
                && v.note.contains("--scenario workload")
        );
    }

    #[test]
    fn the_fixture_has_every_pair_and_no_vm_without_its_accelerator() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/results/handcrafted-workload-run.json");
        let run = Run::load(&p).expect("fixture");
        let h = headline(&run);
        let perf: Vec<(&str, &str)> = h
            .rows
            .iter()
            .filter(|r| r.aspect == "performance")
            .map(|r| (r.lighter.as_str(), r.heavier.as_str()))
            .collect();
        for pair in [
            ("runc", "qemu [tcg]"),
            ("docker", "qemu [tcg]"),
            ("runc", "runsc"),
            ("runsc", "qemu [tcg]"),
            ("process", "namespaces"),
            ("process", "qemu [tcg]"),
        ] {
            assert!(perf.contains(&pair), "{pair:?} missing from {perf:?}");
        }
        for r in h.rows.iter().filter(|r| r.heavier.starts_with("qemu")) {
            assert!(r.heavier.contains("[tcg]") && r.emulated);
        }
        let v = &h.verdict.rows[2];
        assert!(v.measured && v.pair.contains("qemu [tcg]"), "{v:?}");
    }
}
