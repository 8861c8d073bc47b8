//! `throttle`: what a cgroup CPU limit does to throughput and tail latency, and what a
//! memory limit does to an allocation that exceeds it.
//!
//! CPU points: an unthrottled baseline (case `unlimited`, a fresh cgroup without limits,
//! so the launch path is the same) and one case per quota (`"25%"` = 25 % of one CPU per
//! `--period-ms`, CFS bandwidth control). Every round runs each point once, in the plan's
//! (shuffled) order, so machine drift spreads over all points. Per run of a point:
//! 1. a fresh cgroup with the limit; the probe joins it between fork and execve, so its
//!    `work` window starts under the limit (`subject::limits`);
//! 2. the probe repeats a fixed ~1 ms unit of CPU work for a wall-clock window and
//!    reports every unit's latency (CLOCK_MONOTONIC inside the probe) and the window;
//! 3. after the probe exited, the cgroup's counters: usage, nr_periods, nr_throttled,
//!    throttled time.
//!
//! Metrics: `cpu_share` = the cgroup's CPU usage per second of wall time (ratio of one
//! CPU); `share_over_quota` = cpu_share / quota; `usage_over_rusage` = cgroup usage / the
//! probe's own user+system time from wait4 (the two counters must agree);
//! `throughput` (units/s) and `throughput_rel` (over the median unthrottled throughput);
//! `latency` = every unit's latency (ns; p50/p99/max show the throttling pauses);
//! `nr_periods`, `nr_throttled`, `throttled_time` per run.
//!
//! Edge effect of a finite window, and how it is avoided: CFS hands out quota per
//! period, the pool is full when the probe starts and the period timer's phase was set
//! before, so usage over the probe's window counts a first partial period that can
//! grant a whole quota (measured: +2–6 % of the share at 10–50 % with 1–2 s windows,
//! about one extra quota). For a point that throttles, `cpu_share` is therefore taken
//! across the CFS refills the harness sees while the probe runs (it polls the cgroup's
//! counters, `refills.rs`), and `throughput` across the probe's units that held a
//! throttling pause (`pauses.rs`): both span whole periods. A point that never throttles
//! has no edge effect and uses the whole window (usage / the probe's window, units /
//! window); so would a subject that cannot say where its cgroup is while the probe runs
//! (`LimitedInstance::cpu_reader`; every subject that joins `throttle` can).
//!
//! Memory point (case `oom`): the probe allocates `OOM_ALLOC_MIB` under a limit of
//! `OOM_LIMIT_MIB` with no swap; the kernel's OOM killer ends it (SIGKILL) and the
//! cgroup's `oom_kill` counter says so. Metrics `oom_kill` (count) and `allocated_mib`
//! (the last MiB the probe reported touching), `memory_peak` (the cgroup's high-water
//! mark, bytes), with the reason "oom-killed after X MiB".
//! The harness is never in the cgroup, so it is not at risk.
//!
//! Subjects: each launches the probe under the limits its own way (see
//! `subject::limits`). A subject that cannot (bwrap has no cgroups; one not implemented
//! yet) gives ONE skipped line for the whole scenario (case `*`), not one per point.
//! Quick runs with the default quotas sweep [`QUICK_SWEEP`] for the process
//! ([`FULL_QUICK_SWEEP`]) and only [`QUICK_QUOTAS`] for the others (containers, VMs: the
//! same cgroup mechanism, so a throttled and an unthrottling point say whether it
//! applies to them the same way), and the `oom` point in one round only (its figures do
//! not vary); a subject's `max_iterations` caps its rounds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use isobench_reports::model::Status;

mod cpu;
mod oom;
pub mod options;
mod pauses;
mod points;
mod refills;
mod relative;
mod slope;

use super::{Ctx, Outcome};
use crate::cgroup::Limits;
use crate::measure::ledger::Spent;
use crate::measure::Collector;
use crate::probe::ProbeMode;
use crate::subject::limits::LimitedInstance;
use crate::subject::{Subject, SubjectError, SubjectKind};
use cpu::{record_cpu, run_cpu};
use oom::{annotate_oom, record_oom, run_oom};
pub use points::case_name;
use points::{points, quotas_for, Point};
use refills::Refills;
use relative::add_relative_throughput;

/// Iterations of the probe's work unit: ~1 ms on the reference host (see the probe's
/// `DEFAULT_UNIT_ITERS`, calibrated the same way).
pub const UNIT_ITERS: u64 = 500_000;
/// CPU weight (v1 `cpu.shares` scale; default 1024 = one nice-0 task) of every CPU
/// point's cgroup, unthrottled included. The reference host is shared, and at the default
/// weight the probe's share is set by other tenants' load rather than by the quota (an
/// unthrottled probe got ~0.33 of a CPU on a busy 2-core host). 100× the default makes
/// the probe win the CPU it is runnable on, so the quota is what limits it; it is a
/// label of every CPU measurement.
pub const PROBE_CPU_SHARES: u64 = 102_400;
/// The memory point: limit and allocation.
pub const OOM_LIMIT_MIB: u64 = 32;
pub const OOM_ALLOC_MIB: u64 = 256;
/// Subjects that get the quota sweep in quick runs ([`QUICK_SWEEP`]): the process shows
/// the sweep's shape on this kernel; every container and VM the two [`QUICK_QUOTAS`].
pub const FULL_QUICK_SWEEP: &[SubjectKind] = &[SubjectKind::Process];
/// The quick sweep: the default quotas up to 100 %; 150 % and 200 % say for a
/// single-threaded probe what 100 % says (no throttling: 1.000 of a CPU at all three).
pub const QUICK_SWEEP: &[f64] = &[10.0, 25.0, 50.0, 100.0];
/// Quotas of a quick run for the other subjects: a throttled point and the quota that
/// should not throttle a single-threaded probe.
pub const QUICK_QUOTAS: &[f64] = &[25.0, 100.0];
/// Work window per run, quick and full. One second holds ten periods of 100 ms: the
/// share across refills spans about nine of them, with less spread than the whole-window
/// share over 2 s (README, "Scenario `throttle`").
pub(super) const WINDOW_QUICK_MS: u64 = 1000;
pub(super) const WINDOW_FULL_MS: u64 = 5000;
pub(super) const SCENARIO: &str = "throttle";
pub(super) const UNLIMITED: &str = "unlimited";
pub(super) const OOM: &str = "oom";

/// A finished launch of the probe under limits.
struct Launched {
    inst: Box<dyn LimitedInstance>,
    exit: crate::subject::Exit,
    /// The CFS refills seen while the probe ran (`watch` asked and the subject can say
    /// where its cgroup's counters are).
    refills: Option<Refills>,
}

fn launch(
    subject: &mut dyn Subject,
    ctx: &Ctx<'_>,
    case: &str,
    mode: &ProbeMode,
    limits: &Limits,
    watch: bool,
) -> Result<Launched, SubjectError> {
    let env = ctx.env;
    // A launch that needs CPU of its own (a VM's boot) takes about 1/quota as long.
    let slowdown = match (limits.cpu_quota, limits.cpu_period) {
        (Some(q), Some(p)) if !q.is_zero() => (p.as_secs_f64() / q.as_secs_f64()).max(1.0),
        _ => 1.0,
    };
    let mut inst = subject.launch_limited(env, case, mode, limits)?;
    inst.wait_ready(Instant::now() + env.timeouts.ready.mul_f64(slowdown))?;
    let window = match mode {
        ProbeMode::Work { window_ms, .. } => Duration::from_millis(*window_ms),
        _ => Duration::ZERO,
    };
    let deadline = Instant::now() + env.timeouts.exit + window;
    let reader = if watch { inst.cpu_reader() } else { None };
    let (exit, refills) = match reader {
        None => (inst.wait_exit(deadline), None),
        Some(reader) => {
            let stop = AtomicBool::new(false);
            std::thread::scope(|s| {
                let poller = std::thread::Builder::new()
                    .name("throttle-poll".into())
                    .spawn_scoped(s, || refills::watch(&reader, &stop));
                let exit = inst.wait_exit(deadline);
                stop.store(true, Ordering::Release);
                // No thread (the host is out of them) or a poller that panicked: the
                // share comes from the whole window.
                (exit, poller.ok().and_then(|h| h.join().ok()))
            })
        }
    };
    Ok(Launched {
        inst,
        exit: exit?,
        refills,
    })
}

pub(super) struct Entry {
    subject: usize,
    /// The scenario's labels plus the subject's own (`accel`, `oci_runtime`, ...).
    cpu_labels: BTreeMap<String, String>,
    oom_labels: BTreeMap<String, String>,
    /// Rounds this entry takes part in (warm-up included).
    max_rounds: usize,
    point: Point,
    failures: usize,
    last_error: Option<String>,
    given_up: bool,
}

/// `(warmup, iterations)` with `--quick` and without: rounds of the quota sweep, each run
/// a multi-second window.
pub const PLAN: [(usize, usize); 2] = [(0, 3), (1, 5)];

/// Whether this scenario launches the run's subjects (`Subject::probe_host` runs then).
pub const LAUNCHES_SUBJECTS: bool = true;

/// Run the throttle scenario over `ctx.subjects`.
pub fn run(ctx: &Ctx<'_>) -> Outcome {
    let env = ctx.env;
    let opts = &ctx.options.throttle;
    let period = Duration::from_millis(opts.period_ms.max(1));
    let window_ms = opts.throttle_window_ms.unwrap_or(if ctx.quick {
        WINDOW_QUICK_MS
    } else {
        WINDOW_FULL_MS
    });
    let mut col = Collector::new(SCENARIO);
    let mut subjects: Vec<Box<dyn Subject>> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut oom_reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let cpu_labels = BTreeMap::from([
        ("period_ms".to_string(), opts.period_ms.to_string()),
        ("cpu_shares".to_string(), PROBE_CPU_SHARES.to_string()),
    ]);
    let oom_labels = BTreeMap::from([
        ("limit_mib".to_string(), OOM_LIMIT_MIB.to_string()),
        ("alloc_mib".to_string(), OOM_ALLOC_MIB.to_string()),
    ]);

    for kind in &ctx.subjects {
        let s = match super::prepare_subject(ctx, SCENARIO, *kind, &mut col, "*", "cpu_share") {
            super::Prepared::Ready(s) => s,
            super::Prepared::Unusable => continue,
            super::Prepared::Interrupted => {
                return Outcome {
                    measurements: col.finish(),
                    interrupted: Some(crate::sys::signals::interrupted_name()),
                }
            }
        };
        let idx = subjects.len();
        let quotas = quotas_for(*kind, ctx.quick, &opts.quotas);
        let max_rounds = ctx.plan.warmup
            + s.max_iterations(ctx.quick)
                .map_or(ctx.plan.iterations, |m| m.min(ctx.plan.iterations));
        let first_case = s.cases(env).into_iter().next().unwrap_or_default();
        let own = s.labels(&first_case);
        let limit_from = s.cpu_limit_from();
        let with_own = |base: &BTreeMap<String, String>| {
            let mut l = own.clone();
            l.extend(base.iter().map(|(k, v)| (k.clone(), v.clone())));
            l
        };
        for point in points(&quotas) {
            if matches!(point, Point::Oom) && *kind == crate::subject::SubjectKind::Qemu {
                // A host cgroup limit below the guest's RAM kills QEMU itself while it
                // boots; how a guest behaves when *its* memory runs out is a different
                // experiment (the guest kernel's OOM killer), not measured here.
                col.problem(
                    kind.name(),
                    OOM,
                    "oom_kill",
                    Status::Skipped,
                    &format!(
                        "the {OOM_LIMIT_MIB} MiB host memory limit of the oom point is below the VM's own guest RAM, \
                         so it would only show the host killing QEMU during boot; the guest's own OOM behaviour is not measured"
                    ),
                );
                continue;
            }
            entries.push(Entry {
                subject: idx,
                cpu_labels: {
                    let mut l = with_own(&cpu_labels);
                    if let Some(from) = limit_from {
                        l.insert("cpu_limit_from".into(), from.into());
                    }
                    l
                },
                oom_labels: with_own(&oom_labels),
                // The memory point's figures are the same in every round (31 MiB
                // allocated, the peak at the limit, one kill: measured in 3 of 3 rounds
                // of every subject), so a quick run takes it once.
                max_rounds: if matches!(point, Point::Oom) && ctx.quick {
                    max_rounds.min(ctx.plan.warmup + 1)
                } else {
                    max_rounds
                },
                point,
                failures: 0,
                last_error: None,
                given_up: false,
            });
        }
        subjects.push(s);
    }

    let rounds = ctx.plan.warmup + ctx.plan.iterations;
    ctx.progress
        .start(SCENARIO, (rounds * entries.len()) as u64);
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
            if e.given_up || round >= e.max_rounds {
                continue;
            }
            let subject = subjects[e.subject].as_mut();
            let name = subject.kind().name();
            let launched = Instant::now();
            let result = match &e.point {
                Point::Cpu { case, percent } => {
                    run_cpu(subject, ctx, case, *percent, period, window_ms).map(|r| {
                        if !warm {
                            record_cpu(&mut col, name, case, *percent, &e.cpu_labels, &r);
                        }
                    })
                }
                Point::Oom => run_oom(subject, ctx).map(|r| {
                    if !warm {
                        let reason = record_oom(&mut col, name, &e.oom_labels, &r);
                        oom_reasons
                            .entry(name.to_string())
                            .or_default()
                            .push(reason);
                    }
                }),
            };
            ctx.ledger.add(name, Spent::Measure, launched.elapsed());
            let skip = match result {
                Ok(()) => None,
                Err(err) if err.is_interrupt() => {
                    interrupted = Some(crate::sys::signals::interrupted_name());
                    break 'rounds;
                }
                Err(SubjectError::Unsupported(u)) => Some(u.to_string()),
                Err(SubjectError::Cgroup(c)) if cannot_run_here(&c) => Some(format!(
                    "cannot create a limited cgroup here: {c}; run as root on a host \
                     with the cpu, cpuacct and memory controllers (isobench doctor)"
                )),
                Err(err) => {
                    e.failures += 1;
                    e.last_error = Some(err.to_string());
                    if env.verbose {
                        eprintln!("throttle: {name} {}: {err}", e.point.case());
                    }
                    if e.failures >= 2 {
                        e.given_up = true;
                    }
                    None
                }
            };
            if let Some(reason) = skip {
                // The whole subject cannot do it: one line for it, no further attempts.
                col.problem(name, "*", "cpu_share", Status::Skipped, &reason);
                let s = e.subject;
                for other in entries.iter_mut().filter(|o| o.subject == s) {
                    other.given_up = true;
                    other.last_error = None;
                }
            }
            ctx.progress.inc(1);
        }
        if !warm && ctx.over_budget(started) {
            break;
        }
    }

    for e in &entries {
        if let Some(err) = &e.last_error {
            let name = subjects[e.subject].kind().name();
            col.problem(
                name,
                e.point.case(),
                "*",
                Status::Failed,
                &format!("{} run(s) failed; last error: {err}", e.failures),
            );
        }
    }
    super::finish_subjects(ctx, &mut subjects);
    ctx.progress.finish();
    let mut measurements = col.finish();
    add_relative_throughput(&mut measurements);
    annotate_oom(&mut measurements, &oom_reasons);
    // Rows in sweep order (unlimited, quotas as given, oom) rather than the shuffled
    // order they were first measured in.
    let cases: Vec<String> = points(&opts.quotas)
        .iter()
        .map(|p| p.case().to_string())
        .collect();
    let subject_rank = |n: &str| ctx.subjects.iter().position(|k| k.name() == n);
    measurements.sort_by_key(|m| {
        (
            subject_rank(&m.subject),
            cases.iter().position(|c| *c == m.case),
        )
    });
    Outcome {
        measurements,
        interrupted,
    }
}

/// Errors that mean this host (or user) cannot have cgroups, rather than a failure.
pub(super) fn cannot_run_here(e: &crate::cgroup::CgroupError) -> bool {
    use crate::cgroup::CgroupError as E;
    match e {
        E::NoController { .. } | E::Detect(_) => true,
        E::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        ),
        _ => false,
    }
}
