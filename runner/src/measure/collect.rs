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
        // A run file has no way to hold NaN or infinity (JSON writes null, which no
        // reader takes for a number): a scenario computing one has a bug to fix, and
        // the value is left out rather than making the whole file unreadable.
        if !value.is_finite() {
            eprintln!(
                "isobench: left out a non-finite value of {subject}/{case}/{metric} ({value}): a bug, please report it"
            );
            return;
        }
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

    /// `problem` for a labelled series. A second report for the same series is dropped
    /// (the first reason is kept): a run file holds one measurement per identity.
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
            p.subject == subject && p.case == case && p.metric == metric && &p.labels == labels
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
        // A series can have a problem too (clone3 failed in a later round): the values
        // measured stand, the problem's reason becomes their remark, so the identity
        // appears once (the loader refuses duplicates).
        for p in &self.problems {
            let same = |m: &&mut Measurement| {
                m.subject == p.subject
                    && m.case == p.case
                    && m.metric == p.metric
                    && m.labels == p.labels
            };
            match out.iter_mut().find(same) {
                Some(m) => {
                    let why = p.reason.clone().unwrap_or_default();
                    m.reason = Some(match m.reason.take() {
                        Some(r) => format!("{r}; {why}"),
                        None => why,
                    });
                }
                None => out.push(p.clone()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_that_also_failed_is_one_measurement_with_the_reason() {
        let mut col = Collector::new("clone");
        let none = BTreeMap::new();
        for v in [1000.0, 1100.0, 1200.0] {
            col.add_value("namespaces", "net", "total", &none, "ns", v);
        }
        col.problem(
            "namespaces",
            "net",
            "total",
            Status::Failed,
            "clone3 failed mid-run: EAGAIN",
        );
        col.problem("namespaces", "net", "total", Status::Skipped, "again");
        col.problem(
            "namespaces",
            "ipc",
            "total",
            Status::Failed,
            "clone3: EPERM",
        );
        let ms = col.finish();
        let ids: Vec<String> = ms.iter().map(Measurement::identity).collect();
        assert_eq!(
            ids,
            ["clone/namespaces/net/total", "clone/namespaces/ipc/total"],
            "one measurement per identity"
        );
        assert_eq!(ms[0].status, Status::Ok);
        assert_eq!(
            ms[0].reason.as_deref(),
            Some("clone3 failed mid-run: EAGAIN")
        );
        assert_eq!(ms[1].status, Status::Failed);
    }
}
