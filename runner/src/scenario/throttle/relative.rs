//! `throughput_rel`: each CPU point's throughput over the median unthrottled throughput
//! of the same subject and case.

use isobench_reports::model::{Measurement, Status};

use super::{SCENARIO, UNLIMITED};

/// `throughput_rel`: each run's throughput over the median unthrottled throughput of the
/// same subject (and labels).
pub(super) fn add_relative_throughput(ms: &mut Vec<Measurement>) {
    let mut extra = Vec::new();
    for base in ms
        .iter()
        .filter(|m| m.case == UNLIMITED && m.metric == "throughput" && m.status == Status::Ok)
    {
        let Some(median) = base.summary.map(|s| s.p50).filter(|p| *p > 0.0) else {
            continue;
        };
        for m in ms.iter().filter(|m| {
            m.subject == base.subject
                && m.metric == "throughput"
                && m.labels == base.labels
                && m.status == Status::Ok
        }) {
            extra.push(Measurement::from_samples(
                isobench_reports::model::MeasurementKey::new(
                    SCENARIO,
                    &m.subject,
                    &m.case,
                    "throughput_rel",
                ),
                "ratio",
                m.labels.clone(),
                m.samples.iter().map(|v| v / median).collect(),
            ));
        }
    }
    // Keep each case's metrics together: insert after the case's throughput.
    for x in extra {
        let at = ms
            .iter()
            .position(|m| m.subject == x.subject && m.case == x.case && m.metric == "throughput")
            .map_or(ms.len(), |p| p + 1);
        ms.insert(at, x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn relative_throughput_is_over_the_baseline_median() {
        let mk = |case: &str, v: Vec<f64>| {
            Measurement::from_samples(
                isobench_reports::model::MeasurementKey::new(
                    SCENARIO,
                    "process",
                    case,
                    "throughput",
                ),
                "ops/s",
                BTreeMap::new(),
                v,
            )
        };
        let mut ms = vec![
            mk(UNLIMITED, vec![900.0, 1000.0, 1100.0]),
            mk("25%", vec![250.0]),
        ];
        add_relative_throughput(&mut ms);
        let rel = ms
            .iter()
            .find(|m| m.case == "25%" && m.metric == "throughput_rel")
            .expect("rel");
        assert_eq!(rel.samples, vec![0.25]);
        assert_eq!(ms[1].metric, "throughput_rel");
    }
}
