//! The throttle sweep (scenario `throttle`, case = CPU quota such as "25%", unthrottled
//! last): the CPU share the payload actually got (`cpu_share`, p50 with CI) and the p99 of
//! its `latency`, against the quota, one line per subject.

use super::draw::{self, Lines, Point};
use super::{Chart, ChartError};
use crate::model::{Measurement, Run, Status};
use crate::report::select;

fn lines_over_quota(ms: &[&Measurement], p99: bool) -> Option<Lines> {
    let mut cases: Vec<String> = ms.iter().map(|m| m.case.clone()).collect();
    cases.sort_by(|a, b| {
        select::quota_order(a)
            .total_cmp(&select::quota_order(b))
            .then(a.cmp(b))
    });
    cases.dedup();
    if cases.is_empty() {
        return None;
    }
    let mut series: std::collections::BTreeMap<String, Vec<Option<Point>>> = Default::default();
    for m in ms {
        let Some(s) = m.summary else { continue };
        let Some(i) = cases.iter().position(|c| *c == m.case) else {
            continue;
        };
        let mut name = m.subject.clone();
        if let Some(a) = m.labels.get("accel") {
            name.push_str(&format!(" [{a}]"));
        }
        let pts = series
            .entry(name)
            .or_insert_with(|| vec![None; cases.len()]);
        pts[i] = Some(if p99 {
            Point {
                y: s.p99,
                interval: None,
            }
        } else {
            Point {
                y: s.p50,
                interval: Some((s.p50_ci[0], s.p50_ci[1])),
            }
        });
    }
    Some(Lines {
        categories: cases,
        series: series.into_iter().collect(),
        unit: ms.first().map(|m| m.unit.clone()).unwrap_or_default(),
        x_desc: "CPU quota".into(),
        ..Lines::default()
    })
}

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let pick = |metric: &str| -> Vec<&Measurement> {
        run.measurements
            .iter()
            .filter(|m| {
                m.scenario == "throttle"
                    && m.metric == metric
                    && m.status == Status::Ok
                    && select::has_data(m)
            })
            .collect()
    };
    let mut out = Vec::new();
    if let Some(mut l) = lines_over_quota(&pick("cpu_share"), false) {
        l.y_desc = "CPU share obtained, p50".into();
        out.push(Chart {
            id: "throttle-share".into(),
            title: "CPU share against the cgroup quota".into(),
            caption: "Share of one CPU the payload obtained under each CPU quota (cpu.max / \
                      cfs_quota_us), medians with 95% CI. On target, the line follows the quota."
                .into(),
            svg: draw::lines("throttle", &l)?,
        });
    }
    if let Some(mut l) = lines_over_quota(&pick("latency"), true) {
        l.y_desc = "p99 latency".into();
        l.log = true;
        out.push(Chart {
            id: "throttle-latency".into(),
            title: "Tail latency against the cgroup quota".into(),
            caption: "p99 of the payload's request latency under each CPU quota (log axis): \
                      CFS bandwidth control parks a throttled group until the next period."
                .into(),
            svg: draw::lines("throttle", &l)?,
        });
    }
    Ok(out)
}
