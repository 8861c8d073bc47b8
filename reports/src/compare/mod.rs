//! Comparing runs: is B slower than A, beyond noise? (kernel A vs kernel B, last night vs
//! tonight, a patch vs its base).
//!
//! How a verdict is reached, per measurement matched by `Measurement::identity()`
//! (scenario, subject, case, metric, labels):
//!
//! 1. Both medians come from the raw samples; `change` is median(B) / median(A) - 1.
//! 2. Each run's samples, in the order they were taken, are cut into `blocks` contiguous
//!    time blocks (default 10, `stats::blocks`): a run is a time series on a machine
//!    whose load drifts, and treating hundreds of neighbouring samples as independent
//!    makes a busy minute look like a certain change.
//! 3. A 95 % block-bootstrap confidence interval of the ratio of medians (whole blocks
//!    resampled, `stats::blocks::block_ratio_of_medians_ci`).
//! 4. A p-value from a test that makes no normality assumption, since latency
//!    distributions are skewed and long-tailed, applied to the block medians: Mann-Whitney
//!    U, exact when small and free of ties, else the normal approximation with tie
//!    correction when both sides have at least `MIN_RANK_TEST_N` blocks, else a
//!    permutation test on the difference of medians (Firecracker's A/B method).
//!    With fewer samples than blocks each sample is its own block, so a `blocks` at
//!    least the sample count gives the classic test on independent samples.
//! 5. p-values of one pairwise comparison are adjusted across all its measurements (Holm
//!    by default, see `stats::multiple`), because testing eighty measurements at
//!    alpha = 0.01 would otherwise flag one unchanged measurement in most comparisons.
//! 6. A change is *significant* when the adjusted p < alpha AND the whole CI of the ratio
//!    lies beyond the noise threshold (above 1 + t or below 1 - t). The p-value says "not
//!    chance", the CI says "large enough to matter".
//! 7. The direction comes from the measurement's `better` label (`lower` | `higher`,
//!    which the workload scenario writes), else from the unit (`Direction::of_labelled`):
//!    for ns, us and bytes lower is better, for any rate (`…/s`: ops/s, GB/s, MB/s, tx/s, q/s) and
//!    `throughput` higher is better. Ratios and shares
//!    (`cpu_share`, unit `ratio`), unknown units, and the harness's own empty iteration
//!    (a control, see `drift_warnings`) have no better side: a significant change is
//!    reported as `changed`, never as a regression. That includes the workload's derived
//!    `M.vs_process` ratios (unit `ratio`): the raw measurements of both subjects carry
//!    the verdict, and a ratio moves when either side does.
//!
//! A column may pool repeated runs of one configuration (`Group`, on the command line
//! `a1.json,a2.json`): each run is cut into blocks on its own and the blocks pooled, so
//! run-to-run differences (a reboot, a busier hour) become part of the noise. Without
//! repeats a shift of the whole machine between two runs cannot be told apart from the
//! change under test; the drift warning (see `drift_warnings`) points at it when the
//! harness control moves.
//!
//! Measurements that are skipped or failed on either side, or present on one side only,
//! are listed with `not compared` and the reason; they never fail a comparison.
//!
//! Runs from different CPU models or core counts are refused (`CompareError::Incomparable`)
//! unless forced: such a difference would measure the hardware, not the change.

mod by_label;
pub(crate) mod format;
mod host;
pub mod html;
pub mod markdown;
pub mod table;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::model::{Run, Status};
use crate::stats;

pub use by_label::{compare_by_label, split_by_label};
pub use format::human;
pub use host::{host_differences, HostDifference};

/// Schema identifier of the JSON output of `isobench compare`.
pub const COMPARE_SCHEMA: &str = "isobench.compare/v1";

/// Below this many blocks on either side (and with ties, so no exact distribution) the
/// permutation test is used instead of the normal approximation of Mann-Whitney U.
pub const MIN_RANK_TEST_N: usize = 10;

/// Default number of time blocks per run.
pub const DEFAULT_BLOCKS: usize = 10;
/// With `auto_blocks`, a run gets one block per this many samples, between
/// `CompareOptions::blocks` and [`MAX_AUTO_BLOCKS`].
pub const SAMPLES_PER_BLOCK: usize = 25;
/// The most blocks `auto_blocks` cuts a run into.
pub const MAX_AUTO_BLOCKS: usize = 20;

/// Which multiple-comparison correction to apply across the measurements of one pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Correction {
    /// Holm step-down Bonferroni (family-wise error rate). Default.
    Holm,
    /// Benjamini-Hochberg (false discovery rate).
    Bh,
    /// None: each measurement tested at alpha on its own.
    None,
}

/// Knobs of a comparison.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CompareOptions {
    /// Noise threshold as a fraction (0.05 = 5 %).
    pub threshold: f64,
    /// Significance level applied to adjusted p-values.
    pub alpha: f64,
    pub correction: Correction,
    /// Confidence level of the ratio CI.
    pub level: f64,
    /// Compare even when CPU model or core count differ.
    pub force: bool,
    /// Contiguous time blocks per run (see the module doc); at least 3.
    pub blocks: usize,
    /// Cut a run with many samples into more blocks: one per [`SAMPLES_PER_BLOCK`], at
    /// least `blocks`, at most [`MAX_AUTO_BLOCKS`] (the default; an explicit `--blocks`
    /// turns it off). With 10 blocks one disturbed block of 500 process launches made a
    /// +9 % slow-down's Mann-Whitney p 0.0015, and 0.14 after Holm over 95 measurements;
    /// with 20 the same block costs far less.
    pub auto_blocks: bool,
    /// Judge a regression by its family of related measurements when both sides ran the
    /// same kernel (`crate::family`): alone in an unmoved family it is `changed
    /// (isolated)`, within its family's common shift it is the machine's drift.
    /// `--no-families` turns it off; `--by LABEL` never uses it.
    pub families: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            threshold: 0.05,
            alpha: 0.01,
            correction: Correction::Holm,
            level: 0.95,
            force: false,
            blocks: DEFAULT_BLOCKS,
            auto_blocks: true,
            families: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("need at least two runs to compare, got {0}")]
    TooFewRuns(usize),
    #[error("refusing to compare {base} with {other}: different {field} ({a:?} vs {b:?}); the difference would measure the hardware, not the change. Pass --force to compare anyway.")]
    Incomparable {
        base: String,
        other: String,
        field: &'static str,
        a: String,
        b: String,
    },
    #[error("invalid option: {0}")]
    Options(String),
}

/// Which way is better for a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
    /// No better side (ratios, shares, counts, unknown units): changes are `changed`.
    Neutral,
}

impl Direction {
    /// From the unit and metric name (see the module doc).
    pub fn of(unit: &str, metric: &str) -> Direction {
        Self::of_measurement(unit, metric, "")
    }

    /// As `of`, and the harness's own empty iteration (subject `harness`) is a control,
    /// not something a change under test can regress: a move there means the machine or
    /// the measuring conditions differ, and is reported as `changed` (plus a drift
    /// warning).
    pub fn of_measurement(unit: &str, metric: &str, subject: &str) -> Direction {
        if subject == "harness" || metric == "cpu_share" || unit == "ratio" {
            Direction::Neutral
        } else if unit.ends_with("/s") || metric == "throughput" {
            Direction::HigherIsBetter
        } else if matches!(unit, "ns" | "us" | "µs" | "bytes") {
            Direction::LowerIsBetter
        } else {
            Direction::Neutral
        }
    }

    /// As `of_measurement`, with the measurement's `better` label (`lower` | `higher`)
    /// deciding before the unit does, except for the harness control and ratios.
    pub fn of_labelled(m: &crate::Measurement) -> Direction {
        let neutral = m.subject == "harness" || m.metric == "cpu_share" || m.unit == "ratio";
        match m.labels.get("better").map(String::as_str) {
            _ if neutral => Direction::Neutral,
            Some("lower") => Direction::LowerIsBetter,
            Some("higher") => Direction::HigherIsBetter,
            _ => Self::of_measurement(&m.unit, &m.metric, &m.subject),
        }
    }
}

/// The outcome for one measurement in one pairwise comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regressed,
    Improved,
    /// Significant change of a measurement without a better side.
    Changed,
    NoChange,
    NotCompared,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Changed => "changed",
            Verdict::NoChange => "no change",
            Verdict::NotCompared => "not compared",
        }
    }
}

/// One run as it appears in a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Where it came from (file path).
    pub origin: String,
    /// Column header: the kernel release when kernels differ, else the file name.
    pub label: String,
    pub kernel: String,
    pub started_at: String,
    pub tool_version: String,
    pub tool_git: Option<String>,
    pub interrupted: bool,
    /// Runs pooled in this column (repeats of one configuration).
    pub repeats: usize,
}

/// One side of a measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// "ok" | "skipped" | "failed" | "missing".
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub n: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
}

/// A measurement of a later run against the base.
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    pub side: Side,
    /// median(new) / median(base) - 1, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_pct: Option<f64>,
    /// CI of median(new) / median(base).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_ci: Option<[f64; 2]>,
    /// "mann-whitney exact" | "mann-whitney" | "permutation".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<&'static str>,
    /// Units the test compared (time blocks; single samples when there are few): [base, new].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<[usize; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
    /// After the multiple-comparison correction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_adjusted: Option<f64>,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the measurement's family said about its regression (`crate::family`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyNote>,
}

/// A regression judged by its family of related measurements.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FamilyNote {
    /// `scenario/subject/*/metric`.
    pub key: String,
    /// The median change of the other members, in percent.
    pub change_pct: f64,
    /// How many other members had a ratio.
    pub others: usize,
    /// "isolated" (the family held still: not counted by the gate), "family drift" (the
    /// family moved as much: the machine), or "own" (beyond its family's shift).
    pub judgement: &'static str,
}

/// One measurement identity across all runs.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub identity: String,
    pub scenario: String,
    pub subject: String,
    pub case: String,
    pub metric: String,
    pub unit: String,
    pub labels: BTreeMap<String, String>,
    pub direction: Direction,
    pub base: Side,
    /// One per later run, in the order given.
    pub deltas: Vec<Delta>,
}

/// Counts of verdicts for one later run against the base.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tally {
    pub regressed: usize,
    pub improved: usize,
    pub changed: usize,
    pub no_change: usize,
    pub not_compared: usize,
}

/// The result of comparing runs[1..] against runs[0].
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub schema: &'static str,
    pub options: CompareOptions,
    pub runs: Vec<RunInfo>,
    /// Host fields that differ between runs, the kernel first.
    pub host_differences: Vec<HostDifference>,
    pub rows: Vec<Row>,
    /// One per later run.
    pub tallies: Vec<Tally>,
    /// Oddities worth a reader's attention (duplicate identities, interrupted runs).
    pub warnings: Vec<String>,
    /// Scenarios in which the drift witness (the harness's own empty iteration) moved
    /// beyond the threshold, per later run: the machine, not only the build, changed.
    pub drift: Vec<Drift>,
    /// `--by LABEL`: the columns are the groups of this label inside one run
    /// (`by_label`), not separate runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// The drift witness of one scenario moved between the base and a later run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Drift {
    pub scenario: String,
    /// Index of the later run (0 = the first after the base), as in `tallies`.
    pub run: usize,
    pub change_pct: Option<f64>,
    pub ratio_ci: Option<[f64; 2]>,
}

/// What a comparison says to a CI gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    /// No significant regression beyond the threshold.
    Pass,
    /// A significant regression beyond the threshold that the drift witness of its
    /// scenario does not explain (it held still, or moved far less).
    Regressed,
    /// Every regression found is explained by its scenario's drift witness, which moved as
    /// much: the machine changed between the runs, so the comparison cannot blame the build.
    Inconclusive,
}

impl Gate {
    /// The exit code of `isobench compare` and `history check` (a contract for CI).
    pub fn exit_code(self) -> i32 {
        match self {
            Gate::Pass => 0,
            Gate::Regressed => 1,
            Gate::Inconclusive => 3,
        }
    }
}

impl Comparison {
    /// True when some later run has a significant regression beyond the threshold.
    pub fn has_regression(&self) -> bool {
        self.tallies.iter().any(|t| t.regressed > 0)
    }

    /// Whether the drift of its scenario in later run `run` can explain `row`'s change:
    /// the witness moved, and by at least as much (its ratio CI's far end, widened by the
    /// threshold, reaches the row's ratio CI). A slow-down far beyond the machine's — a
    /// subject 40× slower while the witness doubled, because the slowed payload let the
    /// CPUs idle — is still the build's.
    pub fn explained_by_drift(&self, row: &Row, run: usize) -> bool {
        let Some(d) = row.deltas.get(run) else {
            return false;
        };
        if d.family
            .as_ref()
            .is_some_and(|f| f.judgement == FAMILY_DRIFT)
        {
            return true;
        }
        let Some(ci) = d.ratio_ci else {
            return false;
        };
        self.drift
            .iter()
            .filter(|d| d.scenario == row.scenario && d.run == run)
            .filter_map(|d| d.ratio_ci)
            .any(|[w_lo, w_hi]| {
                // Only a machine that got slower explains a regression.
                if w_lo <= 1.0 {
                    return false;
                }
                let slower = w_hi * (1.0 + self.options.threshold);
                match row.direction {
                    Direction::LowerIsBetter => ci[0] <= slower,
                    Direction::HigherIsBetter => ci[1] >= 1.0 / slower,
                    Direction::Neutral => true,
                }
            })
    }

    /// The regressions of later run `run`: (row, whether drift explains it).
    pub fn regressions(&self, run: usize) -> impl Iterator<Item = (&Row, bool)> + '_ {
        self.rows
            .iter()
            .filter(move |r| {
                r.deltas
                    .get(run)
                    .is_some_and(|d| d.verdict == Verdict::Regressed)
            })
            .map(move |r| (r, self.explained_by_drift(r, run)))
    }

    /// The gate's answer: a regression counts against the build unless the drift of its
    /// scenario explains it ([`Comparison::explained_by_drift`]); when drift explains every
    /// regression the answer is [`Gate::Inconclusive`].
    pub fn gate(&self) -> Gate {
        let mut any = false;
        for k in 0..self.tallies.len() {
            for (_, drifted) in self.regressions(k) {
                if !drifted {
                    return Gate::Regressed;
                }
                any = true;
            }
        }
        if any {
            Gate::Inconclusive
        } else {
            Gate::Pass
        }
    }

    /// The gate's answer for later run `run` in one line a person can act on: which
    /// measurements regressed, by how much, and whether the drift witness moved.
    pub fn verdict_line(&self, run: usize) -> String {
        let regs: Vec<(&Row, bool)> = self.regressions(run).collect();
        let blamed: Vec<&Row> = regs.iter().filter(|(_, d)| !d).map(|(r, _)| *r).collect();
        let drift: Vec<String> = self
            .drift
            .iter()
            .filter(|d| d.run == run)
            .map(|d| format!("{} {}", d.scenario, format::change(d.change_pct)))
            .collect();
        let mut families: Vec<String> = Vec::new();
        let mut isolated: Vec<&Row> = Vec::new();
        for r in &self.rows {
            let Some(f) = r.deltas.get(run).and_then(|d| d.family.as_ref()) else {
                continue;
            };
            if f.judgement == FAMILY_DRIFT
                && !families
                    .iter()
                    .any(|m| m.starts_with(&format!("{} ", f.key)))
            {
                families.push(format!("{} {}", f.key, format::change(Some(f.change_pct))));
            } else if f.judgement == ISOLATED {
                isolated.push(r);
            }
        }
        let mut witness = if drift.is_empty() {
            "drift witness still".to_string()
        } else {
            format!("drift witness moved: {}", drift.join(", "))
        };
        if !families.is_empty() {
            witness.push_str(&format!(
                "; families moved together: {}",
                families.join(", ")
            ));
        }
        let name = |r: &Row| {
            let change = r.deltas.get(run).and_then(|d| d.change_pct);
            format!("{} {}", r.identity, format::change(change))
        };
        const LISTED: usize = 5;
        let list = |rows: &[&Row]| {
            let mut s: Vec<String> = rows.iter().take(LISTED).map(|r| name(r)).collect();
            if rows.len() > LISTED {
                s.push(format!("and {} more", rows.len() - LISTED));
            }
            s.join(", ")
        };
        if !blamed.is_empty() {
            format!(
                "REGRESSED: {} measurement(s) beyond the threshold: {}; {witness}",
                blamed.len(),
                list(&blamed)
            )
        } else if !regs.is_empty() {
            let rows: Vec<&Row> = regs.iter().map(|(r, _)| *r).collect();
            format!(
                "INCONCLUSIVE: the machine changed ({witness}); {} regression(s) no larger than that, not blamed on the build: {}. Re-run both back to back on a quiet machine",
                rows.len(),
                list(&rows)
            )
        } else if !isolated.is_empty() {
            format!(
                "PASS: no regression of a family; {} isolated change(s) alone in a family that held still, not counted: {}; {witness}",
                isolated.len(),
                list(&isolated)
            )
        } else {
            format!("PASS: no significant regression beyond the threshold; {witness}")
        }
    }
}

/// A run to compare, with the name it is known by (its path).
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub origin: &'a str,
    pub run: &'a Run,
}

/// Repeated runs of one configuration (e.g. three runs on kernel A), compared as one
/// column. Each run is cut into time blocks on its own and the blocks are pooled, so the
/// differences between the runs — a reboot, a busier hour — enter the test and the CI
/// instead of being mistaken for the change under test.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// The files, as given (joined with "," in the output).
    pub origins: Vec<&'a str>,
    pub runs: Vec<&'a Run>,
}

impl<'a> From<Input<'a>> for Group<'a> {
    fn from(i: Input<'a>) -> Self {
        Group {
            origins: vec![i.origin],
            runs: vec![i.run],
        }
    }
}

impl Group<'_> {
    fn origin(&self) -> String {
        self.origins.join(",")
    }
}

fn finite(samples: &[f64]) -> Vec<f64> {
    samples.iter().copied().filter(|x| x.is_finite()).collect()
}

/// One side of a row from the measurements of a group's runs (those that have it):
/// the pooled median and the finite samples of each run that measured it ok.
fn side_of(ms: &[&crate::Measurement]) -> (Side, Vec<Vec<f64>>) {
    let Some(first) = ms.first() else {
        return (
            Side {
                status: "missing".into(),
                reason: Some("not measured in this run".into()),
                n: 0,
                median: None,
            },
            Vec::new(),
        );
    };
    let ok: Vec<&crate::Measurement> = ms
        .iter()
        .copied()
        .filter(|m| m.status == Status::Ok)
        .collect();
    let shown = ok.first().copied().unwrap_or(*first);
    let per_run: Vec<Vec<f64>> = ok
        .iter()
        .map(|m| finite(&m.samples))
        .filter(|v| !v.is_empty())
        .collect();
    let pooled: Vec<f64> = per_run.concat();
    let status = match shown.status {
        Status::Ok => "ok",
        Status::Skipped => "skipped",
        Status::Failed => "failed",
    };
    let median = if pooled.is_empty() {
        shown
            .summary
            .filter(|_| shown.status == Status::Ok)
            .map(|s| s.p50)
    } else {
        Some(stats::median(&pooled))
    };
    (
        Side {
            status: status.into(),
            reason: shown.reason.clone(),
            n: pooled.len(),
            median,
        },
        per_run,
    )
}

fn file_name(origin: &str) -> String {
    std::path::Path::new(origin)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| origin.to_string())
}

/// Column labels: kernel releases when they differ (suffixed when repeated), else file
/// names (suffixed when repeated), so every column header is unique. A group of repeated
/// runs says how many it pools.
fn labels(groups: &[Group<'_>]) -> Vec<String> {
    let kernel = |g: &Group<'_>| g.runs[0].host.kernel.clone();
    let kernels_differ = groups.iter().any(|g| kernel(g) != kernel(&groups[0]));
    let raw: Vec<String> = groups
        .iter()
        .map(|g| {
            let l = if kernels_differ {
                kernel(g)
            } else {
                file_name(g.origins[0])
            };
            if g.runs.len() > 1 {
                format!("{l} (+{})", g.runs.len() - 1)
            } else {
                l
            }
        })
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    raw.iter()
        .map(|l| {
            let c = seen.entry(l.as_str()).or_insert(0);
            *c += 1;
            if *c == 1 {
                l.clone()
            } else {
                format!("{l} #{c}")
            }
        })
        .collect()
}

fn check_comparable(groups: &[Group<'_>]) -> Result<(), CompareError> {
    let (base_origin, base) = (groups[0].origins[0], groups[0].runs[0]);
    for g in groups {
        for (origin, run) in g.origins.iter().zip(&g.runs) {
            let (a, b) = (&base.host, &run.host);
            let field = if a.cpu_model != b.cpu_model {
                Some(("CPU model", a.cpu_model.clone(), b.cpu_model.clone()))
            } else if a.cpus != b.cpus {
                Some(("online CPU count", a.cpus.to_string(), b.cpus.to_string()))
            } else {
                None
            };
            if let Some((field, a, b)) = field {
                return Err(CompareError::Incomparable {
                    base: base_origin.into(),
                    other: (*origin).into(),
                    field,
                    a,
                    b,
                });
            }
        }
    }
    Ok(())
}

/// The unadjusted test of one pair of unit sets (block medians).
fn test_pair(a: &[f64], b: &[f64]) -> Option<(&'static str, f64)> {
    if a.len() * b.len() <= stats::mann_whitney::EXACT_MAX_PAIRS {
        if let Some(r) = stats::mann_whitney_exact(a, b) {
            return Some(("mann-whitney exact", r.p));
        }
    }
    if a.len().min(b.len()) >= MIN_RANK_TEST_N {
        stats::mann_whitney(a, b).map(|r| ("mann-whitney", r.p))
    } else {
        stats::median_difference_p(a, b, stats::permutation::PERMUTATIONS)
            .map(|p| ("permutation", p))
    }
}

/// Compare `inputs[1..]` against `inputs[0]`.
pub fn compare(inputs: &[Input<'_>], opts: &CompareOptions) -> Result<Comparison, CompareError> {
    let groups: Vec<Group<'_>> = inputs.iter().map(|&i| Group::from(i)).collect();
    compare_groups(&groups, opts)
}

/// Compare `groups[1..]` against `groups[0]`, each group being one or more repeated runs.
pub fn compare_groups(
    groups: &[Group<'_>],
    opts: &CompareOptions,
) -> Result<Comparison, CompareError> {
    if groups.len() < 2 {
        return Err(CompareError::TooFewRuns(groups.len()));
    }
    if let Some(g) = groups
        .iter()
        .find(|g| g.runs.is_empty() || g.runs.len() != g.origins.len())
    {
        return Err(CompareError::Options(format!(
            "group {:?} has {} runs for {} names",
            g.origins,
            g.runs.len(),
            g.origins.len()
        )));
    }
    if !(opts.threshold >= 0.0 && opts.threshold < 1.0) {
        return Err(CompareError::Options(format!(
            "threshold {} is not a fraction in [0, 1) (give --threshold in percent, e.g. 5)",
            opts.threshold
        )));
    }
    if opts.blocks < 3 {
        return Err(CompareError::Options(format!(
            "{} time blocks leave the test no power; use at least 3 (default {DEFAULT_BLOCKS})",
            opts.blocks
        )));
    }
    if !(opts.alpha > 0.0 && opts.alpha < 1.0 && opts.level > 0.0 && opts.level < 1.0) {
        return Err(CompareError::Options(format!(
            "alpha {} and CI level {} must lie strictly between 0 and 1",
            opts.alpha, opts.level
        )));
    }
    if !opts.force {
        check_comparable(groups)?;
    }
    let mut warnings = Vec::new();
    // Identity -> its measurement in each run of the group that has it; within one run
    // the first of duplicate identities wins.
    let mut order: Vec<String> = Vec::new();
    let mut seen_ids: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut index: Vec<HashMap<String, Vec<&crate::Measurement>>> = Vec::new();
    for g in groups {
        let mut map: HashMap<String, Vec<&crate::Measurement>> = HashMap::new();
        for (origin, run) in g.origins.iter().zip(&g.runs) {
            let mut in_run = std::collections::HashSet::new();
            for m in &run.measurements {
                let id = m.identity();
                if !in_run.insert(id.clone()) {
                    warnings.push(format!(
                        "{origin}: measurement {id} appears more than once; the first is used"
                    ));
                    continue;
                }
                if seen_ids.insert(id.clone()) {
                    order.push(id.clone());
                }
                map.entry(id).or_default().push(m);
            }
            if run.interrupted {
                warnings.push(format!(
                    "{origin} was interrupted: measurements it lacks are listed as missing"
                ));
            }
            if run.host.kernel != g.runs[0].host.kernel {
                warnings.push(format!(
                    "{origin} ran kernel {} but {} ran {}: they are pooled as repeats of one configuration",
                    run.host.kernel, g.origins[0], g.runs[0].host.kernel
                ));
            }
        }
        index.push(map);
    }
    let none: Vec<&crate::Measurement> = Vec::new();

    let mut rows = Vec::with_capacity(order.len());
    // Unadjusted p-values per later run, in row order (NaN when not tested).
    let mut raw_p: Vec<Vec<f64>> = vec![Vec::new(); groups.len() - 1];
    for id in &order {
        let Some(any) = index
            .iter()
            .find_map(|x| x.get(id).and_then(|v| v.first().copied()))
        else {
            continue;
        };
        let (base, base_samples) = side_of(index[0].get(id).unwrap_or(&none));
        let base_blocks: Vec<&[f64]> = base_samples
            .iter()
            .flat_map(|run| stats::blocks::split(run, blocks_for(run.len(), opts)))
            .collect();
        let mut deltas = Vec::with_capacity(groups.len() - 1);
        for (k, map) in index.iter().enumerate().skip(1) {
            let (side, samples) = side_of(map.get(id).unwrap_or(&none));
            let mut d = Delta {
                side,
                change_pct: None,
                ratio_ci: None,
                test: None,
                units: None,
                p: None,
                p_adjusted: None,
                verdict: Verdict::NotCompared,
                note: None,
                family: None,
            };
            if let (Some(ma), Some(mb)) = (base.median, d.side.median) {
                if ma != 0.0 {
                    d.change_pct = Some((mb / ma - 1.0) * 100.0);
                }
            }
            if base.status != "ok" || d.side.status != "ok" {
                d.note = Some(if base.status != "ok" {
                    format!("base {}", base.status)
                } else {
                    d.side.status.clone()
                });
            } else if base_samples.is_empty() || samples.is_empty() {
                d.note = Some("no raw samples in the run file".into());
            } else if base.median == Some(0.0) {
                d.note = Some("base median is 0: no ratio".into());
            } else if d.change_pct.is_some_and(|c| !c.is_finite()) {
                d.note = Some("the ratio of the medians is not a finite number".into());
            } else {
                let new_blocks: Vec<&[f64]> = samples
                    .iter()
                    .flat_map(|run| stats::blocks::split(run, blocks_for(run.len(), opts)))
                    .collect();
                let ci = stats::blocks::ratio_of_medians_ci_over_blocks(
                    &base_blocks,
                    &new_blocks,
                    opts.level,
                );
                if ci[0].is_finite() && ci[1].is_finite() {
                    d.ratio_ci = Some(ci);
                }
                let ua = stats::blocks::medians_of(&base_blocks);
                let ub = stats::blocks::medians_of(&new_blocks);
                if let Some((test, p)) = test_pair(&ua, &ub) {
                    d.test = Some(test);
                    d.units = Some([ua.len(), ub.len()]);
                    d.p = Some(p);
                }
            }
            raw_p[k - 1].push(d.p.unwrap_or(f64::NAN));
            deltas.push(d);
        }
        rows.push(Row {
            identity: id.clone(),
            scenario: any.scenario.clone(),
            subject: any.subject.clone(),
            case: any.case.clone(),
            metric: any.metric.clone(),
            unit: any.unit.clone(),
            labels: any.labels.clone(),
            direction: Direction::of_labelled(any),
            base,
            deltas,
        });
    }

    let mut tallies = vec![Tally::default(); groups.len() - 1];
    for (k, ps) in raw_p.iter().enumerate() {
        let adjusted = match opts.correction {
            Correction::Holm => stats::holm(ps),
            Correction::Bh => stats::benjamini_hochberg(ps),
            Correction::None => ps.clone(),
        };
        for (row, adj) in rows.iter_mut().zip(adjusted) {
            let direction = row.direction;
            let d = &mut row.deltas[k];
            if adj.is_finite() {
                d.p_adjusted = Some(adj);
                decide(d, direction, adj, opts);
            }
        }
        let one_kernel = groups[0]
            .runs
            .iter()
            .chain(&groups[k + 1].runs)
            .all(|r| r.host.kernel == groups[0].runs[0].host.kernel);
        if opts.families && one_kernel {
            judge_by_family(&mut rows, k, opts.threshold);
        }
        for row in &rows {
            let d = &row.deltas[k];
            let t = &mut tallies[k];
            match d.verdict {
                Verdict::Regressed => t.regressed += 1,
                Verdict::Improved => t.improved += 1,
                Verdict::Changed => t.changed += 1,
                Verdict::NoChange => t.no_change += 1,
                Verdict::NotCompared => t.not_compared += 1,
            }
        }
    }

    let label = labels(groups);
    let drift = drift_warnings(&rows, &label, opts, &mut warnings);
    let runs = groups
        .iter()
        .zip(label)
        .map(|(g, label)| RunInfo {
            origin: g.origin(),
            label,
            kernel: g.runs[0].host.kernel.clone(),
            started_at: g.runs[0].started_at.clone(),
            tool_version: g.runs[0].tool.version.clone(),
            tool_git: g.runs[0].tool.git.clone(),
            interrupted: g.runs.iter().any(|r| r.interrupted),
            repeats: g.runs.len(),
        })
        .collect();
    let runs_only: Vec<&Run> = groups.iter().map(|g| g.runs[0]).collect();
    Ok(Comparison {
        schema: COMPARE_SCHEMA,
        options: *opts,
        runs,
        host_differences: host_differences(&runs_only),
        rows,
        tallies,
        warnings,
        drift,
        by: None,
    })
}

/// The harness's drift witnesses (subject `harness`: `empty`, a pipe write, poll and
/// read with no payload; `spin`, a fixed chain of CPU work) run interleaved with every
/// scenario. When every witness of a scenario moved beyond the threshold the same way,
/// the machine itself ran at a different speed, and the reader must know that changes of
/// a similar size in that scenario may be drift, not the change under test. One witness
/// alone is not enough: the pipe round trip moved −16…+37 % between A/A runs while the
/// process launches beside it held still (a 10 % slow-down was then excused). The drift
/// recorded is the witness that moved least. A file with one witness (older runs) uses it.
fn drift_warnings(
    rows: &[Row],
    label: &[String],
    opts: &CompareOptions,
    warnings: &mut Vec<String>,
) -> Vec<Drift> {
    let mut drift = Vec::new();
    let mut scenarios: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.subject == "harness") {
        if !scenarios.contains(&r.scenario.as_str()) {
            scenarios.push(&r.scenario);
        }
    }
    let runs = rows.first().map_or(0, |r| r.deltas.len());
    for scenario in scenarios {
        for k in 0..runs {
            let witnesses: Vec<(&Row, f64, [f64; 2])> = rows
                .iter()
                .filter(|r| r.subject == "harness" && r.scenario == scenario)
                .filter_map(|r| {
                    let d = r.deltas.get(k)?;
                    Some((r, d.change_pct?, d.ratio_ci?))
                })
                .collect();
            if witnesses.is_empty() {
                continue;
            }
            let up = witnesses
                .iter()
                .all(|(_, _, ci)| ci[0] > 1.0 + opts.threshold);
            let down = witnesses
                .iter()
                .all(|(_, _, ci)| ci[1] < 1.0 - opts.threshold);
            if !(up || down) {
                continue;
            }
            let least = witnesses
                .iter()
                .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .expect("not empty");
            drift.push(Drift {
                scenario: scenario.to_string(),
                run: k,
                change_pct: Some(least.1),
                ratio_ci: Some(least.2),
            });
            let moved: Vec<String> = witnesses
                .iter()
                .map(|(r, c, ci)| {
                    format!(
                        "{} {} (CI {})",
                        r.case,
                        format::change(Some(*c)),
                        format::ratio_ci(Some(*ci))
                    )
                })
                .collect();
            warnings.push(format!(
                "machine drift in scenario {scenario}: the harness's own witnesses moved ({}) \
                 from {} to {}; changes of a similar size in {scenario} may be the machine, not the change \
                 under test. Re-run both on a quiet machine, or back to back.",
                moved.join(", "),
                label[0],
                label[k + 1],
            ));
        }
    }
    drift
}

/// [`FamilyNote::judgement`] of a regression alone in an unmoved family.
pub const ISOLATED: &str = "isolated";
/// [`FamilyNote::judgement`] of a regression no larger than its family's common shift.
pub const FAMILY_DRIFT: &str = "family drift";

/// Judge every regression of later run `k` by its family (`crate::family`): isolated
/// ones become `changed` with a note; family drift is kept as a regression the gate
/// does not blame on the build ([`Comparison::explained_by_drift`]).
fn judge_by_family(rows: &mut [Row], k: usize, threshold: f64) {
    let candidates: Vec<Candidate> = rows
        .iter()
        .map(|r| {
            let d = &r.deltas[k];
            let ratio = d
                .ratio_ci
                .and(d.change_pct)
                .map(|c| 1.0 + c / 100.0)
                .filter(|_| r.subject != "harness");
            Candidate {
                member: crate::family::Member::of(
                    &r.scenario,
                    &r.subject,
                    &r.metric,
                    &r.labels,
                    ratio,
                    d.verdict == Verdict::Regressed,
                ),
                ci: d.ratio_ci,
                direction: r.direction,
            }
        })
        .collect();
    for (row, judged) in rows.iter_mut().zip(judge_families(&candidates, threshold)) {
        let d = &mut row.deltas[k];
        if let Some((family, note)) = judged {
            if family.judgement == ISOLATED {
                d.verdict = Verdict::Changed;
            }
            d.note = note.or(d.note.take());
            d.family = Some(family);
        }
    }
}

/// A measurement as the family rules see it (`compare` and `history check` alike).
pub(crate) struct Candidate {
    /// Its family keys, point ratio (None: not a member) and whether it regressed.
    pub member: crate::family::Member,
    /// Its ratio CI (new / base).
    pub ci: Option<[f64; 2]>,
    pub direction: Direction,
}

/// Judge every regressed candidate by its family: the family's note and the row note it
/// leaves, where a family of at least `family::MIN_OTHERS` others judged it.
pub(crate) fn judge_families(
    candidates: &[Candidate],
    threshold: f64,
) -> Vec<Option<(FamilyNote, Option<String>)>> {
    use crate::family::Judgement;
    let members: Vec<&crate::family::Member> = candidates.iter().map(|c| &c.member).collect();
    crate::family::others_medians(&members)
        .into_iter()
        .zip(candidates)
        .map(|(fam, c)| {
            let (fam, ci) = (fam?, c.ci?);
            if !c.member.regressed || c.member.ratio.is_none() {
                return None;
            }
            let moved = format::change(Some((fam.median - 1.0) * 100.0));
            let (key, others) = (&fam.key, fam.count);
            let (judgement, note) = match crate::family::judge(ci, c.direction, &fam, threshold) {
                Judgement::Isolated { .. } => (
                    ISOLATED,
                    Some(format!(
                        "isolated: its family {key} ({others} other measurements) moved {moved}; not counted by the gate"
                    )),
                ),
                Judgement::FamilyDrift { .. } => (
                    FAMILY_DRIFT,
                    Some(format!(
                        "its family {key} ({others} other measurements) moved {moved} with it: the machine, not the build"
                    )),
                ),
                Judgement::Own { .. } => ("own", None),
            };
            let family = FamilyNote {
                key: fam.key.clone(),
                change_pct: (fam.median - 1.0) * 100.0,
                others,
                judgement,
            };
            Some((family, note))
        })
        .collect()
}

/// Time blocks for a run of `n` samples of one measurement.
fn blocks_for(n: usize, opts: &CompareOptions) -> usize {
    if opts.auto_blocks {
        (n / SAMPLES_PER_BLOCK)
            .min(MAX_AUTO_BLOCKS)
            .max(opts.blocks)
    } else {
        opts.blocks
    }
}

/// Set the verdict of a tested delta from its adjusted p-value and ratio CI.
fn decide(d: &mut Delta, direction: Direction, p_adjusted: f64, opts: &CompareOptions) {
    // No finite CI (the ratios overflow, or every resampled base median is 0): nothing
    // says how large the change is, so no verdict either way.
    let Some([lo, hi]) = d.ratio_ci else {
        d.verdict = Verdict::NotCompared;
        d.note = Some("the CI of the ratio is not a finite number".into());
        return;
    };
    let significant = p_adjusted < opts.alpha;
    let up = lo > 1.0 + opts.threshold;
    let down = hi < 1.0 - opts.threshold;
    d.verdict = if significant && (up || down) {
        match (direction, up) {
            (Direction::Neutral, _) => Verdict::Changed,
            (Direction::LowerIsBetter, true) | (Direction::HigherIsBetter, false) => {
                Verdict::Regressed
            }
            _ => Verdict::Improved,
        }
    } else {
        if significant {
            d.note = Some(format!(
                "significant, but the CI reaches within ±{:.0} %",
                opts.threshold * 100.0
            ));
        } else if up || down {
            d.note = Some("beyond the threshold, but not significant".into());
        }
        Verdict::NoChange
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Host, MeasurementKey};
    use crate::Measurement;

    fn run(kernel: &str, ms: Vec<Measurement>) -> Run {
        Run {
            host: Host {
                kernel: kernel.into(),
                cpu_model: "cpu".into(),
                cpus: 2,
                ..Host::default()
            },
            ..Run::of_measurements(ms)
        }
    }

    fn m(subject: &str, unit: &str, metric: &str, scale: f64) -> Measurement {
        // A skewed, deterministic sample: a body plus a tail.
        let samples: Vec<f64> = (0..60)
            .map(|i| {
                scale * (1000.0 + f64::from((i * 37) % 50) + if i % 17 == 0 { 900.0 } else { 0.0 })
            })
            .collect();
        Measurement::from_samples(
            MeasurementKey::new("startup", subject, "default", metric),
            unit,
            BTreeMap::new(),
            samples,
        )
    }

    fn cmp(a: &Run, b: &Run) -> Comparison {
        compare(
            &[
                Input {
                    origin: "a.json",
                    run: a,
                },
                Input {
                    origin: "b.json",
                    run: b,
                },
            ],
            &CompareOptions::default(),
        )
        .expect("compare")
    }

    /// `clone/namespaces/<case>/setns` for each case, scaled.
    fn family(scales: &[(&str, f64)]) -> Vec<Measurement> {
        scales
            .iter()
            .map(|&(case, scale)| {
                let mut x = m("namespaces", "ns", "setns", scale);
                x.scenario = "clone".into();
                x.case = case.into();
                x
            })
            .collect()
    }

    const CASES: [&str; 5] = ["pid", "mnt", "uts", "ipc", "net"];

    fn scaled(f: impl Fn(&str) -> f64) -> Vec<(&'static str, f64)> {
        CASES.iter().map(|&c| (c, f(c))).collect()
    }

    #[test]
    fn a_regression_alone_in_a_family_that_held_still_is_isolated() {
        let a = run("6.1", family(&scaled(|_| 1.0)));
        let b = run(
            "6.1",
            family(&scaled(|c| if c == "uts" { 1.3 } else { 1.0 })),
        );
        let c = cmp(&a, &b);
        assert_eq!(c.gate(), Gate::Pass);
        let uts = c.rows.iter().find(|r| r.case == "uts").expect("uts row");
        assert_eq!(uts.deltas[0].verdict, Verdict::Changed);
        let f = uts.deltas[0].family.as_ref().expect("judged by its family");
        assert_eq!((f.judgement, f.others), (ISOLATED, 4));
        assert_eq!(f.key, "clone/namespaces/*/setns");
        let line = c.verdict_line(0);
        assert!(
            line.starts_with("PASS: no regression of a family; 1 isolated change(s)")
                && line.contains("clone/namespaces/uts/setns +30"),
            "{line}"
        );
        // Across kernels one namespace type moving alone is what is compared.
        let b6 = run("6.6", b.measurements.clone());
        assert_eq!(cmp(&a, &b6).gate(), Gate::Regressed);
        // And --no-families judges every measurement on its own.
        let strict = compare(
            &[
                Input {
                    origin: "a",
                    run: &a,
                },
                Input {
                    origin: "b",
                    run: &b,
                },
            ],
            &CompareOptions {
                families: false,
                ..CompareOptions::default()
            },
        )
        .expect("compare");
        assert_eq!(strict.gate(), Gate::Regressed);
    }

    #[test]
    fn a_family_moving_together_is_the_machine_and_beyond_it_the_build() {
        let a = run("6.1", family(&scaled(|_| 1.0)));
        let together = run("6.1", family(&scaled(|_| 1.2)));
        let c = cmp(&a, &together);
        assert_eq!(c.tallies[0].regressed, 5);
        assert_eq!(c.gate(), Gate::Inconclusive);
        let line = c.verdict_line(0);
        assert!(
            line.starts_with("INCONCLUSIVE")
                && line.contains("families moved together: clone/namespaces/*/setns +20"),
            "{line}"
        );
        // One member twice as slow while its family moved +20 %: its own regression.
        let beyond = run(
            "6.1",
            family(&scaled(|c| if c == "net" { 2.0 } else { 1.2 })),
        );
        let c = cmp(&a, &beyond);
        assert_eq!(c.gate(), Gate::Regressed);
        let line = c.verdict_line(0);
        assert!(
            line.starts_with("REGRESSED: 1 measurement(s)") && line.contains("net/setns +100"),
            "{line}"
        );
    }

    #[test]
    fn a_small_family_is_judged_on_its_own() {
        // startup/process has one case: a slowed process is flagged as before.
        let a = run(
            "6.1",
            vec![
                m("process", "ns", "ready", 1.0),
                m("process", "ns", "total", 1.0),
            ],
        );
        let b = run(
            "6.1",
            vec![
                m("process", "ns", "ready", 1.1),
                m("process", "ns", "total", 1.1),
            ],
        );
        let c = cmp(&a, &b);
        assert_eq!(c.gate(), Gate::Regressed);
        assert!(c.rows.iter().all(|r| r.deltas[0].family.is_none()));
    }

    #[test]
    fn identical_runs_have_no_change() {
        let a = run(
            "6.1",
            vec![
                m("process", "ns", "ready", 1.0),
                m("runc", "ns", "ready", 3.0),
            ],
        );
        let c = cmp(&a, &a.clone());
        assert!(!c.has_regression());
        assert_eq!(c.tallies[0].no_change, 2);
        assert!(c.host_differences.is_empty());
        assert_eq!(c.runs[0].label, "a.json");
    }

    #[test]
    fn slower_subject_regresses_and_only_it() {
        let a = run(
            "6.1",
            vec![
                m("process", "ns", "ready", 1.0),
                m("runc", "ns", "ready", 3.0),
            ],
        );
        let b = run(
            "6.6",
            vec![
                m("process", "ns", "ready", 1.0),
                m("runc", "ns", "ready", 3.6),
            ],
        );
        let c = cmp(&a, &b);
        assert!(c.has_regression());
        let v: Vec<_> = c
            .rows
            .iter()
            .map(|r| (r.subject.as_str(), r.deltas[0].verdict))
            .collect();
        assert_eq!(
            v,
            [("process", Verdict::NoChange), ("runc", Verdict::Regressed)]
        );
        assert_eq!(c.runs[1].label, "6.6");
        assert_eq!(c.host_differences[0].field, "kernel");
        let ch = c.rows[1].deltas[0].change_pct.expect("change");
        assert!((ch - 20.0).abs() < 1e-9, "{ch}");
    }

    #[test]
    fn direction_matters() {
        let a = run(
            "6.1",
            vec![
                m("p", "ops/s", "throughput", 1.0),
                m("p", "ratio", "cpu_share", 1.0),
                m("q", "ns", "ready", 1.0),
            ],
        );
        let b = run(
            "6.1",
            vec![
                m("p", "ops/s", "throughput", 1.5),
                m("p", "ratio", "cpu_share", 1.5),
                m("q", "ns", "ready", 0.5),
            ],
        );
        let c = cmp(&a, &b);
        let v: Vec<_> = c.rows.iter().map(|r| r.deltas[0].verdict).collect();
        assert_eq!(v, [Verdict::Improved, Verdict::Changed, Verdict::Improved]);
        assert!(!c.has_regression());
    }

    #[test]
    fn repeats_carry_run_to_run_noise() {
        // Two base runs a whole-run 20 % apart (a busy hour); the new run sits between.
        let a1 = run("6.1", vec![m("process", "ns", "ready", 1.0)]);
        let a2 = run("6.1", vec![m("process", "ns", "ready", 1.2)]);
        let b = run("6.1", vec![m("process", "ns", "ready", 1.15)]);
        assert!(
            cmp(&a1, &b).has_regression(),
            "one base run alone is fooled by the shift"
        );
        let groups = [
            Group {
                origins: vec!["a1.json", "a2.json"],
                runs: vec![&a1, &a2],
            },
            Group::from(Input {
                origin: "b.json",
                run: &b,
            }),
        ];
        let c = compare_groups(&groups, &CompareOptions::default()).expect("compare");
        assert!(!c.has_regression(), "{:?}", c.rows[0].deltas[0]);
        assert_eq!(c.runs[0].repeats, 2);
        assert_eq!(c.runs[0].label, "a1.json (+1)");
        assert_eq!(c.rows[0].base.n, 120);
        assert_eq!(c.rows[0].deltas[0].units, Some([20, 10]));
    }

    #[test]
    fn the_harness_control_changes_but_never_regresses() {
        let a = run("6.1", vec![m("harness", "ns", "ready", 1.0)]);
        let b = run("6.1", vec![m("harness", "ns", "ready", 1.5)]);
        let c = cmp(&a, &b);
        assert_eq!(c.rows[0].deltas[0].verdict, Verdict::Changed);
        assert!(!c.has_regression());
        assert!(
            c.warnings.iter().any(|w| w.contains("machine drift")),
            "{:?}",
            c.warnings
        );
    }

    /// The harness's two witnesses of `startup`, scaled.
    fn witnesses(empty: f64, spin: f64) -> Vec<Measurement> {
        let mut e = m("harness", "ns", "ready", empty);
        e.case = "empty".into();
        let mut s = m("harness", "ns", "ready", spin);
        s.case = "spin".into();
        vec![e, s]
    }

    #[test]
    fn drift_needs_every_witness_slower() {
        let mut a = witnesses(1.0, 1.0);
        a.push(m("process", "ns", "ready", 1.0));
        let with = |empty: f64, spin: f64, process: f64| {
            let mut v = witnesses(empty, spin);
            v.push(m("process", "ns", "ready", process));
            run("6.1", v)
        };
        let a = run("6.1", a);
        // Both witnesses +40 %, the process +10 %: the machine.
        let c = cmp(&a, &with(1.4, 1.4, 1.1));
        assert_eq!(c.drift.len(), 1);
        assert_eq!(c.gate(), Gate::Inconclusive);
        // Only the pipe round trip moved: not the machine, the process is the build's.
        let c = cmp(&a, &with(1.4, 1.0, 1.1));
        assert!(c.drift.is_empty(), "{:?}", c.drift);
        assert_eq!(c.gate(), Gate::Regressed);
        // A machine that got faster explains no slow-down.
        let c = cmp(&a, &with(0.8, 0.8, 1.1));
        assert_eq!(c.drift.len(), 1);
        assert_eq!(c.gate(), Gate::Regressed);
        // The drift recorded is the witness that moved least.
        let c = cmp(&a, &with(1.6, 1.3, 1.1));
        let moved = c.drift[0].change_pct.expect("a change");
        assert!((moved - 30.0).abs() < 1.0, "{moved}");
    }

    #[test]
    fn a_drifted_machine_makes_the_gate_inconclusive_not_failed() {
        // Everything in `startup` 50 % slower, the harness's empty iteration with it.
        let a = run(
            "6.1",
            vec![
                m("harness", "ns", "ready", 1.0),
                m("runc", "ns", "ready", 1.0),
            ],
        );
        let b = run(
            "6.1",
            vec![
                m("harness", "ns", "ready", 1.5),
                m("runc", "ns", "ready", 1.5),
            ],
        );
        let c = cmp(&a, &b);
        assert!(c.has_regression());
        assert_eq!(c.drift.len(), 1);
        assert_eq!(c.gate(), Gate::Inconclusive);
        assert_eq!(c.gate().exit_code(), 3);
        let line = c.verdict_line(0);
        assert!(
            line.starts_with("INCONCLUSIVE: the machine changed (drift witness moved: startup +50"),
            "{line}"
        );
        assert!(line.contains("startup/runc/default/ready +50"), "{line}");

        // A slow-down far beyond the witness's move is still the build's.
        let b = run(
            "6.1",
            vec![
                m("harness", "ns", "ready", 1.5),
                m("runc", "ns", "ready", 40.0),
            ],
        );
        assert_eq!(cmp(&a, &b).gate(), Gate::Regressed);

        // The same slow-down with the witness still: the build is blamed.
        let b = run(
            "6.1",
            vec![
                m("harness", "ns", "ready", 1.0),
                m("runc", "ns", "ready", 1.5),
            ],
        );
        let c = cmp(&a, &b);
        assert_eq!(c.gate(), Gate::Regressed);
        assert_eq!(c.gate().exit_code(), 1);
        let line = c.verdict_line(0);
        assert!(
            line.starts_with(
                "REGRESSED: 1 measurement(s) beyond the threshold: startup/runc/default/ready +50"
            ),
            "{line}"
        );
        assert!(line.ends_with("drift witness still"), "{line}");
        assert_eq!(cmp(&a, &a).gate(), Gate::Pass);
    }

    #[test]
    fn skipped_and_missing_are_listed_not_compared() {
        let skipped = Measurement::not_ok(
            MeasurementKey::new("startup", "qemu", "default", "ready"),
            "ns",
            Status::Skipped,
            "no KVM",
        );
        let a = run(
            "6.1",
            vec![m("process", "ns", "ready", 1.0), skipped.clone()],
        );
        let b = run("6.1", vec![skipped, m("runc", "ns", "ready", 9.0)]);
        let c = cmp(&a, &b);
        assert_eq!(c.rows.len(), 3);
        assert!(c
            .rows
            .iter()
            .all(|r| r.deltas[0].verdict == Verdict::NotCompared));
        assert!(!c.has_regression());
        assert_eq!(c.rows[2].base.status, "missing");
    }

    #[test]
    fn different_cpu_is_refused_unless_forced() {
        let a = run("6.1", vec![m("process", "ns", "ready", 1.0)]);
        let mut b = a.clone();
        b.host.cpus = 8;
        let inputs = [
            Input {
                origin: "a.json",
                run: &a,
            },
            Input {
                origin: "b.json",
                run: &b,
            },
        ];
        let e = compare(&inputs, &CompareOptions::default()).expect_err("refused");
        assert!(e.to_string().contains("--force"), "{e}");
        let forced = CompareOptions {
            force: true,
            ..CompareOptions::default()
        };
        assert!(compare(&inputs, &forced).is_ok());
    }

    #[test]
    fn a_drop_in_bandwidth_is_a_regression_and_the_better_label_decides() {
        let wl = |metric: &str, unit: &str, better: Option<&str>, scale: f64| {
            let mut x = m("process", unit, metric, scale);
            x.scenario = "workload".into();
            if let Some(b) = better {
                x.labels.insert("better".into(), b.into());
            }
            x
        };
        let a = run(
            "6.1",
            vec![
                wl("triad_gbps", "GB/s", Some("higher"), 1.0),
                wl("rr_p50_us", "us", Some("lower"), 1.0),
                // No label: the unit decides (a rate, higher is better).
                wl("stream_mbps", "MB/s", None, 1.0),
                // The label beats the unit.
                wl("odd_ns", "ns", Some("higher"), 1.0),
                wl("triad_gbps.vs_process", "ratio", Some("higher"), 1.0),
            ],
        );
        let b = run(
            "6.1",
            vec![
                wl("triad_gbps", "GB/s", Some("higher"), 0.8),
                wl("rr_p50_us", "us", Some("lower"), 1.2),
                wl("stream_mbps", "MB/s", None, 0.8),
                wl("odd_ns", "ns", Some("higher"), 1.2),
                wl("triad_gbps.vs_process", "ratio", Some("higher"), 0.8),
            ],
        );
        let c = cmp(&a, &b);
        let v: Vec<_> = c
            .rows
            .iter()
            .map(|r| (r.metric.as_str(), r.deltas[0].verdict))
            .collect();
        assert_eq!(
            v,
            [
                ("triad_gbps", Verdict::Regressed),
                ("rr_p50_us", Verdict::Regressed),
                ("stream_mbps", Verdict::Regressed),
                ("odd_ns", Verdict::Improved),
                // A derived ratio moves when either side does: changed, not a verdict.
                ("triad_gbps.vs_process", Verdict::Changed),
            ]
        );
        assert!(c.has_regression());
    }

    #[test]
    fn small_samples_use_the_permutation_test() {
        let small = |scale: f64| {
            Measurement::from_samples(
                MeasurementKey::new("clone", "namespaces", "all", "throughput"),
                "ops/s",
                BTreeMap::new(),
                vec![
                    100.0 * scale,
                    104.0 * scale,
                    98.0 * scale,
                    101.0 * scale,
                    99.0 * scale,
                ],
            )
        };
        let c = cmp(&run("6.1", vec![small(1.0)]), &run("6.1", vec![small(1.0)]));
        assert_eq!(c.rows[0].deltas[0].test, Some("permutation"));
        assert_eq!(c.rows[0].deltas[0].verdict, Verdict::NoChange);
    }
}
