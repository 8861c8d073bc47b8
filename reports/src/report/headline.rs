//! The headline: the "lightweight virtualization" claim in numbers. Container vs process vs
//! VM on this host (and a sandboxed container, gVisor, between containers and VMs), as ratios of medians with a bootstrap 95% CI of the ratio
//! (`stats::ratio_of_medians_ci`, both sides resampled independently), each with a plain
//! sentence and the caveats a reader needs next to the number (software-emulated VMs,
//! few samples, skipped subjects).
//!
//! Three aspects, each drawn only from what the run holds:
//! * startup — `startup`/`ready` (host clock from launch to the payload's ready marker);
//! * memory — the footprint metric of each subject (`total_pss` if recorded, otherwise its
//!   largest `*_pss`, otherwise its largest `*_rss`);
//! * performance — the `workload` scenario when the run has it (`performance.rs`: per
//!   pair, the geometric mean over the workloads of the ratios of medians, with a
//!   bootstrap CI); otherwise the `throttle` scenario's unthrottled ops/s, said to be a
//!   latency-bound unit that software emulation (TCG) hides.
//!
//! The [`Verdict`] is the three-row answer on top of all that: for each aspect, the best
//! container against the best VM of the run (the same ratio and interval as a row of the
//! table), so a reader gets "containers vs VMs on this host" before any detail.

use serde::Serialize;

use super::select::{self, Class};
use crate::model::{Measurement, Run, Status};
use crate::stats;
use crate::units::{format_factor, format_value};

/// Confidence level of every interval in the headline.
pub const LEVEL: f64 = 0.95;
/// Below this many samples on either side a row says its interval is rough.
const FEW_SAMPLES: usize = 10;

/// The headline table of one run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Headline {
    pub rows: Vec<HeadlineRow>,
    /// What could not be compared and why (missing classes, skipped subjects).
    pub notes: Vec<String>,
    /// Containers vs VMs in three rows: startup, memory, performance.
    pub verdict: Verdict,
}

/// Containers vs VMs on this host, one row per aspect, best of each class against best.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    /// Always three: startup, memory, performance (a row says when it was not measured).
    pub rows: Vec<VerdictRow>,
    /// Said once when any VM in the verdict ran under QEMU TCG.
    pub emulation_caveat: Option<String>,
}

/// One aspect of the verdict.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VerdictRow {
    /// "startup", "memory", "performance".
    pub aspect: String,
    /// "ready p50", "memory p50", "ops/s p50, no CPU quota".
    pub metric: String,
    /// Whether a container and a VM were both measured (otherwise `missing` says why).
    pub measured: bool,
    /// "×127": how many times lighter the container is (ratio of medians).
    pub ratio_text: String,
    /// "×110–140", the bootstrap 95% CI of the ratio.
    pub ci_text: String,
    /// The pair compared: "crun 20.48 ms vs qemu/microvm [tcg] 2.60 s".
    pub pair: String,
    /// How the pair was picked: "fastest container vs fastest VM".
    pub best_of: String,
    /// The subjects the best ones were picked from: "containers runc, crun; VMs qemu/microvm [tcg]".
    pub from: String,
    pub emulated: bool,
    /// Why the row has no number.
    pub missing: String,
    /// Said under the row: what its figure does not show (empty when nothing).
    pub note: String,
}

/// One comparison: `ratio` = median(heavier) / median(lighter) for time and memory,
/// median(lighter) / median(heavier) for throughput, so ratios above 1 favour `lighter`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeadlineRow {
    /// "startup", "memory", "throughput".
    pub aspect: String,
    /// The metric compared, e.g. "ready p50" or "payload_pss p50".
    pub metric: String,
    pub lighter: String,
    pub heavier: String,
    pub lighter_value: String,
    pub heavier_value: String,
    pub ratio: f64,
    pub ci: [f64; 2],
    /// "38×".
    pub ratio_text: String,
    /// "35–41×".
    pub ci_text: String,
    pub sentence: String,
    /// Said next to the number: emulation, few samples.
    pub caveats: Vec<String>,
    /// Whether either side ran under software emulation.
    pub emulated: bool,
}

/// Build the headline of `run`.
pub fn headline(run: &Run) -> Headline {
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    let cat = select::Catalog::of(run);
    let comparable = |m: &Measurement| comparable(cat, m);
    let startup: Vec<&Measurement> = select::ok_metric(run, "startup", "ready")
        .filter(|m| select::unswept(m) && comparable(m))
        .collect();
    rows.extend(pairs(cat, &startup, Aspect::Startup));

    let memory = footprints(run);
    rows.extend(pairs(cat, &memory, Aspect::Memory));

    let throughput: Vec<&Measurement> = run
        .measurements
        .iter()
        .filter(|m| {
            m.scenario == "throttle"
                && select::is_unthrottled(&m.case)
                && m.unit == "ops/s"
                && m.status == Status::Ok
                && select::has_data(m)
                && comparable(m)
        })
        .collect();
    let workloads = crate::workload::table(run);
    if workloads.is_empty() {
        rows.extend(pairs(cat, &throughput, Aspect::Throughput));
    } else {
        rows.extend(super::performance::rows(&workloads));
    }

    let classes: Vec<Class> = startup.iter().map(|m| cat.class(&m.subject)).collect();
    for (class, what) in [
        (Class::Container, "container"),
        (Class::Vm, "virtual machine"),
        (Class::Process, "plain process"),
    ] {
        if !classes.contains(&class) {
            notes.push(format!(
                "No {what} startup was measured in this run, so comparisons with it are missing."
            ));
        }
    }
    for m in &run.measurements {
        if m.status != Status::Ok && comparable(m) && m.scenario == "startup" {
            notes.push(format!(
                "{} ({} {}) {}: {}",
                select::series_name(m),
                m.scenario,
                m.metric,
                status_word(m.status),
                m.reason.as_deref().unwrap_or("no reason recorded")
            ));
        }
    }
    if rows.iter().any(|r| r.emulated) {
        notes.push(
            "Rows marked emulated compare against a VM run by QEMU's software CPU emulator (TCG), \
             because KVM was not usable on this host; a VM with hardware virtualization starts \
             and runs much faster, so these ratios overstate the gap."
                .into(),
        );
    }
    let verdict = Verdict::of(cat, [&startup, &memory, &throughput], &workloads);
    Headline {
        rows,
        notes,
        verdict,
    }
}

impl Verdict {
    /// `workloads` (the workload table) replaces the throttle unit for performance when
    /// it is not empty.
    fn of(
        cat: select::Catalog<'_>,
        [startup, memory, throughput]: [&[&Measurement]; 3],
        workloads: &crate::workload::Table,
    ) -> Verdict {
        let rows: Vec<VerdictRow> = [
            (Aspect::Startup, startup),
            (Aspect::Memory, memory),
            (Aspect::Throughput, throughput),
        ]
        .into_iter()
        .map(|(aspect, ms)| {
            let row = verdict_row(cat, ms, aspect);
            if aspect != Aspect::Throughput {
                row
            } else if workloads.is_empty() {
                VerdictRow {
                    note: if row.measured {
                        super::performance::LATENCY_BOUND_NOTE.into()
                    } else {
                        String::new()
                    },
                    ..row
                }
            } else {
                super::performance::verdict_row(workloads, row)
            }
        })
        .collect();
        let emulation_caveat = rows.iter().any(|r| r.emulated).then(|| {
            "The VMs here ran under QEMU's software CPU emulator (accel=tcg) because KVM was \
             not usable on this host: a VM with hardware virtualization starts and runs much \
             faster, so these ratios overstate the gap."
                .to_string()
        });
        Verdict {
            rows,
            emulation_caveat,
        }
    }
}

/// The best container against the best VM in `ms` (lowest median for time and memory,
/// highest for throughput), as a headline [`row`].
fn verdict_row(cat: select::Catalog<'_>, ms: &[&Measurement], aspect: Aspect) -> VerdictRow {
    let of = |c: Class| -> Vec<&Measurement> {
        lightest_per_subject(
            ms.iter()
                .copied()
                .filter(|m| cat.class(&m.subject) == c)
                .collect(),
        )
    };
    let (ctrs, vms) = (of(Class::Container), of(Class::Vm));
    fn best<'m>(v: &[&'m Measurement], highest: bool) -> Option<&'m Measurement> {
        let p50 = |m: &&Measurement| m.summary.map_or(f64::NAN, |s| s.p50);
        let it = v.iter().copied();
        if highest {
            it.max_by(|a, b| p50(a).total_cmp(&p50(b)))
        } else {
            it.min_by(|a, b| p50(a).total_cmp(&p50(b)))
        }
    }
    let highest = aspect == Aspect::Throughput;
    let (aspect_name, metric, adjective) = match aspect {
        Aspect::Startup => ("startup", "ready p50", "fastest"),
        Aspect::Memory => ("memory", "footprint p50", "leanest"),
        Aspect::Throughput => ("performance", "ops/s p50, no CPU quota", "fastest"),
    };
    let best_of = format!("{adjective} container vs {adjective} VM");
    let names = |v: &[&Measurement]| {
        v.iter()
            .map(|m| select::series_name(m))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = VerdictRow {
        aspect: aspect_name.into(),
        metric: metric.into(),
        measured: false,
        ratio_text: "—".into(),
        ci_text: String::new(),
        pair: String::new(),
        best_of,
        from: String::new(),
        emulated: false,
        missing: String::new(),
        note: String::new(),
    };
    let (Some(c), Some(v)) = (best(&ctrs, highest), best(&vms, highest)) else {
        out.missing = match (ctrs.is_empty(), vms.is_empty()) {
            (true, true) => "not measured: no container and no VM in this run".into(),
            (true, false) => "not measured: no container in this run".into(),
            _ => "not measured: no VM in this run".into(),
        };
        return out;
    };
    let Some(r) = row(cat, c, v, aspect) else {
        out.missing = "no usable ratio: a median was zero or missing".into();
        return out;
    };
    out.measured = true;
    if aspect == Aspect::Memory {
        out.metric = r.metric.clone();
    }
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

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "was measured",
        Status::Skipped => "was skipped",
        Status::Failed => "failed",
    }
}

/// Subjects the headline compares: processes, namespaces, containers, sandboxed
/// containers, VMs.
fn comparable(cat: select::Catalog<'_>, m: &Measurement) -> bool {
    matches!(
        cat.class(&m.subject),
        Class::Process | Class::Namespaces | Class::Container | Class::Sandboxed | Class::Vm
    )
}

/// One footprint measurement per (subject, case, labels).
fn footprints(run: &Run) -> Vec<&Measurement> {
    let mut by_series: std::collections::BTreeMap<String, &Measurement> = Default::default();
    for m in &run.measurements {
        // The engine CLI (`client_*`) is not part of the container.
        if !(select::is_footprint(m)
            && !m.metric.starts_with("client_")
            && m.status == Status::Ok
            && select::has_data(m)
            && comparable(select::Catalog::of(run), m))
        {
            continue;
        }
        let key = select::series_name(m);
        let better = match by_series.get(&key) {
            None => true,
            Some(cur) => footprint_rank(m) > footprint_rank(cur),
        };
        if better {
            by_series.insert(key, m);
        }
    }
    by_series.into_values().collect()
}

/// Preference among footprint metrics: total_pss, then the largest PSS, then the largest RSS.
fn footprint_rank(m: &Measurement) -> (u8, f64) {
    let p50 = m.summary.map_or(0.0, |s| s.p50);
    if m.metric == "total_pss" {
        (3, p50)
    } else if m.metric.ends_with("_pss") {
        (2, p50)
    } else {
        (1, p50)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Aspect {
    Startup,
    Memory,
    Throughput,
}

/// Rows for the pairs (container, VM), (container, sandboxed), (sandboxed, VM),
/// (process, container), (process, namespaces), (process, VM) found in `ms`, in that
/// order: a sandboxed container (gVisor) is compared with its neighbours on the ladder.
fn pairs(cat: select::Catalog<'_>, ms: &[&Measurement], aspect: Aspect) -> Vec<HeadlineRow> {
    let of = |c: Class| -> Vec<&Measurement> {
        ms.iter()
            .copied()
            .filter(|m| cat.class(&m.subject) == c)
            .collect()
    };
    let (procs, nss, ctrs, sandboxed, vms) = (
        lightest_per_subject(of(Class::Process)),
        lightest_per_subject(of(Class::Namespaces)),
        lightest_per_subject(of(Class::Container)),
        lightest_per_subject(of(Class::Sandboxed)),
        lightest_per_subject(of(Class::Vm)),
    );
    let mut rows = Vec::new();
    for (lighter, heavier) in [
        (&ctrs, &vms),
        (&ctrs, &sandboxed),
        (&sandboxed, &vms),
        (&procs, &ctrs),
        (&procs, &nss),
        (&procs, &vms),
    ] {
        for l in lighter.iter() {
            for h in heavier.iter() {
                if let Some(r) = row(cat, l, h, aspect) {
                    rows.push(r);
                }
            }
        }
    }
    rows
}

/// One measurement per subject: the case with the lowest median (runc's `run` rather than
/// `create-start`, QEMU's `microvm` rather than `pc`), so the table says how each subject
/// does at its best instead of listing every pairing of cases.
fn lightest_per_subject(ms: Vec<&Measurement>) -> Vec<&Measurement> {
    let mut best: Vec<&Measurement> = Vec::new();
    for m in ms {
        let p50 = m.summary.map_or(f64::INFINITY, |s| s.p50);
        match best.iter_mut().find(|b| b.subject == m.subject) {
            Some(b) => {
                if p50 < b.summary.map_or(f64::INFINITY, |s| s.p50) {
                    *b = m;
                }
            }
            None => best.push(m),
        }
    }
    best
}

fn row(
    cat: select::Catalog<'_>,
    l: &Measurement,
    h: &Measurement,
    aspect: Aspect,
) -> Option<HeadlineRow> {
    let (ls, hs) = (l.summary?, h.summary?);
    let lsamp: Vec<f64> = l
        .samples
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    let hsamp: Vec<f64> = h
        .samples
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    // Time and memory: heavier / lighter. Throughput: lighter / heavier. Above 1 favours
    // the lighter subject either way.
    let (ratio, ci) = if aspect == Aspect::Throughput {
        (
            stats::median(&lsamp) / stats::median(&hsamp),
            stats::ratio_of_medians_ci(&hsamp, &lsamp, LEVEL),
        )
    } else {
        (
            stats::median(&hsamp) / stats::median(&lsamp),
            stats::ratio_of_medians_ci(&lsamp, &hsamp, LEVEL),
        )
    };
    if !ratio.is_finite() || ratio <= 0.0 {
        return None;
    }
    let (lp, hp) = (cat.phrase(l), cat.phrase(h));
    let ci_text = if ci[0].is_finite() && ci[1].is_finite() {
        format!("{}–{}", trim_x(&format_factor(ci[0])), format_factor(ci[1]))
    } else {
        "–".into()
    };
    let ci_inv = format!(
        "{}–{}",
        trim_x(&format_factor(1.0 / ci[1])),
        format_factor(1.0 / ci[0])
    );
    let sentence = match aspect {
        Aspect::Startup if ratio >= 1.0 => format!(
            "{} reached its first instruction {} sooner than {} on this host, 95% CI {}.",
            capitalize(&lp),
            format_factor(ratio),
            hp,
            ci_text
        ),
        Aspect::Startup => format!(
            "{} reached its first instruction {} later than {} on this host, 95% CI {}.",
            capitalize(&lp),
            format_factor(1.0 / ratio),
            hp,
            ci_inv
        ),
        Aspect::Memory if ratio >= 1.0 => format!(
            "{} used {} the memory of {} ({} vs {}), 95% CI {}.",
            capitalize(&hp),
            format_factor(ratio),
            lp,
            h.metric,
            l.metric,
            ci_text
        ),
        Aspect::Memory => format!(
            "{} used {} the memory of {} ({} vs {}), 95% CI {}.",
            capitalize(&lp),
            format_factor(1.0 / ratio),
            hp,
            l.metric,
            h.metric,
            ci_inv
        ),
        Aspect::Throughput => format!(
            "Without a CPU quota, {} did {} the work per second of {} ({}), 95% CI {}.",
            lp,
            format_factor(ratio),
            hp,
            l.metric,
            ci_text
        ),
    };
    let mut caveats = Vec::new();
    for m in [l, h] {
        if select::is_emulated(m) {
            caveats.push(format!(
                "emulated: {} ran under QEMU TCG, not KVM",
                select::series_name(m)
            ));
        }
        if m.samples.len() < FEW_SAMPLES {
            caveats.push(format!(
                "few samples: n={} for {}, the interval is rough",
                m.samples.len(),
                select::series_name(m)
            ));
        }
    }
    if aspect == Aspect::Throughput {
        caveats.push(super::performance::LATENCY_BOUND.into());
    }
    let metric = match aspect {
        Aspect::Startup => "ready p50".to_string(),
        Aspect::Memory if l.metric == h.metric => format!("{} p50", l.metric),
        Aspect::Memory => format!("{} / {} p50", l.metric, h.metric),
        Aspect::Throughput => format!("{} p50 (unthrottled)", l.metric),
    };
    Some(HeadlineRow {
        aspect: match aspect {
            Aspect::Startup => "startup",
            Aspect::Memory => "memory",
            Aspect::Throughput => "throughput",
        }
        .into(),
        metric,
        lighter: select::series_name(l),
        heavier: select::series_name(h),
        lighter_value: format_value(ls.p50, &l.unit),
        heavier_value: format_value(hs.p50, &h.unit),
        ratio,
        ci,
        ratio_text: format_factor(ratio),
        ci_text,
        sentence,
        emulated: select::is_emulated(l) || select::is_emulated(h),
        caveats,
    })
}

fn trim_x(s: &str) -> &str {
    s.trim_end_matches('×')
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeasurementKey;
    use std::collections::BTreeMap;

    fn run_with(ms: Vec<Measurement>) -> Run {
        Run::of_measurements(ms)
    }

    fn m(subject: &str, case: &str, scale: f64, accel: Option<&str>) -> Measurement {
        let mut labels = BTreeMap::new();
        if let Some(a) = accel {
            labels.insert("accel".to_string(), a.to_string());
        }
        let samples = (0..40)
            .map(|i| scale * (1.0 + f64::from(i % 5) * 0.01))
            .collect();
        Measurement::from_samples(
            MeasurementKey::new("startup", subject, case, "ready"),
            "ns",
            labels,
            samples,
        )
    }

    #[test]
    fn container_vs_vm_ratio_with_ci_and_emulation_caveat() {
        let run = run_with(vec![
            m("process", "default", 1e6, None),
            m("runc", "default", 1e8, None),
            m("qemu", "microvm", 3.8e9, Some("tcg")),
        ]);
        let h = headline(&run);
        let r = &h.rows[0];
        assert_eq!(
            (r.lighter.as_str(), r.heavier.as_str()),
            ("runc", "qemu/microvm [tcg]")
        );
        assert!((r.ratio - 38.0).abs() < 0.5, "{}", r.ratio);
        assert!(r.ci[0] <= r.ratio && r.ratio <= r.ci[1]);
        assert!(r.sentence.starts_with("A runc container reached its first instruction 38× sooner than a QEMU VM (microvm) under software emulation (TCG)"), "{}", r.sentence);
        assert!(r.emulated);
        assert!(r.caveats.iter().any(|c| c.contains("TCG")));
        // process vs runc and process vs qemu are there too.
        assert_eq!(h.rows.len(), 3);
        assert!(h.notes.iter().any(|n| n.contains("TCG")));
    }

    #[test]
    fn a_sandboxed_container_sits_between_containers_and_vms() {
        let run = run_with(vec![
            m("process", "default", 1e6, None),
            m("runc", "run", 3e7, None),
            m("runsc", "run", 1.2e8, None),
            m("qemu", "microvm", 3.6e9, Some("tcg")),
        ]);
        let h = headline(&run);
        let pairs: Vec<(&str, &str)> = h
            .rows
            .iter()
            .map(|r| (r.lighter.as_str(), r.heavier.as_str()))
            .collect();
        assert_eq!(
            pairs[..3],
            [
                ("runc/run", "qemu/microvm [tcg]"),
                ("runc/run", "runsc/run"),
                ("runsc/run", "qemu/microvm [tcg]"),
            ]
        );
        let r = &h.rows[1];
        assert!((r.ratio - 4.0).abs() < 0.1, "{}", r.ratio);
        assert!(
            r.sentence.contains("sooner than a gVisor (runsc) sandbox"),
            "{}",
            r.sentence
        );
        // gVisor is not counted as a container: no process-vs-runsc row.
        assert!(!pairs.contains(&("process", "runsc/run")), "{pairs:?}");
    }

    #[test]
    fn verdict_is_the_best_container_against_the_best_vm_with_one_caveat() {
        let run = run_with(vec![
            m("process", "default", 1e6, None),
            m("runc", "default", 1e8, None),
            m("crun", "default", 2e7, None),
            m("qemu", "microvm", 3.8e9, Some("tcg")),
            m("qemu", "pc", 7.6e9, Some("tcg")),
        ]);
        let v = headline(&run).verdict;
        let aspects: Vec<&str> = v.rows.iter().map(|r| r.aspect.as_str()).collect();
        assert_eq!(aspects, ["startup", "memory", "performance"]);
        let s = &v.rows[0];
        assert!(s.measured);
        assert_eq!(s.ratio_text, "×190");
        assert_eq!(s.pair, "crun 20.4 ms vs qemu/microvm [tcg] 3.88 s");
        assert_eq!(s.best_of, "fastest container vs fastest VM");
        assert_eq!(s.from, "containers runc, crun; VMs qemu/microvm [tcg]");
        assert!(s.emulated && v.emulation_caveat.is_some());
        assert!(!v.rows[1].measured && v.rows[1].missing.contains("no container"));
    }

    #[test]
    fn missing_classes_and_skips_are_noted() {
        let mut skipped = Measurement::not_ok(
            MeasurementKey::new("startup", "docker", "default", "ready"),
            "ns",
            Status::Skipped,
            "docker daemon not reachable: start it with systemctl start docker",
        );
        skipped.labels.clear();
        let run = run_with(vec![m("process", "default", 1e6, None), skipped]);
        let h = headline(&run);
        assert!(h.rows.is_empty());
        assert!(h.notes.iter().any(|n| n.contains("No container")));
        assert!(h
            .notes
            .iter()
            .any(|n| n.contains("docker daemon not reachable")));
    }
}
