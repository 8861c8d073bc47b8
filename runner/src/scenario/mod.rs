//! Scenarios: what is measured. Each takes the run context and returns measurements.
//!
//! * `startup` — the probe launched by each subject: time to ready and to exit.
//! * `clone`   — clone() per namespace flag, concurrency and mount-table sweeps,
//!   unshare()/setns() per type.
//! * `throttle` — throughput and tail latency under cgroup CPU quotas, and an allocation
//!   under a memory limit (OOM kill).
//! * `workload` — the same work (syscalls, memory, CPU, file I/O, loopback TCP, SQLite)
//!   in every subject, and each subject's ratio to the plain process.
//! * `density` — memory per instance and launch latency with N instances alive.
//! * `kernels` — the probe's in-guest microbenchmarks and the boot under each guest kernel.

pub mod clone;
pub mod density;
pub mod kernels;
pub mod startup;
pub mod throttle;
pub mod workload;

use std::time::Instant;

use isobench_reports::model::Measurement;
use serde::Serialize;

use crate::measure::ledger::{Ledger, Spent};
use crate::measure::Plan;
use crate::output::progress::Progress;
use crate::workdir::Env;

/// Declares [`ScenarioKind`] from one list: each scenario's variant, its name in run
/// files and on the command line, and its module, which provides `run(ctx)`, `PLAN`
/// (`[(warmup, iterations) quick, (warmup, iterations) full]`) and `LAUNCHES_SUBJECTS`.
/// Adding a scenario is its folder and one line here (plus a field of
/// [`ScenarioOptions`] if it has options).
macro_rules! scenarios {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal => $module:ident,)+) => {
        /// Every scenario isobench knows.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, clap::ValueEnum,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum ScenarioKind {
            $($(#[doc = $doc])* #[value(name = $name)] #[serde(rename = $name)] $variant,)+
        }

        impl ScenarioKind {
            pub fn name(self) -> &'static str {
                match self {
                    $(ScenarioKind::$variant => $name,)+
                }
            }

            pub fn all() -> &'static [ScenarioKind] {
                &[$(ScenarioKind::$variant,)+]
            }

            /// Whether the scenario launches the selected subjects (startup, throttle), as
            /// opposed to measuring kernel primitives itself (clone); subjects probe the
            /// host only then.
            pub fn launches_subjects(self) -> bool {
                match self {
                    $(ScenarioKind::$variant => $module::LAUNCHES_SUBJECTS,)+
                }
            }

            /// Default plan `(warmup, iterations)`: `quick` for CI and a first look,
            /// otherwise enough samples for p99 and a tight median CI.
            pub fn default_plan(self, quick: bool) -> (usize, usize) {
                let [q, full] = match self {
                    $(ScenarioKind::$variant => $module::PLAN,)+
                };
                if quick { q } else { full }
            }

            fn run(self, ctx: &Ctx<'_>) -> Outcome {
                match self {
                    $(ScenarioKind::$variant => $module::run(ctx),)+
                }
            }
        }
    };
}

scenarios! {
    /// The probe launched by each subject: time to ready and to exit, phases, footprint.
    Startup = "startup" => startup,
    /// clone() per namespace flag, concurrency and mount-table sweeps, unshare()/setns().
    Clone = "clone" => clone,
    /// Throughput and tail latency under cgroup CPU quotas; an allocation past a memory limit.
    Throttle = "throttle" => throttle,
    /// The same workloads (syscall, memory, cpu, fileio, net, sqlite) in every subject.
    Workload = "workload" => workload,
    /// Memory per instance and launch latency with N instances alive (levels of N).
    Density = "density" => density,
    /// The probe's in-guest microbenchmarks and the boot, per guest kernel (QEMU).
    Kernels = "kernels" => kernels,
}

impl ScenarioKind {
    /// What `isobench run` runs without `--scenario`: every scenario but `density`, whose
    /// levels keep dozens of instances alive for minutes, and `kernels`, which boots each
    /// guest kernel several times (minutes under TCG); both are asked for by name.
    pub fn default_run() -> Vec<ScenarioKind> {
        Self::all()
            .iter()
            .copied()
            .filter(|s| !matches!(s, ScenarioKind::Density | ScenarioKind::Kernels))
            .collect()
    }
}

impl std::fmt::Display for ScenarioKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a scenario receives.
pub struct Ctx<'a> {
    pub env: &'a Env,
    pub plan: Plan,
    pub quick: bool,
    pub progress: &'a Progress,
    pub subjects: Vec<crate::subject::SubjectKind>,
    /// Extra options of scenarios (clone sweeps) from the command line.
    pub options: &'a ScenarioOptions,
    /// Where this scenario's wall time goes, per subject.
    pub ledger: &'a Ledger,
}

/// Scenario options from the command line: each scenario owns its own
/// (`scenario/<name>/options.rs`); the run file records them flat under `config.options`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, clap::Args)]
pub struct ScenarioOptions {
    #[command(flatten)]
    #[serde(flatten)]
    pub clone: clone::options::CloneOptions,
    #[command(flatten)]
    #[serde(flatten)]
    pub throttle: throttle::options::ThrottleOptions,
    #[command(flatten)]
    #[serde(flatten)]
    pub workload: workload::options::WorkloadOptions,
    #[command(flatten)]
    #[serde(flatten)]
    pub density: density::options::DensityOptions,
    #[command(flatten)]
    #[serde(flatten)]
    pub kernels: kernels::options::KernelsOptions,
}

/// How a scenario ended.
#[derive(Debug)]
pub struct Outcome {
    pub measurements: Vec<Measurement>,
    /// Set when a signal stopped it part-way; measurements hold what was finished.
    pub interrupted: Option<&'static str>,
}

impl Ctx<'_> {
    /// Whether the time budget of the plan is spent.
    pub fn over_budget(&self, started: Instant) -> bool {
        self.plan.time_budget_s > 0.0 && started.elapsed().as_secs_f64() > self.plan.time_budget_s
    }
}

/// The harness's own overhead: one iteration with no payload — read the clock, write a
/// byte to a pipe and wait for it exactly as a ready marker is waited for, read the clock.
/// Reported as subject `harness`, case `empty`, so readers see it is negligible next to
/// what is measured.
pub fn empty_iteration() -> Result<std::time::Duration, std::io::Error> {
    use std::os::fd::{AsFd, AsRawFd};
    let (rd, wr) = crate::sys::pipe()?;
    let t0 = Instant::now();
    crate::sys::write_all(wr.as_raw_fd(), b"R")?;
    let t1 = crate::measure::wait_byte(rd.as_fd(), t0 + std::time::Duration::from_secs(5))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(t1 - t0)
}

/// Steps of [`spin_iteration`]'s chain: ~16 000 cycles, a few µs.
const SPIN_STEPS: u32 = 4096;

/// The second drift witness: a fixed amount of pure CPU work — a dependent multiply-add
/// chain in registers, no memory, no system call — so it moves only when the CPU itself
/// runs slower (another tenant's load, steal, frequency), not with the cache, TLB and
/// wake-up state that moves the pipe round trip of [`empty_iteration`] by ±15…37 %
/// between A/A runs. Reported as subject `harness`, case `spin`; `compare` and `history
/// check` call the machine drifted only when every witness of the scenario moved the
/// same way.
pub fn spin_iteration() -> std::time::Duration {
    let t0 = Instant::now();
    let mut x: u64 = std::hint::black_box(0x9E37_79B9_7F4A_7C15);
    for _ in 0..SPIN_STEPS {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    std::hint::black_box(x);
    t0.elapsed()
}

/// Record one sample of each drift witness ([`empty_iteration`], [`spin_iteration`]).
pub fn witness_sample(col: &mut crate::measure::Collector) {
    let none = std::collections::BTreeMap::new();
    if let Ok(d) = empty_iteration() {
        col.add_value(
            "harness",
            "empty",
            "ready",
            &none,
            "ns",
            d.as_nanos() as f64,
        );
    }
    let d = spin_iteration();
    col.add_value("harness", "spin", "ready", &none, "ns", d.as_nanos() as f64);
}

/// Run one scenario.
pub fn run(kind: ScenarioKind, ctx: &Ctx<'_>) -> Outcome {
    kind.run(ctx)
}

/// What `prepare_subject` found.
pub enum Prepared {
    /// Available and prepared: measure it.
    Ready(Box<dyn crate::subject::Subject>),
    /// Skipped or failed; already recorded in the collector with its reason.
    Unusable,
    /// A signal arrived while preparing.
    Interrupted,
}

/// Create `kind`, check `available()` and run `prepare()`, recording a skip (with the
/// reason and fix) or a failure under (`case`, `metric`) when it cannot be measured. Its
/// wall time goes to the subject's `prepare` in the ledger.
pub fn prepare_subject(
    ctx: &Ctx<'_>,
    scenario: &str,
    kind: crate::subject::SubjectKind,
    col: &mut crate::measure::Collector,
    case: &str,
    metric: &str,
) -> Prepared {
    let started = Instant::now();
    let prepared = prepare_subject_untimed(ctx, scenario, kind, col, case, metric);
    ctx.ledger
        .add(kind.name(), Spent::Prepare, started.elapsed());
    prepared
}

fn prepare_subject_untimed(
    ctx: &Ctx<'_>,
    scenario: &str,
    kind: crate::subject::SubjectKind,
    col: &mut crate::measure::Collector,
    case: &str,
    metric: &str,
) -> Prepared {
    use isobench_reports::model::Status;
    let mut s = kind.create();
    if let Err(u) = s.available(ctx.env) {
        col.problem(kind.name(), case, metric, Status::Skipped, &u.to_string());
        return Prepared::Unusable;
    }
    ctx.progress
        .message(&format!("{scenario}: preparing {kind}"));
    if let Err(e) = s.prepare(ctx.env) {
        let _ = s.finish(ctx.env);
        if e.is_interrupt() {
            return Prepared::Interrupted;
        }
        col.problem(
            kind.name(),
            case,
            metric,
            Status::Failed,
            &format!("preparing {kind} failed: {e}"),
        );
        return Prepared::Unusable;
    }
    Prepared::Ready(s)
}

/// One launch whose result is what the probe printed: ready within the ready timeout,
/// exited within `budget` after that, then teardown (also when either fails). Returns the
/// probe's output and exit code.
pub fn launch_for_output(
    subject: &mut dyn crate::subject::Subject,
    env: &Env,
    case: &str,
    mode: &crate::probe::ProbeMode,
    budget: std::time::Duration,
) -> Result<(String, Option<i32>), crate::subject::SubjectError> {
    let mut inst = subject.launch(env, case, mode)?;
    let result = (|| {
        inst.wait_ready(Instant::now() + env.timeouts.ready)?;
        inst.wait_exit(Instant::now() + budget)
    })();
    let torn = inst.teardown();
    let exit = result?;
    torn?;
    Ok((exit.output, exit.code))
}

/// `finish()` every prepared subject, its wall time going to the subject's `teardown`;
/// a failure is printed, not fatal (the cleanup registry removes what is left).
pub fn finish_subjects(ctx: &Ctx<'_>, subjects: &mut [Box<dyn crate::subject::Subject>]) {
    for s in subjects.iter_mut() {
        let kind = s.kind();
        if let Err(e) = ctx
            .ledger
            .time(kind.name(), Spent::Teardown, || s.finish(ctx.env))
        {
            eprintln!("isobench: cleaning up {kind}: {e}");
        }
    }
}

/// Pin the calling thread (and what it creates from now on) to `cpu` until the guard
/// drops. When that fails (the CPU went offline, a cpuset shrank since `--pin` was
/// resolved) say so on stderr and go on unpinned: measure rather than not at all.
/// Used by the `clone` scenario, the `kernels` scenario's host groups, and the `clone`
/// and `unshare_setns` benches.
pub fn pin_or_warn(cpu: usize, who: &str) -> Option<crate::sys::affinity::Pinned> {
    crate::sys::affinity::pin_current_thread(cpu)
        .map_err(|e| eprintln!("{who}: cannot pin to CPU {cpu} ({e}); measuring unpinned"))
        .ok()
}

/// The remark an `ok` measurement of a pinned section carries (`Measurement::reason`);
/// reports show it next to the method.
pub fn pin_remark(cpu: usize) -> String {
    format!("pinned to CPU {cpu} (creator and children; isobench run --pin)")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        options: super::ScenarioOptions,
    }

    #[test]
    fn defaults_of_the_flags_are_the_default_options() {
        let parsed = Flags::try_parse_from(["isobench"]).expect("no flags");
        assert_eq!(parsed.options, super::ScenarioOptions::default());
    }

    #[test]
    fn option_ranges_are_checked_when_parsed() {
        for bad in [
            &["--concurrency", "0"][..],
            &["--concurrency", "1,300"],
            &["--mounts", "10001"],
            &["--quotas", "0"],
            &["--period-ms", "0"],
            &["--throttle-window-ms", "0"],
            &["--throttle-window-ms", "99999999999"],
            &["--levels", "0"],
            &["--levels", "1,100000"],
            &["--guest-mib", "1"],
        ] {
            let args = std::iter::once("isobench").chain(bad.iter().copied());
            assert!(Flags::try_parse_from(args).is_err(), "{bad:?} was accepted");
        }
    }
}
