//! CSV (RFC 4180): one row per measurement, skipped and failed ones included with their
//! reason and empty numbers. Numbers are in the measurement's unit, unrounded. Text goes
//! through `terminal::printable` (the export is often printed to a terminal): a control or
//! bidi character in a name appears as `\x1b` or `\u{202e}`, a line break as `\n`.

use super::{ExportError, Exporter};
use crate::model::{Run, Status};
use crate::report::tables::labels_text;

#[derive(Debug, Clone, Copy, Default)]
pub struct CsvExporter;

/// The header row.
pub const HEADER: [&str; 19] = [
    "scenario",
    "subject",
    "case",
    "metric",
    "unit",
    "labels",
    "status",
    "reason",
    "n",
    "min",
    "p50",
    "p50_ci_lo",
    "p50_ci_hi",
    "p90",
    "p99",
    "p999",
    "max",
    "mean",
    "stddev",
];

/// Quote a field when it holds a comma or quote; controls made visible first.
pub fn field(s: &str) -> String {
    let s = crate::terminal::printable(s);
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

impl Exporter for CsvExporter {
    fn serialize(&self, run: &Run) -> Result<Vec<u8>, ExportError> {
        let mut out = HEADER.join(",");
        out.push_str("\r\n");
        for m in &run.measurements {
            let status = match m.status {
                Status::Ok => "ok",
                Status::Skipped => "skipped",
                Status::Failed => "failed",
            };
            let mut row: Vec<String> = vec![
                field(&m.scenario),
                field(&m.subject),
                field(&m.case),
                field(&m.metric),
                field(&m.unit),
                field(&labels_text(m)),
                status.into(),
                field(m.reason.as_deref().unwrap_or("")),
            ];
            match m.summary {
                Some(s) => {
                    row.push(s.n.to_string());
                    for v in [
                        s.min,
                        s.p50,
                        s.p50_ci[0],
                        s.p50_ci[1],
                        s.p90,
                        s.p99,
                        s.p999,
                        s.max,
                        s.mean,
                        s.stddev,
                    ] {
                        row.push(if v.is_finite() {
                            v.to_string()
                        } else {
                            String::new()
                        });
                    }
                }
                None => row.extend(std::iter::repeat_n(String::new(), 11)),
            }
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
        Ok(out.into_bytes())
    }

    fn extension(&self) -> &'static str {
        "csv"
    }
}
