//! What a run file must satisfy before anything reads it (`Run::parse` calls `validate`).
//!
//! The report, the tables and the exports read each measurement's stored `summary`; the
//! comparison and the history checks read its raw `samples`. Both are only right when one
//! is the summary of the other, so a file in which they disagree (samples scaled by hand,
//! one sample added) is refused rather than shown two ways. Per measurement:
//!
//! * its identity (scenario/subject/case/metric[labels], what compare and history match
//!   on) appears once in the file;
//! * every sample is finite, and no duration (unit `ns`) is negative — except
//!   differences of two durations (metrics named `over_*`, e.g. `over_plain` =
//!   total(case) − total(none) of one round, negative when that round's `none` was slow);
//! * with samples, the summary's n, min, p50, p90, p99, p99.9, max, mean and stddev are
//!   recomputed from them (as `stats::summarize` does) and must agree within
//!   `SUMMARY_TOLERANCE` of the samples' largest magnitude: far above the rounding of a
//!   writer that sums in another order (the Python fixture generator, ~1e-15), far below
//!   any edit of a sample worth making. The bootstrap CI is not recomputed (2000
//!   resamples per measurement); it must lie within [min, max], as every bootstrap median
//!   does. Statistics that overflow (samples near f64::MAX) are refused;
//! * without samples, the summary alone must be ordered (min ≤ p50 ≤ … ≤ max, mean and
//!   CI within [min, max]) and non-negative for a duration;
//! * an `ok` measurement with samples but no summary gets one computed here, so the
//!   report does not show "no data" for what the comparison uses.

use std::collections::HashMap;

use crate::model::{Measurement, RunFileError, Status, Summary};
use crate::stats;
use crate::terminal::{printable, truncated};
use crate::units::number;

/// Relative tolerance between a stored summary value and the one its samples give, as a
/// fraction of the largest absolute sample.
pub const SUMMARY_TOLERANCE: f64 = 1e-6;

/// Longest measurement identity an error message quotes (labels can be many).
const MAX_IDENTITY_CHARS: usize = 200;

/// What is wrong with one measurement of a run file; the message completes "measurement X …".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasurementProblem {
    #[error("appears more than once (measurements #{first} and #{again} of the file): each scenario/subject/case/metric/labels is measured once, so the file was merged or edited by hand; remove one")]
    Duplicate { first: usize, again: usize },
    #[error("has a negative duration ({} ns); only differences of durations (metrics named over_*) can be negative", number(*.value))]
    NegativeDuration { value: f64 },
    #[error("has values too large for its statistics: the {what} is not a finite number")]
    NonFinite { what: String },
    #[error("has a summary its samples do not give: summary {field} is {}, the samples give {}; the samples or the summary were changed after the run. Re-run it, or delete the summary to have it recomputed from the samples", number(*.stored), number(*.recomputed))]
    SummaryMismatch {
        field: &'static str,
        stored: f64,
        recomputed: f64,
    },
    #[error("has a summary that is not ordered: {detail}; it was not computed from samples, so the file was edited by hand or written by another tool")]
    Unordered { detail: String },
}

/// Whether a metric is a difference of two durations, which may be negative.
pub fn is_difference_metric(metric: &str) -> bool {
    metric.starts_with("over_")
}

/// Check every measurement of `measurements` (see the module doc), filling in missing
/// summaries; the first problem found, naming `origin` and the measurement.
pub(crate) fn validate(measurements: &mut [Measurement], origin: &str) -> Result<(), RunFileError> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(measurements.len());
    for (i, m) in measurements.iter_mut().enumerate() {
        let id = m.identity();
        let problem = match seen.get(&id) {
            Some(&first) => Err(MeasurementProblem::Duplicate {
                first: first + 1,
                again: i + 1,
            }),
            None => check(m),
        };
        if let Err(problem) = problem {
            return Err(RunFileError::Measurement {
                path: origin.to_string(),
                identity: truncated(&printable(&id), MAX_IDENTITY_CHARS).into_owned(),
                problem,
            });
        }
        seen.insert(id, i);
    }
    Ok(())
}

fn check(m: &mut Measurement) -> Result<(), MeasurementProblem> {
    let signed = m.unit != "ns" || is_difference_metric(&m.metric);
    for (i, &x) in m.samples.iter().enumerate() {
        if !x.is_finite() {
            return Err(MeasurementProblem::NonFinite {
                what: format!("sample #{}", i + 1),
            });
        }
        if x < 0.0 && !signed {
            return Err(MeasurementProblem::NegativeDuration { value: x });
        }
    }
    match m.summary {
        None if m.status == Status::Ok && !m.samples.is_empty() => {
            m.summary = stats::summarize(&m.samples);
            Ok(())
        }
        None => Ok(()),
        Some(s) if m.samples.is_empty() => ordered(&s, signed),
        Some(s) => {
            against_samples(&s, &m.samples)?;
            ordered(&s, signed)
        }
    }
}

/// The stored summary against the one the samples give.
fn against_samples(s: &Summary, samples: &[f64]) -> Result<(), MeasurementProblem> {
    let mut v = samples.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    let (min, max) = (v[0], v[v.len() - 1]);
    let tol = SUMMARY_TOLERANCE * min.abs().max(max.abs());
    let mean = stats::mean(&v);
    let stddev = stats::stddev(&v);
    for (what, x) in [
        ("mean of the samples", mean),
        ("standard deviation of the samples", stddev),
    ] {
        if !x.is_finite() {
            return Err(MeasurementProblem::NonFinite { what: what.into() });
        }
    }
    let p = |q| stats::percentile_sorted(&v, q);
    let fields = [
        ("n", s.n as f64, v.len() as f64, 0.0),
        ("min", s.min, min, tol),
        ("p50", s.p50, p(0.5), tol),
        ("p90", s.p90, p(0.9), tol),
        ("p99", s.p99, p(0.99), tol),
        ("p999", s.p999, p(0.999), tol),
        ("max", s.max, max, tol),
        ("mean", s.mean, mean, tol),
        ("stddev", s.stddev, stddev, tol),
    ];
    for (field, stored, recomputed, tol) in fields {
        let d = (stored - recomputed).abs();
        if d.is_nan() || d > tol {
            return Err(MeasurementProblem::SummaryMismatch {
                field,
                stored,
                recomputed,
            });
        }
    }
    Ok(())
}

/// A summary on its own: finite, ordered, its CI inside the range, no negative duration.
fn ordered(s: &Summary, signed: bool) -> Result<(), MeasurementProblem> {
    let values = [
        ("min", s.min),
        ("p50", s.p50),
        ("p90", s.p90),
        ("p99", s.p99),
        ("p999", s.p999),
        ("max", s.max),
        ("mean", s.mean),
        ("stddev", s.stddev),
        ("p50_ci low", s.p50_ci[0]),
        ("p50_ci high", s.p50_ci[1]),
    ];
    if let Some((field, _)) = values.iter().find(|(_, x)| !x.is_finite()) {
        return Err(MeasurementProblem::NonFinite {
            what: format!("summary {field}"),
        });
    }
    if s.min < 0.0 && !signed {
        return Err(MeasurementProblem::NegativeDuration { value: s.min });
    }
    let tol = SUMMARY_TOLERANCE * s.min.abs().max(s.max.abs());
    let chain = [
        ("min", s.min),
        ("p50", s.p50),
        ("p90", s.p90),
        ("p99", s.p99),
        ("p999", s.p999),
        ("max", s.max),
    ];
    let mut detail = chain.windows(2).find(|w| w[0].1 > w[1].1 + tol).map(|w| {
        format!(
            "{} {} is above {} {}",
            w[0].0,
            number(w[0].1),
            w[1].0,
            number(w[1].1)
        )
    });
    let inside = |x: f64| s.min - tol <= x && x <= s.max + tol;
    if detail.is_none() && s.n == 0 {
        detail = Some("n is 0".into());
    }
    if detail.is_none() && s.stddev < 0.0 {
        detail = Some(format!("stddev {} is negative", number(s.stddev)));
    }
    if detail.is_none() && !inside(s.mean) {
        detail = Some(format!("mean {} is outside [min, max]", number(s.mean)));
    }
    if detail.is_none()
        && !(inside(s.p50_ci[0]) && inside(s.p50_ci[1]) && s.p50_ci[0] <= s.p50_ci[1] + tol)
    {
        detail = Some(format!(
            "the CI of the median [{}, {}] is not inside [min, max]",
            number(s.p50_ci[0]),
            number(s.p50_ci[1])
        ));
    }
    match detail {
        Some(detail) => Err(MeasurementProblem::Unordered { detail }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::MeasurementKey;

    fn m(metric: &str, samples: Vec<f64>) -> Measurement {
        Measurement::from_samples(
            MeasurementKey::new("clone", "namespaces", "net", metric),
            "ns",
            BTreeMap::new(),
            samples,
        )
    }

    #[test]
    fn consistent_measurements_pass_and_keep_their_summary() {
        let mut ms = vec![
            m("total", vec![1000.0, 1200.0, 1100.0]),
            m("over_plain", vec![-300.0, 100.0, 50.0]),
        ];
        let before = ms.clone();
        validate(&mut ms, "f").expect("consistent");
        assert_eq!(ms, before);
    }

    #[test]
    fn each_problem_is_named() {
        let mut dup = vec![m("total", vec![1.0]), m("total", vec![2.0])];
        let e = validate(&mut dup, "f.json").expect_err("duplicate");
        assert!(
            e.to_string()
                .starts_with("run file f.json: measurement clone/namespaces/net/total appears more than once (measurements #1 and #2"),
            "{e}"
        );
        let mut neg = vec![m("total", vec![-1.0, 2.0])];
        assert!(matches!(
            validate(&mut neg, "f"),
            Err(RunFileError::Measurement {
                problem: MeasurementProblem::NegativeDuration { .. },
                ..
            })
        ));
        let mut edited = vec![m("total", vec![1000.0, 1200.0, 1100.0])];
        edited[0].samples[2] = 1101.0;
        match validate(&mut edited, "f") {
            Err(RunFileError::Measurement {
                problem: MeasurementProblem::SummaryMismatch { field, .. },
                ..
            }) => assert_eq!(field, "p50"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rounding_of_another_writer_is_tolerated() {
        let mut ms = vec![m("total", vec![1000.0, 1200.0, 1100.0])];
        if let Some(s) = ms[0].summary.as_mut() {
            s.mean *= 1.0 + 1e-12;
            s.stddev *= 1.0 - 1e-12;
        }
        validate(&mut ms, "f").expect("within the tolerance");
    }
}
