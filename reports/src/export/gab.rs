//! github-action-benchmark, tool `customSmallerIsBetter`: a JSON array of
//! `{ "name", "unit", "value", "range", "extra" }`. Only metrics where smaller is better
//! are exported (a `better: lower` label, else time in ns or us, memory in bytes, counts);
//! rates (ops/s, GB/s, `better: higher`) and ratios are left out because this tool would
//! read a rise as a regression. value = p50,
//! range = "± half-width of the 95% CI of the median", extra = n, CI and p99.

use serde::Serialize;

use super::{ExportError, Exporter};
use crate::model::{Run, Status};
use crate::units::sig3;

#[derive(Debug, Clone, Copy, Default)]
pub struct GabExporter;

#[derive(Debug, Serialize)]
struct Entry {
    name: String,
    unit: String,
    value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extra: Option<String>,
}

/// Units where a smaller value is better.
pub fn smaller_is_better(unit: &str) -> bool {
    matches!(unit, "ns" | "us" | "bytes" | "count")
}

/// Whether `m` belongs in a smaller-is-better export: its `better` label when it has one
/// (a workload's GB/s is `higher` and stays out), else its unit; never a ratio.
fn exported(m: &crate::model::Measurement) -> bool {
    match m.labels.get("better").map(String::as_str) {
        _ if m.unit == "ratio" => false,
        Some("lower") => true,
        Some("higher") => false,
        _ => smaller_is_better(&m.unit),
    }
}

impl Exporter for GabExporter {
    fn serialize(&self, run: &Run) -> Result<Vec<u8>, ExportError> {
        let entries: Vec<Entry> = run
            .measurements
            .iter()
            .filter(|m| m.status == Status::Ok && exported(m))
            .filter_map(|m| {
                let s = m.summary?;
                let ci_ok = s.p50_ci.iter().all(|x| x.is_finite());
                let half = ((s.p50_ci[1] - s.p50_ci[0]) / 2.0).abs();
                Some(Entry {
                    name: m.identity(),
                    unit: m.unit.clone(),
                    value: s.p50,
                    range: ci_ok.then(|| format!("± {}", sig3(half))),
                    extra: Some(format!(
                        "n={}; 95% CI of p50: {}–{} {}; p99={} {}",
                        s.n,
                        sig3(s.p50_ci[0]),
                        sig3(s.p50_ci[1]),
                        m.unit,
                        sig3(s.p99),
                        m.unit
                    )),
                })
            })
            .collect();
        super::json_bytes("gab", &entries)
    }

    fn extension(&self) -> &'static str {
        "json"
    }
}
