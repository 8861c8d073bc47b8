//! Collecting samples into series, and series into `Measurement`s.

use std::collections::BTreeMap;

use isobench_reports::model::{Measurement, MeasurementKey, Status};

use super::Sample;

/// What identifies one series of values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesKey {
    pub subject: String,
    pub case: String,
    pub metric: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct Series {
    unit: &'static str,
    values: Vec<f64>,
}

/// Accumulates samples of one scenario, keeping first-seen order of series.
#[derive(Debug)]
pub struct Collector {
    scenario: String,
    order: Vec<SeriesKey>,
    series: BTreeMap<SeriesKey, Series>,
    /// Skips and failures, keyed like series (metric may be "*").
    problems: Vec<Measurement>,
    /// Presentation order of subjects and cases (unlisted ones keep first-seen order,
    /// after the listed ones). Rounds are shuffled, so first-seen order is random.
    subject_order: Vec<String>,
    case_order: Vec<String>,
}

/// Metrics in the order a reader expects them.
const METRIC_ORDER: &[&str] = &[
    "ready",
    "total",
    "over_plain",
    "throughput",
    "unshare",
    "setns",
];

fn rank(list: &[String], x: &str) -> usize {
    list.iter().position(|s| s == x).unwrap_or(list.len())
}

/// Labels sort numerically where they are numbers (concurrency=2 before =10).
fn label_key(labels: &BTreeMap<String, String>) -> Vec<(String, u64, String)> {
    labels
        .iter()
        .map(|(k, v)| (k.clone(), v.parse::<u64>().unwrap_or(u64::MAX), v.clone()))
        .collect()
}

impl Collector {
    pub fn new(scenario: &str) -> Self {
        Collector {
            scenario: scenario.to_string(),
            order: Vec::new(),
            series: BTreeMap::new(),
            problems: Vec::new(),
            subject_order: Vec::new(),
            case_order: Vec::new(),
        }
    }

    /// Set the presentation order of subjects and cases in `finish`.
    pub fn set_order(&mut self, subjects: &[&str], cases: &[&str]) {
        self.subject_order = subjects.iter().map(|s| s.to_string()).collect();
        self.case_order = cases.iter().map(|s| s.to_string()).collect();
    }

    /// Add every value of `sample` under (subject, case, labels).
    pub fn add(
        &mut self,
        subject: &str,
        case: &str,
        labels: &BTreeMap<String, String>,
        sample: &Sample,
    ) {
        for v in &sample.values {
            self.add_value(subject, case, &v.metric, labels, v.unit, v.value);
        }
    }

    pub fn add_value(
        &mut self,
        subject: &str,
        case: &str,
        metric: &str,
        labels: &BTreeMap<String, String>,
        unit: &'static str,
        value: f64,
    ) {
        let key = SeriesKey {
            subject: subject.to_string(),
            case: case.to_string(),
            metric: metric.to_string(),
            labels: labels.clone(),
        };
        let s = self.series.entry(key.clone()).or_insert_with(|| {
            self.order.push(key);
            Series {
                unit,
                values: Vec::new(),
            }
        });
        s.values.push(value);
    }

    /// Values collected so far for one series.
    pub fn values(
        &self,
        subject: &str,
        case: &str,
        metric: &str,
        labels: &BTreeMap<String, String>,
    ) -> Option<&[f64]> {
        let key = SeriesKey {
            subject: subject.to_string(),
            case: case.to_string(),
            metric: metric.to_string(),
            labels: labels.clone(),
        };
        self.series.get(&key).map(|s| s.values.as_slice())
    }

    /// Record that (subject, case) was skipped or failed, with a reason.
    pub fn problem(
        &mut self,
        subject: &str,
        case: &str,
        metric: &str,
        status: Status,
        reason: &str,
    ) {
        self.problem_labeled(subject, case, metric, &BTreeMap::new(), status, reason);
    }

    /// `problem` for a labelled series. A second report for the same series and status
    /// is dropped (the first reason is kept).
    pub fn problem_labeled(
        &mut self,
        subject: &str,
        case: &str,
        metric: &str,
        labels: &BTreeMap<String, String>,
        status: Status,
        reason: &str,
    ) {
        if self.problems.iter().any(|p| {
            p.subject == subject
                && p.case == case
                && p.metric == metric
                && &p.labels == labels
                && p.status == status
        }) {
            return;
        }
        let m = Measurement::not_ok(
            MeasurementKey::new(&self.scenario, subject, case, metric),
            "ns",
            status,
            reason,
        )
        .with_labels(labels.clone());
        self.problems.push(m);
    }

    /// All measurements: series in presentation order (see `set_order`), then problems.
    pub fn finish(&self) -> Vec<Measurement> {
        let mut keys: Vec<(usize, &SeriesKey)> = self.order.iter().enumerate().collect();
        let metric_order: Vec<String> = METRIC_ORDER.iter().map(|s| s.to_string()).collect();
        keys.sort_by_key(|(seen, k)| {
            (
                rank(&self.subject_order, &k.subject),
                rank(&self.case_order, &k.case),
                label_key(&k.labels),
                rank(&metric_order, &k.metric),
                *seen,
            )
        });
        let mut out: Vec<Measurement> = keys
            .into_iter()
            .map(|(_, k)| k)
            .filter_map(|k| {
                let s = self.series.get(k)?;
                Some(Measurement::from_samples(
                    MeasurementKey::new(&self.scenario, &k.subject, &k.case, &k.metric),
                    s.unit,
                    k.labels.clone(),
                    s.values.clone(),
                ))
            })
            .collect();
        out.extend(self.problems.iter().cloned());
        out
    }
}
