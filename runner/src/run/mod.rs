//! `isobench run`: plan → scenarios → run file (rewritten after each scenario) → summary.

pub mod doctor;
pub mod host;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use isobench_reports::model::{Run, ScenarioTime, Tool, RUN_SCHEMA};
use serde::Serialize;

use crate::cleanup::Cleanup;
use crate::measure::ledger::Ledger;
use crate::measure::{Order, Plan};
use crate::output::progress::Progress;
use crate::output::runfile;
use crate::scenario::{self, Ctx, ScenarioKind, ScenarioOptions};
use crate::subject::{Description, Subject, SubjectKind};
use crate::workdir::Env;

/// Everything `isobench run` was asked to do.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    pub scenarios: Vec<ScenarioKind>,
    pub subjects: Vec<SubjectKind>,
    pub quick: bool,
    /// Overrides every scenario's default iteration count.
    pub iterations: Option<usize>,
    pub warmup: Option<usize>,
    pub order: Order,
    pub seed: u64,
    pub time_budget_s: f64,
    pub json: PathBuf,
    pub options: ScenarioOptions,
    pub verbose: bool,
    pub progress: bool,
    pub workdir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Env(#[from] crate::workdir::EnvError),
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error(transparent)]
    Write(#[from] runfile::RunFileWriteError),
    #[error("cannot install the SIGINT/SIGTERM handler: {0}")]
    Signals(std::io::Error),
}

/// The result of a run.
#[derive(Debug)]
pub struct RunResult {
    pub run: Run,
    /// The signal that stopped the run, if one did.
    pub interrupted: Option<&'static str>,
    /// Resources that could not be removed (reported, never silently left).
    pub cleanup_failures: Vec<String>,
    /// The run file could not be written once measuring had begun (a full disk): the
    /// measurements are only in `run`, for the caller to print, and the run stopped
    /// there. The file holds, if anything, the last state that fit, marked interrupted.
    pub write_error: Option<runfile::RunFileWriteError>,
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Execute a run: measurements are written to `cfg.json` after every scenario, so an
/// interrupted run keeps everything it finished.
pub fn execute(cfg: &RunConfig) -> Result<RunResult, RunError> {
    crate::sys::signals::install().map_err(RunError::Signals)?;
    // Orphans of runtimes we start (runc init, conmon) come back to us to be reaped.
    let _ = crate::sys::process::set_child_subreaper();
    let cleanup = Cleanup::new()?;
    let result = execute_with(cfg, &cleanup);
    let failures: Vec<String> = cleanup
        .release_all()
        .into_iter()
        .map(|e| e.to_string())
        .collect();
    cleanup.finish();
    let mut r = result?;
    r.cleanup_failures.extend(failures);
    Ok(r)
}

fn execute_with(cfg: &RunConfig, cleanup: &Cleanup) -> Result<RunResult, RunError> {
    let mut env = Env::new(cleanup.clone(), cfg.workdir.as_deref())?;
    env.verbose = cfg.verbose;
    let progress = Progress::new(cfg.progress);
    progress.message("probing the host (with the qemu subject: a bounded KVM probe boot)");
    let every: Vec<Box<dyn Subject>> = SubjectKind::all().iter().map(|k| k.create()).collect();
    let described: Vec<Description> = every.iter().map(|s| s.describe()).collect();
    let mut host = host::fingerprint(&described);
    let launched = cfg.scenarios.iter().any(|s| s.launches_subjects());
    for s in every.iter().filter(|s| cfg.subjects.contains(&s.kind())) {
        s.probe_host(&mut host, &env, launched);
    }
    let mut run = Run {
        schema: RUN_SCHEMA.to_string(),
        started_at: now_rfc3339(),
        finished_at: None,
        tool: Tool {
            name: "isobench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git: option_env!("ISOBENCH_GIT").map(str::to_string),
        },
        host,
        config: serde_json::to_value(cfg).unwrap_or_default(),
        interrupted: false,
        subjects: described
            .iter()
            .map(|d| (d.name.clone(), d.info()))
            .collect(),
        time_spent: Vec::new(),
        measurements: Vec::new(),
    };
    // Nothing measured yet: a file that cannot be written stops the run before it starts.
    runfile::write_run(&cfg.json, &run)?;
    // (measurements, scenarios' time_spent) in the file as last written.
    let mut persisted = (0, 0);
    let mut write_error = None;
    let mut interrupted = None;
    // How busy the machine is before anything runs: what a settle waits to get back to.
    let baseline_busy = crate::measure::settle::busy_over(Duration::from_millis(200));
    for (i, &sk) in cfg.scenarios.iter().enumerate() {
        if let Some(sig) = crate::sys::signals::interrupted() {
            interrupted = Some(crate::sys::signals::name(sig));
            break;
        }
        let settled = (i > 0).then(|| crate::measure::settle::settle(baseline_busy.unwrap_or(0.0)));
        let (warmup, iterations) = sk.default_plan(cfg.quick);
        let plan = Plan {
            warmup: cfg.warmup.unwrap_or(warmup),
            iterations: cfg.iterations.unwrap_or(iterations).max(1),
            order: cfg.order,
            seed: cfg.seed,
            time_budget_s: cfg.time_budget_s,
            fixed_iterations: cfg.iterations.is_some(),
        };
        let ledger = Ledger::default();
        let ctx = Ctx {
            env: &env,
            plan,
            quick: cfg.quick,
            progress: &progress,
            subjects: cfg.subjects.clone(),
            options: &cfg.options,
            ledger: &ledger,
        };
        let t = Instant::now();
        let outcome = scenario::run(sk, &ctx);
        run.time_spent.push(ScenarioTime {
            scenario: sk.name().to_string(),
            total_s: t.elapsed().as_secs_f64(),
            subjects: ledger.subjects(),
            settle_s: settled.map_or(0.0, |s| s.waited_s),
            settle_quiet: settled.map(|s| s.quiet),
        });
        if cfg.verbose {
            eprintln!("{sk}: {:.1} s", t.elapsed().as_secs_f64());
        }
        run.measurements.extend(outcome.measurements);
        match runfile::write_run(&cfg.json, &run) {
            Ok(()) => persisted = (run.measurements.len(), run.time_spent.len()),
            Err(e) => {
                // Nowhere to keep more results: stop, and hand back what was measured.
                write_error = Some(e);
                break;
            }
        }
        if outcome.interrupted.is_some() {
            interrupted = outcome.interrupted;
            break;
        }
    }
    run.interrupted = interrupted.is_some();
    run.finished_at = Some(now_rfc3339());
    if write_error.is_none() {
        write_error = runfile::write_run(&cfg.json, &run).err();
    }
    if write_error.is_some() {
        mark_cut_short(&cfg.json, &run, persisted);
    }
    Ok(RunResult {
        run,
        interrupted,
        cleanup_failures: Vec::new(),
        write_error,
    })
}

/// After the run file could not take all of `run`: rewrite it with the measurements
/// (and scenario times) that last fit, `persisted`, marked interrupted, so a reader of
/// the file is not told the run is complete (or still going). Best effort: the disk may
/// be too full even for that, and the caller reports the first failure.
fn mark_cut_short(path: &std::path::Path, run: &Run, persisted: (usize, usize)) {
    let mut cut = run.clone();
    cut.measurements.truncate(persisted.0);
    cut.time_spent.truncate(persisted.1);
    cut.interrupted = true;
    cut.host.notes.insert(
        "run_file".into(),
        format!(
            "cut short: the run file could not be written (a full disk?); {} of {} \
             measurements are here; the run printed all of them when it ended",
            persisted.0,
            run.measurements.len()
        ),
    );
    let _ = runfile::write_run(path, &cut);
}
