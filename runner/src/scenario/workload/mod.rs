//! `workload`: how fast the same work runs inside each subject — syscalls, memory,
//! page faults, CPU, file I/O, loopback TCP and SQLite (the probe's `workload` mode; the
//! workloads, their metrics and units are the table in [`metrics`]).
//!
//! Method: every subject that can run the probe (its first case: `namespaces` as
//! `container`, `qemu` as its first machine type) is launched once per round, and that
//! one launch runs the whole workload list in order (`--workloads`), each workload once;
//! for a VM that is one boot per round. Rounds are interleaved across subjects in a
//! seeded shuffled order, as in `startup`, so drift of a busy host spreads over every
//! subject. `--quick`: 3 measured rounds and no warm-up; otherwise 1 warm-up round and
//! 5 measured (see [`PLAN`]). Every size is passed to the probe explicitly and is the same
//! for every subject of a run (recorded under `config.options`), so a ratio always
//! compares the same work.
//!
//! Timer points are inside the probe, on its own clock (CLOCK_MONOTONIC in the subject:
//! the guest's under a VM), around each workload's measured loop only — not the launch,
//! the boot or the printing; the harness times nothing here but bounds every launch
//! (ready within the usual ready timeout, then the whole list within
//! [`BUDGET_PER_WORKLOAD`] per workload, twice that under TCG), and kills and
//! removes what outlives it.
//!
//! Storage (`Subject::workload_storage`): fileio, sqlite and syscall's openat work in the
//! subject's own root filesystem — what an application in it writes to: a private
//! directory in the work directory for `process`/`namespaces` (`host-fs`), the generated
//! rootfs's `/isobench-wl` for the containers (`bind`; `gofer` for runsc; the engine's
//! storage driver for docker/podman, `overlay` or `fuse-overlayfs`), and a fresh ext4
//! virtio-blk disk image on the same host file system for the VM (`virtio-blk`, see
//! `vm::disk`). Those metrics carry labels `storage` and `fstype` (the probe's statfs of
//! its directory); every metric carries `better` (`lower`/`higher`) and the subject's
//! own labels (`accel`, ...).
//!
//! Results: per (subject, workload, metric) the samples of every measured launch; a
//! workload the probe reports `skipped` is a skipped measurement with its reason, and
//! one whose lines are missing, truncated or not finite numbers above 0 (see [`parse`])
//! counts as a failed launch with the reason. Then, for every subject but `process` and
//! every ok metric `process` also has, `METRIC.vs_process` (unit `ratio`, labels as the
//! raw one plus `base=process`): each sample of the subject divided by the median of
//! `process`'s, so its median is the ratio of medians (> 1: more of the metric's unit).

pub mod metrics;
pub mod options;
pub mod parse;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use isobench_reports::model::{Measurement, MeasurementKey, Status};

use super::{Ctx, Outcome};
use crate::measure::ledger::Spent;
use crate::measure::Collector;
use crate::probe::{ProbeMode, WorkloadArgs};
use crate::subject::{Subject, SubjectError, SubjectKind, WorkloadDir, WorkloadStorage};
use metrics::Workload;

/// `(warmup, iterations)` with `--quick` and without: 3 rounds are the fewest that give a
/// median and a bootstrap CI and keep a quick run with a TCG VM under 4 minutes; a full
/// run adds a warm-up round (page cache of images and binaries) and 5 measured rounds
/// (a median CI from 5×5 resamples of the ratio), at a few minutes per round.
pub const PLAN: [(usize, usize); 2] = [(0, 3), (1, 5)];

/// Whether this scenario launches the run's subjects (`Subject::probe_host` runs then).
pub const LAUNCHES_SUBJECTS: bool = true;

/// How long one workload may take in a launch: its sizes take ~0.1–1 s natively, and the
/// probe bounds each workload itself at 60 s (then prints `failed`), which this leaves
/// room for.
pub const BUDGET_PER_WORKLOAD: Duration = Duration::from_secs(70);

/// Under TCG every instruction is translated (and the guest loads modules and mounts its
/// disk first): the budget is this many times longer.
const TCG_FACTOR: u32 = 2;

/// Consecutive failed launches after which a subject is given up for this run.
const MAX_CONSECUTIVE_FAILURES: usize = 2;

/// The derived metric's suffix and the label naming its base.
pub const VS_PROCESS: &str = "vs_process";

/// What a subject accumulates over its launches, per workload.
#[derive(Debug, Default)]
struct Series {
    /// fstype (None for workloads without a directory) → metric → samples.
    values: BTreeMap<Option<String>, BTreeMap<&'static str, Vec<f64>>>,
    skipped: Option<String>,
    failures: usize,
    last_failure: Option<String>,
    /// Budgeted metric → the calls its loop made, per launch that printed the count.
    calls: BTreeMap<&'static str, Vec<u64>>,
}

struct Entry {
    subject: usize,
    case: String,
    labels: BTreeMap<String, String>,
    storage: WorkloadStorage,
    /// The workloads this subject runs (the list without what it cannot run).
    run: Vec<&'static Workload>,
    mode: ProbeMode,
    series: BTreeMap<&'static str, Series>,
    launches: usize,
    consecutive_failures: usize,
    given_up: Option<String>,
}

/// Run the workload scenario over `ctx.subjects`.
pub fn run(ctx: &Ctx<'_>) -> Outcome {
    let env = ctx.env;
    let opts = &ctx.options.workload;
    let list: Vec<&'static Workload> = opts
        .workloads
        .iter()
        .filter_map(|w| metrics::workload(w))
        .collect();
    let sizes = opts.sizes.resolved(ctx.quick).flags();
    let mut scratch = Collector::new("workload");
    let mut out: Vec<Measurement> = Vec::new();
    let mut subjects: Vec<Box<dyn Subject>> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let interrupted_now = || Outcome {
        measurements: Vec::new(),
        interrupted: Some(crate::sys::signals::interrupted_name()),
    };

    for kind in &ctx.subjects {
        let s = match super::prepare_subject(ctx, "workload", *kind, &mut scratch, "*", "*") {
            super::Prepared::Ready(s) => s,
            super::Prepared::Unusable => {
                // One not-ok measurement per workload, with the subject's reason.
                for m in scratch.finish() {
                    for w in &list {
                        out.extend(not_ok(
                            kind.name(),
                            w,
                            m.status,
                            m.reason.as_deref(),
                            &BTreeMap::new(),
                        ));
                    }
                }
                scratch = Collector::new("workload");
                continue;
            }
            super::Prepared::Interrupted => {
                super::finish_subjects(ctx, &mut subjects);
                return interrupted_now();
            }
        };
        let Some(case) = s.cases(env).into_iter().next() else {
            continue;
        };
        let mut labels = s.labels(&case);
        let Some(storage) = s.workload_storage(env) else {
            let why = format!("the {kind} subject does not run the workload scenario");
            for w in &list {
                out.extend(not_ok(kind.name(), w, Status::Skipped, Some(&why), &labels));
            }
            subjects.push(s);
            continue;
        };
        let dir = match &storage.dir {
            WorkloadDir::Host => match env.subdir("workload-host") {
                Ok(d) => Some(d.to_string_lossy().into_owned()),
                Err(e) => {
                    let why = format!("making the host directory for the file workloads: {e}");
                    for w in &list {
                        out.extend(not_ok(kind.name(), w, Status::Failed, Some(&why), &labels));
                    }
                    subjects.push(s);
                    continue;
                }
            },
            WorkloadDir::InSubject(p) => Some(p.to_string()),
            WorkloadDir::OwnDisk => None,
        };
        let mut series = BTreeMap::new();
        let mut run = Vec::new();
        for w in &list {
            match (&storage.no_disk, w.needs_disk) {
                (Some(why), true) => {
                    series.insert(
                        w.name,
                        Series {
                            skipped: Some(why.to_string()),
                            ..Series::default()
                        },
                    );
                }
                _ => {
                    series.insert(w.name, Series::default());
                    run.push(*w);
                }
            }
        }
        let tcg = labels.get("accel").is_some_and(|a| a == "tcg");
        let budget =
            BUDGET_PER_WORKLOAD * (run.len().max(1) as u32) * if tcg { TCG_FACTOR } else { 1 };
        let mode = ProbeMode::Workload(WorkloadArgs {
            workloads: run.iter().map(|w| w.name.to_string()).collect(),
            dir,
            sizes: sizes.clone(),
            disk: None,
            budget,
        });
        labels.remove("better");
        entries.push(Entry {
            subject: subjects.len(),
            case,
            labels,
            storage,
            run,
            mode,
            series,
            launches: 0,
            consecutive_failures: 0,
            given_up: None,
        });
        subjects.push(s);
    }

    let rounds = ctx.plan.warmup + ctx.plan.iterations;
    let runnable = entries.iter().filter(|e| !e.run.is_empty()).count();
    ctx.progress.start("workload", (rounds * runnable) as u64);
    let started = Instant::now();
    let mut interrupted = None;
    'rounds: for round in 0..rounds {
        let warm = round < ctx.plan.warmup;
        for i in ctx.plan.round_order(entries.len(), round) {
            if let Some(sig) = crate::sys::signals::interrupted() {
                interrupted = Some(crate::sys::signals::name(sig));
                break 'rounds;
            }
            let e = &mut entries[i];
            if e.given_up.is_some() || e.run.is_empty() {
                continue;
            }
            let subject = subjects[e.subject].as_mut();
            let name = subject.kind().name();
            let t = Instant::now();
            let result = launch_once(subject, env, &e.case, &e.mode);
            ctx.ledger.add(name, Spent::Measure, t.elapsed());
            ctx.progress.inc(1);
            match result {
                Ok((output, code)) => {
                    e.consecutive_failures = 0;
                    if !warm {
                        e.launches += 1;
                        record(e, &output, code);
                    }
                }
                Err(err) if err.is_interrupt() => {
                    interrupted = Some(crate::sys::signals::interrupted_name());
                    break 'rounds;
                }
                Err(err) => {
                    let why = format!("the launch failed: {err}");
                    if env.verbose {
                        eprintln!("workload: {name}: {why}");
                    }
                    e.consecutive_failures += 1;
                    if !warm {
                        e.launches += 1;
                        for w in &e.run {
                            let s = e.series.entry(w.name).or_default();
                            s.failures += 1;
                            s.last_failure = Some(why.clone());
                        }
                    }
                    if e.consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
                        e.given_up = Some(format!(
                            "given up after {MAX_CONSECUTIVE_FAILURES} failed launches in a row; last: {why}"
                        ));
                    }
                }
            }
        }
        if !warm && ctx.over_budget(started) {
            break;
        }
    }

    for e in &entries {
        let kind = subjects[e.subject].kind();
        out.extend(measurements_of(kind, e, &list, &sizes));
    }
    super::finish_subjects(ctx, &mut subjects);
    ctx.progress.finish();
    let derived = vs_process(&out);
    out.extend(derived);
    Outcome {
        measurements: out,
        interrupted,
    }
}

/// One launch: ready within the ready timeout, the whole list within the mode's budget,
/// then teardown. Returns the probe's output and exit code.
fn launch_once(
    subject: &mut dyn Subject,
    env: &crate::workdir::Env,
    case: &str,
    mode: &ProbeMode,
) -> Result<(String, Option<i32>), SubjectError> {
    let budget = match mode {
        ProbeMode::Workload(w) => w.budget,
        _ => env.timeouts.exit,
    };
    super::launch_for_output(subject, env, case, mode, budget)
}

/// Add one measured launch's output to the entry's series.
fn record(e: &mut Entry, output: &str, code: Option<i32>) {
    for w in &e.run {
        let s = e.series.entry(w.name).or_default();
        match parse::workload(output, w) {
            parse::Outcome::Ok { values, fstype } => {
                let by_metric = s.values.entry(fstype).or_default();
                for (metric, v) in values {
                    by_metric.entry(metric).or_default().push(v);
                }
                for m in w.metrics {
                    if let Some((key, _)) = m.calls {
                        if let Some(n) = parse::calls(output, w, key) {
                            s.calls.entry(m.name).or_default().push(n);
                        }
                    }
                }
            }
            parse::Outcome::Skipped(why) => {
                s.skipped.get_or_insert(why);
            }
            parse::Outcome::Failed(why) => {
                s.failures += 1;
                s.last_failure = Some(match code {
                    Some(c) if c != 0 => format!("{why} (the probe exited with status {c})"),
                    _ => why,
                });
            }
        }
    }
}

/// Labels of a workload's metric: the subject's, `better`, and for the workloads that
/// work in a directory `storage` (and `fstype` when the probe said it).
fn metric_labels(
    base: &BTreeMap<String, String>,
    storage: Option<&str>,
    fstype: Option<&str>,
    better: metrics::Better,
) -> BTreeMap<String, String> {
    let mut l = base.clone();
    l.insert("better".into(), better.name().into());
    if let Some(s) = storage {
        l.insert("storage".into(), s.into());
    }
    if let Some(f) = fstype {
        l.insert("fstype".into(), f.into());
    }
    l
}

/// A skipped or failed measurement for every metric of `w`.
fn not_ok(
    subject: &str,
    w: &Workload,
    status: Status,
    reason: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> Vec<Measurement> {
    w.metrics
        .iter()
        .map(|m| {
            Measurement::not_ok(
                MeasurementKey::new("workload", subject, w.name, m.name),
                m.unit,
                status,
                reason.unwrap_or("not measured"),
            )
            .with_labels(metric_labels(labels, None, None, m.better))
        })
        .collect()
}

/// The raw measurements of one subject, in the list's order.
fn measurements_of(
    kind: SubjectKind,
    e: &Entry,
    list: &[&'static Workload],
    sizes: &[(&'static str, u64)],
) -> Vec<Measurement> {
    let mut out = Vec::new();
    for w in list {
        let Some(s) = e.series.get(w.name) else {
            continue;
        };
        let storage = w.uses_dir.then_some(e.storage.storage.as_str());
        let has_values = s.values.values().any(|m| !m.is_empty());
        if !has_values {
            let (status, why) = match (&s.skipped, &s.last_failure, &e.given_up) {
                (Some(why), _, _) => (Status::Skipped, why.clone()),
                (None, Some(why), _) => (
                    Status::Failed,
                    format!(
                        "{} of {} launches failed; last: {why}",
                        s.failures, e.launches
                    ),
                ),
                (None, None, Some(why)) => (Status::Failed, why.clone()),
                (None, None, None) => (Status::Failed, "no launch was measured".into()),
            };
            for m in w.metrics {
                out.push(
                    Measurement::not_ok(
                        MeasurementKey::new("workload", kind.name(), w.name, m.name),
                        m.unit,
                        status,
                        why.clone(),
                    )
                    .with_labels(metric_labels(&e.labels, storage, None, m.better)),
                );
            }
            continue;
        }
        for (fstype, by_metric) in &s.values {
            for m in w.metrics {
                let samples = by_metric.get(m.name).cloned().unwrap_or_default();
                let mut meas = Measurement::from_samples(
                    MeasurementKey::new("workload", kind.name(), w.name, m.name),
                    m.unit,
                    metric_labels(&e.labels, storage, fstype.as_deref(), m.better),
                    samples,
                );
                let mut remarks = Vec::new();
                if s.failures > 0 {
                    remarks.push(format!(
                        "{} of {} launches failed; last: {}",
                        s.failures,
                        e.launches,
                        s.last_failure.as_deref().unwrap_or("?")
                    ));
                }
                if s.values.len() > 1 {
                    remarks.push(format!(
                        "the probe saw {} file system types over the launches",
                        s.values.len()
                    ));
                }
                remarks.extend(budget_remark(m, s, sizes));
                if !remarks.is_empty() && meas.status == Status::Ok {
                    meas.reason = Some(remarks.join("; "));
                }
                out.push(meas);
            }
        }
    }
    out
}

/// "mean over 9000–9600 of 100000 calls per launch ..." when a budgeted loop of `m`
/// stopped before its count in some launch.
fn budget_remark(m: &metrics::Metric, s: &Series, sizes: &[(&'static str, u64)]) -> Option<String> {
    let (_, flag) = m.calls?;
    let asked = sizes.iter().find(|(f, _)| *f == flag)?.1;
    let made = s.calls.get(m.name)?;
    let (lo, hi) = (made.iter().min()?, made.iter().max()?);
    let budget = sizes.iter().find(|(f, _)| *f == "loop-budget-ms")?.1;
    (*lo < asked).then(|| {
        let range = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}–{hi}")
        };
        format!(
            "over {range} of the {asked} calls --{flag} asks for per launch: the loop stopped \
             at its {budget} ms budget (--loop-budget-ms)"
        )
    })
}

/// `METRIC.vs_process` for every ok raw measurement of a subject other than `process`
/// whose (case, metric) `process` has ok: each sample divided by the median of
/// `process`'s samples (see the module doc).
pub fn vs_process(raw: &[Measurement]) -> Vec<Measurement> {
    let base = SubjectKind::Process.name();
    let mut out = Vec::new();
    for m in raw {
        if m.subject == base || m.status != Status::Ok || m.metric.ends_with(VS_PROCESS) {
            continue;
        }
        let Some(p) = raw.iter().find(|p| {
            p.subject == base
                && p.status == Status::Ok
                && p.scenario == m.scenario
                && p.case == m.case
                && p.metric == m.metric
        }) else {
            continue;
        };
        let median = isobench_reports::stats::median(&p.samples);
        if !(median.is_finite() && median > 0.0) {
            continue;
        }
        let mut labels = m.labels.clone();
        labels.insert("base".into(), base.into());
        out.push(Measurement::from_samples(
            MeasurementKey::new(
                &m.scenario,
                &m.subject,
                &m.case,
                &format!("{}.{VS_PROCESS}", m.metric),
            ),
            "ratio",
            labels,
            m.samples.iter().map(|v| v / median).collect(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(subject: &str, case: &str, metric: &str, samples: &[f64]) -> Measurement {
        Measurement::from_samples(
            MeasurementKey::new("workload", subject, case, metric),
            "ns",
            BTreeMap::from([("better".to_string(), "lower".to_string())]),
            samples.to_vec(),
        )
    }

    #[test]
    fn the_ratio_divides_each_sample_by_the_process_median() {
        let raw = vec![
            ok("process", "syscall", "getppid_ns", &[100.0, 200.0, 300.0]),
            ok("runsc", "syscall", "getppid_ns", &[1000.0, 2000.0, 4000.0]),
            ok("runsc", "syscall", "openat_close_ns", &[5.0]),
            Measurement::not_ok(
                MeasurementKey::new("workload", "docker", "syscall", "getppid_ns"),
                "ns",
                Status::Failed,
                "x",
            ),
        ];
        let d = vs_process(&raw);
        assert_eq!(d.len(), 1, "process has no openat, docker failed: {d:?}");
        let r = &d[0];
        assert_eq!(
            (
                r.subject.as_str(),
                r.case.as_str(),
                r.metric.as_str(),
                r.unit.as_str()
            ),
            ("runsc", "syscall", "getppid_ns.vs_process", "ratio")
        );
        assert_eq!(r.samples, vec![5.0, 10.0, 20.0]);
        assert_eq!(
            r.summary.map(|s| s.p50),
            Some(10.0),
            "median(S) / median(process)"
        );
        assert_eq!(r.labels.get("base").map(String::as_str), Some("process"));
        assert_eq!(r.labels.get("better").map(String::as_str), Some("lower"));
        assert!(vs_process(&d).is_empty(), "no ratio of a ratio");
    }

    #[test]
    fn output_of_a_launch_becomes_samples_failures_and_skips() {
        let w = |n| metrics::workload(n).expect("known");
        let mut e = Entry {
            subject: 0,
            case: "default".into(),
            labels: BTreeMap::from([("accel".to_string(), "tcg".to_string())]),
            storage: WorkloadStorage::new(WorkloadDir::OwnDisk, "virtio-blk"),
            run: vec![w("syscall"), w("cpu"), w("fileio")],
            mode: ProbeMode::Ready,
            series: BTreeMap::new(),
            launches: 0,
            consecutive_failures: 0,
            given_up: None,
        };
        let good = "wl.syscall.getppid_ns=900\nwl.syscall.openat_close_ns=5000\nwl.syscall.getppid_calls=100\nwl.syscall.openat_calls=20000\nwl.syscall.fstype=ext4\nwl.syscall.done=1\n\
                    wl.cpu.chain_ns=1.1\nwl.cpu.hash_gbps=0.5\nwl.cpu.done=1\n\
                    wl.fileio.skipped=no disk\n";
        for out in [good, good, "wl.syscall.getppid_ns=0\n"] {
            e.launches += 1;
            record(&mut e, out, Some(0));
        }
        let sizes = [
            ("syscall-iters", 1000),
            ("open-iters", 20000),
            ("loop-budget-ms", 500),
        ];
        let ms = measurements_of(SubjectKind::Qemu, &e, &e.run.clone(), &sizes);
        let find = |case: &str, metric: &str| {
            ms.iter()
                .find(|m| m.case == case && m.metric == metric)
                .unwrap_or_else(|| panic!("{case}/{metric} in {ms:?}"))
        };
        let g = find("syscall", "getppid_ns");
        assert_eq!(
            (g.status, g.samples.clone()),
            (Status::Ok, vec![900.0, 900.0])
        );
        assert!(
            g.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("1 of 3 launches failed")),
            "{g:?}"
        );
        for (k, v) in [
            ("storage", "virtio-blk"),
            ("fstype", "ext4"),
            ("accel", "tcg"),
            ("better", "lower"),
        ] {
            assert_eq!(g.labels.get(k).map(String::as_str), Some(v), "{k}");
        }
        // The budget stopped getppid at 100 of 1000 calls: said; openat made its count.
        assert!(
            g.reason.as_deref().is_some_and(|r| r.contains(
                "over 100 of the 1000 calls --syscall-iters asks for per launch: the loop \
                 stopped at its 500 ms budget"
            )),
            "{g:?}"
        );
        let o = find("syscall", "openat_close_ns");
        assert!(
            !o.reason.as_deref().unwrap_or("").contains("budget"),
            "{o:?}"
        );
        let c = find("cpu", "hash_gbps");
        assert_eq!(c.labels.get("better").map(String::as_str), Some("higher"));
        assert!(
            !c.labels.contains_key("storage"),
            "cpu works in no directory"
        );
        // The third launch printed no cpu lines: a failure of cpu, not a zero.
        assert_eq!(c.samples, vec![0.5, 0.5]);
        let f = find("fileio", "seqwrite_mbps");
        assert_eq!(
            (f.status, f.reason.as_deref()),
            (Status::Skipped, Some("no disk"))
        );
        assert_eq!(f.unit, "MB/s");
    }
}
