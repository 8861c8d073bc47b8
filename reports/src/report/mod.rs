//! Reports of runs: the headline comparison, the self-contained HTML page and the tables
//! both it and the Markdown export print. Pure: takes parsed runs, returns strings.

pub mod density;
pub mod headline;
pub mod html;
pub mod performance;
pub mod select;
pub mod tables;
pub mod workload_section;

use crate::model::Run;

/// A run and the name it is shown under (usually its file name).
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub run: Run,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no run given: pass at least one run JSON file")]
    NoRuns,
    #[error("the report template failed to render: {0} (a bug in isobench-reports)")]
    Template(String),
}

pub use html::render as html;
