//! `isobench compare`: the thin command-line side of `isobench_reports::compare` (all the
//! statistics live there); `history` is beside it in `history.rs`. Exit codes are a
//! contract for CI: 1 when a significant regression is found (or on an error), 3 when
//! the machine drifted and no regression can be blamed on the build, 0 otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use isobench_reports::compare::{self, CompareOptions, Correction, Group};
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
    /// repeats, as for the base). None with `--by`.
    #[arg(required_unless_present = "by")]
    pub new: Vec<String>,
    /// Compare the groups of this label inside the one run file given (e.g.
    /// `--by guest_kernel` for the kernels scenario: one column per kernel, the first
    /// kernel of the run the base); the label leaves the measurements' identity.
    #[arg(long, value_name = "LABEL", conflicts_with = "new")]
    pub by: Option<String>,
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
    /// count treats samples as independent. Default: 10, or one per 25 samples up to 20
    /// for a run with more.
    #[arg(long)]
    pub blocks: Option<usize>,
    /// Judge every regression on its own: no family rules (on one kernel, a regression
    /// alone in a family of related measurements that held still is otherwise reported
    /// `changed (isolated)`, and one no larger than its family's common shift is the
    /// machine's drift; docs/compare.md).
    #[arg(long)]
    pub no_families: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the output to FILE instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

pub(super) fn load(path: &Path) -> anyhow::Result<Run> {
    Ok(Run::load(path)?)
}

pub(super) fn threshold_fraction(percent: f64) -> anyhow::Result<f64> {
    if !(0.0..100.0).contains(&percent) {
        anyhow::bail!("--threshold {percent} must be a percentage in [0, 100), e.g. 5");
    }
    Ok(percent / 100.0)
}

/// Write `text` to `output` (atomically, `atomic_write::replace`) or stdout.
pub(super) fn emit(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    match output {
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("writing to stdout")?;
        }
        Some(p) => {
            crate::atomic_write::replace(p, text.as_bytes(), crate::atomic_write::PUBLIC)
                .with_context(|| format!("writing {}", p.display()))?;
        }
    }
    Ok(())
}

/// `isobench compare BASE NEW...`: exit 1 when a significant regression beyond the
/// threshold is found where the drift witness held still, 3 when every regression sits
/// in a scenario whose drift witness moved (the machine changed, not only the build).
pub fn cmd_compare(a: CompareArgs) -> anyhow::Result<i32> {
    let opts = options(&a)?;
    if let Some(label) = &a.by {
        if a.base.contains(',') {
            anyhow::bail!(
                "--by {label} compares groups inside one run file; give one file, not {:?}",
                a.base
            );
        }
        let run = load(Path::new(&a.base))?;
        let c = compare::compare_by_label(&run, &a.base, label, &opts)?;
        return finish(&c, &a);
    }
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
    let c = compare::compare_groups(&groups, &opts)?;
    finish(&c, &a)
}

fn options(a: &CompareArgs) -> anyhow::Result<CompareOptions> {
    Ok(CompareOptions {
        threshold: threshold_fraction(a.threshold)?,
        alpha: a.alpha,
        correction: match a.correction {
            CorrectionArg::Holm => Correction::Holm,
            CorrectionArg::Bh => Correction::Bh,
            CorrectionArg::None => Correction::None,
        },
        force: a.force,
        blocks: a.blocks.unwrap_or(compare::DEFAULT_BLOCKS),
        auto_blocks: a.blocks.is_none(),
        families: !a.no_families,
        ..CompareOptions::default()
    })
}

/// Render, print the verdict lines, and the exit code of the gate.
fn finish(c: &compare::Comparison, a: &CompareArgs) -> anyhow::Result<i32> {
    let text = match a.format {
        Format::Table => compare::table::render(c),
        Format::Markdown => compare::markdown::render(c),
        Format::Html => compare::html::render(c),
        Format::Json => serde_json::to_string_pretty(c)? + "\n",
    };
    emit(&text, a.output.as_deref())?;
    // The verdict on stderr, one line per later run, whatever the format: which
    // measurements, by how much, and whether the machine itself moved.
    for (k, (r, t)) in c.runs[1..].iter().zip(&c.tallies).enumerate() {
        eprintln!(
            "isobench compare: {} vs {}: {} regressed, {} improved, {} changed",
            printable(&r.label),
            printable(&c.runs[0].label),
            t.regressed,
            t.improved,
            t.changed
        );
        eprintln!("isobench compare: {}", printable(&c.verdict_line(k)));
    }
    Ok(c.gate().exit_code())
}
