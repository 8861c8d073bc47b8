//! The nightly regression check: tonight's run against a rolling baseline of the last K
//! recorded runs on a comparable host, the way continuous-benchmarking services do it.
//!
//! Per measurement: the baseline is the median of the previous runs' medians and its
//! interquartile range. A change is flagged when tonight's median, with its own 95 %
//! confidence interval, lies entirely outside the Tukey fence (beyond Q3 + 1.5·IQR, or
//! below Q1 - 1.5·IQR) AND differs from the baseline median by more than the threshold.
//! Using the interval, not the point median, keeps a run with few or noisy samples from
//! failing on a median it could not pin down. The fence follows how noisy this measurement has
//! been night to night; the threshold keeps a quiet measurement from failing a job for a
//! change nobody would act on. Directions are those of `compare::Direction`.

use serde::Serialize;

use super::{History, HistoryError, HostFilter};
use crate::compare::Direction;
use crate::model::{Run, Status};
use crate::stats::percentile_sorted;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct CheckOptions {
    /// Previous runs forming the baseline.
    pub last: usize,
    /// Fewer previous runs than this: no verdict ("insufficient history").
    pub min_runs: usize,
    /// Threshold as a fraction of the baseline median.
    pub threshold: f64,
    /// Use runs from any host, not only those with the same CPU model and count.
    pub any_host: bool,
    /// Judge a regression by its family of related measurements when tonight and every
    /// baseline night ran the same kernel (`crate::family`, as `compare` does).
    pub families: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            last: 7,
            min_runs: 3,
            threshold: 0.05,
            any_host: false,
            families: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckVerdict {
    Regressed,
    Improved,
    Changed,
    WithinBand,
    InsufficientHistory,
    NotChecked,
}

impl CheckVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckVerdict::Regressed => "regressed",
            CheckVerdict::Improved => "improved",
            CheckVerdict::Changed => "changed",
            CheckVerdict::WithinBand => "within band",
            CheckVerdict::InsufficientHistory => "insufficient history",
            CheckVerdict::NotChecked => "not checked",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    pub identity: String,
    pub scenario: String,
    pub subject: String,
    /// The metric and labels (its family is scenario/subject/*/metric[label keys]).
    #[serde(skip)]
    pub metric: String,
    #[serde(skip)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(skip)]
    pub direction: Direction,
    pub unit: String,
    /// Tonight's median.
    pub p50: Option<f64>,
    /// Previous runs in the baseline.
    pub baseline_runs: usize,
    pub baseline_median: Option<f64>,
    /// [low fence, high fence].
    pub band: Option<[f64; 2]>,
    pub change_pct: Option<f64>,
    pub verdict: CheckVerdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Tonight's CI of the median over the baseline median (a ratio interval).
    #[serde(skip)]
    pub ratio_ci: Option<[f64; 2]>,
    /// Tonight and every baseline night ran the same kernel.
    #[serde(skip)]
    pub one_kernel: bool,
    /// What its family said about a regression (`crate::family`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<crate::compare::FamilyNote>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub options: CheckOptions,
    /// The checked run's id in the database, when it was recorded there.
    pub run_id: Option<i64>,
    pub rows: Vec<CheckRow>,
}

impl CheckReport {
    pub fn regressions(&self) -> impl Iterator<Item = &CheckRow> {
        self.rows
            .iter()
            .filter(|r| r.verdict == CheckVerdict::Regressed)
    }

    pub fn count(&self, v: CheckVerdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == v).count()
    }

    /// How far the drift witnesses (the harness's `empty` and `spin`) of `scenario` moved
    /// from their baseline, as a slow-down factor (> 1), when every one of them left its
    /// band slower beyond the threshold: the least-moved one's (as `compare`). Only a
    /// slower machine explains a regression.
    pub fn drift(&self, scenario: &str) -> Option<f64> {
        let witnesses: Vec<&CheckRow> = self
            .rows
            .iter()
            .filter(|r| r.scenario == scenario && r.subject == "harness")
            .filter(|r| {
                !matches!(
                    r.verdict,
                    CheckVerdict::NotChecked | CheckVerdict::InsufficientHistory
                )
            })
            .collect();
        if witnesses.is_empty() {
            return None;
        }
        let mut least: Option<f64> = None;
        for r in witnesses {
            let f = 1.0 + r.change_pct? / 100.0;
            if r.verdict != CheckVerdict::Changed || f <= 1.0 + self.options.threshold {
                return None;
            }
            least = Some(least.map_or(f, |l: f64| l.min(f)));
        }
        least
    }

    /// Whether the drift of its scenario explains `row`'s regression: the witness moved at
    /// least as much (widened by the threshold) as the row did.
    pub fn explained_by_drift(&self, row: &CheckRow) -> bool {
        if row
            .family
            .as_ref()
            .is_some_and(|f| f.judgement == crate::compare::FAMILY_DRIFT)
        {
            return true;
        }
        let (Some(w), Some(c)) = (self.drift(&row.scenario), row.change_pct) else {
            return false;
        };
        let ratio = 1.0 + c / 100.0;
        let limit = w * (1.0 + self.options.threshold);
        match row.direction {
            Direction::LowerIsBetter => ratio <= limit,
            Direction::HigherIsBetter => ratio > 0.0 && 1.0 / ratio <= limit,
            Direction::Neutral => true,
        }
    }

    /// The gate's answer, as for `compare` ([`crate::compare::Gate`]).
    pub fn gate(&self) -> crate::compare::Gate {
        use crate::compare::Gate;
        let mut any = false;
        for r in self.regressions() {
            if !self.explained_by_drift(r) {
                return Gate::Regressed;
            }
            any = true;
        }
        if any {
            Gate::Inconclusive
        } else {
            Gate::Pass
        }
    }

    /// The verdict in one line a person can act on.
    pub fn verdict_line(&self) -> String {
        let regs: Vec<&CheckRow> = self.regressions().collect();
        let blamed: Vec<&CheckRow> = regs
            .iter()
            .copied()
            .filter(|r| !self.explained_by_drift(r))
            .collect();
        let scenarios: std::collections::BTreeSet<&str> =
            self.rows.iter().map(|r| r.scenario.as_str()).collect();
        let moved: Vec<String> = scenarios
            .iter()
            .filter_map(|s| self.drift(s).map(|f| format!("{s} ×{f:.2}")))
            .collect();
        let mut witness = if moved.is_empty() {
            "drift witness within its band".to_string()
        } else {
            format!("drift witness moved: {}", moved.join(", "))
        };
        let mut families: Vec<String> = Vec::new();
        for f in self.rows.iter().filter_map(|r| r.family.as_ref()) {
            if f.judgement == crate::compare::FAMILY_DRIFT
                && !families
                    .iter()
                    .any(|m| m.starts_with(&format!("{} ", f.key)))
            {
                families.push(format!("{} {}", f.key, crate::units::percent(f.change_pct)));
            }
        }
        if !families.is_empty() {
            witness.push_str(&format!(
                "; families moved together: {}",
                families.join(", ")
            ));
        }
        let isolated: Vec<&CheckRow> = self
            .rows
            .iter()
            .filter(|r| {
                r.family
                    .as_ref()
                    .is_some_and(|f| f.judgement == crate::compare::ISOLATED)
            })
            .collect();
        let list = |rows: &[&CheckRow]| {
            let mut s: Vec<String> = rows
                .iter()
                .take(5)
                .map(|r| {
                    format!(
                        "{} {}",
                        r.identity,
                        r.change_pct.map_or("-".into(), crate::units::percent)
                    )
                })
                .collect();
            if rows.len() > 5 {
                s.push(format!("and {} more", rows.len() - 5));
            }
            s.join(", ")
        };
        if !blamed.is_empty() {
            format!(
                "REGRESSED: {} measurement(s) outside their band: {}; {witness}",
                blamed.len(),
                list(&blamed)
            )
        } else if !regs.is_empty() {
            format!(
                "INCONCLUSIVE: the machine changed ({witness}); {} regression(s) no larger than that, not blamed on the build: {}",
                regs.len(),
                list(&regs)
            )
        } else if !isolated.is_empty() {
            format!(
                "PASS: no regression of a family; {} isolated change(s) alone in a family that held still, not counted: {}; {witness}",
                isolated.len(),
                list(&isolated)
            )
        } else {
            format!("PASS: nothing regressed beyond its band; {witness}")
        }
    }
}

/// Check `run` against the last `opts.last` runs recorded before it in `history`.
pub fn check(
    history: &History,
    run: &Run,
    opts: &CheckOptions,
) -> Result<CheckReport, HistoryError> {
    let run_id = history.find(run)?;
    let host = (!opts.any_host).then(|| HostFilter {
        cpu_model: run.host.cpu_model.clone(),
        cpus: run.host.cpus,
    });
    let mut rows = Vec::new();
    for m in &run.measurements {
        let identity = m.identity();
        let mut row = CheckRow {
            identity: identity.clone(),
            scenario: m.scenario.clone(),
            subject: m.subject.clone(),
            metric: m.metric.clone(),
            labels: m.labels.clone(),
            direction: Direction::of_labelled(m),
            unit: m.unit.clone(),
            p50: None,
            baseline_runs: 0,
            baseline_median: None,
            band: None,
            change_pct: None,
            verdict: CheckVerdict::NotChecked,
            note: None,
            ratio_ci: None,
            one_kernel: false,
            family: None,
        };
        let Some(s) = m.summary.filter(|_| m.status == Status::Ok) else {
            row.note = Some(
                m.reason
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", m.status).to_lowercase()),
            );
            rows.push(row);
            continue;
        };
        row.p50 = Some(s.p50);
        let series = history.series(&identity, opts.last, host.as_ref(), run_id)?;
        row.baseline_runs = series.len();
        row.one_kernel = series.iter().all(|p| p.kernel == run.host.kernel);
        let mut meds: Vec<f64> = series
            .iter()
            .map(|p| p.p50)
            .filter(|x| x.is_finite())
            .collect();
        if meds.len() < opts.min_runs.max(1) {
            row.verdict = CheckVerdict::InsufficientHistory;
            row.note = Some(format!(
                "{} of {} previous runs needed",
                meds.len(),
                opts.min_runs
            ));
            rows.push(row);
            continue;
        }
        meds.sort_by(f64::total_cmp);
        let med = percentile_sorted(&meds, 0.5);
        let q1 = percentile_sorted(&meds, 0.25);
        let q3 = percentile_sorted(&meds, 0.75);
        let iqr = q3 - q1;
        let band = [q1 - 1.5 * iqr, q3 + 1.5 * iqr];
        row.baseline_median = Some(med);
        row.band = Some(band);
        if med != 0.0 {
            row.change_pct = Some((s.p50 / med - 1.0) * 100.0);
        }
        // Tonight's CI of the median; the point median when the file has none.
        let [lo, hi] = if s.p50_ci[0].is_finite() && s.p50_ci[1].is_finite() {
            [s.p50_ci[0].min(s.p50), s.p50_ci[1].max(s.p50)]
        } else {
            [s.p50, s.p50]
        };
        if med > 0.0 {
            row.ratio_ci = Some([lo / med, hi / med]);
        }
        let margin = opts.threshold * med.abs();
        let up = lo > band[1] && lo - med > margin;
        let down = hi < band[0] && med - hi > margin;
        row.verdict = match (Direction::of_labelled(m), up, down) {
            (_, false, false) => CheckVerdict::WithinBand,
            (Direction::Neutral, _, _) => CheckVerdict::Changed,
            (Direction::LowerIsBetter, true, _) | (Direction::HigherIsBetter, false, true) => {
                CheckVerdict::Regressed
            }
            _ => CheckVerdict::Improved,
        };
        rows.push(row);
    }
    if opts.families {
        judge_by_family(&mut rows, opts.threshold);
    }
    Ok(CheckReport {
        options: *opts,
        run_id,
        rows,
    })
}

/// Judge every regression by its family (`crate::family`), among the measurements
/// whose baseline nights all ran tonight's kernel: isolated ones become `changed` with
/// a note; family drift stays a regression the gate does not blame on the build.
fn judge_by_family(rows: &mut [CheckRow], threshold: f64) {
    use crate::compare::{judge_families, Candidate, ISOLATED};
    let candidates: Vec<Candidate> = rows
        .iter()
        .map(|r| {
            let ratio = r
                .change_pct
                .map(|c| 1.0 + c / 100.0)
                .filter(|_| r.one_kernel && r.subject != "harness" && r.ratio_ci.is_some());
            Candidate {
                member: crate::family::Member::of(
                    &r.scenario,
                    &r.subject,
                    &r.metric,
                    &r.labels,
                    ratio,
                    r.verdict == CheckVerdict::Regressed,
                ),
                ci: r.ratio_ci,
                direction: r.direction,
            }
        })
        .collect();
    for (row, judged) in rows.iter_mut().zip(judge_families(&candidates, threshold)) {
        if let Some((family, note)) = judged {
            if family.judgement == ISOLATED {
                row.verdict = CheckVerdict::Changed;
            }
            row.note = note.or(row.note.take());
            row.family = Some(family);
        }
    }
}
