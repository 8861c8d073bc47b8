//! `density`: what each instance costs when many run at once, and whether launching gets
//! slower as the host fills.
//!
//! For every subject (its first case) and every level N (`--levels`; label `instances`),
//! in trials interleaved across subjects (trial-major: every subject's levels, then the
//! next trial, subjects in the plan's shuffled order):
//!
//! 1. **burst** (N > 1): N launches with up to P (`--parallel`, default: the number of
//!    CPUs) in flight, from the scenario's one thread — the next launch call starts as
//!    soon as fewer than P are not yet ready, without waiting for the others' markers.
//!    `burst` = first launch call → last ready marker; `burst_rate` = N / `burst`;
//!    `burst_in_launch` = time inside the launch calls themselves. Subjects are driven
//!    through `&mut self` on one thread, so what overlaps is the launched processes:
//!    runtimes whose launch call returns at once (process, sandbox, bwrap, the engines'
//!    clients, QEMU) overlap up to P; runc/crun's launch call waits for `create` and
//!    `start`, so for them `burst_in_launch` ≈ `burst` and the burst is sequential (the
//!    metric says so rather than hiding it). Then all N are removed.
//! 2. **settle** (`before`): MemAvailable moving less than 2 MiB over 1 s, at most 10 s
//!    (`meminfo::SETTLE`); `--drop-caches` first drops the page cache (opt-in, label
//!    `drop_caches=1`). Then /proc/meminfo is read.
//! 3. **launch_k**: N launches one after another of the probe in `hang` mode, each timed
//!    from just before `Subject::launch` to its ready marker (host clock, as in
//!    `startup`), with k instances already alive. Metric `launch_k` holds, per trial, the
//!    N latencies in k order (sample i is k = i mod N of trial i div N); `launch_first`
//!    (k = 0) and `launch_last` (k = N−1) are their own metrics.
//! 4. **settle** (`settle_launch`), read /proc/meminfo, then every instance's
//!    `Instance::footprint` with all N alive, then **teardown_all**: time to remove all N
//!    in launch order; **settle** again (`settle_teardown`). `unsettled` counts, per
//!    trial, the settles that hit the 10 s limit (a figure of such a trial is noisier).
//!
//! Memory per instance, four methods side by side (bytes per instance):
//! * `mem_available` = (MemAvailable before − after launch) / N (gVisor's method; it
//!   sees everything: processes, page cache they fill, kernel memory);
//!   `mem_available_drift` = (MemAvailable before − after teardown) / N says how much
//!   the host moved on its own meanwhile (other tenants, page cache): the noise of it;
//! * `mem_pss_sum` = Σ PSS of the instances' processes / N (Kata's method), from each
//!   subject's `footprint()`: the payload's process tree (the container's init and its
//!   descendants), the runtime's per-instance process (containerd-shim, conmon, runsc's
//!   sandbox and gofer, a foreground `runc run`), the attached engine client, and the
//!   QEMU process; parts as `mem_pss_<part>`. PSS is read with all N alive, so pages
//!   shared between instances are divided among them;
//! * `mem_cgroup` = Σ memory cgroup usage / N, where every instance has a cgroup of its
//!   own (sandbox, OCI runtimes, engines; not process, bwrap, qemu);
//! * `mem_slab` = (Slab after − before) / N, kernel objects PSS does not see
//!   (task_structs, namespaces, cgroups, dentries); `mem_kernel_stack`,
//!   `mem_page_tables` and `mem_percpu` (memory cgroups' per-CPU statistics) likewise,
//!   so the gap between `mem_available` and PSS + kernel can be read off.
//!
//! VM levels also carry `ksm_run` (the KSM mode during the level) and `guest_mib`
//! labels and a `ksm_pages_sharing` metric; `--ksm` turns KSM on around each VM level
//! (journalled, restored on every exit path and by `isobench clean`).
//!
//! Levels are capped by memory (`budget`): a level whose estimate exceeds half of
//! MemAvailable is refused — for VMs given explicit `--levels`, before the run starts
//! (`preflight`); during the run, from level 1's figures, as a skipped measurement with
//! the estimate and the limit. `--force` lifts the cap. Every instance is journalled
//! before it exists (by its subject), so Ctrl-C or an error at any level removes all
//! of them.

pub mod budget;
pub mod ksm;
pub mod level;
pub mod meminfo;
pub mod options;

use std::collections::BTreeMap;
use std::time::Instant;

use isobench_reports::model::Status;

use super::{Ctx, Outcome};
use crate::measure::ledger::Spent;
use crate::measure::Collector;
use crate::subject::{Subject, SubjectKind};
use level::{Burst, LevelError, LevelFigures};

/// `(warmup, trials)` with `--quick` and without (`--iterations` sets the trials).
pub const PLAN: [(usize, usize); 2] = [(0, 2), (0, 5)];

/// Whether this scenario launches the run's subjects (`Subject::probe_host` runs then).
pub const LAUNCHES_SUBJECTS: bool = true;

const SCENARIO: &str = "density";
/// A subject whose levels failed this often is given up for the run.
const MAX_FAILURES: usize = 3;
/// The isolation class of VM subjects (`Description::class`).
const VM_CLASS: &str = "vm";

/// Refuse, before anything starts, an explicit VM level whose estimate (guest RAM plus
/// QEMU's overhead, times N) exceeds half of MemAvailable — unless `--force`.
pub fn preflight(
    opts: &options::DensityOptions,
    subjects: &[SubjectKind],
) -> Result<(), budget::OverBudget> {
    if opts.force || opts.levels.is_empty() {
        return Ok(());
    }
    let Ok(avail) = meminfo::read().map(|m| m.available) else {
        return Ok(()); // the run reports the unreadable /proc/meminfo itself
    };
    preflight_with(opts, subjects, avail)
}

/// `preflight` against `mem_available` bytes.
pub fn preflight_with(
    opts: &options::DensityOptions,
    subjects: &[SubjectKind],
    mem_available: u64,
) -> Result<(), budget::OverBudget> {
    if opts.force {
        return Ok(());
    }
    for kind in subjects {
        if kind.create().describe().class != VM_CLASS {
            continue;
        }
        for &n in &opts.levels(false) {
            budget::check(
                kind.name(),
                n,
                budget::vm_estimate(opts.guest_mib),
                "guest RAM + QEMU overhead",
                mem_available,
            )?;
        }
    }
    Ok(())
}

struct Entry {
    subject: usize,
    case: String,
    labels: BTreeMap<String, String>,
    vm: bool,
    /// Bytes per instance and where the figure comes from.
    estimate: Option<(u64, &'static str)>,
    failures: usize,
    given_up: bool,
}

/// Run the density scenario over `ctx.subjects`.
pub fn run(ctx: &Ctx<'_>) -> Outcome {
    let env = ctx.env;
    let opts = &ctx.options.density;
    let levels = opts.levels(ctx.quick);
    let parallel = opts.parallel();
    let trials = ctx.plan.iterations.max(1);
    let mut col = Collector::new(SCENARIO);
    let names: Vec<&str> = ctx.subjects.iter().map(|k| k.name()).collect();
    col.set_order(&names, &[]);
    let mut subjects: Vec<Box<dyn Subject>> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    if opts.drop_caches {
        ctx.progress.println(
            "density: --drop-caches: the page cache is dropped before every level (label drop_caches=1)",
        );
    }
    for kind in &ctx.subjects {
        let mut s = match super::prepare_subject(
            ctx,
            SCENARIO,
            *kind,
            &mut col,
            "default",
            "mem_available",
        ) {
            super::Prepared::Ready(s) => s,
            super::Prepared::Unusable => continue,
            super::Prepared::Interrupted => {
                return Outcome {
                    measurements: col.finish(),
                    interrupted: Some(crate::sys::signals::interrupted_name()),
                }
            }
        };
        s.set_guest_memory_mib(opts.guest_mib);
        let vm = s.describe().class == VM_CLASS;
        // The first case only: density is about many instances of one configuration.
        let Some(case) = s.cases(env).into_iter().next() else {
            continue;
        };
        let mut labels = s.labels(&case);
        if vm {
            labels.insert("guest_mib".into(), opts.guest_mib.to_string());
        }
        if opts.drop_caches {
            labels.insert("drop_caches".into(), "1".into());
        }
        entries.push(Entry {
            subject: subjects.len(),
            case,
            labels,
            vm,
            estimate: vm.then(|| {
                (
                    budget::vm_estimate(opts.guest_mib),
                    "guest RAM + QEMU overhead",
                )
            }),
            failures: 0,
            given_up: false,
        });
        subjects.push(s);
    }

    ctx.progress
        .start(SCENARIO, (trials * levels.len() * entries.len()) as u64);
    let mut interrupted = None;
    'trials: for trial in 0..trials {
        for i in ctx.plan.round_order(entries.len(), trial) {
            let e = &mut entries[i];
            let subject = subjects[e.subject].as_mut();
            if !e.given_up {
                if let Err(sig) = subject_trial(ctx, subject, e, &levels, parallel, trial, &mut col)
                {
                    interrupted = Some(sig);
                    break 'trials;
                }
            }
            ctx.progress.inc(levels.len() as u64);
        }
    }
    super::finish_subjects(ctx, &mut subjects);
    ctx.progress.finish();
    Outcome {
        measurements: col.finish(),
        interrupted,
    }
}

/// One trial of one entry: its levels in ascending order (each level's `after_teardown`
/// reading is the next one's `before`), then the bursts of its levels above 1. A failed
/// level is recorded and ends the trial (higher levels would fail the same way); `Err`
/// is a signal.
fn subject_trial(
    ctx: &Ctx<'_>,
    subject: &mut dyn Subject,
    e: &mut Entry,
    levels: &[u64],
    parallel: usize,
    trial: usize,
    col: &mut Collector,
) -> Result<(), &'static str> {
    let name = subject.kind().name();
    let opts = &ctx.options.density;
    let fail = |e: &mut Entry, n: u64, err: LevelError, col: &mut Collector| {
        e.failures += 1;
        e.given_up = e.failures >= MAX_FAILURES;
        col.problem_labeled(
            name,
            &e.case,
            "mem_available",
            &level_labels(e, n, None),
            Status::Failed,
            &format!("trial {}: {err}", trial + 1),
        );
    };
    // KSM on for the VM's levels and bursts only (`--ksm`); restored when `_ksm` drops.
    let _ksm = match (e.vm, opts.ksm) {
        (true, true) => match ksm::enable(&ctx.env.cleanup) {
            Ok(on) => Some(on),
            Err(err) => {
                fail(e, levels[0], err.into(), col);
                return Ok(());
            }
        },
        _ => None,
    };
    let ksm_run =
        e.vm.then(|| ksm::read().map_or("none".to_string(), |k| k.run.to_string()));
    let interrupted = || Err(crate::sys::signals::interrupted_name());
    let mut before = None;
    let mut ran = Vec::new();
    for &n in levels {
        if crate::sys::signals::interrupted().is_some() {
            return interrupted();
        }
        let labels = level_labels(e, n, ksm_run.as_deref());
        if let Some(over) = over_budget(e, name, n, opts.force) {
            col.problem_labeled(
                name,
                &e.case,
                "mem_available",
                &labels,
                Status::Skipped,
                &over,
            );
            continue;
        }
        ctx.progress.message(&format!("density: {name} ×{n}"));
        let started = Instant::now();
        let result = match before.take().filter(|_| !opts.drop_caches) {
            Some(b) => Ok(b),
            None => level::settle_before(opts.drop_caches),
        }
        .and_then(|b| level::run_level(subject, ctx.env, &e.case, n as usize, b));
        ctx.ledger.add(name, Spent::Measure, started.elapsed());
        match result {
            Ok(f) => {
                ctx.ledger
                    .reclassify(name, Spent::Measure, Spent::Teardown, f.teardown_all);
                if n == 1 {
                    let measured = per_instance_estimate(&f);
                    if measured > 0 {
                        let prior = e.estimate.map_or(0, |(p, _)| p);
                        e.estimate = Some((prior.max(measured), "measured at level 1"));
                    }
                }
                before = Some(f.after_teardown);
                record_level(col, name, &e.case, &labels, &f);
                ran.push(n);
            }
            Err(err) if err.is_interrupt() => return interrupted(),
            Err(err) => {
                fail(e, n, err, col);
                return Ok(());
            }
        }
    }
    for n in ran.into_iter().filter(|n| *n > 1) {
        if crate::sys::signals::interrupted().is_some() {
            return interrupted();
        }
        ctx.progress.message(&format!("density: {name} burst ×{n}"));
        let started = Instant::now();
        let result = level::run_burst(subject, ctx.env, &e.case, n as usize, parallel);
        ctx.ledger.add(name, Spent::Measure, started.elapsed());
        match result {
            Ok(b) => {
                ctx.ledger
                    .reclassify(name, Spent::Measure, Spent::Teardown, b.teardown_all);
                let labels = level_labels(e, n, ksm_run.as_deref());
                record_burst(col, name, &e.case, &labels, n as usize, parallel, &b);
            }
            Err(err) if err.is_interrupt() => return interrupted(),
            Err(err) => {
                let mut labels = level_labels(e, n, ksm_run.as_deref());
                labels.insert("parallel".into(), parallel.to_string());
                col.problem_labeled(
                    name,
                    &e.case,
                    "burst",
                    &labels,
                    Status::Failed,
                    &format!("trial {}: {err}", trial + 1),
                );
            }
        }
    }
    Ok(())
}

/// The entry's labels plus `instances` and, for a VM, `ksm_run`.
fn level_labels(e: &Entry, n: u64, ksm_run: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = e.labels.clone();
    labels.insert("instances".into(), n.to_string());
    if let Some(run) = ksm_run {
        labels.insert("ksm_run".into(), run.to_string());
    }
    labels
}

/// The refusal of level `n` when its estimate exceeds the limit (not with `--force`).
fn over_budget(e: &Entry, name: &str, n: u64, force: bool) -> Option<String> {
    let (per, basis) = e.estimate.filter(|_| !force)?;
    let avail = meminfo::read().ok()?.available;
    budget::check(name, n, per, basis, avail)
        .err()
        .map(|o| o.to_string())
}

/// Bytes per instance a level-1 run suggests: the larger of MemAvailable's and PSS's.
fn per_instance_estimate(f: &LevelFigures) -> u64 {
    let avail = f.per_instance_drop(|m| m.available).max(0.0) as u64;
    avail.max(f.footprints.pss() / f.n.max(1) as u64)
}

fn record_burst(
    col: &mut Collector,
    name: &str,
    case: &str,
    labels: &BTreeMap<String, String>,
    n: usize,
    parallel: usize,
    b: &Burst,
) {
    let mut labels = labels.clone();
    labels.insert("parallel".into(), parallel.to_string());
    let ns = |d: std::time::Duration| d.as_nanos() as f64;
    col.add_value(name, case, "burst", &labels, "ns", ns(b.all_ready));
    col.add_value(
        name,
        case,
        "burst_in_launch",
        &labels,
        "ns",
        ns(b.in_launch_calls),
    );
    let secs = b.all_ready.as_secs_f64();
    if secs > 0.0 {
        col.add_value(
            name,
            case,
            "burst_rate",
            &labels,
            "instances/s",
            n as f64 / secs,
        );
    }
}

fn record_level(
    col: &mut Collector,
    name: &str,
    case: &str,
    labels: &BTreeMap<String, String>,
    f: &LevelFigures,
) {
    let ns = |d: std::time::Duration| d.as_nanos() as f64;
    let mut add = |metric: &str, unit: &'static str, v: f64| {
        col.add_value(name, case, metric, labels, unit, v);
    };
    for d in &f.launch {
        add("launch_k", "ns", ns(*d));
    }
    if let Some(d) = f.launch.first() {
        add("launch_first", "ns", ns(*d));
    }
    if f.n > 1 {
        if let Some(d) = f.launch.last() {
            add("launch_last", "ns", ns(*d));
        }
    }
    add("teardown_all", "ns", ns(f.teardown_all));
    add("settle_launch", "ns", ns(f.after_launch.took));
    add("settle_teardown", "ns", ns(f.after_teardown.took));
    add("unsettled", "count", f.unsettled() as f64);
    let n = f.n as f64;
    add(
        "mem_available",
        "bytes",
        f.per_instance_drop(|m| m.available).round(),
    );
    // How far MemAvailable moved on its own over the level: (before − after teardown) / N.
    // Near zero when the host was quiet; the size of the noise in `mem_available` when not.
    add(
        "mem_available_drift",
        "bytes",
        ((f.before.info.available as f64 - f.after_teardown.info.available as f64) / n).round(),
    );
    add(
        "mem_pss_sum",
        "bytes",
        (f.footprints.pss() as f64 / n).round(),
    );
    for (part, bytes) in &f.footprints.pss_parts {
        add(
            &format!("mem_pss_{part}"),
            "bytes",
            (*bytes as f64 / n).round(),
        );
    }
    if f.footprints.with_cgroup == f.n {
        add(
            "mem_cgroup",
            "bytes",
            (f.footprints.cgroup as f64 / n).round(),
        );
    }
    add("mem_slab", "bytes", f.per_instance_rise(|m| m.slab).round());
    add(
        "mem_kernel_stack",
        "bytes",
        f.per_instance_rise(|m| m.kernel_stack).round(),
    );
    add(
        "mem_page_tables",
        "bytes",
        f.per_instance_rise(|m| m.page_tables).round(),
    );
    add(
        "mem_percpu",
        "bytes",
        f.per_instance_rise(|m| m.percpu).round(),
    );
    if labels.contains_key("ksm_run") {
        if let Some(p) = f.ksm_pages_sharing {
            add("ksm_pages_sharing", "count", p as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_vm_level_over_the_limit_is_refused_before_the_run() {
        let mut o = options::DensityOptions {
            levels: vec![1, 8, 64],
            ..Default::default()
        };
        let avail = 24u64 << 30;
        let e = preflight_with(&o, &[SubjectKind::Process, SubjectKind::Qemu], avail)
            .expect_err("64 VMs of 224 MiB > 12 GiB");
        assert_eq!(e.level, 64);
        assert!(e.to_string().contains("--force"), "{e}");
        // Containers are capped from their own level 1, not before it.
        assert_eq!(preflight_with(&o, &[SubjectKind::Runc], avail), Ok(()));
        o.force = true;
        assert_eq!(preflight_with(&o, &[SubjectKind::Qemu], avail), Ok(()));
    }
}
