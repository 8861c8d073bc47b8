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

/// Measured launch time a cheap case gets at least, `[--quick, default]`, in seconds: a
/// case whose launch takes well under `MIN_MEASURED_S / iterations` repeats its launch
/// within each round (hyperfine's "at least 3 s" rule, per case and interleaved). 20
/// launches of a 0.6 ms process span 12 ms of the run, so one busy moment of the machine
/// moved their median by 17 % in an A/A pair; and a disturbance of ~0.1 s still covered a
/// third of 500 launches (0.3 s) in another, hiding a 10 % slow-down.
const MIN_MEASURED_S: [f64; 2] = [1.0, 3.0];
/// Warm-up launch time a repeating case gets at least, `[--quick, default]`, spread over
/// the warm-up rounds: in 5 of 80 A/A runs the first ~0.3 s of process launches were
/// 5–7 % slower than the rest, and one such base hid a 10 % slow-down.
const MIN_WARMUP_S: [f64; 2] = [0.3, 0.5];
/// At most this many launches of one case per round, so the rounds still interleave.
const MAX_REPS: usize = 100;

/// Whether a case whose turn in a measured round has made `launches` launches taking
/// `spent_s` seconds launches once more: until its share of the minimum measuring time,
/// `min_measured_s / iterations`, is used, at most [`MAX_REPS`]. Decided launch by launch,
/// not from a first timing: a case's first launches after a heavier subject's are cold,
/// 3–5× slower, and an estimate from them gave the process 300 samples one run and 1300
/// the next.
fn another_launch(launches: usize, spent_s: f64, iterations: usize, min_measured_s: f64) -> bool {
    if iterations == 0 || spent_s.is_nan() || spent_s < 0.0 {
        return false;
    }
    launches < MAX_REPS && spent_s < min_measured_s / iterations as f64
}

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
    /// Rounds of the plan (`max_iterations` before repetitions).
    rounds: usize,
    /// Repeats its launch within a round ([`another_launch`]): not for capped subjects
    /// nor with `--iterations`.
    repeats: bool,
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
    if let Some(d) = delay {
        // Before the launch, so the whole delay lands in `ready` and `total` (a sleep
        // after it overlapped the payload's own start: 57 µs added 0–7 %, so a "10 %"
        // slow-down was not one). A short delay spins — a sleep's timer slack (50 µs)
        // would be as large as the delay; a long one sleeps, as a really slower
        // subject blocks the harness too.
        if d < std::time::Duration::from_millis(2) {
            while t0.elapsed() < d {
                std::hint::spin_loop();
            }
        } else {
            std::thread::sleep(d);
        }
    }
    let mut inst = subject.launch(env, case, mode)?;
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
    let timed_teardown = inst.has_teardown();
    let td0 = Instant::now();
    inst.teardown()?;
    let td1 = Instant::now();
    let mut s = Sample::default();
    s.push_ns("ready", since(t0, ready));
    s.push_ns("total", since(t0, exited));
    for (name, d) in inst.phases() {
        s.push_ns(&name, d);
    }
    if timed_teardown {
        s.push_ns("teardown", since(td0, td1));
    }
    Ok((s, exit.output))
}

/// TEST ONLY: `ISOBENCH_TEST_DELAY_US=<subject>:<micros>` waits that long inside the
/// timed region (after `t0`, before the launch) of every launch of that subject,
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
        // Repeated launches only where the plan's iterations are the scenario's own and the
        // subject is not capped (a VM boot is never cheap).
        let repeats = cap.is_none() && !ctx.plan.fixed_iterations;
        for case in s.cases(env) {
            let labels = s.labels(&case);
            entries.push(Entry {
                subject: idx,
                case,
                labels,
                max_iterations: if repeats {
                    max_it.saturating_mul(MAX_REPS)
                } else {
                    max_it
                },
                warmup,
                measured: 0,
                consecutive_failures: 0,
                failures: 0,
                last_error: None,
                given_up: false,
                rounds: max_it,
                repeats,
            });
        }
        subjects.push(s);
    }

    let rounds = ctx.plan.warmup + ctx.plan.iterations;
    // The bar counts each case's turns in the rounds (a turn may hold repeated launches).
    let total_turns: usize = entries.iter().map(|e| e.warmup + e.rounds).sum::<usize>() + rounds;
    ctx.progress.start("startup", total_turns as u64);
    let started = Instant::now();
    let mut interrupted = None;

    'rounds: for round in 0..rounds {
        let warm = round < ctx.plan.warmup;
        // The harness's own overhead, once per round like every case.
        if !warm {
            super::witness_sample(&mut col);
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
            let mut launches = 0;
            let mut spent = 0.0;
            loop {
                if launches > 0 {
                    if let Some(sig) = crate::sys::signals::interrupted() {
                        interrupted = Some(crate::sys::signals::name(sig));
                        break 'rounds;
                    }
                }
                launches += 1;
                let launched = Instant::now();
                let result = measure_once(subject, env, &e.case, &ProbeMode::Ready);
                let took = launched.elapsed();
                ctx.ledger.add(name, Spent::Measure, took);
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
                        // A failed launch ends this case's turn in the round.
                        break;
                    }
                }
                spent += took.as_secs_f64();
                let (rounds, min_s) = if warm {
                    (e.warmup, MIN_WARMUP_S[usize::from(!ctx.quick)])
                } else {
                    (e.rounds, MIN_MEASURED_S[usize::from(!ctx.quick)])
                };
                let more = e.repeats && another_launch(launches, spent, rounds, min_s);
                if !more || e.measured >= e.max_iterations {
                    break;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_cases_repeat_until_the_minimum_time_and_costly_ones_do_not() {
        // 20 quick rounds, 1 s: 50 ms a round for each case.
        assert!(another_launch(1, 0.000_6, 20, 1.0));
        assert!(another_launch(83, 0.049, 20, 1.0));
        assert!(!another_launch(84, 0.050_4, 20, 1.0));
        // A 40 ms launch (runc) has used its share after two.
        assert!(another_launch(1, 0.040, 20, 1.0));
        assert!(!another_launch(2, 0.080, 20, 1.0));
        // Never more than MAX_REPS in a round, however cheap.
        assert!(!another_launch(MAX_REPS, 0.001, 20, 1.0));
        // Nonsense inputs stop.
        assert!(!another_launch(1, f64::NAN, 20, 1.0));
        assert!(!another_launch(1, 0.001, 0, 1.0));
    }
}
