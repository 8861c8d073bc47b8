//! `isobench compare` and `isobench history`, and the `run --history FILE` recording: the
//! thin command-line side of `isobench_reports::{compare, history}` (all the statistics
//! live there). Exit codes are a contract for CI: 1 when a significant regression is
//! found (or on an error), 0 otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use isobench_reports::compare::{self, CompareOptions, Correction, Group};
use isobench_reports::history::{self, CheckOptions, CheckVerdict, History, Recorded};
use isobench_reports::terminal::printable;
use isobench_reports::Run;

/// Output format of `compare` and `history check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// GitHub-flavoured Markdown (PR comments, $GITHUB_STEP_SUMMARY).
    Markdown,
    /// A self-contained HTML page.
    Html,
    /// Machine-readable (`isobench.compare/v1`).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CorrectionArg {
    /// Holm step-down Bonferroni: family-wise error rate (default; for CI gates).
    Holm,
    /// Benjamini-Hochberg: false discovery rate.
    Bh,
    /// No correction.
    None,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The base run file (e.g. the old kernel, last night). A comma list
    /// (`a1.json,a2.json`) pools repeated runs of one configuration, so run-to-run noise
    /// is part of the verdict.
    pub base: String,
    /// Run files compared against the base, each in its own columns (comma lists pool
    /// repeats, as for the base).
    #[arg(required = true)]
    pub new: Vec<String>,
    /// Noise threshold in percent: the whole CI of the ratio of medians must lie beyond it.
    #[arg(long, default_value_t = 5.0)]
    pub threshold: f64,
    /// Significance level for the adjusted p-values.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Multiple-comparison correction across measurements.
    #[arg(long, value_enum, default_value_t = CorrectionArg::Holm)]
    pub correction: CorrectionArg,
    /// Compare runs from different CPU models or core counts anyway.
    #[arg(long)]
    pub force: bool,
    /// Contiguous time blocks each run's samples are cut into for the test and the CI
    /// (slow machine noise stays inside the uncertainty); a value at least the sample
    /// count treats samples as independent.
    #[arg(long, default_value_t = compare::DEFAULT_BLOCKS)]
    pub blocks: usize,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the output to FILE instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

fn load(path: &Path) -> anyhow::Result<Run> {
    Ok(Run::load(path)?)
}

fn threshold_fraction(percent: f64) -> anyhow::Result<f64> {
    if !(0.0..100.0).contains(&percent) {
        anyhow::bail!("--threshold {percent} must be a percentage in [0, 100), e.g. 5");
    }
    Ok(percent / 100.0)
}

/// Write `text` to `output` (atomically: temp file + rename) or stdout.
fn emit(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    match output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("writing to stdout")?;
        }
        Some(p) => {
            let tmp = p.with_extension("partial");
            std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, p)
                .with_context(|| format!("renaming {} to {}", tmp.display(), p.display()))?;
        }
    }
    Ok(())
}

/// `isobench compare BASE NEW...`: exit 1 when a significant regression beyond the
/// threshold is found.
pub fn cmd_compare(a: CompareArgs) -> anyhow::Result<i32> {
    // One group of paths per argument; "a1.json,a2.json" pools repeats.
    let args: Vec<Vec<&str>> = std::iter::once(&a.base)
        .chain(&a.new)
        .map(|arg| arg.split(',').filter(|p| !p.is_empty()).collect())
        .collect();
    if let Some(i) = args.iter().position(|g| g.is_empty()) {
        anyhow::bail!("run file argument {} is empty", i + 1);
    }
    let runs: Vec<Vec<Run>> = args
        .iter()
        .map(|g| g.iter().map(|p| load(Path::new(p))).collect())
        .collect::<anyhow::Result<_>>()?;
    let groups: Vec<Group<'_>> = args
        .iter()
        .zip(&runs)
        .map(|(origins, runs)| Group {
            origins: origins.clone(),
            runs: runs.iter().collect(),
        })
        .collect();
    let opts = CompareOptions {
        threshold: threshold_fraction(a.threshold)?,
        alpha: a.alpha,
        correction: match a.correction {
            CorrectionArg::Holm => Correction::Holm,
            CorrectionArg::Bh => Correction::Bh,
            CorrectionArg::None => Correction::None,
        },
        force: a.force,
        blocks: a.blocks,
        ..CompareOptions::default()
    };
    let c = compare::compare_groups(&groups, &opts)?;
    let text = match a.format {
        Format::Table => compare::table::render(&c),
        Format::Markdown => compare::markdown::render(&c),
        Format::Html => compare::html::render(&c),
        Format::Json => serde_json::to_string_pretty(&c)? + "\n",
    };
    emit(&text, a.output.as_deref())?;
    if a.output.is_some() || a.format != Format::Table {
        // The verdict on stderr too, so a CI log shows it whatever the format.
        for (r, t) in c.runs[1..].iter().zip(&c.tallies) {
            eprintln!(
                "isobench compare: {} vs {}: {} regressed, {} improved, {} changed",
                printable(&r.label),
                printable(&c.runs[0].label),
                t.regressed,
                t.improved,
                t.changed
            );
        }
    }
    Ok(if c.has_regression() { 1 } else { 0 })
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
            Ok(if n > 0 { 1 } else { 0 })
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
