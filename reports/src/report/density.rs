//! The `density` scenario read for a person: memory per instance by each method at each
//! level, `launch_k` by k, and the headline "instances per GiB" row of each class
//! (containers, VMs).
//!
//! Instances per GiB = 1 GiB / memory per instance at the largest level a subject ran,
//! by two methods: PSS + slab (`mem_pss_sum` + `mem_slab`, stable from trial to trial),
//! which ranks the subjects (the row of a class is its densest subject), and beside it the
//! `mem_available` method (MemAvailable before − after / N, which sees the kernel's memory
//! too) with the inverse of its median's 95% CI — only where that CI lies above zero: a
//! level of small instances (8 × a few hundred KiB) is inside the host's own drift, and
//! 1 GiB / noise would otherwise crown the noisiest subject.

use serde::Serialize;

use super::select::{self, Catalog, Class};
use crate::model::{Measurement, Run, Status};

pub const SCENARIO: &str = "density";
const GIB: f64 = (1u64 << 30) as f64;

/// The memory methods, in the order they are drawn and printed: (metric, short name).
pub const METHODS: &[(&str, &str)] = &[
    ("mem_available", "MemAvailable"),
    ("mem_pss_sum", "PSS"),
    ("mem_cgroup", "cgroup"),
    ("mem_slab", "slab"),
];

/// `instances` of a density measurement.
pub fn level(m: &Measurement) -> Option<u64> {
    m.labels.get("instances")?.parse().ok()
}

/// The usable density measurements of `metric`.
pub fn of_metric<'a>(ms: &'a [Measurement], metric: &str) -> Vec<&'a Measurement> {
    ms.iter()
        .filter(|m| {
            m.scenario == SCENARIO
                && m.metric == metric
                && m.status == Status::Ok
                && select::has_data(m)
                && level(m).is_some()
        })
        .collect()
}

/// The measurement of `metric` beside `m` (same subject, case and labels).
pub fn sibling<'a>(
    ms: &'a [Measurement],
    m: &Measurement,
    metric: &str,
) -> Option<&'a Measurement> {
    of_metric(ms, metric)
        .into_iter()
        .find(|o| o.subject == m.subject && o.case == m.case && o.labels == m.labels)
}

/// Median per k of `launch_k` (sample i is k = i mod N, see the scenario's module doc).
pub fn launch_by_k(m: &Measurement) -> Vec<f64> {
    let Some(n) = level(m).map(|n| n as usize).filter(|n| *n > 0) else {
        return Vec::new();
    };
    if m.samples.len() < n || !m.samples.len().is_multiple_of(n) {
        return Vec::new();
    }
    (0..n)
        .map(|k| {
            let mut v: Vec<f64> = m.samples.iter().skip(k).step_by(n).copied().collect();
            v.sort_by(f64::total_cmp);
            let mid = v.len() / 2;
            if v.len() % 2 == 1 {
                v[mid]
            } else {
                (v[mid - 1] + v[mid]) / 2.0
            }
        })
        .collect()
}

/// One headline row: the densest subject of a class.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DensityRow {
    /// "containers", "VMs".
    pub class: String,
    /// "runc", "qemu/pc [tcg]".
    pub subject: String,
    pub instances: u64,
    /// 1 GiB / `mem_available` p50, and the interval from its CI (`None` when the CI
    /// reaches zero or below: MemAvailable's noise exceeded what the instances took).
    pub per_gib: Option<f64>,
    pub per_gib_ci: Option<(f64, f64)>,
    /// 1 GiB / (`mem_pss_sum` + `mem_slab`) p50.
    pub per_gib_pss: Option<f64>,
    pub emulated: bool,
}

/// A [`DensityRow`] as text for the HTML report: class, subject at N, value, interval
/// and the PSS figure.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DensityLine {
    pub class: String,
    pub subject: String,
    pub value: String,
    pub ci: String,
    pub pss: String,
}

impl DensityRow {
    pub fn line(&self) -> DensityLine {
        let tcg = if self.emulated { ", TCG" } else { "" };
        DensityLine {
            class: self.class.clone(),
            subject: format!("{} at N = {}{tcg}", self.subject, self.instances),
            value: self
                .per_gib
                .map_or_else(|| "—".into(), |v| format!("{v:.0}")),
            ci: match self.per_gib_ci {
                Some((lo, hi)) if hi.is_finite() => format!("{lo:.0}–{hi:.0}"),
                Some((lo, _)) => format!("{lo:.0}–∞"),
                None => "MemAvailable's noise exceeded the use".into(),
            },
            pss: self
                .per_gib_pss
                .map_or_else(|| "—".into(), |p| format!("{p:.0} by PSS + slab")),
        }
    }
}

/// The instances-per-GiB rows of `run`: containers, then VMs (a class without density
/// figures has no row).
pub fn instances_per_gib(run: &Run) -> Vec<DensityRow> {
    let catalog = Catalog::of(run);
    instances_per_gib_of(&run.measurements, |s| catalog.class(s))
}

/// [`instances_per_gib`] of measurements whose subjects' classes `class` gives.
pub fn instances_per_gib_of(ms: &[Measurement], class: impl Fn(&str) -> Class) -> Vec<DensityRow> {
    let avail = of_metric(ms, "mem_available");
    let mut rows = Vec::new();
    for (name, classes) in [
        ("containers", &[Class::Container, Class::Sandboxed][..]),
        ("VMs", &[Class::Vm][..]),
    ] {
        // Per subject, its largest level.
        let mut best: Option<DensityRow> = None;
        let mut subjects: Vec<&str> = avail
            .iter()
            .filter(|m| classes.contains(&class(&m.subject)))
            .map(|m| m.subject.as_str())
            .collect();
        subjects.sort_unstable();
        subjects.dedup();
        for subject in subjects {
            let Some(m) = avail
                .iter()
                .filter(|m| m.subject == subject)
                .max_by_key(|m| level(m))
            else {
                continue;
            };
            let Some(s) = m.summary else { continue };
            let inv = |b: f64| (b > 0.0).then(|| GIB / b);
            let pss = sibling(ms, m, "mem_pss_sum").and_then(|p| p.summary);
            let slab = sibling(ms, m, "mem_slab").and_then(|p| p.summary);
            // MemAvailable resolves an instance only when its whole CI is above zero: for
            // small instances (a few hundred KiB each, N = 8) the level's total is inside
            // the host's own drift, and 1 GiB / noise would crown the noisiest subject.
            let resolved = s.p50_ci[0] > 0.0 && s.p50 > 0.0;
            let row = DensityRow {
                class: name.to_string(),
                subject: select::series_name(m),
                instances: level(m).unwrap_or(0),
                per_gib: if resolved { inv(s.p50) } else { None },
                per_gib_ci: match (resolved, inv(s.p50_ci[1]), inv(s.p50_ci[0])) {
                    (true, Some(lo), Some(hi)) => Some((lo, hi)),
                    _ => None,
                },
                per_gib_pss: pss.and_then(|p| inv(p.p50 + slab.map_or(0.0, |s| s.p50.max(0.0)))),
                emulated: select::is_emulated(m),
            };
            // Ranked by PSS + slab, which is stable from trial to trial; MemAvailable is
            // shown beside it where it resolved the instances.
            let key = |r: &DensityRow| r.per_gib_pss.or(r.per_gib).unwrap_or(0.0);
            if best.as_ref().is_none_or(|b| key(&row) > key(b)) {
                best = Some(row);
            }
        }
        rows.extend(best);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeasurementKey;
    use std::collections::BTreeMap;

    fn m(subject: &str, metric: &str, n: u64, unit: &str, samples: Vec<f64>) -> Measurement {
        let mut labels = BTreeMap::new();
        labels.insert("instances".to_string(), n.to_string());
        if subject == "qemu" {
            labels.insert("accel".to_string(), "tcg".to_string());
        }
        Measurement::from_samples(
            MeasurementKey::new(SCENARIO, subject, "default", metric),
            unit,
            labels,
            samples,
        )
    }

    #[test]
    fn launch_k_is_the_median_over_trials_of_each_k() {
        // Two trials of N = 3: k = 0, 1, 2 then again.
        let l = m(
            "runc",
            "launch_k",
            3,
            "ns",
            vec![10.0, 20.0, 30.0, 12.0, 22.0, 50.0],
        );
        assert_eq!(launch_by_k(&l), vec![11.0, 21.0, 40.0]);
        let torn = m("runc", "launch_k", 3, "ns", vec![10.0, 20.0]);
        assert!(
            launch_by_k(&torn).is_empty(),
            "an incomplete trial is not guessed at"
        );
    }

    #[test]
    fn instances_per_gib_takes_each_class_at_its_largest_level() {
        let mib = |x: f64| x * (1u64 << 20) as f64;
        let run = Run::of_measurements(vec![
            m("runc", "mem_available", 1, "bytes", vec![mib(8.0); 3]),
            m(
                "runc",
                "mem_available",
                32,
                "bytes",
                vec![mib(0.9), mib(1.0), mib(1.1)],
            ),
            m("runc", "mem_pss_sum", 32, "bytes", vec![mib(0.5); 3]),
            m("runc", "mem_slab", 32, "bytes", vec![mib(0.5); 3]),
            m("docker", "mem_available", 8, "bytes", vec![mib(40.0); 3]),
            m("process", "mem_available", 32, "bytes", vec![mib(0.1); 3]),
            m(
                "qemu",
                "mem_available",
                8,
                "bytes",
                vec![mib(-3.0), mib(-1.0), mib(-2.0)],
            ),
            m("qemu", "mem_pss_sum", 8, "bytes", vec![mib(256.0); 3]),
        ]);
        let rows = instances_per_gib(&run);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let c = &rows[0];
        assert_eq!(
            (c.class.as_str(), c.subject.as_str(), c.instances),
            ("containers", "runc", 32)
        );
        assert_eq!(c.per_gib.map(f64::round), Some(1024.0));
        let (lo, hi) = c.per_gib_ci.expect("ci");
        assert!(lo <= 1024.0 && hi >= 1024.0, "{lo} {hi}");
        assert_eq!(c.per_gib_pss.map(f64::round), Some(1024.0));
        let v = &rows[1];
        assert_eq!((v.subject.as_str(), v.per_gib), ("qemu [tcg]", None));
        assert_eq!(v.per_gib_pss, Some(4.0));
        assert!(v.emulated);
    }
}
