//! Bencher Metric Format (BMF) JSON:
//! `{ "<benchmark name>": { "<measure slug>": { "value", "lower_value", "upper_value" } } }`.
//! Benchmark = scenario/subject/case[labels]; measure slug = metric and unit, lowercase
//! with hyphens ("ready-ns", "throughput-ops-s"); value = p50, bounds = its 95% CI. Only
//! `ok` measurements with a summary are exported (BMF has no place for a skip).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{benchmark_name, ExportError, Exporter};
use crate::model::{Run, Status};

#[derive(Debug, Clone, Copy, Default)]
pub struct BmfExporter;

#[derive(Debug, Serialize)]
struct Metric {
    value: f64,
    lower_value: f64,
    upper_value: f64,
}

/// "ready" + "ns" → "ready-ns"; "throughput" + "ops/s" → "throughput-ops-s".
pub fn measure_slug(metric: &str, unit: &str) -> String {
    let raw = format!("{metric}-{unit}").to_lowercase();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_string()
}

impl Exporter for BmfExporter {
    fn serialize(&self, run: &Run) -> Result<Vec<u8>, ExportError> {
        let mut doc: BTreeMap<String, BTreeMap<String, Metric>> = BTreeMap::new();
        for m in &run.measurements {
            let Some(s) = m.summary.filter(|_| m.status == Status::Ok) else {
                continue;
            };
            let (lo, hi) = if s.p50_ci.iter().all(|x| x.is_finite()) {
                (s.p50_ci[0].min(s.p50), s.p50_ci[1].max(s.p50))
            } else {
                (s.p50, s.p50)
            };
            doc.entry(benchmark_name(m)).or_default().insert(
                measure_slug(&m.metric, &m.unit),
                Metric {
                    value: s.p50,
                    lower_value: lo,
                    upper_value: hi,
                },
            );
        }
        super::json_bytes("bmf", &doc)
    }

    fn extension(&self) -> &'static str {
        "json"
    }
}
