//! `isobench history`: record runs in a SQLite database, list them, show a metric's trend
//! and check a run against a rolling baseline (the nightly gate); rendering is in
//! `isobench_reports::history::{table, markdown}`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use isobench_reports::history::{self, CheckOptions, CheckVerdict, History, Recorded};
use isobench_reports::terminal::printable;
use isobench_reports::Run;

use super::compare::{emit, load, threshold_fraction, Format};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The history database (SQLite; created when missing).
    pub db: PathBuf,
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// List recorded runs, newest first (the default action).
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// A metric's median over the last runs, e.g. `startup/process/default/ready`.
    Trend {
        /// Measurement identity as `compare --format json` and `history list` show it:
        /// scenario/subject/case/metric[labels].
        metric: String,
        #[arg(long, default_value_t = 30)]
        last: usize,
        #[arg(long)]
        json: bool,
    },
    /// Record a run file (what `run --history` does after a run).
    Record { run: PathBuf },
    /// Check a run against the rolling baseline of the last K runs; exit 1 on regression.
    Check {
        run: PathBuf,
        /// Previous runs forming the baseline.
        #[arg(long, default_value_t = 7)]
        last: usize,
        /// Fewer previous runs than this: no verdict for a measurement.
        #[arg(long, default_value_t = 3)]
        min_runs: usize,
        /// Threshold in percent of the baseline median.
        #[arg(long, default_value_t = 5.0)]
        threshold: f64,
        /// Use runs from any host, not only the same CPU model and count.
        #[arg(long)]
        any_host: bool,
        /// Judge every measurement on its own: no family rules (docs/compare.md).
        #[arg(long)]
        no_families: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

/// `isobench history DB [list|trend|record|check]`.
pub fn cmd_history(a: HistoryArgs) -> anyhow::Result<i32> {
    let action = a.action.unwrap_or(HistoryAction::List {
        limit: 20,
        json: false,
    });
    // Read-only actions on a missing file would create an empty database: say so instead.
    if !matches!(action, HistoryAction::Record { .. }) && !a.db.exists() {
        anyhow::bail!(
            "history database {} does not exist; record runs with `isobench run --history {0}` or `isobench history {0} record RUN.json`",
            a.db.display()
        );
    }
    let mut h = History::open(&a.db)?;
    match action {
        HistoryAction::List { limit, json } => {
            let runs = h.list(limit)?;
            if json {
                emit(&(serde_json::to_string_pretty(&runs)? + "\n"), None)?;
            } else {
                print!("{}", history::table::list(&runs, &a.db));
            }
            Ok(0)
        }
        HistoryAction::Trend { metric, last, json } => {
            let s = h.series(&metric, last, None, None)?;
            if s.is_empty() {
                let known = h.identities()?;
                let near: Vec<&String> = known
                    .iter()
                    .filter(|k| k.contains(&metric) || metric.contains(k.as_str()))
                    .take(20)
                    .collect();
                anyhow::bail!(
                    "no recorded measurement {metric:?} in {}; {}",
                    a.db.display(),
                    if near.is_empty() {
                        format!(
                            "identities look like {:?}",
                            known.iter().take(5).collect::<Vec<_>>()
                        )
                    } else {
                        format!("did you mean one of {near:?}")
                    }
                );
            }
            if json {
                emit(&(serde_json::to_string_pretty(&s)? + "\n"), None)?;
            } else {
                print!("{}", history::table::trend(&metric, &s));
            }
            Ok(0)
        }
        HistoryAction::Record { run } => {
            let r = load(&run)?;
            match h.record(&r)? {
                Recorded::New(id) => println!(
                    "recorded {} as run {id} in {}",
                    run.display(),
                    a.db.display()
                ),
                Recorded::AlreadyThere(id) => {
                    println!(
                        "{} is already recorded as run {id} in {}",
                        run.display(),
                        a.db.display()
                    )
                }
            }
            Ok(0)
        }
        HistoryAction::Check {
            run,
            last,
            min_runs,
            threshold,
            any_host,
            no_families,
            format,
            output,
        } => {
            if last == 0 {
                anyhow::bail!("--last must be at least 1");
            }
            let r = load(&run)?;
            let opts = CheckOptions {
                last,
                min_runs,
                threshold: threshold_fraction(threshold)?,
                any_host,
                families: !no_families,
            };
            let rep = history::check(&h, &r, &opts)?;
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&rep)? + "\n",
                Format::Markdown => history::markdown::check(&rep, &run),
                Format::Table | Format::Html => history::table::check(&rep, &run),
            };
            emit(&text, output.as_deref())?;
            let n = rep.count(CheckVerdict::Regressed);
            eprintln!(
                "isobench history check: {n} regressed, {} improved, {} within band, {} with insufficient history (baseline: last {last} runs)",
                rep.count(CheckVerdict::Improved),
                rep.count(CheckVerdict::WithinBand),
                rep.count(CheckVerdict::InsufficientHistory)
            );
            eprintln!("isobench history check: {}", printable(&rep.verdict_line()));
            Ok(rep.gate().exit_code())
        }
    }
}

/// Check `--history FILE` before measuring, by opening (creating) the database, so a bad
/// path fails before minutes of measuring rather than after.
pub fn check_run_history(path: Option<&Path>) -> anyhow::Result<()> {
    if let Some(p) = path {
        History::open(p).with_context(|| format!("--history {}", p.display()))?;
    }
    Ok(())
}

/// Record a finished run in the `--history` database, when one was given.
pub fn record_history_after_run(run: &Run, history: Option<&Path>) {
    let Some(path) = history else {
        return;
    };
    match History::open(path).and_then(|mut h| h.record(run)) {
        Ok(Recorded::New(id)) => eprintln!("history: recorded as run {id} in {}", path.display()),
        Ok(Recorded::AlreadyThere(id)) => {
            eprintln!(
                "history: already recorded as run {id} in {}",
                path.display()
            )
        }
        Err(e) => eprintln!("isobench: recording the run in the history failed: {e}"),
    }
}
