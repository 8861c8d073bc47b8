//! Exports of a run for other tools, one file per format behind one `Exporter` trait
//! (hyperfine's layout): a reader finds "where is CSV written" by the file name.
//!
//! * `bmf`      — Bencher Metric Format: `{ name: { measure: { value, lower_value, upper_value } } }`;
//! * `gab`      — github-action-benchmark `customSmallerIsBetter`: `[{ name, unit, value, range, extra }]`;
//! * `csv`      — one row per measurement, skips and failures included;
//! * `markdown` — the headline and key numbers for a PR comment or `$GITHUB_STEP_SUMMARY`.
//!
//! Values are the median (p50) and, where an interval is given, the bootstrap 95% CI of
//! the median, in the measurement's own unit (ns, bytes, ops/s, ...).

mod bmf;
mod csv;
mod gab;
mod markdown;

pub use bmf::BmfExporter;
pub use csv::CsvExporter;
pub use gab::GabExporter;
pub use markdown::MarkdownExporter;

use crate::model::{Measurement, Run};

/// Serializes a run into one export format.
pub trait Exporter {
    /// The bytes of the export.
    fn serialize(&self, run: &Run) -> Result<Vec<u8>, ExportError>;
    /// The usual file extension, without the dot.
    fn extension(&self) -> &'static str;
}

/// The export formats, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Bmf,
    Gab,
    Csv,
    Markdown,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Bmf,
        ExportFormat::Gab,
        ExportFormat::Csv,
        ExportFormat::Markdown,
    ];

    /// The command-line name ("bmf", "gab", "csv", "markdown").
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Bmf => "bmf",
            ExportFormat::Gab => "gab",
            ExportFormat::Csv => "csv",
            ExportFormat::Markdown => "markdown",
        }
    }

    /// The exporter of this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            ExportFormat::Bmf => Box::new(BmfExporter),
            ExportFormat::Gab => Box::new(GabExporter),
            ExportFormat::Csv => Box::new(CsvExporter),
            ExportFormat::Markdown => Box::new(MarkdownExporter),
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot serialize the {format} export: {source}")]
    Json {
        format: &'static str,
        source: serde_json::Error,
    },
    #[error("the markdown export failed: {0}")]
    Format(#[from] std::fmt::Error),
}

/// Benchmark name without the metric: "startup/runc/default", "clone/namespaces/net[concurrency=4]".
/// Pretty JSON with a final newline, for the JSON exporters.
pub(crate) fn json_bytes(
    format: &'static str,
    value: &impl serde::Serialize,
) -> Result<Vec<u8>, ExportError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| ExportError::Json { format, source })?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub fn benchmark_name(m: &Measurement) -> String {
    let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut s = format!("{}/{}/{}", m.scenario, m.subject, m.case);
    if !labels.is_empty() {
        s.push_str(&format!("[{}]", labels.join(",")));
    }
    s
}
