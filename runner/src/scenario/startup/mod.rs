//! `startup`: the probe launched by every subject, interleaved round by round.
//!
//! Per launch (`measure_once`): `t0` is read just before `Subject::launch`; `ready` is
//! the marker's arrival minus `t0`; `total` is the exit's observation (reaped) minus
//! `t0`; `teardown` is the time to remove what the launch created (container, cgroup),
//! measured after `total`; subjects add their own phases. Footprint (RSS/PSS at ready) is
//! measured in a separate pass with the probe in `hang` mode, never inside a timed launch.

use std::collections::BTreeMap;
use std::time::Instant;

use isobench_reports::model::Status;

use super::{Ctx, Outcome};
use crate::measure::ledger::Spent;
use crate::measure::{since, Collector, Sample};
use crate::probe::ProbeMode;
use crate::subject::{Subject, SubjectError};

/// Consecutive failed launches after which a case is given up for this run.
const MAX_CONSECUTIVE_FAILURES: usize = 3;

struct Entry {
    subject: usize,
    case: String,
    labels: BTreeMap<String, String>,
    max_iterations: usize,
    /// Discarded launches before measuring: the plan's, or one for a capped subject.
    warmup: usize,
    measured: usize,
    consecutive_failures: usize,
    failures: usize,
    last_error: Option<String>,
    given_up: bool,
}

/// Measure one launch of `subject` in `case`.
pub fn measure_once(
    subject: &mut dyn Subject,
    env: &crate::workdir::Env,
    case: &str,
    mode: &ProbeMode,
) -> Result<(Sample, String), SubjectError> {
    // Looked up before `t0`: nothing but the launch belongs in the timed window.
    let delay = test_delay(subject.kind().name());
    let t0 = Instant::now();
    let mut inst = subject.launch(env, case, mode)?;
    if let Some(d) = delay {
        // Sleep, not spin: with a really slower subject the harness is blocked waiting
        // too, while a spinning harness is penalised by the scheduler as a CPU hog.
        std::thread::sleep(d);
    }
    let ready_deadline = Instant::now() + env.timeouts.ready;
    let ready = match inst.wait_ready(ready_deadline) {
        Ok(t) => t,
        Err(e) => {
            let _ = inst.teardown();
            return Err(e);
        }
    };
    let exit = match inst.wait_exit(Instant::now() + env.timeouts.exit) {
        Ok(x) => x,
        Err(e) => {
            let _ = inst.teardown();
            return Err(e);
        }
    };
    let exited = exit.at.unwrap_or_else(Instant::now);
    let td0 = Instant::now();
    inst.teardown()?;
    let td1 = Instant::now();
    let mut s = Sample::default();
    s.push_ns("ready", since(t0, ready));
    s.push_ns("total", since(t0, exited));
    for (name, d) in inst.phases() {
        s.push_ns(&name, d);
    }
    s.push_ns("teardown", since(td0, td1));
    Ok((s, exit.output))
}

/// TEST ONLY: `ISOBENCH_TEST_DELAY_US=<subject>:<micros>` sleeps that long inside the
/// timed region (after launch, before the marker is read) of every launch of that subject,
/// so tests can check that `isobench compare` flags exactly a deliberately slowed subject
/// (runner/tests/compare_gate.rs). Never set it for real measurements.
fn test_delay(subject: &str) -> Option<std::time::Duration> {
    static DELAY: std::sync::OnceLock<Option<(String, u64)>> = std::sync::OnceLock::new();
    let parsed = DELAY.get_or_init(|| {
        let v = std::env::var("ISOBENCH_TEST_DELAY_US").ok()?;
        let parsed = v
            .split_once(':')
            .and_then(|(s, us)| Some((s.to_string(), us.parse::<u64>().ok()?)));
        match &parsed {
            Some((s, us)) => eprintln!(
                "isobench: ISOBENCH_TEST_DELAY_US is set: every {s} launch is slowed by {us} µs (for tests only; these numbers are not real)"
            ),
            None => eprintln!(
                "isobench: ignoring ISOBENCH_TEST_DELAY_US={v:?}: expected <subject>:<micros>"
            ),
        }
        parsed
    });
    match parsed {
        Some((s, us)) if s == subject => Some(std::time::Duration::from_micros(*us)),
        _ => None,
    }
}

/// `(warmup, iterations)` with `--quick` and without.
pub const PLAN: [(usize, usize); 2] = [(2, 20), (5, 100)];

/// Whether this scenario launches the run's subjects (`Subject::probe_host` runs then).
pub const LAUNCHES_SUBJECTS: bool = true;

/// Run the startup scenario over `ctx.subjects`.
pub fn run(ctx: &Ctx<'_>) -> Outcome {
    let env = ctx.env;
    let mut col = Collector::new("startup");
    let names: Vec<&str> = std::iter::once("harness")
        .chain(ctx.subjects.iter().map(|k| k.name()))
        .collect();
    col.set_order(&names, &[]);
    let mut subjects: Vec<Box<dyn Subject>> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let none = BTreeMap::new();

    for kind in &ctx.subjects {
        let s = match super::prepare_subject(ctx, "startup", *kind, &mut col, "default", "ready") {
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
        let cap = s.max_iterations(ctx.quick);
        let max_it = cap.unwrap_or(usize::MAX).min(ctx.plan.iterations);
        let warmup = if cap.is_some() {
            ctx.plan.warmup.min(1)
        } else {
            ctx.plan.warmup
        };
        for case in s.cases(env) {
            let labels = s.labels(&case);
            entries.push(Entry {
                subject: idx,
                case,
                labels,
                max_iterations: max_it,
                warmup,
                measured: 0,
                consecutive_failures: 0,
                failures: 0,
                last_error: None,
                given_up: false,
            });
        }
        subjects.push(s);
    }

    let rounds = ctx.plan.warmup + ctx.plan.iterations;
    let total_launches: usize = entries
        .iter()
        .map(|e| e.warmup + e.max_iterations)
        .sum::<usize>()
        + rounds;
    ctx.progress.start("startup", total_launches as u64);
    let started = Instant::now();
    let mut interrupted = None;

    'rounds: for round in 0..rounds {
        let warm = round < ctx.plan.warmup;
        // The harness's own overhead, once per round like every case.
        if let Ok(d) = super::empty_iteration() {
            if !warm {
                col.add_value(
                    "harness",
                    "empty",
                    "ready",
                    &none,
                    "ns",
                    d.as_nanos() as f64,
                );
            }
        }
        ctx.progress.inc(1);
        for i in ctx.plan.round_order(entries.len(), round) {
            if let Some(sig) = crate::sys::signals::interrupted() {
                interrupted = Some(crate::sys::signals::name(sig));
                break 'rounds;
            }
            let e = &mut entries[i];
            if e.given_up
                || (warm && round >= e.warmup)
                || (!warm && e.measured >= e.max_iterations)
            {
                continue;
            }
            let subject = subjects[e.subject].as_mut();
            let name = subject.kind().name();
            let launched = Instant::now();
            let result = measure_once(subject, env, &e.case, &ProbeMode::Ready);
            ctx.ledger.add(name, Spent::Measure, launched.elapsed());
            if let Ok((sample, _)) = &result {
                let teardown = std::time::Duration::from_nanos(
                    sample.get("teardown").unwrap_or_default().max(0.0) as u64,
                );
                ctx.ledger
                    .reclassify(name, Spent::Measure, Spent::Teardown, teardown);
            }
            match result {
                Ok((sample, _)) => {
                    e.consecutive_failures = 0;
                    if !warm {
                        e.measured += 1;
                        col.add(subject.kind().name(), &e.case, &e.labels, &sample);
                    }
                }
                Err(err) if err.is_interrupt() => {
                    interrupted = Some(crate::sys::signals::interrupted_name());
                    break 'rounds;
                }
                Err(err) => {
                    e.failures += 1;
                    e.consecutive_failures += 1;
                    e.last_error = Some(err.to_string());
                    if env.verbose {
                        eprintln!("startup: {} {}: {err}", subject.kind(), e.case);
                    }
                    if e.consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
                        e.given_up = true;
                    }
                }
            }
            ctx.progress.inc(1);
        }
        if !warm && ctx.over_budget(started) {
            break;
        }
    }

    if interrupted.is_none() {
        footprint_pass(ctx, &mut subjects, &entries, &mut col);
    }

    for e in &entries {
        let name = subjects[e.subject].kind().name();
        if e.failures > 0 {
            let status = if e.measured == 0 {
                Status::Failed
            } else {
                Status::Ok
            };
            let reason = format!(
                "{} of {} launches failed; last error: {}",
                e.failures,
                e.failures + e.measured,
                e.last_error.as_deref().unwrap_or("?")
            );
            if status == Status::Failed {
                col.problem(name, &e.case, "ready", status, &reason);
            } else if env.verbose {
                eprintln!("startup: {name} {}: {reason}", e.case);
            }
        }
    }
    super::finish_subjects(ctx, &mut subjects);
    ctx.progress.finish();
    Outcome {
        measurements: col.finish(),
        interrupted,
    }
}

/// RSS/PSS with the probe alive at ready (mode `hang`), a few launches per case.
fn footprint_pass(
    ctx: &Ctx<'_>,
    subjects: &mut [Box<dyn Subject>],
    entries: &[Entry],
    col: &mut Collector,
) {
    let n = if ctx.quick { 2 } else { 5 };
    for e in entries.iter().filter(|e| !e.given_up && e.measured > 0) {
        let subject = subjects[e.subject].as_mut();
        let started = Instant::now();
        footprint_of(ctx, subject, e, n, col);
        ctx.ledger
            .add(subject.kind().name(), Spent::Measure, started.elapsed());
    }
}

/// `n` footprint launches of one entry.
fn footprint_of(
    ctx: &Ctx<'_>,
    subject: &mut dyn Subject,
    e: &Entry,
    n: usize,
    col: &mut Collector,
) {
    for _ in 0..n.min(e.max_iterations) {
        if crate::sys::signals::interrupted().is_some() {
            return;
        }
        let Ok(mut inst) = subject.launch(ctx.env, &e.case, &ProbeMode::Hang) else {
            break;
        };
        if inst
            .wait_ready(Instant::now() + ctx.env.timeouts.ready)
            .is_ok()
        {
            for (metric, bytes) in inst.footprint() {
                col.add_value(
                    subject.kind().name(),
                    &e.case,
                    &metric,
                    &e.labels,
                    "bytes",
                    bytes as f64,
                );
            }
        }
        let _ = inst.teardown();
    }
}
