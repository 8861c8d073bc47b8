//! Startup phases as stacked bars: the p50 of every `startup` duration metric in ns other
//! than `ready` and `total` (create/start/delete, vmm_start/firmware/kernel_boot/poweroff,
//! teardown), one bar per subject/case. Metrics named `*_at` are offsets from t0, not
//! durations, and are never stacked. Each segment is its phase's own median, so the stack
//! is a picture of where time goes, not an exact sum of one launch.
//!
//! Phases after the ready marker go last, in the order they happen (`run`, `exit`,
//! `poweroff`, `teardown`). `delete` (an OCI runtime's delete command) is timed inside
//! `teardown` and is not stacked again.
//!
//! Only subject/cases that record a launch phase are drawn: one whose only phase is
//! `teardown` (docker, podman, `runc/run`) would be a lone teardown bar. The axis is
//! logarithmic (`stacked_log`), so a sandbox's sub-millisecond phases show beside runc's
//! tens of milliseconds, and VMs get their own chart.

use std::collections::BTreeMap;

use super::stacked_log::{self, LogStacks};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run, Status};
use crate::report::select::{self, Class};

/// Phases that happen after the ready marker, in the order they happen.
const AFTER_READY: [&str; 4] = ["run", "exit", "poweroff", "teardown"];

/// Whether `m` is a stackable phase of a launch.
fn is_phase(m: &Measurement) -> bool {
    m.scenario == "startup"
        && m.unit == "ns"
        && !matches!(m.metric.as_str(), "ready" | "total" | "delete")
        && !m.metric.ends_with("_at")
        && m.status == Status::Ok
        && m.summary.is_some()
        && select::unswept(m)
        && select::class_of(&m.subject) != Class::Harness
}

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let mut out = Vec::new();
    for (id, title, vms) in [
        ("phases", "Startup phases", false),
        ("phases-vm", "Startup phases: VMs", true),
    ] {
        let ms: Vec<&Measurement> = run
            .measurements
            .iter()
            .filter(|m| is_phase(m) && (select::class_of(&m.subject) == Class::Vm) == vms)
            .collect();
        if let Some(svg) = stacked(id, &ms)? {
            out.push(Chart {
                id: id.into(),
                title: title.into(),
                caption: "Median of each recorded phase duration (everything but ready, total \
                          and the *_at offsets), stacked per subject in the order they happen. \
                          The phases after the ready marker (run, exit, poweroff, teardown; \
                          an OCI delete is inside teardown) come last, so a stack is longer \
                          than the startup latency. Log axis: each segment runs from the sum of \
                          the phases before it to the sum after it; subjects that record no \
                          launch phase (only a teardown) are left out."
                    .into(),
                svg,
            });
        }
    }
    Ok(out)
}

fn stacked(id: &'static str, ms: &[&Measurement]) -> Result<Option<String>, ChartError> {
    let mut cats: Vec<String> = Vec::new();
    let mut phases: Vec<String> = Vec::new();
    let mut p50: BTreeMap<(String, String), f64> = BTreeMap::new();
    for m in ms {
        let Some(s) = m.summary else { continue };
        let cat = select::series_name(m);
        if !cats.contains(&cat) {
            cats.push(cat.clone());
        }
        if !phases.contains(&m.metric) {
            phases.push(m.metric.clone());
        }
        p50.insert((cat, m.metric.clone()), s.p50);
    }
    // A subject/case with no phase before the ready marker would be a lone teardown bar.
    cats.retain(|c| {
        p50.keys()
            .any(|(cat, ph)| cat == c && !AFTER_READY.contains(&ph.as_str()))
    });
    if cats.is_empty() {
        return Ok(None);
    }
    // Stable: launch phases keep their first-seen order, then the post-ready ones.
    phases.sort_by_key(|p| AFTER_READY.iter().position(|a| a == p));
    let stacks = phases
        .iter()
        .map(|ph| {
            let vals = cats
                .iter()
                .map(|c| {
                    p50.get(&(c.clone(), ph.clone()))
                        .copied()
                        .unwrap_or(f64::NAN)
                })
                .collect();
            (ph.clone(), vals)
        })
        .collect();
    let svg = stacked_log::draw(
        id,
        &LogStacks {
            categories: cats,
            series: stacks,
            unit: "ns".into(),
            value_desc: "time into the launch, median phases stacked".into(),
        },
    )?;
    Ok(Some(svg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeasurementKey;

    fn m(subject: &str, case: &str, metric: &str, p50: f64) -> Measurement {
        Measurement::from_samples(
            MeasurementKey::new("startup", subject, case, metric),
            "ns",
            Default::default(),
            vec![p50; 5],
        )
    }

    #[test]
    fn a_lone_teardown_is_not_drawn() {
        let run = Run::of_measurements(vec![
            m("docker", "default", "teardown", 300e6),
            m("runc", "run", "teardown", 40e6),
            m("sandbox", "default", "create", 0.3e6),
            m("runc", "default", "create", 46e6),
        ]);
        let charts = chart(&run).expect("charts");
        assert_eq!(charts.len(), 1);
        let svg = &charts[0].svg;
        assert!(
            svg.contains(">\nsandbox\n<") && svg.contains(">\nrunc\n<"),
            "{svg}"
        );
        assert!(!svg.contains("docker") && !svg.contains("runc/run"));
    }

    #[test]
    fn offsets_are_not_stacked_and_vms_get_their_own_chart() {
        let run = Run::of_measurements(vec![
            m("runc", "default", "create", 30e6),
            m("runc", "default", "teardown", 12e6),
            m("runc", "default", "delete", 11e6),
            m("runc", "default", "start", 4e6),
            m("qemu", "microvm", "vmm_start", 100e6),
            m("qemu", "microvm", "kernel_boot", 1400e6),
            m("qemu", "microvm", "kernel_at", 300e6),
            m("qemu", "microvm", "ready", 1500e6),
        ]);
        let charts = chart(&run).expect("charts");
        let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["phases", "phases-vm"]);
        let (containers, vm) = (&charts[0].svg, &charts[1].svg);
        assert!(containers.contains("create") && !containers.contains("kernel_boot"));
        assert!(vm.contains("kernel_boot") && vm.contains("vmm_start"));
        assert!(!vm.contains("kernel_at"), "an offset was stacked");
        assert!(!containers.contains("delete"), "delete is inside teardown");
        let (start, teardown) = (
            containers.find(">\nstart\n<").expect("start"),
            containers.find(">\nteardown\n<").expect("teardown"),
        );
        assert!(
            start < teardown,
            "teardown must come after the launch phases"
        );
    }
}
